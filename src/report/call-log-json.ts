// The json report of a call log: the model as it is — header, how reading went, every event in
// order ({event, file, line, function, rss, drss, number, clock, role}), the program's messages — and
// the functions ranked by RSS growth, so a script needs no second pass over the events.
import type { CallLog, FunctionGrowth } from '../model/call-log.js';
import { renderJson } from './json.js';

export function renderCallLogJson(log: CallLog, functions: FunctionGrowth[]): string {
  return renderJson({
    header: log.header,
    partial: log.partial,
    partialReason: log.partialReason,
    repeatedContext: log.repeatedContext,
    badLines: log.badLines,
    ...(log.lines === undefined ? {} : { lines: log.lines }),
    ...(log.tracer === undefined ? {} : { tracer: log.tracer }),
    ...(log.decimation === undefined ? {} : { decimation: log.decimation, summary: log.summary }),
    events: log.events,
    messages: log.messages,
    functions,
  });
}
