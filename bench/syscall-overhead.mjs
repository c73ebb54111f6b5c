/**
 * What capture costs a traced process per syscall, away from servers and load generators.
 *
 * bench/syscall-pingpong.c (built here with gcc) runs N request/response exchanges over one loopback TCP connection
 * in one thread: 4 syscalls that move data per exchange, all captured (both ends, HTTP). Rounds alternate without
 * and with `loupe up` running, side by side; each prints the wall time per exchange, and the with-collector rounds
 * also the run time of loupe's BPF programs per exchange (kernel.bpf_stats_enabled=1, restored afterwards; it adds
 * a little to each program run). The collector runs on the other core, so the difference in wall time is mostly
 * what the BPF programs add inside the syscalls. The same program then times getppid, a syscall capture does not
 * follow: what tracing syscalls at all costs every other syscall on the machine.
 *
 * Usage: node bench/syscall-overhead.mjs [--exchanges 100000] [--rounds 3]
 */
import console from 'node:console';
import {
  bpfRunTime,
  enableBpfStats,
  fmt,
  median,
  noise,
  pingpongBench,
  startLoupe,
  waitForQuietMachine,
  warnIfForeignCollectors,
} from './lib.mjs';

const pp = await pingpongBench(
  (exchanges, rounds) =>
    `syscall overhead: ${exchanges} loopback request/response exchanges per run, ${rounds} rounds`,
);
const { exchanges, rounds } = pp;
const pingpong = pp.run;

const off = [];
const on = [];
const bpf = [];
let loupe;
let stats;
try {
  await waitForQuietMachine();
  await pingpong(); // warm-up
  for (let round = 1; round <= rounds; round++) {
    off.push(await pingpong());
    loupe = await startLoupe(`bench-syscalls-${round}`);
    warnIfForeignCollectors([loupe.pid]);
    stats = enableBpfStats();
    const before = bpfRunTime(loupe.pid);
    on.push(await pingpong());
    const after = bpfRunTime(loupe.pid);
    stats.restore();
    stats = undefined;
    bpf.push({
      ns: (after.runTimeNs - before.runTimeNs) / exchanges,
      runs: (after.runCount - before.runCount) / exchanges,
    });
    await loupe.stop();
    loupe = undefined;
    console.log(
      `round ${round}: ${fmt.n(off[round - 1].exchange, 0)} ns per exchange without the collector, ` +
        `${fmt.n(on[round - 1].exchange, 0)} with; BPF ${fmt.n(bpf[round - 1].ns, 0)} ns over ` +
        `${bpf[round - 1].runs.toFixed(1)} program runs; getppid ${fmt.n(off[round - 1].other, 1)} ns without, ` +
        `${fmt.n(on[round - 1].other, 1)} with`,
    );
  }
} finally {
  stats?.restore();
  await loupe?.stop();
  pp.remove();
}

const offNs = median(off.map((r) => r.exchange));
const onNs = median(on.map((r) => r.exchange));
const otherOff = median(off.map((r) => r.other));
const otherOn = median(on.map((r) => r.other));
const bpfNs = median(bpf.map((b) => b.ns));
console.log('');
console.log(
  `medians: ${fmt.n(offNs, 0)} ns per exchange without, ${fmt.n(onNs, 0)} with (+${fmt.n(onNs - offNs, 0)} ns, ` +
    `${fmt.n((onNs - offNs) / 4, 0)} per data syscall); BPF programs ${fmt.n(bpfNs, 0)} ns per exchange`,
);
console.log(
  `getppid, not captured: ${fmt.n(otherOff, 1)} ns without, ${fmt.n(otherOn, 1)} with (+${fmt.n(otherOn - otherOff, 1)} ns)`,
);
console.log(`RATIO exchange time with / without the collector: ${fmt.r(onNs / offNs)}`);
console.log(
  `RESULT syscall-overhead off_ns=${offNs.toFixed(0)} on_ns=${onNs.toFixed(0)} ratio=${fmt.r(onNs / offNs)} ` +
    `bpf_ns=${bpfNs.toFixed(0)} other_syscall_ns_off=${otherOff.toFixed(1)} other_syscall_ns_on=${otherOn.toFixed(1)} ` +
    `noisy=${noise.noisy}`,
);
