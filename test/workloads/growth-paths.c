/*
 * Four call paths whose outstanding bytes behave in known ways over time, for `memtrace malloc
 * --timeline` (test/cli/cli-malloc-timeline.test.ts). The clock starts at SIGUSR1 (sent once memtrace
 * traces the process) and ticks every 100 ms on absolute deadlines, so rates do not drift:
 *   leak_steady   6,400 B a tick (64,000 B/s), never freed
 *   churn_tick    64 KiB a tick, freed the same tick
 *   pool_fill     1 MiB in 4 KiB blocks over the first 2 s, then held
 *   burst_hold    4 MiB in 64 KiB blocks at 3 s, freed at 6 s
 * Before the signal, made_before_attach allocates 1 MiB in 4 KiB blocks (made before any trace),
 * and the first 5 s free half of them: frees of blocks a trace never saw allocated.
 *
 * Usage: growth-paths [--seconds N]   prints "ready <pid>", waits for SIGUSR1, runs N s (10), exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICKS_PER_SECOND 10
#define POOL_BLOCKS 256
#define BURST_BLOCKS 64
#define EARLY_BLOCKS 256

static void *pool[POOL_BLOCKS];
static void *burst[BURST_BLOCKS];
static void *early[EARLY_BLOCKS];
/* Leaked blocks stay reachable, so that nothing but the program's own choice keeps them. */
static void **leaked;
static size_t leaked_count, leaked_capacity;

__attribute__((noinline)) static void made_before_attach(void) {
  for (int i = 0; i < EARLY_BLOCKS; i++) early[i] = malloc(4096);
}

__attribute__((noinline)) static void leak_steady(void) {
  if (leaked_count == leaked_capacity) {
    leaked_capacity = leaked_capacity == 0 ? 1024 : leaked_capacity * 2;
    /* The list's own growth comes from this path's realloc: a handful of calls, counted apart. */
    leaked = realloc(leaked, leaked_capacity * sizeof *leaked);
  }
  leaked[leaked_count++] = malloc(6400);
}

__attribute__((noinline)) static void churn_tick(void) {
  volatile char *block = malloc(65536);
  block[0] = 1;
  free((void *)block);
}

__attribute__((noinline)) static void pool_fill(int tick) {
  /* 20 ticks (2 s): 12 or 13 blocks a tick, 256 in all. */
  int from = tick * POOL_BLOCKS / 20, to = (tick + 1) * POOL_BLOCKS / 20;
  for (int i = from; i < to && i < POOL_BLOCKS; i++) pool[i] = malloc(4096);
}

__attribute__((noinline)) static void burst_hold(void) {
  for (int i = 0; i < BURST_BLOCKS; i++) burst[i] = malloc(65536);
}

__attribute__((noinline)) static void burst_release(void) {
  for (int i = 0; i < BURST_BLOCKS; i++) free(burst[i]);
}

__attribute__((noinline)) static void free_early(int tick) {
  /* Half of the early blocks over the first 50 ticks. */
  int from = tick * (EARLY_BLOCKS / 2) / 50, to = (tick + 1) * (EARLY_BLOCKS / 2) / 50;
  for (int i = from; i < to; i++) free(early[i]);
}

static volatile sig_atomic_t go;
static void on_usr1(int signal_number) {
  (void)signal_number;
  go = 1;
}

int main(int argc, char **argv) {
  int seconds = 10;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atoi(argv[++i]);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);
  made_before_attach();
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  while (!go) pause();

  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  for (int tick = 0; tick < seconds * TICKS_PER_SECOND; tick++) {
    leak_steady();
    churn_tick();
    if (tick < 20) pool_fill(tick);
    if (tick == 30) burst_hold();
    if (tick == 60) burst_release();
    if (tick < 50) free_early(tick);
    deadline.tv_nsec += 1000000000L / TICKS_PER_SECOND;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
  }
  printf("done %zu\n", leaked_count);
  fflush(stdout);
  return 0;
}
