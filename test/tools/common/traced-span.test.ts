import test from 'ava';
import { TracedSpan } from '../../../src/tools/common/traced-span.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('the span runs from BEGIN to the first END line, not over the time before and after', async (t) => {
  const span = new TracedSpan(new Date(Date.now() - 60_000));
  await pause(50);
  span.began();
  span.line('memtrace:begin faults');
  await pause(300);
  span.line('memtrace:end 123456');
  await pause(300);
  span.line('memtrace:end 999');
  span.ended();
  t.true(span.seconds() >= 0.28 && span.seconds() <= 0.6, String(span.seconds()));
});

test('a tracer that died before END: the span ends with the session; without BEGIN it starts with memtrace', async (t) => {
  const started = new Date();
  const span = new TracedSpan(started);
  await pause(200);
  span.ended();
  t.true(span.seconds() >= 0.18 && span.seconds() <= 0.6, String(span.seconds()));
});
