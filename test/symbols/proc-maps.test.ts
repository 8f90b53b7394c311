import test from 'ava';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../src/errors.js';
import { MappingHistory, parseProcMaps, readProcMaps, type Mapping } from '../../src/symbols/proc-maps.js';
import { compileFixture, FIXTURES, makeTemporaryDirectory, startTarget } from './helpers.js';

const temporary = makeTemporaryDirectory('proc-maps');
test.after.always(temporary.cleanup);

function mapping(start: bigint, end: bigint, path: string, extra: Partial<Mapping> = {}): Mapping {
  return { start, end, offset: 0n, perms: 'r-xp', dev: 'fe:00', inode: 1, path, deleted: false, ...extra };
}

test('maps-spaces-deleted.txt', (t) => {
  const mappings = parseProcMaps(readFileSync(join(FIXTURES, 'maps-spaces-deleted.txt'), 'utf8'));
  t.is(mappings.length, 26);
  t.deepEqual(mappings[1], {
    start: 0x55f2d67ed000n,
    end: 0x55f2d67ee000n,
    offset: 0x1000n,
    perms: 'r-xp',
    dev: 'fe:00',
    inode: 2146490,
    path: '/tmp/mt/mapst',
    deleted: false,
  });
  t.deepEqual(mappings[13], {
    start: 0x7fc3b7562000n,
    end: 0x7fc3b7564000n,
    offset: 0n,
    perms: 'r--p',
    dev: 'fe:00',
    inode: 2146584,
    path: '/tmp/mt/mapsdir/gone.bin',
    deleted: true,
  });
  t.is(mappings[14]!.path, '/tmp/mt/mapsdir/with  two spaces.bin');
  t.is(mappings[14]!.deleted, false);
  // Anonymous memory: no path at all, only the kernel's trailing space.
  t.deepEqual(
    mappings.filter((m) => m.path === '').map((m) => m.start),
    [0x7fc3b7378000n, 0x7fc3b7550000n, 0x7fc3b7566000n],
  );
  t.deepEqual(
    mappings.filter((m) => m.path.startsWith('[')).map((m) => m.path),
    ['[heap]', '[vvar]', '[vvar_vclock]', '[vdso]', '[stack]', '[vsyscall]'],
  );
  t.is(mappings[25]!.start, 0xffffffffff600000n);
  t.is(mappings[25]!.perms, '--xp');
});

test('empty input gives no mappings', (t) => {
  t.deepEqual(parseProcMaps(''), []);
  t.deepEqual(parseProcMaps('\n'), []);
});

const malformed = test.macro((t, text: string, expected: RegExp) => {
  const error = t.throws(() => parseProcMaps(text, '/proc/42/maps'), { instanceOf: ParseError });
  t.regex(error!.message, expected);
});

const GOOD = '7f0000000000-7f0000001000 r-xp 00000000 fe:00 12 /lib/a.so\n';
test(
  'malformed range names line 2',
  malformed,
  `${GOOD}zz-7f r-xp 0 fe:00 1 /x\n`,
  /^\/proc\/42\/maps:2: not valid proc maps: expected an address range/,
);
test('malformed perms names line 3', malformed, `${GOOD}${GOOD}7f00-7f01 rxp 0 fe:00 1 /x\n`, /:3: .*expected permissions such as r-xp/);
test('missing inode', malformed, '7f00-7f01 r-xp 00000000 fe:00\n', /:1: .*expected a decimal inode number/);
test('bad device', malformed, '7f00-7f01 r-xp 00000000 fe00 1 /x\n', /:1: .*expected a device such as fe:00/);
test('range going backwards', malformed, '7f01-7f00 r-xp 00000000 fe:00 1 /x\n', /:1: .*expected a range whose end is above its start/);
test('text glued to the inode', malformed, '7f00-7f01 r-xp 00000000 fe:00 1x /x\n', /:1: .*expected a decimal inode number/);

test('readProcMaps on /proc/self/maps finds the running node binary', async (t) => {
  const mappings = await readProcMaps(process.pid);
  const executable = mappings.filter((m) => m.path === process.execPath);
  t.true(executable.length > 0);
  t.is(executable[0]!.inode, statSync(process.execPath).ino);
  t.true(mappings.some((m) => m.path === '[stack]'));
  for (const m of mappings) t.true(m.end > m.start);
});

test('readProcMaps of a live process shows spaces in paths and deleted files', async (t) => {
  const binary = compileFixture('maps-target.c', join(temporary.dir, 'maps-target'));
  const target = await startTarget(binary, [temporary.dir]);
  try {
    const mappings = await readProcMaps(target.pid);
    const spaced = mappings.find((m) => m.start === target.addresses.get('spaced'));
    const gone = mappings.find((m) => m.start === target.addresses.get('gone'));
    t.deepEqual(spaced && { path: spaced.path, deleted: spaced.deleted, inode: spaced.inode }, {
      path: join(temporary.dir, 'with  two spaces.bin'),
      deleted: false,
      inode: statSync(join(temporary.dir, 'with  two spaces.bin')).ino,
    });
    t.deepEqual(gone && { path: gone.path, deleted: gone.deleted }, { path: join(temporary.dir, 'gone.bin'), deleted: true });
  } finally {
    target.stop();
  }
});

test('readProcMaps of an exited process says so', async (t) => {
  // Pid 4194304 is above the kernel's maximum pid on every default configuration.
  const error = await t.throwsAsync(readProcMaps(4_194_304));
  t.is(error!.message, 'cannot read /proc/4194304/maps: process 4194304 has exited');
});

test('MappingHistory: the latest snapshot wins where mappings overlap', (t) => {
  const history = new MappingHistory();
  history.add([mapping(0x1000n, 0x3000n, '/old.so'), mapping(0x8000n, 0x9000n, '/only-first.so')]);
  history.add([mapping(0x2000n, 0x4000n, '/new.so')]);
  t.is(history.find(0x1500n)?.path, '/old.so');
  t.is(history.find(0x2000n)?.path, '/new.so');
  t.is(history.find(0x3fffn)?.path, '/new.so');
  t.is(history.find(0x8800n)?.path, '/only-first.so');
  t.is(history.find(0x4000n), undefined);
  t.is(history.find(0x0n), undefined);
  t.deepEqual(
    history.all().map((m) => m.path),
    ['/old.so', '/new.so', '/only-first.so'],
  );
});

test('MappingHistory: a repeated identical snapshot is stored once', (t) => {
  const history = new MappingHistory();
  const snapshot = [mapping(0x1000n, 0x2000n, '/a.so'), mapping(0x2000n, 0x3000n, '/b.so')];
  history.add(snapshot);
  history.add([...snapshot].reverse());
  t.is(history.snapshotCount, 1);
  t.is(history.all().length, 2);
});

test('MappingHistory: round trip through JSON text', (t) => {
  const history = new MappingHistory();
  history.add(parseProcMaps(readFileSync(join(FIXTURES, 'maps-spaces-deleted.txt'), 'utf8')));
  history.add([mapping(0x7fc3b7562000n, 0x7fc3b7563000n, '/later.so', { offset: 0x5000n, deleted: false })]);
  const restored = MappingHistory.fromJSON(JSON.parse(JSON.stringify(history)));
  t.deepEqual(restored.all(), history.all());
  t.deepEqual(restored.toJSON(), history.toJSON());
  t.is(restored.find(0x7fc3b7562800n)?.path, '/later.so');
  t.is(restored.find(0x7fc3b7563800n)?.path, '/tmp/mt/mapsdir/gone.bin');
  t.is(restored.find(0x7fc3b7563800n)?.deleted, true);
  const json = history.toJSON();
  t.is(json.mappings[1]!.start, '0x55f2d67ed000');
});

test('MappingHistory.fromJSON rejects a snapshot pointing nowhere', (t) => {
  const error = t.throws(() => MappingHistory.fromJSON({ format: 'memtrace-mapping-history', version: 1, mappings: [], snapshots: [[0]] }));
  t.is(error!.message, 'not a memtrace mapping history: snapshot 0 refers to mapping 0, which does not exist');
  t.throws(() => MappingHistory.fromJSON({ format: 'other' }), { message: /format is "other"/ });
});
