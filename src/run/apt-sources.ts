// The Debian mirror this machine already uses, read from its apt sources, so that setup-bpftrace
// downloads from the same place apt does (a local mirror or a caching proxy on a closed network)
// rather than from the Internet's deb.debian.org.
//
// Two formats (sources.list(5)):
//   deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
//
//   Types: deb
//   URIs: http://deb.debian.org/debian
//   Suites: bookworm bookworm-updates
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface AptSourceFile {
  path: string;
  text: string;
}

/**
 * The first Debian archive among the files' `deb` entries, in the order given, or null. A Debian
 * archive is a URL whose path ends in `/debian`: that excludes debian-security (it holds only
 * security updates, not testing's bpftrace), deb-src entries, and other vendors' repositories
 * (nodesource, Google Cloud, Ubuntu's archive, which has no forky).
 */
export function debianMirrorFromSources(files: readonly AptSourceFile[]): string | null {
  for (const file of files) {
    const uris = file.path.endsWith('.sources') ? deb822Uris(file.text) : oneLineUris(file.text);
    const mirror = uris.find(isDebianArchive);
    if (mirror !== undefined) return mirror.replace(/\/+$/, '');
  }
  return null;
}

/** /etc/apt/sources.list, then sources.list.d's `.list` and `.sources` files in name order, as apt reads them. */
export async function readAptSources(etcApt = '/etc/apt'): Promise<AptSourceFile[]> {
  const files: AptSourceFile[] = [];
  const read = async (path: string) => {
    try {
      files.push({ path, text: await readFile(path, 'utf8') });
    } catch {
      // A missing or unreadable file is no source: the default mirror serves.
    }
  };
  await read(join(etcApt, 'sources.list'));
  let names: string[] = [];
  try {
    names = (await readdir(join(etcApt, 'sources.list.d'))).filter((name) => /\.(list|sources)$/.test(name)).sort();
  } catch {
    // No sources.list.d.
  }
  for (const name of names) await read(join(etcApt, 'sources.list.d', name));
  return files;
}

/** The host's Debian mirror, or deb.debian.org when its sources name none. */
export async function hostDebianMirror(etcApt = '/etc/apt'): Promise<string> {
  return debianMirrorFromSources(await readAptSources(etcApt)) ?? DEFAULT_DEBIAN_MIRROR;
}

function isDebianArchive(uri: string): boolean {
  return /^(https?|ftp):\/\/[^\s/]+(\/[^\s]*)?\/debian\/*$/.test(uri);
}

/** `deb [options] URI suite components…` lines; `#` starts a comment. */
function oneLineUris(text: string): string[] {
  const uris: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (match) uris.push(match[1]!);
  }
  return uris;
}

/** deb822 stanzas (blank-line separated) whose Types include deb and that are not `Enabled: no`. */
function deb822Uris(text: string): string[] {
  const uris: string[] = [];
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const rawLine of stanza.split('\n')) {
      if (/^\s*#/.test(rawLine)) continue;
      if (/^[ \t]/.test(rawLine) && last !== null) {
        // A continuation line (a multi-line field such as an inline Signed-By key).
        fields.set(last, `${fields.get(last)} ${rawLine.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(rawLine);
      if (!match) continue;
      last = match[1]!.toLowerCase();
      fields.set(last, match[2]!.trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if (/^(no|false)$/i.test(fields.get('enabled') ?? '')) continue;
    uris.push(...(fields.get('uris') ?? '').split(/\s+/).filter(Boolean));
  }
  return uris;
}
