/**
 * SQL predicates that pick the rows of one service-map edge, named the way the service_map script names its
 * endpoints: a server is "process:port" (or "address:port" where no collector saw the server side), a client is
 * a process name (or an address where no collector saw the client side).
 *
 * A request between two monitored processes has a server row and a client row. Each side only knows its own
 * process, so the other end is found by address: a server row's client is a process whose client rows left
 * from that address, a client row's server is a process whose server rows listen on that address and port.
 * Where several client processes share one address (all of them on 127.0.0.1), the map names them by the first
 * of them; here rows from that address match each of those names.
 */
import { sqlNumber, sqlString } from './sql-literal.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** "api:8080" or "10.0.0.7:5432" or "[::1]:80"; null when there is no port after the last colon. */
export function parseEndpoint(text: string): Endpoint | null {
  const match = /^(.+):(\d{1,5})$/.exec(text.trim());
  if (!match?.[1] || Number(match[2]) > 65_535) return null;
  const host = match[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(match[2]) };
}

/** Rows of `table` on which `server` answered, seen from either side. `time` bounds the lookups by address. */
export function serverPredicate(table: string, server: Endpoint, time: string): string {
  const host = sqlString(server.host);
  const port = sqlNumber(server.port);
  const listeners = `SELECT local_addr FROM ${table} WHERE role = 'server' AND process = ${host} AND local_port = ${port} AND ${time}`;
  return (
    `((role = 'server' AND local_port = ${port} AND (process = ${host} OR local_addr = ${host}))` +
    ` OR (role = 'client' AND remote_port = ${port} AND (remote_addr = ${host} OR remote_addr IN (${listeners}))))`
  );
}

/** Rows of `table` sent by `client` (to `serverPort` when given), seen from either side. */
export function clientPredicate(
  table: string,
  client: string,
  serverPort: number | null,
  time: string,
): string {
  const name = sqlString(client);
  const toPort = serverPort === null ? '' : ` AND remote_port = ${sqlNumber(serverPort)}`;
  const callers = `SELECT local_addr FROM ${table} WHERE role = 'client' AND process = ${name}${toPort} AND ${time}`;
  return (
    `((role = 'client' AND (process = ${name} OR local_addr = ${name}))` +
    ` OR (role = 'server' AND (remote_addr = ${name} OR remote_addr IN (${callers}))))`
  );
}
