/**
 * Collector CPU per captured request at a fixed request rate (target: ≤ 10 µs per request).
 *
 * nginx (one worker) serves a fixed reply; bench/load-client.mjs sends RATE requests/s for DURATION over
 * keep-alive connections. The collector's cost has two parts:
 *   - user space: user+sys CPU of the `loupe up` process (/proc/PID/stat), from the start of the load until the
 *     store has taken every row in, minus what the collector burns without traffic over the same time and what
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
 * Side-by-side baseline: the same load without the collector, first; nginx's own CPU per request with and
 * without the collector shows what the traced server pays (the BPF programs run in its syscalls).
 *
 * The load lasts 20 s by default: the store compresses a row group every 16,384 rows (8,192 requests captured on
 * both ends), and a shorter window holds too few of them for the figure to settle (at 2,000/s, 5 s windows gave
 * 54–72 µs per request, 20 s windows 45–52).
 *
 * Usage: node bench/collector-cpu.mjs [--rate 2000] [--duration-ms 20000] [--connections 16] [--client-node]
 */
import console from 'node:console';
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
  waitForCount,
  waitForQuietMachine,
  warnIfForeignCollectors,
} from './lib.mjs';

const TARGET_US = 10;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '20000' },
    connections: { type: 'string', default: '16' },
    'client-node': { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const durationMs = Number(values['duration-ms']);
const connections = Number(values.connections);

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
  // Warm the collector's JIT and store, then let it settle.
  await load('/r/warmup', 1000);
  const countSql = (urlPath) =>
    `SELECT count(*) AS n FROM http_events WHERE req_path = '${urlPath}' AND local_port = ${port} AND role = 'server'`;
  await waitForCount(loupe, countSql('/r/warmup'), Math.round(rate), { timeoutMs: 15_000 });

  // Idle collector, side by side: what it burns with no traffic (timers, stats), and what one of this bench's
  // count queries costs it, once the query path has been compiled by warm-up queries.
  await pollFor(loupe, countSql('/r/idle'), 2000);
  const idle0 = { cpu: cpuSeconds(loupe.pid), bpf: bpfRunTime(loupe.pid), t: performance.now() };
  await sleep(3000);
  const idle1 = { cpu: cpuSeconds(loupe.pid), bpf: bpfRunTime(loupe.pid), t: performance.now() };
  const idleSeconds = (idle1.t - idle0.t) / 1000;
  const idleCpuRate = cpuDelta(idle0.cpu, idle1.cpu).total / idleSeconds;
  const idleBpfRate = (idle1.bpf.runTimeNs - idle0.bpf.runTimeNs) / 1e9 / idleSeconds;
  const probeQueries = 10;
  const probe0 = { cpu: cpuSeconds(loupe.pid), t: performance.now() };
  for (let i = 0; i < probeQueries; i++) await loupe.query(countSql('/r/idle'));
  const probeCpu = cpuDelta(probe0.cpu, cpuSeconds(loupe.pid)).total;
  const probeSeconds = (performance.now() - probe0.t) / 1000;
  const queryCpu = Math.max(0, probeCpu - idleCpuRate * probeSeconds) / probeQueries;

  const before = {
    cpu: cpuSeconds(loupe.pid),
    bpf: bpfRunTime(loupe.pid),
    nginx: cpuSeconds(nginx.workerPid),
    t: performance.now(),
  };
  const meterOn = foreignCpuMeter('the measured run');
  const on = await load('/r/cpu', durationMs);
  const quiet = await waitForCount(loupe, countSql('/r/cpu'), on.sent, { timeoutMs: 30_000 });
  const after = {
    cpu: cpuSeconds(loupe.pid),
    bpf: bpfRunTime(loupe.pid),
    nginx: cpuSeconds(nginx.workerPid),
    t: performance.now(),
  };
  meterOn.stop();
  bpfStats.restore();
  bpfStats = undefined;
  warnIfForeignCollectors([loupe.pid]);

  const rows = await loupe.query(
    `SELECT role, count(*) AS n FROM http_events
      WHERE req_path = '/r/cpu' AND (local_port = ${port} OR remote_port = ${port}) GROUP BY role`,
  );
  const count = (role) => Number(rows.find((r) => r.role === role)?.n ?? 0);
  const serverRows = count('server');
  const clientRows = count('client');
  const status = await loupe.status();

  const windowS = (after.t - before.t) / 1000;
  const gross = cpuDelta(before.cpu, after.cpu);
  const netUser = Math.max(0, gross.total - idleCpuRate * windowS - queryCpu * quiet.queries);
  const bpfS = (after.bpf.runTimeNs - before.bpf.runTimeNs) / 1e9;
  const bpfRuns = after.bpf.runCount - before.bpf.runCount;
  const onNginx = cpuDelta(before.nginx, after.nginx);
  const perReq = (seconds) => (serverRows > 0 ? seconds / serverRows : NaN);
  const totalPerReq = perReq(netUser + bpfS);

  console.log(`nginx :${port}, loupe up pid ${loupe.pid}, ${after.bpf.programs} BPF programs`);
  console.log(
    `load: asked ${rate}/s, reached ${on.achievedRate}/s; sent ${on.sent}, answered ${on.completed}, ` +
      `failed ${on.failed}; client p50 ${on.p50us} µs, p99 ${on.p99us} µs (without collector: ${off.p50us} / ${off.p99us} µs)`,
  );
  console.log(
    `captured: ${serverRows} server rows, ${clientRows} client rows for ${on.sent} requests; ` +
      `collector drops so far ${status.drops}; all stored ${quiet.waitedMs} ms after the load${quiet.timedOut ? ' (TIMED OUT)' : ''}`,
  );
  console.log(
    `measured window ${windowS.toFixed(2)} s: collector CPU ${gross.total.toFixed(2)} s ` +
      `(user ${gross.user.toFixed(2)}, sys ${gross.system.toFixed(2)}), idle rate ${(idleCpuRate * 100).toFixed(1)}% ` +
      `of a core (BPF idle ${(idleBpfRate * 100).toFixed(2)}%), ${quiet.queries} count queries at ` +
      `${(queryCpu * 1000).toFixed(1)} ms each; BPF ${bpfS.toFixed(3)} s over ${bpfRuns} program runs ` +
      `(${(bpfRuns / Math.max(1, serverRows)).toFixed(1)} runs, ${((bpfS * 1e9) / Math.max(1, bpfRuns)).toFixed(0)} ns each)`,
  );
  console.log(`BPF programs taking the most time: ${topPrograms(before.bpf, after.bpf)}`);
  console.log('');
  console.log(`collector user space, gross      ${fmt.us(perReq(gross.total))} per request`);
  console.log(`collector user space, net        ${fmt.us(perReq(netUser))} per request`);
  console.log(`kernel BPF programs              ${fmt.us(perReq(bpfS))} per request`);
  console.log(
    `total (net user space + BPF)     ${fmt.us(totalPerReq)} per request, ` +
      `${fmt.us(perReq(netUser + bpfS) * (serverRows / Math.max(1, serverRows + clientRows)))} per captured record`,
  );
  console.log(
    `RATIO total / ${TARGET_US} µs target: ${fmt.r((totalPerReq * 1e6) / TARGET_US)} (≤ 1 meets it)`,
  );
  const nginxOff = offNginx.total / Math.max(1, off.completed);
  const nginxOn = onNginx.total / Math.max(1, on.completed);
  console.log(
    `baseline, nginx worker CPU per request: ${fmt.us(nginxOff)} without collector, ${fmt.us(nginxOn)} with ` +
      `(ratio ${fmt.r(nginxOn / nginxOff)}); collector total / nginx-without: ${fmt.r(totalPerReq / nginxOff)}`,
  );
  console.log(
    `RESULT collector-cpu rate=${on.achievedRate} user_us=${(perReq(netUser) * 1e6).toFixed(2)} ` +
      `bpf_us=${(perReq(bpfS) * 1e6).toFixed(2)} total_us=${(totalPerReq * 1e6).toFixed(2)} ` +
      `ratio_to_target=${fmt.r((totalPerReq * 1e6) / TARGET_US)} ends=${clientNode ? 'server' : 'both'} ` +
      `noisy=${noise.noisy}`,
  );
} finally {
  bpfStats?.restore();
  await loupe?.stop();
  await nginx.stop();
  clientNode?.remove();
}
