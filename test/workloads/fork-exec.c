/*
 * fork-exec: a workload that allocates a known number of 333-byte blocks, then forks a child that
 * allocates its own, or execs another program, for memtrace's fault-injection tests (what is
 * counted of a traced PID that forks or execs mid-trace).
 *
 * Usage: fork-exec COUNT [--fork CHILD_COUNT] [--exec PROGRAM ARGS...]
 *   COUNT           malloc(333) this many times, kept (never freed)
 *   --fork N        then fork: the child mallocs N x 333 B and exits 0; the parent waits for it
 *   --exec PROGRAM  then exec PROGRAM with the remaining arguments (same PID)
 * No stdio (its buffers would add allocations); output goes through write(2): "allocated COUNT\n".
 * Exit code: 5 (so tests can tell its end from another program's).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *kept[4096];

NOINLINE void allocate_333(int count) {
  for (int i = 0; i < count && i < 4096; i++) kept[i] = malloc(333);
}

static void say_count(int count) {
  char line[32] = "allocated ";
  int length = 10;
  char digits[12];
  int n = 0;
  do digits[n++] = (char)('0' + count % 10); while ((count /= 10) > 0);
  while (n > 0) line[length++] = digits[--n];
  line[length++] = '\n';
  (void)!write(1, line, (size_t)length);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int count = atoi(argv[1]);
  allocate_333(count);
  say_count(count);
  if (argc >= 4 && strcmp(argv[2], "--fork") == 0) {
    int child_count = atoi(argv[3]);
    pid_t child = fork();
    if (child == 0) {
      allocate_333(child_count);
      say_count(child_count);
      _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
  } else if (argc >= 4 && strcmp(argv[2], "--exec") == 0) {
    execv(argv[3], argv + 3);
    return 127;
  }
  return 5;
}
