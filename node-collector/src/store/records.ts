/**
 * Rows as the store receives them. Times are CLOCK_MONOTONIC nanoseconds (see capture/events.ts); the store
 * converts them to wall-clock TIMESTAMP_NS with the collector's clock offset.
 */

import type { Role } from '../capture/events.js';

/** Who was on each end: shared by every protocol's record. */
export interface Endpoint {
  pid: number;
  process: string;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  role: Role;
  encrypted: boolean;
}

export interface HttpRecord extends Endpoint {
  /** Time the response was complete (monotonic ns). */
  timeNs: number;
  version: string;
  reqMethod: string;
  reqPath: string;
  reqHeaders: Record<string, string>;
  reqBody: string;
  reqBodySize: number;
  /** The stored body is not the whole body: cut at the body cap, or bytes of it were not captured. */
  reqBodyTruncated: boolean;
  respStatus: number;
  respMessage: string;
  respHeaders: Record<string, string>;
  respBody: string;
  respBodySize: number;
  respBodyTruncated: boolean;
  /** Response end − request start, as seen by the syscalls on this side of the connection. */
  latencyNs: number;
}

export interface ConnStatsRecord extends Endpoint {
  timeNs: number;
  protocol: string;
  connOpen: boolean;
  connClose: boolean;
  bytesSent: number;
  bytesRecv: number;
}

export interface CollectorStatsRecord {
  timeNs: number;
  events: number;
  bytes: number;
  drops: number;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
}

/** One PostgreSQL request/response exchange (a simple Query, or an Execute of the extended protocol). */
export interface PgsqlRecord extends Endpoint {
  /** Time the exchange completed (monotonic ns). */
  timeNs: number;
  /** Readable command: 'Query', 'Execute', 'CopyIn', 'CopyOut', 'Terminate', ... */
  reqCmd: string;
  /** Statement text (for Execute, the text of the prepared statement it runs). */
  req: string;
  /** Parameters bound for this execution, as text (binary ones hex-encoded), empty for a simple Query. */
  reqParams: string[];
  /** Literals replaced by `?`, whitespace folded: groups the same statement with different values. */
  reqNormalized: string;
  /** CommandComplete tags joined by '; ' (e.g. 'SELECT 3', 'INSERT 0 1'), plus row counts where known. */
  resp: string;
  /** ErrorResponse as 'SEVERITY SQLSTATE: message', empty when the exchange succeeded. */
  error: string;
  latencyNs: number;
}

/** One MySQL/MariaDB command and its response. */
export interface MysqlRecord extends Endpoint {
  timeNs: number;
  /** 'COM_QUERY', 'COM_STMT_PREPARE', 'COM_STMT_EXECUTE', 'COM_PING', ... */
  reqCmd: string;
  /** Statement text (for COM_STMT_EXECUTE, the prepared statement's text). */
  req: string;
  reqParams: string[];
  reqNormalized: string;
  /** 'OK', 'ERR', 'EOF' or 'RESULTSET'. */
  respStatus: string;
  /** What came back: 'affected_rows=1 last_insert_id=7', 'columns=3 rows=10', ... */
  resp: string;
  /** 'ERROR <code> (<sqlstate>): message', empty on success. */
  error: string;
  latencyNs: number;
}
