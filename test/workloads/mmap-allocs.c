/*
 * mmap-allocs: known mmap/munmap calls for memtrace's --mmap tests.
 *   map_regions   11 x mmap(64 KiB, anonymous)   4 unmapped, 7 kept
 * No stdio; exits 0.
 */
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) void map_regions(void) {
  void *regions[11];
  for (int i = 0; i < 11; i++) regions[i] = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 4; i++) munmap(regions[i], 65536);
}

int main(void) {
  map_regions();
  return 0;
}
