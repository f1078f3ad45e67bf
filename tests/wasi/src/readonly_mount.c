// A read-only mount at /ro (fd 4) next to a writable "/" (fd 3).
#include "readonly_checks.h"

int main(void) {
  char name[8] = {0};
  __wasi_prestat_t ps;
  __wasi_errno_t e = __wasi_fd_prestat_get(4, &ps);
  out("prestat fd 4: %s, name length %u\n", en(e), (unsigned)ps.u.dir.pr_name_len);
  e = __wasi_fd_prestat_dir_name(4, (uint8_t *)name, 3);
  out("fd 4 is: %s, \"%.3s\"\n", en(e), name);

  readonly_checks(4);

  // Nothing moves between the two: renaming or linking needs rights on both sides.
  check("rename w.txt from / into /ro", __wasi_path_rename(3, "w.txt", 4, "w.txt"));
  check("rename x from /ro into /", __wasi_path_rename(4, "x", 3, "x"));
  check("link x from /ro into /", __wasi_path_link(4, 0, "x", 3, "x_link"));
  check("symlink in /ro to /w.txt", __wasi_path_symlink("../w.txt", 4, "wl"));
  __wasi_fd_t fd;
  check("open ../w.txt from /ro", open_ro(4, "../w.txt", &fd));

  // "/" stays writable.
  __wasi_fdstat_t st;
  check("fdstat fd 3", __wasi_fd_fdstat_get(3, &st));
  out("fd 3 base has the rights that change the tree: %s\n",
      yn((st.fs_rights_base & RIGHTS_DIR_WRITE) == RIGHTS_DIR_WRITE));
  check("creat w2.txt in /", open_rw(3, "w2.txt", __WASI_OFLAGS_CREAT, &fd));
  __wasi_size_t n;
  check("write it", __wasi_fd_write(fd, &(__wasi_ciovec_t){(const uint8_t *)"w2", 2}, 1, &n));
  (void)__wasi_fd_close(fd);
  check("mkdir d in /", __wasi_path_create_directory(3, "d"));
  return 0;
}
