/**
 * The Nodes view's model: each node's drops by reason, and the
 * history of events/s and drops from the collector_stats samples, bucketed over the time range.
 */
import type { Row } from '../api/types.js';
import { toNumber } from './format.js';
import { chartStepSeconds, timePredicate, type TimeRange } from './time-range.js';
import { epochSeconds, type Series } from './widget-data.js';

/** Reasons with a non-zero count, largest first, as "ring_full 12, store_rejected 3". */
export function describeDrops(byReason: Record<string, number> | undefined): string {
  if (!byReason) return '';
  return Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}

/**
 * Per node and time step: events/s and drops. collector_stats rows are samples of what happened since the
 * previous one, so summing them over a step and dividing by its width gives the rate.
 */
export function collectorHistorySql(range: TimeRange): string {
  const step = chartStepSeconds(range);
  return `SELECT node, time_bucket(INTERVAL '${step} seconds', time::TIMESTAMP) AS step_start,
       sum(events) / ${step} AS events_per_s, sum(drops)::BIGINT AS drops
  FROM collector_stats
 WHERE ${timePredicate(range)}
 GROUP BY ALL
 ORDER BY step_start, node`;
}

/** One line per node of the column `measure` over the steps of the history. */
export function historySeries(rows: Row[], measure: 'events_per_s' | 'drops'): Series[] {
  const steps = [...new Set(rows.map((r) => epochSeconds(r.step_start)).filter((t) => t !== null))].sort(
    (a, b) => a - b,
  );
  const byNode = new Map<string, Map<number, number | null>>();
  for (const row of rows) {
    const t = epochSeconds(row.step_start);
    if (t === null) continue;
    const node = String(row.node);
    let line = byNode.get(node);
    if (!line) byNode.set(node, (line = new Map()));
    line.set(t, toNumber(row[measure]));
  }
  return [...byNode.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, line]) => ({ label, points: steps.map((t) => [t, line.get(t) ?? null]) }));
}
