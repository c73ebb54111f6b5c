/**
 * Keeps per-connection state between capture events: the endpoint, two ordered byte streams and the protocol
 * session that parses them. Everything is bounded: the number of connections (least recently used evicted),
 * the bytes each stream holds for reordering, and each parser's buffers. Bad input is counted, never thrown.
 */

import type {
  CaptureEvent,
  CloseEvent,
  ConnOpenEvent,
  DataEvent,
  Direction,
  Protocol,
  Role,
} from '../capture/events.js';
import type { ConnStatsRecord, Endpoint, HttpRecord } from '../store/records.js';
import {
  httpSessionFactory,
  newHttpStitcherCounters,
  type HttpOptions,
  type HttpStitcherCounters,
} from '../protocols/http/http-stitcher.js';
import {
  ByteStream,
  DEFAULT_STREAM_LIMITS,
  newByteStreamCounters,
  type ByteStreamCounters,
  type ByteStreamLimits,
  type StreamSink,
} from './byte-stream.js';

/** What a protocol parser implements to be fed a connection's streams (one instance per connection). */
export interface ProtocolSession {
  /** Bytes of one direction in stream order; the buffer is only valid during the call. */
  onData(direction: Direction, data: Buffer, tsNs: number): void;
  /** `length` bytes of one direction are missing at this point of the stream. */
  onGap(direction: Direction, length: number, tsNs: number): void;
  /**
   * `length` bytes of one direction were left out whole by the kernel's load shedding: whole exchanges, from
   * the start of one to the start of the next admitted one. A session that stands between messages there
   * skips them quietly; without this method they are a gap.
   */
  onShed?(direction: Direction, length: number, tsNs: number): void;
  /** No more bytes: the connection closed (`closed`), or its state is being dropped (expired or evicted). */
  onEnd(closed: boolean): void;
}

export interface SessionContext {
  /** The streams may begin mid-message (the connection predates capture, or its start was not seen). */
  readonly midStream: boolean;
  readonly counters: TrackerCounters;
  /** The role as currently known; later events may turn 'unknown' into 'client' or 'server'. */
  role(): Role;
  /** A fresh Endpoint for a record. */
  endpoint(): Endpoint;
}

export type ProtocolSessionFactory = (context: SessionContext) => ProtocolSession;

export interface TrackerCounters extends ByteStreamCounters, HttpStitcherCounters {
  events: number;
  openEvents: number;
  dataEvents: number;
  closeEvents: number;
  /** Events with impossible fields: dropped, or clamped when only `data` was longer than `size`. */
  badEvents: number;
  /** Bytes the syscalls moved, and the part of them captured. */
  bytes: number;
  capturedBytes: number;
  /** Captured bytes of connections with no parser for their protocol. */
  unparsedBytes: number;
  /** Connections whose state was dropped to make room, or after being idle. */
  evictedConns: number;
  expiredConns: number;
  /** Exceptions from a parser (a bug); parsing stops for that connection, counting goes on. */
  internalErrors: number;
  /** Exceptions thrown by the record callbacks. */
  emitErrors: number;
  /** Records of the SQL protocols (pgsql, mysql). */
  sqlRecords: number;
  /** Prepared statements forgotten because a connection prepared more than its session remembers. */
  evictedStatements: number;
}

export function newTrackerCounters(): TrackerCounters {
  return {
    ...newByteStreamCounters(),
    ...newHttpStitcherCounters(),
    events: 0,
    openEvents: 0,
    dataEvents: 0,
    closeEvents: 0,
    badEvents: 0,
    bytes: 0,
    capturedBytes: 0,
    unparsedBytes: 0,
    evictedConns: 0,
    expiredConns: 0,
    internalErrors: 0,
    emitErrors: 0,
    sqlRecords: 0,
    evictedStatements: 0,
  };
}

export interface ConnectionTrackerOptions {
  /** Name of a process (its comm), asked once per connection. */
  processName: (tgid: number) => string;
  onHttp: (record: HttpRecord) => void;
  onConnStats: (record: ConnStatsRecord) => void;
  /** Default 32768. */
  maxConnections?: number;
  /** Connections without events for this long are dropped by expireIdle; default 5 minutes. */
  idleTimeoutNs?: number;
  streamLimits?: Partial<ByteStreamLimits>;
  http?: HttpOptions;
  /** Sessions for more protocols (pgsql, mysql), or replacements; 'http1' is built in. */
  sessions?: Partial<Record<Protocol, ProtocolSessionFactory>>;
}

export const DEFAULT_MAX_CONNECTIONS = 32_768;
export const DEFAULT_IDLE_TIMEOUT_NS = 300_000_000_000;
/** How stale a connection's place in the LRU order may grow before a touch moves it (see `connections`). */
const REORDER_AFTER_NS = 1_000_000_000;

class TrackedConnection {
  localAddr = '';
  localPort = 0;
  remoteAddr = '';
  remotePort = 0;
  role: Role = 'unknown';
  protocol: Protocol = 'unknown';
  opened = false;
  preexisting = false;
  /** Bytes moved per direction according to data events (the close event carries the kernel's totals). */
  bytesSent = 0;
  bytesRecv = 0;
  lastSeenNs: number;
  /** When the connection last moved to the young end of the tracker's order. */
  orderedNs: number;
  session: ProtocolSession | undefined;
  egress: ByteStream | undefined;
  ingress: ByteStream | undefined;
  /** Parsing stopped after an internal error. */
  broken = false;
  /** Data events do not yet say whether their bytes came through a TLS library hook. */
  readonly encrypted = false;

  constructor(
    readonly key: string,
    readonly tgid: number,
    public process: string,
    tsNs: number,
  ) {
    this.lastSeenNs = tsNs;
    this.orderedNs = tsNs;
  }

  endpoint(): Endpoint {
    return {
      pid: this.tgid,
      process: this.process,
      localAddr: this.localAddr,
      localPort: this.localPort,
      remoteAddr: this.remoteAddr,
      remotePort: this.remotePort,
      role: this.role,
      encrypted: this.encrypted,
    };
  }
}

export class ConnectionTracker {
  readonly counters: TrackerCounters = newTrackerCounters();
  /**
   * In least recently used order, to a second: a Map iterates in insertion order, and a connection is re-inserted
   * when touched a second or more after its last move (not on every event: two Map operations per event cost
   * more than the rest of the lookup).
   */
  private readonly connections = new Map<string, TrackedConnection>();
  private readonly maxConnections: number;
  private readonly idleTimeoutNs: number;
  private readonly streamLimits: ByteStreamLimits;
  private readonly sessions: Partial<Record<Protocol, ProtocolSessionFactory>>;

  constructor(private readonly options: ConnectionTrackerOptions) {
    this.maxConnections = Math.max(1, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.idleTimeoutNs = options.idleTimeoutNs ?? DEFAULT_IDLE_TIMEOUT_NS;
    this.streamLimits = { ...DEFAULT_STREAM_LIMITS, ...options.streamLimits };
    const onHttp = (record: HttpRecord): void => this.safely(() => options.onHttp(record));
    this.sessions = { http1: httpSessionFactory(options.http ?? {}, onHttp), ...options.sessions };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Never throws: bad events are counted in `badEvents`, parser failures in `internalErrors`. */
  handleEvent(event: CaptureEvent): void {
    this.counters.events++;
    try {
      if (!hasIdentity(event)) {
        this.counters.badEvents++;
        return;
      }
      switch (event.kind) {
        case 'open':
          this.open(event);
          break;
        case 'data':
          this.data(event);
          break;
        case 'close':
          this.close(event);
          break;
        default:
          this.counters.badEvents++;
      }
    } catch {
      this.counters.internalErrors++;
      const conn = hasIdentity(event) ? this.connections.get(event.connKey) : undefined;
      if (conn !== undefined) stopParsing(conn);
    }
  }

  /** Drops connections idle for longer than the timeout; gives up on stream holes that waited too long. */
  expireIdle(nowNs: number): void {
    for (const conn of this.connections.values()) {
      if (nowNs - conn.lastSeenNs >= this.idleTimeoutNs) {
        this.counters.expiredConns++;
        this.finish(conn, nowNs, false, conn.bytesSent, conn.bytesRecv);
      } else if (conn.egress !== undefined && conn.ingress !== undefined) {
        try {
          conn.egress.skipStaleHoles(nowNs);
          conn.ingress.skipStaleHoles(nowNs);
        } catch {
          this.counters.internalErrors++;
          stopParsing(conn);
        }
      }
    }
  }

  /** Emits a ConnStatsRecord for every open connection, with the bytes moved so far. */
  sampleConnStats(nowNs: number): void {
    for (const conn of this.connections.values()) {
      this.emitStats(conn, nowNs, false, false, conn.bytesSent, conn.bytesRecv);
    }
  }

  /** Ends every connection (on shutdown): parsers deliver what they can, then a last stats record. */
  endAll(nowNs: number): void {
    for (const conn of this.connections.values()) {
      this.finish(conn, nowNs, false, conn.bytesSent, conn.bytesRecv);
    }
  }

  private open(event: ConnOpenEvent): void {
    this.counters.openEvents++;
    let conn = this.lookup(event.connKey, event.tsNs);
    if (conn === undefined) {
      conn = this.add(event.connKey, event.tgid, event.tsNs);
    } else if (!conn.opened) {
      // Data arrived first (events from different CPUs interleave): the open fills in the endpoint, and the
      // process name may only now be known.
      conn.process = this.processName(event.tgid);
    }
    conn.lastSeenNs = event.tsNs;
    if (conn.opened) return;
    conn.opened = true;
    conn.preexisting = event.preexisting;
    conn.localAddr = event.localAddr;
    conn.localPort = event.localPort;
    conn.remoteAddr = event.remoteAddr;
    conn.remotePort = event.remotePort;
    if (isKnownRole(event.role)) conn.role = event.role;
    this.emitStats(conn, event.tsNs, true, false, 0, 0);
  }

  private data(event: DataEvent): void {
    this.counters.dataEvents++;
    if (!isValidData(event)) {
      this.counters.badEvents++;
      return;
    }
    let data = event.data;
    if (data.length > event.size) {
      this.counters.badEvents++;
      data = data.subarray(0, event.size);
    }
    const conn = this.lookup(event.connKey, event.tsNs) ?? this.add(event.connKey, event.tgid, event.tsNs);
    conn.lastSeenNs = event.tsNs;
    if (isKnownRole(event.role)) conn.role = event.role;
    if (conn.protocol === 'unknown') conn.protocol = event.protocol;
    if (conn.session === undefined) this.startSession(conn, event.pos);
    this.counters.bytes += event.size;
    this.counters.capturedBytes += data.length;
    const stream = event.direction === 'egress' ? conn.egress : conn.ingress;
    if (event.direction === 'egress') conn.bytesSent += event.size;
    else conn.bytesRecv += event.size;
    if (stream !== undefined) stream.push(event.pos, event.size, data, event.tsNs, event.shed === true);
    else this.counters.unparsedBytes += data.length;
  }

  private close(event: CloseEvent): void {
    this.counters.closeEvents++;
    const conn =
      this.connections.get(event.connKey) ??
      new TrackedConnection(event.connKey, event.tgid, this.processName(event.tgid), event.tsNs);
    if (isKnownRole(event.role)) conn.role = event.role;
    if (conn.protocol === 'unknown' && typeof event.protocol === 'string') conn.protocol = event.protocol;
    const bytesSent = isCount(event.bytesSent) ? event.bytesSent : conn.bytesSent;
    const bytesRecv = isCount(event.bytesRecv) ? event.bytesRecv : conn.bytesRecv;
    this.finish(conn, event.tsNs, true, bytesSent, bytesRecv);
  }

  private startSession(conn: TrackedConnection, firstPos: number): void {
    if (conn.broken || !Object.hasOwn(this.sessions, conn.protocol)) return;
    const factory = this.sessions[conn.protocol];
    if (factory === undefined) return;
    const fromStart = conn.opened && !conn.preexisting;
    const session = factory({
      midStream: conn.preexisting || (!conn.opened && firstPos !== 0),
      counters: this.counters,
      role: () => conn.role,
      endpoint: () => conn.endpoint(),
    });
    conn.session = session;
    // A stream seen from the connection's start begins at 0; otherwise its first chunk says where.
    conn.egress = new ByteStream(
      sessionSink(session, 'egress'),
      this.counters,
      this.streamLimits,
      fromStart && conn.bytesSent === 0 ? 0 : undefined,
    );
    conn.ingress = new ByteStream(
      sessionSink(session, 'ingress'),
      this.counters,
      this.streamLimits,
      fromStart && conn.bytesRecv === 0 ? 0 : undefined,
    );
  }

  /** Finds a connection and marks it most recently used. */
  private lookup(key: string, tsNs: number): TrackedConnection | undefined {
    const conn = this.connections.get(key);
    if (conn !== undefined && tsNs - conn.orderedNs >= REORDER_AFTER_NS) {
      this.connections.delete(key);
      this.connections.set(key, conn);
      conn.orderedNs = tsNs;
    }
    return conn;
  }

  private add(key: string, tgid: number, tsNs: number): TrackedConnection {
    if (this.connections.size >= this.maxConnections) {
      const oldest = this.connections.values().next().value;
      if (oldest !== undefined) {
        this.counters.evictedConns++;
        this.finish(oldest, tsNs, false, oldest.bytesSent, oldest.bytesRecv);
      }
    }
    const conn = new TrackedConnection(key, tgid, this.processName(tgid), tsNs);
    this.connections.set(key, conn);
    return conn;
  }

  /** Removes a connection: its parser delivers what it can, then a last stats record goes out. */
  private finish(
    conn: TrackedConnection,
    tsNs: number,
    closed: boolean,
    bytesSent: number,
    bytesRecv: number,
  ): void {
    this.connections.delete(conn.key);
    if (conn.session !== undefined) {
      try {
        conn.egress?.flush();
        conn.ingress?.flush();
        conn.session.onEnd(closed);
      } catch {
        this.counters.internalErrors++;
      }
      stopParsing(conn);
    }
    this.emitStats(conn, tsNs, false, closed, bytesSent, bytesRecv);
  }

  private emitStats(
    conn: TrackedConnection,
    tsNs: number,
    connOpen: boolean,
    connClose: boolean,
    bytesSent: number,
    bytesRecv: number,
  ): void {
    const record: ConnStatsRecord = {
      pid: conn.tgid,
      process: conn.process,
      localAddr: conn.localAddr,
      localPort: conn.localPort,
      remoteAddr: conn.remoteAddr,
      remotePort: conn.remotePort,
      role: conn.role,
      encrypted: conn.encrypted,
      timeNs: tsNs,
      protocol: conn.protocol,
      connOpen,
      connClose,
      bytesSent,
      bytesRecv,
    };
    this.safely(() => this.options.onConnStats(record));
  }

  private processName(tgid: number): string {
    try {
      return this.options.processName(tgid);
    } catch {
      return '';
    }
  }

  /** Runs a caller's callback: its failure must not abort parsing half-way through a chunk. */
  private safely(callback: () => void): void {
    try {
      callback();
    } catch {
      this.counters.emitErrors++;
    }
  }
}

function sessionSink(session: ProtocolSession, direction: Direction): StreamSink {
  return {
    onData: (data, tsNs) => session.onData(direction, data, tsNs),
    onGap: (length, tsNs) => session.onGap(direction, length, tsNs),
    onShed: (length, tsNs) =>
      session.onShed ? session.onShed(direction, length, tsNs) : session.onGap(direction, length, tsNs),
  };
}

function stopParsing(conn: TrackedConnection): void {
  conn.broken = true;
  conn.session = undefined;
  conn.egress = undefined;
  conn.ingress = undefined;
}

function hasIdentity(event: CaptureEvent): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.connKey === 'string' &&
    Number.isSafeInteger(event.tgid) &&
    Number.isFinite(event.tsNs)
  );
}

function isValidData(event: DataEvent): boolean {
  return (
    Buffer.isBuffer(event.data) &&
    isCount(event.pos) &&
    isCount(event.size) &&
    (event.direction === 'egress' || event.direction === 'ingress') &&
    typeof event.protocol === 'string'
  );
}

function isKnownRole(role: Role): role is 'client' | 'server' {
  return role === 'client' || role === 'server';
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
