// Trailing slashes, call by call, as Linux's *at calls treat them: a trailing slash names a
// directory, so it follows a final symlink and makes a file (or a symlink to one) ENOTDIR;
// a name to be created with a trailing slash exists only for mkdir (and rename of a
// directory); link and symlink answer ENOENT for a new "name/", open with creat EISDIR.
// The expected output is what the same sequence of mkdirat, linkat, symlinkat, unlinkat,
// renameat, openat, fstatat, readlinkat and utimensat calls prints on Linux 6.x (ext4).
#include "wasi_test.h"

static const __wasi_fd_t root = 3;
static const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
static const __wasi_fstflags_t NOW = __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW;

// path_open to read (as openat with O_RDONLY); a new fd is closed at once.
static void open_check(const char *what, __wasi_lookupflags_t look, const char *path,
                       __wasi_oflags_t oflags) {
  __wasi_fd_t fd;
  __wasi_errno_t e = po(root, look, path, oflags, RIGHTS_FILE_RO, 0, 0, &fd);
  check(what, e);
  if (e == 0) (void)__wasi_fd_close(fd);
}

int main(void) {
  __wasi_filestat_t st;
  __wasi_errno_t e;
  char buf[64];
  __wasi_size_t n;
  check("mkdir new/", __wasi_path_create_directory(root, "newd/"));
  check("mkdir file/", __wasi_path_create_directory(root, "file/"));
  check("mkdir dir/", __wasi_path_create_directory(root, "dir/"));
  check("mkdir lf/", __wasi_path_create_directory(root, "lf/"));
  check("mkdir dangling/", __wasi_path_create_directory(root, "dangling/"));
  check("link file new/", __wasi_path_link(root, 0, "file", root, "newl/"));
  check("link file/ new", __wasi_path_link(root, 0, "file/", root, "newl2"));
  check("link lf/ new", __wasi_path_link(root, 0, "lf/", root, "newl3"));
  check("link ld/ new", __wasi_path_link(root, 0, "ld/", root, "newl4"));
  check("link file dir/ (existing)", __wasi_path_link(root, 0, "file", root, "dir/"));
  check("link file file2/ (existing file)", __wasi_path_link(root, 0, "file", root, "f2/"));
  check("symlink x new/", __wasi_path_symlink("x", root, "news/"));
  check("symlink x file/", __wasi_path_symlink("x", root, "file/"));
  check("symlink x dir/", __wasi_path_symlink("x", root, "dir/"));
  check("unlink file/", __wasi_path_unlink_file(root, "file/"));
  check("unlink dir/", __wasi_path_unlink_file(root, "dir/"));
  check("unlink lf/", __wasi_path_unlink_file(root, "lf/"));
  check("unlink ld/", __wasi_path_unlink_file(root, "ld/"));
  check("unlink dangling/", __wasi_path_unlink_file(root, "dangling/"));
  check("unlink missing/", __wasi_path_unlink_file(root, "missing/"));
  check("rmdir file/", __wasi_path_remove_directory(root, "file/"));
  check("rmdir ld/", __wasi_path_remove_directory(root, "ld/"));
  check("rmdir lf/", __wasi_path_remove_directory(root, "lf/"));
  check("rmdir missing/", __wasi_path_remove_directory(root, "missing/"));
  check("rmdir dir2/", __wasi_path_remove_directory(root, "dir2/"));
  check("rename f2 new/", __wasi_path_rename(root, "f2", root, "newr/"));
  check("rename f2/ new", __wasi_path_rename(root, "f2/", root, "newr"));
  check("rename lf/ new", __wasi_path_rename(root, "lf/", root, "newr"));
  check("rename ld/ new", __wasi_path_rename(root, "ld/", root, "newr"));
  check("rename dir3 new/", __wasi_path_rename(root, "dir3", root, "newr3/"));
  check("rename dir4/ new", __wasi_path_rename(root, "dir4/", root, "newr4"));
  check("rename f3 f4/", __wasi_path_rename(root, "f3", root, "f4/"));
  check("rename newr4 dir5/", __wasi_path_rename(root, "newr4", root, "dir5/"));
  check("rename missing/ x", __wasi_path_rename(root, "missing/", root, "x"));
  open_check("open file/", FOLLOW, "file/", 0);
  open_check("open dir/", FOLLOW, "dir/", 0);
  open_check("open ld/ nofollow", 0, "ld/", 0);
  open_check("open ld/ nofollow directory", 0, "ld/", __WASI_OFLAGS_DIRECTORY);
  open_check("open lf/", FOLLOW, "lf/", 0);
  open_check("open new/ creat", FOLLOW, "newo/", __WASI_OFLAGS_CREAT);
  open_check("open file/ creat", FOLLOW, "file/", __WASI_OFLAGS_CREAT);
  open_check("open dir/ creat", FOLLOW, "dir/", __WASI_OFLAGS_CREAT);
  open_check("open dir/ creat excl", FOLLOW, "dir/", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL);
  open_check("open new/ creat excl", FOLLOW, "newo/", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL);
  open_check("open dangling/ creat", FOLLOW, "dangling/", __WASI_OFLAGS_CREAT);
  open_check("open missing/", FOLLOW, "missing/", 0);
  open_check("open dangling/", FOLLOW, "dangling/", 0);
  check("stat file/", __wasi_path_filestat_get(root, FOLLOW, "file/", &st));
  check("stat lf/ nofollow", __wasi_path_filestat_get(root, 0, "lf/", &st));
  e = __wasi_path_filestat_get(root, 0, "ld/", &st);
  if (e == 0) out("stat ld/ nofollow: ok, isdir %d\n", st.filetype == __WASI_FILETYPE_DIRECTORY);
  else check("stat ld/ nofollow", e);
  check("stat dangling/ nofollow", __wasi_path_filestat_get(root, 0, "dangling/", &st));
  check("readlink ld/", __wasi_path_readlink(root, "ld/", (uint8_t *)buf, 64, &n));
  check("readlink lf/", __wasi_path_readlink(root, "lf/", (uint8_t *)buf, 64, &n));
  check("readlink dangling/", __wasi_path_readlink(root, "dangling/", (uint8_t *)buf, 64, &n));
  check("utimens file/", __wasi_path_filestat_set_times(root, FOLLOW, "file/", 0, 0, NOW));
  check("utimens ld/ nofollow", __wasi_path_filestat_set_times(root, 0, "ld/", 0, 0, NOW));
  check("utimens lf/ nofollow", __wasi_path_filestat_set_times(root, 0, "lf/", 0, 0, NOW));
  check("link dir new", __wasi_path_link(root, 0, "dir", root, "nl5"));
  check("link dir/ new", __wasi_path_link(root, 0, "dir/", root, "nl6"));
  check("link file dangling/", __wasi_path_link(root, 0, "file", root, "dangling/"));
  check("symlink x dangling/", __wasi_path_symlink("x", root, "dangling/"));
  check("mkdir a/.", __wasi_path_create_directory(root, "newdot/."));
  check("rmdir dir/.", __wasi_path_remove_directory(root, "dir/."));
  check("unlink file/.", __wasi_path_unlink_file(root, "file/."));
  check("rename dir/. x", __wasi_path_rename(root, "dir/.", root, "x"));
  check("rename ld5 ld5/ (link to dir, self)", __wasi_path_rename(root, "ld5/", root, "y"));
  open_check("open dir creat (no slash)", FOLLOW, "dir", __WASI_OFLAGS_CREAT);
  open_check("open ld/ creat", FOLLOW, "ld/", __WASI_OFLAGS_CREAT);
  check("mkdir ld/", __wasi_path_create_directory(root, "ld/"));
  check("symlink x ld/", __wasi_path_symlink("x", root, "ld/"));
  check("rename f4 dir/ (file onto dir/)", __wasi_path_rename(root, "f4", root, "dir/"));
  check("rename f4 dir (file onto dir)", __wasi_path_rename(root, "f4", root, "dir"));
  check("rename dir ld/ (dir onto link-to-dir/)", __wasi_path_rename(root, "newr3", root, "ld/"));
  check("utimens dangling/", __wasi_path_filestat_set_times(root, FOLLOW, "dangling/", 0, 0, NOW));
  check("utimens missing/", __wasi_path_filestat_set_times(root, FOLLOW, "missing/", 0, 0, NOW));
  check("link file missing/x", __wasi_path_link(root, 0, "file", root, "missing/x"));
  check("link file file/x", __wasi_path_link(root, 0, "file", root, "file/x"));
  check("link ld new (nofollow)", __wasi_path_link(root, 0, "ld", root, "nl7"));
  check("link ld/ new follow", __wasi_path_link(root, FOLLOW, "ld/", root, "nl8"));
  check("link lf/ new follow", __wasi_path_link(root, FOLLOW, "lf/", root, "nl9"));
  open_check("open file//", FOLLOW, "file//", 0);
  open_check("open dir//", FOLLOW, "dir//", 0);
  check("rmdir newd//", __wasi_path_remove_directory(root, "newd//"));
  return 0;
}
