/* touch-loop ROUNDS: maps 64 MiB, writes each page, unmaps it, ROUNDS times; prints the loop's own
 * time in seconds and the pages touched, so that start-up and attach are not in the figure. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  size_t bytes = 64u << 20;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int round = 0; round < rounds; round++) {
    char *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return 2;
    /* MADV_NOHUGEPAGE: one fault per 4 KiB page whatever the THP setting. */
    madvise(region, bytes, MADV_NOHUGEPAGE);
    for (size_t offset = 0; offset < bytes; offset += 4096) region[offset] = 1;
    munmap(region, bytes);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  fprintf(stderr, "loop %.4f s %zu pages\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9, (size_t)rounds * (bytes / 4096));
  return 0;
}
