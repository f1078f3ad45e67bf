// path_create_directory, path_remove_directory, path_unlink_file, path_rename, path_link,
// path_filestat_get, path_filestat_set_times, path_symlink and path_readlink.
#include "wasi_test.h"

static const __wasi_fd_t root = 3;
static const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;

static int stat_of(__wasi_fd_t dir, __wasi_lookupflags_t look, const char *path,
                   __wasi_filestat_t *st) {
  return __wasi_path_filestat_get(dir, look, path, st);
}

// Prints "what: ok, <type>, size N, nlink N" (only the type for a directory, whose size and
// link count depend on the filesystem), or the errno.
static void stat_line(const char *what, __wasi_lookupflags_t look, const char *path) {
  __wasi_filestat_t st;
  __wasi_errno_t e = stat_of(root, look, path, &st);
  if (e != 0) check(what, e);
  else if (st.filetype == __WASI_FILETYPE_DIRECTORY) out("%s: ok, directory\n", what);
  else out("%s: ok, %s, size %llu, nlink %llu\n", what, ft(st.filetype),
           (unsigned long long)st.size, (unsigned long long)st.nlink);
}

static void readlink(const char *what, const char *path, size_t cap) {
  char buf[64];
  memset(buf, '#', sizeof buf);
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_path_readlink(root, path, (uint8_t *)buf, cap, &n);
  if (e != 0) check(what, e);
  else out("%s: ok, %u bytes, \"%.*s\"\n", what, (unsigned)n, (int)n, buf);
}

static void directories(void) {
  check("mkdir newdir", __wasi_path_create_directory(root, "newdir"));
  check("mkdir newdir again", __wasi_path_create_directory(root, "newdir"));
  check("mkdir over file.txt", __wasi_path_create_directory(root, "file.txt"));
  check("mkdir over the symlink sl", __wasi_path_create_directory(root, "sl"));
  check("mkdir missing/sub", __wasi_path_create_directory(root, "missing/sub"));
  check("mkdir file.txt/sub", __wasi_path_create_directory(root, "file.txt/sub"));
  check("mkdir newdir/sub", __wasi_path_create_directory(root, "newdir/sub"));
  stat_line("stat newdir/sub", 0, "newdir/sub");

  check("rmdir full (not empty)", __wasi_path_remove_directory(root, "full"));
  check("rmdir file.txt", __wasi_path_remove_directory(root, "file.txt"));
  check("rmdir sl (symlink to a file)", __wasi_path_remove_directory(root, "sl"));
  check("rmdir missing", __wasi_path_remove_directory(root, "missing"));
  check("rmdir newdir (not empty)", __wasi_path_remove_directory(root, "newdir"));
  check("rmdir newdir/sub", __wasi_path_remove_directory(root, "newdir/sub"));
  check("rmdir newdir/", __wasi_path_remove_directory(root, "newdir/"));
  check("rmdir newdir again", __wasi_path_remove_directory(root, "newdir"));
  stat_line("stat newdir", 0, "newdir");

  check("unlink a (a directory)", __wasi_path_unlink_file(root, "a"));
  check("unlink a/", __wasi_path_unlink_file(root, "a/"));
  check("unlink missing", __wasi_path_unlink_file(root, "missing"));
  check("unlink file.txt/", __wasi_path_unlink_file(root, "file.txt/"));
  check("symlink sl_tmp -> target.txt", __wasi_path_symlink("target.txt", root, "sl_tmp"));
  check("unlink sl_tmp", __wasi_path_unlink_file(root, "sl_tmp"));
  stat_line("stat sl_tmp", 0, "sl_tmp");
  out_file("target.txt", root, "target.txt");
  check("unlink gone.txt", __wasi_path_unlink_file(root, "gone.txt"));
  stat_line("stat gone.txt", 0, "gone.txt");
}

static void renames(void) {
  check("rename over_src -> over_dst", __wasi_path_rename(root, "over_src", root, "over_dst"));
  out_file("over_dst", root, "over_dst");
  stat_line("stat over_src", 0, "over_src");
  check("rename a/f.txt -> b/g.txt", __wasi_path_rename(root, "a/f.txt", root, "b/g.txt"));
  check("rename a -> a/sub (into itself)", __wasi_path_rename(root, "a", root, "a/sub"));
  check("rename a -> full (non-empty dir)", __wasi_path_rename(root, "a", root, "full"));
  check("rename file.txt -> b (file over dir)", __wasi_path_rename(root, "file.txt", root, "b"));
  check("rename b -> file.txt (dir over file)", __wasi_path_rename(root, "b", root, "file.txt"));
  check("rename missing -> x", __wasi_path_rename(root, "missing", root, "x"));
  check("rename file.txt/ -> x", __wasi_path_rename(root, "file.txt/", root, "x"));
  check("rename file.txt -> file.txt", __wasi_path_rename(root, "file.txt", root, "file.txt"));
  check("rename b -> c", __wasi_path_rename(root, "b", root, "c"));
  out_file("c/g.txt", root, "c/g.txt");
  check("mkdir empty_target", __wasi_path_create_directory(root, "empty_target"));
  check("rename a -> empty_target (empty dir)", __wasi_path_rename(root, "a", root, "empty_target"));
  stat_line("stat a", 0, "a");
  stat_line("stat empty_target", 0, "empty_target");

  __wasi_fd_t c, full;
  check("open c", open_dir(root, "c", &c));
  check("open full", open_dir(root, "full", &full));
  check("rename c:g.txt -> full:g2.txt", __wasi_path_rename(c, "g.txt", full, "g2.txt"));
  out_file("full/g2.txt", root, "full/g2.txt");
  check("rename with fd 99", __wasi_path_rename(99, "x", root, "y"));
  (void)__wasi_fd_close(c);
  (void)__wasi_fd_close(full);

  // A directory fd stays bound to its directory when the directory is renamed.
  __wasi_fd_t deep;
  check("open mv/deep", open_dir(root, "mv/deep", &deep));
  check("rename mv/deep -> moved", __wasi_path_rename(root, "mv/deep", root, "moved"));
  out_file("f through the old fd", deep, "f");
  __wasi_filestat_t a, b;
  __wasi_errno_t e1 = __wasi_fd_filestat_get(deep, &a), e2 = stat_of(root, 0, "moved", &b);
  out("old fd is the moved directory: %s\n", yn(e1 == 0 && e2 == 0 && a.ino == b.ino));
  (void)__wasi_fd_close(deep);
}

static void links(void) {
  check("link file.txt -> hard.txt", __wasi_path_link(root, 0, "file.txt", root, "hard.txt"));
  stat_line("stat file.txt", 0, "file.txt");
  __wasi_filestat_t a, b;
  (void)stat_of(root, 0, "file.txt", &a);
  (void)stat_of(root, 0, "hard.txt", &b);
  out("same inode and device: %s\n", yn(a.ino == b.ino && a.dev == b.dev));
  check("link onto existing target.txt", __wasi_path_link(root, 0, "file.txt", root, "target.txt"));
  check("link a directory", __wasi_path_link(root, 0, "full", root, "full_link"));
  check("link missing", __wasi_path_link(root, 0, "missing", root, "x"));
  check("link into a subdirectory", __wasi_path_link(root, 0, "file.txt", root, "full/hard2"));
  stat_line("stat file.txt", 0, "file.txt");
  check("link sl (nofollow) -> hard_sl", __wasi_path_link(root, 0, "sl", root, "hard_sl"));
  stat_line("stat hard_sl, nofollow", 0, "hard_sl");
  check("link sl (follow) -> hard_target",
        __wasi_path_link(root, FOLLOW, "sl", root, "hard_target"));
  stat_line("stat hard_target, nofollow", 0, "hard_target");
}

static void filestat(void) {
  stat_line("stat sl, follow", FOLLOW, "sl");
  stat_line("stat sl, nofollow", 0, "sl");
  stat_line("stat missing", 0, "missing");
  stat_line("stat file.txt/", 0, "file.txt/");
  stat_line("stat .", 0, ".");
  __wasi_filestat_t before, st, t;
  (void)stat_of(root, 0, "file.txt", &before);
  check("set mtim of file.txt",
        __wasi_path_filestat_set_times(root, 0, "file.txt", 0, 3000000789ull,
                                       __WASI_FSTFLAGS_MTIM));
  (void)stat_of(root, 0, "file.txt", &st);
  out("mtim %llu, atim unchanged %s\n", (unsigned long long)st.mtim, yn(st.atim == before.atim));

  (void)stat_of(root, 0, "target.txt", &before);
  check("set mtim of sl, nofollow",
        __wasi_path_filestat_set_times(root, 0, "sl", 0, 4000000000ull, __WASI_FSTFLAGS_MTIM));
  (void)stat_of(root, 0, "sl", &st);
  (void)stat_of(root, 0, "target.txt", &t);
  out("link mtim %llu, target unchanged %s\n", (unsigned long long)st.mtim,
      yn(t.mtim == before.mtim));
  check("set mtim of sl, follow",
        __wasi_path_filestat_set_times(root, FOLLOW, "sl", 0, 5000000000ull,
                                       __WASI_FSTFLAGS_MTIM));
  (void)stat_of(root, 0, "target.txt", &t);
  (void)stat_of(root, 0, "sl", &st);
  out("target mtim %llu, link mtim %llu\n", (unsigned long long)t.mtim,
      (unsigned long long)st.mtim);
  check("set times of missing",
        __wasi_path_filestat_set_times(root, 0, "missing", 1, 1, __WASI_FSTFLAGS_ATIM));
}

static void symlinks(void) {
  check("symlink sl2 -> target.txt", __wasi_path_symlink("target.txt", root, "sl2"));
  readlink("readlink sl2", "sl2", 64);
  readlink("readlink sl2, buffer of 10", "sl2", 10);
  readlink("readlink sl2, buffer of 4", "sl2", 4);
  check("symlink over file.txt", __wasi_path_symlink("target.txt", root, "file.txt"));
  check("symlink dang -> nope", __wasi_path_symlink("nope", root, "dang"));
  stat_line("stat dang, follow", FOLLOW, "dang");
  stat_line("stat dang, nofollow", 0, "dang");
  readlink("readlink dang", "dang", 64);
  check("symlink sub -> ../target.txt in full/", __wasi_path_symlink("../target.txt", root,
                                                                     "full/up"));
  out_file("full/up", root, "full/up");
  readlink("readlink file.txt", "file.txt", 64);
  readlink("readlink missing", "missing", 64);

  check("symlink loop1 -> loop2", __wasi_path_symlink("loop2", root, "loop1"));
  check("symlink loop2 -> loop1", __wasi_path_symlink("loop1", root, "loop2"));
  check("symlink self -> self", __wasi_path_symlink("self", root, "self"));
  __wasi_fd_t fd;
  check("open loop1, follow", open_ro(root, "loop1", &fd));
  check("open self, follow", open_ro(root, "self", &fd));
  check("open loop1/x", po(root, 0, "loop1/x", 0, RIGHTS_FILE_RO, 0, 0, &fd));
  stat_line("stat loop1, follow", FOLLOW, "loop1");
  stat_line("stat loop1, nofollow", 0, "loop1");
}

int main(void) {
  directories();
  renames();
  links();
  filestat();
  symlinks();
  // Last, because Node's WASI hangs on the next call on fd 3 after this one.
  check("set atim and atim_now",
        __wasi_path_filestat_set_times(root, 0, "file.txt", 1, 1,
                                       __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
  check("set mtim and mtim_now",
        __wasi_path_filestat_set_times(root, 0, "file.txt", 1, 1,
                                       __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW));
  return 0;
}
