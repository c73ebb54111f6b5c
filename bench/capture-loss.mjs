/**
 * Captured rows against requests sent, at 5k and 20k requests/s for 5 s each (targets: no unaccounted loss,
 * collector RSS ≤ 256 MiB at 20k requests/s).
 *
 * nginx (one worker) serves a fixed reply; bench/load-client.mjs paces the requests over keep-alive connections,
 * one path per phase so each phase's rows are counted alone. For each phase:
 *   captured     = http_events rows with role='server' for the phase's path (nginx's side); the client's side
 *                  (role='client') is captured too and reported beside it;
 *   drops        = the collector's drop counter (GET /api/v1/status) after minus before the phase: rows the store
 *                  refused (store_rejected) and records lost before parsing (ring buffer, reader queue), each of
 *                  which can cost at most one row;
 *   missing      = 2 × sent − captured (server) − captured (client): rows of this phase not stored, both ends;
 *   unaccounted  = missing − drops: rows lost without the collector saying so (target: not above 0; exactly 0
 *                  when only the store refused rows);
 *   RSS          = max VmRSS of the `loupe up` process sampled every 200 ms during the phase and its drain,
 *                  against the 256 MiB target and against the idle collector's RSS (the side-by-side baseline).
 * At the end, collector_stats' sum(drops) (written every 10 s) is read once a sample after the last phase exists.
 *
 * Usage: node bench/capture-loss.mjs [--rates 5000,20000] [--duration-ms 5000]
 */
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  cpuDelta,
  cpuSeconds,
  fmt,
  foreignCpuMeter,
  freePort,
  header,
  noise,
  pacedLoad,
  requireRoot,
  sampleRss,
  sleep,
  startLoupe,
  startNginx,
  waitForCount,
  waitForQuietMachine,
  warnIfForeignCollectors,
} from './lib.mjs';

const RSS_TARGET = 256 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '5000,20000' },
    'duration-ms': { type: 'string', default: '5000' },
  },
});
const rates = values.rates.split(',').map(Number);
const durationMs = Number(values['duration-ms']);
/** Enough connections that the pace, not the round trip, sets the rate (latency grows under load). */
const connectionsFor = (rate) => Math.min(128, Math.max(16, Math.ceil(rate / 300)));

requireRoot();
header(`capture loss at ${rates.join(', ')} requests/s, ${durationMs} ms each`);

const port = await freePort();
const nginx = await startNginx(port, 'location /r/ { return 200 "ok"; }');
let loupe;
let rss;
const results = [];
try {
  await waitForQuietMachine();
  loupe = await startLoupe('bench-loss');
  warnIfForeignCollectors([loupe.pid]);
  rss = sampleRss(loupe.pid, 200);
  await sleep(1500);
  const idleRss = rss.max;
  const idleAnon = rss.maxAnon;
  console.log(
    `nginx :${port}, loupe up pid ${loupe.pid}, idle RSS ${fmt.mib(idleRss)} (anonymous ${fmt.mib(idleAnon)}; ` +
      'the rest is shared code and the BPF ring buffer, mapped twice)',
  );

  for (const rate of rates) {
    noise.noisy = false; // per phase
    await waitForQuietMachine({ ourPids: [loupe.pid], maxWaitMs: 10_000 });
    const urlPath = `/r/loss-${rate}`;
    const connections = connectionsFor(rate);
    const status0 = await loupe.status();
    const cpu0 = cpuSeconds(loupe.pid);
    const t0 = performance.now();
    rss.reset();
    const meter = foreignCpuMeter(`the ${rate}/s phase`);
    const load = await pacedLoad({ port, path: urlPath, rate, durationMs, connections });
    const loadEnd = performance.now();
    const cpuLoad = cpuDelta(cpu0, cpuSeconds(loupe.pid));
    const wait = await waitForCount(
      loupe,
      `SELECT count(*) AS n FROM http_events WHERE req_path = '${urlPath}' AND local_port = ${port} AND role = 'server'`,
      load.sent,
      { quietMs: 3_000, timeoutMs: 45_000 },
    );
    const status1 = await loupe.status();
    const cpuAll = cpuDelta(cpu0, cpuSeconds(loupe.pid));
    const others = meter.stop();
    const rows = await loupe.query(
      `SELECT role, count(*) AS n FROM http_events
        WHERE req_path = '${urlPath}' AND (local_port = ${port} OR remote_port = ${port}) GROUP BY role`,
    );
    const count = (role) => Number(rows.find((r) => r.role === role)?.n ?? 0);
    const result = {
      rate,
      load,
      server: count('server'),
      client: count('client'),
      drops: status1.drops - status0.drops,
      parseErrors: status1.parseErrors - status0.parseErrors,
      rssMax: rss.max,
      anonMax: rss.maxAnon,
      drainMs: wait.waitedMs,
      drainTimedOut: wait.timedOut,
      cpuCoresDuringLoad: cpuLoad.total / ((loadEnd - t0) / 1000),
      cpuSecondsTotal: cpuAll.total,
      others,
    };
    warnIfForeignCollectors([loupe.pid]);
    result.noisy = noise.noisy;
    result.missing = 2 * load.sent - result.server - result.client;
    result.unaccounted = result.missing - result.drops;
    result.storeRejected =
      (status1.dropsByReason?.store_rejected ?? 0) - (status0.dropsByReason?.store_rejected ?? 0);
    results.push(result);

    console.log(`\n--- ${rate} requests/s asked, ${connections} connections ---`);
    console.log(
      `load: reached ${load.achievedRate}/s (${fmt.r(load.achievedRate / rate)} of asked), sent ${load.sent}, ` +
        `answered ${load.completed}, failed ${load.failed}, max backlog ${load.maxBacklog}, ` +
        `client p50 ${load.p50us} µs p99 ${load.p99us} µs`,
    );
    console.log(
      `captured: server ${result.server} (${fmt.r(result.server / load.sent)} of sent), client ${result.client} ` +
        `(${fmt.r(result.client / load.sent)}); drops reported ${result.drops}, parse errors ${result.parseErrors}`,
    );
    console.log(
      `rows missing (both ends) ${result.missing}, drops ${result.drops} (of which refused by the store ` +
        `${result.storeRejected}); unaccounted = missing − drops = ${result.unaccounted}` +
        `${result.unaccounted <= 0 ? '' : '  <-- TARGET MISSED (must not be above 0)'}`,
    );
    console.log(
      `collector: ${result.cpuCoresDuringLoad.toFixed(2)} cores during the load, ${result.cpuSecondsTotal.toFixed(2)} ` +
        `CPU s in all (other processes: ${others.toFixed(2)} cores), rows stored ${result.drainMs} ms after the load ended${result.drainTimedOut ? ' (TIMED OUT)' : ''}`,
    );
    console.log(
      `RSS max ${fmt.mib(result.rssMax)} (anonymous ${fmt.mib(result.anonMax)}): ratio to 256 MiB target ${fmt.r(result.rssMax / RSS_TARGET)}, ` +
        `to idle RSS ${fmt.r(result.rssMax / idleRss)}`,
    );
  }

  // collector_stats gets a row every 10 s: wait (bounded) for one written after the last phase.
  const statsSql = `SELECT count(*) AS n, coalesce(sum(drops), 0) AS drops, coalesce(sum(parse_errors), 0) AS pe,
                           epoch_ms(max(time)) AS last FROM collector_stats`;
  const lastPhaseEnd = Date.now();
  let stats = (await loupe.query(statsSql))[0];
  const statsDeadline = Date.now() + 12_000;
  while (Number(stats.last ?? 0) < lastPhaseEnd && Date.now() < statsDeadline) {
    await sleep(500);
    stats = (await loupe.query(statsSql))[0];
  }
  const status = await loupe.status();
  console.log(
    `\ncollector_stats: ${stats.n} samples, sum(drops) ${stats.drops}, sum(parse_errors) ${stats.pe}` +
      `${Number(stats.last ?? 0) < lastPhaseEnd ? ' (no sample after the last phase yet)' : ''}; ` +
      `/api/v1/status: drops ${status.drops}, parseErrors ${status.parseErrors}`,
  );
  for (const r of results) {
    console.log(
      `RESULT capture-loss rate=${r.rate} reached=${r.load.achievedRate} sent=${r.load.sent} captured=${r.server} ` +
        `client_captured=${r.client} drops=${r.drops} unaccounted=${r.unaccounted} ` +
        `captured_ratio=${fmt.r(r.server / r.load.sent)} rss_mib=${(r.rssMax / 1048576).toFixed(1)} ` +
        `rss_ratio_to_target=${fmt.r(r.rssMax / RSS_TARGET)} noisy=${r.noisy}`,
    );
  }
} finally {
  rss?.stop();
  await loupe?.stop();
  await nginx.stop();
}
