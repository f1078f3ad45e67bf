// proc_raise: a signal whose default action is to terminate ends the program as if killed
// by it; signals whose default action is to be ignored return success; the reserved signal
// 0 and numbers outside the enum are EINVAL.
#include "wasi_test.h"

// wasi-libc dropped its declaration of proc_raise; the import is still in the witx.
__attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("proc_raise")))
int32_t raw_proc_raise(int32_t sig);

enum { SIG_NONE = 0, SIG_USR1 = 10, SIG_CHLD = 16, SIG_URG = 22, SIG_WINCH = 27 };

int main(void) {
  check("raise none (0, reserved)", (__wasi_errno_t)raw_proc_raise(SIG_NONE));
  check("raise 31 (not a signal)", (__wasi_errno_t)raw_proc_raise(31));
  check("raise 255 (not a signal)", (__wasi_errno_t)raw_proc_raise(255));
  check("raise winch (ignored)", (__wasi_errno_t)raw_proc_raise(SIG_WINCH));
  check("raise chld (ignored)", (__wasi_errno_t)raw_proc_raise(SIG_CHLD));
  check("raise urg (ignored)", (__wasi_errno_t)raw_proc_raise(SIG_URG));
  out("raising usr1\n");
  __wasi_errno_t e = (__wasi_errno_t)raw_proc_raise(SIG_USR1);
  out("still running after usr1: %s\n", en(e));
  return 3;
}
