// A descriptor outlives its path: a directory (or file) is opened, its name is removed and
// replaced by a symlink to somewhere outside, and the old descriptor is used again. Every call
// through the stale descriptor must act on the object it was opened on (or fail), never on
// whatever the name now leads to on the host.
//
// Usage: stale_fd [TARGET [CHECK]]. TARGET is the symlinks' text (default "../mount0": from the
// root's host directory, the host directory of the read-only mount /m, which the WASI host
// must never write to); it should hold "secret", "victim", "victimdir/" and "q/secret2".
// CHECK (default "m"), when present in the root, is listed at the end through its proper path,
// so the output shows whether anything was created, removed or touched there.
//
// Harmless on a broken host: the only things an escape can change are inside TARGET, which
// the tests make in a temp dir.
#include "wasi_test.h"

static const __wasi_fd_t root = 3;
static const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
// Every directory right, with the times one too.
#define DIR_RIGHTS (RIGHTS_DIR | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES)
// A time no file in the tests has: if it shows up in TARGET, an escape wrote it.
static const __wasi_timestamp_t MARK = 1000000000ull * 1000000000ull;

static void opened(const char *what, __wasi_errno_t e, __wasi_fd_t fd) {
  if (e != 0) {
    check(what, e);
    return;
  }
  char buf[64];
  long n = pread_str(fd, 0, buf, sizeof buf);
  if (n >= 0) {
    char label[160];
    snprintf(label, sizeof label, "%s: ok, reads", what);
    out_escaped(label, buf, (size_t)n);
  } else {
    out("%s: ok\n", what);
  }
  (void)__wasi_fd_close(fd);
}

// Prints the names fd_readdir gives (sorted is not needed: the expected result is an error
// or an empty directory).
static void readdir(const char *what, __wasi_fd_t fd) {
  uint8_t buf[1024];
  __wasi_size_t used = 0;
  __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used);
  if (e != 0) {
    check(what, e);
    return;
  }
  out("%s: ok,", what);
  for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    size_t len = d.d_namlen;
    if (off + sizeof d + len > used) break;
    out(" %.*s", (int)len, (const char *)buf + off + sizeof d);
    off += sizeof d + len;
  }
  out("\n");
}

// Through a stale directory descriptor: every call that takes it.
static void through_dir(const char *label, __wasi_fd_t d, __wasi_inode_t ino) {
  char what[160];
#define W(s) (snprintf(what, sizeof what, "%s: %s", label, s), what)
  __wasi_fd_t fd;
  opened(W("path_open secret"), po(d, FOLLOW, "secret", 0, RIGHTS_FILE_RO, 0, 0, &fd), fd);
  opened(W("path_open q/secret2"), po(d, FOLLOW, "q/secret2", 0, RIGHTS_FILE_RO, 0, 0, &fd), fd);
  opened(W("path_open created, creat"), open_rw(d, "created", __WASI_OFLAGS_CREAT, &fd), fd);
  opened(W("path_open victimdir"), po(d, FOLLOW, "victimdir", __WASI_OFLAGS_DIRECTORY,
                                      RIGHTS_DIR_RO, 0, 0, &fd), fd);
  opened(W("path_open ."), po(d, FOLLOW, ".", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO, 0, 0, &fd),
         fd);
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_path_filestat_get(d, FOLLOW, "secret", &st);
  if (e == 0) out("%s: ok, size %llu\n", W("path_filestat_get secret"), (unsigned long long)st.size);
  else check(W("path_filestat_get secret"), e);
  check(W("path_filestat_set_times secret"),
        __wasi_path_filestat_set_times(d, FOLLOW, "secret", MARK, MARK,
                                       __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  char buf[64];
  __wasi_size_t n;
  check(W("path_readlink secret"), __wasi_path_readlink(d, "secret", (uint8_t *)buf, 64, &n));
  check(W("path_create_directory made"), __wasi_path_create_directory(d, "made"));
  check(W("path_link secret -> /stolen"), __wasi_path_link(d, 0, "secret", root, "stolen"));
  // What a successful link would give away: the secret, read through the guest's own root.
  out_file(W("read /stolen"), root, "stolen");
  check(W("path_link /file -> planted"), __wasi_path_link(root, 0, "file", d, "planted"));
  check(W("path_rename victim -> /moved"), __wasi_path_rename(d, "victim", root, "moved"));
  check(W("path_rename /file2 -> moved_in"), __wasi_path_rename(root, "file2", d, "moved_in"));
  check(W("path_symlink made_link"), __wasi_path_symlink("x", d, "made_link"));
  check(W("path_unlink_file victim"), __wasi_path_unlink_file(d, "victim"));
  check(W("path_remove_directory victimdir"), __wasi_path_remove_directory(d, "victimdir"));
  readdir(W("fd_readdir"), d);
  e = __wasi_fd_filestat_get(d, &st);
  if (e == 0) {
    out("%s: ok, %s, the same inode: %s\n", W("fd_filestat_get"), ft(st.filetype),
        yn(st.ino == ino));
  } else {
    check(W("fd_filestat_get"), e);
  }
  check(W("fd_filestat_set_times"),
        __wasi_fd_filestat_set_times(d, MARK, MARK, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
#undef W
}

static __wasi_inode_t inode(__wasi_fd_t fd) {
  __wasi_filestat_t st;
  return __wasi_fd_filestat_get(fd, &st) == 0 ? st.ino : 0;
}

// Lists a directory by its proper path: names, file contents and whether a time is MARK.
static void show(const char *dir) {
  __wasi_fd_t fd;
  __wasi_errno_t e = open_dir(root, dir, &fd);
  if (e != 0) return;
  uint8_t buf[2048];
  __wasi_size_t used = 0;
  if (__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used) != 0) return;
  // Names in the order of the listing; the tests' trees are small.
  char names[32][64];
  int count = 0;
  for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= used && count < 32;) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
    memcpy(names[count], buf + off + sizeof d, len);
    names[count][len] = 0;
    if (strcmp(names[count], ".") != 0 && strcmp(names[count], "..") != 0) count++;
    off += sizeof d + d.d_namlen;
  }
  for (int i = 0; i < count; i++) {
    for (int j = i + 1; j < count; j++) {
      if (strcmp(names[j], names[i]) < 0) {
        char t[64];
        memcpy(t, names[i], 64);
        memcpy(names[i], names[j], 64);
        memcpy(names[j], t, 64);
      }
    }
  }
  __wasi_filestat_t st;
  int marked = __wasi_fd_filestat_get(fd, &st) == 0 && st.mtim == MARK;
  out("%s:%s", dir, marked ? " (touched)" : "");
  for (int i = 0; i < count; i++) {
    marked = __wasi_path_filestat_get(fd, 0, names[i], &st) == 0 && st.mtim == MARK;
    out(" %s%s", names[i], marked ? " (touched)" : "");
  }
  out("\n");
  (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
  const char *target = argc > 1 ? argv[1] : "../mount0";
  const char *check_dir = argc > 2 ? argv[2] : "m";
  __wasi_fd_t d, p, f;
  __wasi_fd_t fd;

  // d: a directory, opened, removed, and its name made a symlink to TARGET.
  check("mkdir d", __wasi_path_create_directory(root, "d"));
  check("open d", po(root, FOLLOW, "d", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, RIGHTS_FILE | DIR_RIGHTS, 0, &d));
  __wasi_inode_t d_ino = inode(d);
  check("rmdir d", __wasi_path_remove_directory(root, "d"));
  check("symlink d -> target", __wasi_path_symlink(target, root, "d"));
  through_dir("stale d", d, d_ino);

  // p/q: the directory stays, its parent is replaced by a symlink to TARGET (which has q/).
  check("mkdir p/q", __wasi_path_create_directory(root, "p") |
                         __wasi_path_create_directory(root, "p/q"));
  check("open p/q", open_dir(root, "p/q", &p));
  __wasi_inode_t p_ino = inode(p);
  check("rmdir p/q, p", __wasi_path_remove_directory(root, "p/q") |
                            __wasi_path_remove_directory(root, "p"));
  check("symlink p -> target", __wasi_path_symlink(target, root, "p"));
  opened("stale p/q: path_open secret2", po(p, FOLLOW, "secret2", 0, RIGHTS_FILE_RO, 0, 0, &fd),
         fd);
  readdir("stale p/q: fd_readdir", p);
  check("stale p/q: path_create_directory made", __wasi_path_create_directory(p, "made"));
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_fd_filestat_get(p, &st);
  if (e == 0) out("stale p/q: fd_filestat_get: ok, the same inode: %s\n", yn(st.ino == p_ino));
  else check("stale p/q: fd_filestat_get", e);

  // r: removed and made again as a new, empty directory: the old fd does not reach the new one.
  __wasi_fd_t r;
  check("mkdir r", __wasi_path_create_directory(root, "r"));
  check("open r", open_dir(root, "r", &r));
  check("rmdir r, mkdir r", __wasi_path_remove_directory(root, "r") |
                                __wasi_path_create_directory(root, "r"));
  opened("stale r: path_open new, creat", open_rw(r, "new", __WASI_OFLAGS_CREAT, &fd), fd);
  check("stale r: path_filestat_get new", __wasi_path_filestat_get(root, 0, "r/new", &st));

  // f: a file, opened, removed, and its name made a symlink to TARGET/secret.
  char link[256];
  snprintf(link, sizeof link, "%s/secret", target);
  check("open f", open_rw(root, "f", __WASI_OFLAGS_CREAT, &f));
  write_all(f, "mine", 4);
  __wasi_inode_t f_ino = inode(f);
  check("unlink f", __wasi_path_unlink_file(root, "f"));
  check("symlink f -> target/secret", __wasi_path_symlink(link, root, "f"));
  e = __wasi_fd_filestat_get(f, &st);
  if (e == 0) {
    out("stale f: fd_filestat_get: ok, %s, size %llu, the same inode: %s\n", ft(st.filetype),
        (unsigned long long)st.size, yn(st.ino == f_ino));
  } else {
    check("stale f: fd_filestat_get", e);
  }
  check("stale f: fd_filestat_set_times",
        __wasi_fd_filestat_set_times(f, MARK, MARK, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  char buf[64];
  long n = pread_str(f, 0, buf, sizeof buf);
  if (n >= 0) out_escaped("stale f: fd_pread", buf, (size_t)n);
  else check("stale f: fd_pread", (__wasi_errno_t)-n);

  // The root after all this, and the check directory through its proper path.
  show(".");
  show(check_dir);
  return 0;
}
