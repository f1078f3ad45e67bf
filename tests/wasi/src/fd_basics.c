// fd_write/fd_read on stdio, fd_fdstat_get, fd_prestat_get/fd_prestat_dir_name, fd_close,
// fd_renumber, fd_seek/fd_tell, fd_sync/fd_datasync, and their EBADF cases.
#include "wasi_test.h"

static __wasi_fd_t root = 3;

static void seek(__wasi_fd_t fd, const char *what, __wasi_filedelta_t off, __wasi_whence_t wh) {
  __wasi_filesize_t pos = 12345;
  __wasi_errno_t e = __wasi_fd_seek(fd, off, wh, &pos);
  if (e == 0) out("%s: ok %llu\n", what, (unsigned long long)pos);
  else check(what, e);
}

static void tell(__wasi_fd_t fd, const char *what) {
  __wasi_filesize_t pos = 12345;
  __wasi_errno_t e = __wasi_fd_tell(fd, &pos);
  if (e == 0) out("%s: %llu\n", what, (unsigned long long)pos);
  else check(what, e);
}

static void readn(__wasi_fd_t fd, const char *what, size_t len) {
  char buf[64];
  __wasi_iovec_t iov = {(uint8_t *)buf, len};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
  if (e != 0) check(what, e);
  else out_escaped(what, buf, n);
}

static void stdio(void) {
  // Two iovecs in one call come out as one line.
  __wasi_ciovec_t iov[2] = {{(const uint8_t *)"part1 ", 6}, {(const uint8_t *)"part2\n", 6}};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_write(1, iov, 2, &n);
  out("fd_write stdout: %s, nwritten %u\n", en(e), (unsigned)n);
  n = 99;
  e = __wasi_fd_write(1, iov, 0, &n);
  out("fd_write stdout, no iovecs: %s, nwritten %u\n", en(e), (unsigned)n);
  __wasi_ciovec_t err = {(const uint8_t *)"to stderr\n", 10};
  e = __wasi_fd_write(2, &err, 1, &n);
  out("fd_write stderr: %s, nwritten %u\n", en(e), (unsigned)n);

  // Read all of stdin, scattered over three buffers per call.
  char all[256];
  size_t total = 0;
  for (;;) {
    char a[4], b[6], c[100];
    __wasi_iovec_t v[3] = {{(uint8_t *)a, 4}, {(uint8_t *)b, 6}, {(uint8_t *)c, 100}};
    e = __wasi_fd_read(0, v, 3, &n);
    if (e != 0 || n == 0) break;
    char joined[110];
    memcpy(joined, a, 4);
    memcpy(joined + 4, b, 6);
    memcpy(joined + 10, c, 100);
    if (total + n < sizeof all) memcpy(all + total, joined, n);
    total += n;
  }
  check("fd_read stdin", e);
  out_escaped("stdin", all, total);
  e = __wasi_fd_read(0, &(__wasi_iovec_t){(uint8_t *)all, 10}, 1, &n);
  out("fd_read stdin at eof: %s, nread %u\n", en(e), (unsigned)n);

  __wasi_fdstat_t st;
  e = __wasi_fd_fdstat_get(0, &st);
  out("fdstat stdin: %s, fd_read right %s\n", en(e),
      yn(st.fs_rights_base & __WASI_RIGHTS_FD_READ));
  e = __wasi_fd_fdstat_get(1, &st);
  out("fdstat stdout: %s, fd_write right %s\n", en(e),
      yn(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
  e = __wasi_fd_fdstat_get(2, &st);
  out("fdstat stderr: %s, fd_write right %s\n", en(e),
      yn(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
}

static void preopen(void) {
  __wasi_fdstat_t st;
  check("fdstat fd 3", __wasi_fd_fdstat_get(root, &st));
  out("fd 3 filetype: %s\n", ft(st.fs_filetype));
  out("fd 3 flags: %u\n", st.fs_flags);
  __wasi_rights_t need = __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR |
                         __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_PATH_CREATE_DIRECTORY |
                         __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_UNLINK_FILE;
  out("fd 3 base has path_open, fd_readdir, create, filestat, unlink: %s\n",
      yn((st.fs_rights_base & need) == need));
  need = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK;
  out("fd 3 inheriting has fd_read, fd_write, fd_seek: %s\n",
      yn((st.fs_rights_inheriting & need) == need));

  __wasi_prestat_t ps = {0};
  __wasi_errno_t e = __wasi_fd_prestat_get(root, &ps);
  out("prestat fd 3: %s, tag %u, name len %u\n", en(e), ps.tag, (unsigned)ps.u.dir.pr_name_len);
  char name[8] = "xxxxxxx";
  e = __wasi_fd_prestat_dir_name(root, (uint8_t *)name, 1);
  out("prestat dir name fd 3: %s, \"%.1s\"\n", en(e), name);
  memcpy(name, "xxxxxxx", 8);
  e = __wasi_fd_prestat_dir_name(root, (uint8_t *)name, 7);
  out("prestat dir name, larger buffer: %s, \"%.1s\"\n", en(e), name);
  check("prestat dir name, buffer of 0", __wasi_fd_prestat_dir_name(root, (uint8_t *)name, 0));

  check("prestat fd 0", __wasi_fd_prestat_get(0, &ps));
  check("prestat fd 1", __wasi_fd_prestat_get(1, &ps));
  check("prestat fd 4 (no such preopen)", __wasi_fd_prestat_get(4, &ps));
  check("prestat dir name fd 0", __wasi_fd_prestat_dir_name(0, (uint8_t *)name, 7));
  __wasi_fd_t f;
  check("open hello.txt", open_ro(root, "hello.txt", &f));
  check("prestat of an opened file", __wasi_fd_prestat_get(f, &ps));
  check("close", __wasi_fd_close(f));
}

static void seeking(void) {
  __wasi_fd_t f;
  check("open hello.txt rw", open_rw(root, "hello.txt", 0, &f));
  __wasi_fdstat_t st;
  check("fdstat file", __wasi_fd_fdstat_get(f, &st));
  out("file filetype: %s, flags %u\n", ft(st.fs_filetype), st.fs_flags);
  __wasi_rights_t need = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK;
  out("file has fd_read, fd_write, fd_seek: %s\n", yn((st.fs_rights_base & need) == need));

  tell(f, "tell at open");
  seek(f, "seek 5 set", 5, __WASI_WHENCE_SET);
  readn(f, "read 2", 2);
  tell(f, "tell");
  seek(f, "seek -3 cur", -3, __WASI_WHENCE_CUR);
  readn(f, "read 1", 1);
  seek(f, "seek -1 end", -1, __WASI_WHENCE_END);
  readn(f, "read 10 at the last byte", 10);
  seek(f, "seek 0 end", 0, __WASI_WHENCE_END);
  seek(f, "seek 100 set (past the end)", 100, __WASI_WHENCE_SET);
  readn(f, "read past the end", 10);
  seek(f, "seek -1 set", -1, __WASI_WHENCE_SET);
  seek(f, "seek -200 cur", -200, __WASI_WHENCE_CUR);
  seek(f, "seek -14 end", -14, __WASI_WHENCE_END);
  seek(f, "seek whence 3", 0, 3);
  tell(f, "tell after the failed seeks");
  readn(f, "read of 0 bytes", 0);

  seek(f, "seek 0 end", 0, __WASI_WHENCE_END);
  __wasi_ciovec_t iov = {(const uint8_t *)"more\n", 5};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_write(f, &iov, 1, &n);
  out("write at the end: %s, nwritten %u\n", en(e), (unsigned)n);
  tell(f, "tell after the write");
  check("fd_sync", __wasi_fd_sync(f));
  check("fd_datasync", __wasi_fd_datasync(f));
  check("close", __wasi_fd_close(f));
  out_file("hello.txt now", root, "hello.txt");
}

static void closing(void) {
  __wasi_fd_t a, b, c;
  __wasi_fdstat_t st;
  check("open hello.txt", open_ro(root, "hello.txt", &a));
  check("open dir", open_dir(root, "dir", &b));
  check("renumber file onto dir fd", __wasi_fd_renumber(a, b));
  check("fdstat of the old number", __wasi_fd_fdstat_get(a, &st));
  __wasi_errno_t e = __wasi_fd_fdstat_get(b, &st);
  out("fdstat of the new number: %s, %s\n", en(e), ft(st.fs_filetype));
  char buf[8];
  long n = pread_str(b, 0, buf, 6);
  out("pread through the new number: \"%s\" (%ld)\n", n >= 0 ? buf : "", n);
  check("renumber from a closed fd", __wasi_fd_renumber(a, b));
  check("renumber onto a fd that is not open", __wasi_fd_renumber(b, 99));
  check("fdstat after the failed renumber", __wasi_fd_fdstat_get(b, &st));
  check("renumber onto itself", __wasi_fd_renumber(b, b));
  check("fdstat after renumber onto itself", __wasi_fd_fdstat_get(b, &st));
  check("close", __wasi_fd_close(b));
  check("close again", __wasi_fd_close(b));
  check("fdstat after close", __wasi_fd_fdstat_get(b, &st));
  check("read after close", __wasi_fd_read(b, &(__wasi_iovec_t){(uint8_t *)buf, 1}, 1,
                                           &(__wasi_size_t){0}));

  check("open hello.txt", open_ro(root, "hello.txt", &c));
  check("close", __wasi_fd_close(c));

  __wasi_filesize_t pos;
  __wasi_size_t sz;
  check("close 99", __wasi_fd_close(99));
  check("fdstat 99", __wasi_fd_fdstat_get(99, &st));
  check("seek 99", __wasi_fd_seek(99, 0, __WASI_WHENCE_SET, &pos));
  check("tell 99", __wasi_fd_tell(99, &pos));
  check("read 99", __wasi_fd_read(99, &(__wasi_iovec_t){(uint8_t *)buf, 1}, 1, &sz));
  check("write 99", __wasi_fd_write(99, &(__wasi_ciovec_t){(const uint8_t *)"x", 1}, 1, &sz));
  check("sync 99", __wasi_fd_sync(99));
  check("datasync 99", __wasi_fd_datasync(99));
  check("renumber 99 to 98", __wasi_fd_renumber(99, 98));
}

int main(void) {
  stdio();
  preopen();
  seeking();
  closing();
  return 0;
}
