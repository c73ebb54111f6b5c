/**
 * The request explorer's filters, as they travel in the URL, and the SELECTs they make. Every value typed by the
 * user reaches SQL as a quoted literal or a checked number (sql-literal.ts); nothing else is pasted in.
 */
import type { Row } from '../api/types.js';
import { sqlContains, sqlNumber, sqlString } from './sql-literal.js';
import { formatTimeRange, timePredicate, type TimeRange } from './time-range.js';

export type RequestKind = 'http' | 'sql';
export type RoleFilter = 'server' | 'client' | 'both';

export interface RequestFilters {
  kind: RequestKind;
  /** "process" or "process:port" (the port it serves on). */
  service: string;
  method: string;
  /** Text the path (or, for SQL, the statement) contains. */
  text: string;
  /** "500", "5xx", "4xx" (HTTP), or "error" (SQL and HTTP: any failure). */
  status: string;
  minMs: number | null;
  maxMs: number | null;
  role: RoleFilter;
  /** Collector name. */
  node: string;
  /** An edge of the service map: the names the service_map script gives its two ends. */
  client: string;
  server: string;
  limit: number;
}

export const LIMITS = [1_000, 10_000, 100_000] as const;
const DEFAULT_LIMIT = 1_000;

function number(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

export function readRequestFilters(params: Record<string, string>): RequestFilters {
  const limit = Number(params.limit);
  const protocol = params.protocol;
  return {
    kind: params.kind === 'sql' || protocol === 'pgsql' || protocol === 'mysql' ? 'sql' : 'http',
    service: params.service ?? '',
    method: params.method ?? '',
    text: params.path ?? '',
    status: params.status ?? '',
    minMs: number(params.minMs),
    maxMs: number(params.maxMs),
    role:
      params.role === 'client' || params.role === 'both' ? params.role : params.client ? 'both' : 'server',
    node: params.collector ?? '',
    client: params.client ?? '',
    server: params.server ?? '',
    limit: (LIMITS as readonly number[]).includes(limit) ? limit : DEFAULT_LIMIT,
  };
}

/** The URL params of a filter; defaults are left out. `selected` is kept by the caller. */
export function writeRequestFilters(filters: RequestFilters): Record<string, string> {
  const params: Record<string, string> = {};
  if (filters.kind === 'sql') params.kind = 'sql';
  if (filters.service) params.service = filters.service;
  if (filters.method) params.method = filters.method;
  if (filters.text) params.path = filters.text;
  if (filters.status) params.status = filters.status;
  if (filters.minMs !== null) params.minMs = String(filters.minMs);
  if (filters.maxMs !== null) params.maxMs = String(filters.maxMs);
  if (filters.role !== (filters.client ? 'both' : 'server')) params.role = filters.role;
  if (filters.node) params.collector = filters.node;
  if (filters.client) params.client = filters.client;
  if (filters.server) params.server = filters.server;
  if (filters.limit !== DEFAULT_LIMIT) params.limit = String(filters.limit);
  return params;
}

/** "name:port" → its parts; a name without a port is the whole text. */
export function splitEndpoint(text: string): { name: string; port: number | null } {
  const match = /^(.*):(\d{1,5})$/.exec(text.trim());
  return match?.[1] ? { name: match[1], port: Number(match[2]) } : { name: text.trim(), port: null };
}

/** Where only an address is known, the service_map script names an end by it. */
const isAddress = (name: string) =>
  /^[\d.]+$/.test(name) || (name.includes(':') && /^[\da-f:.]+$/i.test(name));

/** The service map's edge client → server, from both of its sides. */
function edgePredicate(client: string, server: string): string {
  const { name, port } = splitEndpoint(server);
  const serverName = isAddress(name) ? `local_addr = ${sqlString(name)}` : `process = ${sqlString(name)}`;
  const serverSide = [`role = 'server'`, serverName, ...(port !== null ? [`local_port = ${port}`] : [])];
  const clientName = isAddress(client)
    ? `local_addr = ${sqlString(client)}`
    : `process = ${sqlString(client)}`;
  const clientSide = [
    `role = 'client'`,
    ...(client ? [clientName] : []),
    ...(port !== null ? [`remote_port = ${port}`] : []),
    ...(isAddress(name) ? [`remote_addr = ${sqlString(name)}`] : []),
  ];
  if (!client) return `(${serverSide.join(' AND ')})`;
  return `((${serverSide.join(' AND ')}) OR (${clientSide.join(' AND ')}))`;
}

function statusPredicate(kind: RequestKind, status: string): string | null {
  const text = status.trim().toLowerCase();
  if (text === '') return null;
  if (text === 'error') return kind === 'http' ? 'resp_status >= 500' : 'error IS NOT NULL';
  if (kind === 'sql') return null;
  const exact = /^(\d{3})$/.exec(text);
  if (exact) return `resp_status = ${Number(exact[1])}`;
  const family = /^([1-5])xx$/.exec(text);
  if (family) return `resp_status BETWEEN ${Number(family[1]) * 100} AND ${Number(family[1]) * 100 + 99}`;
  return null;
}

/** Whether the status filter is one this kind understands; the UI says so when not. */
export function statusFilterValid(kind: RequestKind, status: string): boolean {
  return status.trim() === '' || statusPredicate(kind, status) !== null;
}

/** The WHERE of the list, without the time range (the HAR export passes that on its own). */
export function filterPredicate(filters: RequestFilters): string {
  const clauses: string[] = [];
  if (filters.role !== 'both') clauses.push(`role = ${sqlString(filters.role)}`);
  if (filters.service) {
    const { name, port } = splitEndpoint(filters.service);
    clauses.push(`process = ${sqlString(name)}`);
    if (port !== null) clauses.push(`local_port = ${port}`);
  }
  if (filters.client || filters.server) clauses.push(edgePredicate(filters.client, filters.server));
  if (filters.node) clauses.push(`node = ${sqlString(filters.node)}`);
  if (filters.kind === 'http') {
    if (filters.method) clauses.push(`req_method = ${sqlString(filters.method.toUpperCase())}`);
    if (filters.text) clauses.push(`req_path LIKE ${sqlContains(filters.text)}`);
  } else if (filters.text) {
    clauses.push(`req LIKE ${sqlContains(filters.text)}`);
  }
  const status = statusPredicate(filters.kind, filters.status);
  if (status) clauses.push(status);
  if (filters.minMs !== null) clauses.push(`latency_ns >= ${sqlNumber(Math.round(filters.minMs * 1e6))}`);
  if (filters.maxMs !== null) clauses.push(`latency_ns <= ${sqlNumber(Math.round(filters.maxMs * 1e6))}`);
  return clauses.length > 0 ? clauses.join(' AND ') : 'true';
}

const HTTP_LIST_COLUMNS = `time, node, process, role, local_addr, local_port, remote_addr, remote_port,
       req_method, req_path, resp_status, round(latency_ns / 1e6, 3) AS latency_ms, req_body_size,
       resp_body_size`;

const SQL_LIST_COLUMNS = `time, node, process, role, local_addr, local_port, remote_addr, remote_port,
       req_cmd, left(req, 300) AS req, error, round(latency_ns / 1e6, 3) AS latency_ms`;

/** Newest first, light columns only: the detail pane reads the whole row of the one selected. */
export function listSql(filters: RequestFilters, range: TimeRange): string {
  const where = `${timePredicate(range)} AND ${filterPredicate(filters)}`;
  const order = `ORDER BY time DESC LIMIT ${sqlNumber(filters.limit)}`;
  if (filters.kind === 'http')
    return `SELECT ${HTTP_LIST_COLUMNS}\n  FROM http_events\n WHERE ${where}\n ${order}`;
  // One list over both SQL protocols: the shared columns, and which protocol each row is.
  return `SELECT * FROM (
  SELECT 'pgsql' AS protocol, ${SQL_LIST_COLUMNS} FROM pgsql_events WHERE ${where}
  UNION ALL
  SELECT 'mysql' AS protocol, ${SQL_LIST_COLUMNS} FROM mysql_events WHERE ${where}
) ${order}`;
}

/** What identifies a listed row: its time (nanoseconds), node, role and both ends' ports. */
export function rowKey(row: Row): string {
  return [row.time, row.node, row.role, row.local_port, row.remote_port, row.protocol ?? 'http']
    .map(String)
    .join('|');
}

function keyParts(key: string): {
  time: string;
  node: string;
  role: string;
  localPort: number;
  remotePort: number;
  protocol: string;
} | null {
  const [time, node, role, localPort, remotePort, protocol] = key.split('|');
  if (
    !time ||
    !node ||
    !role ||
    !protocol ||
    !/^\d+$/.test(localPort ?? '') ||
    !/^\d+$/.test(remotePort ?? '')
  )
    return null;
  return { time, node, role, localPort: Number(localPort), remotePort: Number(remotePort), protocol };
}

const TABLE_OF: Record<string, string> = {
  http: 'http_events',
  pgsql: 'pgsql_events',
  mysql: 'mysql_events',
};

/** The whole row of a selected key; null when the key is not one. */
export function detailSql(key: string): string | null {
  const parts = keyParts(key);
  const table = parts ? TABLE_OF[parts.protocol] : undefined;
  if (!parts || !table) return null;
  return `SELECT * FROM ${table}
 WHERE time = CAST(${sqlString(parts.time)} AS TIMESTAMP_NS) AND node = ${sqlString(parts.node)}
   AND role = ${sqlString(parts.role)} AND local_port = ${parts.localPort} AND remote_port = ${parts.remotePort}
 LIMIT 1`;
}

/**
 * The same request seen from the other side of its connection (captured by the peer's collector, or by this
 * one when both ends run here): mirrored addresses, same method and path, the closest in time.
 */
export function counterpartSql(row: Row): string | null {
  const { time, role, local_addr, local_port, remote_addr, remote_port, req_method, req_path } = row;
  if (typeof time !== 'string' || (role !== 'server' && role !== 'client')) return null;
  if (typeof req_path !== 'string' || typeof req_method !== 'string') return null;
  const ports = [local_port, remote_port].map(Number);
  if (ports.some((p) => !Number.isInteger(p))) return null;
  const at = `CAST(${sqlString(time)} AS TIMESTAMP_NS)`;
  return `SELECT * FROM http_events
 WHERE role = ${sqlString(role === 'server' ? 'client' : 'server')}
   AND local_addr = ${sqlString(String(remote_addr))} AND local_port = ${ports[1]}
   AND remote_addr = ${sqlString(String(local_addr))} AND remote_port = ${ports[0]}
   AND req_method = ${sqlString(req_method)} AND req_path = ${sqlString(req_path)}
   AND time BETWEEN ${at} - INTERVAL 5 SECOND AND ${at} + INTERVAL 5 SECOND
 ORDER BY abs(epoch_ns(time) - epoch_ns(${at}))
 LIMIT 1`;
}

/** The HAR export of the current HTTP filter (server side unless only client rows are shown). */
export function harExportRequest(
  filters: RequestFilters,
  range: TimeRange,
): { where: string; since?: string; role: 'server' | 'client'; limit: number } {
  const role = filters.role === 'client' ? 'client' : 'server';
  const where = filterPredicate({ ...filters, role: 'both' });
  if (range.kind === 'relative') return { where, since: formatTimeRange(range), role, limit: filters.limit };
  return { where: `${timePredicate(range)} AND ${where}`, role, limit: filters.limit };
}
