/*
 * The guest of the Wasm end-to-end tests: one small program that does what a test asks with
 * its arguments (print its environment, exit with a code, trap, write or read a file, sleep),
 * so each test can check one behaviour of denki's Wasm containers from the outside.
 */
#include <errno.h>
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
    puts("usage: probe env|args|exit N|trap|write PATH TEXT|cat PATH|sleep S|stdin");
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
  printf("probe: unknown command %s\n", cmd);
  return 2;
}
