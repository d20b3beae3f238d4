;; A WASI command: prints a line to stdout and one to stderr, then exits with its argument count.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "Hello from WASI\n")
  (data (i32.const 200) "to stderr\n")
  (func (export "_start")
    ;; iovec at 0: {100, 16}; at 8: {200, 10}
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 16))
    (i32.store (i32.const 8) (i32.const 200))
    (i32.store (i32.const 12) (i32.const 10))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
    (drop (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 20)))
    (drop (call $args_sizes_get (i32.const 24) (i32.const 28)))
    (call $proc_exit (i32.load (i32.const 24)))))
