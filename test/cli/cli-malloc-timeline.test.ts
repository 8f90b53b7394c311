// memtrace-bpf malloc --timeline: outstanding bytes by stack over time, and the stacks ranked by how
// steadily they grow, on test/workloads/growth-paths.c attached after it started: a steady leak of
// 64,000 B/s, churn, a pool that fills and holds, a burst released, and frees of blocks allocated
// before the trace.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import type { StackGrowth } from '../../src/model/growth.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { temporary } from '../helpers/faults.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';

const GROWING_MAP = `${ROOT}test/workloads/node/growing-map.js`;

/** The leak's true rate: 6,400 B every 100 ms. */
const LEAK_BYTES_PER_SECOND = 64_000;
/** How far the measured rate may be from it: ticks are on absolute deadlines, snapshots 0.5 s apart. */
const RATE_TOLERANCE = 0.1;
const LEAKED_BYTES = 100 * 6400 + 1024 * 8;

/** The ranking as the test's log shows it: kind, rate, fit and the stack, root first. */
function describeGrowth(growth: StackGrowth[]): string {
  return growth
    .map(
      (stack) =>
        `${stack.kind} ${Math.round(stack.bytesPerSecond)} B/s fit ${stack.fit.toFixed(3)}: ${stack.frames.map((frame) => frame.name).join(' > ')}`,
    )
    .join('\n');
}

const named = (stack: StackGrowth, name: string) => stack.frames.some((frame) => frame.name === name);

liveTest('attached: the steady leak ranks first at its rate; churn, the pool and the burst do not rank', async (t) => {
  const target = execa(buildWorkload('growth-paths'), ['--seconds', '10'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
  const json = temporary('growth.json');
  const table = temporary('growth.txt');
  const html = temporary('growth.html');
  const session = memtrace(['malloc', '-p', String(pid), '--timeline', '500ms', '-o', json, '-o', table, '-o', html]);
  await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
  process.kill(pid, 'SIGUSR1');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(finished.exitCode, 0);
  const profile = JSON.parse(readFileSync(json, 'utf8')) as MallocProfile;
  t.false(profile.partial, profile.partialReason ?? '');

  const timeline = profile.timeline!;
  t.is(timeline.requestedIntervalSeconds, 0.5);
  t.is(timeline.downsampleFactor, 1);
  // 10 s of work, plus the time until the signal and the exit: one point every 0.5 s, and the start.
  t.true(timeline.times.length >= 20 && timeline.times.length <= 40, `${timeline.times.length} points`);
  t.log(`points at ${timeline.times.join(', ')}`);

  const growth = profile.growth!;
  t.log(describeGrowth(growth));
  t.is(growth.length, 1, 'only the leak grows');
  const leak = growth[0]!;
  t.true(named(leak, 'leak_steady'));
  t.is(leak.kind, 'steady-growth');
  t.true(Math.abs(leak.bytesPerSecond / LEAK_BYTES_PER_SECOND - 1) <= RATE_TOLERANCE, `${leak.bytesPerSecond} B/s`);
  // 100 leaks, and the list that keeps them (realloc'd once to 1024 pointers in leak_steady too:
  // one call path, by function).
  t.is(leak.endBytes, LEAKED_BYTES);

  const kindOf = (name: string) => profile.notGrowing!.find((stack) => named(stack, name) && stack.frames.at(-1)?.name === name)?.kind;
  t.is(kindOf('churn_tick'), 'churn');
  t.is(kindOf('pool_fill'), 'plateau');
  t.is(kindOf('burst_hold'), 'released');
  // Allocated before the trace: in no series, and their frees counted nowhere.
  t.false(timeline.stacks.some((stack) => stack.frames.some((frame) => frame.name === 'made_before_attach')));

  // The leak's series rises at every point once the signal came (5 leaks between two points).
  const series = timeline.stacks.find((stack) => stack.frames.at(-1)?.name === 'leak_steady')!.outstandingBytes;
  const rising = series.slice(series.findIndex((bytes) => bytes > 0));
  const last = rising.findIndex((bytes) => bytes === LEAKED_BYTES);
  t.true(
    rising.slice(1, last + 1).every((bytes, index) => bytes > rising[index]!),
    rising.join(','),
  );

  const text = readFileSync(table, 'utf8');
  t.regex(text, /^Growth over time \(--timeline: \d+ points 500 ms apart/m);
  t.regex(text, /^#1 {2}steady growth: [56]\d\.\d KiB\/s \(fit [01]\.\d\d\), 633 KiB at the end, 100% of the growth\n {6}leak_steady/m);
  const page = readFileSync(html, 'utf8');
  t.regex(page, /<h2>Growth over time<\/h2>/);
  t.regex(page, /<polyline class="series" data-stack="0"/);
});

liveTest(
  'external --timeline, a launched node: the Map of Buffers that holdBuffers fills ranks first; churned Buffers do not',
  async (t) => {
    const json = temporary('growth.json');
    const traced = await memtrace(
      ['external', '--timeline', '500ms', '--duration', '6s', '-o', json, '--', 'node', '--expose-gc', GROWING_MAP, '9'],
      { timeout: 180_000 },
    );
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(json, 'utf8')) as MallocProfile;
    t.false(profile.partial, profile.partialReason ?? '');
    const growth = profile.growth!;
    t.log(describeGrowth(growth));
    const js = (stack: StackGrowth, name: string) =>
      stack.frames.some((frame) => frame.kind === 'js' && new RegExp(`^JS:.${name} .*growing-map\\.js:\\d+$`).test(frame.name));
    t.true(growth.length >= 1 && js(growth[0]!, 'holdBuffers'), 'holdBuffers ranks first');
    t.is(growth[0]!.kind, 'steady-growth');
    // 64 KiB every 100 ms; node's timers run late under load, never early.
    t.true(growth[0]!.bytesPerSecond <= 655_360 * 1.05 && growth[0]!.bytesPerSecond >= 655_360 * 0.8, `${growth[0]!.bytesPerSecond} B/s`);
    t.false(
      growth.some((stack) => js(stack, 'churnBuffers')),
      'churned Buffers do not grow',
    );
    t.true(profile.notGrowing!.some((stack) => js(stack, 'churnBuffers') && stack.kind === 'churn'));
  },
);
