/*
 * Known amounts of each part of RSS, for `memtrace explain` (test/cli/cli-explain.test.ts). Every
 * byte below is written, so it is resident:
 *   malloc, live      8,000 blocks of 4,000 B kept (31.3 MB of user bytes)
 *   malloc, retained  8,000 blocks of 4,000 B freed, each between two kept ones, so glibc can
 *                     neither merge them into the top chunk nor give their pages back
 *   malloc, mmapped   one 8 MiB block (above the 128 KiB mmap threshold: a mapping of its own)
 *   file              a 16 MiB file of its own (argv[1]) mapped read-only and read through
 *   anonymous         a 24 MiB anonymous mapping written through
 *   stacks            2 threads, each with 1 MiB of its stack touched, then asleep
 * Then it prints "ready <pid>" and sleeps until killed.
 *
 * Usage: explain-parts FILE   (FILE is created, 16 MiB, and removed at exit by the test)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOCKS 8000
#define BLOCK_BYTES 4000
#define MMAPPED_BYTES (8 << 20)
#define FILE_BYTES (16 << 20)
#define ANON_BYTES (24 << 20)
#define STACK_TOUCH (1 << 20)

static void *kept[BLOCKS];
static void *mmapped_block;
static volatile unsigned long sink;

__attribute__((noinline)) static void touch_stack(void) {
  volatile char area[STACK_TOUCH];
  for (size_t i = 0; i < sizeof area; i += 4096) area[i] = 1;
  sink += area[0];
}

static void *thread_main(void *unused) {
  (void)unused;
  touch_stack();
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: explain-parts FILE\n");
    return 2;
  }
  void *freed[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    kept[i] = malloc(BLOCK_BYTES);
    freed[i] = malloc(BLOCK_BYTES);
    memset(kept[i], 1, BLOCK_BYTES);
    memset(freed[i], 2, BLOCK_BYTES);
  }
  /* One more kept block, so that the last freed one is not next to the top chunk either. */
  void *last = malloc(BLOCK_BYTES);
  memset(last, 3, BLOCK_BYTES);
  for (int i = 0; i < BLOCKS; i++) free(freed[i]);

  mmapped_block = malloc(MMAPPED_BYTES);
  memset(mmapped_block, 4, MMAPPED_BYTES);

  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, FILE_BYTES) != 0) {
    perror(argv[1]);
    return 1;
  }
  char page[4096];
  memset(page, 5, sizeof page);
  for (size_t offset = 0; offset < FILE_BYTES; offset += sizeof page)
    if (pwrite(fd, page, sizeof page, (off_t)offset) != (ssize_t)sizeof page) return 1;
  volatile char *file = mmap(NULL, FILE_BYTES, PROT_READ, MAP_PRIVATE, fd, 0);
  if (file == MAP_FAILED) return 1;
  for (size_t offset = 0; offset < FILE_BYTES; offset += 4096) sink += file[offset];

  char *anon = mmap(NULL, ANON_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED) return 1;
  memset(anon, 6, ANON_BYTES);

  pthread_t threads[2];
  for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, thread_main, NULL);
  usleep(200000);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  for (;;) pause();
}
