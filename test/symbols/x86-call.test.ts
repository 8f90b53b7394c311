import test from 'ava';
import { endsWithCall } from '../../src/symbols/x86-call.js';

const bytes = (hex: string) => Buffer.from(hex.replace(/ /g, ''), 'hex');

// Each case: the bytes ending at a return address (objdump's encoding of the call, after filler).
const calls: Array<[string, string]> = [
  ['call rel32', '90 90 90 90 e8 1b fe ff ff'],
  ['call *%rax', '90 90 90 90 90 90 90 ff d0'],
  ['call *%r12 (REX)', '90 90 90 90 90 90 41 ff d4'],
  ['call *0x2fa2(%rip)', '90 90 90 ff 15 a2 2f 00 00'],
  ['call *0x8(%rsp) (SIB, disp8)', '90 90 90 90 90 ff 54 24 08'],
  ['call *0x18(%rax) (disp8)', '90 90 90 90 90 90 ff 50 18'],
  ['call *0x118(%rbx) (disp32)', '90 90 90 ff 93 18 01 00 00'],
  ['notrack call *%rax', '90 90 90 90 90 90 3e ff d0'],
];
for (const [what, hex] of calls) {
  test(`a return address after ${what} follows a call`, (t) => {
    t.true(endsWithCall(bytes(hex)));
  });
}

// What a word of garbage points after: ordinary instructions, ASCII text, a jmp through a register.
const notCalls: Array<[string, string]> = [
  ['mov %rax,%rbx; ret', '90 90 90 90 48 89 c3 c3 90'],
  ['ASCII "ead.\\0/"', '72 65 61 64 2e 00 2f 00 00'],
  ['jmp *%rax (FF /4)', '90 90 90 90 90 90 90 ff e0'],
  ['push rbp; mov rsp,rbp (a function start)', '90 90 90 90 90 55 48 89 e5'],
];
for (const [what, hex] of notCalls) {
  test(`a return address after ${what} does not follow a call`, (t) => {
    t.false(endsWithCall(bytes(hex)));
  });
}
