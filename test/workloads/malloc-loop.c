/*
 * malloc-loop: a malloc-heavy loop for overhead measurements (bench/malloc-overhead).
 * Usage: malloc-loop [ITERATIONS [DELAY]] — each iteration mallocs 64 bytes and frees them; DELAY
 * seconds of sleep first give a tracer that cannot hold a command (bcc's memleak -p) time to attach.
 * Prints "loop_seconds S" measured around the loop only, so that tracer start-up is not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) void *allocate(size_t size) { return malloc(size); }

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 1000000;
  if (argc > 2) sleep((unsigned)atoi(argv[2]));
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; i++) {
    void *volatile p = allocate(64);
    free(p);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("loop_seconds %.6f\n", (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
  return 0;
}
