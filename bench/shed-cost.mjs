/**
 * What a shed exchange costs the traced process, against an admitted one and against no capture at all.
 *
 * bench/syscall-pingpong.c runs N request/response exchanges over one loopback TCP connection in one thread (4
 * syscalls that move data per exchange, both ends captured as HTTP). Each round runs it without capture, then
 * under the capture addon with an allowance of 0 exchanges (everything shed in the kernel, as under a CPU limit
 * the collector is far above), then under the addon admitting everything (the records are read and discarded, so
 * that user space costs next to nothing). It prints the wall time per exchange and the run time of the BPF
 * programs per exchange (kernel.bpf_stats_enabled=1, restored afterwards; it adds a little to each run).
 *
 * Usage: node bench/shed-cost.mjs [--exchanges 100000] [--rounds 3]
 */
import console from 'node:console';
import path from 'node:path';
import { enableBpfStats, fmt, median, noise, pingpongBench, repoRoot, waitForQuietMachine } from './lib.mjs';

const pp = await pingpongBench(
  (exchanges, rounds) => `shed cost: ${exchanges} loopback exchanges per run, ${rounds} rounds`,
);
const { exchanges, rounds } = pp;
const { SocketCapture } = await import(
  path.join(repoRoot, 'node-collector/dist/src/capture/socket-capture.js')
);
const pingpong = async () => (await pp.run()).exchange;

/** One run under the capture addon; `allowance` 0 sheds every exchange, -1 admits every one. */
async function captured(allowance) {
  const capture = new SocketCapture({ ringBytes: 4 << 20 });
  try {
    capture.start(
      () => undefined,
      () => undefined,
    );
    capture.setExchangeAllowance(allowance);
    await pingpong(); // the connection table and caches warm up
    const bpf = () =>
      capture.programs().reduce((sum, p) => ({ ns: sum.ns + p.runTimeNs, runs: sum.runs + p.runCount }), {
        ns: 0,
        runs: 0,
      });
    const before = bpf();
    const ns = await pingpong();
    const after = bpf();
    const shed = capture.counters().drops;
    return {
      ns,
      bpfNs: (after.ns - before.ns) / exchanges,
      runs: (after.runs - before.runs) / exchanges,
      shed: (shed['cpu_limit_client'] ?? 0) + (shed['cpu_limit_server'] ?? 0),
    };
  } finally {
    capture.close();
  }
}

const off = [];
const shed = [];
const admitted = [];
const stats = enableBpfStats();
try {
  await waitForQuietMachine();
  await pingpong();
  for (let round = 1; round <= rounds; round++) {
    off.push(await pingpong());
    shed.push(await captured(0));
    admitted.push(await captured(-1));
    const s = shed[round - 1];
    const a = admitted[round - 1];
    console.log(
      `round ${round}: ${fmt.n(off[round - 1], 0)} ns per exchange without capture, ${fmt.n(s.ns, 0)} shedding ` +
        `(BPF ${fmt.n(s.bpfNs, 0)} ns over ${s.runs.toFixed(1)} runs; ${s.shed} exchanges shed), ` +
        `${fmt.n(a.ns, 0)} admitting (BPF ${fmt.n(a.bpfNs, 0)} ns)`,
    );
  }
} finally {
  stats.restore();
  pp.remove();
}

const offNs = median(off);
const m = (runs, key) => median(runs.map((r) => r[key]));
console.log('');
console.log(
  `medians per exchange: ${fmt.n(offNs, 0)} ns without capture; shedding ${fmt.n(m(shed, 'ns'), 0)} ` +
    `(+${fmt.n(m(shed, 'ns') - offNs, 0)}, BPF ${fmt.n(m(shed, 'bpfNs'), 0)}); admitting ${fmt.n(m(admitted, 'ns'), 0)} ` +
    `(+${fmt.n(m(admitted, 'ns') - offNs, 0)}, BPF ${fmt.n(m(admitted, 'bpfNs'), 0)})`,
);
console.log(
  `RESULT shed-cost off_ns=${offNs.toFixed(0)} shed_ns=${m(shed, 'ns').toFixed(0)} ` +
    `admitted_ns=${m(admitted, 'ns').toFixed(0)} shed_ratio=${fmt.r(m(shed, 'ns') / offNs)} ` +
    `admitted_ratio=${fmt.r(m(admitted, 'ns') / offNs)} shed_bpf_ns=${m(shed, 'bpfNs').toFixed(0)} ` +
    `admitted_bpf_ns=${m(admitted, 'bpfNs').toFixed(0)} noisy=${noise.noisy}`,
);
