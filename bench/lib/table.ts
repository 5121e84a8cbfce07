// Plain-text tables for the benchmark report (terminal and README): right-aligned
// numbers, left-aligned text, a rule under the header.

export type Cell = string | number;

function fmt(c: Cell): string {
  if (typeof c === 'string') return c;
  if (!Number.isFinite(c)) return '-';
  if (Number.isInteger(c)) return String(c);
  if (Math.abs(c) >= 100) return String(Math.round(c));
  if (Math.abs(c) >= 10) return c.toFixed(1);
  return c.toFixed(2);
}

export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header.map(String), ...rows.map((r) => r.map(fmt))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  const line = (r: readonly string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The same rows as a Markdown table (for README copies). */
export function markdown(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  return [
    `| ${header.join(' | ')} |`,
    `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`),
  ].join('\n');
}
