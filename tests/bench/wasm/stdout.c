/* I/O benchmark guest: N MiB (default 200) to stdout in 64 KiB writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 200;
  static char buf[64 * 1024];
  memset(buf, 'x', sizeof buf);
  for (long n = mib * 16; n > 0; n--) {
    size_t off = 0;
    while (off < sizeof buf) {
      ssize_t w = write(1, buf + off, sizeof buf - off);
      if (w < 0) {
        fprintf(stderr, "write to stdout failed after %ld bytes: %s\n",
                (mib * 16 - n) * (long)sizeof buf + (long)off, strerror(errno));
        return 1;
      }
      off += (size_t)w;
    }
  }
  return 0;
}
