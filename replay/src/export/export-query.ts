/**
 * The SQL that reads captured exchanges for a HAR export. Everything Loupe itself puts into the statement is a
 * quoted literal or a number it checked; the one exception is --where, which is the user's own predicate and
 * runs under the same SELECT-only guard as any `loupe query`.
 */

export type CaptureRole = 'server' | 'client';

export interface ExportFilter {
  /** Which side's rows: the server's (requests a service answered) or the client's (calls it made). */
  role: CaptureRole;
  /** A process name, or `name:port` to pick one listening port of it. */
  service?: string;
  /** A SQL predicate on http_events, as typed by the user. */
  where?: string;
  /** Only exchanges that completed at or after this instant. */
  since?: Date;
}

/** The columns the HAR mapping reads, in one place so the mapping and the SELECT cannot drift apart. */
export const EXPORT_COLUMNS = [
  'time',
  'node',
  'pid',
  'process',
  'local_addr',
  'local_port',
  'remote_addr',
  'remote_port',
  'version',
  'req_method',
  'req_path',
  'req_headers',
  'req_body',
  'req_body_size',
  'req_body_truncated',
  'resp_status',
  'resp_message',
  'resp_headers',
  'resp_body',
  'resp_body_size',
  'resp_body_truncated',
  'latency_ns',
  'encrypted',
] as const;

/** Total order for paging: time alone can tie at the nanosecond between connections. */
const ORDER_BY = 'ORDER BY time, node, pid, local_port, remote_addr, remote_port';

export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** An instant as a TIMESTAMP_NS literal in UTC (the store's `time` is UTC without a zone). */
export function timestampLiteral(iso: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d{1,9})?)Z$/.exec(iso);
  if (!match) throw new Error(`not a UTC ISO timestamp: ${iso}`);
  return `TIMESTAMP_NS ${sqlString(`${match[1]} ${match[2]}`)}`;
}

/** Splits `name:port`; a name without a numeric port suffix is a whole process name. */
export function parseService(service: string): { process: string; port?: number } {
  const match = /^(.+):(\d{1,5})$/.exec(service);
  if (match && Number(match[2]) <= 65_535) return { process: match[1] as string, port: Number(match[2]) };
  return { process: service };
}

function predicates(filter: ExportFilter): string[] {
  const clauses = [`role = ${sqlString(filter.role)}`];
  if (filter.service !== undefined) {
    const { process, port } = parseService(filter.service);
    clauses.push(`process = ${sqlString(process)}`);
    if (port !== undefined) clauses.push(`local_port = ${port}`);
  }
  if (filter.since !== undefined) clauses.push(`time >= ${timestampLiteral(filter.since.toISOString())}`);
  // On lines of its own, so that a `--` comment at the end of the user's predicate ends there.
  if (filter.where !== undefined) clauses.push(`(\n${filter.where}\n)`);
  return clauses;
}

/** Newest matching `time`: pages stop there, so rows captured while the export runs cannot shift the pages. */
export function untilSql(filter: ExportFilter): string {
  return `SELECT max(time) AS until FROM http_events\nWHERE ${predicates(filter).join(' AND ')}`;
}

export function pageSql(filter: ExportFilter, until: string, limit: number, offset: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`bad page bounds: limit ${limit}, offset ${offset}`);
  }
  const where = [...predicates(filter), `time <= ${timestampLiteral(until)}`].join(' AND ');
  return `SELECT ${EXPORT_COLUMNS.join(', ')} FROM http_events\nWHERE ${where}\n${ORDER_BY} LIMIT ${limit} OFFSET ${offset}`;
}
