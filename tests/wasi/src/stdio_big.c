// Writes 1 MiB to stdout in 64 KiB fd_write calls (finishing any short write): 16384 lines of
// 64 bytes, line i being "%06d " then 56 characters of the alphabet rotated by i, then "\n".
// The total goes to stderr.
#include "wasi_test.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static char chunk[65536];

int main(void) {
  size_t total = 0;
  int line = 0;
  for (int c = 0; c < 16; c++) {
    for (int l = 0; l < 1024; l++, line++) {
      char *p = chunk + l * 64;
      char num[8];
      snprintf(num, sizeof num, "%06d ", line);
      memcpy(p, num, 7);
      for (int k = 0; k < 56; k++) p[7 + k] = alphabet[(line + k) % 62];
      p[63] = '\n';
    }
    size_t off = 0;
    while (off < sizeof chunk) {
      __wasi_ciovec_t iov = {(const uint8_t *)chunk + off, sizeof chunk - off};
      __wasi_size_t n = 0;
      __wasi_errno_t e = __wasi_fd_write(1, &iov, 1, &n);
      if (e != 0 || n == 0) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "fd_write failed: %s\n", en(e));
        write_all(2, msg, (size_t)len);
        return 1;
      }
      off += n;
    }
    total += off;
  }
  char msg[64];
  int len = snprintf(msg, sizeof msg, "wrote %zu bytes\n", total);
  write_all(2, msg, (size_t)len);
  return 0;
}
