/*
 * I/O benchmark guest: writes N MiB (default 200) to a file in the preopened root in 64 KiB
 * writes, reads it back checking every byte, then removes it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 200;
  const char *path = "/bench.dat";
  static unsigned char buf[64 * 1024];
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open for writing"); return 1; }
  for (long n = 0; n < mib * 16; n++) {
    memset(buf, (int)(n & 0xff), sizeof buf);
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("write"); return 1; }
  }
  close(fd);
  fd = open(path, O_RDONLY);
  if (fd < 0) { perror("open for reading"); return 1; }
  for (long n = 0; n < mib * 16; n++) {
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t r = read(fd, buf + got, sizeof buf - got);
      if (r <= 0) { fprintf(stderr, "short read\n"); return 1; }
      got += (size_t)r;
    }
    if (buf[0] != (unsigned char)(n & 0xff) || buf[sizeof buf - 1] != buf[0]) {
      fprintf(stderr, "wrong data in block %ld\n", n);
      return 1;
    }
  }
  close(fd);
  unlink(path);
  return 0;
}
