/*
 * nofp-chain: a known call chain for stack unwinding through code built WITHOUT frame pointers
 * (test/helpers/workloads.ts buildWorkloadWithoutFramePointers: -O2 -fomit-frame-pointer).
 *
 *   main → outer → middle → leaf_alloc → malloc   37 calls of 48 bytes, all freed by main
 *   main → outer → side   → leaf_alloc → malloc   11 calls of 4096 bytes, never freed
 *
 * leaf_alloc has two callers, so the two stacks differ only two frames above the allocator: a walk
 * that stops at the first frame (frame pointers through this code) cannot tell them apart; DWARF
 * unwinding can. Every function is noinline and does work after its call (stores the result in a
 * volatile sink, checks it), so that gcc neither inlines nor turns the calls into tail jumps.
 * No stdio: printf would allocate its buffer (1 KiB on a terminal, 4 KiB otherwise).
 *
 * Usage: nofp-chain [--wait]
 *   --wait   print "ready <pid>" and wait for SIGUSR1 before allocating (to attach a tracer)
 * Exits 0 after writing "allocated".
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define SMALL_CALLS 37
#define SMALL_SIZE 48
#define PAGE_CALLS 11
#define PAGE_SIZE_BYTES 4096

void *volatile sink;
static void *small_blocks[SMALL_CALLS];
static void *page_blocks[PAGE_CALLS];
static volatile sig_atomic_t go = 0;

static void on_usr1(int signal_number) {
  (void)signal_number;
  go = 1;
}

NOINLINE void *leaf_alloc(size_t size) {
  void *block = malloc(size);
  if (block == NULL) abort();
  sink = block;
  return block;
}

NOINLINE void *middle(size_t size) {
  void *block = leaf_alloc(size);
  sink = block;
  return block;
}

NOINLINE void *side(size_t size) {
  void *block = leaf_alloc(size);
  sink = block;
  return block;
}

NOINLINE void outer(void) {
  for (int i = 0; i < SMALL_CALLS; i++) small_blocks[i] = middle(SMALL_SIZE);
  for (int i = 0; i < PAGE_CALLS; i++) page_blocks[i] = side(PAGE_SIZE_BYTES);
  sink = page_blocks[0];
}

static void say(const char *text) { (void)!write(1, text, strlen(text)); }

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
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
  outer();
  for (int i = 0; i < SMALL_CALLS; i++) free(small_blocks[i]);
  say("allocated\n");
  return 0;
}
