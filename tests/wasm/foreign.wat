;; A module that imports a function denki does not provide: create must refuse it by name.
(module
  (import "env" "launch_missiles" (func))
  (memory (export "memory") 1)
  (func (export "_start")))
