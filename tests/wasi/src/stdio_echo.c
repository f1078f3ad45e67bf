// Reads all of stdin in 7-byte reads until fd_read returns 0, then echoes it to stdout
// verbatim; reading again at the end still gives 0 bytes.
#include "wasi_test.h"

static char data[1 << 20];

int main(void) {
  size_t total = 0;
  int calls = 0;
  __wasi_errno_t e;
  __wasi_size_t n;
  for (;;) {
    char chunk[7];
    e = __wasi_fd_read(0, &(__wasi_iovec_t){(uint8_t *)chunk, sizeof chunk}, 1, &n);
    calls++;
    if (e != 0 || n == 0) break;
    if (n > sizeof chunk) {
      out("fd_read claimed %u bytes for a 7-byte buffer\n", (unsigned)n);
      return 1;
    }
    if (total + n <= sizeof data) memcpy(data + total, chunk, n);
    total += n;
  }
  check("read stdin", e);
  out("stdin: %zu bytes, at least %zu reads: %s\n", total, (total + 6) / 7,
      yn((size_t)calls > (total + 6) / 7));
  write_all(1, data, total < sizeof data ? total : sizeof data);
  out("[end of echo]\n");
  e = __wasi_fd_read(0, &(__wasi_iovec_t){(uint8_t *)data, 16}, 1, &n);
  out("read at the end again: %s, %u bytes\n", en(e), (unsigned)n);
  return 0;
}
