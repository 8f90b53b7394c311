"""A Python workload that calls the C allocator for a given time, for attaching a tracer by PID.

grow_buffer appends 1,000-byte chunks to a bytearray until it holds 1 MB, then drops it; bytearrays
above pymalloc's 512-byte limit live in blocks from realloc, so every append that outgrows the block
is a realloc call made under the interpreter loop (_PyEval_EvalFrameDefault).

Usage: python3 bytearray-grow.py [SECONDS]   (default 6)
Prints "ready <pid>" before it starts, and "rounds <n>" when it ends.
"""
import os
import sys
import time

CHUNK = b'x' * 1000


def grow_buffer():
    buffer = bytearray()
    while len(buffer) < 1_000_000:
        buffer += CHUNK
    return len(buffer)


def main(argv):
    seconds = float(argv[1]) if len(argv) > 1 else 6.0
    print(f'ready {os.getpid()}', flush=True)
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        grow_buffer()
        rounds += 1
    print(f'rounds {rounds}', flush=True)


main(sys.argv)
