/** Latency per endpoint, recorded against replayed: how a new build's speed compares, request for request. */

import type { EntryResult } from '../replay/replay-run.js';

export interface LatencyChange {
  endpoint: string;
  /** Requests that have both latencies. */
  count: number;
  recorded: { p50: number; p99: number };
  replayed: { p50: number; p99: number };
}

/** Nearest-rank percentile of values sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function latencyByEndpoint(results: readonly EntryResult[]): LatencyChange[] {
  const groups = new Map<string, { recorded: number[]; replayed: number[] }>();
  for (const result of results) {
    if (result.replayedMs === undefined) continue;
    const group = groups.get(result.endpoint) ?? { recorded: [], replayed: [] };
    group.recorded.push(result.recordedMs);
    group.replayed.push(result.replayedMs);
    groups.set(result.endpoint, group);
  }
  const ascending = (a: number, b: number) => a - b;
  return [...groups]
    .map(([endpoint, { recorded, replayed }]) => {
      recorded.sort(ascending);
      replayed.sort(ascending);
      return {
        endpoint,
        count: recorded.length,
        recorded: { p50: percentile(recorded, 50), p99: percentile(recorded, 99) },
        replayed: { p50: percentile(replayed, 50), p99: percentile(replayed, 99) },
      };
    })
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

/** `1.20 → 1.50 ms (+25%)` */
export function formatChange(recorded: number, replayed: number): string {
  const ms = (value: number) =>
    value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  const change = recorded > 0 ? Math.round(((replayed - recorded) / recorded) * 100) : undefined;
  const sign = change === undefined ? '' : ` (${change >= 0 ? '+' : ''}${change}%)`;
  return `${ms(recorded)} → ${ms(replayed)} ms${sign}`;
}
