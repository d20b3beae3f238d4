;; Asks WASI for an import it does not provide: instantiating it must fail with a clear LinkError.
(module
  (import "wasi_snapshot_preview1" "path_filestat_get" (func (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
