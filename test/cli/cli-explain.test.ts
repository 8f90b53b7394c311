// memtrace explain on processes whose memory is known: test/workloads/explain-parts.c holds known
// amounts of each part (live and freed malloc blocks, an mmapped block, a mapped file, an anonymous
// mapping, two thread stacks), attached and launched; then the bad cases.
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RssExplanation, RssPart } from '../../src/model/rss-explanation.js';
import { execa } from 'execa';
import { MEMTRACE, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { processInfo, sleep } from '../helpers/processes.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';
import { gated, ROOT_PROBLEM } from '../helpers/gate.js';
import { DEBIAN_PYTHON, file, needing, PYTHON_NEED } from '../helpers/needs.js';

// Another process's memory (/proc/PID/mem, pagemap) and a PID namespace (unshare) need root.
const rootTest = gated(ROOT_PROBLEM, { base: test });

const MiB = 1024 * 1024;
const FILE_BYTES = 16 * MiB;
const ANON_BYTES = 24 * MiB;
/** glibc's chunk of a 4,000-byte block: the request plus its 8-byte size word, rounded up to 16. */
const CHUNK_BYTES = 4016;
const BLOCKS = 8000;

function scratch(t: ExecutionContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-explain-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function startParts(t: ExecutionContext, directory: string): Promise<ChildProcess & { pid: number }> {
  const child = spawn(buildWorkload('explain-parts'), [join(directory, 'mapped.bin')], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await waitForLine(child.stdout!, /^ready \d+/);
  return child as ChildProcess & { pid: number };
}

function part(explanation: RssExplanation, kind: RssPart['kind']): RssPart {
  const found = explanation.parts.find((candidate) => candidate.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} part in ${explanation.parts.map((p) => p.kind).join(', ')}`);
  return found;
}

function within(t: ExecutionContext, actual: number, expected: number, tolerance: number, what: string): void {
  t.true(Math.abs(actual - expected) <= expected * tolerance, `${what}: ${actual} is not within ${tolerance * 100}% of ${expected}`);
}

/** What every explanation of explain-parts must show, attached or launched. */
function checkParts(t: ExecutionContext, explanation: RssExplanation, mappedFile: string): void {
  const sum = explanation.parts.reduce((total, candidate) => total + candidate.bytes, 0);
  t.is(sum, explanation.rssBytes, 'the parts add up to the RSS exactly');
  within(t, explanation.rssBytes, explanation.kernelRssBytes, 0.05, "the RSS against the kernel's VmRSS");
  const file = part(explanation, 'file').members.find((member) => member.name === mappedFile);
  t.truthy(file, 'the mapped file is a member of the file part');
  within(t, file!.bytes, FILE_BYTES, 0.01, 'the mapped file');
  const anonymous = part(explanation, 'anon-other').members[0]!;
  within(t, anonymous.bytes, ANON_BYTES, 0.01, 'the biggest anonymous mapping');
  const stacks = part(explanation, 'stacks').members.filter((member) => member.name.startsWith('thread explain-parts'));
  t.is(stacks.length, 2, 'both threads');
  for (const stack of stacks) t.true(stack.bytes >= MiB && stack.bytes < 1.2 * MiB, `a thread stack: ${stack.bytes}`);
  // glibc's arenas, walked from outside: the kept blocks (one more than the freed), the freed ones.
  t.is(explanation.allocator?.name, 'glibc', explanation.allocatorNote ?? '');
  const live = part(explanation, 'malloc-live');
  within(t, live.members.find((member) => member.name === 'main arena')!.bytes, (BLOCKS + 1) * CHUNK_BYTES, 0.01, 'live in the main arena');
  t.is(
    live.members.find((member) => member.name === 'blocks mmapped on their own')?.bytes,
    8 * MiB + 4096,
    'the mmapped block, header page included',
  );
  within(t, part(explanation, 'malloc-retained').bytes, BLOCKS * CHUNK_BYTES, 0.01, 'the freed blocks glibc retains');
  t.is(explanation.allocator!.mmapped.count, 1);
  const finding = explanation.diagnosis.find((candidate) => candidate.cause === 'malloc-retained');
  t.truthy(finding, 'the retained memory is named');
  t.regex(finding!.summary, /^\d+% of RSS is freed memory that glibc retains, in 1 arena$/);
}

rootTest('attached: the parts of explain-parts add up to its RSS, each within its tolerance', async (t) => {
  const directory = scratch(t);
  const child = await startParts(t, directory);
  const json = join(directory, 'rss.json');
  const run = await memtraceAuto(['explain', '-p', String(child.pid), '-o', json, '-o', join(directory, 'rss.html'), '-o', '-']);
  t.is(run.exitCode, 0, run.stderr);
  const explanation = JSON.parse(readFileSync(json, 'utf8')) as RssExplanation;
  t.is(explanation.pid, child.pid);
  checkParts(t, explanation, join(directory, 'mapped.bin'));
  t.regex(run.stdout, /^memtrace explain: PID \d+ /m);
  t.regex(run.stdout, /^file-backed mappings +\d/m);
  t.regex(readFileSync(join(directory, 'rss.html'), 'utf8'), /<svg[^>]*role="img">.*<title>file-backed mappings: /s);
});

rootTest('launched: the snapshot after --duration, then the command is ended', async (t) => {
  const directory = scratch(t);
  const json = join(directory, 'rss.json');
  const run = await memtraceAuto([
    'explain',
    '-d',
    // Long enough for the workload to build its memory on a loaded CI machine (1.5 s once was not).
    '5s',
    '-o',
    json,
    '--',
    buildWorkload('explain-parts'),
    join(directory, 'mapped.bin'),
  ]);
  t.is(run.exitCode, 0, run.stderr);
  t.regex(run.stdout, /^ready \d+/m, 'the workload had built its memory before the snapshot');
  t.regex(run.stderr, /the command died of SIGTERM after the snapshot/);
  checkParts(t, JSON.parse(readFileSync(json, 'utf8')) as RssExplanation, join(directory, 'mapped.bin'));
});

rootTest('launched, Ctrl-C: the snapshot first, then the command gets the SIGINT', async (t) => {
  const directory = scratch(t);
  const json = join(directory, 'rss.json');
  const run = memtraceAuto(['explain', '-o', json, '--', buildWorkload('explain-parts'), join(directory, 'mapped.bin')]);
  await waitForLine(run.stdout!, /^ready \d+/);
  run.kill('SIGINT');
  const result = await run;
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stderr, /the command died of SIGINT after the snapshot/);
  checkParts(t, JSON.parse(readFileSync(json, 'utf8')) as RssExplanation, join(directory, 'mapped.bin'));
});

rootTest('in a terminal, a countdown to the snapshot with the RSS meanwhile; not on a pipe', async (t) => {
  const directory = scratch(t);
  const child = await startParts(t, directory);
  const json = join(directory, 'rss.json');
  // script(1) gives memtrace a terminal, as a user's shell would.
  const inner = `${process.execPath} ${MEMTRACE} explain -p ${child.pid} -d 1500ms -o ${json}`;
  const result = await execa('script', ['-qec', inner, '/dev/null'], { reject: false, timeout: 60_000 });
  t.is(result.exitCode, 0, result.stdout);
  t.regex(result.stdout, new RegExp(`\\[memtrace explain\\] PID ${child.pid}: snapshot in 2 s, RSS 1\\d\\d MiB`));
  t.regex(result.stdout, new RegExp(`\\[memtrace explain\\] PID ${child.pid}: snapshot in 1 s, RSS 1\\d\\d MiB`));
  const piped = await memtraceAuto(['explain', '-p', String(child.pid), '-d', '500ms', '-o', json]);
  t.is(piped.exitCode, 0, piped.stderr);
  t.notRegex(piped.stderr, /\[memtrace explain\]/);
});

rootTest('launched: a command that ignores SIGTERM is killed 5 s after the snapshot, and the report is written', async (t) => {
  const directory = scratch(t);
  const json = join(directory, 'rss.json');
  const run = await memtraceAuto(['explain', '-d', '500ms', '-o', json, '--', 'sh', '-c', "trap '' TERM; while :; do sleep 0.1; done"]);
  t.is(run.exitCode, 0, run.stderr);
  t.regex(run.stderr, /the command still runs 5 s after it was told to end: SIGKILL/);
  t.regex(run.stderr, /the command died of SIGKILL after the snapshot/);
  t.true((JSON.parse(readFileSync(json, 'utf8')) as RssExplanation).rssBytes > 0);
});

rootTest(
  'refused with a reason: a kernel thread, no such process, a process gone before the snapshot, a command that ends first',
  async (t) => {
    const kernel = await memtraceAuto(['explain', '-p', '2']);
    t.is(kernel.exitCode, 5);
    t.regex(kernel.stderr, /process 2 is a kernel thread: it has no user memory to explain/);
    const none = await memtraceAuto(['explain', '-p', '4194000']);
    t.is(none.exitCode, 5);
    t.regex(none.stderr, /no process 4194000/);
    // Ended once memtrace says it waits for the snapshot: whatever the load, it exits during -d.
    const gone = spawn('sleep', ['60']);
    const waiting = memtraceAuto(['explain', '-p', String(gone.pid), '-d', '20s']);
    await waitForLine(waiting.stderr!, /explaining PID \d+ in 20 s/);
    gone.kill('SIGKILL');
    const exited = await waiting;
    t.is(exited.exitCode, 5);
    t.regex(exited.stderr, new RegExp(`process ${gone.pid} exited before the snapshot`));
    // sleep 0.1's parent becomes a sleep 5, which never waits for it: a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & exec sleep 5'], { stdio: 'ignore' });
    t.teardown(() => void parent.kill('SIGKILL'));
    let zombie = '';
    for (let attempt = 0; attempt < 100 && zombie === ''; attempt++) {
      await sleep(100);
      const child = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim();
      if (child !== '' && processInfo(Number(child))?.state === 'Z') zombie = child;
    }
    t.not(zombie, '', 'sleep 0.1 became a zombie');
    const undead = await memtraceAuto(['explain', '-p', zombie]);
    t.is(undead.exitCode, 5);
    t.regex(undead.stderr, new RegExp(`process ${zombie} has exited \\(a zombie its parent has not reaped\\)`));
    const early = await memtraceAuto(['explain', '-d', '5s', '--', 'sh', '-c', 'exit 3']);
    t.is(early.exitCode, 5);
    t.regex(early.stderr, /the command exited with code 3 before the snapshot: nothing is left to explain/);
    const usage = await memtraceAuto(['explain']);
    t.is(usage.exitCode, 2);
    t.regex(usage.stderr, /nothing to explain: give -p PID or -- COMMAND/);
  },
);

rootTest('a process in another PID namespace, and a static binary, are explained', async (t) => {
  const namespaced = spawn('unshare', ['--pid', '--fork', '--mount-proc', 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => void namespaced.kill('SIGKILL'));
  let inner: number | undefined;
  for (let attempt = 0; attempt < 50 && inner === undefined; attempt++) {
    await sleep(100);
    const children = readFileSync(`/proc/${namespaced.pid}/task/${namespaced.pid}/children`, 'utf8').trim();
    if (children !== '') inner = Number(children.split(' ')[0]);
  }
  t.truthy(inner, 'unshare forked its child');
  const run = await memtraceAuto(['explain', '-p', String(inner), '-f', 'json']);
  t.is(run.exitCode, 0, run.stderr);
  const explanation = JSON.parse(run.stdout) as RssExplanation;
  t.true(explanation.rssBytes > 0);
  t.true(part(explanation, 'file').members.some((member) => member.name.endsWith('/sleep')));

  const stat = spawn(buildStatic(), { stdio: 'ignore' });
  t.teardown(() => void stat.kill('SIGKILL'));
  await sleep(300);
  const staticRun = await memtraceAuto(['explain', '-p', String(stat.pid), '-f', 'json']);
  t.is(staticRun.exitCode, 0, staticRun.stderr);
  const staticExplanation = JSON.parse(staticRun.stdout) as RssExplanation;
  t.is(staticExplanation.allocator, null);
  t.regex(staticExplanation.allocatorNote ?? '', /maps no glibc \(libc\.so\.6\): a static binary/);
  t.true(
    staticExplanation.parts.some((candidate) => candidate.kind === 'malloc-unsplit'),
    'its [heap] is shown whole',
  );
});

/** A static binary that idles: no libc.so.6 mapped, so glibc's arenas have no symbols to be found by. */
function buildStatic(): string {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-static-'));
  writeFileSync(
    join(directory, 'idle.c'),
    '#include <stdlib.h>\n#include <unistd.h>\nint main(void) { char *p = malloc(100000); p[0] = 1; for (;;) pause(); }\n',
  );
  execFileSync('gcc', ['-static', '-o', join(directory, 'idle'), join(directory, 'idle.c')]);
  return join(directory, 'idle');
}

rootTest(
  'a Node process, --attach-inspector: V8 heap and external memory are parts of their own, the inspector closed again',
  async (t) => {
    for (const busy of [false, true]) {
      const child = spawn(process.execPath, [`${ROOT}test/workloads/node/explain-hold.js`, ...(busy ? ['--busy'] : [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      t.teardown(() => void child.kill('SIGKILL'));
      const ready = await waitForLine(child.stdout!, /^ready \d+ /);
      const usage = JSON.parse(ready.split(' ').slice(2).join(' ')) as { heapTotal: number; external: number; arrayBuffers: number };
      const run = await memtraceAuto(['explain', '-p', String(child.pid), '--attach-inspector', '-f', 'json']);
      t.is(run.exitCode, 0, run.stderr);
      t.regex(run.stderr, /opened the inspector of PID \d+ on 127\.0\.0\.1:\d+ for the snapshot/);
      t.regex(run.stderr, /closed the inspector of PID \d+ again/);
      const explanation = JSON.parse(run.stdout) as RssExplanation;
      t.is(
        explanation.parts.reduce((sum, candidate) => sum + candidate.bytes, 0),
        explanation.rssBytes,
      );
      // The program's own figures when it printed "ready": the heap moves little while it idles or spins.
      within(t, part(explanation, 'v8-heap').bytes, usage.heapTotal, 0.25, `V8's heap (busy: ${busy})`);
      within(t, part(explanation, 'v8-external').bytes, usage.external, 0.05, `external memory (busy: ${busy})`);
      t.true(usage.arrayBuffers >= 64 * MiB);
      child.kill('SIGKILL');
    }
  },
);

rootTest('a Node process without --attach-inspector: a hint, and no V8 parts', async (t) => {
  const child = spawn(process.execPath, [`${ROOT}test/workloads/node/explain-hold.js`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await waitForLine(child.stdout!, /^ready \d+ /);
  const run = await memtraceAuto(['explain', '-p', String(child.pid), '-f', 'json']);
  t.is(run.exitCode, 0, run.stderr);
  t.regex(run.stderr, /runs Node\.js: --attach-inspector also splits out V8's heap/);
  const explanation = JSON.parse(run.stdout) as RssExplanation;
  t.false(explanation.parts.some((candidate) => candidate.kind === 'v8-heap' || candidate.kind === 'v8-external'));
});

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

needing([file(JEMALLOC, 'libjemalloc2')], rootTest)(
  'a preloaded jemalloc: said, and its heap is in the other anonymous memory',
  async (t) => {
    const directory = scratch(t);
    const child = spawn(buildWorkload('explain-parts'), [join(directory, 'mapped.bin')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LD_PRELOAD: JEMALLOC },
    });
    t.teardown(() => void child.kill('SIGKILL'));
    await waitForLine(child.stdout!, /^ready \d+/);
    const run = await memtraceAuto(['explain', '-p', String(child.pid), '-f', 'json']);
    t.is(run.exitCode, 0, run.stderr);
    const explanation = JSON.parse(run.stdout) as RssExplanation;
    t.true(explanation.notes.some((note) => note.startsWith(`jemalloc is loaded (${JEMALLOC})`)));
    // glibc serves almost nothing; the 64 MB of blocks (kept and freed), the 8 MiB one and the 24 MiB
    // mapping are anonymous memory, less whatever jemalloc has given back of the freed half.
    t.true(part(explanation, 'malloc-live').bytes < MiB, `glibc's live part: ${part(explanation, 'malloc-live').bytes}`);
    t.true(part(explanation, 'anon-other').bytes >= BLOCKS * 4000 + 8 * MiB + ANON_BYTES);
    const finding = explanation.diagnosis.find((candidate) => candidate.cause === 'anon-other');
    t.regex(finding?.summary ?? '', /of RSS is anonymous memory, where jemalloc's heap lives$/);
  },
);

needing([PYTHON_NEED], rootTest)(
  "a Python process: pymalloc's arenas (empty pools apart) and its large blocks in malloc's live part",
  async (t) => {
    // 200,000 kept 128-byte blocks, 100,000 256-byte blocks freed between them (empty pools pymalloc
    // keeps), 100,000 64-byte blocks every other one freed, 1,000 bytes objects of 100,000 bytes
    // (malloc chunks of 100,048 bytes).
    const python = spawn(DEBIAN_PYTHON, [`${ROOT}test/workloads/python/pymalloc-hold.py`, '--large', '1000'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    t.teardown(() => void python.kill('SIGKILL'));
    await waitForLine(python.stdout!, /^ready \d+/);
    const run = await memtraceAuto(['explain', '-p', String(python.pid), '-f', 'json']);
    t.is(run.exitCode, 0, run.stderr);
    const explanation = JSON.parse(run.stdout) as RssExplanation;
    t.is(
      explanation.parts.reduce((sum, candidate) => sum + candidate.bytes, 0),
      explanation.rssBytes,
    );
    const pymalloc = part(explanation, 'pymalloc');
    const inUse = pymalloc.members.find((member) => member.name === 'pools in use')!.bytes;
    const empty = pymalloc.members.find((member) => member.name === 'empty pools (kept by pymalloc)')!.bytes;
    // The kept blocks fill their pools; the 64-byte ones, every other freed, keep theirs half full;
    // the interpreter's own objects add a few MiB of pools in use.
    const heldPools = 200_000 * 128 + 100_000 * 64;
    t.true(inUse >= heldPools && inUse <= heldPools + 8 * MiB, `pools in use: ${inUse}`);
    within(t, empty, 100_000 * 256, 0.05, 'the empty pools of the freed 256-byte blocks');
    // The large blocks, and the interpreter's own malloc blocks (a few MiB).
    const live = part(explanation, 'malloc-live').bytes;
    t.true(live >= 1000 * 100_048 && live <= 1000 * 100_048 + 8 * MiB, `malloc, live: ${live}`);
    python.stdin!.end('x');
  },
);
