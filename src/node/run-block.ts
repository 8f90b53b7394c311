// The part heapStats() and traceMalloc() share: run the block being measured, keep its result or
// its error, and, when it threw, hand the report to the caller on the error before re-throwing it.

export type BlockOutcome<T> = { threw: false; result: T } | { threw: true; error: unknown; message: string };

export async function runBlock<T>(block: () => T | Promise<T>): Promise<BlockOutcome<Awaited<T>>> {
  try {
    return { threw: false, result: await block() };
  } catch (error) {
    return { threw: true, error, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Attaches the report as `error.memtraceReport` (when the error is an object) and throws the error. */
export function rethrowWithReport(error: unknown, report: object): never {
  if (typeof error === 'object' && error !== null) (error as { memtraceReport?: object }).memtraceReport = report;
  throw error;
}
