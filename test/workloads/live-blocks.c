/*
 * live-blocks: holds BLOCKS blocks of 64 bytes, allocated from 2^STACK_BITS distinct call stacks, and
 * then idles, for the cost of a --timeline snapshot against the live blocks and the stacks
 * (bench/malloc-timeline-overhead).
 * Usage: live-blocks BLOCKS STACK_BITS IDLE_SECONDS — prints "held N" once allocated, exits after idling.
 * The stacks differ by the call site taken at each level of a recursion STACK_BITS deep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void **blocks;

__attribute__((noinline)) static void descend(int level, long path, long index) {
  if (level == 0) {
    blocks[index] = malloc(64);
    return;
  }
  if (path & 1) descend(level - 1, path >> 1, index);
  else descend(level - 1, path >> 1, index);
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 10000;
  int bits = argc > 2 ? atoi(argv[2]) : 0;
  int idle = argc > 3 ? atoi(argv[3]) : 10;
  blocks = calloc((size_t)count, sizeof *blocks);
  for (long i = 0; i < count; i++) descend(bits, i, i);
  printf("held %ld\n", count);
  fflush(stdout);
  sleep((unsigned)idle);
  return 0;
}
