/**
 * Plans of recent queries, so that a script run again (a dashboard refreshing) is not planned again: planning
 * costs a few dozen DuckDB parse, print and bind round trips, more than the nodes need for a small window.
 *
 * A plan depends on the SQL, the parameters and the node tables' schemas, not on the clock: it is made with a
 * sentinel instant, whose literals are swapped for the query's own instant on every use. SQL that happens to
 * contain the sentinel's text is never cached. At most `capacity` plans, least recently used first out.
 */

import type { QueryInstant } from '../planner/bind-values.js';
import type { QueryPlan } from '../planner/query-planner.js';

export const SENTINEL_INSTANT: QueryInstant = {
  timestamptz: '2000-01-02 03:04:05.060708+00',
  timestamp: '2000-01-02 03:04:05.060708',
  date: '2000-01-02',
  timetz: '03:04:05.060708+00',
  time: '03:04:05.060708',
};

const FIELDS = Object.keys(SENTINEL_INSTANT) as (keyof QueryInstant)[];

export function isCacheable(sql: string): boolean {
  return !sql.includes(SENTINEL_INSTANT.date) && !sql.includes(SENTINEL_INSTANT.time);
}

/** The plan's SQL with the sentinel's literals (quoted, so one never matches inside another) replaced. */
function withInstant(sql: string, instant: QueryInstant): string {
  let out = sql;
  for (const field of FIELDS)
    out = out.replaceAll(`'${SENTINEL_INSTANT[field]}'`, `'${instant[field].replace(/'/g, "''")}'`);
  return out;
}

/** A plan made with the sentinel instant, for `instant`. */
export function planAt(plan: QueryPlan, instant: QueryInstant): QueryPlan {
  return {
    brokerSql: withInstant(plan.brokerSql, instant),
    fragments: plan.fragments.map((fragment) => ({ ...fragment, sql: withInstant(fragment.sql, instant) })),
  };
}

export class PlanCache {
  private readonly plans = new Map<string, QueryPlan>();
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = 100) {}

  /** The plan made with the sentinel instant, for `instant`. */
  get(key: string, instant: QueryInstant): QueryPlan | undefined {
    const plan = this.plans.get(key);
    if (!plan) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    this.plans.delete(key);
    this.plans.set(key, plan);
    return planAt(plan, instant);
  }

  set(key: string, plan: QueryPlan): void {
    this.plans.set(key, plan);
    if (this.plans.size > this.capacity) this.plans.delete(this.plans.keys().next().value as string);
  }
}
