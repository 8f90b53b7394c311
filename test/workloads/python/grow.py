"""A Python workload with exactly known RSS moves, for `memtrace calls`.

hold_out_grow appends 23 bytes objects of 1 MiB, each filled (so every page is touched and
resident: a zeroed bytes(n) would be calloc'd from untouched mmap pages); hold_out_release frees
them (each is its own mmap, so RSS drops back at once). Both are plain Python functions called from
Python, so CPython's function__entry/return probes see them.

Usage: python3 grow.py [--wait-stdin] [--repeat N] [--calls N]
  --wait-stdin  read one line from standard input before working (lets a tracer attach first)
  --repeat N    grow and release N times (default 1)
  --calls N     also call tiny() N times (a known number of Python calls, for --trigger 0)
It prints the number of Python function calls it made after the wait (its own counter).
"""
import sys

MIB = 1024 * 1024
BLOCKS = 23


def hold_out_grow(count):
    held = []
    for index in range(count):
        held.append(bytes([index % 251 + 1]) * MIB)
    return held


def hold_out_release(held):
    held.clear()


def tiny():
    return 1


def main(argv):
    repeat = int(argv[argv.index('--repeat') + 1]) if '--repeat' in argv else 1
    calls = int(argv[argv.index('--calls') + 1]) if '--calls' in argv else 0
    if '--wait-stdin' in argv:
        sys.stdin.readline()
    made = 0
    for _ in range(repeat):
        held = hold_out_grow(BLOCKS)
        hold_out_release(held)
        made += 2
    for _ in range(calls):
        tiny()
        made += 1
    print(f'python calls made: {made}', flush=True)


main(sys.argv)
