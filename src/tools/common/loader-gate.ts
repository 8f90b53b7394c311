// The loader gate a DWARF trace of a launched command passes first (probes/render-loader-gate-bpf.ts
// says why), as TraceSession takes it.
import { LOADER_GATE_ARMED_MARKER, LOADER_GATE_MARKER, renderLoaderGateBpf } from '../../probes/render-loader-gate-bpf.js';
import type { TraceSessionOptions } from '../../run/trace-session.js';
import { readCommandInterpreter } from '../../symbols/elf-interp.js';

export async function loaderGateFor(launchPath: string): Promise<NonNullable<TraceSessionOptions['loaderGate']>> {
  const interpreter = await readCommandInterpreter(launchPath).catch(() => null);
  return {
    program: (pid: number) => renderLoaderGateBpf({ pid, interpreter }),
    armedMarker: LOADER_GATE_ARMED_MARKER,
    gatedMarker: LOADER_GATE_MARKER,
  };
}
