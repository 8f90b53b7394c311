// V8's sampling heap profiler, driven through node:inspector in the program's own thread. In that
// thread the inspector answers synchronously, so start and stop happen exactly where they are
// called. CommonJS with node: builtins only: the trace-malloc preload loads it inside the user's
// program, and the ESM API imports the same file.
//
// The profiler samples one allocation about every `samplingInterval` bytes (a Poisson process) and
// keeps the JavaScript stack of each. "allocated" keeps the samples of objects the GC has since
// collected (everything the code allocated); "retained" drops them (what is still alive at the stop:
// the growth of the live heap since the start).
import { Session } from 'node:inspector';

export type HeapSamplingMode = 'allocated' | 'retained';

/** V8's SamplingHeapProfile, as the inspector returns it and DevTools saves it (.heapprofile). */
export interface SamplingHeapProfileNode {
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  id: number;
  children: SamplingHeapProfileNode[];
}

export interface SamplingHeapProfile {
  head: SamplingHeapProfileNode;
  samples: Array<{ size: number; nodeId: number; ordinal: number }>;
}

export interface HeapSampling {
  /** Stops sampling and returns the profile (once; later calls return the same one). */
  stop(): SamplingHeapProfile;
}

export function startHeapSampling(samplingInterval: number, mode: HeapSamplingMode): HeapSampling {
  const session = new Session();
  session.connect();
  const call = <T,>(method: string, params?: object): T => {
    let failure: Error | null = null;
    let answer: T | undefined;
    session.post(method, params ?? {}, (error: Error | null, result?: unknown) => {
      failure = error;
      answer = result as T;
    });
    if (failure !== null) throw failure;
    return answer as T;
  };
  call('HeapProfiler.enable');
  const retainedOnly = mode === 'retained';
  call('HeapProfiler.startSampling', { samplingInterval, includeObjectsCollectedByMajorGC: !retainedOnly, includeObjectsCollectedByMinorGC: !retainedOnly });
  let profile: SamplingHeapProfile | null = null;
  return {
    stop() {
      if (profile === null) {
        profile = call<{ profile: SamplingHeapProfile }>('HeapProfiler.stopSampling').profile;
        call('HeapProfiler.disable');
        session.disconnect();
      }
      return profile;
    },
  };
}
