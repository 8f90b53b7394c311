import test from 'ava';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jitFrame, locatePerfMap, parseNsPid, PerfMap, readPerfMap } from '../../src/symbols/perf-map.js';
import { makeTemporaryDirectory } from './helpers.js';
import { ROOT } from '../helpers/workloads.js';

const FIXTURE = join(ROOT, 'test/fixtures/symbols/perf-buffers.map');
const temporary = makeTemporaryDirectory('perf-map');
test.after.always(temporary.cleanup);

function mapOf(lines: string[]): PerfMap {
  const map = new PerfMap();
  for (const line of lines) map.push(line);
  return map;
}

test('perf-buffers.map: every line of a real node 20 map is read, and JS functions are found by address', async (t) => {
  const map = await readPerfMap(FIXTURE);
  t.is(map.lines, 819);
  t.is(map.malformedLines, 0);
  t.is(map.size, 819);
  // Line 528: 7f3e92005d40 378 JS:~makeDistinctBuffers file:///…/buffers.js:15:29
  const entry = map.find(0x7f3e92005d40n + 0x100n);
  t.is(entry?.name, 'JS:~makeDistinctBuffers file:///work/wt-jsframes/test/workloads/node/buffers.js:15:29');
  t.is(map.find(0x7f3e92005d40n + 0x378n)?.name === entry?.name, false, 'the end of a range is exclusive');
  t.is(map.find(0x10n), undefined);
});

test('perf-buffers.map: a range written again later (code space reused) names the later code', async (t) => {
  const map = await readPerfMap(FIXTURE);
  // Lines 267 and 562 both start at 7f3e91fe37c0.
  t.is(map.find(0x7f3e91fe37c0n)?.name, 'Eval:~ node:stream:1:1');
});

test('a later overlapping range wins over an earlier one that starts below it', (t) => {
  const map = mapOf(['1000 100 JS:~first a.js:1:1', '1080 10 JS:~second b.js:2:1', '2000 10 JS:~third c.js:3:1']);
  t.is(map.find(0x1040n)?.name, 'JS:~first a.js:1:1');
  t.is(map.find(0x1085n)?.name, 'JS:~second b.js:2:1');
  t.is(map.find(0x10a0n)?.name, 'JS:~first a.js:1:1');
  // An earlier entry written after a later one in address order still sorts correctly.
  const unordered = mapOf(['2000 10 JS:~late z.js:1:1', '1000 10 JS:~early y.js:1:1']);
  t.is(unordered.find(0x1005n)?.name, 'JS:~early y.js:1:1');
  t.is(unordered.find(0x2005n)?.name, 'JS:~late z.js:1:1');
});

test('malformed, truncated and empty input: lines counted, never fatal', (t) => {
  const map = mapOf([
    '7f00 10 JS:~ok f.js:1:1',
    'garbage',
    '7f00 JS:~no-size',
    'zz00 10 JS:~bad-hex',
    '7f10 10 ',
    '',
    '7f20 1', // a map cut in the middle of a line by a killed process
  ]);
  t.is(map.lines, 7);
  t.is(map.malformedLines, 5);
  t.is(map.size, 1);
  t.is(map.find(0x7f05n)?.name, 'JS:~ok f.js:1:1');
  const empty = mapOf([]);
  t.is(empty.find(0x1000n), undefined);
  t.is(empty.malformedLines, 0);
});

test('a garbled file on disk is read to its end with its bad lines counted', async (t) => {
  const path = join(temporary.dir, 'garbled.map');
  const good = readFileSync(FIXTURE, 'utf8').split('\n').slice(0, 10);
  writeFileSync(path, [...good.slice(0, 5), '\u0000\u0001binary junk', ...good.slice(5), '7f3e91fc'].join('\n'));
  const map = await readPerfMap(path);
  t.is(map.size, 10);
  t.is(map.malformedLines, 2);
});

test('jitFrame: V8 names lose file:// and the column; CPython names are python frames', (t) => {
  t.deepEqual(jitFrame('JS:~makeDistinctBuffers file:///srv/app/buffers.js:15:29'), {
    name: 'JS:~makeDistinctBuffers /srv/app/buffers.js:15',
    kind: 'js',
  });
  t.deepEqual(jitFrame('JS:^alloc node:buffer:391:30'), { name: 'JS:^alloc node:buffer:391', kind: 'js' });
  t.deepEqual(jitFrame('JS:~ node:internal/main/run_main_module:1:1'), { name: 'JS:~ node:internal/main/run_main_module:1', kind: 'js' });
  t.deepEqual(jitFrame('Builtin:ArrayPrototypePush'), { name: 'Builtin:ArrayPrototypePush', kind: 'js' });
  t.deepEqual(jitFrame('py::held_out_grow:/srv/app.py'), { name: 'py::held_out_grow:/srv/app.py', kind: 'python' });
});

test('parseNsPid: the PID in each namespace, outermost first; null when absent or garbled', (t) => {
  const status = (line: string) => `Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\n${line}\nVmPeak:\t  100 kB\n`;
  t.deepEqual(parseNsPid(status('NSpid:\t4242')), [4242]);
  t.deepEqual(parseNsPid(status('NSpid:\t4242\t17\t1')), [4242, 17, 1]);
  t.is(parseNsPid(status('NStgid:\t4242')), null);
  t.is(parseNsPid(status('NSpid:\t4242\tx')), null);
  t.is(parseNsPid(''), null);
});

test('locatePerfMap: a process in a PID namespace has its map under its inner PID in its own /tmp', async (t) => {
  const proc = join(temporary.dir, 'proc');
  mkdirSync(join(proc, '3999001/root/tmp'), { recursive: true });
  writeFileSync(join(proc, '3999001/status'), 'Name:\tnode\nPid:\t3999001\nNSpid:\t3999001\t7\n');
  t.is(await locatePerfMap(3999001, proc), null);
  writeFileSync(join(proc, '3999001/root/tmp/perf-7.map'), '1000 10 JS:~f a.js:1:1\n');
  t.is(await locatePerfMap(3999001, proc), join(proc, '3999001/root/tmp/perf-7.map'));
  // Without NSpid (an older kernel) the PID itself is the name.
  mkdirSync(join(proc, '3999002/root/tmp'), { recursive: true });
  writeFileSync(join(proc, '3999002/status'), 'Name:\tnode\nPid:\t3999002\n');
  writeFileSync(join(proc, '3999002/root/tmp/perf-3999002.map'), '1000 10 JS:~f a.js:1:1\n');
  t.is(await locatePerfMap(3999002, proc), join(proc, '3999002/root/tmp/perf-3999002.map'));
  t.is(await locatePerfMap(3999003, proc), null);
});

test('a perf map that is a symbolic link (a container planting one) is not followed', async (t) => {
  const link = join(temporary.dir, 'perf-link.map');
  symlinkSync(FIXTURE, link);
  t.is((await t.throwsAsync(readPerfMap(link)))!.message, `${link} is not a regular file`);
});
