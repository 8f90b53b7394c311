// Finding a running Node process's inspector from outside, on Linux: which TCP ports the process
// listens on (its sockets in /proc/PID/fd, matched by inode against /proc/PID/net/tcp and tcp6), and
// whether it may be sent SIGUSR1 at all.
//
// The ports are the process's own, never "whatever answers on 9229": another program (or another
// user's Node) may hold that port, and memtrace, running as root, must not talk to it in the
// target's name.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** The address to connect to: the one it listens on, or loopback for a wildcard listener. */
  host: string;
  port: number;
}

/** TCP state 0A in /proc/net/tcp: LISTEN. */
const LISTEN = '0A';

/**
 * The TCP sockets `pid` listens on, in the order the kernel lists them. Empty when the process
 * has none; throws when /proc cannot be read (the process has gone, or belongs to another user).
 */
export function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = socketInodes(pid);
  const sockets: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch (error) {
      // A kernel built without IPv6 has no tcp6.
      if (table === 'tcp6' && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    sockets.push(...parseListeningSockets(text, table, inodes));
  }
  return sockets;
}

/** The inodes of the sockets open in `pid` (`socket:[INODE]` links in /proc/PID/fd). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read
    }
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match !== null) inodes.add(match[1]!);
  }
  return inodes;
}

/**
 * The listening sockets of one /proc/net/tcp or tcp6 table whose inode is in `inodes`. The table's
 * columns: sl, local_address (HEXADDR:HEXPORT), rem_address, st, tx_queue:rx_queue, tr:tm->when,
 * retrnsmt, uid, timeout, inode. Lines that do not have that shape are skipped: the table is the
 * kernel's, and a line memtrace cannot read only means one socket fewer to try.
 */
export function parseListeningSockets(text: string, table: 'tcp' | 'tcp6', inodes: ReadonlySet<string>): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns.length < 10 || columns[3] !== LISTEN || !inodes.has(columns[9]!)) continue;
    const match = /^([0-9A-F]+):([0-9A-F]{4})$/i.exec(columns[1]!);
    if (match === null) continue;
    const host = table === 'tcp' ? ipv4Host(match[1]!) : ipv6Host(match[1]!);
    if (host === null) continue;
    sockets.push({ host, port: Number.parseInt(match[2]!, 16) });
  }
  return sockets;
}

/** An IPv4 address as the kernel prints it (one 32-bit word in host order, little-endian here). */
function ipv4Host(hex: string): string | null {
  if (hex.length !== 8) return null;
  const bytes = [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
  return bytes.every((byte) => byte === 0) ? '127.0.0.1' : bytes.join('.');
}

/** An IPv6 address as the kernel prints it: four 32-bit words, each little-endian here. */
function ipv6Host(hex: string): string | null {
  if (hex.length !== 32) return null;
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    for (const at of [6, 4, 2, 0]) bytes.push(Number.parseInt(hex.slice(word * 8 + at, word * 8 + at + 2), 16));
  }
  if (bytes.every((byte) => byte === 0)) return '::1';
  // An IPv4-mapped address (::ffff:a.b.c.d) is reached by its IPv4 form.
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let at = 0; at < 16; at += 2) groups.push(((bytes[at]! << 8) | bytes[at + 1]!).toString(16));
  // The URL parser writes an IPv6 address in its canonical short form (2001:db8::1).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Signal numbers as in /proc/PID/status's masks (bit N-1 for signal N): Linux on x86 and ARM. */
const SIGUSR1 = 10;

/**
 * Whether `pid` has a handler for SIGUSR1 (the SigCgt mask of /proc/PID/status). Node installs one
 * early in its start-up, unless it runs with --disable-sigusr1; a process without one dies of the
 * signal, so memtrace never sends it then.
 */
export function catchesSigusr1(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mask = /^SigCgt:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  if (mask === undefined) return false;
  return (BigInt(`0x${mask}`) >> BigInt(SIGUSR1 - 1)) & 1n ? true : false;
}

/**
 * Whether `pid` shares memtrace's network namespace: only then is the address in its socket table
 * the one memtrace connects to (a process in a container listens on the container's loopback).
 */
export function sharesNetworkNamespace(pid: number): boolean {
  return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net');
}
