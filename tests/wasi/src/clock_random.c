// clock_res_get, clock_time_get and random_get.
#include "wasi_test.h"

static const char *const clock_names[] = {"realtime", "monotonic", "process_cputime",
                                          "thread_cputime"};

static __wasi_timestamp_t now(__wasi_clockid_t id) {
  __wasi_timestamp_t t = 0;
  if (__wasi_clock_time_get(id, 1, &t) != 0) return 0;
  return t;
}

// Burns CPU until the monotonic clock has moved by `ns`; returns a value so it is not elided.
static volatile uint32_t sink;
static void spin(__wasi_timestamp_t ns) {
  __wasi_timestamp_t end = now(__WASI_CLOCKID_MONOTONIC) + ns;
  uint32_t x = 1;
  while (now(__WASI_CLOCKID_MONOTONIC) < end) {
    for (int i = 0; i < 10000; i++) x = x * 1664525u + 1013904223u;
  }
  sink = x;
}

static int differ(const uint8_t *a, const uint8_t *b, size_t n) { return memcmp(a, b, n) != 0; }

static size_t zeros(const uint8_t *p, size_t n) {
  size_t z = 0;
  for (size_t i = 0; i < n; i++) z += p[i] == 0;
  return z;
}

static uint8_t big[200000];

int main(void) {
  char what[64];
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    __wasi_timestamp_t res = 0, t = 0;
    snprintf(what, sizeof what, "res %s", clock_names[id]);
    check(what, __wasi_clock_res_get(id, &res));
    out("res %s in (0, 1ms]: %s\n", clock_names[id], yn(res > 0 && res <= 1000000));
    snprintf(what, sizeof what, "time %s", clock_names[id]);
    check(what, __wasi_clock_time_get(id, 0, &t));
  }

  // Realtime is nanoseconds since 1970: somewhere between 2020 and 2100.
  __wasi_timestamp_t rt = now(__WASI_CLOCKID_REALTIME);
  out("realtime is a date after 2020 and before 2100: %s\n",
      yn(rt > 1577836800ull * 1000000000ull && rt < 4102444800ull * 1000000000ull));

  // Monotonic never goes back, and moves forward.
  __wasi_timestamp_t prev = now(__WASI_CLOCKID_MONOTONIC), first = prev;
  int backwards = 0;
  for (int i = 0; i < 100000; i++) {
    __wasi_timestamp_t t = now(__WASI_CLOCKID_MONOTONIC);
    if (t < prev) backwards = 1;
    prev = t;
  }
  spin(2000000);
  out("monotonic non-decreasing: %s\n", yn(!backwards));
  out("monotonic advances: %s\n", yn(now(__WASI_CLOCKID_MONOTONIC) > first));

  // The CPU-time clocks move while the program computes (20 ms of busy work).
  __wasi_timestamp_t p0 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
  __wasi_timestamp_t t0 = now(__WASI_CLOCKID_THREAD_CPUTIME_ID);
  spin(20000000);
  __wasi_timestamp_t p1 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
  __wasi_timestamp_t t1 = now(__WASI_CLOCKID_THREAD_CPUTIME_ID);
  out("process cputime advances: %s\n", yn(p1 > p0));
  out("thread cputime advances: %s\n", yn(t1 > t0));

  // A huge precision is only a hint.
  __wasi_timestamp_t t = 0;
  check("time monotonic with precision 2^64-1", __wasi_clock_time_get(1, UINT64_MAX, &t));

  // Unknown clocks.
  check("res clock 4", __wasi_clock_res_get(4, &t));
  check("time clock 4", __wasi_clock_time_get(4, 1, &t));
  check("res clock 0xffffffff", __wasi_clock_res_get(0xffffffffu, &t));
  check("time clock 0xffffffff", __wasi_clock_time_get(0xffffffffu, 1, &t));

  // random_get fills the buffer; two draws differ.
  uint8_t a[64], b[64], zero[64] = {0};
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  check("random 64", __wasi_random_get(a, sizeof a));
  check("random 64 again", __wasi_random_get(b, sizeof b));
  out("random not all zero: %s\n", yn(differ(a, zero, sizeof a)));
  out("two draws differ: %s\n", yn(differ(a, b, sizeof a)));

  // Zero bytes: success, and nothing is written.
  uint8_t c[4] = {1, 2, 3, 4};
  check("random 0 bytes", __wasi_random_get(c, 0));
  out("random 0 bytes leaves the buffer: %s\n", yn(c[0] == 1 && c[1] == 2 && c[2] == 3 && c[3] == 4));

  // A draw larger than 65536 bytes (the Web Crypto per-call limit) is filled to the end,
  // and the byte after it is left alone.
  memset(big, 0, sizeof big);
  big[150000] = 0x5A;
  check("random 150000 bytes", __wasi_random_get(big, 150000));
  out("first 64 KiB filled: %s\n", yn(zeros(big, 65536) < 1024));
  out("last 64 KiB filled: %s\n", yn(zeros(big + 150000 - 65536, 65536) < 1024));
  out("byte after the buffer untouched: %s\n", yn(big[150000] == 0x5A));
  return 0;
}
