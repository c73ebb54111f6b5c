/** The service view's charts from its timeline rows (step_start, requests, errors, p50_ms, p99_ms). */
import type { Row } from '../api/types.js';
import { toNumber } from './format.js';
import { epochSeconds, type Series } from './widget-data.js';

export interface ServiceCharts {
  rate: Series[];
  errorRate: Series[];
  latency: Series[];
}

export function serviceCharts(rows: readonly Row[], stepSeconds: number): ServiceCharts {
  const rate: [number, number | null][] = [];
  const errorRate: [number, number | null][] = [];
  const p50: [number, number | null][] = [];
  const p99: [number, number | null][] = [];
  for (const row of rows) {
    const t = epochSeconds(row.step_start);
    if (t === null) continue;
    const requests = toNumber(row.requests) ?? 0;
    const errors = toNumber(row.errors) ?? 0;
    rate.push([t, requests / stepSeconds]);
    errorRate.push([t, requests > 0 ? errors / requests : null]);
    p50.push([t, toNumber(row.p50_ms)]);
    p99.push([t, toNumber(row.p99_ms)]);
  }
  return {
    rate: [{ label: 'requests/s', points: rate }],
    errorRate: [{ label: 'errors', points: errorRate }],
    latency: [
      { label: 'p50', points: p50 },
      { label: 'p99', points: p99 },
    ],
  };
}
