/**
 * One captured request, named in the URL (`selected`), loaded in full with the other side's capture of the same
 * request when there is one.
 *
 * A row is named by protocol, time, node and both addresses: within a node, one connection completes at most one
 * request at a given nanosecond. The other side of a request is a row of the opposite role on the same
 * connection seen the other way round (addresses swapped), with the same method and path (or statement), that
 * completed within a few seconds: both sides stamp the time the response was complete, which differs by the
 * network's delay and the clocks' skew, not by the request's latency.
 */
import { sqlNumber, sqlString } from './sql-literal.js';

export interface RequestId {
  protocol: string;
  /** As the API sends it: ISO 8601 UTC with nanoseconds. */
  time: string;
  node: string;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}

type Row = Record<string, unknown>;

const SEPARATOR = '~';
const TABLES: Record<string, string> = { http: 'http_events', pgsql: 'pgsql_events', mysql: 'mysql_events' };
/** How far apart in time the two sides of one request may be stamped. */
const PAIR_WINDOW_SECONDS = 2;
/** Requests on one connection within that window, read to find the pair. */
const NEIGHBOURS = 50;

export function requestIdOf(row: Row): string {
  return [
    row.protocol ?? 'http',
    row.time,
    row.node,
    row.local_addr,
    row.local_port,
    row.remote_addr,
    row.remote_port,
  ].join(SEPARATOR);
}

export function parseRequestId(text: string): RequestId | null {
  const parts = text.split(SEPARATOR);
  if (parts.length < 7) return null;
  const [protocol = '', time = ''] = parts;
  // A node's name may hold the separator; addresses and ports cannot.
  const [localAddr = '', localPort, remoteAddr = '', remotePort] = parts.slice(-4);
  const node = parts.slice(2, -4).join(SEPARATOR);
  const ports = [Number(localPort), Number(remotePort)];
  if (!(protocol in TABLES) || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(time)) return null;
  if (!ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65_535)) return null;
  return {
    protocol,
    time,
    node,
    localAddr,
    localPort: ports[0] ?? 0,
    remoteAddr,
    remotePort: ports[1] ?? 0,
  };
}

/** The selected row and every request on its connection (either way round) stamped within the pair window. */
export function requestDetailSql(id: RequestId): string {
  const table = TABLES[id.protocol] ?? 'http_events';
  const at = `CAST(${sqlString(id.time)} AS TIMESTAMP_NS)`;
  const local = `local_addr = ${sqlString(id.localAddr)} AND local_port = ${sqlNumber(id.localPort)}`;
  const remote = `remote_addr = ${sqlString(id.remoteAddr)} AND remote_port = ${sqlNumber(id.remotePort)}`;
  const swappedLocal = `local_addr = ${sqlString(id.remoteAddr)} AND local_port = ${sqlNumber(id.remotePort)}`;
  const swappedRemote = `remote_addr = ${sqlString(id.localAddr)} AND remote_port = ${sqlNumber(id.localPort)}`;
  return (
    `SELECT ${sqlString(id.protocol)} AS protocol, * FROM ${table}\n` +
    ` WHERE time BETWEEN ${at} - INTERVAL ${PAIR_WINDOW_SECONDS} SECOND AND ${at} + INTERVAL ${PAIR_WINDOW_SECONDS} SECOND\n` +
    `   AND ((${local} AND ${remote}) OR (${swappedLocal} AND ${swappedRemote}))\n` +
    ` ORDER BY abs(epoch_ns(time) - epoch_ns(${at})), node\n` +
    ` LIMIT ${NEIGHBOURS}`
  );
}

const sameRequest = (a: Row, b: Row) =>
  a.protocol === 'http' || a.protocol === undefined
    ? a.req_method === b.req_method && a.req_path === b.req_path
    : a.req === b.req;

const nanos = (time: unknown): bigint | null => {
  const match = typeof time === 'string' ? /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time) : null;
  if (!match?.[1]) return null;
  const ms = Date.parse(`${match[1]}Z`);
  return Number.isNaN(ms) ? null : BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
};

/** The selected row, and the other side's capture of the same request (nearest in time), from the detail rows. */
export function pairRequest(rows: Row[], id: RequestId): { row: Row | null; other: Row | null } {
  const row =
    rows.find(
      (r) =>
        r.time === id.time &&
        r.node === id.node &&
        r.local_addr === id.localAddr &&
        r.local_port === id.localPort &&
        r.remote_addr === id.remoteAddr &&
        r.remote_port === id.remotePort,
    ) ?? null;
  if (!row) return { row, other: null };
  const at = nanos(row.time) ?? 0n;
  const distance = (r: Row) => {
    const d = (nanos(r.time) ?? at) - at;
    return d < 0n ? -d : d;
  };
  let other: Row | null = null;
  for (const candidate of rows) {
    if (
      candidate.role === row.role ||
      candidate.local_addr !== id.remoteAddr ||
      candidate.local_port !== id.remotePort ||
      candidate.remote_addr !== id.localAddr ||
      candidate.remote_port !== id.localPort ||
      !sameRequest(row, candidate)
    )
      continue;
    if (!other || distance(candidate) < distance(other)) other = candidate;
  }
  return { row, other };
}
