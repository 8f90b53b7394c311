// Laying text out in fixed widths, for the terminal tables and the svg titles.

/** At most `length` characters: a longer text is cut and ends with "…". */
export function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** Words in lines of at most `width` characters; a word longer than that stands alone on its line. */
export function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

/** The report header's lines for what memtrace chose for its tracer (where free was probed, …). */
export function tracerChoiceLines(tracer: { choices?: string[] }, width = 80): string[] {
  return (tracer.choices ?? []).flatMap((choice) =>
    wrap(`Tracer: ${choice}`, width - 2).map((part, index) => (index === 0 ? part : `  ${part}`)),
  );
}
