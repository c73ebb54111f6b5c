/**
 * The SQL view: statements grouped by normalised text per database server, with calls, errors, p50/p99 and
 * total time, and a few recent examples of one statement.
 *
 * Counted once, by service_map's rule: server rows always count; client rows count only where no server row
 * exists in the range for that client address and server endpoint (a database on an unmonitored host). The
 * server is named "process:port" from its own rows, else by the address the clients called.
 *
 * The nodes send a latency histogram per statement and server, not every row: the rows are grouped by the log
 * bucket ceil(ln(latency) / ln 1.02), which is what the engine can aggregate on each node and merge, and p50/p99
 * are read from the merged histogram (a bucket stands for 2·1.02^b / 2.02, within 1% of the exact quantile).
 */
import { SQL_FAILED } from './explorer-query.js';
import { parseEndpoint, serverPredicate } from './endpoint-sql.js';
import { sqlContains, sqlNumber, sqlString } from './sql-literal.js';
import { timePredicate, type TimeRange } from './time-range.js';

export interface SqlViewFilter {
  /** "process:port" (or part of it: matched as contained text). */
  server: string;
  /** Contained in the statement. */
  text: string;
  limit: number;
}

export const SQL_VIEW_LIMIT = 500;
export const SQL_TABLES = [
  { table: 'pgsql_events', protocol: 'pgsql' },
  { table: 'mysql_events', protocol: 'mysql' },
] as const;

function sides(range: TimeRange): string {
  return SQL_TABLES.map(
    ({ table, protocol }) =>
      `  SELECT ${sqlString(protocol)} AS protocol, role,\n` +
      `         CASE WHEN role = 'server' THEN process END AS server_process,\n` +
      `         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END AS server_addr,\n` +
      `         CASE WHEN role = 'server' THEN local_port ELSE remote_port END AS server_port,\n` +
      `         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END AS client_addr,\n` +
      `         coalesce(req_normalized, req) AS statement,\n` +
      `         ceil(ln(greatest(latency_ns, 1)) / ln(1.02))::INTEGER AS bucket,\n` +
      `         count(*) AS calls, count(*) FILTER (WHERE ${SQL_FAILED}) AS errors,\n` +
      `         sum(latency_ns) AS total_ns\n` +
      `    FROM ${table}\n` +
      `   WHERE ${timePredicate(range)} AND role IN ('client', 'server') AND latency_ns IS NOT NULL\n` +
      `     AND coalesce(req_normalized, req) IS NOT NULL\n` +
      `   GROUP BY ALL`,
  ).join('\n  UNION ALL\n');
}

const quantile = (q: number) =>
  `round(2 * pow(1.02, min(bucket) FILTER (WHERE up_to >= ${q} * total)) / 2.02 / 1e6, 3)`;

export function sqlViewSql(filter: SqlViewFilter, range: TimeRange): string {
  const wanted: string[] = [];
  if (filter.server.trim() !== '') wanted.push(`server LIKE ${sqlContains(filter.server.trim())}`);
  if (filter.text.trim() !== '') wanted.push(`statement LIKE ${sqlContains(filter.text.trim())}`);
  return `WITH sides AS (
${sides(range)}
),
server_seen AS (
  SELECT DISTINCT protocol, server_addr, server_port, client_addr FROM sides WHERE role = 'server'
),
counted AS (
  SELECT * FROM sides WHERE role = 'server'
  UNION ALL
  SELECT * FROM sides AS s
   WHERE role = 'client'
     AND NOT EXISTS (
       SELECT 1 FROM server_seen AS v
        WHERE v.protocol = s.protocol AND v.server_addr = s.server_addr AND v.server_port = s.server_port
          AND v.client_addr = s.client_addr)
),
server_names AS (
  SELECT protocol, server_addr, server_port, min(server_process) AS process
    FROM sides WHERE role = 'server' GROUP BY ALL
),
named AS (
  SELECT c.protocol, coalesce(c.server_process, sn.process, c.server_addr) || ':' || c.server_port AS server,
         c.statement, c.bucket, sum(c.calls) AS calls, sum(c.errors) AS errors, sum(c.total_ns) AS total_ns
    FROM counted AS c
    LEFT JOIN server_names AS sn
      ON sn.protocol = c.protocol AND sn.server_addr = c.server_addr AND sn.server_port = c.server_port
   GROUP BY ALL
),
cumulative AS (
  SELECT *,
         sum(calls) OVER (PARTITION BY protocol, server, statement ORDER BY bucket) AS up_to,
         sum(calls) OVER (PARTITION BY protocol, server, statement) AS total
    FROM named${wanted.length > 0 ? `\n   WHERE ${wanted.join(' AND ')}` : ''}
)
SELECT protocol, server, statement,
       sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors,
       round(sum(errors) / sum(calls), 4) AS error_rate,
       ${quantile(0.5)} AS p50_ms,
       ${quantile(0.99)} AS p99_ms,
       round(sum(total_ns) / 1e6, 3) AS total_ms
  FROM cumulative
 GROUP BY protocol, server, statement
 ORDER BY total_ms DESC, calls DESC, protocol, server, statement
 LIMIT ${sqlNumber(filter.limit)}`;
}

/** The newest calls of one statement on one server, with their parameters and errors. */
export function sqlExamplesSql(
  statement: { protocol: string; server: string; statement: string },
  range: TimeRange,
  limit = 5,
): string {
  const table = SQL_TABLES.find((t) => t.protocol === statement.protocol)?.table ?? 'pgsql_events';
  const time = timePredicate(range);
  const endpoint = parseEndpoint(statement.server);
  const where = [time, `coalesce(req_normalized, req) = ${sqlString(statement.statement)}`];
  if (endpoint) where.push(serverPredicate(table, endpoint, time));
  return (
    `SELECT ${sqlString(statement.protocol)} AS protocol, time, node, process, role, req, req_params, nullif(error, '') AS error,\n` +
    `       round(latency_ns / 1e6, 3) AS latency_ms, local_addr, local_port, remote_addr, remote_port\n` +
    `  FROM ${table}\n WHERE ${where.join('\n   AND ')}\n` +
    ` ORDER BY time DESC, node\n LIMIT ${sqlNumber(limit)}`
  );
}
