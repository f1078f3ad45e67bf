// args_sizes_get, args_get, environ_sizes_get, environ_get: exact order, duplicates and
// empty values kept, every string NUL-terminated, packed back to back in the buffer, and no
// byte written past the size the *_sizes_get call announced.
#include "wasi_test.h"

#include <stdlib.h>

typedef __wasi_errno_t (*sizes_fn)(__wasi_size_t *, __wasi_size_t *);
typedef __wasi_errno_t (*get_fn)(uint8_t **, uint8_t *);

static void dump(const char *what, sizes_fn sizes, get_fn get) {
  __wasi_size_t count = 0, size = 0;
  check(what, sizes(&count, &size));
  out("%s count: %u\n", what, (unsigned)count);
  out("%s buf size: %u\n", what, (unsigned)size);

  // One slot and 16 bytes more than announced, filled with a marker, to see overruns.
  uint8_t **ptrs = malloc((count + 1) * sizeof *ptrs);
  uint8_t *buf = malloc(size + 16);
  for (__wasi_size_t i = 0; i <= count; i++) ptrs[i] = (uint8_t *)(uintptr_t)0xdeadbeef;
  memset(buf, 0xAA, size + 16);
  check(what, get(ptrs, buf));

  int packed = 1;
  uint8_t *expect = buf;
  for (__wasi_size_t i = 0; i < count; i++) {
    if (ptrs[i] != expect) packed = 0;
    size_t len = strnlen((char *)ptrs[i], (size_t)(buf + size - ptrs[i]));
    out("%s[%u]: [%.*s]\n", what, (unsigned)i, (int)len, (char *)ptrs[i]);
    expect = ptrs[i] + len + 1;
  }
  out("%s packed and NUL-terminated: %s\n", what, yn(packed && expect == buf + size));
  int clean = ptrs[count] == (uint8_t *)(uintptr_t)0xdeadbeef;
  for (int i = 0; i < 16; i++) clean &= buf[size + i] == 0xAA;
  out("%s nothing written past the end: %s\n", what, yn(clean));
  free(ptrs);
  free(buf);
}

int main(void) {
  dump("args", __wasi_args_sizes_get, __wasi_args_get);
  dump("environ", __wasi_environ_sizes_get, __wasi_environ_get);
  return 0;
}
