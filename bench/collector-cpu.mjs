/**
 * Collector CPU per captured request at a fixed request rate (target: ≤ 10 µs per request).
 *
 * nginx (one worker) serves a fixed reply; bench/load-client.mjs sends RATE requests/s for DURATION over
 * keep-alive connections. The collector's cost has two parts:
 *   - user space: user+sys CPU of the `loupe up` process (its threads' schedstat), from the start of the load until
 *     the store has taken every row in, minus what the collector burns without traffic over the same time and what
 *     this bench's count queries cost it (each measured just before, once the query path is warm: a query costs
 *     the collector tens of ms, as much as hundreds of requests at 2,000/s);
 *   - kernel: run_time_ns of loupe's BPF programs (exit_*) with kernel.bpf_stats_enabled=1 (restored afterwards).
 *     This time is spent in the traced processes' syscalls, not in the collector.
 * Both are divided by the requests captured (http_events rows with role='server' for this load's path). The
 * client is on the same host, so its side of each request is captured too (role='client'): per request the
 * collector handles two records; the figure per record is printed as well. With --client-node the client runs in
 * a network namespace of its own, standing for another node (startClientNode in lib.mjs), and the collector
 * captures only the server's namespace: one record per request, as on a server whose clients are elsewhere.
 *
 * Side-by-side baselines: the same load without the collector, first; nginx's own CPU per request with and
 * without the collector shows what the traced server pays (the BPF programs run in its syscalls). And, once the
 * collector has stopped, the rows it stored for the measured windows copied into a fresh file by DuckDB alone
 * (duckdb-alone.mjs): what taking these very rows in costs with no JavaScript per row, the floor under any store
 * on DuckDB's tables.
 *
 * Each window also shows where the collector's CPU went (gross, from each thread's schedstat): its JavaScript
 * thread, the reader thread that drains the ring buffer, and the rest (libuv's pool, where DuckDB commits); and its
 * minor page faults per request, which on a virtual machine can cost more than 10 µs each.
 *
 * The collector is first warmed up (--warmup-ms, 6 s by default, at the same rate): V8 compiles the capture path
 * in the first seconds of traffic, about a tenth of a second of CPU that a collector running for days does not
 * pay again (sampled with perf: half of the first two seconds' CPU, a twentieth after six). Then --runs windows
 * (3 by default) of --duration-ms each, one after the other, each with a path of its own; the figure is their
 * median. Each window lasts 20 s by default: the store compresses a row group every 16,384 rows (8,192 requests
 * captured on both ends), and a shorter window holds too few of them for the figure to settle (at 2,000/s, 5 s
 * windows gave 54–72 µs per request, 20 s windows 45–52).
 *
 * Usage: node bench/collector-cpu.mjs [--rate 2000] [--duration-ms 20000] [--connections 16] [--client-node]
 *        [--warmup-ms 6000] [--runs 3] [--idle-ms 10000]
 */
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  bpfRunTime,
  cpuDelta,
  cpuSeconds,
  enableBpfStats,
  fmt,
  foreignCpuMeter,
  freePort,
  header,
  noise,
  pacedLoad,
  requireRoot,
  startLoupe,
  startNginx,
  topPrograms,
  pollFor,
  startClientNode,
  sleep,
  threadDelta,
  threadStats,
  waitForCount,
  waitForQuietMachine,
  warnIfForeignCollectors,
} from './lib.mjs';
import { copyWithDuckDbAlone } from './duckdb-alone.mjs';

const TARGET_US = 10;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '20000' },
    connections: { type: 'string', default: '16' },
    'client-node': { type: 'boolean', default: false },
    'warmup-ms': { type: 'string', default: '6000' },
    runs: { type: 'string', default: '3' },
    'idle-ms': { type: 'string', default: '10000' },
  },
});
const rate = Number(values.rate);
const durationMs = Number(values['duration-ms']);
const connections = Number(values.connections);
const warmupMs = Number(values['warmup-ms']);
const runs = Math.max(1, Number(values.runs));
const idleMs = Number(values['idle-ms']);
/** CPU seconds of all the collector's threads, from schedstat (ns): /proc/PID/stat counts 10 ms clock ticks, as
 * much as a third of what an idle collector burns in a few seconds. */
const threadSeconds = (pid) => [...threadStats(pid).values()].reduce((sum, t) => sum + t.cpuNs, 0) / 1e9;

requireRoot();
header(
  `collector CPU per request at ${rate} requests/s for ${durationMs} ms` +
    (values['client-node'] ? ', client on another node (its own network namespace): server end only' : ''),
);

const clientNode = values['client-node'] ? await startClientNode() : undefined;
const port = await freePort();
const nginx = await startNginx(port, 'location /r/ { return 200 "ok"; }', clientNode?.serverAddress);
const load = (urlPath, ms) =>
  pacedLoad({ port, path: urlPath, rate, durationMs: ms, connections, clientNode });
let loupe;
let bpfStats;
try {
  await waitForQuietMachine();

  // Baseline: the same load, no collector.
  await load('/r/warmup', 1000);
  const offNginx0 = cpuSeconds(nginx.workerPid);
  const meterOff = foreignCpuMeter('the run without collector');
  const off = await load('/r/off', durationMs);
  meterOff.stop();
  const offNginx = cpuDelta(offNginx0, cpuSeconds(nginx.workerPid));

  loupe = await startLoupe('bench-cpu', clientNode ? ['--netns', clientNode.hostNetns] : []);
  warnIfForeignCollectors([loupe.pid]);
  bpfStats = enableBpfStats();
  // Warm the collector up, then let it settle: V8 compiles the capture path's code in the first seconds of
  // traffic (on this thread: the launchers pass --single-threaded), about a tenth of a second of CPU that a
  // collector running for days does not pay again.
  await load('/r/warmup', warmupMs);
  const countSql = (urlPath) =>
    `SELECT count(*) AS n FROM http_events WHERE req_path = '${urlPath}' AND local_port = ${port} AND role = 'server'`;
  await waitForCount(loupe, countSql('/r/warmup'), Math.round((rate * warmupMs) / 1000), {
    timeoutMs: 30_000,
  });

  // Idle collector, side by side: what it burns with no traffic (timers, stats), and what one of this bench's
  // count queries costs it, once the query path has been compiled by warm-up queries.
  // The idle rate is taken over --idle-ms (10 s): over 3 s, as it was, its own spread (a few ms of CPU either way)
  // moved the figure per request by a µs or more.
  await pollFor(loupe, countSql('/r/idle'), 2000);
  const idle0 = { cpu: threadSeconds(loupe.pid), bpf: bpfRunTime(loupe.pid), t: performance.now() };
  await sleep(idleMs);
  const idle1 = { cpu: threadSeconds(loupe.pid), bpf: bpfRunTime(loupe.pid), t: performance.now() };
  const idleSeconds = (idle1.t - idle0.t) / 1000;
  const idleCpuRate = (idle1.cpu - idle0.cpu) / idleSeconds;
  const idleBpfRate = (idle1.bpf.runTimeNs - idle0.bpf.runTimeNs) / 1e9 / idleSeconds;
  const probeQueries = 10;
  const probe0 = { cpu: threadSeconds(loupe.pid), t: performance.now() };
  for (let i = 0; i < probeQueries; i++) await loupe.query(countSql('/r/idle'));
  const probeCpu = threadSeconds(loupe.pid) - probe0.cpu;
  const probeSeconds = (performance.now() - probe0.t) / 1000;
  const queryCpu = Math.max(0, probeCpu - idleCpuRate * probeSeconds) / probeQueries;

  // The measured windows, one after the other on the same collector; each its own path, so that its rows are
  // counted alone. The figure is their median: on this kind of machine one window can differ from the next by a
  // quarter.
  const snapshot = () => ({
    cpu: cpuSeconds(loupe.pid),
    threads: threadStats(loupe.pid),
    bpf: bpfRunTime(loupe.pid),
    nginx: cpuSeconds(nginx.workerPid),
    t: performance.now(),
  });
  const windows = [];
  for (let w = 0; w < runs; w++) {
    const urlPath = `/r/cpu${w}`;
    const before = snapshot();
    const meterOn = foreignCpuMeter(`measured window ${w + 1}`);
    const on = await load(urlPath, durationMs);
    const quiet = await waitForCount(loupe, countSql(urlPath), on.sent, { timeoutMs: 30_000 });
    const after = snapshot();
    meterOn.stop();
    const rows = await loupe.query(
      `SELECT role, count(*) AS n FROM http_events
        WHERE req_path = '${urlPath}' AND (local_port = ${port} OR remote_port = ${port}) GROUP BY role`,
    );
    const count = (role) => Number(rows.find((r) => r.role === role)?.n ?? 0);
    const serverRows = count('server');
    const clientRows = count('client');
    const windowS = (after.t - before.t) / 1000;
    const gross = cpuDelta(before.cpu, after.cpu);
    const threads = threadDelta(loupe.pid, before.threads, after.threads, 'loupe-reader');
    const grossS = threads.javascript + threads.named + threads.other;
    const netUser = Math.max(0, grossS - idleCpuRate * windowS - queryCpu * quiet.queries);
    const bpfS = (after.bpf.runTimeNs - before.bpf.runTimeNs) / 1e9;
    const bpfRuns = after.bpf.runCount - before.bpf.runCount;
    const perReq = (seconds) => (serverRows > 0 ? seconds / serverRows : NaN);
    const total = perReq(netUser + bpfS);
    windows.push({
      on,
      before,
      after,
      serverRows,
      clientRows,
      gross,
      grossS,
      netUser,
      bpfS,
      perReq,
      total,
      threads,
    });
    console.log(
      `window ${w + 1}: reached ${on.achievedRate}/s, ${serverRows} server + ${clientRows} client rows for ` +
        `${on.sent} requests, stored ${quiet.waitedMs} ms after the load${quiet.timedOut ? ' (TIMED OUT)' : ''}; ` +
        `CPU ${gross.total.toFixed(2)} s (user ${gross.user.toFixed(2)}, sys ${gross.system.toFixed(2)}) in ` +
        `${windowS.toFixed(2)} s, ${quiet.queries} count queries; per request: net user space ` +
        `${fmt.us(perReq(netUser))}, BPF ${fmt.us(perReq(bpfS))} (${(bpfRuns / Math.max(1, serverRows)).toFixed(1)} ` +
        `runs, ${((bpfS * 1e9) / Math.max(1, bpfRuns)).toFixed(0)} ns each), total ${fmt.us(total)}`,
    );
    console.log(
      `  by thread, gross per request: JavaScript ${fmt.us(perReq(threads.javascript))}, reader ` +
        `${fmt.us(perReq(threads.named))}, others ${fmt.us(perReq(threads.other))}; ` +
        `${(threads.faults / Math.max(1, serverRows)).toFixed(3)} page faults per request`,
    );
  }
  bpfStats.restore();
  bpfStats = undefined;
  warnIfForeignCollectors([loupe.pid]);
  const status = await loupe.status();
  const mid = [...windows].sort((a, b) => a.total - b.total)[Math.floor(windows.length / 2)];
  const first = windows[0];
  const last = windows.at(-1);

  // Side by side: the rows the collector stored for the measured windows, taken in by DuckDB alone.
  await loupe.stop({ keepData: true });
  const storeFile = fs
    .readdirSync(loupe.dataDir)
    .filter((f) => f.endsWith('.duckdb'))
    .map((f) => path.join(loupe.dataDir, f))[0];
  const measuredPaths = windows.map((_, w) => `'/r/cpu${w}'`).join(', ');
  const alone = await copyWithDuckDbAlone({
    sourceFile: storeFile,
    selections: [{ table: 'http_events', where: `req_path IN (${measuredPaths})` }],
    dir: path.join(loupe.dataDir, 'duckdb-alone'),
  });
  loupe.removeData();
  loupe = undefined;
  const measuredRequests = windows.reduce((n, x) => n + x.serverRows, 0);
  const alonePerReq = alone.cpuS / Math.max(1, measuredRequests);

  console.log('');
  console.log(`nginx :${port}, ${last.after.bpf.programs} BPF programs; collector drops ${status.drops}`);
  console.log(
    `client p50 ${mid.on.p50us} µs, p99 ${mid.on.p99us} µs in the median window (without collector: ` +
      `${off.p50us} / ${off.p99us} µs); idle rate ${(idleCpuRate * 100).toFixed(1)}% of a core (BPF idle ` +
      `${(idleBpfRate * 100).toFixed(2)}%), a count query ${(queryCpu * 1000).toFixed(1)} ms`,
  );
  console.log(`BPF programs taking the most time: ${topPrograms(first.before.bpf, last.after.bpf)}`);
  console.log('');
  console.log(`median of ${windows.length} windows (window ${windows.indexOf(mid) + 1}):`);
  console.log(`collector user space, gross      ${fmt.us(mid.perReq(mid.grossS))} per request`);
  console.log(`collector user space, net        ${fmt.us(mid.perReq(mid.netUser))} per request`);
  console.log(`kernel BPF programs              ${fmt.us(mid.perReq(mid.bpfS))} per request`);
  console.log(
    `total (net user space + BPF)     ${fmt.us(mid.total)} per request, ` +
      `${fmt.us(mid.total * (mid.serverRows / Math.max(1, mid.serverRows + mid.clientRows)))} per captured record`,
  );
  console.log(
    `DuckDB alone, the same rows      ${fmt.us(alonePerReq)} per request (${alone.rows.http_events} rows of ` +
      `${measuredRequests} requests copied in ${alone.cpuS.toFixed(2)} CPU s): the floor under a store on DuckDB`,
  );
  console.log(`RATIO total / ${TARGET_US} µs target: ${fmt.r((mid.total * 1e6) / TARGET_US)} (≤ 1 meets it)`);
  console.log(
    `RATIO net user space / DuckDB alone: ${fmt.r(mid.perReq(mid.netUser) / alonePerReq)} ` +
      `(what the collector spends against what storing its rows costs at the least)`,
  );
  const nginxOff = offNginx.total / Math.max(1, off.completed);
  const nginxOn = cpuDelta(mid.before.nginx, mid.after.nginx).total / Math.max(1, mid.on.completed);
  console.log(
    `baseline, nginx worker CPU per request: ${fmt.us(nginxOff)} without collector, ${fmt.us(nginxOn)} with ` +
      `(ratio ${fmt.r(nginxOn / nginxOff)}); collector total / nginx-without: ${fmt.r(mid.total / nginxOff)}`,
  );
  const us = (seconds) => (seconds * 1e6).toFixed(2);
  console.log(
    `RESULT collector-cpu rate=${mid.on.achievedRate} user_us=${us(mid.perReq(mid.netUser))} ` +
      `bpf_us=${us(mid.perReq(mid.bpfS))} total_us=${us(mid.total)} ` +
      `windows_total_us=${windows.map((x) => us(x.total)).join(',')} duckdb_alone_us=${us(alonePerReq)} ` +
      `js_thread_us=${us(mid.perReq(mid.threads.javascript))} reader_us=${us(mid.perReq(mid.threads.named))} ` +
      `faults_per_req=${(mid.threads.faults / Math.max(1, mid.serverRows)).toFixed(3)} ` +
      `ratio_to_target=${fmt.r((mid.total * 1e6) / TARGET_US)} ends=${clientNode ? 'server' : 'both'} ` +
      `noisy=${noise.noisy}`,
  );
} finally {
  bpfStats?.restore();
  await loupe?.stop();
  await nginx.stop();
  clientNode?.remove();
}
