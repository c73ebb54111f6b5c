/**
 * Two collectors capturing the same traffic at once: this checkout's build (A) and another's (B, --other), or this
 * build twice (the control, without --other).
 *
 * collector-cpu.mjs measures one collector window after window, and on a virtual machine its windows spread by a
 * quarter: a change worth 5-10 % cannot show there. Here both collectors capture one nginx under one load, at the
 * same time, so whatever slows the machine slows both; each window compares their CPU (all threads, schedstat)
 * over the same seconds. nginx (one worker) serves a fixed reply; bench/load-client.mjs sends RATE requests/s from
 * another node (a network namespace of its own, which both collectors leave out), or from this one with
 * --both-ends. The BPF programs of each collector run in the traced syscalls, not in the collectors: they are not
 * in these figures (collector-cpu.mjs has them).
 *
 * The collector started first came out a few % cheaper in the control: run a comparison in both orders (--swap
 * starts B first) and take both ratios.
 *
 * Prints per window each collector's CPU per request and the ratio A / B; the figure is the median ratio.
 *
 * Usage: node bench/side-by-side.mjs [--other CHECKOUT] [--swap] [--windows 5] [--duration-ms 12000]
 *        [--rate 2000] [--both-ends]
 */
import console from 'node:console';
import process from 'node:process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  fmt,
  freePort,
  header,
  loupeBin,
  median,
  noise,
  pacedLoad,
  requireRoot,
  sleep,
  startClientNode,
  startLoupe,
  startNginx,
  threadDelta,
  threadStats,
  waitForQuietMachine,
} from './lib.mjs';

const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    swap: { type: 'boolean', default: false },
    windows: { type: 'string', default: '5' },
    'duration-ms': { type: 'string', default: '12000' },
    rate: { type: 'string', default: '2000' },
    'both-ends': { type: 'boolean', default: false },
  },
});
const otherBin = values.other ? path.resolve(values.other, 'bin/loupe') : loupeBin;
if (!fs.existsSync(otherBin)) {
  console.error(`side-by-side: no ${otherBin} (--other is a built checkout of Loupe)`);
  process.exit(2);
}
const windows = Math.max(1, Number(values.windows));
const durationMs = Number(values['duration-ms']);
const rate = Number(values.rate);
const bothEnds = values['both-ends'];

requireRoot();
header(
  `side by side at ${rate} requests/s: A = this build, B = ${values.other ? values.other : 'this build again'}` +
    (bothEnds ? ', both ends on this node' : ', client on another node'),
);

const clientNode = bothEnds ? undefined : await startClientNode();
const port = await freePort();
const nginx = await startNginx(port, 'location /r/ { return 200 "ok"; }', clientNode?.serverAddress);
const scope = clientNode ? ['--netns', clientNode.hostNetns] : [];
const load = (urlPath, ms) =>
  pacedLoad({ port, path: urlPath, rate, durationMs: ms, connections: 16, clientNode });
const collectors = {};
try {
  await waitForQuietMachine();
  for (const slot of values.swap ? ['B', 'A'] : ['A', 'B']) {
    collectors[slot] = await startLoupe(`side-${slot}`, scope, { bin: slot === 'A' ? loupeBin : otherBin });
  }
  const { A: a, B: b } = collectors;
  await load('/r/warmup', 6000);
  await sleep(2000);

  const cpuOf = (pid, before) => {
    const parts = threadDelta(pid, before, threadStats(pid), 'loupe-reader');
    return parts.javascript + parts.named + parts.other;
  };
  const ratios = [];
  for (let w = 0; w < windows; w++) {
    const beforeA = threadStats(a.pid);
    const beforeB = threadStats(b.pid);
    const run = await load(`/r/w${w}`, durationMs);
    await sleep(1500); // the last batches reach both stores
    const cpuA = cpuOf(a.pid, beforeA);
    const cpuB = cpuOf(b.pid, beforeB);
    ratios.push(cpuA / cpuB);
    console.log(
      `window ${w + 1}: ${run.completed} requests; A ${fmt.us(cpuA / run.completed)}, B ` +
        `${fmt.us(cpuB / run.completed)} per request; A / B ${fmt.r(cpuA / cpuB)}`,
    );
  }
  const figure = median(ratios);
  console.log('');
  console.log(
    `RATIO A / B, median of ${windows} windows: ${fmt.r(figure)} (started first: ${values.swap ? 'B' : 'A'})`,
  );
  console.log(
    `RESULT side-by-side ratio=${fmt.r(figure)} windows=${ratios.map((r) => fmt.r(r)).join(',')} ` +
      `other=${values.other ? 'yes' : 'no'} swap=${values.swap} ends=${bothEnds ? 'both' : 'server'} noisy=${noise.noisy}`,
  );
} finally {
  for (const collector of Object.values(collectors)) await collector.stop();
  await nginx.stop();
  clientNode?.remove();
}
