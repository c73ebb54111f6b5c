/**
 * The node's DuckDB store: one database file per node, appended to in batches.
 *
 * Records arrive on the hot path and only join a bounded in-memory queue; a timer (or a full batch) drains the
 * queue through DuckDB appenders, one per table per transaction. When the queue is full, rows are turned away
 * and counted rather than buffered without bound: losing the newest rows under overload is visible in
 * `rowsDropped`, running out of memory is not.
 *
 * Appended rows are committed in large transactions, not chunk by chunk: when a table has a whole DuckDB row group
 * of them, when the oldest has waited `maxCommitDelayMs`, and whenever a reader connects (so queries see every
 * row captured before them). A transaction holding a whole row group has DuckDB compress it and write it straight
 * into the file, instead of into the WAL first and into the file again at the next checkpoint (see
 * ROW_GROUP_ROWS).
 */

import { mkdir } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { join } from 'node:path';
import { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { headersToJson } from '../protocols/http/head-cache.js';
import {
  CHUNK_ROWS,
  ChunkColumnWriter,
  columnKind,
  type ChunkColumn,
  type ColumnValue,
} from './chunk-columns.js';
import type {
  CollectorStatsRecord,
  ConnStatsRecord,
  Endpoint,
  HttpRecord,
  MysqlRecord,
  PgsqlRecord,
} from './records.js';
import {
  CREATE_TABLE_STATEMENTS,
  STORE_TABLES,
  TABLE_NAMES,
  type ColumnName,
  type TableName,
} from './schema.js';

export interface EventStoreOptions {
  /** Directory holding the database file; created if missing. */
  dataDir: string;
  /** Node name: stored in every row's `node` column and used for the file name. */
  node: string;
  /** Wall-clock ns minus CLOCK_MONOTONIC ns, see `measureClockOffsetNs`. */
  clockOffsetNs: bigint;
  /** Most rows waiting for a flush, all tables together; more are dropped and counted. */
  maxPendingRows?: number;
  /** Flush as soon as this many rows are pending, without waiting for the timer. */
  flushRows?: number;
  flushIntervalMs?: number;
  /** WAL size at which the store checkpoints, off the event loop (default 64 MiB). */
  checkpointWalBytes?: number;
  /** Longest an appended row waits for its commit when no reader connects (default 10 s). Rows not committed
   * are lost if the process dies without closing the store. */
  maxCommitDelayMs?: number;
  /** Told about failed flushes (the rows are also counted as dropped); defaults to console.error. */
  onError?: (error: Error) => void;
}

export interface EventStoreCounters {
  rowsWritten: number;
  /** Rows turned away (queue full, store closed, no valid time) or lost in a failed flush. */
  rowsDropped: number;
  writeErrors: number;
  /** WAL folds into the file, the store's own and the retention policy's (DuckDB's own backstop ones not). */
  checkpoints: number;
  pendingRows: number;
  /** Rows appended in the open transaction: stored once it commits, dropped if it fails. */
  uncommittedRows: number;
  /** Database file plus write-ahead log, as they are on disk now. */
  storeBytes: number;
}

/** Every table of the store is appended to by the collector. */
type AppendedTable = TableName;

interface RecordOf {
  http_events: HttpRecord;
  pgsql_events: PgsqlRecord;
  mysql_events: MysqlRecord;
  conn_stats: ConnStatsRecord;
  collector_stats: CollectorStatsRecord;
}

type PendingRows = { [T in AppendedTable]: RecordOf[T][] };

const DEFAULT_MAX_PENDING_ROWS = 100_000;
/**
 * A data chunk's worth: rows are written within tens of milliseconds at high rates, mostly before V8 moves them
 * to its old space, where they would wait for a full collection (10,000 took about 30 MiB more RSS at 20k
 * requests/s).
 */
const DEFAULT_FLUSH_ROWS = CHUNK_ROWS;
const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
/**
 * Rows per DuckDB row group in the store's file, set when it is attached. A transaction that appends a whole row
 * group to a table has DuckDB compress it and write it straight to the file (optimistic writes): no WAL write and
 * no rewrite at the next checkpoint. DuckDB's default of 122,880 takes a transaction half a minute to fill at 2,000
 * requests/s; with 16,384 it takes 4 s and holds about 10 MB uncommitted. Per row: 6 µs of CPU against 20 when
 * committed a chunk of 2,048 at a time, measured on the http_events schema.
 */
export const ROW_GROUP_ROWS = 16_384;
/**
 * The DuckDB storage format a new store file is created in. DuckDB writes its files in the format of v0.10.2 unless
 * told otherwise, so that older releases can read them; that format compresses a string column by trying a
 * dictionary and FSST each in turn, where later ones have a single method for both (DICT_FSST). The same rows
 * stored for a third less CPU, in a file of the same size (docs/design-notes.md). Only Loupe opens its files, with
 * the DuckDB it ships. A file created in an older format is opened as it is: upgrading it would leave uncompressed
 * the columns its tables pin to the older dictionary method.
 */
export const STORE_STORAGE_VERSION = 'v1.5.0';
/**
 * DuckDB's block size in a new store file, a quarter of its default. Rows committed short of a row group (a
 * reader connected) go into the table's in-memory segments, a block per column, each of them zeroed whole: with
 * 256 KiB blocks, 12-14 MB of fresh memory for every such commit of the http_events table, faulted in page by page.
 * With a reader every 10 s at 2,000 rows/s, 64 KiB blocks took the store 13-16 µs of CPU per row against 21-25, a
 * third of the page faults and 130 MiB of RSS against 180-200, and wrote smaller files (the segments of a row
 * group fill their blocks better), for the same CPU per row without readers (docs/design-notes.md).
 */
export const STORE_BLOCK_BYTES = 64 * 1024;
/** ATTACH options that only a new file takes: an existing one keeps the format and block size it was created with. */
export const NEW_STORE_FILE_OPTIONS = `STORAGE_VERSION '${STORE_STORAGE_VERSION}', BLOCK_SIZE ${STORE_BLOCK_BYTES}`;
/**
 * DuckDB's memory limit on a collector, for the store and the queries run on the node. DuckDB keeps the blocks it
 * wrote and read cached up to its limit: at 1 GB (the query engine's default) a collector's RSS grew by about
 * 1 MiB a second at 2,000 requests/s and passed its 256 MiB target within two minutes. Queries that need more
 * spill to a directory beside the store's file.
 */
export const STORE_MEMORY_LIMIT = '64MB';
/** The store's file is attached under this name, and every connection of the store uses it by default. */
const STORE_CATALOG = 'store';
const DEFAULT_MAX_COMMIT_DELAY_MS = 10_000;
/** WAL size at which the store checkpoints (off the event loop): large enough that the partly filled row
 * group DuckDB rewrites at each checkpoint is a small part of the rows written since the last one. */
export const DEFAULT_CHECKPOINT_WAL_BYTES = 64 * 1024 * 1024;
/**
 * Committed rows that DuckDB holds in memory, at which the store checkpoints however small the WAL. Rows committed
 * short of a whole row group (a reader asked for them, or they waited `maxCommitDelayMs`) stay in the table's
 * in-memory segments until a checkpoint writes them to the file, and a whole row group committed after them starts
 * a new group: each such commit of the http_events table holds a block per column, about 3 MB with the store's
 * 64 KiB blocks (12-14 MB with DuckDB's default of 256 KiB), however few its rows. With a commit forced every 10 s
 * at 2,000 requests/s and 256 KiB blocks, that grew by 1.3 MB a second while the WAL grew by 0.1: the store's 64 MB
 * filled within a minute, and DuckDB then wrote the excess to its temporary files, compressing it as it went
 * (docs/design-notes.md). Half the store's memory: checkpoints cost memory of their own (compression buffers), so
 * a node whose rows a dashboard asks for every few seconds checkpoints every tenth such commit rather than at each.
 */
export const IN_MEMORY_CHECKPOINT_BYTES = 32 * 1024 * 1024;
const IN_MEMORY_BYTES_SQL =
  "SELECT memory_usage_bytes + temporary_storage_bytes FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'";
/** DuckDB's own checkpoint, in the committing call, only if the store's have not kept the WAL below this. */
const AUTO_CHECKPOINT_WAL_BYTES = 4 * DEFAULT_CHECKPOINT_WAL_BYTES;

/** Wall-clock ns minus CLOCK_MONOTONIC ns, right now. `process.hrtime` reads CLOCK_MONOTONIC on Linux, the
 * clock `bpf_ktime_get_ns` uses, so kernel timestamps plus this offset are wall-clock (to Date.now()'s 1 ms). */
export function measureClockOffsetNs(): bigint {
  const monotonicNs = process.hrtime.bigint();
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  return wallNs - monotonicNs;
}

/** Exact as long as `monotonicNs` is an integer below 2^53 (see capture/events.ts). */
export function monotonicToWallClockNs(monotonicNs: number, clockOffsetNs: bigint): bigint {
  return BigInt(Math.trunc(monotonicNs)) + clockOffsetNs;
}

/** Node names become file names: keep them to characters that are safe in any directory. */
export function storeFileName(node: string): string {
  return `${node.replace(/[^A-Za-z0-9._-]/g, '_')}.duckdb`;
}

// Each column's value for one record, in the kind its SQL type asks for (see chunk-columns.ts); values of the
// wrong type become NULL there instead of failing the whole chunk.
type TableValues<T extends AppendedTable> = Record<ColumnName<T>, ColumnValue<RecordOf[T]>>;

/** Statements that succeeded carry no error: NULL, so `error IS NOT NULL` counts the failures. */
function errorText(value: string): string | null {
  return value === '' ? null : value;
}

function json(value: Record<string, string> | string[]): string {
  return JSON.stringify(value ?? {});
}

type EndpointColumn =
  'pid' | 'process' | 'local_addr' | 'local_port' | 'remote_addr' | 'remote_port' | 'role';

type StatementColumn = Exclude<ColumnName<'pgsql_events'>, EndpointColumn | 'time' | 'node'>;

const endpointValues: Record<EndpointColumn, ColumnValue<Endpoint>> = {
  pid: (r) => r.pid,
  process: (r) => r.process,
  local_addr: (r) => r.localAddr,
  local_port: (r) => r.localPort,
  remote_addr: (r) => r.remoteAddr,
  remote_port: (r) => r.remotePort,
  role: (r) => r.role,
};

/** The columns PostgreSQL and MySQL statements share (MySQL adds `resp_status`). */
const statementValues: Record<StatementColumn, ColumnValue<PgsqlRecord | MysqlRecord>> = {
  req_cmd: (r) => r.reqCmd,
  req: (r) => r.req,
  req_params: (r) => json(r.reqParams),
  req_normalized: (r) => r.reqNormalized,
  resp: (r) => r.resp,
  error: (r) => errorText(r.error),
  latency_ns: (r) => r.latencyNs,
  encrypted: (r) => r.encrypted,
};

/** `time` is monotonic here: the chunk writer shifts it to wall-clock. `node` is filled in per store. */
const timeValue = { time: (record: { timeNs: number }) => record.timeNs };

function valuesOf(node: string): { [T in AppendedTable]: TableValues<T> } {
  const timeAndNode = { ...timeValue, node: () => node };
  return {
    http_events: {
      ...timeAndNode,
      ...endpointValues,
      version: (r) => r.version,
      req_method: (r) => r.reqMethod,
      req_path: (r) => r.reqPath,
      req_headers: (r) => headersToJson(r.reqHeaders),
      req_body: (r) => r.reqBody,
      req_body_size: (r) => r.reqBodySize,
      req_body_truncated: (r) => r.reqBodyTruncated,
      resp_status: (r) => r.respStatus,
      resp_message: (r) => r.respMessage,
      resp_headers: (r) => headersToJson(r.respHeaders),
      resp_body: (r) => r.respBody,
      resp_body_size: (r) => r.respBodySize,
      resp_body_truncated: (r) => r.respBodyTruncated,
      latency_ns: (r) => r.latencyNs,
      encrypted: (r) => r.encrypted,
    },
    pgsql_events: { ...timeAndNode, ...endpointValues, ...statementValues },
    mysql_events: {
      ...timeAndNode,
      ...endpointValues,
      ...statementValues,
      resp_status: (r) => r.respStatus,
    },
    conn_stats: {
      ...timeAndNode,
      ...endpointValues,
      protocol: (r) => r.protocol,
      conn_open: (r) => r.connOpen,
      conn_close: (r) => r.connClose,
      bytes_sent: (r) => r.bytesSent,
      bytes_recv: (r) => r.bytesRecv,
    },
    collector_stats: {
      ...timeAndNode,
      events: (r) => r.events,
      bytes: (r) => r.bytes,
      drops: (r) => r.drops,
      parse_errors: (r) => r.parseErrors,
      store_rows: (r) => r.storeRows,
      store_bytes: (r) => r.storeBytes,
    },
  };
}

type TableChunkColumns = { [T in AppendedTable]: ChunkColumn<RecordOf[T]>[] };

/** Each table's columns in the table's order, which is the order of an appender's data chunk. */
function chunkColumnsOf(node: string): TableChunkColumns {
  const values = valuesOf(node);
  const columnsOf = <T extends AppendedTable>(table: T): ChunkColumn<RecordOf[T]>[] => {
    const tableValues: Record<string, ColumnValue<RecordOf[T]>> = values[table];
    return STORE_TABLES[table].map((column) => ({
      kind: columnKind(column.type),
      value: tableValues[column.name]!,
    }));
  };
  return {
    http_events: columnsOf('http_events'),
    pgsql_events: columnsOf('pgsql_events'),
    mysql_events: columnsOf('mysql_events'),
    conn_stats: columnsOf('conn_stats'),
    collector_stats: columnsOf('collector_stats'),
  };
}

const APPENDED_TABLES = Object.keys(STORE_TABLES) as AppendedTable[];

function emptyPendingRows(): PendingRows {
  return { http_events: [], pgsql_events: [], mysql_events: [], conn_stats: [], collector_stats: [] };
}

function zeroPerTable(): Record<AppendedTable, number> {
  return { http_events: 0, pgsql_events: 0, mysql_events: 0, conn_stats: 0, collector_stats: 0 };
}

/** `time` is NOT NULL and drives retention: a record without a usable time cannot be stored. */
function hasUsableTime(record: { timeNs: number }): boolean {
  return Number.isFinite(record.timeNs) && record.timeNs >= 0;
}

/** A file written by another version of the collector must not be appended to column-shifted. */
async function assertColumnsMatch(connection: DuckDBConnection, path: string): Promise<void> {
  const reader = await connection.runAndReadAll(
    `SELECT table_name, list(column_name ORDER BY ordinal_position) AS columns
       FROM information_schema.columns
      WHERE table_schema = 'main' AND table_catalog = current_database()
      GROUP BY table_name`,
  );
  const actual = new Map(
    reader.getRowObjectsJS().map((row) => [String(row.table_name), (row.columns as string[]).join(',')]),
  );
  for (const table of TABLE_NAMES) {
    const expected = STORE_TABLES[table].map((column) => column.name).join(',');
    if (actual.get(table) !== expected) {
      throw new Error(
        `store ${path}: table ${table} has columns (${actual.get(table) ?? 'none'}), expected (${expected}); ` +
          'move the file aside or point --data-dir elsewhere',
      );
    }
  }
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export class EventStore {
  readonly path: string;
  readonly node: string;

  private readonly instance: DuckDBInstance;
  private readonly writer: DuckDBConnection;
  private readonly columns: TableChunkColumns;
  private readonly chunkWriter: ChunkColumnWriter;
  /**
   * One data chunk per table, kept between flushes: creating one (a vector per column, each column's type fetched
   * from the appender) cost about half a µs per row at 2,000 requests/s, a flush a second.
   */
  private readonly chunks = new Map<AppendedTable, DuckDBDataChunk>();
  /**
   * The open transaction's appenders, one per table appended to, closed as it commits. An appender holds the
   * chunks appended to it until it is flushed, and each flush is a whole INSERT, planned and executed (a data
   * chunk per column allocated for it): flushed at every write, once a second, that was about a tenth of the
   * collector's CPU at 2,000 requests/s (perf); closed at the commit, it runs once per row group.
   */
  private readonly appenders = new Map<AppendedTable, DuckDBAppender>();
  private readonly maxPendingRows: number;
  private readonly flushRows: number;
  private readonly checkpointWalBytes: number;
  private readonly maxCommitDelayMs: number;
  private readonly onError: (error: Error) => void;
  private readonly flushTimer: NodeJS.Timeout;

  private pending = emptyPendingRows();
  private pendingCount = 0;
  /** Rows of the batch being written that are not appended yet. */
  private writingCount = 0;
  private rowsWritten = 0;
  private rowsDropped = 0;
  private writeErrors = 0;
  private checkpoints = 0;
  private closed = false;
  /** Rows appended per table in the writer's open transaction, and when it began (null: none is open). */
  private uncommitted = zeroPerTable();
  private transactionStartedMs: number | null = null;
  /** Set by flush() and readers: the next write commits whatever it leaves appended. */
  private commitRequested = false;
  /** At most one flush runs and at most one waits behind it; later callers share the waiting one. */
  private flushRunning: Promise<void> = Promise.resolve();
  private flushWaiting: Promise<void> | null = null;

  private constructor(
    instance: DuckDBInstance,
    writer: DuckDBConnection,
    path: string,
    options: EventStoreOptions,
  ) {
    this.instance = instance;
    this.writer = writer;
    this.path = path;
    this.node = options.node;
    this.columns = chunkColumnsOf(options.node);
    this.chunkWriter = new ChunkColumnWriter(options.clockOffsetNs);
    this.maxPendingRows = options.maxPendingRows ?? DEFAULT_MAX_PENDING_ROWS;
    this.flushRows = Math.min(options.flushRows ?? DEFAULT_FLUSH_ROWS, this.maxPendingRows);
    this.checkpointWalBytes = options.checkpointWalBytes ?? DEFAULT_CHECKPOINT_WAL_BYTES;
    this.maxCommitDelayMs = options.maxCommitDelayMs ?? DEFAULT_MAX_COMMIT_DELAY_MS;
    this.onError = options.onError ?? ((error) => console.error(`event store ${path}: ${error.message}`));
    this.flushTimer = setInterval(
      () => void this.write(),
      options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    );
    // The store must not keep a process alive that is otherwise done; close() flushes what is left.
    this.flushTimer.unref();
  }

  /** Opens the node's database file (creating it and its tables if missing). */
  static async open(options: EventStoreOptions): Promise<EventStore> {
    await mkdir(options.dataDir, { recursive: true });
    const path = join(options.dataDir, storeFileName(options.node));
    // The row group size is an option of ATTACH only, so the instance itself is an empty in-memory database.
    const instance = await DuckDBInstance.create(':memory:');
    try {
      const writer = await instance.connect();
      const newFile = fileBytes(path) > 0 ? '' : `, ${NEW_STORE_FILE_OPTIONS}`;
      await writer.run(
        `ATTACH ${sqlString(path)} AS ${STORE_CATALOG} (ROW_GROUP_SIZE ${ROW_GROUP_ROWS}${newFile})`,
      );
      await writer.run(`USE ${STORE_CATALOG}`);
      // One thread: each statement runs on the thread that issued it. With more, a statement's tasks go to
      // DuckDB's workers while the issuing thread polls for their end, about a tenth of the collector's CPU under
      // a steady load (measured); it costs the queries on this node their parallelism, which on a node whose
      // cores belong to its services is a cost worth paying.
      await writer.run('SET threads = 1');
      // DuckDB checkpoints on its own once the WAL passes 16 MB, inside the commit that crossed the line: on
      // this thread, for hundreds of ms, and rewriting the table's partly filled row group every time (2-5x the
      // CPU per row of committing alone, measured). The store checkpoints itself, less often and off this
      // thread (see commit); DuckDB's own remains as a backstop.
      await writer.run(`SET checkpoint_threshold = '${AUTO_CHECKPOINT_WAL_BYTES / 1024 / 1024}MiB'`);
      await writer.run(`SET memory_limit = '${STORE_MEMORY_LIMIT}'`);
      await writer.run(`SET temp_directory = ${sqlString(`${path}.tmp`)}`);
      for (const statement of CREATE_TABLE_STATEMENTS) await writer.run(statement);
      await assertColumnsMatch(writer, path);
      return new EventStore(instance, writer, path, options);
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  /** Queues rows for the next flush; returns how many were accepted (the rest are counted as dropped). */
  appendHttp(records: readonly HttpRecord[]): number {
    return this.enqueue('http_events', records);
  }

  appendPgsql(records: readonly PgsqlRecord[]): number {
    return this.enqueue('pgsql_events', records);
  }

  appendMysql(records: readonly MysqlRecord[]): number {
    return this.enqueue('mysql_events', records);
  }

  appendConnStats(records: readonly ConnStatsRecord[]): number {
    return this.enqueue('conn_stats', records);
  }

  appendCollectorStats(records: readonly CollectorStatsRecord[]): number {
    return this.enqueue('collector_stats', records);
  }

  /** Writes and commits every row queued before this call. Never rejects: failures go to the counters and onError. */
  flush(): Promise<void> {
    this.commitRequested = true;
    return this.write();
  }

  /**
   * Folds the WAL into the database file, after the flush under way and a commit of what it appended (DuckDB
   * refuses a checkpoint while a transaction holds changes). The store's own checkpoints and others' (the
   * retention policy's) take turns here: DuckDB refuses a checkpoint while another one runs.
   */
  checkpoint(): Promise<void> {
    const done = this.flushRunning.then(async () => {
      await this.commit();
      await this.foldWal();
    });
    this.flushRunning = done.catch(() => undefined);
    return done;
  }

  /**
   * A separate connection for readers (queries, retention), so that they do not run between the writer's
   * statements. Rows queued or appended before the call are committed first: a query sees everything captured
   * before it.
   */
  async connect(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error(`event store ${this.path} is closed`);
    await this.flush();
    return this.connectCommitted();
  }

  /**
   * A reader's connection that sees what is committed, without committing what is appended first: for the
   * store's own upkeep (retention), which has no need of the newest rows, and whose timer would otherwise cut a
   * row group short every pass (see IN_MEMORY_CHECKPOINT_BYTES).
   */
  async connectCommitted(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error(`event store ${this.path} is closed`);
    const connection = await this.instance.connect();
    try {
      await connection.run(`USE ${STORE_CATALOG}`);
    } catch (error) {
      connection.closeSync();
      throw error;
    }
    return connection;
  }

  /** Database file plus write-ahead log on disk: what the size budget is about. */
  diskBytes(): number {
    return fileBytes(this.path) + fileBytes(`${this.path}.wal`);
  }

  /** Rows stored in all tables (not counting pending ones). */
  async storedRowCount(): Promise<number> {
    const connection = await this.connect();
    try {
      const counts = TABLE_NAMES.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ');
      const reader = await connection.runAndReadAll(`SELECT ${counts} AS n`);
      return Number(reader.getRowsJS()[0]?.[0] ?? 0);
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Whether the rows handed over and not yet appended (pending, and those of the write under way) come to a
   * flush's worth: the store is behind, and a producer that can wait should.
   */
  get behind(): boolean {
    return this.pendingCount + this.writingCount >= this.flushRows;
  }

  get counters(): EventStoreCounters {
    return {
      rowsWritten: this.rowsWritten,
      rowsDropped: this.rowsDropped,
      writeErrors: this.writeErrors,
      checkpoints: this.checkpoints,
      pendingRows: this.pendingCount,
      uncommittedRows: this.uncommittedRows(),
      storeBytes: this.diskBytes(),
    };
  }

  /** Flushes what is queued, folds the WAL into the file and releases it; later appends are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    await this.flush();
    try {
      // Shutdown only checkpoints when no other connection is open; readers may still hold one.
      await this.writer.run(`CHECKPOINT ${STORE_CATALOG}`);
    } finally {
      this.writer.closeSync();
      this.instance.closeSync();
    }
  }

  private enqueue<T extends AppendedTable>(table: T, records: readonly RecordOf[T][]): number {
    let accepted = 0;
    if (!this.closed) {
      const queue = this.pending[table] as RecordOf[T][];
      const room = this.maxPendingRows - this.pendingCount;
      for (const record of records) {
        if (accepted === room) break;
        if (!hasUsableTime(record)) continue;
        queue.push(record);
        accepted += 1;
      }
      this.pendingCount += accepted;
    }
    this.rowsDropped += records.length - accepted;
    if (this.pendingCount >= this.flushRows) void this.write();
    return accepted;
  }

  /** At most one write runs and at most one waits behind it; later callers share the waiting one. */
  private write(): Promise<void> {
    if (this.flushWaiting) return this.flushWaiting;
    const next = this.flushRunning.then(() => {
      this.flushWaiting = null;
      return this.writePending();
    });
    this.flushWaiting = next;
    this.flushRunning = next;
    return next;
  }

  /** CHECKPOINT runs as a query, on a thread of libuv's pool: capture goes on meanwhile; appends wait for it. */
  private async foldWal(): Promise<void> {
    await this.writer.run(`CHECKPOINT ${STORE_CATALOG}`);
    this.checkpoints += 1;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = emptyPendingRows();
    this.writingCount = this.pendingCount;
    this.pendingCount = 0;
    const commitRequested = this.commitRequested;
    this.commitRequested = false;
    for (const table of APPENDED_TABLES) {
      const rows = batch[table];
      let appended = 0;
      try {
        while (appended < rows.length) {
          if (this.transactionStartedMs === null) {
            await this.writer.run('BEGIN TRANSACTION');
            this.transactionStartedMs = Date.now();
          }
          // A transaction ends where a row group does: each whole group goes straight into the file, where a
          // group split across commits is written to the WAL and compressed again by the next checkpoint.
          const room = ROW_GROUP_ROWS - this.uncommitted[table];
          await this.appendBatch(table, rows.slice(appended, appended + room), (count) => {
            appended += count;
            this.writingCount -= count;
            this.uncommitted[table] += count;
          });
          if (this.uncommitted[table] >= ROW_GROUP_ROWS) await this.commit();
        }
      } catch (error) {
        this.rowsDropped += rows.length - appended;
        this.writingCount -= rows.length - appended;
        await this.failTransaction(error);
      }
    }
    if (commitRequested || this.commitDue()) await this.commit();
  }

  /** Whole row groups are committed as they fill (writePending); what is left waits for its delay. */
  private commitDue(): boolean {
    return (
      this.transactionStartedMs !== null && Date.now() - this.transactionStartedMs >= this.maxCommitDelayMs
    );
  }

  private uncommittedRows(): number {
    return APPENDED_TABLES.reduce((sum, table) => sum + this.uncommitted[table], 0);
  }

  /** Commits the open transaction, if any, then checkpoints if one is due (see checkpointDue). */
  private async commit(): Promise<void> {
    if (this.transactionStartedMs === null) return;
    try {
      this.closeAppenders();
      await this.writer.run('COMMIT');
    } catch (error) {
      await this.failTransaction(error);
      return;
    }
    this.rowsWritten += this.uncommittedRows();
    this.endTransaction();
    try {
      if (await this.checkpointDue()) await this.foldWal();
    } catch (error) {
      this.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** When the WAL has grown past its threshold, or committed rows hold IN_MEMORY_CHECKPOINT_BYTES of memory. */
  private async checkpointDue(): Promise<boolean> {
    if (fileBytes(`${this.path}.wal`) >= this.checkpointWalBytes) return true;
    const reader = await this.writer.runAndReadAll(IN_MEMORY_BYTES_SQL);
    return Number(reader.getRowsJS()[0]?.[0] ?? 0) >= IN_MEMORY_CHECKPOINT_BYTES;
  }

  /** Closing an appender flushes what it holds into the open transaction. */
  private closeAppenders(): void {
    for (const [table, appender] of this.appenders) {
      this.appenders.delete(table);
      appender.closeSync();
    }
  }

  /** Lets go of the appenders without flushing them: their rows belong to a transaction that failed. */
  private discardAppenders(): void {
    for (const appender of this.appenders.values()) {
      try {
        appender.clear();
        appender.closeSync();
      } catch {
        // An appender whose flush failed is closed already.
      }
    }
    this.appenders.clear();
  }

  /** A failed append or commit loses the whole transaction: its rows are counted as dropped. */
  private async failTransaction(error: unknown): Promise<void> {
    this.writeErrors += 1;
    this.onError(error instanceof Error ? error : new Error(String(error)));
    this.discardAppenders();
    if (this.transactionStartedMs === null) return;
    try {
      await this.writer.run('ROLLBACK');
    } catch {
      // DuckDB has already ended a transaction that failed to commit.
    }
    this.rowsDropped += this.uncommittedRows();
    this.endTransaction();
  }

  private endTransaction(): void {
    this.uncommitted = zeroPerTable();
    this.transactionStartedMs = null;
  }

  /** Appends the rows to the open transaction a data chunk at a time, telling `onAppended` about each chunk. */
  private async appendBatch<T extends AppendedTable>(
    table: T,
    rows: readonly RecordOf[T][],
    onAppended: (rows: number) => void,
  ): Promise<void> {
    const columns = this.columns[table] as ChunkColumn<RecordOf[T]>[];
    const appender = this.appenders.get(table) ?? (await this.writer.createAppender(table));
    this.appenders.set(table, appender);
    let chunk = this.chunks.get(table);
    if (chunk === undefined) {
      chunk = DuckDBDataChunk.create(columns.map((_column, index) => appender.columnType(index)));
      this.chunks.set(table, chunk);
    }
    try {
      for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
        // Appending is synchronous and costs a few µs per row: one chunk at a time, with the event loop (and the
        // capture batches queued for it) served in between, so a batch of 60,000 rows that built up under load
        // never blocks capture for the quarter second it takes to write.
        if (start > 0) await yieldToEventLoop();
        const slice = rows.slice(start, start + CHUNK_ROWS);
        this.chunkWriter.write(chunk, columns, slice);
        appender.appendDataChunk(chunk);
        onAppended(slice.length);
      }
    } finally {
      // The appender has copied the rows: the chunk keeps its vectors, not the last rows' strings.
      chunk.reset();
    }
  }
}
