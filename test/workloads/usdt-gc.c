/*
 * usdt-gc: a stand-in for a node binary built --with-dtrace (Node <= 18), whose gc__start and
 * gc__done USDT probes memtrace gc uses when a binary has them. No node here has them, and no
 * <sys/sdt.h> is installed, so the probes are declared by hand: a nop at the probe site and a
 * SystemTap SDT note (.note.stapsdt, owner "stapsdt", type 3: PC, .stapsdt.base, semaphore,
 * then "provider\0name\0arguments\0"), the layout bpftrace's usdt probes and readelf -n read.
 *
 *   usdt-gc [ROUNDS=7] [--wait]
 * Each round is a "scavenge" (GCType 1) then a "mark-compact" (GCType 4), each held ~2 ms between
 * gc__start and gc__done, as node's probes are around a collection. --wait prints "ready PID" and
 * starts on SIGUSR2. Built with gcc -O0 -g -fno-omit-frame-pointer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MEMTRACE_USDT3(provider, name, a, b, c)                                          \
  __asm__ __volatile__("990: nop\n"                                                      \
                       ".pushsection .note.stapsdt,\"\",\"note\"\n"                      \
                       ".balign 4\n"                                                     \
                       ".4byte 992f-991f, 994f-993f, 3\n"                                \
                       "991: .asciz \"stapsdt\"\n"                                       \
                       "992: .balign 4\n"                                                \
                       "993: .8byte 990b\n"                                              \
                       ".8byte _.stapsdt.base\n"                                         \
                       ".8byte 0\n"                                                      \
                       ".asciz \"" provider "\"\n"                                       \
                       ".asciz \"" name "\"\n"                                           \
                       ".asciz \"-4@%0 -4@%1 8@%2\"\n"                                   \
                       "994: .balign 4\n"                                                \
                       ".popsection\n"                                                   \
                       ".ifndef _.stapsdt.base\n"                                        \
                       ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
                       ".weak _.stapsdt.base\n"                                          \
                       ".hidden _.stapsdt.base\n"                                        \
                       "_.stapsdt.base: .space 1\n"                                      \
                       ".size _.stapsdt.base, 1\n"                                       \
                       ".popsection\n"                                                   \
                       ".endif\n"                                                        \
                       :                                                                 \
                       : "r"(a), "r"(b), "r"(c))

static volatile sig_atomic_t started = 0;
static void on_usr2(int signal_number) { (void)signal_number; started = 1; }

static void pause_2ms(void) {
  struct timespec duration = {0, 2 * 1000 * 1000};
  nanosleep(&duration, NULL);
}

static void collect(int type, void *isolate) {
  int flags = 0;
  MEMTRACE_USDT3("node", "gc__start", type, flags, isolate);
  pause_2ms();
  MEMTRACE_USDT3("node", "gc__done", type, flags, isolate);
}

int main(int argc, char **argv) {
  int rounds = 7;
  int wait = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0) wait = 1;
    else rounds = atoi(argv[i]);
  }
  if (wait) {
    signal(SIGUSR2, on_usr2);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    while (!started) pause();
  }
  static char isolate[64];
  for (int round = 0; round < rounds; round++) {
    collect(1, isolate);
    collect(4, isolate);
  }
  printf("done %d\n", rounds);
  return 0;
}
