// Renders a FaultsSpec as a bpftrace program (bpftrace 0.17 and later, x86-64).
//
// What the program keeps, all in kernel maps (aggregations: nothing per event reaches user space):
//   @faults, @fault_kinds[error code & 0x13]   user-space page faults, by the x86 error-code bits
//                                              P (1: page present: a protection fault), W (2: a
//                                              write) and I (0x10: an instruction fetch)
//   @resident_bytes                            page size × faults on not-present pages (P = 0)
//   @brk_calls, @brk_bytes, @brk_shrink_bytes  brk calls, growth (new − old break) and shrinkage
//   @mmap_calls, @mmap_failed, @mmap_bytes     mmap calls, failures, lengths of the successful ones
//   @munmap_calls, @munmap_bytes               successful munmap calls and their lengths
//   @stack_faults[stack], @stack_resident_bytes[stack], @stack_brk_bytes[stack], @stack_mmap_bytes[stack]
//   @stack_frames[stack, depth]                the frames of each stack, stored once
//   @truncated, @stack_collisions, @regs_mismatch
// Tracepoints carry no registers: the walk starts from the user registers the kernel saved at the top
// of the task's kernel stack (checked against the fault's own `ip`: a mismatch is counted). Stacks
// are walked along frame pointers, as malloc's (render-malloc-bpf.ts renderStackWalk); the word at
// the stack pointer is kept as a candidate caller, because a leaf without a frame (memset, a
// syscall wrapper of libc) hides its caller from the frame-pointer chain; memtrace keeps it only
// when it names a function. In `dwarf` mode bpftrace's dw_ustack(raw) unwinds from the same saved
// registers with .eh_frame instead, and the stack itself is the key of the stack maps.
//
// Every interpolated value comes from a validated FaultsSpec: numbers are integers, the library is
// a path of a strict grammar and the exit symbol an identifier.
import type { FaultsSpec } from './faults-spec.js';
import { indent, probe, programConfig, renderStackWalk, stackLines, untyped } from './render-malloc-bpf.js';

export const FAULTS_BEGIN_MARKER = 'memtrace:begin faults';
export {
  MALLOC_DONE_MARKER as FAULTS_DONE_MARKER,
  MALLOC_END_MARKER as FAULTS_END_MARKER,
  MALLOC_HOLD_MARKER as FAULTS_HOLD_MARKER,
} from './render-malloc-bpf.js';

/** The x86 page-fault error-code bits kept: present (0x1), write (0x2), instruction fetch (0x10). */
const FAULT_KIND_BITS = 0x13;
/** Every combination of those bits: @fault_kinds' keys (8). */
const FAULT_KINDS = 2 ** FAULT_KIND_BITS.toString(2).replaceAll('0', '').length;

/** Maps printed at the end, in order; each is cleared after printing so bpftrace prints it only once. */
export const FAULTS_RESULT_MAPS = [
  '@faults',
  '@fault_kinds',
  '@resident_bytes',
  '@brk_calls',
  '@brk_bytes',
  '@brk_shrink_bytes',
  '@mmap_calls',
  '@mmap_failed',
  '@mmap_bytes',
  '@munmap_calls',
  '@munmap_bytes',
  '@truncated',
  '@stack_collisions',
  '@regs_mismatch',
  '@stack_faults',
  '@stack_resident_bytes',
  '@stack_brk_bytes',
  '@stack_mmap_bytes',
  '@stack_frames',
] as const;

/** Per-thread state between a syscall's entry and its exit. */
const SCRATCH_MAPS = ['@brk_old', '@mmap_len', '@munmap_len'];

/** The result maps a program of this spec defines (the walk's own maps only in frames mode). */
export function faultsResultMaps(spec: Pick<FaultsSpec, 'stackMode'>): string[] {
  const walkOnly = new Set(['@stack_collisions', '@regs_mismatch', '@stack_frames']);
  return FAULTS_RESULT_MAPS.filter((name) => spec.stackMode === 'frames' || !walkOnly.has(name));
}

export function renderFaultsBpf(spec: FaultsSpec): string {
  const pidFilter = `pid == ${spec.pid === null ? '$1' : String(spec.pid)}`;
  const page = spec.pageSize;
  const blocks: string[] = [...programConfig(spec, [['@fault_kinds', FAULT_KINDS]]), `BEGIN\n{\n  printf("${FAULTS_BEGIN_MARKER}\\n");\n}`];
  const results = faultsResultMaps(spec);

  blocks.push(
    probe('tracepoint:exceptions:page_fault_user', pidFilter, [
      ...userStack(spec),
      ...(spec.stackMode === 'frames' ? ['if ($ip != args->ip) { @regs_mismatch = count(); }'] : []),
      '@faults = count();',
      `@fault_kinds[args->error_code & 0x${FAULT_KIND_BITS.toString(16)}] = count();`,
      '@stack_faults[$stack] = count();',
      // Not present (P = 0): the fault maps a page. A protection fault (P = 1) maps none, except a
      // copy-on-write one, which replaces a page already counted in RSS or the shared zero page.
      'if ((args->error_code & 1) == 0) {',
      `  @resident_bytes = sum(${page});`,
      `  @stack_resident_bytes[$stack] = sum(${page});`,
      '}',
    ]),
  );

  // brk: the old break is the task's own (mm->brk) at entry, the new one brk's return value; a
  // refused brk returns the old break, and brk(0) (how glibc asks for the break) returns it too.
  blocks.push(
    probe('tracepoint:syscalls:sys_enter_brk', pidFilter, [...untyped('$old', 'curtask->mm->brk'), '@brk_old[tid] = $old;']),
    probe('tracepoint:syscalls:sys_exit_brk', `${pidFilter} && @brk_old[tid] != 0`, [
      ...untyped('$old', '@brk_old[tid]'),
      ...untyped('$new', '(uint64)args->ret'),
      'delete(@brk_old[tid]);',
      '@brk_calls = count();',
      'if ($new > $old) {',
      ...indent([...userStack(spec), '@brk_bytes = sum($new - $old);', '@stack_brk_bytes[$stack] = sum($new - $old);']),
      '} else if ($new < $old) {',
      '  @brk_shrink_bytes = sum($old - $new);',
      '}',
    ]),
  );

  // mmap and munmap: lengths rounded up to whole pages, as the kernel maps them; a negative return
  // is an error number (mmap returns MAP_FAILED to its caller).
  blocks.push(
    probe('tracepoint:syscalls:sys_enter_mmap', pidFilter, [`@mmap_len[tid] = (args->len + ${page - 1}) / ${page} * ${page};`]),
    probe('tracepoint:syscalls:sys_exit_mmap', `${pidFilter} && @mmap_len[tid] != 0`, [
      '$len = @mmap_len[tid];',
      'delete(@mmap_len[tid]);',
      '@mmap_calls = count();',
      'if (args->ret < 0) {',
      '  @mmap_failed = count();',
      '} else {',
      ...indent([...userStack(spec), '@mmap_bytes = sum($len);', '@stack_mmap_bytes[$stack] = sum($len);']),
      '}',
    ]),
    probe('tracepoint:syscalls:sys_enter_munmap', pidFilter, [`@munmap_len[tid] = (args->len + ${page - 1}) / ${page} * ${page};`]),
    probe('tracepoint:syscalls:sys_exit_munmap', `${pidFilter} && @munmap_len[tid] != 0`, [
      '$len = @munmap_len[tid];',
      'delete(@munmap_len[tid]);',
      'if (args->ret == 0) {',
      '  @munmap_calls = count();',
      '  @munmap_bytes = sum($len);',
      '}',
    ]),
  );

  if (spec.holdAtExit !== null) {
    // Stops the target in exit() until memtrace has read /proc/PID/maps and sent SIGCONT.
    blocks.push(
      probe(`uprobe:${spec.holdAtExit.library}:${spec.holdAtExit.symbol}`, pidFilter, [
        'printf("memtrace:hold %d\\n", pid);',
        'signal("SIGSTOP");',
      ]),
    );
  }
  if (spec.durationMs !== null) blocks.push(`interval:ms:${spec.durationMs}\n{\n  exit();\n}`);

  blocks.push(
    'END\n{\n' +
      indent([
        'printf("memtrace:end %lu\\n", nsecs);',
        ...results.map((name) => `print(${name});`),
        'printf("memtrace:done\\n");',
        ...[...results, ...SCRATCH_MAPS].map((name) => `clear(${name});`),
      ]).join('\n') +
      '\n}',
  );
  return `${blocks.join('\n\n')}\n`;
}

/** The faulting (or calling) thread's user stack into `$stack`, from its saved user registers. */
function userStack(spec: FaultsSpec): string[] {
  // dw_ustack finds the saved user registers itself.
  if (spec.stackMode === 'dwarf') return stackLines(spec);
  return [
    `$regs = (struct pt_regs *)((uint64)curtask->stack + ${spec.kernelStackSize} - sizeof(struct pt_regs));`,
    ...untyped('$ip', '$regs->ip'),
    ...untyped('$bp', '$regs->bp'),
    ...renderStackWalk({
      depth: spec.stackDepth,
      leaf: '$ip',
      framePointer: '$bp',
      readUser: (address) => `*(uint64 *)uptr(${address})`,
      extraFrames: ['*(uint64 *)uptr($regs->sp)'],
      // Faults and syscalls happen inside glibc and the loader, built without frame pointers.
      upwardOnly: true,
      kernelProbe: true,
    }),
  ];
}
