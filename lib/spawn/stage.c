/*
 * denki's native stage: a tiny static program with no libc that runs a "syscall script" made by
 * denki's TypeScript side (lib/spawn/script.ts). Deno starts threads before any JavaScript runs,
 * and the kernel refuses several namespace operations to a threaded process, so whatever must
 * happen in a single-threaded process (joining a mount or user namespace, forking into a pid
 * namespace with nothing of the host in sight, the last steps before a workload's execve) is
 * written down by TypeScript as a list of system calls and carried out here.
 *
 * Built into lib/spawn/stage_blob.ts by lib/spawn/build_stage.ts (x86_64 and aarch64).
 *
 * Usage: stage FD. FD holds the script; see script.ts for the format. Anything else on the
 * command line (say, the stage re-run through a container's "#!/proc/self/exe") exits 127.
 */

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef short i16;
typedef unsigned char u8;

#if defined(__x86_64__)
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_prctl 157
#define NR_exit_group 231
#elif defined(__aarch64__)
#define NR_read 63
#define NR_write 64
#define NR_close 57
#define NR_mmap 222
#define NR_rt_sigaction 134
#define NR_rt_sigprocmask 135
#define NR_prctl 167
#define NR_exit_group 94
#else
#error "unsupported architecture"
#endif

static i64 sys6(i64 nr, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f) {
#if defined(__x86_64__)
  register i64 rax __asm__("rax") = nr;
  register i64 rdi __asm__("rdi") = a;
  register i64 rsi __asm__("rsi") = b;
  register i64 rdx __asm__("rdx") = c;
  register i64 r10 __asm__("r10") = d;
  register i64 r8 __asm__("r8") = e;
  register i64 r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "+r"(rax)
                   : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return rax;
#else
  register i64 x8 __asm__("x8") = nr;
  register i64 x0 __asm__("x0") = a;
  register i64 x1 __asm__("x1") = b;
  register i64 x2 __asm__("x2") = c;
  register i64 x3 __asm__("x3") = d;
  register i64 x4 __asm__("x4") = e;
  register i64 x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
#endif
}

/* The script format; script.ts writes exactly these layouts (little-endian). */
#define MAGIC 0x31304754534b4e44ULL /* "DNKSTG01" */
#define MAX_SLOTS 64
#define MAX_SIZE (64u << 20)

struct header {
  u64 magic;
  u32 size;      /* whole script, header included */
  u32 code_off;  /* instructions */
  u32 n_ins;
  u32 data_off;  /* data the instructions point into */
  u32 data_len;
  u32 reloc_off; /* u32 offsets into data of u64 values to rebase to addresses */
  u32 n_relocs;
  i32 report_fd;  /* where failures are reported */
  i32 report_fd2; /* a second copy of a text report (-1: none) */
  i32 fail_code;  /* exit status after a failure */
  u32 text;       /* 0: JSON lines for denki; 1: one line of text for people */
  u32 msgs_off;   /* text: u32 per instruction, the data offset of its message (0: none) */
  u32 names_off;  /* text: u32 per errno below N_NAMES, the data offset of its name (0: none) */
  u32 reserved;
};

#define N_NAMES 134

enum { ARG_IMM = 0, ARG_SLOT = 1, ARG_DATA = 2 };

struct arg {
  u32 kind;
  u32 reserved;
  i64 value;
};

enum {
  OP_SYSCALL = 1,
  OP_POKE32 = 2,
  OP_POKE64 = 3,
  OP_EXIT = 4,
  OP_JUMP = 5,
  OP_REPORT = 6,
  OP_LOAD32 = 7,
  OP_FORMAT = 8,  /* data[args[2]] = string args[1] + decimal args[0], NUL-ended, at most args[3] */
  OP_SET = 9,     /* slots[dst] = args[0] */
  OP_REPORTS = 10, /* reports become text (args[0]) on fds args[1], args[2] (-1: none); a
                      failure then exits args[3] */
  OP_FAIL = 11,   /* this step fails with errno args[0] */
  OP_LOAD64 = 12,
  OP_SPECIAL = 13, /* a step only denki's TypeScript interpreter of scripts carries out */
};

enum {
  F_IGNORE = 1,   /* any error is fine: carry on */
  F_EXPECT = 2,   /* the result must equal `expect` */
  F_EXIT_EOF = 4, /* a result of 0 (end of file) exits quietly with status `expect` */
  F_BRANCH = 8,   /* a non-zero result jumps to `target` (the parent side of a fork) */
  F_ON_ERROR = 16, /* a failure that is not tolerated jumps to `target` instead of failing */
  F_ON_OK = 32,    /* success jumps to `target` */
};

struct ins {
  u16 op;
  u16 flags;
  i16 dst;  /* slot that receives the result, or -1 */
  u16 reserved;
  u32 nr;
  u32 target;
  u32 ok1;  /* errnos that are not failures (0: none) */
  u32 ok2;
  i64 expect;
  struct arg args[6];
};

static i64 slots[MAX_SLOTS];

static void die(i32 code) {
  for (;;) sys6(NR_exit_group, code, 0, 0, 0, 0, 0);
}

static int read_full(i32 fd, u8 *buf, u32 len) {
  u32 got = 0;
  while (got < len) {
    i64 r = sys6(NR_read, fd, (i64)(buf + got), len - got, 0, 0, 0);
    if (r == -4) continue; /* EINTR */
    if (r <= 0) return -1;
    got += (u32)r;
  }
  return 0;
}

static i64 parse_fd(const char *s) {
  i64 v = 0;
  if (s == 0 || *s == 0) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static i64 arg_value(const struct arg *a, u8 *data) {
  switch (a->kind) {
  case ARG_SLOT:
    return (a->value >= 0 && a->value < MAX_SLOTS) ? slots[a->value] : 0;
  case ARG_DATA:
    return (i64)(data + a->value);
  default:
    return a->value;
  }
}

/* A line being put together for a report (reports are short). */
struct line {
  char buf[1024];
  u32 len;
};

static void put(struct line *l, const char *s) {
  while (*s && l->len < sizeof l->buf - 1) l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, i64 v) {
  char tmp[24];
  int n = 0;
  u64 u = v < 0 ? (u64)-v : (u64)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[n++] = '-';
  while (n > 0 && l->len < sizeof l->buf - 1) l->buf[l->len++] = tmp[--n];
}

static void send_line(i32 fd, struct line *l) {
  u32 off = 0;
  while (off < l->len) {
    i64 r = sys6(NR_write, fd, (i64)(l->buf + off), l->len - off, 0, 0, 0);
    if (r == -4) continue;
    if (r <= 0) return;
    off += (u32)r;
  }
}

static const u8 *g_base;

/* Where failures go; a script may change it as it goes (OP_REPORTS). */
static u32 g_text;
static i32 g_fd, g_fd2, g_fail;

static u32 u32_at(const u8 *p) {
  return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

/* Reports that step `index` failed with `err` (0: an unexpected result), then exits. */
static void fail(const struct header *h, u32 index, i32 err) {
  struct line l;
  l.len = 0;
  if (g_text) {
    const u8 *data = g_base + h->data_off;
    u32 msg = h->msgs_off ? u32_at(g_base + h->msgs_off + 4 * index) : 0;
    put(&l, msg ? (const char *)(data + msg) : "denki: stage step failed");
    put(&l, ": ");
    u32 name = (h->names_off && err > 0 && err < N_NAMES) ? u32_at(g_base + h->names_off + 4 * err) : 0;
    if (name) {
      put(&l, (const char *)(data + name));
    } else {
      put(&l, err ? "errno " : "unexpected result");
      if (err) put_num(&l, err);
    }
    put(&l, "\n");
    send_line(g_fd, &l);
    if (g_fd2 >= 0) send_line(g_fd2, &l);
  } else {
    put(&l, "{\"type\":\"stage-fail\",\"step\":");
    put_num(&l, index);
    put(&l, ",\"errno\":");
    put_num(&l, err);
    put(&l, "}\n");
    send_line(g_fd, &l);
  }
  die(g_fail);
}

/* Signal dispositions and the mask as a fresh process has them (Deno ignores SIGPIPE, and an
 * ignored signal stays ignored across execve). */
static void reset_signals(void) {
  u64 act[4] = {0, 0, 0, 0}; /* SIG_DFL, no flags, no restorer, empty mask */
  u64 none = 0;
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == 9 || sig == 19) continue;
    sys6(NR_rt_sigaction, sig, (i64)act, 0, 8, 0, 0);
  }
  sys6(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (i64)&none, 0, 8, 0, 0);
}

static void run(const struct header *h, u8 *base) {
  u8 *data = base + h->data_off;
  const struct ins *code = (const struct ins *)(base + h->code_off);
  for (u32 ip = 0; ip < h->n_ins;) {
    const struct ins *in = &code[ip];
    switch (in->op) {
    case OP_SYSCALL: {
      i64 a[6];
      for (int i = 0; i < 6; i++) a[i] = arg_value(&in->args[i], data);
      i64 r;
      do {
        r = sys6(in->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
      } while (r == -4); /* EINTR: the call did not happen */
      if (in->dst >= 0 && in->dst < MAX_SLOTS) slots[in->dst] = r;
      if (r < 0 && r > -4096) {
        i32 err = (i32)-r;
        if (!(in->flags & F_IGNORE) && (u32)err != in->ok1 && (u32)err != in->ok2) {
          if (in->flags & F_ON_ERROR) {
            ip = in->target;
            continue;
          }
          fail(h, ip, err);
        }
      } else {
        if ((in->flags & F_EXPECT) && r != in->expect) fail(h, ip, 0);
        if ((in->flags & F_EXIT_EOF) && r == 0) die((i32)in->expect);
        if (in->flags & F_ON_OK) {
          ip = in->target;
          continue;
        }
      }
      if ((in->flags & F_BRANCH) && r != 0) {
        ip = in->target;
        continue;
      }
      break;
    }
    case OP_POKE32:
    case OP_POKE64: {
      i64 v = arg_value(&in->args[0], data);
      u64 off = (u64)in->args[1].value;
      u64 width = in->op == OP_POKE32 ? 4 : 8;
      if (off + width > h->data_len) fail(h, ip, 22);
      u8 *p = data + off;
      for (u64 i = 0; i < width; i++) p[i] = (u8)((u64)v >> (8 * i));
      break;
    }
    case OP_LOAD32:
    case OP_LOAD64: {
      /* A value the kernel wrote into the data (pipe2's fds, statx's fields) into a slot. */
      u64 off = (u64)in->args[0].value;
      u64 width = in->op == OP_LOAD32 ? 4 : 8;
      if (off + width > h->data_len || in->dst < 0 || in->dst >= MAX_SLOTS) fail(h, ip, 22);
      u64 v = 0;
      for (u64 i = 0; i < width; i++) v |= (u64)data[off + i] << (8 * i);
      slots[in->dst] = width == 4 ? (i64)(i32)v : (i64)v;
      break;
    }
    case OP_FORMAT: {
      struct line l;
      l.len = 0;
      put(&l, (const char *)arg_value(&in->args[1], data));
      put_num(&l, arg_value(&in->args[0], data));
      u64 off = (u64)in->args[2].value;
      u64 cap = (u64)in->args[3].value;
      if (off + cap > h->data_len || l.len + 1 > cap) fail(h, ip, 36 /* ENAMETOOLONG */);
      for (u32 i = 0; i < l.len; i++) data[off + i] = (u8)l.buf[i];
      data[off + l.len] = 0;
      break;
    }
    case OP_SET:
      if (in->dst >= 0 && in->dst < MAX_SLOTS) slots[in->dst] = arg_value(&in->args[0], data);
      break;
    case OP_REPORTS:
      g_text = (u32)arg_value(&in->args[0], data);
      g_fd = (i32)arg_value(&in->args[1], data);
      g_fd2 = (i32)arg_value(&in->args[2], data);
      g_fail = (i32)arg_value(&in->args[3], data);
      break;
    case OP_FAIL:
      fail(h, ip, (i32)arg_value(&in->args[0], data));
      break;
    case OP_SPECIAL:
      fail(h, ip, 38 /* ENOSYS: a script denki should have run in its own interpreter */);
      break;
    case OP_EXIT:
      die((i32)in->args[0].value);
      break;
    case OP_JUMP:
      ip = in->target;
      continue;
    case OP_REPORT: {
      /* {"type":NAME,"value":V} on fd: how a stage tells denki a number (a forked pid). */
      struct line l;
      l.len = 0;
      put(&l, "{\"type\":\"");
      put(&l, (const char *)arg_value(&in->args[1], data));
      put(&l, "\",\"value\":");
      put_num(&l, arg_value(&in->args[2], data));
      put(&l, "}\n");
      send_line((i32)arg_value(&in->args[0], data), &l);
      break;
    }
    default:
      fail(h, ip, 22);
    }
    ip++;
  }
  die(0);
}

static int valid(const struct header *h) {
  if (h->magic != MAGIC || h->size < sizeof *h || h->size > MAX_SIZE) return 0;
  u64 code_end = (u64)h->code_off + (u64)h->n_ins * sizeof(struct ins);
  u64 data_end = (u64)h->data_off + h->data_len;
  u64 reloc_end = (u64)h->reloc_off + (u64)h->n_relocs * 4;
  u64 msgs_end = (u64)h->msgs_off + (u64)h->n_ins * 4;
  u64 names_end = (u64)h->names_off + (u64)N_NAMES * 4;
  if (code_end > h->size || data_end > h->size || reloc_end > h->size) return 0;
  if (h->msgs_off && msgs_end > h->size) return 0;
  if (h->names_off && names_end > h->size) return 0;
  if ((h->code_off | h->data_off) & 7) return 0;
  return 1;
}

__attribute__((used)) void stage_main(i64 *sp) {
  i64 argc = sp[0];
  char **argv = (char **)(sp + 1);
  sys6(NR_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0, 0);
  reset_signals();
  i64 fd = argc == 2 ? parse_fd(argv[1]) : -1;
  if (fd < 0) die(127);
  struct header h;
  if (read_full((i32)fd, (u8 *)&h, sizeof h) < 0 || !valid(&h)) die(127);
  /* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS */
  i64 m = sys6(NR_mmap, 0, h.size, 3, 0x22, -1, 0);
  if (m < 0 && m > -4096) die(127);
  u8 *base = (u8 *)m;
  u8 *hp = (u8 *)&h;
  for (u32 i = 0; i < sizeof h; i++) base[i] = hp[i];
  if (read_full((i32)fd, base + sizeof h, h.size - (u32)sizeof h) < 0) die(127);
  sys6(NR_close, fd, 0, 0, 0, 0, 0);
  u8 *data = base + h.data_off;
  const u8 *relocs = base + h.reloc_off;
  for (u32 i = 0; i < h.n_relocs; i++) {
    u32 off = (u32)relocs[4 * i] | (u32)relocs[4 * i + 1] << 8 | (u32)relocs[4 * i + 2] << 16 |
              (u32)relocs[4 * i + 3] << 24;
    if ((u64)off + 8 > h.data_len) die(127);
    u64 v = 0;
    for (int b = 0; b < 8; b++) v |= (u64)data[off + b] << (8 * b);
    v += (u64)data;
    for (int b = 0; b < 8; b++) data[off + b] = (u8)(v >> (8 * b));
  }
  for (int i = 0; i < MAX_SLOTS; i++) slots[i] = -1;
  g_base = base;
  g_text = h.text;
  g_fd = h.report_fd;
  g_fd2 = h.report_fd2;
  g_fail = h.fail_code;
  run(&h, base);
}

#if defined(__x86_64__)
__asm__(".globl _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call stage_main\n"
        "  ud2\n");
#else
__asm__(".globl _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl stage_main\n"
        "  brk #0\n");
#endif
