// Tells whether the bytes just before a return address end in an x86-64 call instruction. A
// frame-pointer walk through code built without frame pointers reads whatever the register held:
// a word that happens to point into executable code is still not a return address unless a call
// sits right before it, so this catches garbage an executable-mapping test lets through.
//
// Reference: Intel SDM vol. 2A, CALL: `E8 cd` (call rel32, 5 bytes) and `FF /2` (call r/m64: the
// ModRM reg field is 2), optionally after a REX prefix (0x40–0x4f) and a segment, operand-size or
// CET `notrack` (0x3e) prefix. Examples, as objdump shows them:
//
//   e8 1b fe ff ff          call   1050 <malloc@plt>
//   ff d0                   call   *%rax
//   41 ff d4                call   *%r12
//   ff 15 a2 2f 00 00       call   *0x2fa2(%rip)
//   ff 54 24 08             call   *0x8(%rsp)
//   3e ff d0                notrack call *%rax

const PREFIXES = new Set([0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x66, 0x67]);

/** The longest call form: prefix, REX, FF, ModRM, SIB, disp32. */
export const CALL_BYTES_BEFORE = 9;

/** True when `before` (the bytes that end at a return address) ends with a call instruction. */
export function endsWithCall(before: Uint8Array): boolean {
  const n = before.length;
  if (n >= 5 && before[n - 5] === 0xe8) return true;
  for (let length = 2; length <= Math.min(n, CALL_BYTES_BEFORE); length++) {
    if (isIndirectCall(before, n - length, n)) return true;
  }
  return false;
}

/** Whether bytes [start, end) are exactly one `FF /2` call, with its optional prefixes. */
function isIndirectCall(bytes: Uint8Array, start: number, end: number): boolean {
  let at = start;
  if (PREFIXES.has(bytes[at]!)) at++;
  if (bytes[at]! >= 0x40 && bytes[at]! <= 0x4f) at++;
  if (bytes[at] !== 0xff || at + 1 >= end) return false;
  const modrm = bytes[at + 1]!;
  if (((modrm >> 3) & 7) !== 2) return false;
  return at + 2 + operandBytes(modrm, bytes[at + 2]) === end;
}

/** Bytes after the ModRM byte: SIB and displacement, as its mod and r/m fields say. */
function operandBytes(modrm: number, sib: number | undefined): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 0;
  const hasSib = rm === 4 ? 1 : 0;
  if (mod === 0) {
    if (rm === 5) return 4; // RIP-relative disp32
    // A SIB with base 5 and mod 0 has a disp32 and no base register.
    return hasSib + (hasSib === 1 && sib !== undefined && (sib & 7) === 5 ? 4 : 0);
  }
  return hasSib + (mod === 1 ? 1 : 4);
}
