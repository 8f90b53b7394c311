// One row per sample with every value in bytes, and the labels of the marks taken with it: the tsv
// and csv reports of a process series.
import { markSampleIndexes, oneLine, presentValues, type Series } from '../model/series.js';
import type { DsvTable } from './dsv.js';

export function seriesTable(series: Series): DsvTable {
  const values = presentValues(series);
  const tree = series.samples.some((sample) => typeof sample.totalRss === 'number');
  const labels = new Map<number, string[]>();
  markSampleIndexes(series).forEach((index, markIndex) => {
    const at = index === -1 ? series.samples.length - 1 : index;
    labels.set(at, [...(labels.get(at) ?? []), oneLine(series.marks[markIndex]!.text)]);
  });
  const columns = ['t', 'elapsed', 'pid', ...values, ...(tree ? ['totalRss', 'totalVsz', 'children'] : []), 'label'];
  const rows = series.samples.map((sample, index) => {
    const row: Record<string, string | number> = { t: sample.t, elapsed: sample.elapsed, pid: sample.pid };
    for (const name of values) row[name] = sample[name] ?? '';
    if (tree) {
      row.totalRss = sample.totalRss ?? '';
      row.totalVsz = sample.totalVsz ?? '';
      row.children = sample.children?.length ?? 0;
    }
    row.label = (labels.get(index) ?? []).join('; ');
    return row;
  });
  return { columns, rows };
}
