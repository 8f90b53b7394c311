// A workload of exactly known RSS growth for `memtrace process`: after PAUSE ms it maps 64 MiB of
// anonymous memory and writes one byte in each page (so exactly 16384 pages become resident), holds
// it HOLD ms, unmaps it (the pages leave RSS at once), and exits after another PAUSE ms.
//   rss-steps [HOLD_MS=1000] [PAUSE_MS=500]
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIZE (64UL * 1024 * 1024)

static void sleep_ms(long ms) {
  struct timespec delay = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&delay, &delay) != 0) {}
}

int main(int argc, char **argv) {
  long hold_ms = argc > 1 ? atol(argv[1]) : 1000;
  long pause_ms = argc > 2 ? atol(argv[2]) : 500;
  long page = sysconf(_SC_PAGESIZE);
  sleep_ms(pause_ms);
  char *block = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return 1;
  for (unsigned long offset = 0; offset < SIZE; offset += page) block[offset] = 1;
  sleep_ms(hold_ms);
  munmap(block, SIZE);
  sleep_ms(pause_ms);
  return 0;
}
