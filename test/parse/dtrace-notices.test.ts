// dtrace's notices, in the wording of libdtrace's dt_handle.c, counted by kind.
import test from 'ava';
import { countDtraceNotice, describeDtraceNotices, droppedEvents, emptyDtraceNotices } from '../../src/parse/dtrace-notices.js';

function count(lines: string[]) {
  const notices = emptyDtraceNotices();
  const counted = lines.map((line) => countDtraceNotice(line, notices));
  return { notices, counted };
}

test('drops of each kind, singular and plural, with and without drop tags', (t) => {
  const { notices } = count([
    'dtrace: 5 drops on CPU 0',
    'dtrace: 1 drop on CPU 3',
    'dtrace: 7 aggregation drops on CPU 1',
    'dtrace: 11 dynamic variable drops',
    'dtrace: 2 dynamic variable drops with non-empty rinsing list',
    'dtrace: [DTRACEDROP_PRINCIPAL] 13 drops on CPU 2',
    'dtrace: 17 jstack()/ustack() string table overflows',
  ]);
  t.deepEqual([notices.drops, notices.aggregationDrops, notices.dynamicVariableDrops, notices.otherDrops], [19, 7, 13, 17]);
  t.is(droppedEvents(notices), 56);
});

test('probe errors keep the first message; SIP and informational lines are told apart', (t) => {
  const { notices } = count([
    'dtrace: error on enabled probe ID 7 (ID 70: pid42:libsystem_malloc.dylib:posix_memalign:return): invalid address (0x0) in action #1 at DIF offset 12',
    'dtrace: error on enabled probe ID 9 (ID 71: pid42:libsystem_malloc.dylib:free:entry): invalid address (0x8) in action #2',
    'dtrace: system integrity protection is on, some features will not be available',
    "dtrace: description 'pid$target::malloc:entry' matched 1 probe",
    'dtrace: pid 42 has exited',
  ]);
  t.is(notices.probeErrors, 2);
  t.regex(notices.firstProbeError!, /^error on enabled probe ID 7 /);
  t.true(notices.sipWarning);
  t.is(notices.informational, 2);
  t.is(droppedEvents(notices), 0);
});

test('lines that are not dtrace notices are not counted', (t) => {
  const { counted, notices } = count(['A\t1\t2\t3', 'dtrace 5 drops', '  dtrace: 5 drops on CPU 0']);
  t.deepEqual(counted, [false, false, false]);
  t.deepEqual(notices, emptyDtraceNotices());
});

test('the report says what was lost, and nothing when nothing was', (t) => {
  t.deepEqual(describeDtraceNotices(emptyDtraceNotices()), []);
  const { notices } = count(['dtrace: 3 drops on CPU 0', 'dtrace: 2 dynamic variable drops']);
  t.deepEqual(describeDtraceNotices(notices), [
    'dtrace dropped 3 records (principal buffer full): blocks allocated or freed then are not followed',
    'dtrace dropped 2 dynamic variables (dynvarsize full): some blocks were not tracked',
  ]);
});
