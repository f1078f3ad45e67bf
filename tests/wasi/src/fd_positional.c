// fd_pread/fd_pwrite (the offset does not move), the append fdflag, fd_fdstat_set_flags,
// fd_advise, fd_allocate, fd_filestat_get, fd_filestat_set_size and fd_filestat_set_times.
#include "wasi_test.h"

static __wasi_fd_t root = 3;

static void tell(__wasi_fd_t fd, const char *what) {
  __wasi_filesize_t pos = 12345;
  __wasi_errno_t e = __wasi_fd_tell(fd, &pos);
  if (e == 0) out("%s: %llu\n", what, (unsigned long long)pos);
  else check(what, e);
}

static void pwrite(__wasi_fd_t fd, const char *what, const char *s, __wasi_filesize_t at) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_pwrite(fd, &iov, 1, at, &n);
  out("%s: %s, nwritten %u\n", what, en(e), (unsigned)n);
}

static void write(__wasi_fd_t fd, const char *what, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_write(fd, &iov, 1, &n);
  out("%s: %s, nwritten %u\n", what, en(e), (unsigned)n);
}

static void pread(__wasi_fd_t fd, const char *what, size_t len, __wasi_filesize_t at) {
  char buf[128];
  long n = pread_str(fd, at, buf, len + 1);
  if (n < 0) check(what, (__wasi_errno_t)-n);
  else out_escaped(what, buf, (size_t)n);
}

static void content(__wasi_fd_t fd, const char *what) { pread(fd, what, 120, 0); }

static void size(__wasi_fd_t fd, const char *what) {
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_fd_filestat_get(fd, &st);
  if (e == 0) out("%s: %llu\n", what, (unsigned long long)st.size);
  else check(what, e);
}

static void flags(__wasi_fd_t fd, const char *what) {
  __wasi_fdstat_t st;
  __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
  if (e == 0) out("%s: %u\n", what, st.fs_flags);
  else check(what, e);
}

static void positional(void) {
  __wasi_fd_t f;
  check("open data.txt", open_rw(root, "data.txt", 0, &f));
  pread(f, "pread 4 at 2", 4, 2);
  tell(f, "tell after pread");
  pwrite(f, "pwrite XY at 8", "XY", 8);
  tell(f, "tell after pwrite");
  char a[3], b[3];
  __wasi_iovec_t iov[2] = {{(uint8_t *)a, 3}, {(uint8_t *)b, 3}};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_pread(f, iov, 2, 1, &n);
  out("pread 3+3 at 1: %s, %u bytes, \"%.3s\" \"%.3s\"\n", en(e), (unsigned)n, a, b);
  pread(f, "pread at the end", 10, 10);
  pread(f, "pread past the end", 10, 50);
  pwrite(f, "pwrite Z at 12 (past the end)", "Z", 12);
  content(f, "data.txt");
  tell(f, "tell still");
  check("close", __wasi_fd_close(f));

  check("pread on a closed fd", __wasi_fd_pread(f, iov, 1, 0, &n));
  check("pwrite on a closed fd",
        __wasi_fd_pwrite(f, &(__wasi_ciovec_t){(const uint8_t *)"x", 1}, 1, 0, &n));
}

static void append(void) {
  __wasi_fd_t f;
  check("open log.txt with append",
        po(root, 0, "log.txt", 0, RIGHTS_FILE, 0, __WASI_FDFLAGS_APPEND, &f));
  flags(f, "fdflags");
  write(f, "write one", "one\n");
  __wasi_filesize_t pos;
  check("seek to 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos));
  write(f, "write two after seeking to 0", "two\n");
  tell(f, "tell after the append");
  check("set flags 0", __wasi_fd_fdstat_set_flags(f, 0));
  flags(f, "fdflags");
  check("seek to 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos));
  write(f, "write S at 0", "S");
  check("set flags append", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND));
  flags(f, "fdflags");
  write(f, "write end", "end\n");
  content(f, "log.txt");
  check("set flags nonblock", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_NONBLOCK));
  flags(f, "fdflags");
  check("set flags 0", __wasi_fd_fdstat_set_flags(f, 0));
  flags(f, "fdflags");
  check("set flags on a closed fd", __wasi_fd_fdstat_set_flags(99, 0));
  check("close", __wasi_fd_close(f));
}

static void advise_allocate_size(void) {
  __wasi_fd_t f;
  check("open t.txt", open_rw(root, "t.txt", 0, &f));
  static const char *const names[] = {"normal", "sequential", "random",
                                      "willneed", "dontneed", "noreuse"};
  char what[64];
  for (int a = 0; a < 6; a++) {
    snprintf(what, sizeof what, "advise %s", names[a]);
    check(what, __wasi_fd_advise(f, 0, 3, (__wasi_advice_t)a));
  }
  check("advise 6 (no such advice)", __wasi_fd_advise(f, 0, 3, 6));
  check("advise on a closed fd", __wasi_fd_advise(99, 0, 3, 0));

  __wasi_filestat_t st;
  check("filestat", __wasi_fd_filestat_get(f, &st));
  out("filetype %s, nlink %llu, size %llu\n", ft(st.filetype), (unsigned long long)st.nlink,
      (unsigned long long)st.size);
  check("allocate 0+100", __wasi_fd_allocate(f, 0, 100));
  size(f, "size");
  check("allocate 10+10 (inside)", __wasi_fd_allocate(f, 10, 10));
  size(f, "size");
  check("allocate 90+20", __wasi_fd_allocate(f, 90, 20));
  size(f, "size");
  pread(f, "bytes 0..5", 5, 0);
  check("set size 2", __wasi_fd_filestat_set_size(f, 2));
  size(f, "size");
  check("set size 5", __wasi_fd_filestat_set_size(f, 5));
  content(f, "t.txt");
  check("allocate on a closed fd", __wasi_fd_allocate(99, 0, 1));
  check("set size on a closed fd", __wasi_fd_filestat_set_size(99, 1));
  check("filestat on a closed fd", __wasi_fd_filestat_get(99, &st));
  check("close", __wasi_fd_close(f));
}

static void times(__wasi_fd_t f, const char *what) {
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_fd_filestat_get(f, &st);
  if (e != 0) check(what, e);
  else out("%s: atim %llu, mtim %llu\n", what, (unsigned long long)st.atim,
           (unsigned long long)st.mtim);
}

static void set_times(void) {
  __wasi_fd_t f;
  check("open times.txt", open_rw(root, "times.txt", 0, &f));
  const __wasi_fstflags_t A = __WASI_FSTFLAGS_ATIM, M = __WASI_FSTFLAGS_MTIM;
  const __wasi_fstflags_t AN = __WASI_FSTFLAGS_ATIM_NOW, MN = __WASI_FSTFLAGS_MTIM_NOW;
  check("set atim 1.000000123 s, mtim 2.000000456 s",
        __wasi_fd_filestat_set_times(f, 1000000123ull, 2000000456ull, A | M));
  times(f, "times");
  check("set atim 1700000000.123456789 s, mtim 1600000000.987654321 s",
        __wasi_fd_filestat_set_times(f, 1700000000123456789ull, 1600000000987654321ull, A | M));
  times(f, "times");
  check("set mtim only", __wasi_fd_filestat_set_times(f, 5, 3000000000ull, M));
  times(f, "times");
  check("set atim only", __wasi_fd_filestat_set_times(f, 4000000000ull, 5, A));
  times(f, "times");
  check("set nothing", __wasi_fd_filestat_set_times(f, 5, 5, 0));
  times(f, "times");
  check("atim and atim_now", __wasi_fd_filestat_set_times(f, 5, 5, A | AN));
  check("mtim and mtim_now", __wasi_fd_filestat_set_times(f, 5, 5, M | MN));
  check("unknown flag 16", __wasi_fd_filestat_set_times(f, 5, 5, 16));
  times(f, "times unchanged");

  __wasi_timestamp_t before = 0, after = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &before);
  check("set atim_now and mtim_now", __wasi_fd_filestat_set_times(f, 5, 5, AN | MN));
  (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &after);
  __wasi_filestat_t st;
  check("filestat", __wasi_fd_filestat_get(f, &st));
  const __wasi_timestamp_t s = 1000000000ull;
  out("atim is now (within 1 s): %s\n", yn(st.atim + s >= before && st.atim <= after + s));
  out("mtim is now (within 1 s): %s\n", yn(st.mtim + s >= before && st.mtim <= after + s));
  check("set times on a closed fd", __wasi_fd_filestat_set_times(99, 5, 5, A));
  check("close", __wasi_fd_close(f));
}

int main(void) {
  positional();
  append();
  advise_allocate_size();
  set_times();
  return 0;
}
