;; An iovec whose end wraps around 2^32 (0xfffffff0 + 0x20 = 0x10 in 32 bits) is out of
;; bounds, not a small buffer at 0: the call traps.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "before the bad write\n")
  (data (i32.const 128) "still running\n")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $print (i32.const 64) (i32.const 21))
    (call $print (i32.const 0xfffffff0) (i32.const 0x20))
    (call $print (i32.const 128) (i32.const 14))))
