/**
 * The request explorer's filters (all of them URL params, so a filtered list is a link) and the SELECTs they
 * become. Every value typed by the user reaches SQL as a quoted literal or a checked number; a value that does
 * not parse is reported as a problem and left out of the query rather than guessed at.
 */
import { clientPredicate, parseEndpoint, serverPredicate } from './endpoint-sql.js';
import { sqlContains, sqlNumber, sqlString } from './sql-literal.js';
import { formatTimeRange, timePredicate, type TimeRange } from './time-range.js';

export type ExplorerKind = 'http' | 'sql';
export type RoleFilter = 'server' | 'client' | 'both';
export type SqlProtocol = 'pgsql' | 'mysql';

export const ROW_LIMITS = [1_000, 10_000, 100_000] as const;
export const DEFAULT_ROW_LIMIT = 1_000;

/** The URL params the explorer reads; names are short because they are the shareable link. */
export interface ExplorerFilter {
  kind: ExplorerKind;
  service: string;
  /** HTTP method; for SQL events the protocol command (req_cmd). */
  method: string;
  /** Contained in the path; for SQL events in the statement text. */
  path: string;
  /** HTTP: codes and classes ("404", "5xx", "4xx,503"); SQL: "error" or "ok". */
  status: string;
  minMs: string;
  maxMs: string;
  role: RoleFilter;
  node: string;
  /** A service-map edge: client name, server "name:port", protocol (http, pgsql, mysql). */
  client: string;
  server: string;
  protocol: string;
  /** SQL events of one normalised statement (from the SQL view). */
  query: string;
  limit: number;
}

/** A statement that succeeded has a NULL error; stores written by earlier versions hold '' instead. */
export const SQL_FAILED = "coalesce(error, '') <> ''";

const param = (params: Record<string, string>, key: string) => (params[key] ?? '').trim();

export function readExplorerFilter(params: Record<string, string>): ExplorerFilter {
  const protocol = param(params, 'protocol');
  const role = param(params, 'role');
  const limit = Number(param(params, 'limit'));
  return {
    kind: params.kind === 'sql' || protocol === 'pgsql' || protocol === 'mysql' ? 'sql' : 'http',
    service: param(params, 'service'),
    method: param(params, 'method'),
    path: params.path ?? '',
    status: param(params, 'status'),
    minMs: param(params, 'min_ms'),
    maxMs: param(params, 'max_ms'),
    role: role === 'server' || role === 'client' ? role : 'both',
    node: param(params, 'node'),
    client: param(params, 'client'),
    server: param(params, 'server'),
    protocol,
    query: params.query ?? '',
    limit: (ROW_LIMITS as readonly number[]).includes(limit) ? limit : DEFAULT_ROW_LIMIT,
  };
}

/** The node tables the filter reads, each with the protocol name its rows are shown with. */
export function explorerTables(filter: ExplorerFilter): { table: string; protocol: string }[] {
  if (filter.kind === 'http') return [{ table: 'http_events', protocol: 'http' }];
  const all: { table: string; protocol: SqlProtocol }[] = [
    { table: 'pgsql_events', protocol: 'pgsql' },
    { table: 'mysql_events', protocol: 'mysql' },
  ];
  const one = all.filter((t) => t.protocol === filter.protocol);
  return one.length > 0 ? one : all;
}

export interface Conditions {
  /** Conjuncts, each safe to AND with the others. */
  clauses: string[];
  /** Filters that were not understood, in words for the user; they are left out of `clauses`. */
  problems: string[];
}

function statusClauses(filter: ExplorerFilter, out: Conditions): void {
  if (filter.status === '') return;
  if (filter.kind === 'sql') {
    const word = filter.status.toLowerCase();
    if (word === 'error') out.clauses.push(SQL_FAILED);
    else if (word === 'ok') out.clauses.push(`NOT ${SQL_FAILED}`);
    else out.problems.push(`Status of SQL events is "error" or "ok", not "${filter.status}".`);
    return;
  }
  const alternatives: string[] = [];
  for (const token of filter.status.split(/[\s,]+/).filter(Boolean)) {
    const exact = /^[1-5]\d\d$/.exec(token);
    const range = /^([1-5])xx$/i.exec(token);
    if (exact) alternatives.push(`resp_status = ${sqlNumber(Number(token))}`);
    else if (range)
      alternatives.push(`resp_status BETWEEN ${Number(range[1]) * 100} AND ${Number(range[1]) * 100 + 99}`);
    else {
      out.problems.push(`Status "${token}" is neither a code (404) nor a class (5xx).`);
      return;
    }
  }
  if (alternatives.length > 0) out.clauses.push(`(${alternatives.join(' OR ')})`);
}

function latencyClause(text: string, operator: '>=' | '<=', label: string, out: Conditions): void {
  if (text === '') return;
  const ms = Number(text);
  if (!Number.isFinite(ms) || ms < 0) {
    out.problems.push(`${label} latency "${text}" is not a number of milliseconds.`);
    return;
  }
  out.clauses.push(`latency_ns ${operator} ${sqlNumber(Math.round(ms * 1e6))}`);
}

/**
 * Every filter of the explorer on one table except the time range and (when `withRole` is false) the role,
 * which the HAR export passes on its own.
 */
export function explorerConditions(
  filter: ExplorerFilter,
  table: string,
  range: TimeRange,
  withRole = true,
): Conditions {
  const out: Conditions = { clauses: [], problems: [] };
  const http = filter.kind === 'http';
  if (withRole && filter.role !== 'both') out.clauses.push(`role = ${sqlString(filter.role)}`);
  if (filter.service !== '') {
    const endpoint = parseEndpoint(filter.service);
    if (endpoint)
      out.clauses.push(`process = ${sqlString(endpoint.host)}`, `local_port = ${sqlNumber(endpoint.port)}`);
    else out.clauses.push(`process = ${sqlString(filter.service)}`);
  }
  if (filter.method !== '')
    out.clauses.push(
      http
        ? `req_method = ${sqlString(filter.method.toUpperCase())}`
        : `req_cmd = ${sqlString(filter.method)}`,
    );
  if (filter.path !== '') out.clauses.push(`${http ? 'req_path' : 'req'} LIKE ${sqlContains(filter.path)}`);
  statusClauses(filter, out);
  latencyClause(filter.minMs, '>=', 'Minimum', out);
  latencyClause(filter.maxMs, '<=', 'Maximum', out);
  if (filter.node !== '') out.clauses.push(`node = ${sqlString(filter.node)}`);
  if (!http && filter.query !== '')
    out.clauses.push(`coalesce(req_normalized, req) = ${sqlString(filter.query)}`);

  const time = timePredicate(range);
  let serverPort: number | null = null;
  if (filter.server !== '') {
    const endpoint = parseEndpoint(filter.server);
    if (endpoint) {
      serverPort = endpoint.port;
      out.clauses.push(serverPredicate(table, endpoint, time));
    } else out.problems.push(`Server "${filter.server}" is not "name:port".`);
  }
  if (filter.client !== '') out.clauses.push(clientPredicate(table, filter.client, serverPort, time));
  return out;
}

const ORDER = 'ORDER BY time DESC, node, local_port, remote_port';

/** The light columns of the newest matching requests (bodies and headers are left for the detail pane). */
export function explorerListSql(
  filter: ExplorerFilter,
  range: TimeRange,
): { sql: string; problems: string[] } {
  const problems: string[] = [];
  const selects = explorerTables(filter).map(({ table, protocol }) => {
    const conditions = explorerConditions(filter, table, range);
    problems.push(...conditions.problems.filter((p) => !problems.includes(p)));
    const where = [timePredicate(range), ...conditions.clauses].join('\n   AND ');
    const columns =
      filter.kind === 'http'
        ? `req_method, req_path, resp_status, req_body_size, resp_body_size`
        : `req_cmd, left(req, 300) AS req, nullif(left(error, 300), '') AS error`;
    return (
      `SELECT ${sqlString(protocol)} AS protocol, time, node, process, role, ${columns},\n` +
      `       round(latency_ns / 1e6, 3) AS latency_ms, local_addr, local_port, remote_addr, remote_port\n` +
      `  FROM ${table}\n WHERE ${where}`
    );
  });
  return { sql: `${selects.join('\nUNION ALL\n')}\n${ORDER}\nLIMIT ${sqlNumber(filter.limit)}`, problems };
}

/** What the HAR export gets: the HTTP filter as one predicate, and how far back to look. */
export function harExportFilter(
  filter: ExplorerFilter,
  range: TimeRange,
  now: Date = new Date(),
): { where: string; since: string; role: 'server' | 'client'; problems: string[] } {
  const conditions = explorerConditions({ ...filter, kind: 'http' }, 'http_events', range, false);
  const since =
    range.kind === 'relative'
      ? formatTimeRange(range)
      : `${Math.max(1, Math.ceil((now.getTime() - range.from.getTime()) / 1000))}s`;
  return {
    // The absolute range's end is only in the predicate: `since` bounds the start alone.
    where: [timePredicate(range), ...conditions.clauses].join(' AND '),
    since,
    // HAR holds one side of each exchange: the server's, unless the user asked for the client's.
    role: filter.role === 'client' ? 'client' : 'server',
    problems: conditions.problems,
  };
}
