// poll_oneoff: relative and absolute clocks (the sleep lasts at least the timeout), several
// clocks (the earliest fires alone), fd_read/fd_write readiness of a file, stdin and stdout,
// no subscriptions, and sched_yield.
#include "wasi_test.h"

static const __wasi_fd_t root = 3;
static const __wasi_timestamp_t MS = 1000000;

static __wasi_timestamp_t mono(void) {
  __wasi_timestamp_t t = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
  return t;
}

static __wasi_subscription_t clock_sub(__wasi_userdata_t ud, __wasi_clockid_t id,
                                       __wasi_timestamp_t timeout, __wasi_subclockflags_t flags) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock.id = id;
  s.u.u.clock.timeout = timeout;
  s.u.u.clock.precision = 0;
  s.u.u.clock.flags = flags;
  return s;
}

static __wasi_subscription_t fd_sub(__wasi_userdata_t ud, __wasi_eventtype_t type, __wasi_fd_t fd) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = type;
  if (type == __WASI_EVENTTYPE_FD_READ) s.u.u.fd_read.file_descriptor = fd;
  else s.u.u.fd_write.file_descriptor = fd;
  return s;
}

static const char *evtype(__wasi_eventtype_t t) {
  return t == 0 ? "clock" : t == 1 ? "fd_read" : t == 2 ? "fd_write" : "invalid";
}

// Polls, then prints the errno, the number of events and each event (without nbytes).
static __wasi_event_t ev[4];
static __wasi_size_t poll(const char *what, const __wasi_subscription_t *subs, size_t n,
                          __wasi_timestamp_t *elapsed) {
  __wasi_size_t got = 0;
  memset(ev, 0, sizeof ev);
  __wasi_timestamp_t t0 = mono();
  __wasi_errno_t e = __wasi_poll_oneoff(subs, ev, n, &got);
  *elapsed = mono() - t0;
  out("%s: %s, %u event(s)\n", what, en(e), (unsigned)got);
  for (__wasi_size_t i = 0; i < got && i < 4; i++)
    out("  userdata %llu, %s, error %s\n", (unsigned long long)ev[i].userdata,
        evtype(ev[i].type), en(ev[i].error));
  return got;
}

int main(void) {
  __wasi_timestamp_t el;
  __wasi_size_t got;
  __wasi_subscription_t s[3];

  got = 99;
  check("no subscriptions", __wasi_poll_oneoff(s, ev, 0, &got));

  s[0] = clock_sub(0x1234, __WASI_CLOCKID_MONOTONIC, 50 * MS, 0);
  poll("monotonic, relative 50 ms", s, 1, &el);
  out("  slept at least 50 ms: %s\n", yn(el >= 50 * MS));

  __wasi_timestamp_t deadline = mono() + 30 * MS;
  s[0] = clock_sub(7, __WASI_CLOCKID_MONOTONIC, deadline, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  poll("monotonic, absolute now+30 ms", s, 1, &el);
  out("  woke at or after the deadline: %s\n", yn(mono() >= deadline));

  s[0] = clock_sub(8, __WASI_CLOCKID_MONOTONIC, 0, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  poll("monotonic, absolute 0 (in the past)", s, 1, &el);
  out("  returned at once: %s\n", yn(el < 500 * MS));

  s[0] = clock_sub(9, __WASI_CLOCKID_MONOTONIC, 0, 0);
  poll("monotonic, relative 0", s, 1, &el);
  out("  returned at once: %s\n", yn(el < 500 * MS));

  s[0] = clock_sub(10, __WASI_CLOCKID_REALTIME, 20 * MS, 0);
  poll("realtime, relative 20 ms", s, 1, &el);
  out("  slept at least 20 ms: %s\n", yn(el >= 20 * MS));

  __wasi_timestamp_t now_rt = 0;
  (void)__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now_rt);
  s[0] = clock_sub(11, __WASI_CLOCKID_REALTIME, now_rt + 20 * MS,
                   __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  poll("realtime, absolute now+20 ms", s, 1, &el);
  out("  slept at least 15 ms: %s\n", yn(el >= 15 * MS));

  s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0);
  s[1] = clock_sub(2, __WASI_CLOCKID_MONOTONIC, 20 * MS, 0);
  poll("clocks of 5 s and 20 ms", s, 2, &el);
  out("  slept at least 20 ms and less than 4 s: %s\n", yn(el >= 20 * MS && el < 4000 * MS));

  // A regular file is always ready; nbytes is what is left to read from the offset.
  __wasi_fd_t f;
  check("open ten.txt", open_rw(root, "ten.txt", 0, &f));
  char buf[8];
  __wasi_size_t n;
  check("read 3", __wasi_fd_read(f, &(__wasi_iovec_t){(uint8_t *)buf, 3}, 1, &n));
  s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0);
  s[1] = fd_sub(2, __WASI_EVENTTYPE_FD_READ, f);
  got = poll("fd_read on ten.txt, with a 5 s clock", s, 2, &el);
  out("  nbytes %llu, at once: %s\n", (unsigned long long)ev[0].fd_readwrite.nbytes,
      yn(el < 4000 * MS));
  s[1] = fd_sub(3, __WASI_EVENTTYPE_FD_WRITE, f);
  poll("fd_write on ten.txt, with a 5 s clock", s, 2, &el);
  out("  at once: %s\n", yn(el < 4000 * MS));
  (void)__wasi_fd_close(f);

  s[1] = fd_sub(4, __WASI_EVENTTYPE_FD_WRITE, 1);
  poll("fd_write on stdout, with a 5 s clock", s, 2, &el);
  out("  at once: %s\n", yn(el < 4000 * MS));

  s[1] = fd_sub(5, __WASI_EVENTTYPE_FD_READ, 0);
  poll("fd_read on stdin (which has data), with a 5 s clock", s, 2, &el);
  out("  at once: %s\n", yn(el < 4000 * MS));
  char line[16] = {0};
  check("read stdin", __wasi_fd_read(0, &(__wasi_iovec_t){(uint8_t *)line, 15}, 1, &n));
  out_escaped("stdin", line, n);

  check("sched_yield", __wasi_sched_yield());
  return 0;
}
