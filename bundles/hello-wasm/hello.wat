;; The hello-wasm sample: greets, then prints its environment, one variable per line. Under
;; denki that environment is exactly process.env of config.json, nothing of the caller's.
;; Build: wat2wasm hello.wat -o rootfs/hello.wasm (bundles/bundles_test.ts checks the two match).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Memory map: 0..8 iovec, 8 bytes written, 16 count, 20 buffer size, 64.. the greeting,
  ;; 1024.. environ pointers, 32768.. environ strings.
  (data (i32.const 64) "Hello from a denki Wasm container. My environment:\n")
  (data (i32.const 128) "\n")

  ;; Writes len bytes at ptr to stdout; exits 1 if that fails.
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (call $proc_exit (i32.const 1)))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func (export "_start")
    (local $i i32)
    (local $s i32)
    (call $print (i32.const 64) (i32.const 51))
    (if (call $environ_sizes_get (i32.const 16) (i32.const 20))
      (then (call $proc_exit (i32.const 1))))
    ;; The pointer table holds at most 7936 entries and the strings 32 KiB: refuse more.
    (if (i32.or (i32.gt_u (i32.load (i32.const 16)) (i32.const 7936))
                (i32.gt_u (i32.load (i32.const 20)) (i32.const 32768)))
      (then (call $proc_exit (i32.const 2))))
    (if (call $environ_get (i32.const 1024) (i32.const 32768))
      (then (call $proc_exit (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 16))))
        (local.set $s (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))
        (call $print (local.get $s) (call $strlen (local.get $s)))
        (call $print (i32.const 128) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
