// Checks shared by readonly.c and readonly_mount.c (not a program: it has no .json): a
// read-only preopen's rights hold nothing that writes, so every way of changing the tree
// through it is ENOTCAPABLE, while everything that reads still works.
//
// The tree under the read-only directory is: "x" = "y", "sub/" with "sub/s" = "s", and a
// symlink "l" -> "x".
#ifndef READONLY_CHECKS_H
#define READONLY_CHECKS_H

#include "wasi_test.h"

#define WRITE_RIGHTS                                                                         \
  (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES)

static void readonly_checks(__wasi_fd_t ro) {
  __wasi_fdstat_t st;
  check("fdstat", __wasi_fd_fdstat_get(ro, &st));
  out("filetype: %s\n", ft(st.fs_filetype));
  __wasi_rights_t reading = __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR |
                            __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_READLINK;
  out("base has path_open, fd_readdir, path_filestat_get, path_readlink: %s\n",
      yn((st.fs_rights_base & reading) == reading));
  out("base has no right that changes the tree: %s\n",
      yn((st.fs_rights_base & (RIGHTS_DIR_WRITE | WRITE_RIGHTS)) == 0));
  out("inheriting has fd_read: %s\n", yn(st.fs_rights_inheriting & __WASI_RIGHTS_FD_READ));
  out("inheriting has no right that writes: %s\n",
      yn((st.fs_rights_inheriting & (RIGHTS_DIR_WRITE | WRITE_RIGHTS)) == 0));

  // Reading works.
  out_file("x", ro, "x");
  out_file("l (-> x)", ro, "l");
  out_file("sub/s", ro, "sub/s");
  __wasi_filestat_t fs;
  __wasi_errno_t e = __wasi_path_filestat_get(ro, 0, "x", &fs);
  out("stat x: %s, size %llu\n", en(e), (unsigned long long)fs.size);
  char buf[256];
  __wasi_size_t n = 0;
  e = __wasi_path_readlink(ro, "l", (uint8_t *)buf, sizeof buf, &n);
  out("readlink l: %s, \"%.*s\"\n", en(e), e == 0 ? (int)n : 0, buf);
  e = __wasi_fd_readdir(ro, (uint8_t *)buf, sizeof buf, 0, &n);
  out("readdir: %s, some entries: %s\n", en(e), yn(e == 0 && n > 24));

  // Opening for anything that writes, or that changes the tree.
  __wasi_fd_t fd;
  check("open x with write rights", po(ro, 0, "x", 0, RIGHTS_FILE, 0, 0, &fd));
  check("open x with fd_write only", po(ro, 0, "x", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd));
  check("creat new", po(ro, 0, "new", __WASI_OFLAGS_CREAT, RIGHTS_FILE_RO, 0, 0, &fd));
  check("creat|excl new", po(ro, 0, "new", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
                             RIGHTS_FILE_RO, 0, 0, &fd));
  check("trunc x", po(ro, 0, "x", __WASI_OFLAGS_TRUNC, RIGHTS_FILE_RO, 0, 0, &fd));
  check("open sub with the rights of a writable directory",
        po(ro, 0, "sub", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, RIGHTS_FILE, 0, &fd));

  // Every path_* call that changes the tree.
  check("mkdir d", __wasi_path_create_directory(ro, "d"));
  check("rmdir sub", __wasi_path_remove_directory(ro, "sub"));
  check("unlink x", __wasi_path_unlink_file(ro, "x"));
  check("unlink l", __wasi_path_unlink_file(ro, "l"));
  check("rename x -> z", __wasi_path_rename(ro, "x", ro, "z"));
  check("symlink at l2", __wasi_path_symlink("x", ro, "l2"));
  check("link x -> h", __wasi_path_link(ro, 0, "x", ro, "h"));
  check("set times of x",
        __wasi_path_filestat_set_times(ro, 0, "x", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));

  // A file opened to read cannot be written, nor given the right back.
  check("open x to read", open_ro(ro, "x", &fd));
  __wasi_ciovec_t iov = {(const uint8_t *)"W", 1};
  check("fd_write", __wasi_fd_write(fd, &iov, 1, &n));
  check("fd_pwrite", __wasi_fd_pwrite(fd, &iov, 1, 0, &n));
  check("fd_filestat_set_size", __wasi_fd_filestat_set_size(fd, 0));
  check("fd_allocate", __wasi_fd_allocate(fd, 0, 10));
  check("fd_filestat_set_times",
        __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  check("add fd_write with fd_fdstat_set_rights",
        __wasi_fd_fdstat_set_rights(fd, RIGHTS_FILE_RO | __WASI_RIGHTS_FD_WRITE, 0));
  (void)__wasi_fd_close(fd);

  // A subdirectory opened through it is read-only too.
  __wasi_fd_t sub;
  check("open sub to read", po(ro, 0, "sub", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR_RO,
                               RIGHTS_FILE_RO, 0, &sub));
  out_file("s through sub", sub, "s");
  check("mkdir in sub", __wasi_path_create_directory(sub, "d"));
  check("creat in sub", po(sub, 0, "t", __WASI_OFLAGS_CREAT, RIGHTS_FILE_RO, 0, 0, &fd));
  check("unlink in sub", __wasi_path_unlink_file(sub, "s"));
  (void)__wasi_fd_close(sub);

  out_file("x at the end", ro, "x");
  out_file("sub/s at the end", ro, "sub/s");
}

#endif
