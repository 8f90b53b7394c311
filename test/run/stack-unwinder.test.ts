import test from 'ava';
import { BASELINE_FEATURES } from '../../src/run/bpftrace-features.js';
import { chooseStackUnwinder, parseStackUnwinder, stackModeOf } from '../../src/run/stack-unwinder.js';

const old = { path: '/usr/bin/bpftrace', version: '0.17.0', features: BASELINE_FEATURES };
const modern = {
  path: '/var/lib/memtrace/bpftrace-root/bpftrace',
  version: '0.27.0',
  features: { ...BASELINE_FEATURES, dwarfStacks: true },
};

test('by default DWARF where the bpftrace has it, frame pointers where it has not, and the choice says so', (t) => {
  const chosen = chooseStackUnwinder(null, modern);
  t.is(chosen.unwinder, 'dwarf');
  t.regex(chosen.choice, /unwound with DWARF/);
  const fallback = chooseStackUnwinder(null, old);
  t.is(fallback.unwinder, 'fp');
  t.regex(fallback.choice, /cannot unwind with DWARF/);
  t.is(stackModeOf('fp'), 'frames');
  t.is(stackModeOf('dwarf'), 'dwarf');
});

test('--stacks fp is honoured on a bpftrace that could do DWARF', (t) => {
  const chosen = chooseStackUnwinder('fp', modern);
  t.is(chosen.unwinder, 'fp');
  t.regex(chosen.choice, /--stacks fp/);
});

test('--stacks dwarf on a bpftrace without it is refused before anything runs, saying how to get one', (t) => {
  const error = t.throws(() => chooseStackUnwinder('dwarf', old));
  t.regex(error.message, /bpftrace 0\.17\.0 \(\/usr\/bin\/bpftrace\) cannot unwind stacks with DWARF/);
  t.regex(error.message, /setup-bpftrace/);
  t.is((error as { exitCode?: number }).exitCode, 2);
});

test('--stacks takes fp or dwarf, nothing else', (t) => {
  t.is(parseStackUnwinder('fp'), 'fp');
  t.is(parseStackUnwinder('dwarf'), 'dwarf');
  for (const bad of ['', 'DWARF', 'lbr', 'fp;', 'dwarf\n'])
    t.throws(() => parseStackUnwinder(bad), { message: /--stacks: expected fp .* or dwarf/ }, JSON.stringify(bad));
});

test("for node, frame pointers by default even where DWARF is possible: V8's generated code has no call-frame information", (t) => {
  const chosen = chooseStackUnwinder(null, modern, { node: true });
  t.is(chosen.unwinder, 'fp');
  t.regex(chosen.choice, /node, whose JIT code has no DWARF call-frame information/);
  t.is(chooseStackUnwinder('dwarf', modern, { node: true }).unwinder, 'dwarf', '--stacks dwarf is still honoured');
  t.is(chooseStackUnwinder(null, old, { node: true }).unwinder, 'fp');
});
