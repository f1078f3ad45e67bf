;; proc_exit(42) ends the program at once with status 42: nothing after it runs.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "before proc_exit\n")
  (data (i32.const 96) "after proc_exit\n")

  ;; Writes len bytes at ptr to stdout (iovec at 0, nwritten at 8).
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; proc_exit from a nested call, to see that the whole program stops, not just this call.
  (func $leave
    (call $proc_exit (i32.const 42))
    (call $print (i32.const 96) (i32.const 16)))

  (func (export "_start")
    (call $print (i32.const 64) (i32.const 17))
    (call $leave)
    (call $print (i32.const 96) (i32.const 16))))
