/**
 * Bundled scripts made comparable between two databases read at different moments: the sliding window
 * `time >= now - $window` becomes a fixed range, and parameters can be inlined for the reference database.
 */
import type { TypedValue } from '../../src/planner/bind-values.js';

const SLIDING_WINDOW = "time >= (now() AT TIME ZONE 'UTC') - $window";

export function closedWindow(sql: string, from: string, until: string): string {
  if (!sql.includes(SLIDING_WINDOW)) throw new Error('script has no sliding window');
  return sql.replaceAll(SLIDING_WINDOW, `time BETWEEN TIMESTAMP '${from}' AND TIMESTAMP '${until}'`);
}

/** The parameters the SQL still mentions. */
export function paramsUsed(sql: string, params: Record<string, TypedValue>): Record<string, TypedValue> {
  return Object.fromEntries(Object.entries(params).filter(([name]) => new RegExp(`\\$${name}\\b`).test(sql)));
}

/** The SQL with its parameters pasted in as literals, for the reference database only. */
export function inlineParams(sql: string, params: Record<string, TypedValue>): string {
  return sql.replace(/\$([a-z_]+)/g, (_, name: string) => {
    const param = params[name];
    if (!param) throw new Error(`no value for $${name}`);
    return `CAST('${param.text.replace(/'/g, "''")}' AS ${param.type})`;
  });
}
