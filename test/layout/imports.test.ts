// The layout's rules, read from the code: what each folder of src/ imports against the table in
// src/README.md, tool folders that never reach into one another (src/tools/README.md), and no
// import cycle anywhere, type-only imports included (a cycle of types is a type in the wrong place).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import test from 'ava';
import { ROOT } from '../helpers/workloads.js';

const SRC = join(ROOT, 'src');

/** Every .ts/.cts file under `directory`, relative to src/. */
function sourceFiles(directory = SRC): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.c?ts$/.test(name) ? [relative(SRC, path)] : [];
  });
}

/** The relative imports of a file (static, dynamic, type-only), as paths relative to src/ with the source extension. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(
      normalize(join(dirname(file), match[1]!))
        .replace(/\.js$/, '.ts')
        .replace(/\.cjs$/, '.cts'),
    );
  }
  return found;
}

const FILES = sourceFiles();
const IMPORTS = new Map(FILES.map((file) => [file, importsOf(file)]));
/** The top-level part of a path under src/: a folder, or a file's name without extension (errors, index). */
const topOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : path.replace(/\.c?ts$/, ''));

test('every folder of src/ imports only what src/README.md says it may', (t) => {
  const readme = readFileSync(join(SRC, 'README.md'), 'utf8');
  const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
  const names = [...folders, 'errors'];
  const allowed = new Map<string, Set<string>>();
  for (const [, folder, mayImport] of readme.matchAll(/^\| `(\w[\w-]*)\/` \|[^|]*\| ([^|]*) \|$/gm)) {
    const text = mayImport!.trim();
    allowed.set(
      folder!,
      new Set(text === 'everything' ? names : text === 'nothing' ? [] : names.filter((name) => new RegExp(`\\b${name}\\b`).test(text))),
    );
  }
  t.deepEqual([...allowed.keys()].sort(), folders.sort(), 'src/README.md has a row for each folder, and no other');
  const breaches: string[] = [];
  for (const [file, imports] of IMPORTS) {
    const from = topOf(file);
    const may = allowed.get(from);
    if (may === undefined) continue; // a top-level file (index.ts, errors.ts)
    for (const target of imports) {
      const to = topOf(target);
      if (to !== from && !may.has(to))
        breaches.push(`${file} imports ${target} (${from}/ may import: ${[...may].join(', ') || 'nothing'})`);
    }
  }
  t.deepEqual(breaches, []);
});

test("a tool folder never imports another tool's folder; common/ imports none; only report/ reads the others (their report inputs and writers)", (t) => {
  const toolsReadme = readFileSync(join(SRC, 'tools/README.md'), 'utf8');
  const tools = readdirSync(join(SRC, 'tools')).filter((name) => statSync(join(SRC, 'tools', name)).isDirectory());
  t.deepEqual(
    readdirSync(join(SRC, 'tools')).filter((name) => !tools.includes(name)),
    ['README.md'],
    'src/tools/ holds folders only',
  );
  for (const tool of tools) t.regex(toolsReadme, new RegExp(`^\\| \`${tool}/\` \\|`, 'm'), `src/tools/README.md describes ${tool}/`);
  const breaches: string[] = [];
  for (const [file, imports] of IMPORTS) {
    if (!file.startsWith('tools/')) continue;
    const tool = file.split('/')[1]!;
    for (const target of imports) {
      if (!target.startsWith('tools/')) continue;
      const other = target.split('/')[1]!;
      if (other === tool || other === 'common') continue;
      if (tool === 'report' && other !== 'report') continue;
      breaches.push(`${file} imports ${target}`);
    }
  }
  t.deepEqual(breaches, []);
});

test('no import cycle in src/, type-only imports included', (t) => {
  // Tarjan's strongly connected components over the import graph.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const target of IMPORTS.get(file) ?? []) {
      if (!IMPORTS.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
        if (member === file) break;
      }
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of FILES) if (!index.has(file)) visit(file);
  t.deepEqual(cycles, []);
});
