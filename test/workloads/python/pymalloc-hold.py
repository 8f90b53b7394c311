"""A Python workload holding known amounts in pymalloc's arenas, for the pymalloc arena scan.

Every object it keeps is a bytes object made by int.to_bytes: CPython allocates a bytes object of
length n as one block of 33 + n bytes (PyBytesObject_SIZE: refcount, type, size, hash, then the
bytes and a trailing NUL), which pymalloc rounds up to a multiple of 16. So:
  keep     K objects of 95 bytes  -> 128-byte blocks (size class 7), all held
  half     H objects of 31 bytes  ->  64-byte blocks (size class 3), every other one freed
  dropped  D objects of 223 bytes -> 256-byte blocks (size class 15), made interleaved with `keep`
           (so their pools sit in the same arenas) and then all freed: their pools become empty
           pools that pymalloc keeps, since the arenas still hold `keep`'s blocks.
sys.getsizeof confirms the three sizes; the script checks it.

Then it prints sys._debugmallocstats() on stderr (CPython's own account of its arenas: the
reference a scan is compared with) and a line `end of _debugmallocstats`, then `ready PID` on
stdout, and waits for a byte on stdin before it exits, without allocating in between.

With --large L it also holds L bytes objects of 100,000 bytes: malloc blocks, not pymalloc's
(above its 512-byte limit), of 100,033 bytes each (a chunk of 100,048 in glibc's main arena, below
its 128 KiB mmap threshold), written so that they are resident. memtrace explain's test uses it.

Usage: python3 pymalloc-hold.py [--keep K] [--half H] [--dropped D] [--large L] [--churn]
  (defaults: 200000, 100000, 100000; --scale-mib M sets K to hold about M MiB in `keep`)
  --churn  instead of waiting still, keep replacing objects of `keep` by others of 1 to 400 bytes
           until stdin has a byte: a process whose pools change while they are scanned
"""
import os
import random
import select
import sys


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def churn(held):
    generator = random.Random(1)
    while not select.select([0], [], [], 0)[0]:
        for _ in range(10000):
            held[generator.randrange(len(held))] = generator.randrange(256).to_bytes(1, 'little') * generator.randrange(2, 400)


def main():
    keep_count = option('--keep', 200000)
    if '--scale-mib' in sys.argv:
        keep_count = option('--scale-mib', 0) * 1024 * 1024 // 128
    half_count = option('--half', 100000)
    dropped_count = option('--dropped', 100000)
    for length, block in ((95, 128), (31, 64), (223, 256)):
        got = sys.getsizeof((1).to_bytes(length, 'little'))
        if got != block:
            sys.exit(f'bytes of length {length}: sys.getsizeof says {got}, expected {block}')

    keep = []
    dropped = []
    # Interleaved: one dropped object for every keep_count // dropped_count kept ones.
    every = max(1, keep_count // max(1, dropped_count))
    for index in range(keep_count):
        keep.append(index.to_bytes(95, 'little'))
        if index % every == 0 and len(dropped) < dropped_count:
            dropped.append(index.to_bytes(223, 'little'))
    while len(dropped) < dropped_count:
        dropped.append(len(dropped).to_bytes(223, 'little'))
    half = [index.to_bytes(31, 'little') for index in range(half_count)]
    del half[::2]
    del dropped
    large = [bytes([index % 256]) * 100000 for index in range(option('--large', 0))]

    # Nothing below allocates (the message is made first, os.write and os.read take no buffers)
    # until the byte arrives, so the figures printed stay those of the heap that is scanned.
    ready = f'ready {os.getpid()}\n'.encode()
    sys.stderr.flush()
    sys._debugmallocstats()
    os.write(2, b'end of _debugmallocstats\n')
    os.write(1, ready)
    if '--churn' in sys.argv:
        churn(keep)
    os.read(0, 1)
    # Keep both lists alive until the byte arrives.
    return len(keep) + len(half) + len(large)


if __name__ == '__main__':
    main()
