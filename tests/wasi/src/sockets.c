// sock_accept, sock_recv, sock_send and sock_shutdown on fds that are not sockets:
// ENOTSOCK; on a fd that is not open: EBADF.
#include "wasi_test.h"

static void all(const char *what, __wasi_fd_t fd) {
  char label[96], buf[8];
  __wasi_fd_t nfd;
  __wasi_size_t n;
  __wasi_roflags_t roflags;
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
  snprintf(label, sizeof label, "sock_accept on %s", what);
  check(label, __wasi_sock_accept(fd, 0, &nfd));
  snprintf(label, sizeof label, "sock_recv on %s", what);
  check(label, __wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags));
  snprintf(label, sizeof label, "sock_send on %s", what);
  check(label, __wasi_sock_send(fd, &ciov, 1, 0, &n));
  snprintf(label, sizeof label, "sock_shutdown on %s", what);
  check(label, __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
}

int main(void) {
  all("the preopen (a directory)", 3);
  __wasi_fd_t f;
  check("open file.txt", open_rw(3, "file.txt", 0, &f));
  all("a regular file", f);
  (void)__wasi_fd_close(f);
  all("fd 99", 99);
  out_file("file.txt after", 3, "file.txt");
  return 0;
}
