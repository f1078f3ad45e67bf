// Helpers shared by the WASI test programs (not a program: it has no .json).
//
// Output goes straight to fd 1 through __wasi_fd_write, never through stdio's
// buffer, so lines keep their order with raw writes and survive proc_exit.
#ifndef WASI_TEST_H
#define WASI_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static inline void write_all(__wasi_fd_t fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    __wasi_ciovec_t iov = {p, len};
    __wasi_size_t n;
    if (__wasi_fd_write(fd, &iov, 1, &n) != 0 || n == 0) return;
    p += n;
    len -= n;
  }
}

__attribute__((format(printf, 1, 2))) static inline void out(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n >= (int)sizeof buf) n = sizeof buf - 1;
  write_all(1, buf, (size_t)n);
}

static const char *const errno_names[] = {
    "ok",           "E2BIG",        "EACCES",        "EADDRINUSE",      "EADDRNOTAVAIL",
    "EAFNOSUPPORT", "EAGAIN",       "EALREADY",      "EBADF",           "EBADMSG",
    "EBUSY",        "ECANCELED",    "ECHILD",        "ECONNABORTED",    "ECONNREFUSED",
    "ECONNRESET",   "EDEADLK",      "EDESTADDRREQ",  "EDOM",            "EDQUOT",
    "EEXIST",       "EFAULT",       "EFBIG",         "EHOSTUNREACH",    "EIDRM",
    "EILSEQ",       "EINPROGRESS",  "EINTR",         "EINVAL",          "EIO",
    "EISCONN",      "EISDIR",       "ELOOP",         "EMFILE",          "EMLINK",
    "EMSGSIZE",     "EMULTIHOP",    "ENAMETOOLONG",  "ENETDOWN",        "ENETRESET",
    "ENETUNREACH",  "ENFILE",       "ENOBUFS",       "ENODEV",          "ENOENT",
    "ENOEXEC",      "ENOLCK",       "ENOLINK",       "ENOMEM",          "ENOMSG",
    "ENOPROTOOPT",  "ENOSPC",       "ENOSYS",        "ENOTCONN",        "ENOTDIR",
    "ENOTEMPTY",    "ENOTRECOVERABLE", "ENOTSOCK",   "ENOTSUP",         "ENOTTY",
    "ENXIO",        "EOVERFLOW",    "EOWNERDEAD",    "EPERM",           "EPIPE",
    "EPROTO",       "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE",          "EROFS",
    "ESPIPE",       "ESRCH",        "ESTALE",        "ETIMEDOUT",       "ETXTBSY",
    "EXDEV",        "ENOTCAPABLE",
};

// The name of a WASI errno ("ok" for success), or "errno N" for an unknown one.
static inline const char *en(__wasi_errno_t e) {
  static char other[32];
  if (e < sizeof errno_names / sizeof errno_names[0]) return errno_names[e];
  snprintf(other, sizeof other, "errno %u", (unsigned)e);
  return other;
}

// Prints "what: <errno name>".
static inline void check(const char *what, __wasi_errno_t e) { out("%s: %s\n", what, en(e)); }

static inline const char *yn(int b) { return b ? "yes" : "no"; }

static inline const char *ft(__wasi_filetype_t t) {
  static const char *const names[] = {"unknown", "block_device", "character_device",
                                      "directory", "regular_file", "socket_dgram",
                                      "socket_stream", "symbolic_link"};
  return t < 8 ? names[t] : "invalid";
}

// The rights a program asks for when it opens a regular file to read and write.
#define RIGHTS_FILE                                                                          \
  (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |               \
   __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL |       \
   __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |            \
   __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |                      \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_POLL_FD_READWRITE)

// The rights of a regular file opened only to read.
#define RIGHTS_FILE_RO                                                                       \
  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |                   \
   __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_POLL_FD_READWRITE)

// The rights that make a directory writable (create, remove, rename, link...).
#define RIGHTS_DIR_WRITE                                                                     \
  (__WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |                    \
   __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET |                         \
   __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |                     \
   __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |            \
   __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |                        \
   __WASI_RIGHTS_PATH_UNLINK_FILE)

// The rights of a directory opened only to look into it.
#define RIGHTS_DIR_RO                                                                        \
  (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK |        \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_GET)

#define RIGHTS_DIR (RIGHTS_DIR_RO | RIGHTS_DIR_WRITE)

// path_open with the arguments in the usual order; the new fd goes to *fd.
static inline __wasi_errno_t po(__wasi_fd_t dir, __wasi_lookupflags_t look, const char *path,
                         __wasi_oflags_t oflags, __wasi_rights_t base, __wasi_rights_t inh,
                         __wasi_fdflags_t fdflags, __wasi_fd_t *fd) {
  return __wasi_path_open(dir, look, path, oflags, base, inh, fdflags, fd);
}

// Opens a regular file to read and write (following symlinks).
static inline __wasi_errno_t open_rw(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                              __wasi_fd_t *fd) {
  return po(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, RIGHTS_FILE, 0, 0, fd);
}

// Opens a regular file only to read (following symlinks).
static inline __wasi_errno_t open_ro(__wasi_fd_t dir, const char *path, __wasi_fd_t *fd) {
  return po(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, RIGHTS_FILE_RO, 0, 0, fd);
}

// Opens a directory with every directory right, inheriting every file right.
static inline __wasi_errno_t open_dir(__wasi_fd_t dir, const char *path, __wasi_fd_t *fd) {
  return po(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR,
            RIGHTS_FILE | RIGHTS_DIR, 0, fd);
}

// Reads up to cap-1 bytes at offset `at` with fd_pread and NUL-terminates them; returns the
// count, or -errno.
static inline long pread_str(__wasi_fd_t fd, __wasi_filesize_t at, char *buf, size_t cap) {
  __wasi_iovec_t iov = {(uint8_t *)buf, cap - 1};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_pread(fd, &iov, 1, at, &n);
  if (e != 0) return -(long)e;
  buf[n] = 0;
  return (long)n;
}

// Reads a whole file (by path, relative to dir) into buf; returns its length or -errno.
static inline long slurp(__wasi_fd_t dir, const char *path, char *buf, size_t cap) {
  __wasi_fd_t fd;
  __wasi_errno_t e = open_ro(dir, path, &fd);
  if (e != 0) return -(long)e;
  long n = pread_str(fd, 0, buf, cap);
  (void)__wasi_fd_close(fd);
  return n;
}

// Prints bytes with C-style escapes for anything not printable ASCII.
static inline void out_escaped(const char *label, const char *buf, size_t len) {
  char tmp[1024];
  size_t j = 0;
  for (size_t i = 0; i < len && j < sizeof tmp - 8; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\n') { tmp[j++] = '\\'; tmp[j++] = 'n'; }
    else if (c == '\\') { tmp[j++] = '\\'; tmp[j++] = '\\'; }
    else if (c >= 32 && c < 127) tmp[j++] = (char)c;
    else j += (size_t)snprintf(tmp + j, sizeof tmp - j, "\\x%02x", c);
  }
  tmp[j] = 0;
  out("%s: \"%s\"\n", label, tmp);
}

// Prints the content of a file, or the errno opening it gave.
static inline void out_file(const char *label, __wasi_fd_t dir, const char *path) {
  char buf[512];
  long n = slurp(dir, path, buf, sizeof buf);
  if (n < 0) out("%s: %s\n", label, en((__wasi_errno_t)-n));
  else out_escaped(label, buf, (size_t)n);
}

#endif
