/** Human units on the command line: durations like 90s, 15m, 24h, 7d and sizes like 512MiB, 1GB, 4096. */

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

export class UsageError extends Error {}

export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw new UsageError(`${flag}: '${text}' is not a duration like 90s, 15m, 24h or 7d`);
  return Number(m[1]) * (DURATION_MS[m[2]] ?? 1);
}

export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_BYTES[(m?.[2] ?? 'x').toLowerCase()];
  if (!m?.[1] || unit === undefined)
    throw new UsageError(`${flag}: '${text}' is not a size like 4096, 512MiB or 1GB`);
  return Math.floor(Number(m[1]) * unit);
}

export function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${flag}: '${text}' is not a port`);
  return port;
}

/** A CPU share like 0.5 or 2 (cores). */
export function parseCores(text: string, flag: string): number {
  const cores = /^\d+(?:\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(cores > 0)) throw new UsageError(`${flag}: '${text}' is not a number of cores like 0.5 or 2`);
  return cores;
}
