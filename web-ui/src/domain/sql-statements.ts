/**
 * The SQL view's queries: statements grouped by their normalised text per database server, each statement
 * counted once (the server's own row where the server was captured, else the client's), as the service_map
 * script does; and recent examples of one statement.
 */
import { sqlContains, sqlString } from './sql-literal.js';
import { timePredicate, type TimeRange } from './time-range.js';

export interface StatementFilters {
  /** Text the server's name contains. */
  server: string;
  /** Text the statement contains. */
  text: string;
}

const SIDE_COLUMNS = `role,
         CASE WHEN role = 'server' THEN process END AS server_process,
         CASE WHEN role = 'server' THEN local_addr ELSE remote_addr END AS server_addr,
         CASE WHEN role = 'server' THEN local_port ELSE remote_port END AS server_port,
         CASE WHEN role = 'server' THEN remote_addr ELSE local_addr END AS client_addr,
         coalesce(nullif(req_normalized, ''), req) AS statement, latency_ns, error`;

export function statementsSql(filters: StatementFilters, range: TimeRange): string {
  // Exchanges without statement text (a Sync after an error, a ping) are protocol upkeep, not statements.
  const where = `${timePredicate(range)} AND role IN ('client', 'server') AND latency_ns IS NOT NULL
     AND coalesce(nullif(req_normalized, ''), req, '') <> ''`;
  const outer = [
    ...(filters.server ? [`server LIKE ${sqlContains(filters.server)}`] : []),
    ...(filters.text ? [`statement LIKE ${sqlContains(filters.text)}`] : []),
  ];
  return `WITH sides AS (
  SELECT 'pgsql' AS protocol, ${SIDE_COLUMNS} FROM pgsql_events WHERE ${where}
  UNION ALL
  SELECT 'mysql' AS protocol, ${SIDE_COLUMNS} FROM mysql_events WHERE ${where}
),
server_seen AS (
  SELECT DISTINCT protocol, server_addr, server_port, client_addr FROM sides WHERE role = 'server'
),
counted AS (
  SELECT * FROM sides WHERE role = 'server'
  UNION ALL
  SELECT * FROM sides AS s
   WHERE role = 'client' AND NOT EXISTS (
     SELECT 1 FROM server_seen AS v
      WHERE v.protocol = s.protocol AND v.server_addr = s.server_addr AND v.server_port = s.server_port
        AND v.client_addr = s.client_addr)
),
server_names AS (
  SELECT protocol, server_addr, server_port, min(server_process) AS process FROM sides WHERE role = 'server' GROUP BY ALL
),
named AS (
  SELECT c.protocol, coalesce(n.process, c.server_addr) || ':' || c.server_port AS server, c.statement,
         c.latency_ns, c.error
    FROM counted AS c LEFT JOIN server_names AS n USING (protocol, server_addr, server_port)
)
SELECT protocol, server, statement, count(*) AS calls, count(error) AS errors,
       round(count(error) / count(*), 4) AS error_rate,
       round(quantile_cont(latency_ns, 0.5) / 1e6, 3) AS p50_ms,
       round(quantile_cont(latency_ns, 0.99) / 1e6, 3) AS p99_ms,
       round(sum(latency_ns) / 1e6, 3) AS total_ms
  FROM named
 ${outer.length > 0 ? `WHERE ${outer.join(' AND ')}` : ''}
 GROUP BY ALL
 ORDER BY total_ms DESC, calls DESC
 LIMIT 500`;
}

/** The newest executions of one statement on one server's protocol. */
export function statementExamplesSql(protocol: string, statement: string, range: TimeRange): string | null {
  const table = protocol === 'pgsql' ? 'pgsql_events' : protocol === 'mysql' ? 'mysql_events' : null;
  if (!table) return null;
  return `SELECT time, node, process, role, req, req_params, error, round(latency_ns / 1e6, 3) AS latency_ms
  FROM ${table}
 WHERE ${timePredicate(range)} AND coalesce(nullif(req_normalized, ''), req) = ${sqlString(statement)}
 ORDER BY time DESC
 LIMIT 10`;
}
