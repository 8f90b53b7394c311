// The classification of a real process's mappings (test/fixtures/explain/: explain-parts, recorded):
// every resident byte in one part, the parts' known members, thread stacks found by their stack
// pointers or, without them, by glibc's guard page; and smaps input that is cut, garbled or empty.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/errors.js';
import { parseSyscallFile, type ThreadStackPointer } from '../../../src/sample/thread-stacks.js';
import { parseProcSmaps } from '../../../src/symbols/proc-smaps.js';
import { classifyMappings, type ResidentClaim } from '../../../src/tools/explain/classify.js';
import { fixture } from '../../helpers/workloads.js';

const SMAPS = readFileSync(fixture('explain/explain-parts.smaps'), 'utf8');
const VM_RSS = 115_560 * 1024;
const MiB = 1024 * 1024;

function threads(): ThreadStackPointer[] {
  return readFileSync(fixture('explain/explain-parts.syscall'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [tid, ...rest] = line.split(' ');
      return { tid: Number(tid), name: 'explain-parts', sp: parseSyscallFile(rest.join(' ')) };
    });
}

const bytesOf = (result: ReturnType<typeof classifyMappings>, kind: string) => result.parts.find((part) => part.kind === kind)?.bytes;

test('the parts add up to the Rss of every mapping, which is the VmRSS read with it', (t) => {
  const mappings = parseProcSmaps(SMAPS, 'explain-parts.smaps');
  const result = classifyMappings(mappings, threads(), null);
  t.is(result.rssBytes, VM_RSS);
  t.is(
    result.parts.reduce((sum, part) => sum + part.bytes, 0),
    VM_RSS,
  );
  t.deepEqual(
    result.parts.map((part) => part.kind),
    ['malloc-unsplit', 'file', 'stacks', 'anon-other'],
    'without the allocator, [heap] is shown whole',
  );
  const file = result.parts.find((part) => part.kind === 'file')!;
  t.is(file.members[0]!.name, '/tmp/exd/mapped.bin');
  t.is(file.members[0]!.bytes, 16 * MiB);
  t.is(result.parts.find((part) => part.kind === 'anon-other')!.members[0]!.bytes, 24 * MiB);
});

test("thread stacks: by each thread's stack pointer, and by glibc's guard page when no thread says", (t) => {
  const mappings = parseProcSmaps(SMAPS, 'explain-parts.smaps');
  const bySp = classifyMappings(mappings, threads(), null);
  const stacks = bySp.parts.find((part) => part.kind === 'stacks')!;
  t.deepEqual(stacks.members.map((member) => member.name).sort(), [
    '[stack] (main thread)',
    'thread explain-parts 8682',
    'thread explain-parts 8683',
  ]);
  const byShape = classifyMappings(mappings, [], null);
  t.is(bytesOf(byShape, 'stacks'), stacks.bytes, 'the same stacks, found by their shape');
  t.deepEqual(
    byShape.parts
      .find((part) => part.kind === 'stacks')!
      .members.map((member) => member.name)
      .sort(),
    ['[stack] (main thread)', 'thread (running)', 'thread (running)'],
  );
});

test("claims carve a mapping: the claimed bytes (capped at its Rss), the rest to the claim's rest or to the mapping's kind", (t) => {
  const mappings = parseProcSmaps(SMAPS, 'explain-parts.smaps');
  const heap = mappings.find((mapping) => mapping.path === '[heap]')!;
  const anonymous = [...mappings].filter((mapping) => mapping.path === '').sort((a, b) => b.rss - a.rss)[0]!;
  const claims: ResidentClaim[] = [
    {
      start: heap.start,
      end: heap.end,
      kind: 'malloc-live',
      name: 'main arena',
      residentBytes: 10 * MiB,
      rest: { kind: 'malloc-retained', name: 'main arena' },
    },
    // More than the mapping holds: capped.
    { start: anonymous.start, end: anonymous.start + 4096n, kind: 'pymalloc', name: 'pools in use', residentBytes: 1024 * MiB },
  ];
  const result = classifyMappings(mappings, threads(), { claims: claims.slice(0, 1) }, claims.slice(1));
  t.is(bytesOf(result, 'malloc-live'), 10 * MiB);
  t.is(bytesOf(result, 'malloc-retained'), heap.rss - 10 * MiB);
  t.is(bytesOf(result, 'pymalloc'), anonymous.rss);
  t.is(bytesOf(result, 'malloc-unsplit'), undefined, 'a walked [heap] is not shown unsplit');
  t.is(
    result.parts.reduce((sum, part) => sum + part.bytes, 0),
    VM_RSS,
  );
});

test('smaps cut, garbled or empty: a ParseError naming the line, or nothing', (t) => {
  const lines = SMAPS.split('\n');
  // Cut after a mapping's header line, before its counters.
  const header = lines.findIndex((line, index) => index > 0 && /^[0-9a-f]+-[0-9a-f]+ /.test(line));
  const cut = t.throws(() => parseProcSmaps(lines.slice(0, header + 1).join('\n'), 'cut.smaps'), { instanceOf: ParseError });
  t.regex(cut.message, /^cut\.smaps:\d+: not valid proc smaps: expected an Rss line for the mapping at [0-9a-f]+/);
  const garbled = [...lines];
  garbled[3] = 'Rss:  twelve kB';
  const bad = t.throws(() => parseProcSmaps(garbled.join('\n'), 'garbled.smaps'), { instanceOf: ParseError });
  t.regex(bad.message, /^garbled\.smaps:4: not valid proc smaps: expected a counter such as "Rss: 132 kB": "Rss:  twelve kB"/);
  const headless = t.throws(() => parseProcSmaps(lines.slice(1).join('\n'), 'headless.smaps'), { instanceOf: ParseError });
  t.regex(headless.message, /^headless\.smaps:1: not valid proc smaps: expected a mapping line/);
  t.deepEqual(parseProcSmaps('', 'empty'), [], "a kernel thread's smaps is empty");
});

test("a thread's syscall file: blocked in a call, blocked outside one, running, or of an unknown shape", (t) => {
  t.is(parseSyscallFile('34 0x0 0x0 0x2 0x8 0x0 0x7fff8e650c87 0x7f80cadfdea0 0x7f80ce7f4df2\n'), 0x7f80cadfdea0n);
  t.is(parseSyscallFile('-1 0x7ffc1000 0x401000\n'), 0x7ffc1000n);
  t.is(parseSyscallFile('running\n'), null);
  t.is(parseSyscallFile('34 0x0\n'), null);
  t.is(parseSyscallFile(''), null);
});
