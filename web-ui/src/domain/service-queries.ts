/**
 * The SELECTs of the service view: one server endpoint ("process:port"), or an endpoint seen only by its
 * clients (an address and port), or a client process; its traffic over time, its endpoints or statements, its
 * slowest and failing requests. Every name from the URL reaches SQL through sql-literal.
 */
import { chartStepSeconds, timePredicate, type TimeRange } from './time-range.js';
import { sqlNumber, sqlString } from './sql-literal.js';
import { isAddress, splitEndpoint } from './service-graph.js';

export type ServiceProtocol = 'http' | 'pgsql' | 'mysql';

export const EVENT_TABLES: Record<ServiceProtocol, string> = {
  http: 'http_events',
  pgsql: 'pgsql_events',
  mysql: 'mysql_events',
};

/** What the service view looks at, read from its `service` parameter. */
export interface ServiceTarget {
  name: string;
  process: string | null;
  address: string | null;
  port: number | null;
}

export function parseServiceTarget(service: string): ServiceTarget {
  const { name, port } = splitEndpoint(service.trim());
  const address = isAddress(name);
  return { name: service.trim(), process: address ? null : name, address: address ? name : null, port };
}

/**
 * The rows of the target, from the side that saw them: a server endpoint from its own (server) rows, an
 * endpoint known only by address from its clients' rows, a process without a port from its calls.
 */
export function targetPredicate(target: ServiceTarget): string {
  if (target.address !== null) {
    const port = target.port !== null ? ` AND remote_port = ${sqlNumber(target.port)}` : '';
    return `role = 'client' AND remote_addr = ${sqlString(target.address)}${port}`;
  }
  if (target.port !== null) {
    return `role = 'server' AND process = ${sqlString(target.process ?? '')} AND local_port = ${sqlNumber(target.port)}`;
  }
  return `role = 'client' AND process = ${sqlString(target.process ?? '')}`;
}

function where(target: ServiceTarget, range: TimeRange, extra = ''): string {
  return `WHERE ${timePredicate(range)} AND ${targetPredicate(target)} AND latency_ns IS NOT NULL${extra}`;
}

/** How many rows of the target each protocol's table holds in the range: the view shows the busiest one. */
export function protocolProbeSql(target: ServiceTarget, range: TimeRange): string {
  return (Object.keys(EVENT_TABLES) as ServiceProtocol[])
    .map(
      (p) =>
        `SELECT '${p}' AS protocol, count(*) AS requests FROM ${EVENT_TABLES[p]} ${where(target, range)}`,
    )
    .join('\nUNION ALL\n');
}

/** A failed request: a 5xx answer, or a statement with an error (the parsers store '' for none). */
const failed = (protocol: ServiceProtocol) =>
  protocol === 'http' ? 'resp_status >= 500' : "coalesce(error, '') <> ''";

/** Requests, errors and latency quantiles per time step (approximate quantiles merge across nodes). */
export function timelineSql(target: ServiceTarget, range: TimeRange, protocol: ServiceProtocol): string {
  const step = chartStepSeconds(range);
  return `SELECT time_bucket(INTERVAL '${sqlNumber(step)} seconds', time::TIMESTAMP) AS step_start,
       count(*) AS requests,
       count(*) FILTER (WHERE ${failed(protocol)}) AS errors,
       approx_quantile(latency_ns, 0.5) / 1e6 AS p50_ms,
       approx_quantile(latency_ns, 0.99) / 1e6 AS p99_ms
  FROM ${EVENT_TABLES[protocol]}
 ${where(target, range)}
 GROUP BY step_start
 ORDER BY step_start`;
}

/**
 * A request path as a pattern: query string dropped, and path segments that are numbers, UUIDs or long hex ids
 * replaced by {id}. Applied twice because a match takes the slash after it, which an id right behind needs.
 */
export function pathPatternSql(column = 'req_path'): string {
  const id =
    '([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})';
  const once = (sql: string) => `regexp_replace(${sql}, '/${id}(/|$)', '/{id}\\2', 'g')`;
  return once(once(`split_part(${column}, '?', 1)`));
}

export function endpointsSql(target: ServiceTarget, range: TimeRange, limit = 200): string {
  return `SELECT req_method AS method, ${pathPatternSql()} AS path,
       count(*) AS requests,
       count(*) FILTER (WHERE ${failed('http')}) AS errors,
       approx_quantile(latency_ns, 0.5) / 1e6 AS p50_ms,
       approx_quantile(latency_ns, 0.99) / 1e6 AS p99_ms
  FROM http_events
 ${where(target, range)}
 GROUP BY ALL
 ORDER BY requests DESC, method, path
 LIMIT ${sqlNumber(limit)}`;
}

/** Statements of a database endpoint grouped by their normalised text (literals replaced by ?). */
export function statementsSql(
  target: ServiceTarget,
  range: TimeRange,
  protocol: ServiceProtocol,
  limit = 200,
): string {
  return `SELECT coalesce(req_normalized, req) AS statement,
       count(*) AS calls,
       count(*) FILTER (WHERE ${failed(protocol)}) AS errors,
       approx_quantile(latency_ns, 0.5) / 1e6 AS p50_ms,
       approx_quantile(latency_ns, 0.99) / 1e6 AS p99_ms,
       sum(latency_ns) / 1e6 AS total_ms
  FROM ${EVENT_TABLES[protocol]}
 ${where(target, range)}
 GROUP BY ALL
 ORDER BY total_ms DESC, statement
 LIMIT ${sqlNumber(limit)}`;
}

const requestColumns = (protocol: ServiceProtocol) =>
  protocol === 'http'
    ? 'time, node, req_method AS method, req_path AS path, resp_status AS status'
    : 'time, node, req_cmd AS command, req AS statement, error';

/** The slowest requests (or statements) of the range. */
export function slowestSql(
  target: ServiceTarget,
  range: TimeRange,
  protocol: ServiceProtocol,
  limit = 20,
): string {
  return `SELECT ${requestColumns(protocol)}, latency_ns / 1e6 AS latency_ms
  FROM ${EVENT_TABLES[protocol]}
 ${where(target, range)}
 ORDER BY latency_ns DESC, time DESC
 LIMIT ${sqlNumber(limit)}`;
}

/** The latest failed requests (5xx) or statements (with an error) of the range. */
export function failingSql(
  target: ServiceTarget,
  range: TimeRange,
  protocol: ServiceProtocol,
  limit = 20,
): string {
  return `SELECT ${requestColumns(protocol)}, latency_ns / 1e6 AS latency_ms
  FROM ${EVENT_TABLES[protocol]}
 ${where(target, range, ` AND ${failed(protocol)}`)}
 ORDER BY time DESC
 LIMIT ${sqlNumber(limit)}`;
}
