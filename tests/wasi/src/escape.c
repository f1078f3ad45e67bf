// Every way out of a directory capability fails with ENOTCAPABLE: "..", absolute paths,
// upward symlinks (followed, or crossed as a middle component), chains of symlinks, and every
// path_* call given such a path. Paths that climb but stay inside still work. An absolute
// symlink means the guest's root: from fd 3, the container's root, it resolves inside it (as
// in a chroot: the tree has its own etc/passwd, which is what such links reach); from any
// other directory fd it is an escape.
//
// Written to be harmless on a host whose sandbox is broken (as Node's is): host paths outside
// the tree are only ever read; every call that would change something either works from the
// "jail" subdirectory fd, so that an escape lands in the test's own tree (where expect.tree
// catches it), or goes through an absolute symlink into a host directory that does not exist,
// so that an escape can only fail with ENOENT. Never add a mutating call that, escaped,
// would reach an existing host path.
#include "wasi_test.h"

static const __wasi_fd_t root = 3;
static const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
#define NOWHERE "abs_root/denki-wasi-test-no-such-dir"

static void open_at(const char *what, __wasi_fd_t dir, __wasi_lookupflags_t look,
                    const char *path, __wasi_oflags_t oflags, __wasi_rights_t base) {
  __wasi_fd_t fd;
  __wasi_errno_t e = po(dir, look, path, oflags, base, 0, 0, &fd);
  if (e != 0) {
    check(what, e);
    return;
  }
  char buf[40];
  long n = pread_str(fd, 0, buf, sizeof buf);
  if (n > 0) {
    char label[200];
    snprintf(label, sizeof label, "%s: ok, reads", what);
    out_escaped(label, buf, (size_t)n);
  } else {
    out("%s: ok\n", what);
  }
  (void)__wasi_fd_close(fd);
}

static void open_file(const char *what, __wasi_fd_t dir, __wasi_lookupflags_t look,
                      const char *path) {
  open_at(what, dir, look, path, 0, RIGHTS_FILE_RO);
}

static void open_directory(const char *what, __wasi_fd_t dir, __wasi_lookupflags_t look,
                           const char *path) {
  open_at(what, dir, look, path, __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO);
}

// Reads only, from the preopen itself.
static void from_the_preopen(void) {
  open_file("..", root, 0, "..");
  open_directory(".. as a directory", root, 0, "..");
  open_file("../x", root, 0, "../x");
  open_file("./../x", root, 0, "./../x");
  open_file("jail/../../x", root, 0, "jail/../../x");
  open_file("jail/../jail/../../x", root, 0, "jail/../jail/../../x");
  open_file("/etc/passwd", root, 0, "/etc/passwd");
  open_file("/outside.txt (absolute, naming a file that is inside)", root, 0, "/outside.txt");
  open_directory("/", root, 0, "/");

  open_directory("abs_root -> /, follow", root, FOLLOW, "abs_root");
  open_file("abs_root/etc/passwd", root, FOLLOW, "abs_root/etc/passwd");
  open_file("abs_root/etc/passwd, nofollow (a middle symlink is followed anyway)", root, 0,
            "abs_root/etc/passwd");
  open_file("abs_etc/passwd", root, FOLLOW, "abs_etc/passwd");
  open_file("abs_outside -> /outside.txt, follow", root, FOLLOW, "abs_outside");
  open_file("up3/etc/passwd (up3 -> ../../..)", root, FOLLOW, "up3/etc/passwd");
  open_directory("up1 -> .., follow", root, FOLLOW, "up1");

  __wasi_filestat_t st;
  char buf[64];
  __wasi_size_t n;
  check("path_filestat_get ..", __wasi_path_filestat_get(root, 0, "..", &st));
  check("path_filestat_get /", __wasi_path_filestat_get(root, 0, "/", &st));
  check("path_filestat_get abs_etc, follow", __wasi_path_filestat_get(root, FOLLOW, "abs_etc", &st));
  check("path_filestat_get up1/., nofollow", __wasi_path_filestat_get(root, 0, "up1/.", &st));
  check("path_readlink ../x", __wasi_path_readlink(root, "../x", (uint8_t *)buf, 64, &n));
  check("path_readlink abs_root/etc/x", __wasi_path_readlink(root, "abs_root/etc/x",
                                                             (uint8_t *)buf, 64, &n));

  // Climbing that stays inside is fine.
  open_file("jail/up/outside.txt (jail/up -> ..)", root, FOLLOW, "jail/up/outside.txt");
  open_file("jail/../outside.txt", root, 0, "jail/../outside.txt");

  // A symlink's text is only data: reading it is not an escape.
  __wasi_errno_t e = __wasi_path_readlink(root, "abs_etc", (uint8_t *)buf, 64, &n);
  out("readlink abs_etc: %s, \"%.*s\"\n", en(e), e == 0 ? (int)n : 0, buf);
  e = __wasi_path_filestat_get(root, 0, "abs_etc", &st);
  out("stat abs_etc, nofollow: %s, %s\n", en(e), e == 0 ? ft(st.filetype) : "-");
}

// From the jail directory: its fd is the root of what it can reach, so "up" (-> ..) and ".."
// are escapes from it, although they stay inside the preopen.
static void from_the_jail(void) {
  __wasi_fd_t j;
  check("open jail", open_dir(root, "jail", &j));
  open_file("jail fd: secret.txt", j, 0, "secret.txt");
  open_file("jail fd: ok_link -> secret.txt", j, FOLLOW, "ok_link");
  open_file("jail fd: sub/down -> ../secret.txt", j, FOLLOW, "sub/down");
  open_file("jail fd: sub/../secret.txt", j, 0, "sub/../secret.txt");
  open_file("jail fd: ../outside.txt", j, 0, "../outside.txt");
  open_file("jail fd: up/outside.txt", j, FOLLOW, "up/outside.txt");
  open_directory("jail fd: up, follow", j, FOLLOW, "up");
  open_file("jail fd: sub/upup -> ../../outside.txt, follow", j, FOLLOW, "sub/upup");
  open_file("jail fd: chain1 -> chain2 -> sub/../../outside.txt", j, FOLLOW, "chain1");
  open_file("jail fd: abs/etc/passwd (abs -> /)", j, FOLLOW, "abs/etc/passwd");

  __wasi_fd_t fd;
  __wasi_filestat_t st;
  check("jail fd: path_filestat_get up/outside.txt",
        __wasi_path_filestat_get(j, 0, "up/outside.txt", &st));
  check("jail fd: creat ../made_file",
        po(j, 0, "../made_file", __WASI_OFLAGS_CREAT, RIGHTS_FILE, 0, 0, &fd));
  check("jail fd: creat up/made_file",
        po(j, FOLLOW, "up/made_file", __WASI_OFLAGS_CREAT, RIGHTS_FILE, 0, 0, &fd));
  check("jail fd: trunc ../outside.txt",
        po(j, 0, "../outside.txt", __WASI_OFLAGS_TRUNC, RIGHTS_FILE, 0, 0, &fd));
  check("jail fd: mkdir ../made_dir", __wasi_path_create_directory(j, "../made_dir"));
  check("jail fd: mkdir up/made_dir", __wasi_path_create_directory(j, "up/made_dir"));
  check("jail fd: rmdir ../emptydir", __wasi_path_remove_directory(j, "../emptydir"));
  check("jail fd: rmdir up/emptydir", __wasi_path_remove_directory(j, "up/emptydir"));
  check("jail fd: unlink ../outside.txt", __wasi_path_unlink_file(j, "../outside.txt"));
  check("jail fd: unlink up/outside.txt", __wasi_path_unlink_file(j, "up/outside.txt"));
  check("jail fd: symlink at ../made_link", __wasi_path_symlink("x", j, "../made_link"));
  check("jail fd: link secret.txt to ../made_hard",
        __wasi_path_link(j, 0, "secret.txt", j, "../made_hard"));
  check("jail fd: link ../outside.txt in", __wasi_path_link(j, 0, "../outside.txt", j, "pulled"));
  check("jail fd: rename secret.txt -> ../stolen.txt",
        __wasi_path_rename(j, "secret.txt", j, "../stolen.txt"));
  check("jail fd: rename sub -> ../moved_sub", __wasi_path_rename(j, "sub", j, "../moved_sub"));
  check("jail fd: rename sub -> up/moved_sub", __wasi_path_rename(j, "sub", j, "up/moved_sub"));
  check("jail fd: rename ../outside.txt -> pulled.txt",
        __wasi_path_rename(j, "../outside.txt", j, "pulled.txt"));
  check("jail fd: set times of ../outside.txt",
        __wasi_path_filestat_set_times(j, 0, "../outside.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  check("jail fd: set times of up, follow",
        __wasi_path_filestat_set_times(j, FOLLOW, "up", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  (void)__wasi_fd_close(j);
}

// Through a symlink to "/", into a host directory that does not exist.
static void through_absolute_symlinks(void) {
  __wasi_fd_t fd;
  check("creat " NOWHERE "/f",
        po(root, FOLLOW, NOWHERE "/f", __WASI_OFLAGS_CREAT, RIGHTS_FILE, 0, 0, &fd));
  check("creat /denki-wasi-test-no-such-dir/f",
        po(root, 0, "/denki-wasi-test-no-such-dir/f", __WASI_OFLAGS_CREAT, RIGHTS_FILE, 0, 0, &fd));
  check("mkdir " NOWHERE "/d", __wasi_path_create_directory(root, NOWHERE "/d"));
  check("rmdir " NOWHERE "/d", __wasi_path_remove_directory(root, NOWHERE "/d"));
  check("unlink " NOWHERE "/f", __wasi_path_unlink_file(root, NOWHERE "/f"));
  check("symlink at " NOWHERE "/l", __wasi_path_symlink("x", root, NOWHERE "/l"));
  check("link jail/secret.txt to " NOWHERE "/h",
        __wasi_path_link(root, 0, "jail/secret.txt", root, NOWHERE "/h"));
  check("rename jail/secret.txt -> " NOWHERE "/f",
        __wasi_path_rename(root, "jail/secret.txt", root, NOWHERE "/f"));
  check("set times of " NOWHERE "/f",
        __wasi_path_filestat_set_times(root, 0, NOWHERE "/f", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
}

// Symlinks the program makes itself, pointing out: nothing outside may be reached through
// them (the absolute one reaches the tree's own etc/passwd).
static void made_symlinks(void) {
  static const char *const targets[] = {"/etc/passwd", "../../../../../../etc/passwd",
                                        "jail/../../x"};
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "made%d", i);
    __wasi_errno_t made = __wasi_path_symlink(targets[i], root, name);
    __wasi_fd_t fd;
    __wasi_errno_t opened = made ? made : open_ro(root, name, &fd);
    char label[120];
    snprintf(label, sizeof label, "symlink -> %s: %s, then open: %s", targets[i], en(made),
             en(opened));
    char buf[40];
    long n = opened == 0 ? pread_str(fd, 0, buf, sizeof buf) : -1;
    if (n >= 0) {
      char reads[140];
      snprintf(reads, sizeof reads, "%s, reads", label);
      out_escaped(reads, buf, (size_t)n);
    } else {
      out("%s\n", label);
    }
    if (opened == 0) (void)__wasi_fd_close(fd);
    if (made == 0) (void)__wasi_path_unlink_file(root, name);
  }
}

int main(void) {
  from_the_preopen();
  from_the_jail();
  through_absolute_symlinks();
  made_symlinks();
  return 0;
}
