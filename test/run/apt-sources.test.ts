// Which mirror setup-bpftrace downloads Debian testing from: the host's own Debian archive.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { debianMirrorFromSources, DEFAULT_DEBIAN_MIRROR, hostDebianMirror } from '../../src/run/apt-sources.js';
import { makeTemporaryDirectory } from '../symbols/helpers.js';

const temporary = makeTemporaryDirectory('apt-sources');
test.after.always(() => temporary.cleanup());

// Debian 12's own /etc/apt/sources.list.d/debian.sources, as installed on this project's machines.
const DEBIAN_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

test('deb822: the first Debian archive, not debian-security', (t) => {
  t.is(debianMirrorFromSources([{ path: '/etc/apt/sources.list.d/debian.sources', text: DEBIAN_SOURCES }]), 'http://deb.debian.org/debian');
});

test('deb822: security first, a disabled stanza and deb-src are skipped; a trailing slash goes', (t) => {
  const text = `Types: deb
URIs: http://security.debian.org/debian-security
Suites: bookworm-security

Types: deb
URIs: http://disabled.example/debian
Enabled: no

Types: deb-src
URIs: http://source-only.example/debian

Types: deb deb-src
URIs: http://ftp.de.debian.org/debian/ http://other.example/debian
Suites: bookworm
`;
  t.is(debianMirrorFromSources([{ path: 'x.sources', text }]), 'http://ftp.de.debian.org/debian');
});

test('one-line format: options in brackets, comments, a caching proxy, other vendors skipped', (t) => {
  const text = `# deb http://commented.example/debian bookworm main
deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main
deb-src http://deb.debian.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://apt-cacher:3142/deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm main
`;
  t.is(debianMirrorFromSources([{ path: '/etc/apt/sources.list', text }]), 'http://apt-cacher:3142/deb.debian.org/debian');
});

test('no Debian archive at all (Ubuntu, nodesource only): null, so the default serves', (t) => {
  t.is(
    debianMirrorFromSources([
      { path: '/etc/apt/sources.list', text: 'deb http://archive.ubuntu.com/ubuntu noble main\n' },
      { path: 'n.sources', text: 'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n' },
    ]),
    null,
  );
  t.is(debianMirrorFromSources([]), null);
});

test('the files are read as apt reads them: sources.list first, then sources.list.d in name order', async (t) => {
  const etc = join(temporary.dir, 'etc-apt');
  mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
  writeFileSync(join(etc, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://b.example/debian\n');
  writeFileSync(join(etc, 'sources.list.d', 'a.list'), 'deb http://a.example/debian bookworm main\n');
  writeFileSync(join(etc, 'sources.list.d', 'c.list.disabled'), 'deb http://c.example/debian bookworm main\n');
  t.is(await hostDebianMirror(etc), 'http://a.example/debian');
  writeFileSync(join(etc, 'sources.list'), 'deb http://first.example/debian bookworm main\n');
  t.is(await hostDebianMirror(etc), 'http://first.example/debian');
  t.is(await hostDebianMirror(join(temporary.dir, 'no-such-etc-apt')), DEFAULT_DEBIAN_MIRROR);
});
