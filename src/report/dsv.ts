// Delimiter-separated tables for spreadsheets and scripts: each report that has a table defines it
// once (columns and rows of cells) and gets both TSV and CSV from it, written by d3-dsv, which
// quotes the cells that need it (a stack holding a comma, a mark label holding a tab).
import { csvFormat, tsvFormat } from 'd3-dsv';

export type DsvFormat = 'tsv' | 'csv';

export interface DsvTable<C extends string = string> {
  columns: readonly C[];
  rows: Array<Record<C, string | number>>;
}

export function renderDsv(table: DsvTable, format: DsvFormat): string {
  const write = format === 'csv' ? csvFormat : tsvFormat;
  return `${write(table.rows, [...table.columns])}\n`;
}
