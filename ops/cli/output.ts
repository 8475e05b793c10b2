// Output rules: with --json, stdout carries exactly one JSON document (the command's result) and nothing else;
// without it, stdout carries human text. Progress, warnings and errors always go to stderr, so a script that
// pipes stdout into a JSON parser never sees them.

/** Where text goes: process.stdout/stderr in the CLI, buffers in unit tests. */
export interface Sink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * Avro data as JSON: bytes become base64, longs beyond 2^53 (bigint) become strings, dates ISO strings.
 * Everything printed with --json goes through this, so the document always parses.
 */
export function toJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toJson(v)]),
    );
  }
  return String(value);
}

export class Output {
  constructor(
    readonly json: boolean,
    readonly io: CliIo,
  ) {}

  /** The command's result: one JSON document with --json, `human(value)` otherwise. */
  result<T>(value: T, human: (value: T) => string): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(toJson(value), null, 2)}\n`);
    } else {
      const text = human(value);
      if (text) this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A line of a streamed human listing (events tail); never used with --json. */
  line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Warnings and notes: stderr, in both modes. */
  note(text: string): void {
    this.io.stderr.write(`ledger: ${text}\n`);
  }
}

/** A plain text table: a header row, then left-aligned columns separated by two spaces. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(headers), ...rows.map(render)].join('\n');
}

/** 75 → "1m15s"; for ages and ETAs. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

/** Compact JSON of event data for one-line listings, cut at `max` characters. */
export function brief(value: unknown, max = 160): string {
  const text = JSON.stringify(toJson(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Human lines for the events a rebuild or replay left out; none when there were none. */
export function isolatedLines(report: {
  readonly count: number;
  readonly events: readonly { streamId: string; streamVersion: number; globalPosition: number; reason: string }[];
}): string[] {
  if (report.count === 0) return [];
  const listed = report.events.map(
    (e) => `  position ${e.globalPosition}  ${e.streamId} v${e.streamVersion}: ${e.reason}`,
  );
  const more = report.count > report.events.length ? [`  … and ${report.count - report.events.length} more`] : [];
  return [
    `${report.count} poison event(s) isolated (left out, as the live projector dead-letters them):`,
    ...listed,
    ...more,
  ];
}
