// Every command's --help is quoted in its docs page, and the quote is kept equal to the help text.
// A quote is a fenced block right after a line `<!-- help: PROGRAM COMMAND -->` (docs/README.md
// says so): PROGRAM is memtrace, memtrace-bpf or memtrace-dtrace, COMMAND one of memtrace's
// commands, and the block holds exactly what `PROGRAM COMMAND --help` prints.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_NAMES, loadCommand } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = join(ROOT, 'docs');
const PROGRAMS = ['memtrace', 'memtrace-bpf', 'memtrace-dtrace'] as const;
const MARKER = /^<!-- help: (\S+) (\S+) -->$/;

interface HelpBlock {
  /** The page, relative to the repository. */
  page: string;
  program: string;
  command: string;
  /** 1-based line of the marker. */
  markerLine: number;
  /** 1-based line of the block's first line (the one after the opening fence). */
  firstLine: number;
  /** The block's lines, fences excluded; null when the marker is not followed by a fenced block. */
  lines: string[] | null;
}

function markdownPages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownPages(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/**
 * The marked help blocks of one page's text. A marker inside a fenced block is an example of one
 * (docs/README.md shows the convention inside a four-backtick fence), not a quote.
 */
function helpBlocks(page: string, text: string): HelpBlock[] {
  const lines = text.split('\n');
  const blocks: HelpBlock[] = [];
  let fence: string | null = null;
  lines.forEach((line, index) => {
    const ticks = /^(`{3,})/.exec(line)?.[1];
    if (fence === null && ticks !== undefined) fence = ticks;
    else if (fence !== null && ticks !== undefined && ticks.length >= fence.length && line.trim() === ticks) fence = null;
    if (fence !== null) return;
    const marker = MARKER.exec(line.trim());
    if (marker === null) return;
    const block: HelpBlock = { page, program: marker[1]!, command: marker[2]!, markerLine: index + 1, firstLine: index + 3, lines: null };
    if (lines[index + 1] === '```') {
      const close = lines.indexOf('```', index + 2);
      if (close !== -1) block.lines = lines.slice(index + 2, close);
    }
    blocks.push(block);
  });
  return blocks;
}

/** null when the block quotes the help exactly; else what a reader needs to fix the page. */
function compareHelp(block: HelpBlock, help: string): string | null {
  const where = `${block.page}:${block.markerLine}`;
  if (block.lines === null)
    return `${where}: <!-- help: ${block.program} ${block.command} --> is not followed by a fenced block (\`\`\` on the next line)`;
  const expected = help.replace(/\n$/, '').split('\n');
  const count = Math.max(expected.length, block.lines.length);
  for (let i = 0; i < count; i++) {
    if (block.lines[i] === expected[i]) continue;
    const quote = (line: string | undefined) => (line === undefined ? '(nothing: the block ends)' : JSON.stringify(line));
    const helpQuote = expected[i] === undefined ? '(nothing: the help ends)' : JSON.stringify(expected[i]);
    return (
      `${block.page}:${block.firstLine + i}: the quoted help of "${block.program} ${block.command}" differs from its --help ` +
      `at help line ${i + 1}: the page has ${quote(block.lines[i])}, --help prints ${helpQuote}`
    );
  }
  return null;
}

/** What `PROGRAM COMMAND --help` prints, from the command module itself. */
async function helpText(program: string, command: string): Promise<string> {
  const loaded = await loadCommand(command);
  if (loaded === undefined) throw new Error(`no command ${command}`);
  let out = '';
  const sink = { write: (chunk: string | Uint8Array) => ((out += String(chunk)), true) } as unknown as NodeJS.WriteStream;
  const code = await loaded.run(['--help'], {
    program,
    backend: program === 'memtrace-dtrace' ? 'dtrace' : 'bpf',
    stdout: sink,
    stderr: sink,
  });
  if (code !== 0) throw new Error(`${program} ${command} --help exited ${code}`);
  return out;
}

const pages = markdownPages(DOCS).sort();
const blocks = pages.flatMap((path) => helpBlocks(relative(ROOT, path), readFileSync(path, 'utf8')));

test('every help block quoted in docs/ is its command’s current --help, line for line', async (t) => {
  t.true(blocks.length > 0, 'no <!-- help: … --> block found under docs/');
  const problems: string[] = [];
  for (const block of blocks) {
    if (!(PROGRAMS as readonly string[]).includes(block.program) || !COMMAND_NAMES.includes(block.command)) {
      problems.push(
        `${block.page}:${block.markerLine}: <!-- help: ${block.program} ${block.command} --> names no command (programs: ${PROGRAMS.join(', ')}; commands: ${COMMAND_NAMES.join(', ')})`,
      );
      continue;
    }
    const problem = compareHelp(block, await helpText(block.program, block.command));
    if (problem !== null) problems.push(problem);
  }
  t.deepEqual(problems, []);
});

test('each command with a page in docs/tools/ quotes its --help there', (t) => {
  const missing = COMMAND_NAMES.filter((command) => pages.includes(join(DOCS, 'tools', `${command}.md`)))
    .filter((command) => !blocks.some((block) => block.page === `docs/tools/${command}.md` && block.command === command))
    .map((command) => `docs/tools/${command}.md quotes no <!-- help: … ${command} --> block`);
  t.deepEqual(missing, []);
});

test('no page under docs/ quotes a usage text without its help marker', (t) => {
  const unmarked: string[] = [];
  for (const path of pages) {
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (!/^Usage: memtrace(-bpf|-dtrace)? /.test(line) || lines[index - 1] !== '```') return;
      if (!MARKER.test((lines[index - 2] ?? '').trim()))
        unmarked.push(`${relative(ROOT, path)}:${index + 1}: a usage text with no <!-- help: PROGRAM COMMAND --> line before its block`);
    });
  }
  t.deepEqual(unmarked, []);
});

test('a drifted quote is reported with its page and the first line that differs', (t) => {
  const page = ['# x', '<!-- help: memtrace mark -->', '```', 'Usage: memtrace mark PID', 'old line', '```', ''].join('\n');
  const [block] = helpBlocks('docs/tools/x.md', page);
  t.is(compareHelp(block!, 'Usage: memtrace mark PID\nold line\n'), null);
  t.is(
    compareHelp(block!, 'Usage: memtrace mark PID\nnew line\n'),
    'docs/tools/x.md:5: the quoted help of "memtrace mark" differs from its --help at help line 2: the page has "old line", --help prints "new line"',
  );
  t.regex(
    compareHelp(block!, 'Usage: memtrace mark PID\nold line\nmore\n')!,
    /help line 3: the page has \(nothing: the block ends\), --help prints "more"/,
  );
  t.deepEqual(
    helpBlocks('docs/README.md', ['````', '<!-- help: memtrace mark -->', '```', 'an example', '```', '````', ''].join('\n')),
    [],
  );
  const [bare] = helpBlocks('docs/tools/y.md', '<!-- help: memtrace mark -->\ntext\n');
  t.regex(compareHelp(bare!, 'x\n')!, /^docs\/tools\/y\.md:1: .* is not followed by a fenced block/);
});
