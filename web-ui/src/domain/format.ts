/** Numbers as people read them on a dashboard: short, with units, never "NaN". */

const missing = '–';

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Accepts numbers and the decimal strings DuckDB sends for HUGEINT and DECIMAL. */
export function toNumber(value: unknown): number | null {
  if (isNumber(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

export function formatCount(value: unknown): string {
  const n = toNumber(value);
  if (n === null) return missing;
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function formatRate(perSecond: unknown): string {
  const n = toNumber(perSecond);
  if (n === null) return missing;
  if (n === 0) return '0/s';
  if (Math.abs(n) < 0.01) return `${(n * 60).toFixed(2)}/min`;
  if (Math.abs(n) < 10) return `${n.toFixed(2)}/s`;
  return `${formatCount(Math.round(n))}/s`;
}

export function formatMs(ms: unknown): string {
  const n = toNumber(ms);
  if (n === null) return missing;
  if (n < 1) return `${Math.round(n * 1000)} µs`;
  if (n < 10) return `${n.toFixed(2)} ms`;
  if (n < 1000) return `${n.toFixed(n < 100 ? 1 : 0)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(2)} s`;
  return `${(n / 60_000).toFixed(1)} min`;
}

export function formatPercent(fraction: unknown): string {
  const n = toNumber(fraction);
  if (n === null) return missing;
  if (n === 0) return '0%';
  const pct = n * 100;
  if (pct < 0.1) return '<0.1%';
  return `${pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

export function formatBytes(bytes: unknown): string {
  const n = toNumber(bytes);
  if (n === null) return missing;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Timestamps from the store are UTC without a zone ("2026-11-28 10:00:00.123456789"). */
export function parseStoreTime(value: unknown): Date | null {
  if (value instanceof Date) return value;
  if (typeof value !== 'string') return null;
  const iso = value.includes('T') ? value : value.replace(' ', 'T');
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  // Date keeps milliseconds; trim the extra digits of nanosecond times.
  const trimmed = withZone.replace(/(\.\d{3})\d+/, '$1');
  const date = new Date(trimmed);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value: unknown): string {
  const date = parseStoreTime(value);
  if (!date) return missing;
  return date.toISOString().replace('T', ' ').slice(0, 23);
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}
