/*
 * touch-pages: makes a known number of fresh pages resident from named functions, for memtrace's
 * faults tests. Each function writes one byte in every page of memory that nothing touched before:
 *   touch_mmap   mmap(37 pages, anonymous, private), writes each page          37 faults
 *   touch_brk    brk(break + 29 pages) (break first page-aligned), writes each  29 faults
 *   touch_heap   malloc(23 x 64 KiB): beyond glibc's mmap threshold, so malloc
 *                maps it; writes each page of the block                          368 pages
 *   touch_zero   mmap(13 pages), reads each page (a not-present fault that maps
 *                the shared zero page), then writes it (a protection fault: the
 *                copy-on-write of the zero page)                     13 + 13 faults
 * With --wait it prints "ready PID" and waits for SIGUSR1 before touching anything; with
 * --linger N it sleeps N seconds after touching; it prints "touched" and exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define MMAP_PAGES 37
#define BRK_PAGES 29
#define HEAP_BYTES (23 * 65536)
#define ZERO_PAGES 13

static volatile sig_atomic_t go = 0;
static void on_usr1(int signal_number) { (void)signal_number; go = 1; }


__attribute__((noinline)) void touch_mmap(void) {
  char *region = mmap(NULL, MMAP_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) exit(2);
  for (size_t offset = 0; offset < MMAP_PAGES * PAGE; offset += PAGE) region[offset] = 1;
}

/* Moves the break to a page boundary first, so that touch_brk's pages are whole and fresh. */
__attribute__((noinline)) void align_brk(void) {
  char *current = sbrk(0);
  size_t misalignment = (size_t)current % PAGE;
  if (misalignment != 0 && brk(current + (PAGE - misalignment)) != 0) exit(3);
}

__attribute__((noinline)) void touch_brk(void) {
  char *old = sbrk(0);
  if (brk(old + BRK_PAGES * PAGE) != 0) exit(4);
  for (size_t offset = 0; offset < BRK_PAGES * PAGE; offset += PAGE) old[offset] = 1;
}

__attribute__((noinline)) void touch_heap(void) {
  char *block = malloc(HEAP_BYTES);
  if (block == NULL) exit(5);
  for (size_t offset = 0; offset < HEAP_BYTES; offset += PAGE) block[offset] = 1;
}

__attribute__((noinline)) void touch_zero(void) {
  volatile char *region = mmap(NULL, ZERO_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) exit(6);
  char sum = 0;
  for (size_t offset = 0; offset < ZERO_PAGES * PAGE; offset += PAGE) sum += region[offset];
  for (size_t offset = 0; offset < ZERO_PAGES * PAGE; offset += PAGE) region[offset] = (char)(sum + 1);
}

int main(int argc, char **argv) {
  int wait = 0;
  unsigned linger = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0) wait = 1;
    else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = (unsigned)atoi(argv[++i]);
  }
  if (wait) {
    signal(SIGUSR1, on_usr1);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    while (!go) pause();
  }
  touch_mmap();
  align_brk();
  touch_brk();
  touch_heap();
  touch_zero();
  printf("touched\n");
  fflush(stdout);
  if (linger > 0) sleep(linger);
  return 0;
}
