/*
 * The guest of the Wasm end-to-end tests: one small program that does what a test asks with
 * its arguments (print its environment, exit with a code, trap, write or read a file, sleep,
 * leave a marker and sleep), so each test can check one behaviour of denki's Wasm containers
 * from the outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what, const char *path) {
  printf("%s %s: %s\n", what, path, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    puts("usage: probe env|args|exit N|trap|write PATH TEXT|mark PATH TEXT S|cat PATH|"
         "sleep S|stdin|alloc|openmany PATH|fill PATH N|spin");
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "env") == 0) {
    for (char **e = environ; *e; e++) puts(*e);
    return 0;
  }
  if (strcmp(cmd, "args") == 0) {
    for (int i = 0; i < argc; i++) printf("[%s]\n", argv[i]);
    return 0;
  }
  if (strcmp(cmd, "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(cmd, "trap") == 0) {
    fflush(stdout);
    __builtin_trap();
  }
  if (strcmp(cmd, "write") == 0 && argc > 3) {
    FILE *f = fopen(argv[2], "w");
    if (!f) return fail("write", argv[2]);
    fputs(argv[3], f);
    if (fclose(f) != 0) return fail("write", argv[2]);
    puts("written");
    return 0;
  }
  if (strcmp(cmd, "cat") == 0 && argc > 2) {
    FILE *f = fopen(argv[2], "r");
    if (!f) return fail("cat", argv[2]);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
  }
  if (strcmp(cmd, "mark") == 0 && argc > 4) {
    /* A marker written whole (a temp file, then a rename), then a sleep: a detached guest's
       proof that it ran, read back from the host while it still runs. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    FILE *f = fopen(tmp, "w");
    if (!f) return fail("mark", tmp);
    fprintf(f, "%s\n", argv[3]);
    if (fclose(f) != 0 || rename(tmp, argv[2]) != 0) return fail("mark", argv[2]);
    sleep(atoi(argv[4]));
    return 0;
  }
  if (strcmp(cmd, "sleep") == 0 && argc > 2) {
    puts("sleeping");
    fflush(stdout);
    sleep(atoi(argv[2]));
    puts("slept");
    return 0;
  }
  if (strcmp(cmd, "stdin") == 0) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (strcmp(cmd, "alloc") == 0) {
    // 1 MiB blocks until malloc fails (memory.grow refused); each is touched and kept, so
    // the compiler cannot drop the calls.
    static char *volatile blocks[4096];
    unsigned mib = 0;
    while (mib < 4096) {
      char *p = malloc(1 << 20);
      if (p == NULL) break;
      p[0] = 1;
      blocks[mib++] = p;
    }
    printf("allocated %u MiB, then %s\n", mib, mib < 4096 ? "malloc failed" : "stopped");
    return 0;
  }
  if (strcmp(cmd, "openmany") == 0 && argc > 2) {
    unsigned n = 0;
    int last = -1;
    for (;;) {
      int fd = open(argv[2], O_RDONLY);
      if (fd < 0) break;
      last = fd;
      n++;
    }
    printf("opened %u (last fd %d), then: %s\n", n, last, strerror(errno));
    return 0;
  }
  if (strcmp(cmd, "fill") == 0 && argc > 3) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail("fill", argv[2]);
    long want = atol(argv[3]), done = 0;
    char block[512];
    memset(block, 'x', sizeof block);
    while (done < want) {
      long chunk = want - done < (long)sizeof block ? want - done : (long)sizeof block;
      ssize_t n = write(fd, block, (size_t)chunk);
      if (n < 0) {
        printf("wrote %ld bytes, then: %s\n", done, strerror(errno));
        return 1;
      }
      done += n;
    }
    printf("wrote %ld bytes\n", done);
    return 0;
  }
  if (strcmp(cmd, "spin") == 0) {
    puts("spinning");
    fflush(stdout);
    for (volatile unsigned long i = 0;; i++) {
    }
  }
  printf("probe: unknown command %s\n", cmd);
  return 2;
}
