import test from 'ava';
import { mallocStackProfile } from '../../src/model/malloc-profile.js';
import { renderFolded } from '../../src/report/folded.js';
import { sampleProfile } from '../helpers/profiles.js';

test('one sorted line per stack, root first, with the chosen value', (t) => {
  const profile = mallocStackProfile(sampleProfile());
  t.is(renderFolded(profile), 'main;load<std::vector<int>&> 94208\nmain;parse:args 168\n');
  t.is(renderFolded(profile, 'allocs'), 'main;load<std::vector<int>&> 23\nmain;parse:args 7\n');
});

test('zero values are left out', (t) => {
  t.is(renderFolded(mallocStackProfile(sampleProfile(), 'outstandingBytes')), 'main;load<std::vector<int>&> 28672\n');
});

test('equal stacks merge and whitespace in names collapses', (t) => {
  const frames = [{ name: 'a\nb  c' }, { name: 'leaf' }];
  t.is(
    renderFolded({ valueTypes: [{ name: 'n', unit: 'count' }], defaultValue: 'n', samples: [{ frames, values: { n: 2 } }, { frames, values: { n: 3 } }] }),
    'a b c;leaf 5\n',
  );
});

test('an empty profile renders nothing', (t) => {
  t.is(renderFolded({ valueTypes: [], defaultValue: 'n', samples: [] }), '');
});
