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
 * Measured by the harness of recorded-batch.mjs (shared with sql-parse-store-throughput.mjs, which encodes the
 * batches too), one after the other in this process, each on a fresh store, timed by wall clock and by this
 * process's CPU (user+sys, all threads: "per core" = per CPU-second), in REPS rounds (median reported):
 *   1. decode:    wire batches → CaptureEvents (decodeBatch);
 *   2. parse:     decode → ConnectionTracker → HttpRecords (+ ConnStatsRecords);
 *   3. pipeline:  decode → tracker → EventStore, handed on once per batch as Collector does, and like it holding
 *                 the next batch while the store is behind (so nothing is dropped: the sustainable rate);
 *   4. store:     the records of 2 → EventStore alone;
 *   5. baseline:  the same records appended by DuckDB's appender alone (@duckdb/node-api, row by row, the
 *                 same schema, the same value conversions: timestamps, JSON headers), no EventStore;
 *   6. DuckDB alone: the rows of 4 copied by DuckDB itself (INSERT … SELECT, a row group per transaction), no
 *                 JavaScript per row: the floor under any store on DuckDB's tables.
 * Ratios: pipeline / baseline and store / baseline (records per CPU-second).
 *
 * Usage: node bench/parse-store-throughput.mjs [--conns 600] [--pairs 60] [--reps 4]
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { parseArgs } from 'node:util';
import { fmt, header, noise } from './lib.mjs';
import {
  DIR,
  PROTOCOL,
  buildWireBatches,
  importCollector,
  measureRounds,
  parseStoreMeasurements,
  printRounds,
  seededRandom,
} from './recorded-batch.mjs';

const { ConnectionTracker } = await importCollector('conn/connection-tracker.js');

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

header(
  `parse + store throughput: ${CONNS} connections × ${PAIRS} requests, wire batches of ≤ ${BATCH_BYTES >> 10} KiB`,
);

// ---------------------------------------------------------------------------------------------------------
// The recorded batch

const rand = seededRandom(42);
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

let requests = 0;
const recorded = buildWireBatches({
  conns: CONNS,
  active: ACTIVE,
  batchBytes: BATCH_BYTES,
  rand,
  protocol: PROTOCOL.http1,
  localPort: 8080,
  comm: 'api-server',
  turn(c) {
    const x = exchange(requests);
    requests += 1;
    c.pairs = (c.pairs ?? 0) + 1;
    const chunks = [{ direction: DIR.ingress, payload: x.request }];
    for (const part of x.response) chunks.push({ direction: DIR.egress, payload: part });
    return { chunks, last: c.pairs === PAIRS };
  },
});
recorded.requests = requests;
console.log(
  `batch: ${recorded.records} wire records (${recorded.requests} requests, ${(recorded.payloadBytes / 1048576).toFixed(1)} MiB ` +
    `payload) in ${recorded.batches.length} batches of ${(recorded.bytes / recorded.batches.length / 1024).toFixed(0)} KiB on average`,
);

// ---------------------------------------------------------------------------------------------------------
// Runs

const measurements = parseStoreMeasurements({
  batches: recorded.batches,
  kinds: {
    http: { table: 'http_events', append: 'appendHttp', subject: true },
    conns: { table: 'conn_stats', append: 'appendConnStats', subject: false },
  },
  newTracker: (sinks) =>
    new ConnectionTracker({ processName: () => 'api-server', onHttp: sinks.http, onConnStats: sinks.conns }),
});
const result = await measureRounds(measurements, REPS, 'loupe-bench-pst-');
const { p, pl, st, base } = result;

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
printRounds(result, { reps: REPS, table: 'http_events', subject: 'requests', unit: 'records' });
console.log('');
const perCpu = (r, n) => n / r.cpuS;
const pipeRatio = perCpu(pl, pl.records) / perCpu(base, base.records);
const storeRatio = perCpu(st, st.records) / perCpu(base, base.records);
const parseShare = p.cpuS / pl.cpuS;
const { duck } = result;
console.log(
  `CPU per request: parse ${fmt.us(p.cpuS / p.records)}, EventStore ${fmt.us(st.cpuS / st.records)}, ` +
    `pipeline ${fmt.us(pl.cpuS / pl.records)}, bare appender ${fmt.us(base.cpuS / base.records)}, ` +
    `DuckDB alone ${fmt.us(duck.cpuS / duck.records)}; parsing is ${(parseShare * 100).toFixed(0)}% of the pipeline's CPU`,
);
console.log(
  `EventStore / DuckDB alone (CPU per row): ${fmt.r(st.cpuS / st.records / (duck.cpuS / duck.records))}: ` +
    'what the store adds over what DuckDB itself spends taking these rows in',
);
console.log(
  `RATIO pipeline / appender-alone (records per CPU-s): ${fmt.r(pipeRatio)}; EventStore / appender-alone: ${fmt.r(storeRatio)}`,
);
console.log(
  `RESULT parse-store-throughput events_per_cpu_s=${fmt.n(perCpu(pl, pl.events))} ` +
    `records_per_cpu_s=${fmt.n(perCpu(pl, pl.records))} parse_only_records_per_cpu_s=${fmt.n(perCpu(p, p.records))} ` +
    `baseline_records_per_cpu_s=${fmt.n(perCpu(base, base.records))} ` +
    `duckdb_alone_records_per_cpu_s=${fmt.n(perCpu(duck, duck.records))} ratio=${fmt.r(pipeRatio)} store_ratio=${fmt.r(storeRatio)} ` +
    `stored=${pl.stored} noisy=${noise.noisy}`,
);
