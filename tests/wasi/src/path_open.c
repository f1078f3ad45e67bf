// path_open: every oflag, rights (requested, inherited, dropped with fd_fdstat_set_rights),
// lookupflags with symlinks, trailing slashes, odd paths, and the error cases.
#include "wasi_test.h"

// path_open with an explicit path length, to pass bytes wasi-libc's wrapper cannot (a NUL).
__attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("path_open")))
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, size_t path_len,
                      int32_t oflags, int64_t base, int64_t inheriting, int32_t fdflags,
                      __wasi_fd_t *opened);

static const __wasi_fd_t root = 3;
static const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;

// Opens, prints the errno, and on success the file type; returns the fd (or -1).
static int try_open(const char *what, __wasi_fd_t dir, __wasi_lookupflags_t look,
                    const char *path, __wasi_oflags_t oflags, __wasi_rights_t base,
                    __wasi_rights_t inh, __wasi_fdflags_t fdflags) {
  __wasi_fd_t fd;
  __wasi_errno_t e = po(dir, look, path, oflags, base, inh, fdflags, &fd);
  if (e != 0) {
    check(what, e);
    return -1;
  }
  __wasi_fdstat_t st;
  e = __wasi_fd_fdstat_get(fd, &st);
  out("%s: ok, %s\n", what, e == 0 ? ft(st.fs_filetype) : en(e));
  return (int)fd;
}

// The same, closing the fd straight away.
static void open_close(const char *what, __wasi_lookupflags_t look, const char *path,
                       __wasi_oflags_t oflags, __wasi_rights_t base) {
  int fd = try_open(what, root, look, path, oflags, base, 0, 0);
  if (fd >= 0) (void)__wasi_fd_close((__wasi_fd_t)fd);
}

static void oflags(void) {
  open_close("open file.txt", 0, "file.txt", 0, RIGHTS_FILE_RO);
  out_file("file.txt", root, "file.txt");
  open_close("open missing.txt", 0, "missing.txt", 0, RIGHTS_FILE_RO);

  int fd = try_open("creat new.txt", root, 0, "new.txt", __WASI_OFLAGS_CREAT, RIGHTS_FILE, 0, 0);
  __wasi_size_t n;
  check("write new.txt", __wasi_fd_write((__wasi_fd_t)fd,
                                         &(__wasi_ciovec_t){(const uint8_t *)"new\n", 4}, 1, &n));
  check("close", __wasi_fd_close((__wasi_fd_t)fd));
  open_close("creat existing file.txt", 0, "file.txt", __WASI_OFLAGS_CREAT, RIGHTS_FILE);
  out_file("file.txt", root, "file.txt");
  open_close("creat|excl existing excl.txt", 0, "excl.txt",
             __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_FILE);
  open_close("creat|excl new2.txt", 0, "new2.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
             RIGHTS_FILE);
  open_close("trunc trunc.txt", 0, "trunc.txt", __WASI_OFLAGS_TRUNC, RIGHTS_FILE);
  out_file("trunc.txt", root, "trunc.txt");

  open_close("directory on file.txt", 0, "file.txt", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO);
  open_close("directory on dir", 0, "dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO);
  open_close("directory on missing", 0, "missing", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO);
  open_close("creat|directory newdir", 0, "newdir",
             __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR);
  open_close("dir without the directory flag", 0, "dir", 0, RIGHTS_DIR_RO);
  open_close("dir with fd_read", 0, "dir", 0, RIGHTS_DIR_RO | __WASI_RIGHTS_FD_READ);
  open_close("dir with fd_write", 0, "dir", 0, RIGHTS_DIR_RO | __WASI_RIGHTS_FD_WRITE);
  open_close("unknown oflag 16", 0, "file.txt", 16, RIGHTS_FILE_RO);

  fd = try_open("open with fdflag append", root, 0, "file.txt", 0, RIGHTS_FILE, 0,
                __WASI_FDFLAGS_APPEND);
  __wasi_fdstat_t st;
  check("fdstat", __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st));
  out("fdflags: %u\n", st.fs_flags);
  check("close", __wasi_fd_close((__wasi_fd_t)fd));
}

static void rights(void) {
  __wasi_fdstat_t st;
  __wasi_size_t n;
  char buf[8];
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t *)"X", 1};
  __wasi_filesize_t pos;

  int fd = try_open("open file.txt to read", root, 0, "file.txt", 0, RIGHTS_FILE_RO, 0, 0);
  check("fdstat", __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st));
  out("rights within those asked: %s\n", yn((st.fs_rights_base & ~RIGHTS_FILE_RO) == 0));
  out("has fd_read: %s\n", yn(st.fs_rights_base & __WASI_RIGHTS_FD_READ));
  check("fd_write without the right", __wasi_fd_write((__wasi_fd_t)fd, &ciov, 1, &n));
  check("fd_pwrite without the right", __wasi_fd_pwrite((__wasi_fd_t)fd, &ciov, 1, 0, &n));
  check("set size without the right", __wasi_fd_filestat_set_size((__wasi_fd_t)fd, 0));
  check("close", __wasi_fd_close((__wasi_fd_t)fd));

  fd = try_open("open file.txt with fd_write only", root, 0, "file.txt", 0,
                __WASI_RIGHTS_FD_WRITE, 0, 0);
  check("fd_read without the right", __wasi_fd_read((__wasi_fd_t)fd, &iov, 1, &n));
  check("fd_seek without the right",
        __wasi_fd_seek((__wasi_fd_t)fd, 0, __WASI_WHENCE_SET, &pos));
  check("fd_tell without the right", __wasi_fd_tell((__wasi_fd_t)fd, &pos));
  check("close", __wasi_fd_close((__wasi_fd_t)fd));
  out_file("file.txt", root, "file.txt");

  // A directory whose inheriting rights allow only reading.
  int d = try_open("open dir, inheriting read-only rights", root, 0, "dir",
                   __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO, RIGHTS_FILE_RO, 0);
  int f = try_open("open dir/inner.txt to read through it", (__wasi_fd_t)d, 0, "inner.txt", 0,
                   RIGHTS_FILE_RO, 0, 0);
  check("close", __wasi_fd_close((__wasi_fd_t)f));
  try_open("open inner.txt to write through it", (__wasi_fd_t)d, 0, "inner.txt", 0,
           RIGHTS_FILE, 0, 0);
  try_open("creat through it (no path_create_file)", (__wasi_fd_t)d, 0, "made.txt",
           __WASI_OFLAGS_CREAT, RIGHTS_FILE_RO, 0, 0);
  try_open("trunc through it (no path_filestat_set_size)", (__wasi_fd_t)d, 0, "inner.txt",
           __WASI_OFLAGS_TRUNC, RIGHTS_FILE_RO, 0, 0);

  // Dropping a right takes effect; adding one back is refused.
  check("drop path_open", __wasi_fd_fdstat_set_rights((__wasi_fd_t)d,
                                                      RIGHTS_DIR_RO & ~__WASI_RIGHTS_PATH_OPEN,
                                                      RIGHTS_FILE_RO));
  check("fdstat", __wasi_fd_fdstat_get((__wasi_fd_t)d, &st));
  out("path_open right gone: %s\n", yn(!(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN)));
  try_open("open inner.txt without path_open", (__wasi_fd_t)d, 0, "inner.txt", 0,
           RIGHTS_FILE_RO, 0, 0);
  check("add path_open back",
        __wasi_fd_fdstat_set_rights((__wasi_fd_t)d, RIGHTS_DIR_RO, RIGHTS_FILE_RO));
  check("add fd_write to inheriting",
        __wasi_fd_fdstat_set_rights((__wasi_fd_t)d, RIGHTS_DIR_RO & ~__WASI_RIGHTS_PATH_OPEN,
                                    RIGHTS_FILE_RO | __WASI_RIGHTS_FD_WRITE));
  check("close", __wasi_fd_close((__wasi_fd_t)d));

  fd = try_open("open file.txt read-write", root, 0, "file.txt", 0, RIGHTS_FILE, 0, 0);
  check("drop fd_write", __wasi_fd_fdstat_set_rights((__wasi_fd_t)fd,
                                                     RIGHTS_FILE & ~__WASI_RIGHTS_FD_WRITE, 0));
  check("fd_write after dropping it", __wasi_fd_write((__wasi_fd_t)fd, &ciov, 1, &n));
  check("close", __wasi_fd_close((__wasi_fd_t)fd));
  check("set rights on a closed fd", __wasi_fd_fdstat_set_rights(99, 0, 0));
}

static void symlinks(void) {
  open_close("link_to_file, follow", FOLLOW, "link_to_file", 0, RIGHTS_FILE_RO);
  open_close("link_to_file, nofollow", 0, "link_to_file", 0, RIGHTS_FILE_RO);
  open_close("link_to_file, follow, directory", FOLLOW, "link_to_file", __WASI_OFLAGS_DIRECTORY,
             RIGHTS_DIR_RO);
  open_close("link_to_dir, follow, directory", FOLLOW, "link_to_dir", __WASI_OFLAGS_DIRECTORY,
             RIGHTS_DIR_RO);
  open_close("link_to_dir/inner.txt, nofollow", 0, "link_to_dir/inner.txt", 0, RIGHTS_FILE_RO);
  open_close("dangling, follow", FOLLOW, "dangling", 0, RIGHTS_FILE_RO);
  open_close("dangling, nofollow", 0, "dangling", 0, RIGHTS_FILE_RO);
}

static void paths(void) {
  open_close("file.txt/", 0, "file.txt/", 0, RIGHTS_FILE_RO);
  open_close("dir/", 0, "dir/", 0, RIGHTS_DIR_RO);
  open_close("dir//", 0, "dir//", 0, RIGHTS_DIR_RO);
  open_close("empty path", 0, "", 0, RIGHTS_FILE_RO);
  open_close(".", 0, ".", 0, RIGHTS_DIR_RO);
  open_close("./file.txt", 0, "./file.txt", 0, RIGHTS_FILE_RO);
  open_close("dir/../file.txt", 0, "dir/../file.txt", 0, RIGHTS_FILE_RO);
  open_close("dir/./inner.txt", 0, "dir/./inner.txt", 0, RIGHTS_FILE_RO);
  open_close("dir//inner.txt", 0, "dir//inner.txt", 0, RIGHTS_FILE_RO);
  char longname[301];
  memset(longname, 'a', 300);
  longname[300] = 0;
  open_close("a 300-byte name", 0, longname, 0, RIGHTS_FILE_RO);

  __wasi_fd_t fd;
  int32_t e = raw_path_open(root, 0, "\xff\xfe.txt", 6, 0, (int64_t)RIGHTS_FILE_RO, 0, 0, &fd);
  check("path that is not UTF-8", (__wasi_errno_t)e);
  e = raw_path_open(root, 0, "file.txt\0junk", 13, 0, (int64_t)RIGHTS_FILE_RO, 0, 0, &fd);
  check("path with a NUL inside", (__wasi_errno_t)e);
  e = raw_path_open(root, 0, "file.txtjunk", 8, 0, (int64_t)RIGHTS_FILE_RO, 0, 0, &fd);
  check("path_len shorter than the string", (__wasi_errno_t)e);
  if (e == 0) (void)__wasi_fd_close(fd);

  int f = try_open("open file.txt", root, 0, "file.txt", 0, RIGHTS_FILE_RO, 0, 0);
  try_open("open relative to a file fd", (__wasi_fd_t)f, 0, "x", 0, RIGHTS_FILE_RO, 0, 0);
  check("close", __wasi_fd_close((__wasi_fd_t)f));
  try_open("open relative to fd 99", 99, 0, "file.txt", 0, RIGHTS_FILE_RO, 0, 0);
}

int main(void) {
  oflags();
  rights();
  symlinks();
  paths();
  return 0;
}
