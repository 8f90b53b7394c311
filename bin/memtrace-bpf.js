#!/usr/bin/env node
// memtrace with the eBPF (bpftrace) backend pinned.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), { program: 'memtrace-bpf', backend: 'bpf' });
