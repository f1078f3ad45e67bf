// fd_readdir: "." and "..", d_type and d_ino, cookies (resuming from any d_next gives the
// rest), entries split over small buffers, an empty directory, and the error cases.
#include "wasi_test.h"

#include <stdlib.h>

static const __wasi_fd_t root = 3;

#define MAX 128
typedef struct {
  int n;
  char name[MAX][64];
  __wasi_filetype_t type[MAX];
  __wasi_dircookie_t next[MAX];
  __wasi_inode_t ino[MAX];
} list_t;

// Parses the complete entries of buf[0..used) into l (appending); returns how many.
static int parse(const uint8_t *buf, size_t used, list_t *l) {
  size_t off = 0;
  int got = 0;
  while (off + sizeof(__wasi_dirent_t) <= used && l->n < MAX) {
    __wasi_dirent_t d;
    memcpy(&d, buf + off, sizeof d);
    if (off + sizeof d + d.d_namlen > used) break;  // the name is cut off
    size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
    memcpy(l->name[l->n], buf + off + sizeof d, len);
    l->name[l->n][len] = 0;
    l->type[l->n] = d.d_type;
    l->next[l->n] = d.d_next;
    l->ino[l->n] = d.d_ino;
    l->n++;
    got++;
    off += sizeof d + d.d_namlen;
  }
  return got;
}

// Reads the whole directory from `cookie` with buffers of `bufsize`, resuming from the last
// complete entry each time. Returns the number of calls, or -errno.
static int walk(__wasi_fd_t fd, __wasi_dircookie_t cookie, size_t bufsize, list_t *l) {
  static uint8_t buf[8192];
  int calls = 0;
  l->n = 0;
  for (;;) {
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(fd, buf, bufsize, cookie, &used);
    calls++;
    if (e != 0) return -(int)e;
    int got = parse(buf, used, l);
    if (used < bufsize) return calls;  // the end of the directory
    if (got == 0 || calls > 10000) return -1000;  // no progress
    cookie = l->next[l->n - 1];
  }
}

static const list_t *sorting;
static int by_name(const void *a, const void *b) {
  return strcmp(sorting->name[*(const int *)a], sorting->name[*(const int *)b]);
}

// Prints the entries sorted by name: "  name: type".
static void print_sorted(const list_t *l) {
  int order[MAX];
  for (int i = 0; i < l->n; i++) order[i] = i;
  sorting = l;
  qsort(order, (size_t)l->n, sizeof order[0], by_name);
  for (int i = 0; i < l->n; i++) out("  %s: %s\n", l->name[order[i]], ft(l->type[order[i]]));
}

static int same_names(const list_t *a, int from, const list_t *b) {
  if (a->n - from != b->n) return 0;
  for (int i = 0; i < b->n; i++)
    if (strcmp(a->name[from + i], b->name[i]) != 0) return 0;
  return 1;
}

static int find(const list_t *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->name[i], name) == 0) return i;
  return -1;
}

static list_t full, part;

int main(void) {
  __wasi_fd_t d;
  check("open d", open_dir(root, "d", &d));
  int r = walk(d, 0, sizeof full.name, &full);
  out("readdir d: %s, %d entries in %d call(s)\n", r < 0 ? en((__wasi_errno_t)-r) : "ok",
      full.n, r);
  print_sorted(&full);

  __wasi_filestat_t st;
  int i = find(&full, ".");
  out(". has the directory's inode: %s\n",
      yn(i >= 0 && __wasi_fd_filestat_get(d, &st) == 0 && st.ino == full.ino[i]));
  i = find(&full, "file1");
  out("file1 has its inode: %s\n",
      yn(i >= 0 && __wasi_path_filestat_get(d, 0, "file1", &st) == 0 && st.ino == full.ino[i]));
  i = find(&full, "link");
  out("link has the link's own inode: %s\n",
      yn(i >= 0 && __wasi_path_filestat_get(d, 0, "link", &st) == 0 && st.ino == full.ino[i]));

  // Resuming from the d_next of entry k gives exactly the entries after k.
  int resume_ok = 1;
  for (int k = 0; k < full.n; k++) {
    if (walk(d, full.next[k], 4096, &part) < 0 || !same_names(&full, k + 1, &part))
      resume_ok = 0;
  }
  out("resuming from every d_next gives the rest: %s\n", yn(resume_ok));
  uint8_t buf[64];
  __wasi_size_t used = 99;
  __wasi_errno_t e = __wasi_fd_readdir(d, buf, sizeof buf, full.next[full.n - 1], &used);
  out("readdir from the last d_next: %s, %u bytes\n", en(e), (unsigned)used);
  r = walk(d, 0, 4096, &part);
  out("reading again from cookie 0 gives the same: %s\n", yn(r > 0 && same_names(&full, 0, &part)));

  // Small buffers: 30 bytes hold one entry (a 24-byte dirent and a name of up to 6 bytes).
  r = walk(d, 0, 30, &part);
  out("walk with a 30-byte buffer: %s, same entries: %s, more than 3 calls: %s\n",
      r < 0 ? en((__wasi_errno_t)-r) : "ok", yn(same_names(&full, 0, &part)), yn(r > 3));
  e = __wasi_fd_readdir(d, buf, 10, 0, &used);
  out("readdir into 10 bytes: %s, %u bytes used\n", en(e), (unsigned)used);
  e = __wasi_fd_readdir(d, buf, 0, 0, &used);
  out("readdir into 0 bytes: %s, %u bytes used\n", en(e), (unsigned)used);
  (void)__wasi_fd_close(d);

  __wasi_fd_t em;
  check("open empty", open_dir(root, "empty", &em));
  r = walk(em, 0, 4096, &part);
  out("readdir empty: %d entries\n", part.n);
  print_sorted(&part);
  (void)__wasi_fd_close(em);

  r = walk(root, 0, 4096, &part);
  out("readdir fd 3: %d entries\n", part.n);
  print_sorted(&part);

  // Many entries over many small reads.
  __wasi_fd_t many;
  check("mkdir many", __wasi_path_create_directory(root, "many"));
  check("open many", open_dir(root, "many", &many));
  for (int k = 0; k < 100; k++) {
    char name[16];
    __wasi_fd_t f;
    snprintf(name, sizeof name, "f%03d", k);
    if (open_rw(many, name, __WASI_OFLAGS_CREAT, &f) == 0) (void)__wasi_fd_close(f);
  }
  r = walk(many, 0, 100, &part);
  int all = 1;
  for (int k = 0; k < 100; k++) {
    char name[16];
    snprintf(name, sizeof name, "f%03d", k);
    all &= find(&part, name) >= 0;
  }
  out("walk of 100 files with a 100-byte buffer: %s, %d entries, each file there: %s\n",
      r < 0 ? en((__wasi_errno_t)-r) : "ok", part.n, yn(all));
  (void)__wasi_fd_close(many);

  __wasi_fd_t f;
  check("open d/file1", open_ro(root, "d/file1", &f));
  check("readdir of a file", __wasi_fd_readdir(f, buf, sizeof buf, 0, &used));
  (void)__wasi_fd_close(f);
  check("readdir of fd 99", __wasi_fd_readdir(99, buf, sizeof buf, 0, &used));
  return 0;
}
