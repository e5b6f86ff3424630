/** Plain-text tables, numbers and colours for what the demo and the bench print. */

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. @default 'left' */
  readonly align?: 'left' | 'right';
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;

/** Width as a terminal shows it: colour codes take no room. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/** Rows under a header and a rule, columns two spaces apart, each line indented by `indent`. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string[] {
  const widths = columns.map((column, index) =>
    Math.max(visibleLength(column.header), ...rows.map((row) => visibleLength(row[index] ?? ''))),
  );
  const line = (cells: readonly string[]): string =>
    indent +
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        const pad = ' '.repeat((widths[index] ?? 0) - visibleLength(cell));
        return column.align === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => '─'.repeat(width))),
    ...rows.map(line),
  ];
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  good(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
}

/** Colours only where a person watches a terminal: never in a pipe, a file or with NO_COLOR. */
export function styleFor(stream: { isTTY?: boolean }, env = process.env): Style {
  const enabled = stream.isTTY === true && env.NO_COLOR === undefined;
  const wrap =
    (open: number, close: number) =>
    (text: string): string =>
      enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    good: wrap(32, 39),
    bad: wrap(31, 39),
    warn: wrap(33, 39),
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

export function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export function milliseconds(ms: number): string {
  return `${Math.round(ms)} ms`;
}

/** A difference, always with its sign: `+24 ms`, `−2 ms`. */
export function millisecondsDelta(ms: number): string {
  const rounded = Math.round(ms);
  return `${rounded < 0 ? '−' : '+'}${Math.abs(rounded)} ms`;
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}x`;
}

/** A ratio as printed: judged on what a person reads, so 1.2049 is the 1.20x it shows. */
export function printedRatio(value: number): number {
  return Math.round(value * 100) / 100;
}
