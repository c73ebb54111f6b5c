/**
 * The offline half of the parse + store benchmarks (parse-store-throughput.mjs for HTTP,
 * sql-parse-store-throughput.mjs for PostgreSQL and MySQL): recorded batches in the kernel's wire format, and the
 * measurements run on them without the kernel.
 *
 * A recorded batch: server connections (`active` open at a time, their events interleaved turn by turn), encoded as
 * bpf/socket_trace.h lays the records out (node-collector/src/capture/wire.ts reads them) and framed as the reader
 * thread hands them on, cut into batches of up to `batchBytes`. The benchmarks only say what each turn carries.
 *
 * The measurements, each timed by wall clock and by this process's CPU (user+sys, all threads):
 *   decode:    wire batches → CaptureEvents (decodeBatch);
 *   parse:     decode → ConnectionTracker → records;
 *   pipeline:  decode → tracker → EventStore, handed on once per batch as Collector does, and like Collector
 *              holding the next batch while the store is behind (so nothing is dropped: the sustainable rate);
 *   store:     the records of parse → EventStore alone;
 *   baseline:  the same records appended by DuckDB's appender alone (@duckdb/node-api, row by row, the same
 *              schema, the same value conversions), no EventStore;
 *   duckdb:    the rows the store wrote, copied by DuckDB alone (INSERT … SELECT from an in-memory table, a row
 *              group per transaction, then a checkpoint): what storing these rows costs with no JavaScript per
 *              row, the floor under any store built on DuckDB's tables.
 * Records come in kinds (`kinds`: table, EventStore append method, and whether they are the benchmark's subject or
 * the conn_stats rows that come along), so that one harness serves every protocol.
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DuckDBInstance, DuckDBTimestampNanosecondsValue } from '@duckdb/node-api';
import { copyWithDuckDbAlone } from './duckdb-alone.mjs';
import { fmt, foreignCpuMeter, repoRoot, tempDir } from './lib.mjs';

/** A module of the collector's build (node-collector/dist/src), which the benchmarks measure. */
export const importCollector = (p) => import(path.join(repoRoot, 'node-collector/dist/src', p));

const { decodeBatch } = await importCollector('capture/wire.js');
const { EventStore, measureClockOffsetNs, monotonicToWallClockNs, storeFileName } =
  await importCollector('store/event-store.js');
const { CREATE_TABLE_STATEMENTS, STORE_TABLES } = await importCollector('store/schema.js');

// ---------------------------------------------------------------------------------------------------------
// The wire format (bpf/socket_trace.h: enum loupe_event_kind, loupe_role, loupe_protocol, loupe_direction)

export const KIND = { open: 1, data: 2, close: 3 };
export const ROLE = { unknown: 0, client: 1, server: 2 };
export const PROTOCOL = { unknown: 0, http1: 1, pgsql: 2, mysql: 3 };
export const DIR = { egress: 0, ingress: 1 };

/**
 * Deterministic pseudo-random numbers, so that every run parses the same bytes: a 32-bit counter through an
 * integer hash (mulberry32). A plain linear congruential generator repeats its low bits within a few steps, which
 * made the random ids of the recorded heads repeat (2,490 distinct ids among 72,000) and flattered the head cache.
 */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = Math.imul(state ^ (state >>> 15), state | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Frames one record as the reader thread hands it on: [u32 size][u32 0][record][padding to 8]. */
class BatchWriter {
  constructor(batchBytes) {
    this.batchBytes = batchBytes;
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
    if (this.bytes + frame.length > this.batchBytes) this.cut();
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

function recordHeader(size, conn, kind, protocol, direction, tsNs) {
  const b = Buffer.alloc(size);
  b.writeBigUInt64LE(BigInt(tsNs), 0);
  b.writeBigUInt64LE(BigInt(conn.generation), 8);
  b.writeUInt32LE(conn.tgid, 16);
  b.writeInt32LE(conn.fd, 20);
  b[24] = kind;
  b[25] = ROLE.server;
  b[26] = protocol;
  b[27] = direction;
  return b;
}

/**
 * Builds a recorded batch of `conns` server-side connections of `protocol`, `active` of them open at a time and
 * taking turns. `turn(conn, index)` says what the connection's next turn carries: `{ chunks: [{ direction,
 * payload }], last }`, one data record per chunk (one syscall's bytes), and whether the connection closes after
 * it; `index` counts turns over the whole batch. `openProtocol` is the protocol byte of the open records: the
 * kernel knows a connection's protocol only once its first bytes were seen, after the accept that opens it.
 * Timestamps start at `startNs` (default: now on CLOCK_MONOTONIC, the kernel's clock, so that stored times are
 * recent) and advance 5–25 µs per record.
 */
export function buildWireBatches({
  conns,
  active = 64,
  batchBytes,
  rand,
  startNs = Number(process.hrtime.bigint()),
  protocol,
  openProtocol = protocol,
  localPort,
  comm,
  turn,
}) {
  const out = new BatchWriter(batchBytes);
  let tsNs = startNs;
  const tick = () => (tsNs += 5_000 + Math.floor(rand() * 20_000));
  let next = 0;
  const open = [];
  const startConn = () => {
    const c = { id: next, tgid: 4242, fd: 10 + (next % 4000), generation: next + 1, sent: 0, recv: 0 };
    next += 1;
    const o = recordHeader(96, c, KIND.open, openProtocol, 0, tick());
    o.writeUInt16LE(2, 32); // AF_INET
    o.writeUInt16LE(localPort, 34);
    o.writeUInt16LE(30000 + (c.id % 30000), 36);
    o.writeUInt32LE(4026531840, 40);
    Buffer.from([10, 0, 0, 1]).copy(o, 44);
    Buffer.from([10, 0, 1 + (c.id % 200), 2]).copy(o, 60);
    o.write(comm, 80, 'latin1');
    out.add(o);
    open.push(c);
  };
  const data = (c, direction, payload) => {
    const d = recordHeader(48 + payload.length, c, KIND.data, protocol, direction, tick());
    const pos = direction === DIR.ingress ? c.recv : c.sent;
    d.writeBigUInt64LE(BigInt(pos), 32);
    d.writeUInt32LE(payload.length, 40);
    d.writeUInt32LE(payload.length, 44);
    payload.copy(d, 48);
    out.add(d);
    if (direction === DIR.ingress) c.recv += payload.length;
    else c.sent += payload.length;
  };
  while (next < Math.min(active, conns)) startConn();
  let turns = 0;
  let payloadBytes = 0;
  for (let t = 0; open.length > 0; t++) {
    const slot = t % open.length;
    const c = open[slot];
    const { chunks, last } = turn(c, turns);
    for (const { direction, payload } of chunks) {
      data(c, direction, payload);
      payloadBytes += payload.length;
    }
    turns += 1;
    if (last) {
      const e = recordHeader(48, c, KIND.close, protocol, 0, tick());
      e.writeBigUInt64LE(BigInt(c.sent), 32);
      e.writeBigUInt64LE(BigInt(c.recv), 40);
      out.add(e);
      open.splice(slot, 1);
      if (next < conns) startConn();
    }
  }
  out.cut();
  const bytes = out.batches.reduce((n, b) => n + b.length, 0);
  return { batches: out.batches, records: out.records, turns, payloadBytes, bytes };
}

// ---------------------------------------------------------------------------------------------------------
// The measurements

/** Rows the store takes per hand-over when the records are ready beforehand (store and baseline). */
const HAND_OVER_ROWS = 1_000;
/** The baseline's appender is flushed (and its rows committed) every this many rows. */
const BASELINE_FLUSH_ROWS = 10_000;

/**
 * Waits while the store has a flush's worth of rows not yet appended, as Collector holds its batches meanwhile.
 * The store commits as the collector's does: whole row groups as they fill, the rest when it is closed.
 */
async function whileBehind(store) {
  while (store.behind) await sleep(1);
}

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

const STORE_NODE = 'bench';

async function openStore(dir) {
  return EventStore.open({ dataDir: dir, node: STORE_NODE, clockOffsetNs: measureClockOffsetNs() });
}

/** Rows of each kind's table, read in one query. */
async function countRows(connection, kinds) {
  const names = Object.keys(kinds);
  const counts = names.map((k) => `(SELECT count(*) FROM ${kinds[k].table}) AS ${k}`).join(', ');
  const [row] = (await connection.runAndReadAll(`SELECT ${counts}`)).getRowsJS();
  return Object.fromEntries(names.map((k, i) => [k, Number(row[i])]));
}

/** The store's rows of each kind, through a reader connection of its own. */
async function storedRows(store, kinds) {
  const reader = await store.connect();
  try {
    return await countRows(reader, kinds);
  } finally {
    reader.closeSync();
  }
}

const subjectCount = (kinds, counts) =>
  Object.keys(kinds)
    .filter((k) => kinds[k].subject)
    .reduce((n, k) => n + counts[k], 0);

/**
 * The row writer of the baseline, compiled from schema.ts (so the baseline follows schema changes) into one plain
 * function of direct appender calls: `time` and `node` as the store writes them, every other column from the
 * record field of the same name in camelCase, by the column's SQL type; an empty `error` is NULL, as the store
 * writes it. The cheapest way to drive the appender.
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
    const empty = name === 'error' ? " || v === ''" : '';
    return `v = r.${field}; if (v === undefined || v === null${empty}) a.appendNull(); else ${value};`;
  });
  return new Function('a', 'r', 'ts', `let v;\n${calls.join('\n')}\na.endRow();`);
}

/**
 * The five measurements on one recorded batch. `kinds`: { key: { table, append, subject } }, in the order the
 * pipeline hands rows on; `newTracker(sinks)` makes a ConnectionTracker that pushes each kind's records through
 * `sinks[key]`. Parse keeps its records for store and baseline, so it runs before them.
 */
export function parseStoreMeasurements({ batches, kinds, newTracker }) {
  const keys = Object.keys(kinds);
  const emptyLists = () => Object.fromEntries(keys.map((k) => [k, []]));
  let parsed = emptyLists();
  const parsedSubjects = () =>
    subjectCount(kinds, Object.fromEntries(keys.map((k) => [k, parsed[k].length])));

  const decodeOnly = timed(() => {
    const counters = { records: 0, malformed: 0 };
    let events = 0;
    for (const batch of batches) decodeBatch(batch, () => (events += 1), counters);
    if (counters.malformed > 0) throw new Error(`${counters.malformed} malformed wire records`);
    return { events };
  });

  const parseOnly = timed(() => {
    parsed = emptyLists();
    const tracker = newTracker(Object.fromEntries(keys.map((k) => [k, (r) => parsed[k].push(r)])));
    const counters = { records: 0, malformed: 0 };
    for (const batch of batches) decodeBatch(batch, (ev) => tracker.handleEvent(ev), counters);
    const counts = Object.fromEntries(keys.map((k) => [k, parsed[k].length]));
    return { events: counters.records, records: parsedSubjects(), counts, tracker: tracker.counters };
  });

  const pipeline = (dir) =>
    timed(async () => {
      const store = await openStore(dir);
      let pending = emptyLists();
      const tracker = newTracker(Object.fromEntries(keys.map((k) => [k, (r) => pending[k].push(r)])));
      const counters = { records: 0, malformed: 0 };
      let records = 0;
      for (const batch of batches) {
        decodeBatch(batch, (ev) => tracker.handleEvent(ev), counters);
        for (const k of keys) {
          const rows = pending[k];
          if (rows.length === 0) continue;
          if (kinds[k].subject) records += rows.length;
          store[kinds[k].append](rows);
        }
        pending = emptyLists();
        if (store.behind) await whileBehind(store);
        else await yieldToEventLoop();
      }
      await store.flush();
      const storeCounters = store.counters;
      const storedByKind = await storedRows(store, kinds);
      await store.close();
      const stored = Object.values(storedByKind).reduce((n, x) => n + x, 0);
      return { events: counters.records, records, store: storeCounters, stored, storedByKind };
    })();

  const storeOnly = (dir) =>
    timed(async () => {
      const store = await openStore(dir);
      for (const k of keys) {
        const rows = parsed[k];
        for (let i = 0; i < rows.length; i += HAND_OVER_ROWS) {
          store[kinds[k].append](rows.slice(i, i + HAND_OVER_ROWS));
          await whileBehind(store);
        }
      }
      await store.flush();
      const storeCounters = store.counters;
      const storedByKind = await storedRows(store, kinds);
      await store.close();
      return { records: parsedSubjects(), store: storeCounters, storedByKind };
    })();

  /** DuckDB's appender alone, same schema, same conversions, nothing else. */
  const baseline = (dir) =>
    timed(async () => {
      fs.mkdirSync(dir, { recursive: true });
      const instance = await DuckDBInstance.create(path.join(dir, 'baseline.duckdb'));
      const connection = await instance.connect();
      for (const statement of CREATE_TABLE_STATEMENTS) await connection.run(statement);
      const offset = measureClockOffsetNs();
      const ts = (ns) => new DuckDBTimestampNanosecondsValue(monotonicToWallClockNs(ns, offset));
      for (const k of keys) {
        const rows = parsed[k];
        const writeRow = compileRowWriter(kinds[k].table);
        for (let i = 0; i < rows.length; i += BASELINE_FLUSH_ROWS) {
          const a = await connection.createAppender(kinds[k].table);
          const end = Math.min(rows.length, i + BASELINE_FLUSH_ROWS);
          for (let j = i; j < end; j++) writeRow(a, rows[j], ts);
          a.flushSync();
          a.closeSync();
        }
      }
      const storedByKind = await countRows(connection, kinds);
      await connection.run('CHECKPOINT');
      connection.closeSync();
      instance.closeSync();
      return { records: parsedSubjects(), stored: subjectCount(kinds, storedByKind), storedByKind };
    })();

  /** The rows a store run wrote (in `storeDir`), copied by DuckDB alone (duckdb-alone.mjs). */
  const duckdbAlone = async (storeDir, dir) => {
    const { wallS, cpuS, rows } = await copyWithDuckDbAlone({
      sourceFile: path.join(storeDir, storeFileName(STORE_NODE)),
      selections: [...new Set(keys.map((k) => kinds[k].table))].map((table) => ({ table })),
      dir,
    });
    const storedByKind = Object.fromEntries(keys.map((k) => [k, rows[kinds[k].table]]));
    return { wallS, cpuS, records: subjectCount(kinds, storedByKind), storedByKind };
  };

  /** The records of the last parse, by kind: for checking what the parser made of the batch. */
  const parsedRecords = () => parsed;

  return { decodeOnly, parseOnly, pipeline, storeOnly, baseline, duckdbAlone, parsedRecords };
}

/**
 * Warms the JIT on every path once, on a throwaway store, then measures `reps` rounds on fresh stores. Each figure
 * is the round with the median CPU time (the upper median for an even count). Returns the six medians, every
 * round (`runs`), the CPU other processes used meanwhile (cores) and the largest spread of CPU time between rounds.
 */
export async function measureRounds(m, reps, tempPrefix) {
  const work = tempDir(tempPrefix);
  try {
    await m.decodeOnly();
    await m.parseOnly();
    const warm = path.join(work.dir, 'warm');
    await m.pipeline(warm);
    await m.storeOnly(warm);
    await m.baseline(warm);
    await m.duckdbAlone(warm, path.join(work.dir, 'warm-copy'));
    fs.rmSync(warm, { recursive: true, force: true });
    fs.rmSync(path.join(work.dir, 'warm-copy'), { recursive: true, force: true });

    const meter = foreignCpuMeter('the measurements');
    const runs = { d: [], p: [], pl: [], st: [], base: [], duck: [] };
    for (let rep = 0; rep < reps; rep++) {
      const dir = (name) => path.join(work.dir, `${name}-${rep}`);
      runs.d.push(await m.decodeOnly());
      runs.p.push(await m.parseOnly());
      runs.pl.push(await m.pipeline(dir('pipeline')));
      // The one measured second runs on a heap the first left garbage in: alternate which goes first.
      if (rep % 2 === 0) {
        runs.st.push(await m.storeOnly(dir('store')));
        runs.base.push(await m.baseline(dir('baseline')));
      } else {
        runs.base.push(await m.baseline(dir('baseline')));
        runs.st.push(await m.storeOnly(dir('store')));
      }
      runs.duck.push(await m.duckdbAlone(dir('store'), dir('copy')));
      for (const name of ['pipeline', 'store', 'baseline', 'copy'])
        fs.rmSync(dir(name), { recursive: true, force: true });
    }
    const others = meter.stop();
    const medianRun = (list) => [...list].sort((x, y) => x.cpuS - y.cpuS)[Math.floor(list.length / 2)];
    const spread = (list) => {
      const cpu = list.map((r) => r.cpuS);
      return (Math.max(...cpu) - Math.min(...cpu)) / Math.min(...cpu);
    };
    const [d, p, pl, st, base, duck] = ['d', 'p', 'pl', 'st', 'base', 'duck'].map((k) => medianRun(runs[k]));
    const worstSpread = Math.max(...['p', 'pl', 'st', 'base', 'duck'].map((k) => spread(runs[k])));
    return { d, p, pl, st, base, duck, runs, others, worstSpread };
  } finally {
    work.remove();
  }
}

/** One measurement's line: `n` units per second of wall clock and per CPU-second. */
function rateLine(label, r, n, unit) {
  console.log(
    `${label.padEnd(34)} ${fmt.n(n / r.wallS).padStart(9)} ${unit}/s wall, ` +
      `${fmt.n(n / r.cpuS).padStart(9)} ${unit}/CPU-s  (${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU)`,
  );
}

/**
 * Prints the rounds of measureRounds: the noise seen, the rows of `table`, then each measurement's rate in events
 * and in the subject's records (`subject`: what they are called, `unit`: their short name per second).
 */
export function printRounds(
  { d, p, pl, st, base, duck, others, worstSpread },
  { reps, table, subject, unit },
) {
  console.log(
    `${reps} rounds; other processes used ${others.toFixed(2)} cores meanwhile; ` +
      `largest spread of CPU time between rounds ${(worstSpread * 100).toFixed(0)}%`,
  );
  console.log(
    `records: ${p.records} ${table} rows (${STORE_TABLES[table].length} columns) + ${p.counts.conns} conn_stats rows\n`,
  );
  rateLine('1 decode (wire → events)', d, d.events, 'events');
  rateLine('2 parse (decode + tracker)', p, p.events, 'events');
  rateLine(`  same, in ${subject}`, p, p.records, unit);
  rateLine('3 pipeline (decode+parse+store)', pl, pl.events, 'events');
  rateLine(`  same, in ${subject}`, pl, pl.records, unit);
  rateLine('4 EventStore alone', st, st.records, unit);
  rateLine('5 BASELINE DuckDB appender alone', base, base.records, unit);
  rateLine('6 DuckDB alone, no JS per row', duck, duck.records, unit);
}
