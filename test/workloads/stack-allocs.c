/*
 * stack-allocs: a workload with exactly known call counts per stack, for the tests of memtrace's
 * reader of hand-written bpftrace map dumps (@[ustack] = count(), @[comm, kstack, ustack] …).
 *
 *   function        what                                  count
 *   make_alpha      23 x malloc(48)   through alloc_block    23
 *   make_beta       11 x malloc(200)  through alloc_block    11
 *   touch_pages     writes one byte in each of 37 fresh anonymous pages (mmap): 37 user page faults
 *
 * alloc_block sits between the named functions and malloc because, at a uprobe on malloc's first
 * instruction, a frame-pointer ustack misses malloc's immediate caller (its frame is not set up
 * yet): the missing frame is alloc_block, and make_alpha / make_beta appear in the stacks.
 *
 * Usage: stack-allocs [--wait] [--linger SECONDS] [--spread N]
 *   --wait       print "ready <pid>" and wait for SIGUSR1 before allocating (to attach a tracer)
 *   --linger S   sleep S seconds after allocating, before exiting (so bpftrace can name frames)
 *   --spread N   also make N x 7 mallocs from 7 x N distinct stacks (recursion depths 1..N in
 *                seven functions): the many-stacks run the parse-throughput bench scales up
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *kept[256];
static int kept_count;

NOINLINE void *alloc_block(size_t size) {
  void *p = malloc(size);
  kept[kept_count++ % 256] = p;
  return p;
}

NOINLINE void make_alpha(void) {
  for (int i = 0; i < 23; i++) alloc_block(48);
}

NOINLINE void make_beta(void) {
  for (int i = 0; i < 11; i++) alloc_block(200);
}

NOINLINE void touch_pages(void) {
  const long page = sysconf(_SC_PAGESIZE);
  volatile char *region = mmap(NULL, (size_t)(37 * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return;
  for (int i = 0; i < 37; i++) region[i * page] = 1;
}

/* Seven recursive functions: depth d in function f gives a distinct stack per (f, d). */
#define SPREAD(name)                                   \
  NOINLINE void name(int depth) {                      \
    if (depth > 0) name(depth - 1);                    \
    else free(alloc_block(16));                        \
  }
SPREAD(spread_red)
SPREAD(spread_orange)
SPREAD(spread_yellow)
SPREAD(spread_green)
SPREAD(spread_blue)
SPREAD(spread_indigo)
SPREAD(spread_violet)

static volatile sig_atomic_t go;
static void on_usr1(int signal_number) { (void)signal_number; go = 1; }

static void say(const char *text) { (void)!write(1, text, strlen(text)); }

int main(int argc, char **argv) {
  int wait_for_signal = 0, linger = 0, spread = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0) wait_for_signal = 1;
    else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = atoi(argv[++i]);
    else if (strcmp(argv[i], "--spread") == 0 && i + 1 < argc) spread = atoi(argv[++i]);
  }
  if (wait_for_signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    char line[32] = "ready ";
    int length = 6;
    char digits[16];
    int n = 0;
    for (pid_t pid = getpid(); pid > 0; pid /= 10) digits[n++] = (char)('0' + pid % 10);
    while (n > 0) line[length++] = digits[--n];
    line[length++] = '\n';
    (void)!write(1, line, (size_t)length);
    while (!go) pause();
  }
  make_alpha();
  make_beta();
  touch_pages();
  for (int depth = 0; depth < spread; depth++) {
    spread_red(depth);
    spread_orange(depth);
    spread_yellow(depth);
    spread_green(depth);
    spread_blue(depth);
    spread_indigo(depth);
    spread_violet(depth);
  }
  say("allocated\n");
  if (linger > 0) sleep((unsigned)linger);
  return 0;
}
