/**
 * What capture costs a busy server (target: throughput with the collector ≥ 0.85 of without).
 *
 * nginx (one worker, no access log, `location = /small { return 200 "ok"; }`) on loopback, driven at saturation
 * by `wrk -t1 -c16 -d5s --latency`, alternately without and with `loupe up` running (off/on, ROUNDS rounds, each
 * run after a 1 s wrk warm-up; every other round runs off last). wrk and nginx share the two cores with the
 * collector, as on a real node.
 * Prints per-round figures and the ratios (on/off) of the medians: requests/s, p50 and p99 latency. For the on
 * runs it also reports how much of the traffic the collector stored, its drops and its CPU.
 *
 * A third run per round splits the cost: the same wrk run with the collector process stopped (SIGSTOP), so that
 * only the kernel side works — the BPF programs run in nginx's and wrk's syscalls, fill the ring buffer and then
 * count the rest as dropped. Its ratio is an upper bound of what capture could reach with a free user space (a full
 * ring is cheaper than a delivered record); the gap down to the `on` ratio is what the collector's CPU costs.
 *
 * With --cpu-limit CORES the collector runs with that limit (`loupe up --cpu-limit`): above it, the kernel side
 * sheds whole requests with their responses before any copy (counted per side), which trades captured requests
 * for the server's throughput. The server rows stored plus the server-side requests shed then account for every
 * request nginx served.
 * With --nice N the collector runs at that nice value (`loupe up --nice`), below the traced server.
 *
 * With --client-node wrk runs in a network namespace of its own, standing for another node (startClientNode in
 * lib.mjs), and the collector captures only this namespace: only nginx's end of each request is captured, as on
 * the node of a server whose clients are elsewhere. Without it both ends are captured, as when client and server
 * share a node. wrk still shares the two cores either way, and its syscalls still run the BPF programs (which
 * stop at the connection's namespace); the off runs use the same path, a veth pair instead of loopback.
 *
 * Usage: node bench/nginx-overhead.mjs [--rounds 3] [--duration 5s] [--connections 16] [--cpu-limit CORES] [--nice N]
 *        [--client-node]
 */
import console from 'node:console';
import process from 'node:process';
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
  median,
  requireRoot,
  runCommand,
  startLoupe,
  startClientNode,
  startNginx,
  waitForCount,
  waitForQuietMachine,
  warnIfForeignCollectors,
} from './lib.mjs';

const TARGET_RATIO = 0.85;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5s' },
    connections: { type: 'string', default: '16' },
    'cpu-limit': { type: 'string' },
    nice: { type: 'string' },
    'client-node': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const cpuLimit = values['cpu-limit'];
const loupeArgs = [
  ...(cpuLimit === undefined ? [] : ['--cpu-limit', cpuLimit]),
  ...(values.nice === undefined ? [] : ['--nice', values.nice]),
];

requireRoot();
header(
  `nginx throughput and latency with and without the collector (wrk -t1 -c${values.connections} -d${values.duration})` +
    (cpuLimit === undefined ? '' : `, collector limited to ${cpuLimit} cores`) +
    (values['client-node'] ? ', wrk on another node (its own network namespace): server end only' : ''),
);
const clientNode = values['client-node'] ? await startClientNode() : undefined;
if (clientNode !== undefined) loupeArgs.push('--netns', clientNode.hostNetns);

/** wrk's "123.45us" / "1.20ms" / "2.00s" to microseconds. */
function toUs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * { us: 1, ms: 1e3, s: 1e6 }[m[2]];
}

function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p50 = toUs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = toUs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? '';
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`);
  return { rps, requests, p50, p99, errors };
}

async function wrk(url, duration) {
  const args = ['-t1', `-c${values.connections}`, `-d${duration}`, '--latency', url];
  const [command, commandArgs] = clientNode?.command('wrk', args) ?? ['wrk', args];
  return parseWrk(await runCommand(command, commandArgs, 60_000));
}

const port = await freePort();
const nginx = await startNginx(port, undefined, clientNode?.serverAddress);
const url = `http://${clientNode?.serverAddress ?? '127.0.0.1'}:${port}/small`;
const off = [];
const on = [];
const kernelOnly = [];
let loupe;
try {
  const withoutCollector = async (round) => {
    await wrk(`${url}?warmup`, '1s');
    const meterOff = foreignCpuMeter(`round ${round} off`);
    const a = await wrk(url, values.duration);
    a.others = meterOff.stop();
    off.push(a);
    console.log(
      `round ${round} off: ${fmt.n(a.rps)} req/s, p50 ${fmt.n(a.p50, 1)} µs, p99 ${fmt.n(a.p99, 1)} µs ${a.errors}` +
        `| other processes ${a.others.toFixed(2)} cores`,
    );
  };
  for (let round = 1; round <= rounds; round++) {
    await waitForQuietMachine({ maxWaitMs: round === 1 ? 15_000 : 8_000 });
    // Every other round runs without the collector last, so that a run's place in the round does not pass for
    // the collector's cost.
    if (round % 2 === 1) await withoutCollector(round);

    loupe = await startLoupe(`bench-overhead-${round}`, loupeArgs);
    warnIfForeignCollectors([loupe.pid]);
    await wrk(`${url}?warmup`, '1s');
    process.kill(loupe.pid, 'SIGSTOP');
    let k;
    try {
      k = await wrk(`${url}?collector-stopped`, values.duration);
    } finally {
      process.kill(loupe.pid, 'SIGCONT');
    }
    kernelOnly.push(k);
    console.log(
      `round ${round} kernel side only (collector stopped): ${fmt.n(k.rps)} req/s, p50 ${fmt.n(k.p50, 1)} µs, ` +
        `p99 ${fmt.n(k.p99, 1)} µs ${k.errors}`,
    );
    // Let the collector take in what the ring held before the measured run.
    await waitForCount(
      loupe,
      `SELECT count(*) AS n FROM http_events WHERE req_path = '/small?collector-stopped' AND role = 'server'`,
      k.requests,
      { quietMs: 2_000, timeoutMs: 15_000 },
    );
    const status0 = await loupe.status();
    const meterOn = foreignCpuMeter(`round ${round} on`);
    const cpu0 = cpuSeconds(loupe.pid);
    const t0 = performance.now();
    const b = await wrk(url, values.duration);
    warnIfForeignCollectors([loupe.pid]);
    const used = cpuDelta(cpu0, cpuSeconds(loupe.pid));
    const seconds = (performance.now() - t0) / 1000;
    const cores = used.total / seconds;
    b.others = meterOn.stop();
    // The measured run has its own path (the warm-up used ?warmup); the collector may still be behind.
    const stored = await waitForCount(
      loupe,
      `SELECT count(*) AS n FROM http_events WHERE req_path = '/small' AND local_port = ${port} AND role = 'server'`,
      b.requests,
      { quietMs: 3_000, timeoutMs: 25_000 },
    );
    const status1 = await loupe.status();
    b.stored = stored.n;
    b.drops = status1.drops - status0.drops;
    const shedServer = (status) => status.dropsByReason?.cpu_limit_server ?? 0;
    b.shed = shedServer(status1) - shedServer(status0);
    b.cores = cores;
    on.push(b);
    console.log(
      `round ${round} on:  ${fmt.n(b.rps)} req/s, p50 ${fmt.n(b.p50, 1)} µs, p99 ${fmt.n(b.p99, 1)} µs ${b.errors}` +
        `| other processes ${b.others.toFixed(2)} cores ` +
        `| collector ${cores.toFixed(2)} cores (system ${(used.system / seconds).toFixed(2)}), stored ${b.stored} server rows of ~${b.requests} requests ` +
        `(${fmt.r(b.stored / b.requests)}; wrk counts only completed ones), drops ${b.drops}, of which ` +
        `${b.shed} requests shed on the server side (stored + shed: ${b.stored + b.shed})` +
        `${stored.timedOut ? ', store still behind after 25 s' : ''}`,
    );
    await loupe.stop();
    loupe = undefined;
    if (round % 2 === 0) await withoutCollector(round);
  }

  const m = (runs, key) => median(runs.map((r) => r[key]));
  const throughput = m(on, 'rps') / m(off, 'rps');
  console.log('');
  console.log(
    `medians off: ${fmt.n(m(off, 'rps'))} req/s, p50 ${fmt.n(m(off, 'p50'), 1)} µs, p99 ${fmt.n(m(off, 'p99'), 1)} µs`,
  );
  console.log(
    `medians on:  ${fmt.n(m(on, 'rps'))} req/s, p50 ${fmt.n(m(on, 'p50'), 1)} µs, p99 ${fmt.n(m(on, 'p99'), 1)} µs`,
  );
  console.log(`per-round throughput ratios: ${on.map((r, i) => fmt.r(r.rps / off[i].rps)).join(', ')}`);
  const kernelRatio = m(kernelOnly, 'rps') / m(off, 'rps');
  console.log(
    `kernel side only (collector stopped): ${fmt.n(m(kernelOnly, 'rps'))} req/s, throughput ratio ${fmt.r(kernelRatio)}; ` +
      `per round ${kernelOnly.map((r, i) => fmt.r(r.rps / off[i].rps)).join(', ')}`,
  );
  console.log(
    `RATIO throughput on/off ${fmt.r(throughput)} (target ≥ ${TARGET_RATIO}: ${throughput >= TARGET_RATIO ? 'met' : 'MISSED'}), ` +
      `p50 latency on/off ${fmt.r(m(on, 'p50') / m(off, 'p50'))}, p99 latency on/off ${fmt.r(m(on, 'p99') / m(off, 'p99'))}`,
  );
  console.log(
    `RESULT nginx-overhead rps_off=${fmt.n(m(off, 'rps'))} rps_on=${fmt.n(m(on, 'rps'))} ` +
      `throughput_ratio=${fmt.r(throughput)} p50_ratio=${fmt.r(m(on, 'p50') / m(off, 'p50'))} ` +
      `p99_ratio=${fmt.r(m(on, 'p99') / m(off, 'p99'))} stored_ratio=${fmt.r(m(on, 'stored') / m(on, 'requests'))} ` +
      `kernel_only_ratio=${fmt.r(kernelRatio)} cpu_limit=${cpuLimit ?? 'none'} nice=${values.nice ?? 0} ` +
      `ends=${clientNode === undefined ? 'both' : 'server'} ` +
      `collector_cores=${fmt.r(m(on, 'cores'))} noisy=${noise.noisy}`,
  );
} finally {
  await loupe?.stop();
  await nginx.stop();
  clientNode?.remove();
}
