// memtrace-bpf malloc --js: JS function names in the native stacks of a Node program, from the perf
// map node writes when memtrace asks for it; and an attached node without a map gets the how-to.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const BUFFERS = join(ROOT, 'test/workloads/node/buffers.js');

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

liveTest("launched with --js: the Buffers' mallocs carry makeDistinctBuffers and its caller as JS frames", async (t) => {
  const output = temporary('malloc.json');
  // V8's allocator takes the Buffers' 98,760 bytes from calloc (Buffer.alloc(n, 0)) or malloc: the size filter keeps only them.
  const traced = await memtrace(
    ['malloc', '--js', '--min-size', '98760', '--max-size', '98760', '-o', output, '--', 'node', '--expose-gc', BUFFERS],
    { timeout: 180_000 },
  );
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.is(profile.totals.allocs, 23);
  const named = profile.stacks.filter((stack) =>
    stack.frames.some((frame) => frame.kind === 'js' && /^JS:.makeDistinctBuffers .*buffers\.js:\d+$/.test(frame.name)),
  );
  t.is(
    named.reduce((sum, stack) => sum + stack.allocs, 0),
    23,
  );
  t.true(named.every((stack) => stack.frames.some((frame) => /^JS:.run .*buffers\.js:\d+$/.test(frame.name))));
  t.false(existsSync(`/tmp/perf-${profile.target.pid}.map`), 'the perf map memtrace asked for is removed');
});

liveTest('--js refuses a command that is not Node', async (t) => {
  const traced = await memtrace(['malloc', '--js', '--', '/bin/true']);
  t.is(traced.exitCode, 2);
  t.regex(`${traced.stderr}`, /^memtrace-bpf: malloc --js needs a Node\.js program, and \/bin\/true \(\/bin\/true\) is not one/);
});

liveTest('attached to a node without a perf map: the report says how to enable one', async (t) => {
  const target = execa('node', [BUFFERS, '23', '10', '20000', 'usr2'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^waiting \d+$/)).split(' ')[1]);
  try {
    const output = temporary('malloc.json');
    const session = memtrace(
      ['malloc', '-p', String(pid), '--min-size', '98760', '--max-size', '98760', '--duration', '3s', '-o', output],
      { timeout: 180_000 },
    );
    await waitForLine(session.stderr!, /memtrace: tracing/);
    process.kill(pid, 'SIGUSR2');
    const traced = await session;
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.is(profile.totals.allocs, 23);
    t.false(profile.stacks.some((stack) => stack.frames.some((frame) => frame.kind !== undefined)));
    t.true(
      profile.notes.includes(
        `PID ${pid} is node without a perf map (/tmp/perf-${pid}.map): its JS frames are hex addresses. ` +
          'Start it with NODE_OPTIONS="--perf-basic-prof-only-functions --interpreted-frames-native-stack" (or memtrace\'s --js when memtrace launches it) to see JS function names',
      ),
      profile.notes.join('\n'),
    );
  } finally {
    target.kill();
    await target;
  }
});
