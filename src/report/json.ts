// The json report: the model object as it is (its key order is the documented contract's), two-space
// indented, with a final newline.
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
