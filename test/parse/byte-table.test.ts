// The frame-line table: lines are found by their bytes, whatever their length (words of 4 bytes and
// a partial one), and scanLine's one-pass hash is the hash of the line it finds.
import test from 'ava';
import { ByteTable, hashWords, LINE_HASH, scanLine } from '../../src/parse/byte-table.js';

const lines = [
  '',
  'a',
  'ab',
  'abc',
  'abcd',
  'abcde',
  '    main+27',
  '    main+28',
  '\tx\u00e9',
  '    0x7f5c9926d930',
  'abcdefgh',
  'abcdefg',
];

test('scanLine finds each newline and hashes as hashWords does', (t) => {
  const buffer = Buffer.from(`${lines.join('\n')}\n`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  let start = 0;
  for (const line of lines) {
    const end = scanLine(buffer, view, start);
    t.is(buffer.toString('utf8', start, end), line);
    t.is(LINE_HASH[0], hashWords(buffer, view, start, end), line);
    start = end + 1;
  }
  t.is(start, buffer.length);
});

test('every line gets one id, found again by its bytes at any offset', (t) => {
  const table = new ByteTable();
  const ids = new Map<string, number>();
  for (let round = 0; round < 3; round += 1) {
    for (const line of lines) {
      // a different offset in a different buffer each round
      const buffer = Buffer.from(`${'#'.repeat(round)}${line}\n`);
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
      const end = buffer.length - 1;
      const hash = hashWords(buffer, view, round, end);
      let id = table.find(buffer, view, round, end, hash);
      if (id === -1) id = table.add(buffer, round, end, hash);
      if (!ids.has(line)) ids.set(line, id);
      t.is(id, ids.get(line)!, line);
      t.is(table.text(id), line);
    }
  }
  t.is(table.size, lines.length);
});
