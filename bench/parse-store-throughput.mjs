/**
 * Parse + store throughput per core, from a recorded batch, without the kernel.
 *
 * The batch: CONNS server connections (keep-alive, 64 active at a time, their events interleaved), each with
 * PAIRS request/response pairs, encoded in the kernel's wire format (bpf/socket_trace.h, as
 * node-collector/src/capture/wire.ts reads it) and cut into reader batches of up to 256 KiB. Requests are a
 * realistic mix: GETs with a query string and browser-like headers (an Authorization header to redact), POSTs
 * with a small JSON body, a few 404s; responses carry nginx-like headers and small JSON bodies, some written as
 * header + body in two writes.
 *
 * Measured one after the other in this process, each on a fresh store, timed by wall clock and by this
 * process's CPU (user+sys, all threads: "per core" = per CPU-second), in REPS rounds (median reported):
 *   1. decode:    wire batches → CaptureEvents (decodeBatch);
 *   2. parse:     decode → ConnectionTracker → HttpRecords (+ ConnStatsRecords);
 *   3. pipeline:  decode → tracker → EventStore, handed on once per batch as Collector does, waiting for the
 *                 store's flush whenever 10k rows are pending (so nothing is dropped: the sustainable rate);
 *   4. store:     the records of 2 → EventStore alone;
 *   5. baseline:  the same records appended by DuckDB's appender alone (@duckdb/node-api, row by row, the
 *                 same schema, the same value conversions: timestamps, JSON headers), no EventStore.
 * Ratios: pipeline / baseline and store / baseline (records per CPU-second).
 *
 * Usage: node bench/parse-store-throughput.mjs [--conns 600] [--pairs 60] [--reps 4]
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DuckDBInstance, DuckDBTimestampNanosecondsValue } from '@duckdb/node-api';
import { fmt, foreignCpuMeter, header, noise, repoRoot, tempDir } from './lib.mjs';

const dist = (p) => path.join(repoRoot, 'node-collector/dist/src', p);
const { decodeBatch } = await import(dist('capture/wire.js'));
const { ConnectionTracker } = await import(dist('conn/connection-tracker.js'));
const { EventStore, measureClockOffsetNs, monotonicToWallClockNs } = await import(
  dist('store/event-store.js')
);
const { CREATE_TABLE_STATEMENTS, STORE_TABLES } = await import(dist('store/schema.js'));

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '600' },
    reps: { type: 'string', default: '4' },
    pairs: { type: 'string', default: '60' },
  },
});
const CONNS = Number(values.conns);
const PAIRS = Number(values.pairs);
const REPS = Math.max(1, Number(values.reps));
const ACTIVE = 64;
const BATCH_BYTES = 256 * 1024;
const FLUSH_EVERY_ROWS = 10_000;

header(
  `parse + store throughput: ${CONNS} connections × ${PAIRS} requests, wire batches of ≤ ${BATCH_BYTES >> 10} KiB`,
);

// ---------------------------------------------------------------------------------------------------------
// The recorded batch

const KIND = { open: 1, data: 2, close: 3 };
const ROLE_SERVER = 2;
const PROTO_HTTP1 = 1;
const DIR = { egress: 0, ingress: 1 };

/** Deterministic pseudo-random numbers, so that every run parses the same bytes. */
let seed = 42;
function rand() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

const DATE = 'Sat, 28 Nov 2026 05:00:00 GMT';
function exchange(i) {
  const reqId = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const common =
    'Host: api.internal.example:8080\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
    'Accept-Language: en-US,en;q=0.9\r\n' +
    'Connection: keep-alive\r\n' +
    `X-Request-Id: ${reqId}\r\n` +
    `Authorization: Bearer eyJ${hex(40)}\r\n`;
  const kind = rand();
  let request;
  let status;
  let body;
  if (kind < 0.7) {
    request =
      `GET /api/v1/items/${Math.floor(rand() * 100000)}?include=owner&page=${i % 10} HTTP/1.1\r\n` +
      common +
      'Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n';
    status = '200 OK';
    body = JSON.stringify({
      id: Math.floor(rand() * 100000),
      name: `item-${hex(6)}`,
      price: Math.round(rand() * 10000) / 100,
      owner: { id: Math.floor(rand() * 1000), name: 'someone' },
      tags: ['a', 'b', 'c'],
    });
  } else if (kind < 0.9) {
    const reqBody = JSON.stringify({
      item: Math.floor(rand() * 100000),
      quantity: 1 + Math.floor(rand() * 5),
      note: `deliver to door ${hex(10)}`,
      address: { street: '1 Main Street', city: 'Springfield', zip: '12345' },
    });
    request =
      'POST /api/v1/orders HTTP/1.1\r\n' +
      common +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(reqBody)}\r\n\r\n${reqBody}`;
    status = '201 Created';
    body = JSON.stringify({ order: hex(16), status: 'accepted' });
  } else {
    request = `GET /api/v1/missing/${hex(6)} HTTP/1.1\r\n${common}Accept: */*\r\n\r\n`;
    status = '404 Not Found';
    body = '{"error":"not found"}';
  }
  const head =
    `HTTP/1.1 ${status}\r\nServer: nginx/1.22.1\r\nDate: ${DATE}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\nCache-Control: no-cache\r\n` +
    `X-Request-Id: ${reqId}\r\n\r\n`;
  // One response in ten comes in two writes (headers, then body), as from a server without writev.
  const response = rand() < 0.1 ? [head, body] : [head + body];
  return { request: Buffer.from(request, 'latin1'), response: response.map((s) => Buffer.from(s, 'latin1')) };
}

/** Frames one record as the reader thread hands it on: [u32 size][u32 0][record][padding to 8]. */
class BatchWriter {
  constructor() {
    this.batches = [];
    this.chunks = [];
    this.bytes = 0;
    this.records = 0;
  }
  add(record) {
    const padded = (record.length + 7) & ~7;
    const frame = Buffer.alloc(8 + padded);
    frame.writeUInt32LE(record.length, 0);
    record.copy(frame, 8);
    if (this.bytes + frame.length > BATCH_BYTES) this.cut();
    this.chunks.push(frame);
    this.bytes += frame.length;
    this.records += 1;
  }
  cut() {
    if (this.chunks.length > 0) this.batches.push(Buffer.concat(this.chunks));
    this.chunks = [];
    this.bytes = 0;
  }
}

function recordHeader(size, conn, kind, direction, tsNs) {
  const b = Buffer.alloc(size);
  b.writeBigUInt64LE(BigInt(tsNs), 0);
  b.writeBigUInt64LE(BigInt(conn.generation), 8);
  b.writeUInt32LE(conn.tgid, 16);
  b.writeInt32LE(conn.fd, 20);
  b[24] = kind;
  b[25] = ROLE_SERVER;
  b[26] = PROTO_HTTP1;
  b[27] = direction;
  return b;
}

function buildBatches() {
  const out = new BatchWriter();
  let tsNs = Number(process.hrtime.bigint());
  const tick = () => (tsNs += 5_000 + Math.floor(rand() * 20_000));
  let next = 0;
  const active = [];
  const startConn = () => {
    const c = {
      id: next,
      tgid: 4242,
      fd: 10 + (next % 4000),
      generation: next + 1,
      pairs: 0,
      sent: 0,
      recv: 0,
    };
    next += 1;
    const o = recordHeader(96, c, KIND.open, 0, tick());
    o.writeUInt16LE(2, 32); // AF_INET
    o.writeUInt16LE(8080, 34);
    o.writeUInt16LE(30000 + (c.id % 30000), 36);
    o.writeUInt32LE(4026531840, 40);
    Buffer.from([10, 0, 0, 1]).copy(o, 44);
    Buffer.from([10, 0, 1 + (c.id % 200), 2]).copy(o, 60);
    o.write('api-server', 80, 'latin1');
    out.add(o);
    active.push(c);
  };
  const data = (c, direction, payload) => {
    const d = recordHeader(48 + payload.length, c, KIND.data, direction, tick());
    const pos = direction === DIR.ingress ? c.recv : c.sent;
    d.writeBigUInt64LE(BigInt(pos), 32);
    d.writeUInt32LE(payload.length, 40);
    d.writeUInt32LE(payload.length, 44);
    payload.copy(d, 48);
    out.add(d);
    if (direction === DIR.ingress) c.recv += payload.length;
    else c.sent += payload.length;
  };
  while (next < Math.min(ACTIVE, CONNS)) startConn();
  let requests = 0;
  let payloadBytes = 0;
  for (let turn = 0; active.length > 0; turn++) {
    const slot = turn % active.length;
    const c = active[slot];
    const x = exchange(requests);
    data(c, DIR.ingress, x.request);
    for (const part of x.response) data(c, DIR.egress, part);
    payloadBytes += x.request.length + x.response.reduce((n, p) => n + p.length, 0);
    requests += 1;
    c.pairs += 1;
    if (c.pairs === PAIRS) {
      const e = recordHeader(48, c, KIND.close, 0, tick());
      e.writeBigUInt64LE(BigInt(c.sent), 32);
      e.writeBigUInt64LE(BigInt(c.recv), 40);
      out.add(e);
      active.splice(slot, 1);
      if (next < CONNS) startConn();
    }
  }
  out.cut();
  return { batches: out.batches, records: out.records, requests, payloadBytes };
}

// ---------------------------------------------------------------------------------------------------------
// Timing

function timed(fn) {
  return async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await fn();
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { ...result, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
  };
}

function newTracker(onHttp, onConn) {
  return new ConnectionTracker({ processName: () => 'api-server', onHttp, onConnStats: onConn });
}

async function openStore(dir) {
  return EventStore.open({ dataDir: dir, node: 'bench', clockOffsetNs: measureClockOffsetNs() });
}

const recorded = buildBatches();
const totalBatchBytes = recorded.batches.reduce((n, b) => n + b.length, 0);
console.log(
  `batch: ${recorded.records} wire records (${recorded.requests} requests, ${(recorded.payloadBytes / 1048576).toFixed(1)} MiB ` +
    `payload) in ${recorded.batches.length} batches of ${(totalBatchBytes / recorded.batches.length / 1024).toFixed(0)} KiB on average`,
);

const decodeOnly = timed(() => {
  const counters = { records: 0, malformed: 0 };
  let events = 0;
  for (const batch of recorded.batches) decodeBatch(batch, () => (events += 1), counters);
  if (counters.malformed > 0) throw new Error(`${counters.malformed} malformed wire records`);
  return { events };
});

let http = [];
let conns = [];
const parseOnly = timed(() => {
  http = [];
  conns = [];
  const tracker = newTracker(
    (r) => http.push(r),
    (r) => conns.push(r),
  );
  const counters = { records: 0, malformed: 0 };
  for (const batch of recorded.batches) decodeBatch(batch, (ev) => tracker.handleEvent(ev), counters);
  return { events: counters.records, records: http.length, conns: conns.length, tracker: tracker.counters };
});

const pipeline = (dir) =>
  timed(async () => {
    const store = await openStore(dir);
    let pendingHttp = [];
    let pendingConns = [];
    const tracker = newTracker(
      (r) => pendingHttp.push(r),
      (r) => pendingConns.push(r),
    );
    const counters = { records: 0, malformed: 0 };
    let sinceFlush = 0;
    for (const batch of recorded.batches) {
      decodeBatch(batch, (ev) => tracker.handleEvent(ev), counters);
      sinceFlush += pendingHttp.length + pendingConns.length;
      if (pendingHttp.length > 0) store.appendHttp(pendingHttp);
      if (pendingConns.length > 0) store.appendConnStats(pendingConns);
      pendingHttp = [];
      pendingConns = [];
      if (sinceFlush >= FLUSH_EVERY_ROWS) {
        await store.flush();
        sinceFlush = 0;
      } else {
        await yieldToEventLoop();
      }
    }
    await store.flush();
    const storeCounters = store.counters;
    const stored = await store.storedRowCount();
    await store.close();
    return { events: counters.records, records: tracker.counters.httpRecords, store: storeCounters, stored };
  })();

const storeOnly = (dir) =>
  timed(async () => {
    const store = await openStore(dir);
    for (let i = 0; i < http.length; i += FLUSH_EVERY_ROWS) {
      store.appendHttp(http.slice(i, i + FLUSH_EVERY_ROWS));
      await store.flush();
    }
    store.appendConnStats(conns);
    await store.flush();
    const storeCounters = store.counters;
    await store.close();
    return { records: http.length, store: storeCounters };
  })();

/**
 * The row writer of the baseline, compiled from schema.ts (so the baseline follows schema changes) into one plain
 * function of direct appender calls: `time` and `node` as the store writes them, every other column from the
 * record field of the same name in camelCase, by the column's SQL type. The cheapest way to drive the appender.
 */
function compileRowWriter(table) {
  const calls = STORE_TABLES[table].map(({ name, type }) => {
    if (name === 'time') return 'a.appendTimestampNanoseconds(ts(r.timeNs));';
    if (name === 'node') return "a.appendVarchar('bench');";
    const field = name.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
    const value = {
      INTEGER: 'a.appendInteger(v)',
      BIGINT: 'a.appendBigInt(BigInt(Math.trunc(v)))',
      BOOLEAN: 'a.appendBoolean(v)',
      JSON: 'a.appendVarchar(JSON.stringify(v))',
      VARCHAR: 'a.appendVarchar(v)',
    }[type.split(' ')[0]];
    if (value === undefined) throw new Error(`baseline: no writer for ${table}.${name} ${type}`);
    return `v = r.${field}; if (v === undefined || v === null) a.appendNull(); else ${value};`;
  });
  return new Function('a', 'r', 'ts', `let v;\n${calls.join('\n')}\na.endRow();`);
}

/** DuckDB's appender alone, same schema, same conversions, nothing else. */
const appenderBaseline = (dir) =>
  timed(async () => {
    fs.mkdirSync(dir, { recursive: true });
    const instance = await DuckDBInstance.create(path.join(dir, 'baseline.duckdb'));
    const connection = await instance.connect();
    for (const statement of CREATE_TABLE_STATEMENTS) await connection.run(statement);
    const offset = measureClockOffsetNs();
    const ts = (ns) => new DuckDBTimestampNanosecondsValue(monotonicToWallClockNs(ns, offset));
    const append = async (table, rows) => {
      const writeRow = compileRowWriter(table);
      for (let i = 0; i < rows.length; i += FLUSH_EVERY_ROWS) {
        const a = await connection.createAppender(table);
        const end = Math.min(rows.length, i + FLUSH_EVERY_ROWS);
        for (let j = i; j < end; j++) writeRow(a, rows[j], ts);
        a.flushSync();
        a.closeSync();
      }
    };
    await append('http_events', http);
    await append('conn_stats', conns);
    const reader = await connection.runAndReadAll('SELECT (SELECT count(*) FROM http_events) AS n');
    const stored = Number(reader.getRowsJS()[0][0]);
    await connection.run('CHECKPOINT');
    connection.closeSync();
    instance.closeSync();
    return { records: http.length, stored };
  })();

// ---------------------------------------------------------------------------------------------------------
// Runs

const columns = STORE_TABLES.http_events.length;
const rate = (n, s) => n / s;
const line = (label, r, n, unit) =>
  console.log(
    `${label.padEnd(34)} ${fmt.n(rate(n, r.wallS)).padStart(9)} ${unit}/s wall, ` +
      `${fmt.n(rate(n, r.cpuS)).padStart(9)} ${unit}/CPU-s  (${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU)`,
  );

// Warm the JIT on every path once, on a throwaway store, then measure on fresh ones.
const work = tempDir('loupe-bench-pst-');
try {
  await decodeOnly();
  await parseOnly();
  const warm = path.join(work.dir, 'warm');
  await pipeline(warm);
  await storeOnly(warm);
  await appenderBaseline(warm);
  fs.rmSync(warm, { recursive: true, force: true });

  // REPS rounds, each measuring all five on fresh stores; each figure is the round with the median CPU time
  // (the upper median for an even count).
  const meter = foreignCpuMeter('the measurements');
  const runs = { d: [], p: [], pl: [], st: [], base: [] };
  for (let rep = 0; rep < REPS; rep++) {
    const dir = (name) => path.join(work.dir, `${name}-${rep}`);
    runs.d.push(await decodeOnly());
    runs.p.push(await parseOnly());
    runs.pl.push(await pipeline(dir('pipeline')));
    // The one measured second runs on a heap the first left garbage in: alternate which goes first.
    if (rep % 2 === 0) {
      runs.st.push(await storeOnly(dir('store')));
      runs.base.push(await appenderBaseline(dir('baseline')));
    } else {
      runs.base.push(await appenderBaseline(dir('baseline')));
      runs.st.push(await storeOnly(dir('store')));
    }
    for (const name of ['pipeline', 'store', 'baseline'])
      fs.rmSync(dir(name), { recursive: true, force: true });
  }
  const others = meter.stop();
  const medianRun = (list) => [...list].sort((x, y) => x.cpuS - y.cpuS)[Math.floor(list.length / 2)];
  const spread = (list) => {
    const cpu = list.map((r) => r.cpuS);
    return (Math.max(...cpu) - Math.min(...cpu)) / Math.min(...cpu);
  };
  const [d, p, pl, st, base] = ['d', 'p', 'pl', 'st', 'base'].map((k) => medianRun(runs[k]));
  const worstSpread = Math.max(...['p', 'pl', 'st', 'base'].map((k) => spread(runs[k])));

  const tc = p.tracker;
  if (p.records !== recorded.requests) {
    console.log(
      `WARNING: the tracker made ${p.records} records of ${recorded.requests} requests ` +
        `(parse errors ${tc.parseErrors}, unpaired ${tc.unpairedRequests}/${tc.unpairedResponses})`,
    );
  }
  if (pl.store.rowsDropped > 0 || st.store.rowsDropped > 0) {
    console.log(
      `WARNING: the store dropped rows (pipeline ${pl.store.rowsDropped}, store ${st.store.rowsDropped})`,
    );
  }
  console.log(
    `${REPS} rounds; other processes used ${others.toFixed(2)} cores meanwhile; ` +
      `largest spread of CPU time between rounds ${(worstSpread * 100).toFixed(0)}%`,
  );
  console.log(`records: ${p.records} http_events rows (${columns} columns) + ${p.conns} conn_stats rows\n`);
  line('1 decode (wire → events)', d, d.events, 'events');
  line('2 parse (decode + tracker)', p, p.events, 'events');
  line('  same, in requests', p, p.records, 'records');
  line('3 pipeline (decode+parse+store)', pl, pl.events, 'events');
  line('  same, in requests', pl, pl.records, 'records');
  line('4 EventStore alone', st, st.records, 'records');
  line('5 BASELINE DuckDB appender alone', base, base.records, 'records');
  console.log('');
  const perCpu = (r, n) => rate(n, r.cpuS);
  const pipeRatio = perCpu(pl, pl.records) / perCpu(base, base.records);
  const storeRatio = perCpu(st, st.records) / perCpu(base, base.records);
  const parseShare = p.cpuS / pl.cpuS;
  console.log(
    `CPU per request: parse ${fmt.us(p.cpuS / p.records)}, EventStore ${fmt.us(st.cpuS / st.records)}, ` +
      `pipeline ${fmt.us(pl.cpuS / pl.records)}, bare appender ${fmt.us(base.cpuS / base.records)}; ` +
      `parsing is ${(parseShare * 100).toFixed(0)}% of the pipeline's CPU`,
  );
  console.log(
    `RATIO pipeline / appender-alone (records per CPU-s): ${fmt.r(pipeRatio)}; EventStore / appender-alone: ${fmt.r(storeRatio)}`,
  );
  console.log(
    `RESULT parse-store-throughput events_per_cpu_s=${fmt.n(perCpu(pl, pl.events))} ` +
      `records_per_cpu_s=${fmt.n(perCpu(pl, pl.records))} parse_only_records_per_cpu_s=${fmt.n(perCpu(p, p.records))} ` +
      `baseline_records_per_cpu_s=${fmt.n(perCpu(base, base.records))} ratio=${fmt.r(pipeRatio)} store_ratio=${fmt.r(storeRatio)} ` +
      `stored=${pl.stored} noisy=${noise.noisy}`,
  );
} finally {
  work.remove();
}
