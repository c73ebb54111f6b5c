/**
 * One node's collector: kernel capture → connection tracker → DuckDB store, plus the timers that keep it healthy
 * (idle expiry, stats samples, retention). The query API is wired around it by the CLI commands.
 */
import fs from 'node:fs';
import type { CaptureEvent } from './capture/events.js';
import { SocketCapture, type CaptureOptions } from './capture/socket-capture.js';
import { ConnectionTracker } from './conn/connection-tracker.js';
import { ProcessNames } from './metadata/process-names.js';
import { HeadCache } from './protocols/http/head-cache.js';
import { DEFAULT_CHECKPOINT_WAL_BYTES, EventStore, measureClockOffsetNs } from './store/event-store.js';
import type { ConnStatsRecord, HttpRecord, MysqlRecord, PgsqlRecord } from './store/records.js';
import { mysqlSessionFactory } from './protocols/mysql/mysql-session.js';
import { pgsqlSessionFactory } from './protocols/pgsql/pgsql-session.js';
import { RetentionPolicy } from './store/retention-policy.js';
import { FullCaptureMarker } from './capture/full-capture-marker.js';
import { CpuLimit } from './capture/cpu-limit.js';
import type { ServiceSelector } from './metadata/service-selector.js';

export interface CollectorOptions {
  node: string;
  dataDir: string;
  /** A network namespace file (e.g. /run/netns/NAME): capture only sockets of that namespace. */
  netnsPath?: string;
  captureBytes?: number;
  /** Bytes of each HTTP body kept in the store (the true size is always kept). */
  bodyBytes?: number;
  retentionMaxAgeMs?: number;
  retentionMaxBytes?: number;
  /** How often collector_stats gets a row and connection byte counts are sampled. */
  statsIntervalMs?: number;
  /** Services whose HTTP bodies are kept up to `bodyBytes` (copied whole by the kernel, not cut per syscall). */
  fullBodies?: { services: ServiceSelector[]; bodyBytes: number };
  /** Cores the collector may use on average; above it, payload records are shed and counted (no limit if unset). */
  cpuLimitCores?: number;
}

export const COLLECTOR_DEFAULTS = {
  bodyBytes: 8192,
  retentionMaxAgeMs: 24 * 3600_000,
  retentionMaxBytes: 1024 * 1024 * 1024,
  statsIntervalMs: 10_000,
  /** Largest body kept for a full-body service, and so the most the kernel copies of one syscall for it. */
  maxFullBodyBytes: 16 * 1024 * 1024,
} as const;

/** Room for the head of a message in the same syscall as a full body. */
const FULL_CAPTURE_HEAD_BYTES = 64 * 1024;

export interface CollectorStatus {
  node: string;
  eventsPerSecond: number;
  events: number;
  drops: number;
  dropsByReason: Record<string, number>;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
  connections: number;
  /** Retention settings, so the UI and `loupe status` can say how long rows are kept. */
  retentionMaxAgeMs: number;
  retentionMaxBytes: number;
  /** Processes of full-body services marked in the kernel now, and marks refused for want of room. */
  fullCaptureProcesses: number;
  fullCaptureRefused: number;
  /** Capture bytes waiting unparsed while the store is behind, now and at most since start. */
  heldBytes: number;
  heldBytesMax: number;
  /** HTTP heads cached now and at most; times the cache was full and emptied; heads not looked up because
   * their kind seldom repeats lately. */
  headCache: { heads: number; limit: number; clears: number; skipped: number };
}

/** Monotonic nanoseconds on the clock the kernel stamps events with. */
function monotonicNs(): number {
  return Number(process.hrtime.bigint());
}

export class Collector {
  private readonly names = new ProcessNames();
  private readonly headCache = new HeadCache();
  private readonly tracker: ConnectionTracker;
  private readonly timers: NodeJS.Timeout[] = [];
  private http: HttpRecord[] = [];
  private pgsql: PgsqlRecord[] = [];
  private mysql: MysqlRecord[] = [];
  private conns: ConnStatsRecord[] = [];
  private lastSample = { atNs: monotonicNs(), events: 0, drops: 0, parseErrors: 0, bytes: 0 };
  private eventsPerSecond = 0;
  private closed = false;
  private fullCapture: FullCaptureMarker | null = null;
  private cpuLimit: CpuLimit | null = null;

  private constructor(
    private readonly options: CollectorOptions,
    readonly store: EventStore,
    private readonly retention: RetentionPolicy,
    private readonly capture: SocketCapture,
  ) {
    this.tracker = new ConnectionTracker({
      processName: (tgid) => this.names.lookup(tgid),
      onHttp: (record) => this.http.push(record),
      onConnStats: (record) => this.conns.push(record),
      http: {
        maxBodyBytes: options.bodyBytes ?? COLLECTOR_DEFAULTS.bodyBytes,
        headCache: this.headCache,
        ...(options.fullBodies
          ? {
              fullBodies: {
                services: options.fullBodies.services,
                maxBodyBytes: options.fullBodies.bodyBytes,
              },
            }
          : {}),
      },
      sessions: {
        pgsql: pgsqlSessionFactory((record) => this.pgsql.push(record)),
        mysql: mysqlSessionFactory((record) => this.mysql.push(record)),
      },
    });
  }

  /** Opens the store, loads and attaches the kernel side, and starts capturing. */
  static async start(options: CollectorOptions): Promise<Collector> {
    const captureOptions: CaptureOptions = {};
    if (options.captureBytes !== undefined) captureOptions.captureBytes = options.captureBytes;
    if (options.netnsPath !== undefined) captureOptions.targetNetns = fs.statSync(options.netnsPath).ino;
    if (options.fullBodies) {
      const bytes = Math.min(options.fullBodies.bodyBytes, COLLECTOR_DEFAULTS.maxFullBodyBytes);
      captureOptions.fullCaptureBytes = bytes + FULL_CAPTURE_HEAD_BYTES;
    }
    const capture = new SocketCapture(captureOptions);
    let store: EventStore | undefined;
    try {
      const maxBytes = options.retentionMaxBytes ?? COLLECTOR_DEFAULTS.retentionMaxBytes;
      store = await EventStore.open({
        dataDir: options.dataDir,
        node: options.node,
        clockOffsetNs: measureClockOffsetNs(),
        // The WAL counts against the size budget: a small budget checkpoints sooner.
        checkpointWalBytes: Math.min(DEFAULT_CHECKPOINT_WAL_BYTES, Math.floor(maxBytes / 8)),
      });
      const retention = new RetentionPolicy(store, {
        maxAgeMs: options.retentionMaxAgeMs ?? COLLECTOR_DEFAULTS.retentionMaxAgeMs,
        maxBytes,
      });
      const collector = new Collector(options, store, retention, capture);
      collector.run();
      return collector;
    } catch (err) {
      capture.close();
      await store?.close();
      throw err;
    }
  }

  private run(): void {
    if (this.options.fullBodies) {
      this.fullCapture = new FullCaptureMarker(this.capture, this.options.fullBodies.services);
      this.fullCapture.start();
    }
    // Batches wait unparsed while the store is behind: raw records take far less memory than the rows parsed
    // from them would while queued for the store.
    this.capture.start(
      (event) => this.onEvent(event),
      () => this.drainRecords(),
      () => this.store.behind,
    );
    this.retention.start();
    if (this.options.cpuLimitCores !== undefined) {
      this.cpuLimit = new CpuLimit({
        cores: this.options.cpuLimitCores,
        capture: this.capture,
      });
      this.cpuLimit.start();
    }
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(1_000, () => this.tracker.expireIdle(monotonicNs()));
    every(this.options.statsIntervalMs ?? COLLECTOR_DEFAULTS.statsIntervalMs, () => this.sample());
  }

  private onEvent(event: CaptureEvent): void {
    if (event.kind === 'open') this.names.remember(event.tgid, event.comm);
    this.tracker.handleEvent(event);
  }

  /** Records are handed to the store once per batch, not once per record. */
  private drainRecords(): void {
    if (this.http.length > 0) {
      this.store.appendHttp(this.http);
      this.http = [];
    }
    if (this.pgsql.length > 0) {
      this.store.appendPgsql(this.pgsql);
      this.pgsql = [];
    }
    if (this.mysql.length > 0) {
      this.store.appendMysql(this.mysql);
      this.mysql = [];
    }
    if (this.conns.length > 0) {
      this.store.appendConnStats(this.conns);
      this.conns = [];
    }
  }

  private parseErrors(): number {
    const c = this.tracker.counters;
    return c.parseErrors + c.badEvents + c.internalErrors;
  }

  /** Writes a collector_stats row with what happened since the previous one. */
  private sample(): void {
    const nowNs = monotonicNs();
    this.tracker.sampleConnStats(nowNs);
    this.drainRecords();
    const now = {
      atNs: nowNs,
      events: this.tracker.counters.events,
      drops: this.drops().total,
      parseErrors: this.parseErrors(),
      bytes: this.tracker.counters.bytes,
    };
    const prev = this.lastSample;
    this.eventsPerSecond = ((now.events - prev.events) * 1e9) / Math.max(1, now.atNs - prev.atNs);
    const store = this.store.counters;
    this.store.appendCollectorStats([
      {
        timeNs: nowNs,
        events: now.events - prev.events,
        bytes: now.bytes - prev.bytes,
        drops: now.drops - prev.drops,
        parseErrors: now.parseErrors - prev.parseErrors,
        storeRows: store.rowsWritten,
        storeBytes: store.storeBytes,
      },
    ]);
    this.lastSample = now;
  }

  /** Everything lost on the way to the store: in the kernel, at the reader, and rows the store turned away. */
  private drops(): { total: number; byReason: Record<string, number> } {
    const capture = this.capture.counters();
    const storeDropped = this.store.counters.rowsDropped;
    return {
      total: capture.dropsTotal + storeDropped,
      byReason: { ...capture.drops, store_rejected: storeDropped },
    };
  }

  status(): CollectorStatus {
    const store = this.store.counters;
    const drops = this.drops();
    const capture = this.capture.counters();
    return {
      node: this.options.node,
      eventsPerSecond: this.eventsPerSecond,
      events: this.tracker.counters.events,
      drops: drops.total,
      dropsByReason: drops.byReason,
      parseErrors: this.parseErrors(),
      storeRows: store.rowsWritten,
      storeBytes: store.storeBytes,
      connections: this.tracker.connectionCount,
      retentionMaxAgeMs: this.options.retentionMaxAgeMs ?? COLLECTOR_DEFAULTS.retentionMaxAgeMs,
      retentionMaxBytes: this.options.retentionMaxBytes ?? COLLECTOR_DEFAULTS.retentionMaxBytes,
      fullCaptureProcesses: this.fullCapture?.counters.marked ?? 0,
      fullCaptureRefused: this.fullCapture?.counters.refused ?? 0,
      heldBytes: capture.heldBytes,
      heldBytesMax: capture.heldBytesMax,
      headCache: {
        heads: this.headCache.size,
        limit: this.headCache.limit,
        clears: this.headCache.clears,
        skipped: this.headCache.skipped,
      },
    };
  }

  /** Detaches from the kernel, lets the parsers finish what they hold, and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.fullCapture?.stop();
    this.cpuLimit?.stop();
    this.capture.close();
    this.tracker.endAll(monotonicNs());
    this.drainRecords();
    await this.retention.stop();
    await this.store.close();
  }
}
