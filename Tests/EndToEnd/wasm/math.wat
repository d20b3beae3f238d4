;; Exports add(i32, i32) -> i32, and a counter that shows each run gets a fresh instance.
(module
  (global $calls (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "count") (result i32)
    global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    global.get $calls))
