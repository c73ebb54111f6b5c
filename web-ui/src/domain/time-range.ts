/**
 * The time range every view shows: a preset or custom "last N" window that slides with now, or a fixed
 * absolute range. It travels in the URL as "15m" or "2026-11-28T10:00:00.000Z~2026-11-28T11:00:00.000Z".
 */

export type TimeRange = { kind: 'relative'; seconds: number } | { kind: 'absolute'; from: Date; to: Date };

export const PRESETS: { label: string; text: string }[] = [
  { label: 'Last 5 minutes', text: '5m' },
  { label: 'Last 15 minutes', text: '15m' },
  { label: 'Last 1 hour', text: '1h' },
  { label: 'Last 6 hours', text: '6h' },
  { label: 'Last 24 hours', text: '24h' },
];

export const DEFAULT_RANGE: TimeRange = { kind: 'relative', seconds: 15 * 60 };

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Stores keep 24 h by default; a week is the most any view asks for. */
const MAX_SECONDS = 7 * 86400;

/** "15m", "2h", "90s", "1d", or "FROM~TO" (ISO times); null when the text is not a range. */
export function parseTimeRange(text: string): TimeRange | null {
  const relative = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (relative) {
    const seconds = Number(relative[1]) * (UNIT_SECONDS[relative[2] ?? 's'] ?? 1);
    return seconds > 0 && seconds <= MAX_SECONDS ? { kind: 'relative', seconds } : null;
  }
  const [fromText, toText, ...rest] = text.split('~');
  if (fromText === undefined || toText === undefined || rest.length > 0) return null;
  const from = new Date(fromText);
  const to = new Date(toText);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) return null;
  return { kind: 'absolute', from, to };
}

export function formatTimeRange(range: TimeRange): string {
  if (range.kind === 'absolute') return `${range.from.toISOString()}~${range.to.toISOString()}`;
  const s = range.seconds;
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** What the picker's button says. */
export function describeTimeRange(range: TimeRange): string {
  const preset = PRESETS.find((p) => p.text === formatTimeRange(range));
  if (preset) return preset.label;
  if (range.kind === 'relative') return `Last ${formatTimeRange(range)}`;
  const short = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);
  return `${short(range.from)} → ${short(range.to)} UTC`;
}

/** Seconds covered: the denominator of every per-second rate. */
export function rangeSeconds(range: TimeRange): number {
  return range.kind === 'relative' ? range.seconds : (range.to.getTime() - range.from.getTime()) / 1000;
}

/**
 * The `window` parameter of the bundled scripts (they look back from now). An absolute range is widened to
 * reach back to its start; views that can filter on both ends use timePredicate instead.
 */
export function scriptWindow(range: TimeRange, now: Date = new Date()): string {
  const seconds =
    range.kind === 'relative' ? range.seconds : Math.ceil((now.getTime() - range.from.getTime()) / 1000);
  return `${Math.max(1, seconds)} seconds`;
}

const timestamp = (d: Date) => `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;

/** A SQL predicate on `column` (a TIMESTAMP_NS in UTC) for the range. */
export function timePredicate(range: TimeRange, column = 'time'): string {
  if (range.kind === 'relative') {
    return `${column} >= (now() AT TIME ZONE 'UTC') - INTERVAL '${range.seconds} seconds'`;
  }
  return `${column} >= ${timestamp(range.from)} AND ${column} < ${timestamp(range.to)}`;
}

/** A sensible bucket width for charts: about 60 points over the range, on a round step. */
export function chartStepSeconds(range: TimeRange): number {
  const steps = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  const wanted = rangeSeconds(range) / 60;
  return steps.find((s) => s >= wanted) ?? 86400;
}
