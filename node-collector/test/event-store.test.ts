import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { QueryRunner } from '@loupe/query-engine/dist/src/query-runner.js';
import {
  EventStore,
  IN_MEMORY_CHECKPOINT_BYTES,
  ROW_GROUP_ROWS,
  STORE_BLOCK_BYTES,
  STORE_MEMORY_LIMIT,
  STORE_STORAGE_VERSION,
  monotonicToWallClockNs,
  storeFileName,
  type EventStoreOptions,
} from '../src/store/event-store.js';
import { RetentionPolicy } from '../src/store/retention-policy.js';
import { CREATE_TABLE_STATEMENTS } from '../src/store/schema.js';
import type { CollectorStatsRecord, ConnStatsRecord, HttpRecord } from '../src/store/records.js';

/** 2024-05-01T00:00:00Z minus a made-up boot time: monotonic 0 is that instant minus 1000 s. */
const BOOT_WALL_NS = 1_714_521_600_000_000_000n - 1_000_000_000_000n;
const SECOND_NS = 1_000_000_000;

function httpRecord(timeNs: number, overrides: Partial<HttpRecord> = {}): HttpRecord {
  return {
    timeNs,
    pid: 4242,
    process: 'node',
    localAddr: '10.0.0.1',
    localPort: 8080,
    remoteAddr: '10.0.0.2',
    remotePort: 51000,
    role: 'server',
    encrypted: false,
    version: '1.1',
    reqMethod: 'GET',
    reqPath: '/items?id=1',
    reqHeaders: { host: 'svc', 'user-agent': 'curl' },
    reqBody: '',
    reqBodySize: 0,
    reqBodyTruncated: false,
    respStatus: 200,
    respMessage: 'OK',
    respHeaders: { 'content-type': 'application/json' },
    respBody: '{"ok":true}',
    respBodySize: 11,
    respBodyTruncated: false,
    latencyNs: 1_234_567,
    ...overrides,
  };
}

function connStats(timeNs: number): ConnStatsRecord {
  return {
    timeNs,
    pid: 4242,
    process: 'node',
    localAddr: '10.0.0.1',
    localPort: 8080,
    remoteAddr: '10.0.0.2',
    remotePort: 51000,
    role: 'server',
    encrypted: false,
    protocol: 'http1',
    connOpen: true,
    connClose: false,
    bytesSent: 5_000_000_000,
    bytesRecv: 12,
  };
}

function collectorStats(timeNs: number): CollectorStatsRecord {
  return { timeNs, events: 10, bytes: 2048, drops: 1, parseErrors: 0, storeRows: 5, storeBytes: 4096 };
}

async function rowsOf(store: EventStore, sql: string): Promise<Record<string, unknown>[]> {
  const connection = await store.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    connection.closeSync();
  }
}

async function count(store: EventStore, table: string): Promise<number> {
  return Number((await rowsOf(store, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('EventStore', () => {
  let dataDir: string;
  let options: EventStoreOptions;
  const opened: EventStore[] = [];

  async function open(extra: Partial<EventStoreOptions> = {}): Promise<EventStore> {
    const store = await EventStore.open({ ...options, ...extra });
    opened.push(store);
    return store;
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'loupe-store-'));
    options = { dataDir, node: 'node-a', clockOffsetNs: BOOT_WALL_NS, flushIntervalMs: 60_000 };
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('appends a large batch a chunk at a time and checkpoints itself once the WAL passes its threshold', async () => {
    const store = await open({ checkpointWalBytes: 256 * 1024 });
    const rows = Array.from({ length: 5_000 }, (_, i) =>
      httpRecord(1_000 * SECOND_NS + i, { reqPath: `/items/${i}`, respBody: `{"id":${i}}` }),
    );
    assert.equal(store.appendHttp(rows), rows.length);
    await store.flush();
    const { rowsWritten, rowsDropped, checkpoints } = store.counters;
    assert.deepEqual({ rowsWritten, rowsDropped }, { rowsWritten: 5_000, rowsDropped: 0 });
    assert.equal(checkpoints, 1);
    // The checkpoint folded the WAL into the file: what is left of it is below the threshold.
    assert.ok((statSync(`${store.path}.wal`, { throwIfNoEntry: false })?.size ?? 0) < 256 * 1024);
    const [counts] = await rowsOf(
      store,
      "SELECT count(*) AS n, count(DISTINCT req_path) AS paths, sum((resp_body->>'id')::INT) AS ids FROM http_events",
    );
    assert.deepEqual(counts, { n: 5_000n, paths: 5_000n, ids: 12_497_500n });
  });

  it('takes checkpoints in turn with its flushes, its own and those asked for from outside', async () => {
    const store = await open({ checkpointWalBytes: 64 * 1024 });
    const rows = (from: number) =>
      Array.from({ length: 2_000 }, (_, i) => httpRecord((1_000 + from + i) * SECOND_NS));
    // Two checkpoints at once on one instance: DuckDB refuses the second. Here each waits for the one before.
    store.appendHttp(rows(0));
    const flushed = store.flush();
    const asked = [store.checkpoint(), store.checkpoint()];
    await Promise.all([flushed, ...asked]);
    assert.equal(store.counters.rowsWritten, 2_000);
    assert.equal(store.counters.checkpoints, 3); // the flush's own (its WAL passed 64 KiB) and the two asked for
    store.appendHttp(rows(2_000));
    await Promise.all([store.checkpoint(), store.flush()]);
    assert.equal(store.counters.rowsWritten, 4_000);
  });

  it('appends batches and stores every column with wall-clock ns time', async () => {
    const store = await open();
    const timeNs = 1_000 * SECOND_NS + 123_456_789;
    assert.equal(store.appendHttp([httpRecord(timeNs)]), 1);
    assert.equal(store.appendConnStats([connStats(timeNs)]), 1);
    assert.equal(store.appendCollectorStats([collectorStats(timeNs)]), 1);
    assert.equal(store.counters.pendingRows, 3);
    await store.flush();
    assert.equal(store.counters.rowsWritten, 3);
    assert.equal(store.counters.pendingRows, 0);

    const [http] = await rowsOf(
      store,
      `SELECT time::VARCHAR AS time, epoch_ns(time) AS ns, node, pid, role,
              req_headers->>'host' AS host, json_type(resp_headers) AS headers_type, latency_ns, encrypted
         FROM http_events`,
    );
    assert.deepEqual(http, {
      time: '2024-05-01 00:00:00.123456789',
      ns: monotonicToWallClockNs(timeNs, BOOT_WALL_NS),
      node: 'node-a',
      pid: 4242,
      role: 'server',
      host: 'svc',
      headers_type: 'OBJECT',
      latency_ns: 1_234_567n,
      encrypted: false,
    });
    const [conn] = await rowsOf(store, 'SELECT protocol, conn_open, bytes_sent FROM conn_stats');
    assert.deepEqual(conn, { protocol: 'http1', conn_open: true, bytes_sent: 5_000_000_000n });
    const [stats] = await rowsOf(store, 'SELECT node, drops, store_bytes FROM collector_stats');
    assert.deepEqual(stats, { node: 'node-a', drops: 1n, store_bytes: 4096n });
    assert.equal(await store.storedRowCount(), 3);
  });

  it('keeps DuckDB within its memory limit, spilling beside its file, also once sealed for queries', async () => {
    const store = await open();
    await QueryRunner.create(store, { memoryLimit: STORE_MEMORY_LIMIT });
    const connection = await store.connect();
    try {
      const reader = await connection.runAndReadAll(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')",
      );
      const [limit, tempDirectory] = reader.getRowsJS()[0] as [string, string];
      assert.equal(limit, '61.0 MiB'); // 64 MB as DuckDB prints it
      assert.equal(tempDirectory, `${join(dataDir, storeFileName('node-a'))}.tmp`);
      // A sort larger than the limit spills there instead of failing.
      const sorted = await connection.runAndReadAll(
        "SELECT count(*) FROM (SELECT i, repeat('x', 100) || i AS s FROM range(1500000) t(i) ORDER BY s DESC)",
      );
      assert.equal(Number(sorted.getRowsJS()[0]![0]), 1_500_000);
    } finally {
      connection.closeSync();
    }
  });

  it('creates the protocol tables that have no records yet', async () => {
    const store = await open();
    assert.equal(await count(store, 'pgsql_events'), 0);
    assert.equal(await count(store, 'mysql_events'), 0);
  });

  it('reopens intact after a restart, in a file named after the node', async () => {
    let store = await open();
    store.appendHttp([httpRecord(SECOND_NS), httpRecord(2 * SECOND_NS)]);
    await store.close();
    opened.splice(0);
    assert.equal(store.path, join(dataDir, storeFileName('node-a')));
    assert.equal(store.appendHttp([httpRecord(3 * SECOND_NS)]), 0, 'a closed store takes nothing');

    store = await open();
    assert.equal(await count(store, 'http_events'), 2);
    store.appendHttp([httpRecord(3 * SECOND_NS)]);
    await store.flush();
    assert.equal(await count(store, 'http_events'), 3);
    assert.ok(store.counters.storeBytes > 0);
  });

  it('creates its file in the newer storage format with smaller blocks, and keeps an older file as it is', async () => {
    const storageOf = async (store: EventStore) => {
      const [row] = await rowsOf(
        store,
        `SELECT map_extract_value(tags, 'storage_version') AS version FROM duckdb_databases()
          WHERE database_name = current_database()`,
      );
      const compressions = await rowsOf(
        store,
        `SELECT DISTINCT compression FROM pragma_storage_info('http_events')
          WHERE column_name = 'node' AND segment_type = 'VARCHAR' ORDER BY 1`,
      );
      const [size] = await rowsOf(
        store,
        'SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()',
      );
      return {
        version: row?.version,
        blockSize: Number(size?.block_size),
        node: compressions.map((c) => c.compression),
      };
    };
    const wholeRowGroup = (from: number) =>
      Array.from({ length: ROW_GROUP_ROWS }, (_, i) => httpRecord((from + i) * SECOND_NS));

    let store = await open();
    store.appendHttp(wholeRowGroup(1));
    await store.flush();
    assert.deepEqual(await storageOf(store), {
      version: `${STORE_STORAGE_VERSION}+`,
      blockSize: STORE_BLOCK_BYTES,
      node: ['DICT_FSST'],
    });
    await store.close();
    await rm(store.path);

    // A file as an older Loupe created it: DuckDB's default format, the node column pinned to a dictionary.
    const instance = await DuckDBInstance.create(store.path);
    const connection = await instance.connect();
    for (const statement of CREATE_TABLE_STATEMENTS) {
      await connection.run(
        statement.replace('node VARCHAR NOT NULL', 'node VARCHAR NOT NULL USING COMPRESSION dictionary'),
      );
    }
    connection.closeSync();
    instance.closeSync();
    store = await open();
    store.appendHttp(wholeRowGroup(1));
    await store.flush();
    // Upgraded, the file could no longer use the method its table pins: the column would be left uncompressed.
    assert.deepEqual(await storageOf(store), {
      version: 'v1.0.0+',
      blockSize: 256 * 1024,
      node: ['Dictionary'],
    });
    assert.equal(await count(store, 'http_events'), ROW_GROUP_ROWS);
  });

  it('refuses to append to a file whose tables have other columns', async () => {
    const path = join(dataDir, storeFileName('node-a'));
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run('CREATE TABLE http_events (time TIMESTAMP_NS, something_else VARCHAR)');
    connection.closeSync();
    instance.closeSync();
    await assert.rejects(EventStore.open(options), /http_events has columns \(time,something_else\)/);
  });

  it('bounds the pending queue and counts every row it turns away', async () => {
    const store = await open({ maxPendingRows: 5 });
    const accepted = store.appendHttp(Array.from({ length: 8 }, (_, i) => httpRecord((i + 1) * SECOND_NS)));
    assert.equal(accepted, 5);
    assert.equal(store.appendConnStats([connStats(SECOND_NS)]), 0);
    assert.equal(store.counters.rowsDropped, 4);
    assert.equal(store.counters.pendingRows, 5);
    await store.flush();
    assert.equal(store.appendHttp([httpRecord(Number.NaN), httpRecord(-1), httpRecord(SECOND_NS)]), 1);
    assert.equal(store.counters.rowsDropped, 6);
    await store.flush();
    assert.equal(await count(store, 'http_events'), 6);
  });

  it('appends on its own when a batch is full or the timer fires, and commits when a reader connects', async () => {
    const bySize = await open({ flushRows: 10, maxCommitDelayMs: 60_000 });
    bySize.appendHttp(Array.from({ length: 10 }, (_, i) => httpRecord((i + 1) * SECOND_NS)));
    await until(() => bySize.counters.uncommittedRows === 10);
    assert.equal(bySize.counters.rowsWritten, 0);
    assert.equal(await count(bySize, 'http_events'), 10);
    assert.deepEqual(
      { written: bySize.counters.rowsWritten, uncommitted: bySize.counters.uncommittedRows },
      { written: 10, uncommitted: 0 },
    );

    const byTimer = await open({ node: 'node-b', flushIntervalMs: 20, maxCommitDelayMs: 60_000 });
    byTimer.appendHttp([httpRecord(SECOND_NS)]);
    await until(() => byTimer.counters.uncommittedRows === 1);
    assert.equal(byTimer.counters.rowsWritten, 0);
  });

  it('says it is behind from a flush of rows handed over until they are appended', async () => {
    const store = await open({ flushRows: 10_000, maxCommitDelayMs: 60_000 });
    store.appendHttp(Array.from({ length: 9_999 }, (_, i) => httpRecord((i + 1) * SECOND_NS)));
    assert.equal(store.behind, false);
    // The 10,000th row starts a write; its rows count until they are appended, a chunk at a time.
    store.appendHttp([httpRecord(10_000 * SECOND_NS)]);
    assert.equal(store.behind, true);
    await until(() => store.counters.uncommittedRows === 10_000);
    assert.equal(store.behind, false);
  });

  it('commits on its own once the oldest appended row has waited its longest delay', async () => {
    const store = await open({ flushIntervalMs: 20, maxCommitDelayMs: 300 });
    const appendedAt = Date.now();
    store.appendHttp([httpRecord(SECOND_NS)]);
    await until(() => store.counters.uncommittedRows === 1);
    await until(() => store.counters.rowsWritten === 1);
    assert.ok(Date.now() - appendedAt >= 300, 'committed before its delay was up');
  });

  it('commits a whole row group on its own, written straight into the file instead of the WAL', async () => {
    const store = await open({
      flushIntervalMs: 20,
      maxCommitDelayMs: 600_000,
      maxPendingRows: 2 * ROW_GROUP_ROWS,
      flushRows: 2 * ROW_GROUP_ROWS,
    });
    // One row group and 100 rows more: the transaction ends at the group's last row, the 100 wait for the next.
    const rows = Array.from({ length: ROW_GROUP_ROWS + 100 }, (_, i) =>
      httpRecord(1_000 * SECOND_NS + i, { reqPath: `/items/${i}`, respBody: `{"id":${i}}` }),
    );
    assert.equal(store.appendHttp(rows), rows.length);
    await until(() => store.counters.uncommittedRows === 100, 60_000);
    assert.equal(store.counters.rowsWritten, ROW_GROUP_ROWS);
    assert.equal(store.counters.checkpoints, 0);
    // The rows went into the file; the WAL holds only where DuckDB put them (the rows alone are megabytes).
    const walBytes = statSync(`${store.path}.wal`, { throwIfNoEntry: false })?.size ?? 0;
    const fileBytes = statSync(store.path).size;
    assert.ok(fileBytes > 128 * 1024, `database file ${fileBytes} bytes, WAL ${walBytes}`);
    assert.ok(walBytes < fileBytes / 10, `WAL ${walBytes} bytes, database file ${fileBytes}`);
    assert.equal(await count(store, 'http_events'), ROW_GROUP_ROWS + 100);
  });

  it('checkpoints once rows committed short of a row group hold much memory, however small the WAL', async () => {
    const store = await open({
      maxCommitDelayMs: 600_000,
      maxPendingRows: 2 * ROW_GROUP_ROWS,
      flushRows: 2 * ROW_GROUP_ROWS,
    });
    const inMemoryBytes = async () =>
      Number(
        (
          await rowsOf(
            store,
            "SELECT memory_usage_bytes + temporary_storage_bytes AS n FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'",
          )
        )[0]?.n,
      );
    let at = 1_000 * SECOND_NS;
    const rows = (count: number) => Array.from({ length: count }, () => httpRecord((at += 1_000)));
    // A reader's commit of 3,000 rows, then a whole row group written straight into the file, twelve times: each
    // such commit leaves a group of its own in memory (a block per column, about 3 MB in all), which only a
    // checkpoint writes out.
    for (let cycle = 0; cycle < 12; cycle++) {
      store.appendHttp(rows(3_000));
      await store.flush();
      store.appendHttp(rows(ROW_GROUP_ROWS));
      await store.flush();
    }
    assert.equal(await count(store, 'http_events'), 12 * (3_000 + ROW_GROUP_ROWS));
    assert.ok(store.counters.checkpoints >= 1, 'no checkpoint');
    const held = await inMemoryBytes();
    assert.ok(held < IN_MEMORY_CHECKPOINT_BYTES, `${held} bytes of committed rows in memory`);
    assert.ok((statSync(`${store.path}.wal`, { throwIfNoEntry: false })?.size ?? 0) < 1024 * 1024);
  });

  it('keeps rows appended but not yet committed when it is closed, and loses none on reopening', async () => {
    const store = await open({ maxCommitDelayMs: 600_000, flushRows: 100 });
    store.appendHttp(Array.from({ length: 100 }, (_, i) => httpRecord((i + 1) * SECOND_NS)));
    await until(() => store.counters.uncommittedRows === 100);
    await store.close();
    const reopened = await open();
    assert.equal(await count(reopened, 'http_events'), 100);
  });

  it('stores a malformed field as NULL instead of losing the batch', async () => {
    const store = await open();
    store.appendHttp([
      httpRecord(SECOND_NS, { respStatus: Number.NaN, latencyNs: Number.POSITIVE_INFINITY, localPort: 1e12 }),
      httpRecord(2 * SECOND_NS),
    ]);
    await store.flush();
    assert.equal(store.counters.writeErrors, 0);
    const rows = await rowsOf(
      store,
      'SELECT resp_status, latency_ns, local_port FROM http_events ORDER BY time',
    );
    assert.deepEqual(rows, [
      { resp_status: null, latency_ns: null, local_port: null },
      { resp_status: 200, latency_ns: 1_234_567n, local_port: 8080 },
    ]);
  });

  it('counts the rows of a transaction that fails to commit as dropped, and goes on with the other tables', async () => {
    const errors: string[] = [];
    const store = await open({
      flushRows: 10,
      maxCommitDelayMs: 600_000,
      onError: (e) => errors.push(e.message),
    });
    store.appendHttp(Array.from({ length: 50 }, (_, i) => httpRecord((i + 1) * SECOND_NS)));
    store.appendConnStats([connStats(SECOND_NS)]);
    while (store.counters.uncommittedRows < 51) await new Promise((resolve) => setTimeout(resolve, 10));
    // Another connection changes the table under the open transaction: DuckDB refuses the rows appended to it.
    const other = await store.connectCommitted();
    await other.run('ALTER TABLE http_events ADD COLUMN extra INTEGER');
    other.closeSync();
    await store.flush();
    assert.equal(store.counters.rowsDropped, 51);
    assert.equal(store.counters.writeErrors, 1);
    assert.match(errors.join('\n'), /altered by a different transaction/);
    store.appendConnStats([connStats(2 * SECOND_NS), connStats(3 * SECOND_NS)]);
    await store.flush();
    assert.equal(await count(store, 'conn_stats'), 2);
    assert.equal(store.counters.rowsWritten, 2);
  });

  it('keeps appending after the query engine seals the instance', async () => {
    const store = await open();
    const runner = await QueryRunner.create(store, { memoryLimit: '512MB' });
    store.appendHttp([httpRecord(SECOND_NS), httpRecord(2 * SECOND_NS)]);
    await store.flush();
    assert.equal(store.counters.writeErrors, 0);
    const retention = new RetentionPolicy(store, {
      maxAgeMs: 1,
      maxBytes: 1e12,
      nowNs: () => BOOT_WALL_NS + 10n ** 18n,
    });
    assert.equal((await retention.enforce()).rowsDeletedByAge, 2, 'DELETE and CHECKPOINT still work');
    store.appendHttp([httpRecord(3 * SECOND_NS)]);
    await store.flush();
    const result = await runner.run('SELECT count(*) AS n FROM http_events');
    assert.deepEqual(result.rows, [{ n: 1 }]);
    await assert.rejects(runner.run("SELECT * FROM read_csv('/etc/passwd')"), {
      code: 'SQL_FORBIDDEN_FUNCTION',
    });
  });
});

describe('RetentionPolicy', () => {
  let dataDir: string;
  let store: EventStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'loupe-retention-'));
    store = await EventStore.open({
      dataDir,
      node: 'node-a',
      clockOffsetNs: BOOT_WALL_NS,
      flushIntervalMs: 60_000,
      maxPendingRows: 1_000_000,
    });
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('deletes rows older than maxAge from every table', async () => {
    // Rows at monotonic 1..10 s; "now" is monotonic 10 s; keep 4.5 s, so 1..5 go and 6..10 stay.
    const times = Array.from({ length: 10 }, (_, i) => (i + 1) * SECOND_NS);
    store.appendHttp(times.map((t) => httpRecord(t)));
    store.appendConnStats(times.map(connStats));
    store.appendCollectorStats(times.map(collectorStats));
    await store.flush();
    const nowNs = () => monotonicToWallClockNs(10 * SECOND_NS, BOOT_WALL_NS);
    const retention = new RetentionPolicy(store, { maxAgeMs: 4_500, maxBytes: 1e12, nowNs });

    const report = await retention.enforce();
    assert.equal(report.rowsDeletedByAge, 15);
    assert.equal(report.rowsDeletedBySize, 0);
    for (const table of ['http_events', 'conn_stats', 'collector_stats']) {
      const [oldest] = await rowsOf(
        store,
        `SELECT count(*) AS n, min(epoch_ns(time)) AS oldest FROM ${table}`,
      );
      assert.equal(oldest?.n, 5n, table);
      assert.equal(oldest?.oldest, monotonicToWallClockNs(6 * SECOND_NS, BOOT_WALL_NS), table);
    }
    assert.equal((await retention.enforce()).rowsDeletedByAge, 0);
    assert.deepEqual(retention.counters, {
      passes: 2,
      failedPasses: 0,
      rowsDeletedByAge: 15,
      rowsDeletedBySize: 0,
    });
  });

  it('deletes what is committed without committing what is being appended, checkpointing once a minute', async () => {
    await store.close();
    store = await EventStore.open({
      dataDir,
      node: 'node-a',
      clockOffsetNs: BOOT_WALL_NS,
      flushIntervalMs: 20,
      maxCommitDelayMs: 600_000,
    });
    const appendSeconds = async (from: number, count: number) => {
      store.appendHttp(Array.from({ length: count }, (_, i) => httpRecord((from + i) * SECOND_NS)));
      await until(() => store.counters.uncommittedRows === count);
    };
    let nowSeconds = 100;
    const nowNs = () => monotonicToWallClockNs(nowSeconds * SECOND_NS, BOOT_WALL_NS);
    const retention = new RetentionPolicy(store, { maxAgeMs: 50_000, maxBytes: 1e12, nowNs });
    store.appendHttp([httpRecord(SECOND_NS)]);
    await store.flush();
    await appendSeconds(2, 100);

    // The first pass that deletes checkpoints, which commits the rows appended meanwhile.
    assert.equal((await retention.enforce()).rowsDeletedByAge, 1);
    assert.deepEqual([store.counters.uncommittedRows, store.counters.rowsWritten], [0, 101]);
    await appendSeconds(102, 100);
    nowSeconds = 200;
    // Within the minute, the next one deletes what is committed (seconds 2-101) and leaves the rest appended.
    assert.equal((await retention.enforce()).rowsDeletedByAge, 100);
    assert.deepEqual([store.counters.uncommittedRows, store.counters.rowsWritten], [100, 101]);
    await store.flush();
    assert.equal(await count(store, 'http_events'), 100);
  });

  it('runs by itself on a timer', async () => {
    store.appendHttp([httpRecord(SECOND_NS), httpRecord(100 * SECOND_NS)]);
    await store.flush();
    const nowNs = () => monotonicToWallClockNs(100 * SECOND_NS, BOOT_WALL_NS);
    const retention = new RetentionPolicy(store, { maxAgeMs: 10_000, maxBytes: 1e12, intervalMs: 20, nowNs });
    retention.start();
    try {
      await until(() => retention.counters.rowsDeletedByAge === 1);
      assert.equal(await count(store, 'http_events'), 1);
    } finally {
      await retention.stop();
    }
  });

  /**
   * Appends `rounds` batches of incompressible HTTP rows (about 1.7 MB each), running `afterEachRound` after
   * every flush; returns the bytes on disk before and after each of those calls.
   */
  async function fill(rounds: number, afterEachRound: () => Promise<void>) {
    const before: number[] = [];
    const after: number[] = [];
    let timeNs = SECOND_NS;
    for (let round = 0; round < rounds; round += 1) {
      const batch = Array.from({ length: 3_000 }, () => {
        timeNs += 1_000_000;
        return httpRecord(timeNs, { respBody: randomBytes(300).toString('base64'), respBodySize: 400 });
      });
      assert.equal(store.appendHttp(batch), batch.length);
      store.appendConnStats([connStats(timeNs)]);
      await store.flush();
      before.push(store.diskBytes());
      await afterEachRound();
      after.push(store.diskBytes());
    }
    return { before, after };
  }

  const MAX_BYTES = 12 * 1024 * 1024;
  const ROUNDS = 24;

  it('without a policy, the workload below outgrows the budget (control)', async () => {
    const { after } = await fill(ROUNDS, async () => undefined);
    assert.ok(Math.max(...after) > 2 * MAX_BYTES, `grew to ${Math.max(...after)} only`);
  });

  it('keeps the file under its size budget, deleting the oldest rows first', async () => {
    const retention = new RetentionPolicy(store, { maxAgeMs: 1e12, maxBytes: MAX_BYTES });
    const { before, after } = await fill(ROUNDS, async () => {
      await retention.enforce();
    });
    const sizes = `before passes: ${before.join(' ')}; after: ${after.join(' ')}`;
    assert.ok(retention.counters.rowsDeletedBySize > 0, 'the budget was reached');
    // Never over budget, not even between passes (this workload adds 14% of the budget per pass).
    assert.ok(Math.max(...before, ...after) <= MAX_BYTES, sizes);
    // Not growing: the second half never goes beyond the largest size of the first half (plus one block).
    const half = Math.floor(ROUNDS / 2);
    assert.ok(Math.max(...after.slice(half)) <= Math.max(...after.slice(0, half)) + 262_144, sizes);
    // What is left is the newest data, and there is some.
    const [kept] = await rowsOf(
      store,
      'SELECT count(*) AS n, max(epoch_ns(time)) AS newest FROM http_events',
    );
    assert.ok(Number(kept?.n) > 3_000, `kept ${kept?.n} rows`);
    assert.equal(kept?.newest, monotonicToWallClockNs(SECOND_NS + ROUNDS * 3_000 * 1_000_000, BOOT_WALL_NS));
  });
});
