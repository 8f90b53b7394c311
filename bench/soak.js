#!/usr/bin/env node
// bench/soak.js: memtrace on a Node HTTP server under load, for minutes. Answers "does tracing a
// busy production-like process for a long time hurt it, and does memtrace itself stay bounded?"
//
//   sudo node bench/soak.js [--minutes 10] [--window 30] [--phases untraced,malloc,gc,process,all]
//                           [--threads 1] [--connections 8] [--warmup 10] [--out soak.json]   (after building dist/)
//
// Each phase starts a fresh bench/soak/server.js on loopback, warms it up with --warmup seconds of
// load (untimed: V8 compiles the handler then), attaches its tracers (none; `memtrace-bpf
// malloc -p`; `memtrace-bpf gc -p`; `memtrace process -p`; or all three at once), waits until they
// say they trace (attaching to node's 98 MB binary takes seconds and is not counted as load time),
// then runs wrk with a fixed thread and connection count in consecutive --window second runs, so
// throughput and p99 over time can be shown, not only a total. Then each memtrace gets SIGINT (as a
// user's Ctrl-C) and the time until it has written its report is taken; the server must still answer
// one request after the tracers detached. While tracers run, the peak RSS (VmHWM) of every memtrace
// process and of each child it started (bpftrace) is sampled from /proc every second; bpftrace's maps
// live in the kernel, so their limits and overflow are read from memtrace's own json report.
// Printed: one block per phase, then a markdown table for docs/performance.md; --out gets the raw
// numbers as json. wrk must be installed (Debian: apt-get install wrk). Needs root.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    window: { type: 'string', default: '30' },
    phases: { type: 'string', default: 'untraced,malloc,gc,process,all' },
    threads: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '10' },
    'map-entries': { type: 'string', default: '262144' },
    out: { type: 'string' },
  },
});
const phaseSeconds = Number(flags.minutes) * 60;
const windowSeconds = Math.min(Number(flags.window), phaseSeconds);
const windows = Math.max(1, Math.round(phaseSeconds / windowSeconds));
const phases = flags.phases.split(',');
const work = mkdtempSync(join(tmpdir(), 'memtrace-soak-'));

// What each traced phase runs against the server's PID; "all" runs the three at once.
const TRACERS = {
  malloc: (pid, report) => [
    join(root, 'bin/memtrace-bpf.js'),
    'malloc',
    '-p',
    String(pid),
    '--map-entries',
    flags['map-entries'],
    '-o',
    report,
  ],
  gc: (pid, report) => [join(root, 'bin/memtrace-bpf.js'), 'gc', '-p', String(pid), '-o', report],
  process: (pid, report) => [join(root, 'bin/memtrace.js'), 'process', '-p', String(pid), '-o', report],
};
const PHASE_TRACERS = { untraced: [], malloc: ['malloc'], gc: ['gc'], process: ['process'], all: ['malloc', 'gc', 'process'] };
for (const phase of phases)
  if (!(phase in PHASE_TRACERS)) throw new Error(`unknown phase ${phase}: choose from ${Object.keys(PHASE_TRACERS).join(', ')}`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the first line of `stream` matching `pattern`, or rejects after timeoutMs.
function firstLine(stream, pattern, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    const timer = setTimeout(() => reject(new Error(`${what}: no line matching ${pattern} within ${timeoutMs / 1000} s`)), timeoutMs);
    lines.on('line', (line) => {
      const match = pattern.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
}

async function startServer() {
  const child = spawn(process.execPath, [join(root, 'bench/soak/server.js'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, port] = await firstLine(child.stdout, /^listening (\d+) (\d+)$/, 60_000, 'soak server');
  return { child, port: Number(port), pid: child.pid };
}

// One memtrace process: its stderr is kept (last 40 lines) for the report of a failure.
async function startTracer(tool, pid, phase) {
  const report = join(work, `${phase}-${tool}.json`);
  const child = spawn(process.execPath, TRACERS[tool](pid, report), { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  });
  const exited = once(child, 'exit');
  const startedAt = Date.now();
  // The bpftrace tools say "tracing ..." once their probes are attached; process samples at once.
  if (tool !== 'process') {
    let tracing = false;
    const ready = firstLine(child.stderr, /^memtrace: tracing /, 300_000, `memtrace ${tool}`).then(() => (tracing = true));
    const died = exited.then(() => {
      if (!tracing) throw new Error(`memtrace ${tool} exited before tracing:\n${stderr.join('\n')}`);
    });
    await Promise.race([ready, died]);
  } else {
    await sleep(1500);
  }
  return { tool, child, report, stderr, exited, attachSeconds: (Date.now() - startedAt) / 1000 };
}

// Peak RSS of a process and of its descendants, from /proc (VmHWM is the kernel's own high-water
// mark, so a sample every second misses nothing but a process that ends between two samples).
function statusKiB(pid, field) {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
function descendants(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the parent PID follows its ")".
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), { ppid: Number(after[1]), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // The process ended while /proc was read.
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, info] of parents) if (info.ppid === parent) found.push({ pid: child, name: info.name }) && queue.push(child);
  }
  return found;
}
function watchPeaks(tracers) {
  const peaks = new Map(); // key "tool:name" -> KiB
  const sample = () => {
    for (const tracer of tracers) {
      const own = statusKiB(tracer.child.pid, 'VmHWM');
      if (own !== null) peaks.set(`${tracer.tool}:memtrace`, Math.max(peaks.get(`${tracer.tool}:memtrace`) ?? 0, own));
      for (const child of descendants(tracer.child.pid)) {
        const hwm = statusKiB(child.pid, 'VmHWM');
        if (hwm !== null) peaks.set(`${tracer.tool}:${child.name}`, Math.max(peaks.get(`${tracer.tool}:${child.name}`) ?? 0, hwm));
      }
    }
  };
  sample();
  const timer = setInterval(sample, 1000);
  return { sample, stop: () => clearInterval(timer), peaks };
}

// wrk's --latency output: "Requests/sec:   2520.46", "     99%   87.56ms", "  12791 requests in 5.07s".
function wrkMs(text) {
  const match = /^([0-9.]+)(us|ms|s|m)$/.exec(text);
  if (!match) throw new Error(`wrk latency ${text} not understood`);
  return Number(match[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2]];
}
async function runWrk(port, seconds) {
  const child = spawn('wrk', [`-t${flags.threads}`, `-c${flags.connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const [code] = await once(child, 'exit');
  const rps = /Requests\/sec:\s+([0-9.]+)/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  const requests = /(\d+) requests in/.exec(output);
  if (code !== 0 || !rps || !p99 || !p50 || !requests) throw new Error(`wrk failed (${code}):\n${output}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(requests[1]),
    rps: Number(rps[1]),
    p50Ms: wrkMs(p50[1]),
    p99Ms: wrkMs(p99[1]),
    errors: (errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  };
}

function answers(port) {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

// Ctrl-C, then wait for the report; SIGTERM after 5 minutes and SIGKILL after one more, both recorded.
async function stopTracer(tracer) {
  const sent = Date.now();
  const escalations = [];
  tracer.child.kill('SIGINT');
  const timers = [
    setTimeout(() => escalations.push('SIGTERM') && tracer.child.kill('SIGTERM'), 300_000),
    setTimeout(() => escalations.push('SIGKILL') && tracer.child.kill('SIGKILL'), 360_000),
  ];
  const [code, signal] = await tracer.exited;
  timers.forEach(clearTimeout);
  return { exitCode: code, signal, stopSeconds: (Date.now() - sent) / 1000, escalations };
}

// What each tool's json report says it saw, lost and cut.
function readReport(tool, path) {
  let report;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { error: `no readable report at ${path}: ${error.message}` };
  }
  if (tool === 'malloc') {
    return {
      seen: report.totals.allocs + report.totals.frees,
      allocs: report.totals.allocs,
      frees: report.totals.frees,
      lost: report.losses.lostEvents,
      liveMapFull: report.losses.untrackedLiveBlocks,
      truncatedStacks: report.losses.truncatedStacks,
      stacks: report.stacks.length,
      partial: report.partialReason,
    };
  }
  if (tool === 'gc') {
    return {
      seen: report.collections.length,
      lost: report.lostEvents,
      badLines: report.badLines,
      noiseLines: report.noiseLines,
      partial: report.partialReason,
    };
  }
  return { seen: report.samples.length, lost: report.stop?.missed ?? null, stopReason: report.stop?.reason ?? null };
}

async function runPhase(phase) {
  const server = await startServer();
  // JIT warm-up before any tracer attaches, so the first window measures the server, not V8 tiering up.
  if (Number(flags.warmup) > 0) await runWrk(server.port, Number(flags.warmup));
  const tracers = [];
  for (const tool of PHASE_TRACERS[phase]) tracers.push(await startTracer(tool, server.pid, phase));
  const peaks = watchPeaks(tracers);
  const results = [];
  for (let i = 0; i < windows; i++) {
    results.push(await runWrk(server.port, windowSeconds));
    process.stderr.write(`soak ${phase}: window ${i + 1}/${windows}: ${results.at(-1).rps} req/s, p99 ${results.at(-1).p99Ms} ms\n`);
  }
  peaks.sample();
  peaks.stop();
  const stops = await Promise.all(tracers.map(stopTracer));
  const stillAnswers = await answers(server.port);
  server.child.kill('SIGTERM');
  await once(server.child, 'exit');
  const requests = results.reduce((sum, w) => sum + w.requests, 0);
  return {
    phase,
    windows: results,
    rpsMean: results.reduce((sum, w) => sum + w.rps, 0) / results.length,
    rpsMinWindow: Math.min(...results.map((w) => w.rps)),
    p99MsWorstWindow: Math.max(...results.map((w) => w.p99Ms)),
    p99MsMedianWindow: [...results.map((w) => w.p99Ms)].sort((a, b) => a - b)[Math.floor(results.length / 2)],
    requests,
    errors: results.reduce((sum, w) => sum + w.errors, 0),
    stillAnswers,
    peakKiB: Object.fromEntries(peaks.peaks),
    tracers: tracers.map((tracer, i) => ({
      tool: tracer.tool,
      attachSeconds: tracer.attachSeconds,
      ...stops[i],
      report: readReport(tracer.tool, tracer.report),
      stderrTail: stops[i].exitCode === 0 ? [] : tracer.stderr,
    })),
  };
}

const mib = (kib) => (kib === undefined ? '-' : `${(kib / 1024).toFixed(0)}`);
const ratio = (value, base) => (base ? `${(value / base).toFixed(2)}x` : '-');

const done = [];
for (const phase of phases) {
  process.stderr.write(`soak ${phase}: ${windows} windows of ${windowSeconds} s\n`);
  done.push(await runPhase(phase));
}
const base = done.find((phase) => phase.phase === 'untraced');

console.log(`soak: node ${process.version}, wrk -t${flags.threads} -c${flags.connections}, ${windows} x ${windowSeconds} s per phase`);
for (const phase of done) {
  console.log(`\n${phase.phase}`);
  console.log(
    `  req/s mean ${phase.rpsMean.toFixed(0)} (${ratio(phase.rpsMean, base?.rpsMean)}), worst window ${phase.rpsMinWindow.toFixed(0)}; p99 median window ${phase.p99MsMedianWindow.toFixed(2)} ms (${ratio(phase.p99MsMedianWindow, base?.p99MsMedianWindow)}), worst ${phase.p99MsWorstWindow.toFixed(2)} ms; ${phase.requests} requests, ${phase.errors} errors; answers after detach: ${phase.stillAnswers ? 'yes' : 'NO'}`,
  );
  console.log(`  per window req/s: ${phase.windows.map((w) => w.rps.toFixed(0)).join(' ')}`);
  console.log(`  per window p99 ms: ${phase.windows.map((w) => w.p99Ms.toFixed(1)).join(' ')}`);
  for (const [who, kib] of Object.entries(phase.peakKiB)) console.log(`  peak RSS ${who}: ${mib(kib)} MiB`);
  for (const tracer of phase.tracers) {
    console.log(
      `  memtrace ${tracer.tool}: attach ${tracer.attachSeconds.toFixed(1)} s, exit ${tracer.exitCode ?? tracer.signal} ${tracer.stopSeconds.toFixed(1)} s after SIGINT${tracer.escalations.length ? ` (needed ${tracer.escalations.join(', ')})` : ''}; report ${JSON.stringify(tracer.report)}`,
    );
    for (const line of tracer.stderrTail) console.log(`    | ${line}`);
  }
}

// Peak RSS of one tool's memtrace and its bpftrace child in one cell ("memtrace/bpftrace MiB").
const peakCell = (phase, tool) => `${mib(phase.peakKiB[`${tool}:memtrace`])}/${mib(phase.peakKiB[`${tool}:bpftrace`])}`;
const seenCell = (phase) =>
  phase.tracers
    .map(({ tool, report }) => {
      if (report.error) return `${tool}: no report`;
      const extra = tool === 'malloc' ? `, ${report.liveMapFull} live-map full, ${report.truncatedStacks} stacks cut` : '';
      return `${tool} ${report.seen} seen / ${report.lost} lost${extra}`;
    })
    .join('; ') || '-';
console.log(
  `\n| phase | req/s mean | worst window | p99 (median window) | p99 worst | peak RSS memtrace/bpftrace (MiB) | events seen / lost | exit, s to report | answers after |`,
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const phase of done) {
  const peak = phase.tracers.map(({ tool }) => `${tool} ${peakCell(phase, tool)}`).join('; ') || '-';
  const exits = phase.tracers.map((t) => `${t.tool} ${t.exitCode ?? t.signal}, ${t.stopSeconds.toFixed(1)}`).join('; ') || '-';
  console.log(
    `| ${phase.phase} | ${phase.rpsMean.toFixed(0)} (${ratio(phase.rpsMean, base?.rpsMean)}) | ${phase.rpsMinWindow.toFixed(0)} | ${phase.p99MsMedianWindow.toFixed(1)} ms (${ratio(phase.p99MsMedianWindow, base?.p99MsMedianWindow)}) | ${phase.p99MsWorstWindow.toFixed(1)} ms | ${peak} | ${seenCell(phase)} | ${exits} | ${phase.stillAnswers ? 'yes' : 'NO'} |`,
  );
}
if (flags.out)
  writeFileSync(
    flags.out,
    `${JSON.stringify({ node: process.version, threads: Number(flags.threads), connections: Number(flags.connections), windowSeconds, windows, phases: done }, null, 2)}\n`,
  );
