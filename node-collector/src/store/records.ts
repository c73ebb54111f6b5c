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
