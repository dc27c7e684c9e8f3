import Table from 'cli-table3';
import pc from 'picocolors';
export { shown } from '../shown.js';

/** Colour and box tables only when a person is looking; plain, stable text when piped. */
export const interactive = Boolean(process.stdout.isTTY);
export const colors = pc.createColors(interactive && !process.env.NO_COLOR);
/** The same for what goes to stderr (a banner), which may be a terminal while stdout is piped, or the reverse. */
export const stderrColors = pc.createColors(Boolean(process.stderr.isTTY) && !process.env.NO_COLOR);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, interactive ? 2 : 0)}\n`);
}

/** A table: boxed on a terminal, tab-separated columns when piped (easy to cut/awk). */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  if (!interactive) return [head, ...rows].map((r) => r.join('\t')).join('\n');
  const table = new Table({ head: head.map((h) => colors.bold(h)), style: { head: [], border: [] } });
  table.push(...rows.map((r) => r.map(String)));
  return table.toString();
}

export function percent(x: number | null, digits = 1): string {
  return x === null ? '-' : `${(100 * x).toFixed(digits)}%`;
}

export function ms(x: number): string {
  return x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`;
}
