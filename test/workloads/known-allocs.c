/*
 * known-allocs: a workload whose allocations are known exactly, for memtrace's tests.
 *
 * Each named function allocates a prime number of blocks of one distinct size and frees a known
 * part of them. No stdio (its buffers would add allocations); output goes through write(2).
 *
 *   function        calls                          size      freed   kept
 *   make_small      41 x malloc                      24 B     41       0
 *   make_pages      29 x malloc                    4096 B     16      13
 *   make_arrays     17 x calloc(7, 100)             700 B     10       7
 *   grow_chain       1 x realloc(NULL, 64), then 4 x realloc to 128, 256, 512, 1024; the last is kept
 *   make_aligned    11 x posix_memalign(64, 2048)  2048 B      6       5
 *   make_aligned2    3 x aligned_alloc(256, 512)    512 B      3       0
 *   fail_twice       2 x malloc(SIZE_MAX / 2): NULL (failed)
 *   free_nothing     3 x free(NULL)
 *
 * Usage: known-allocs [--wait] [--linger SECONDS] [--rounds N]
 *   --wait       print "ready <pid>" and wait for SIGUSR1 before allocating (to attach a tracer)
 *   --linger S   sleep S seconds after allocating, before exiting
 *   --rounds N   repeat the whole set N times (default 1)
 * Exit code: 7, so that tests can check memtrace passes the target's exit code on.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *kept[64];
static int kept_count;

static void keep(void *p) { kept[kept_count++ % 64] = p; }

static void say(const char *text) { (void)!write(1, text, strlen(text)); }

NOINLINE void make_small(void) {
  void *blocks[41];
  for (int i = 0; i < 41; i++) blocks[i] = malloc(24);
  for (int i = 0; i < 41; i++) free(blocks[i]);
}

NOINLINE void make_pages(void) {
  void *blocks[29];
  for (int i = 0; i < 29; i++) blocks[i] = malloc(4096);
  for (int i = 0; i < 16; i++) free(blocks[i]);
  for (int i = 16; i < 29; i++) keep(blocks[i]);
}

NOINLINE void make_arrays(void) {
  void *blocks[17];
  for (int i = 0; i < 17; i++) blocks[i] = calloc(7, 100);
  for (int i = 0; i < 10; i++) free(blocks[i]);
  for (int i = 10; i < 17; i++) keep(blocks[i]);
}

NOINLINE void grow_chain(void) {
  void *p = realloc(NULL, 64);
  for (size_t size = 128; size <= 1024; size *= 2) p = realloc(p, size);
  keep(p);
}

NOINLINE void make_aligned(void) {
  void *blocks[11];
  for (int i = 0; i < 11; i++) {
    if (posix_memalign(&blocks[i], 64, 2048) != 0) blocks[i] = NULL;
  }
  for (int i = 0; i < 6; i++) free(blocks[i]);
  for (int i = 6; i < 11; i++) keep(blocks[i]);
}

NOINLINE void make_aligned2(void) {
  void *blocks[3];
  for (int i = 0; i < 3; i++) blocks[i] = aligned_alloc(256, 512);
  for (int i = 0; i < 3; i++) free(blocks[i]);
}

NOINLINE void fail_twice(void) {
  volatile size_t huge = SIZE_MAX / 2;
  for (int i = 0; i < 2; i++) keep(malloc(huge));
}

NOINLINE void free_nothing(void) {
  volatile void *nothing = NULL;
  for (int i = 0; i < 3; i++) free((void *)nothing);
}

static volatile sig_atomic_t go;
static void on_usr1(int signal_number) { (void)signal_number; go = 1; }

int main(int argc, char **argv) {
  int wait_for_signal = 0, linger = 0, rounds = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0) wait_for_signal = 1;
    else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = atoi(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
  }
  if (wait_for_signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    char line[64];
    int length = 0;
    const char *prefix = "ready ";
    memcpy(line, prefix, 6);
    length = 6;
    char digits[16];
    int n = 0;
    for (pid_t pid = getpid(); pid > 0; pid /= 10) digits[n++] = (char)('0' + pid % 10);
    while (n > 0) line[length++] = digits[--n];
    line[length++] = '\n';
    (void)!write(1, line, (size_t)length);
    while (!go) pause();
  }
  for (int round = 0; round < rounds; round++) {
    make_small();
    make_pages();
    make_arrays();
    grow_chain();
    make_aligned();
    make_aligned2();
    fail_twice();
    free_nothing();
  }
  say("allocated\n");
  if (linger > 0) sleep((unsigned)linger);
  return 7;
}
