// Symbol names with every character C++ and JS allow (templates, operators, lambdas, ABI tags,
// `(anonymous namespace)`, V8's `~`/`*`/`^` tier marks, `$`, unicode identifiers, file paths with
// spaces, `<anonymous>`) and arbitrary strings, through every stack renderer. The property: no
// name breaks its output format: json and speedscope parse back with the names intact, folded
// reads back (names in their folded form), svg and html are well-formed markup whose text shows
// the names escaped, pprof decodes with the names in its string table, and the table has one line
// per row whatever the names hold.
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the assert's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/symbols.test.ts`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import fc from 'fast-check';
import { Profile } from 'pprof-format';
import type { StackProfile } from '../../src/model/stack-profile.js';
import { readFolded } from '../../src/parse/folded.js';
import { foldedName, renderFolded } from '../../src/report/folded.js';
import { renderStackProfile } from '../../src/report/stack-index.js';

const directory = mkdtempSync(`${tmpdir()}/memtrace-props-symbols-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const CPP_NAMES = [
  'std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)',
  'Widget::operator()(int) const',
  'operator<<(std::ostream&, Widget const&)',
  'operator new(unsigned long)',
  'operator delete[](void*, unsigned long)',
  '(anonymous namespace)::helper()',
  'main::{lambda(int)#1}::operator()(int) const',
  'std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_create(unsigned long&, unsigned long)',
  'make_name[abi:cxx11](int)',
  'bool std::operator< <char>(std::basic_string<char> const&, char const*)',
  'Foo<&bar, 3>::baz() &&',
  'a::b<c>::operator->*(int)',
  'f(int (*)(char, ...))',
  'operator"" _km(unsigned long long)',
  "Outer<'x'>::inner() volatile",
  'foo.cold',
  '0x7f4454053e80',
];
const JS_NAMES = [
  'JS:~makeDistinctBuffers file:///work/test/workloads/node/buffers.js:14:29',
  'JS:*$ file:///srv/app with spaces/index.js:1:1',
  'JS:^ñandú file:///home/zoë/προϊόν.mjs:3:7',
  'JS:+<anonymous> node:internal/main/run_main_module:1:1',
  'JS:~𝒻𝓊𝓃𝒸 file:///tmp/a;b.js:2:2',
  'JS:~get #private file:///a.js:1:1',
  'JS:~[Symbol.iterator] file:///a.js:9:9',
  'Builtin:InterpreterEntryTrampoline',
  'py::main:/srv/app.py',
  'JS:~"quoted" & <tagged> file:///x.js:1:1',
];

/** A frame name: the real shapes above, an arbitrary string, or a real shape with junk around it. */
const frameName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CPP_NAMES, ...JS_NAMES) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...CPP_NAMES), fc.constantFrom(';', ' ', '\n', '\t', '  ', ']]>', '</script>', '<!--', '&amp;', '\u2028'))
      .map(([name, junk]) => `${junk}${name}${junk}`),
  },
);

const profileArbitrary: fc.Arbitrary<StackProfile> = fc
  .array(fc.tuple(fc.array(frameName, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 1_000_000 })), {
    minLength: 1,
    maxLength: 12,
  })
  .map((stacks) => ({
    valueTypes: [{ name: 'samples', unit: 'count' as const }],
    defaultValue: 'samples',
    samples: stacks.map(([names, count]) => ({ frames: names.map((name) => ({ name })), values: { samples: count } })),
  }));

const OPTIONS = { title: 'hostile symbols', top: 100 };
const names = (profile: StackProfile): Set<string> =>
  new Set(profile.samples.flatMap((sample) => sample.frames.map((frame) => frame.name)));

// XML 1.0 text: tags, entity references and characters of its Char production, nothing else.
const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** Problems that make `markup` not well-formed XML/HTML text (after CDATA and scripts are set aside). */
function markupProblems(markup: string): string[] {
  const problems: string[] = [];
  if (!XML_CHAR.test(markup)) problems.push('a character XML does not allow');
  const cdata = markup.match(/<!\[CDATA\[[\s\S]*?\]\]>/g) ?? [];
  const outside = markup.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '<script></script>');
  if (cdata.length > 1) problems.push(`${cdata.length} CDATA sections`);
  const scripts = (markup.match(/<script\b/g) ?? []).length;
  const scriptEnds = (markup.match(/<\/script>/g) ?? []).length;
  if (scripts !== scriptEnds) problems.push(`${scripts} <script> but ${scriptEnds} </script>`);
  const bareAmpersand = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(outside);
  if (bareAmpersand) problems.push(`a bare & at ${outside.slice(bareAmpersand.index, bareAmpersand.index + 20)}`);
  const text = outside.replace(/<(?:[A-Za-z][^<>]*|\/[A-Za-z][A-Za-z0-9]*\s*|!DOCTYPE [^<>]*|\?xml [^<>]*\?|!--[^<>]*--)>/g, '');
  if (/[<>]/.test(text))
    problems.push(`a raw < or > in text: ${text.slice(Math.max(0, text.search(/[<>]/) - 20), text.search(/[<>]/) + 20)}`);
  return problems;
}

test('json and speedscope parse back with every name intact', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(profileArbitrary, (profile) => {
        const json = JSON.parse(renderStackProfile(profile, 'json', OPTIONS) as string) as {
          samples?: Array<{ frames: Array<{ name: string }> }>;
        };
        const jsonNames = new Set(JSON.stringify(json).length > 0 ? collectNames(json) : []);
        for (const name of names(profile)) if (!jsonNames.has(name)) throw new Error(`json lost ${JSON.stringify(name)}`);
        const speedscope = JSON.parse(renderStackProfile(profile, 'speedscope', OPTIONS) as string) as {
          shared: { frames: Array<{ name: string }> };
        };
        const speedscopeNames = new Set(speedscope.shared.frames.map((frame) => frame.name));
        for (const name of names(profile)) if (!speedscopeNames.has(name)) throw new Error(`speedscope lost ${JSON.stringify(name)}`);
      }),
      { seed: 0x73796d, numRuns: 200, includeErrorInReport: true },
    ),
  );
});

function collectNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(collectNames);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => (key === 'name' && typeof inner === 'string' ? [inner] : collectNames(inner)));
  }
  return [];
}

test('folded output is one stack a line and reads back as the names in their folded form', async (t) => {
  let counter = 0;
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(profileArbitrary, async (profile) => {
        const folded = renderStackProfile(profile, 'folded', OPTIONS) as string;
        for (const line of folded.split('\n').slice(0, -1))
          if (!/^[^\n]*\S \d+$/.test(line)) throw new Error(`not a folded line: ${JSON.stringify(line)}`);
        const path = `${directory}/symbols-${counter++}.folded`;
        writeFileSync(path, folded);
        const { profile: read, lines } = await readFolded(path, { lenient: false });
        if (lines.malformed !== 0) throw new Error(`${lines.malformed} bad lines`);
        const expected = new Set([...names(profile)].map((name) => foldedName({ name })));
        const readNames = names(read);
        if (readNames.size !== expected.size || [...expected].some((name) => !readNames.has(name))) {
          throw new Error(`folded names ${JSON.stringify([...readNames])} != ${JSON.stringify([...expected])}`);
        }
        if (renderFolded(read) !== folded) throw new Error('folded → model → folded changed the text');
      }),
      { seed: 0x73796e, numRuns: 200, includeErrorInReport: true },
    ),
  );
});

test('svg and html are well-formed markup with the names escaped', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(profileArbitrary, (profile) => {
        for (const format of ['svg', 'html'] as const) {
          const problems = markupProblems(renderStackProfile(profile, format, OPTIONS) as string);
          if (problems.length > 0) throw new Error(`${format}: ${problems.join('; ')}`);
        }
      }),
      { seed: 0x73796f, numRuns: 150, includeErrorInReport: true },
    ),
  );
});

test('pprof decodes with every name in its string table', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(profileArbitrary, (profile) => {
        const decoded = Profile.decode(gunzipSync(renderStackProfile(profile, 'pprof', OPTIONS) as Buffer));
        const strings = new Set(decoded.stringTable.strings);
        for (const name of names(profile)) if (!strings.has(name)) throw new Error(`pprof lost ${JSON.stringify(name)}`);
      }),
      { seed: 0x737970, numRuns: 150, includeErrorInReport: true },
    ),
  );
});

test('the table has as many lines whatever the names hold', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(profileArbitrary, (profile) => {
        // The same profile with plain names, one per distinct shown (folded) name: same rows, same lines.
        const shown = [...new Set([...names(profile)].map((name) => foldedName({ name })))];
        const plain = new Map(shown.map((name, index) => [name, `f${index}`]));
        const tame: StackProfile = {
          ...profile,
          samples: profile.samples.map((sample) => ({
            ...sample,
            frames: sample.frames.map((frame) => ({ name: plain.get(foldedName(frame))! })),
          })),
        };
        const lines = (renderStackProfile(profile, 'table', OPTIONS) as string).split('\n').length;
        const tameLines = (renderStackProfile(tame, 'table', OPTIONS) as string).split('\n').length;
        if (lines !== tameLines) throw new Error(`${lines} lines, ${tameLines} with plain names`);
      }),
      { seed: 0x737971, numRuns: 150, includeErrorInReport: true },
    ),
  );
});

test('the markup checker finds a raw <, a bare & and a character XML forbids', (t) => {
  t.deepEqual(markupProblems('<svg><text>a &lt; b</text></svg>'), []);
  t.deepEqual(markupProblems('<svg><text>a < b</text></svg>'), ['a raw < or > in text: a < b']);
  t.deepEqual(markupProblems('<svg><text>a & b</text></svg>'), ['a bare & at & b</text></svg>']);
  t.deepEqual(markupProblems('<svg><text>a \u0001 b</text></svg>'), ['a character XML does not allow']);
});
