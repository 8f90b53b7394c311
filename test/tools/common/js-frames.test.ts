import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappingHistory, type Mapping } from '../../../src/symbols/proc-maps.js';
import { loadJsSymbols, mapsShowNode, nodeOptionsWithPerfMap } from '../../../src/tools/common/js-frames.js';

const file = (path: string): Mapping => ({
  start: 0x400000n,
  end: 0x500000n,
  offset: 0n,
  perms: 'r-xp',
  dev: 'fe:00',
  inode: 7,
  path,
  deleted: false,
});
const historyOf = (...paths: string[]) => {
  const history = new MappingHistory();
  history.add(
    paths.map((path, index) => ({
      ...file(path),
      start: 0x400000n + BigInt(index) * 0x100000n,
      end: 0x4fffffn + BigInt(index) * 0x100000n,
    })),
  );
  return history;
};
// Above the kernel's largest PID: no /proc entry and no /tmp/perf-4194304.map.
const NO_SUCH_PID = 4_194_304;

test("NODE_OPTIONS: the perf-map flags are appended to the user's options, never repeated", (t) => {
  t.is(nodeOptionsWithPerfMap(undefined), '--perf-basic-prof-only-functions --interpreted-frames-native-stack');
  t.is(
    nodeOptionsWithPerfMap('  --max-old-space-size=512 '),
    '--max-old-space-size=512 --perf-basic-prof-only-functions --interpreted-frames-native-stack',
  );
  t.is(nodeOptionsWithPerfMap('--interpreted-frames-native-stack'), '--interpreted-frames-native-stack --perf-basic-prof-only-functions');
});

test('a process is node when it mapped a node executable', (t) => {
  t.true(mapsShowNode(historyOf('/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/node')));
  t.true(mapsShowNode(historyOf('/opt/node20/bin/node20')));
  t.false(mapsShowNode(historyOf('/usr/bin/python3.11', '/usr/lib/node_modules/x.so')));
});

test('node without a perf map: the note says how to get one; another program gets no note', async (t) => {
  const node = await loadJsSymbols(NO_SUCH_PID, historyOf('/usr/bin/node'), { located: null, launchedWithFlags: false });
  t.is(node.perfMap, null);
  t.deepEqual(node.notes, [
    `PID ${NO_SUCH_PID} is node without a perf map (/tmp/perf-${NO_SUCH_PID}.map): its JS frames are hex addresses. ` +
      'Start it with NODE_OPTIONS="--perf-basic-prof-only-functions --interpreted-frames-native-stack" (or memtrace\'s --js when memtrace launches it) to see JS function names',
  ]);
  t.deepEqual((await loadJsSymbols(NO_SUCH_PID, historyOf('/usr/bin/sleep'), { located: null, launchedWithFlags: false })).notes, []);
  const asked = await loadJsSymbols(NO_SUCH_PID, historyOf('/usr/bin/node'), { located: null, launchedWithFlags: true });
  t.regex(asked.notes[0]!, /^PID 4194304 wrote no perf map although memtrace asked for one/);
});

test('a map with damaged lines is used, and the count of skipped lines noted', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'perf-1.map');
  writeFileSync(path, '7f0000001000 40 JS:~f /a.js:1:1\nnot a line\n7f00000020');
  const loaded = await loadJsSymbols(NO_SUCH_PID, historyOf('/usr/bin/node'), { located: path, launchedWithFlags: false });
  t.is(loaded.perfMap?.size, 1);
  t.deepEqual(loaded.notes, [`2 malformed lines of the perf map ${path} were skipped`]);
});
