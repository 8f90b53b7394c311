#!/usr/bin/env node
// memtrace with the DTrace backend pinned (macOS).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), { program: 'memtrace-dtrace', backend: 'dtrace' });
