/*
 * A heap of a chosen size for bench/explain-cost: MIB mebibytes of 4,000-byte blocks, every other
 * one freed (so the walk meets as many free chunks as chunks in use), all written. Then, with
 * --busy, one thread keeps doing malloc+free pairs of 64 bytes and prints how many it did in each
 * 100 ms (`rate N`), so that a bench sees whether a walk of the heap slows the program; without it,
 * the program sleeps. Prints "ready PID" first.
 *
 * Usage: explain-scale MIB [--busy]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  size_t blocks = (size_t)atol(argv[1]) * 1024 * 1024 / 4000;
  void **kept = malloc(blocks * sizeof *kept);
  for (size_t i = 0; i < blocks; i++) {
    kept[i] = malloc(4000);
    memset(kept[i], 1, 4000);
    if (i % 2 == 1) free(kept[i - 1]);
  }
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  if (argc < 3 || strcmp(argv[2], "--busy") != 0)
    for (;;) pause();
  for (;;) {
    double until = now() + 0.1;
    long pairs = 0;
    while (now() < until) {
      for (int i = 0; i < 1000; i++) {
        volatile char *p = malloc(64);
        p[0] = 1;
        free((void *)p);
      }
      pairs += 1000;
    }
    printf("rate %ld\n", pairs);
    fflush(stdout);
  }
}
