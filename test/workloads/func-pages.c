// A workload for `memtrace calls --func`: touch_pages(N) maps N fresh anonymous pages and writes one
// byte in each (exactly N pages become resident inside the call); drop_pages unmaps them (they leave
// RSS inside that call). Both are called COUNT times, with a pause between rounds.
//   func-pages [PAGES=2311] [COUNT=1] [PAUSE_MS=0]
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec delay = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&delay, &delay) != 0) {}
}

__attribute__((noinline)) char *touch_pages(long pages) {
  long page = sysconf(_SC_PAGESIZE);
  char *block = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) exit(1);
  for (long index = 0; index < pages; index++) block[index * page] = 1;
  return block;
}

__attribute__((noinline)) void drop_pages(char *block, long pages) {
  munmap(block, pages * sysconf(_SC_PAGESIZE));
}

int main(int argc, char **argv) {
  long pages = argc > 1 ? atol(argv[1]) : 2311;
  long count = argc > 2 ? atol(argv[2]) : 1;
  long pause_ms = argc > 3 ? atol(argv[3]) : 0;
  for (long round = 0; round < count; round++) {
    sleep_ms(pause_ms);
    drop_pages(touch_pages(pages), pages);
  }
  return 0;
}
