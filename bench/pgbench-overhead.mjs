/**
 * PostgreSQL under pgbench with and without the collector, alternating in one run (every other round runs
 * without it last): TPS ratio (target ≥ 0.9) and statements captured against what pgbench reports it ran
 * (target: all of them, or exactly accounted drops).
 *
 * A third run per round splits the cost, as in nginx-overhead: pgbench with the collector process stopped
 * (SIGSTOP), so that only the BPF programs work in PostgreSQL's and pgbench's syscalls. Its ratio bounds what
 * capture could reach with a free user space.
 *
 * With --cpu-limit CORES the collector runs with that limit (`loupe up --cpu-limit`): above it, the kernel side
 * sheds whole statements with their answers before any copy, counted per side; the server-side count accounts
 * for the statements not stored.
 * With --nice N the collector runs at that nice value (`loupe up --nice`), below the traced server.
 * With --client-node pgbench runs in a network namespace of its own, standing for another node, and only
 * PostgreSQL's end of each statement is captured (as in nginx-overhead --client-node).
 *
 * Usage: node bench/pgbench-overhead.mjs [--rounds 3] [--seconds 8] [--cpu-limit CORES] [--nice N] [--client-node]
 */
import console from 'node:console';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import {
  apiQuery,
  atExit,
  childPids,
  fmt,
  header,
  median,
  ratio,
  repoRoot,
  requireRoot,
  sleep,
  startClientNode,
  startLoupe,
} from './lib.mjs';

const support = path.join(repoRoot, 'node-collector/dist/test/support');
const { startPostgres, postgresEnv } = await import(path.join(support, 'databases.js'));
const { freePort, run } = await import(path.join(support, 'processes.js'));

/** Statements of pgbench's built-in TPC-B-like transaction: BEGIN, 3 UPDATEs, SELECT, INSERT, END. */
const STATEMENTS_PER_TRANSACTION = 7;
/** In prepared mode every statement of the transaction, BEGIN and END too, is an Execute. */
const EXECUTES_STORED = `SELECT count(*) AS n FROM pgsql_events WHERE role = 'server' AND req_cmd = 'Execute'`;
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    'cpu-limit': { type: 'string' },
    nice: { type: 'string' },
    'client-node': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const cpuLimit = values['cpu-limit'];
const loupeArgs = [
  ...(cpuLimit === undefined ? [] : ['--cpu-limit', cpuLimit]),
  ...(values.nice === undefined ? [] : ['--nice', values.nice]),
];

requireRoot();
header(
  'pgbench with and without the collector' +
    (cpuLimit === undefined ? '' : `, collector limited to ${cpuLimit} cores`) +
    (values['client-node'] ? ', pgbench on another node (its own network namespace): server end only' : ''),
);
const clientNode = values['client-node'] ? await startClientNode() : undefined;
if (clientNode !== undefined) loupeArgs.push('--netns', clientNode.hostNetns);
const postgres = await startPostgres(
  await freePort(),
  clientNode && { address: clientNode.serverAddress, clients: clientNode.clientNetwork },
);
// Stopped by the finally below; if this process is stopped first, its postmaster (runuser's child) by pid.
const unregisterPostgres = atExit(() => {
  for (const pid of childPids(postgres.process.pid)) process.kill(pid, 'SIGINT');
});
const env = postgresEnv();
const pgArgs = ['-h', clientNode?.serverAddress ?? '127.0.0.1', '-p', String(postgres.port)];

/** pgbench, on the client node when there is one. */
function pgbench(args) {
  const [command, commandArgs] = clientNode?.command('pgbench', args) ?? ['pgbench', args];
  return run(command, commandArgs, { env });
}

async function pgbenchRound() {
  const out = await pgbench([...pgArgs, '-c', '4', '-j', '2', '-T', String(seconds), '-M', 'prepared', '-n']);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  return { tps, transactions };
}

try {
  await pgbench([...pgArgs, '-i', '-s', '4', '-q']);
  const off = [];
  const kernelOnly = [];
  const on = [];
  const capture = [];
  const withoutCollector = async (round) => {
    off.push(await pgbenchRound());
    console.log(`round ${round + 1} without collector: ${fmt.n(off[round].tps, 0)} tps`);
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    // Every other round runs without the collector last: a run's place in the round (the server's caches, its
    // checkpoints) must not pass for the collector's cost.
    if (round % 2 === 0) await withoutCollector(round);
    const loupe = await startLoupe('pgbench', loupeArgs);
    try {
      process.kill(loupe.pid, 'SIGSTOP');
      try {
        kernelOnly.push(await pgbenchRound());
      } finally {
        process.kill(loupe.pid, 'SIGCONT');
      }
      console.log(
        `round ${round + 1} kernel side only (collector stopped): ${fmt.n(kernelOnly[round].tps, 0)} tps`,
      );
      // What the ring held while the collector was stopped is taken in before the measured run.
      await sleep(2_500);
      const [before] = await apiQuery(loupe.url, EXECUTES_STORED);
      const status0 = await loupe.status();
      const result = await pgbenchRound();
      on.push(result);
      await sleep(2_500); // the store flushes every second
      const [after] = await apiQuery(loupe.url, EXECUTES_STORED);
      const status1 = await loupe.status();
      const expected = result.transactions * STATEMENTS_PER_TRANSACTION;
      const captured = Number(after.n) - Number(before.n);
      const drops = status1.drops - status0.drops;
      const shedServer = (status) => status.dropsByReason?.cpu_limit_server ?? 0;
      const shed = shedServer(status1) - shedServer(status0);
      capture.push({ expected, captured, drops, shed });
      console.log(
        `round ${round + 1} with collector:    ${fmt.n(result.tps, 0)} tps; statements run ${expected}, ` +
          `captured ${captured}, shed on the server side ${shed}, drops ${drops} in all`,
      );
    } finally {
      await loupe.stop();
    }
    if (round % 2 === 1) await withoutCollector(round);
  }
  const tpsRatio = ratio(median(on.map((r) => r.tps)), median(off.map((r) => r.tps)));
  const kernelRatio = ratio(median(kernelOnly.map((r) => r.tps)), median(off.map((r) => r.tps)));
  const unaccounted = capture.map((c) => Math.max(0, c.expected - c.captured - c.shed));
  console.log(`\nTPS ratio (with / without): ${fmt.r(tpsRatio)} (target ≥ 0.9)`);
  console.log(`TPS ratio, kernel side only (collector stopped): ${fmt.r(kernelRatio)}`);
  console.log(`statements captured: ${capture.map((c) => `${c.captured}/${c.expected}`).join(', ')}`);
  console.log(
    `unaccounted loss per round: ${unaccounted.join(', ')} (target 0: statements run − captured − shed)`,
  );
  console.log(
    `RESULT pgbench-overhead tps_ratio=${fmt.r(tpsRatio)} kernel_only_ratio=${fmt.r(kernelRatio)} ` +
      `unaccounted=${unaccounted.reduce((a, b) => a + b, 0)} cpu_limit=${cpuLimit ?? 'none'} ` +
      `nice=${values.nice ?? 0} ends=${clientNode === undefined ? 'both' : 'server'}`,
  );
} finally {
  await postgres.stop();
  unregisterPostgres();
  clientNode?.remove();
}
