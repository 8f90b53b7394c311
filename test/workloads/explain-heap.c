/*
 * explain-heap: known glibc heap contents in three arenas, for the heap walker (src/sample/glibc-heap.ts).
 * Usage: explain-heap          prints "ready" once it holds:
 *   main thread (main arena): 2000 blocks of 4000 bytes kept, 2000 of 4000 freed, each freed one
 *     between two kept ones (so none coalesces, none is trimmed: too big for tcache or fastbins,
 *     they stay in the bins); one 8 MiB block (mmapped by glibc on its own), written whole;
 *     10 blocks of 24 bytes freed (7 fill tcache bin 0, 3 go to fastbin 0), 5 of 200 freed (tcache bin 11);
 *   each of 2 threads (an arena each): 500 blocks of 8000 kept, 500 of 8000 freed the same way, and
 *     the second thread 5 blocks of 40 bytes freed (its own tcache, bin 1); the threads then sleep.
 * Every block is written whole, so all of it is resident. Bookkeeping lives in static arrays, and
 * output goes through write(2), so that the workload mallocs nothing but the blocks above.
 *        explain-heap heaps   one thread keeps 12000 blocks of 8000 bytes (96 MB): more than one
 *   64 MiB heap, so its arena links an older heap (heap_info.prev); prints "ready" and sleeps.
 *        explain-heap churn   prints "ready", then mallocs and frees blocks of random sizes forever in
 *   the main thread and 2 others, for the walk-while-racing test.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAIN_BLOCKS 2000
#define MAIN_SIZE 4000
#define THREAD_BLOCKS 500
#define THREAD_SIZE 8000

static void *main_kept[MAIN_BLOCKS], *main_freed[MAIN_BLOCKS];
static void *thread_kept[2][THREAD_BLOCKS], *thread_freed[2][THREAD_BLOCKS];
static void *big;
static void *small_kept[16], *small[10], *medium[5], *thread_small[5];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int threads_done;

static void *filled(size_t size) {
  void *block = malloc(size);
  memset(block, 0xab, size);
  return block;
}

static void *thread_main(void *arg) {
  long index = (long)arg;
  for (int i = 0; i < THREAD_BLOCKS; i++) {
    thread_freed[index][i] = filled(THREAD_SIZE);
    thread_kept[index][i] = filled(THREAD_SIZE);
  }
  for (int i = 0; i < THREAD_BLOCKS; i++) free(thread_freed[index][i]);
  if (index == 1) {
    for (int i = 0; i < 5; i++) thread_small[i] = filled(40);
    /* A kept block after them, so the last is not next to top (tcache chunks never merge anyway). */
    small_kept[15] = filled(40);
    for (int i = 0; i < 5; i++) free(thread_small[i]);
  }
  pthread_mutex_lock(&lock);
  threads_done++;
  pthread_cond_signal(&done_cond);
  pthread_mutex_unlock(&lock);
  for (;;) pause();
  return NULL;
}

#define MANY_BLOCKS 12000
static void *many[MANY_BLOCKS];

static void *grow_heaps(void *arg) {
  (void)arg;
  for (int i = 0; i < MANY_BLOCKS; i++) many[i] = filled(THREAD_SIZE);
  write(1, "ready\n", 6);
  for (;;) pause();
  return NULL;
}

static void *churn(void *arg) {
  unsigned seed = (unsigned)(long)arg;
  static __thread void *slots[256];
  for (;;) {
    int slot = rand_r(&seed) % 256;
    free(slots[slot]);
    size_t size = (size_t)(rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 200000 : rand_r(&seed) % 2000) + 1;
    slots[slot] = malloc(size);
    memset(slots[slot], 1, size < 64 ? size : 64);
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t threads[2];
  if (argc > 1 && strcmp(argv[1], "churn") == 0) {
    pthread_create(&threads[0], NULL, churn, (void *)1L);
    pthread_create(&threads[1], NULL, churn, (void *)2L);
    write(1, "ready\n", 6);
    churn((void *)3L);
  }
  if (argc > 1 && strcmp(argv[1], "heaps") == 0) {
    pthread_create(&threads[0], NULL, grow_heaps, NULL);
    for (;;) pause();
  }
  for (int i = 0; i < MAIN_BLOCKS; i++) {
    main_freed[i] = filled(MAIN_SIZE);
    main_kept[i] = filled(MAIN_SIZE);
  }
  big = filled(8 << 20);
  for (int i = 0; i < 10; i++) small[i] = filled(24);
  for (int i = 0; i < 5; i++) medium[i] = filled(200);
  small_kept[0] = filled(24);
  for (int i = 0; i < MAIN_BLOCKS; i++) free(main_freed[i]);
  for (int i = 0; i < 10; i++) free(small[i]);
  for (int i = 0; i < 5; i++) free(medium[i]);

  for (long t = 0; t < 2; t++) pthread_create(&threads[t], NULL, thread_main, (void *)t);
  pthread_mutex_lock(&lock);
  while (threads_done < 2) pthread_cond_wait(&done_cond, &lock);
  pthread_mutex_unlock(&lock);
  write(1, "ready\n", 6);
  for (;;) pause();
}
