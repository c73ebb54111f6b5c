/**
 * exportHar: captured exchanges as a HAR 1.2 document. It reads through a QuerySource, so the CLI (over HTTP,
 * to a broker) and a future API route (in process, with the broker's QueryExecutor) share one implementation.
 */

import { readFileSync } from 'node:fs';
import { HAR_VERSION, type Har } from '../har/har.js';
import { pageSql, untilSql, type ExportFilter } from './export-query.js';
import { rowToEntry, type HttpEventRow } from './row-to-entry.js';

/** Runs one SELECT. The query engine's QueryExecutor has this shape. */
export interface QuerySource {
  run(sql: string): Promise<{ rows: Record<string, unknown>[]; truncated: boolean }>;
}

export interface ExportHarOptions extends ExportFilter {
  source: QuerySource;
  /** Most entries exported; at most MAX_EXPORT_ENTRIES. */
  limit?: number;
  /** Rows asked for per query; a source with a lower row cap makes it smaller on the way. */
  pageSize?: number;
}

export const DEFAULT_EXPORT_LIMIT = 10_000;
/** A HAR is built in memory and replayed from memory: same bound as `loupe replay` accepts. */
export const MAX_EXPORT_ENTRIES = 100_000;
const DEFAULT_PAGE_SIZE = 2_000;

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function exportHar(options: ExportHarOptions): Promise<Har> {
  const limit = options.limit ?? DEFAULT_EXPORT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EXPORT_ENTRIES) {
    throw new RangeError(`limit must be between 1 and ${MAX_EXPORT_ENTRIES}, got ${limit}`);
  }
  const filter: ExportFilter = {
    role: options.role,
    service: options.service,
    where: options.where,
    since: options.since,
  };
  const har: Har = {
    log: {
      version: HAR_VERSION,
      creator: { name: 'loupe', version: packageVersion },
      entries: [],
      comment: `captured ${filter.role}-side exchanges`,
    },
  };
  const until = (await options.source.run(untilSql(filter))).rows[0]?.until;
  if (typeof until !== 'string') return har;

  let pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let offset = 0;
  while (har.log.entries.length < limit) {
    const wanted = Math.min(pageSize, limit - har.log.entries.length);
    const page = await options.source.run(pageSql(filter, until, wanted, offset));
    for (const row of page.rows)
      har.log.entries.push(rowToEntry(row as unknown as HttpEventRow, filter.role));
    offset += page.rows.length;
    // A cut answer is a full page at the source's own cap: keep paging at that size.
    if (page.truncated && page.rows.length > 0) pageSize = page.rows.length;
    else if (page.rows.length < wanted) break;
  }
  return har;
}
