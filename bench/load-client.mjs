/**
 * A paced HTTP/1.1 load generator (wrk2 is not packaged in Debian): `--rate` requests per second for
 * `--duration-ms`, over `--connections` keep-alive connections, one request in flight per connection (no
 * pipelining). Raw sockets, not http.Agent: the Agent's client costs ~3x the CPU per request and could not reach
 * 20k requests/s beside nginx and the collector on two cores.
 *
 * Pacing: by time t, rate × t requests are due; every millisecond the due ones go out on idle connections, and a
 * connection that gets its response takes the next due request at once. If all connections are busy the backlog
 * waits (reported as maxBacklog): the rate reached is then lower than asked, and the summary says so.
 *
 * Prints one JSON line: sent, completed, failed, achieved rate, latency p50/p99 (from the actual send).
 * Usage: node bench/load-client.mjs --port P --path /x --rate R --duration-ms D --connections C [--host H]
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import net from 'node:net';
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string', default: '/' },
    rate: { type: 'string', default: '1000' },
    'duration-ms': { type: 'string', default: '5000' },
    connections: { type: 'string', default: '16' },
  },
});
const host = values.host;
const port = Number(values.port);
const rate = Number(values.rate);
const durationMs = Number(values['duration-ms']);
const connectionCount = Number(values.connections);
const total = Math.round((rate * durationMs) / 1000);

const request = Buffer.from(
  `GET ${values.path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: loupe-bench/1\r\nAccept: */*\r\n\r\n`,
  'latin1',
);
const HEADER_END = Buffer.from('\r\n\r\n');

let issued = 0;
let completed = 0;
let failed = 0;
let maxBacklog = 0;
let startNs = 0n;
let lastSendNs = 0n;
let lastDoneNs = 0n;
const latenciesUs = new Float64Array(total);
const idle = [];
let finished = false;

function nowNs() {
  return process.hrtime.bigint();
}

function due() {
  const elapsedS = Number(nowNs() - startNs) / 1e9;
  return Math.min(total, Math.floor(rate * elapsedS));
}

function send(conn) {
  conn.busy = true;
  conn.sentAt = nowNs();
  lastSendNs = conn.sentAt;
  issued += 1;
  conn.socket.write(request);
}

function pump() {
  const target = due();
  while (issued < target && idle.length > 0) {
    const conn = idle.pop();
    if (!conn.dead) send(conn);
  }
  maxBacklog = Math.max(maxBacklog, target - issued);
}

/** Counts complete responses in the buffer (content-length framing, which nginx's `return` uses). */
function onData(conn, chunk) {
  conn.buf = conn.buf === null ? chunk : Buffer.concat([conn.buf, chunk]);
  while (conn.buf !== null) {
    const end = conn.buf.indexOf(HEADER_END);
    if (end < 0) return;
    const head = conn.buf.toString('latin1', 0, end);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = end + 4 + (m ? Number(m[1]) : 0);
    if (conn.buf.length < length) return;
    conn.buf = conn.buf.length === length ? null : conn.buf.subarray(length);
    if (!conn.busy) continue;
    const doneNs = nowNs();
    latenciesUs[completed] = Number(doneNs - conn.sentAt) / 1e3;
    completed += 1;
    lastDoneNs = doneNs;
    conn.busy = false;
    if (issued < due()) send(conn);
    else idle.push(conn);
    if (issued === total && completed + failed === issued) finish();
  }
}

function connect() {
  return new Promise((resolve, reject) => {
    const conn = { socket: null, busy: false, dead: false, sentAt: 0n, buf: null };
    conn.socket = net.connect(port, host, () => resolve(conn));
    conn.socket.setNoDelay(true);
    conn.socket.on('data', (chunk) => onData(conn, chunk));
    conn.socket.on('error', (err) => {
      if (!conn.dead && conn.busy) failed += 1;
      conn.dead = true;
      if (startNs === 0n) reject(err);
    });
    conn.socket.on('close', () => {
      if (!finished && !conn.dead && conn.busy) failed += 1;
      conn.dead = true;
    });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

let ticker;
function finish() {
  if (finished) return;
  finished = true;
  clearInterval(ticker);
  const lat = latenciesUs.slice(0, completed).sort();
  const sendWindowS = Number(lastSendNs - startNs) / 1e9;
  const summary = {
    askedRate: rate,
    durationMs,
    connections: connectionCount,
    sent: issued,
    completed,
    failed: issued - completed,
    sendWindowMs: Math.round(sendWindowS * 1000),
    elapsedMs: Math.round(Number((lastDoneNs || nowNs()) - startNs) / 1e6),
    // Requests sent over the time it took to send them; a full 1 s of due requests per second when on pace.
    achievedRate: Math.round(issued / Math.max(sendWindowS, durationMs / 1000)),
    maxBacklog,
    p50us: Math.round(percentile(lat, 50)),
    p99us: Math.round(percentile(lat, 99)),
    // This client's own CPU (connect included), for context: it shares the two cores with nginx and the collector.
    cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
  let open = 0;
  const done = () => {
    console.log(JSON.stringify(summary));
    process.exit(0);
  };
  for (const conn of conns) {
    if (conn.dead) continue;
    open += 1;
    conn.socket.once('close', () => {
      open -= 1;
      if (open === 0) done();
    });
    conn.socket.end();
  }
  if (open === 0) done();
  setTimeout(done, 2_000).unref();
}

const conns = await Promise.all(Array.from({ length: connectionCount }, connect));
idle.push(...conns);
startNs = nowNs();
ticker = setInterval(pump, 1);
pump();
// Whatever is still unanswered this long after the last due request counts as failed.
setTimeout(finish, durationMs + 10_000).unref();
