;; Buffers at the very end of linear memory: one that fits exactly is fine, an empty one
;; starting at the end is fine, and a page added with memory.grow is usable at once by the
;; host. Then a result pointer that does not fit: the call traps (the spec's rule for
;; out-of-bounds pointers), so nothing after it runs.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 0..15: an iovec and nwritten for $print; 16..31: digits; 32..63: another iovec;
  ;; labels from 256.
  (data (i32.const 256) "ok")
  (data (i32.const 268) ": ")
  (data (i32.const 272) "\n")
  (data (i32.const 420) "clock_time_get, result in the last 8 bytes")
  (data (i32.const 500) "random_get, the last 16 bytes")
  (data (i32.const 580) "random_get, 0 bytes at the end")
  (data (i32.const 780) "fd_prestat_dir_name into the last byte")
  (data (i32.const 860) "memory.grow")
  (data (i32.const 900) "fd_write from the new page")
  (data (i32.const 940) "written from a grown page\n")
  (data (i32.const 980) "args_sizes_get, argc at 65534+65536 (past the end)\n")
  (data (i32.const 1040) "still running\n")

  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; Prints a number in decimal.
  (func $print_num (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 32))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (call $print (local.get $p) (i32.sub (i32.const 32) (local.get $p))))

  ;; Prints "label: ok" or "label: <errno>".
  (func $check (param $label i32) (param $len i32) (param $errno i32)
    (call $print (local.get $label) (local.get $len))
    (call $print (i32.const 268) (i32.const 2))
    (if (i32.eqz (local.get $errno))
      (then (call $print (i32.const 256) (i32.const 2)))
      (else (call $print_num (local.get $errno))))
    (call $print (i32.const 272) (i32.const 1)))

  (func (export "_start")
    (call $check (i32.const 420) (i32.const 42)
      (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 65528)))
    (call $check (i32.const 500) (i32.const 29)
      (call $random_get (i32.const 65520) (i32.const 16)))
    (call $check (i32.const 580) (i32.const 30)
      (call $random_get (i32.const 65536) (i32.const 0)))
    (call $check (i32.const 780) (i32.const 38)
      (call $fd_prestat_dir_name (i32.const 3) (i32.const 65535) (i32.const 1)))

    ;; Grow by a page and write from it.
    (call $check (i32.const 860) (i32.const 11)
      (i32.ne (memory.grow (i32.const 1)) (i32.const 1)))
    (memory.copy (i32.const 65636) (i32.const 940) (i32.const 26))
    (i32.store (i32.const 32) (i32.const 65636))
    (i32.store (i32.const 36) (i32.const 26))
    (call $check (i32.const 900) (i32.const 26)
      (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 65600)))

    ;; Memory is now 2 pages: a 4-byte result at 131070 crosses the end.
    (call $print (i32.const 980) (i32.const 51))
    (drop (call $args_sizes_get (i32.const 131070) (i32.const 64)))
    (call $print (i32.const 1040) (i32.const 14))))
