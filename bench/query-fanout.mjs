/**
 * Distributed query cost: the service_map script through a broker over three collectors, against the same
 * script on one DuckDB file holding the same rows, in one run.
 *
 * Data: REQUESTS requests between 24 client processes and 4 server endpoints on CONNS keep-alive connections,
 * each request captured on both ends (a client row on the client's node, a server row on the server's node),
 * so the three collectors hold 2 × REQUESTS rows of http_events between them (default 1.5M requests = 3 × 1M
 * rows) and the baseline file holds all of them. Rows are generated straight into the DuckDB files before the
 * collectors start. Each collector is scoped to an empty network namespace, so it captures nothing while the
 * benchmark runs (not even the broker's calls to the other collectors).
 *
 * Measured: ROUNDS rounds, each one distributed query (POST /api/v1/query {"script": "service_map"}) and one
 * baseline query (the same SQL and parameters through a QueryRunner on the baseline file, in this process),
 * after one warm-up of each (printed too: the distributed one includes planning, later rounds use the broker's
 * plan cache, as a dashboard refreshing a script would). Reported: median wall time of each, their ratio (target ≤ 1.5), and the bytes the
 * broker received from the collectors per query (from its loupe_broker_bytes_received_total counter).
 *
 * Usage: node bench/query-fanout.mjs [--requests 1500000] [--conns 3000] [--rounds 5]
 */
import console from 'node:console';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createNetns,
  fmt,
  freePort,
  header,
  httpJson,
  loupeBin,
  median,
  repoRoot,
  requireRoot,
  sleep,
  startProcess,
  tempDir,
} from './lib.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1500000' },
    conns: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '5' },
  },
});
const REQUESTS = Number(values.requests);
const CONNS = Number(values.conns);
const ROUNDS = Math.max(1, Number(values.rounds));
const NODES = ['n0', 'n1', 'n2'];

const dist = (workspace, file) => path.join(repoRoot, workspace, 'dist/src', file);
const { CREATE_TABLE_STATEMENTS } = await import(dist('node-collector', 'store/schema.js'));
const { storeFileName } = await import(dist('node-collector', 'store/event-store.js'));
const { QueryRunner } = await import(dist('query-engine', 'query-runner.js'));
const { ScriptLibrary } = await import(dist('query-engine', 'scripts/script-library.js'));

requireRoot();
header(
  `query fan-out: service_map over ${fmt.n((2 * REQUESTS) / 1e6, 1)}M http_events on 3 collectors vs one DuckDB`,
);

/**
 * The rows of one side of every request whose connection has that side on `node` (null: every node). Request
 * k rides connection k % CONNS; connection c goes from client node c % 3 to server node (c + 1) % 3.
 */
function insertSql(side, nodeIndex, until) {
  const conn = `(k % ${CONNS})`;
  const nodeOf = side === 'client' ? `${conn} % 3` : `(${conn} + 1) % 3`;
  const clientAddr = `'10.1.' || (${conn} % 3) || '.' || (1 + ${conn} % 8)`;
  const serverAddr = `'10.1.' || ((${conn} + 1) % 3) || '.100'`;
  const serverPort = `8000 + ${conn} % 4`;
  const clientPort = `30000 + ${conn}`;
  const local = side === 'client' ? [clientAddr, clientPort] : [serverAddr, serverPort];
  const remote = side === 'client' ? [serverAddr, serverPort] : [clientAddr, clientPort];
  const process = side === 'client' ? `'client-' || (${conn} % 24)` : `'server-' || (${conn} % 4)`;
  // Latency: a skewed spread from 0.2 ms to ~200 ms; the client sees the server's time plus the network.
  const serverNs = `(200000 + (hash(k) % 1000) * (hash(k * 7) % 200) * 1000)`;
  const latency = side === 'client' ? `${serverNs} + 150000` : serverNs;
  const where = nodeIndex === null ? '' : `WHERE ${nodeOf} = ${nodeIndex}`;
  return `INSERT INTO http_events (time, node, pid, process, local_addr, local_port, remote_addr, remote_port,
            role, version, req_method, req_path, resp_status, latency_ns, encrypted)
          SELECT '${until}'::TIMESTAMP_NS - INTERVAL (k % 3000) SECOND, 'n' || (${nodeOf}), 1000 + ${conn} % 24,
                 ${process}, ${local[0]}, ${local[1]}, ${remote[0]}, ${remote[1]}, '${side}', '1.1',
                 ['GET', 'POST'][1 + k % 2], '/api/v1/items/' || (k % 100),
                 CASE WHEN hash(k * 13) % 100 = 0 THEN 500 ELSE 200 END, ${latency}, false
            FROM range(${REQUESTS}) t(k) ${where}`;
}

async function createStore(file, nodeIndex, until) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  for (const sql of CREATE_TABLE_STATEMENTS) await connection.run(sql);
  await connection.run(insertSql('client', nodeIndex, until));
  await connection.run(insertSql('server', nodeIndex, until));
  const rows = (await connection.runAndReadAll('SELECT count(*) FROM http_events')).getRowsJS()[0][0];
  await connection.run('CHECKPOINT');
  connection.closeSync();
  instance.closeSync();
  return Number(rows);
}

const work = tempDir('loupe-fanout-');
const until = new Date().toISOString().replace('T', ' ').replace('Z', '');
const started = performance.now();
const rowsPerNode = [];
for (const [i, node] of NODES.entries()) {
  rowsPerNode.push(await createStore(path.join(work.dir, node, storeFileName(node)), i, until));
}
const baselineFile = path.join(work.dir, 'baseline.duckdb');
const baselineRows = await createStore(baselineFile, null, until);
console.log(
  `generated: ${rowsPerNode.join(' + ')} rows on the nodes, ${baselineRows} in the baseline, ` +
    `${fmt.n((performance.now() - started) / 1000, 1)} s`,
);

// Collectors capture nothing: each is scoped to an empty namespace of its own.
const netns = await createNetns(`loupe-bench-${process.pid}`);

const brokerPort = await freePort();
const brokerUrl = `http://127.0.0.1:${brokerPort}`;
const broker = startProcess('node', [
  loupeBin,
  'broker',
  '--port',
  String(brokerPort),
  '--query-timeout',
  '60s',
]);
await broker.waitForLine(/ready/);
const collectors = [];
for (const node of NODES) {
  const port = await freePort();
  const collector = startProcess('node', [
    loupeBin,
    'collector',
    ...['--port', String(port), '--data-dir', path.join(work.dir, node), '--name', node],
    ...['--netns', netns.path, '--broker', brokerUrl, '--retention-age', '30d'],
  ]);
  collectors.push(collector);
}
for (const collector of collectors) await collector.waitForLine(/ready/, 60_000);
for (let up = 0; up < 3;) {
  await sleep(200);
  up = (await httpJson('GET', `${brokerUrl}/api/v1/nodes`)).nodes.filter((n) => n.state === 'up').length;
}

const scripts = await ScriptLibrary.loadBundled();
const { sql, params } = scripts.resolve('service_map', {});
const baselineInstance = await DuckDBInstance.create(baselineFile, { access_mode: 'READ_ONLY' });
const baseline = await QueryRunner.create(baselineInstance, { timeoutMs: 120_000 });
const inlined = sql.replace(
  /\$([a-z_]+)/g,
  (_, name) => `CAST('${params[name].text}' AS ${params[name].type})`,
);

/** The broker's Prometheus text. */
function metricsText() {
  return new Promise((resolve, reject) => {
    http
      .get(`${brokerUrl}/metrics`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

async function bytesReceived() {
  const text = await metricsText();
  return Number(/^loupe_broker_bytes_received_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function distributedOnce() {
  const before = await bytesReceived();
  const t0 = performance.now();
  const answer = await httpJson('POST', `${brokerUrl}/api/v1/query`, { script: 'service_map' }, 120_000);
  const ms = performance.now() - t0;
  if (!answer.nodes.every((node) => node.ok))
    throw new Error(`partial answer: ${JSON.stringify(answer.nodes)}`);
  return {
    ms,
    rows: answer.rows,
    bytes: (await bytesReceived()) - before,
    shipped: answer.nodes,
    timings: answer.timings,
  };
}

async function baselineOnce() {
  const t0 = performance.now();
  const result = await baseline.run(inlined);
  return { ms: performance.now() - t0, rows: result.rows };
}

const warmDistributed = await distributedOnce();
const warmBaseline = await baselineOnce();
const same = JSON.stringify(warmDistributed.rows) === JSON.stringify(warmBaseline.rows);
console.log(`answers equal: ${same} (${warmDistributed.rows.length} edges)`);
console.log(
  `first run (plan not cached yet): distributed ${fmt.n(warmDistributed.ms)} ms ` +
    `(plan ${fmt.n(warmDistributed.timings.planMs)}), one DuckDB ${fmt.n(warmBaseline.ms)} ms`,
);
console.log(`rows each node sent: ${warmDistributed.shipped.map((n) => `${n.name}=${n.rows}`).join(', ')}`);

const distributedMs = [];
const baselineMs = [];
const bytes = [];
for (let round = 0; round < ROUNDS; round++) {
  const d = await distributedOnce();
  const b = await baselineOnce();
  distributedMs.push(d.ms);
  baselineMs.push(b.ms);
  bytes.push(d.bytes);
  const { planMs, fanOutMs, mergeMs } = d.timings;
  console.log(
    `round ${round + 1}: distributed ${fmt.n(d.ms)} ms (plan ${fmt.n(planMs)}, nodes ${fmt.n(fanOutMs)}, ` +
      `merge ${fmt.n(mergeMs)}), one DuckDB ${fmt.n(b.ms)} ms, ${fmt.mib(d.bytes)} received`,
  );
}

const ratio = median(distributedMs) / median(baselineMs);
console.log(
  `RESULT query-fanout rows=${baselineRows} (3 nodes) script=service_map distributed_ms=${fmt.n(median(distributedMs))} ` +
    `single_ms=${fmt.n(median(baselineMs))} ratio=${fmt.r(ratio)} (target <= 1.5) ` +
    `bytes_per_query=${median(bytes)} (${fmt.mib(median(bytes))} of ${fmt.n((2 * REQUESTS) / 1e6, 1)}M rows) ` +
    `first_run_ms=${fmt.n(warmDistributed.ms)} equal=${same}`,
);

baselineInstance.closeSync();
for (const collector of collectors) await collector.stop();
await broker.stop();
netns.remove();
work.remove();
process.exit(same ? 0 : 1);
