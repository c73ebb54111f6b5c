/**
 * PostgreSQL under pgbench with and without the collector, alternating in one run: TPS ratio (target ≥ 0.9) and
 * statements captured against what pgbench reports it ran (target: all of them, or exactly accounted drops).
 *
 * Usage: node bench/pgbench-overhead.mjs [seconds-per-round]
 */
import console from 'node:console';
import path from 'node:path';
import process from 'node:process';
import { apiQuery, fmt, header, median, ratio, repoRoot, requireRoot, sleep, startLoupe } from './lib.mjs';

const support = path.join(repoRoot, 'node-collector/dist/test/support');
const { startPostgres, postgresEnv } = await import(path.join(support, 'databases.js'));
const { freePort, run } = await import(path.join(support, 'processes.js'));

/** Statements of pgbench's built-in TPC-B-like transaction: BEGIN, 3 UPDATEs, SELECT, INSERT, END. */
const STATEMENTS_PER_TRANSACTION = 7;
const seconds = Number(process.argv[2] ?? 8);

requireRoot();
header('pgbench with and without the collector');
const postgres = await startPostgres(await freePort());
const env = postgresEnv();
const pgArgs = ['-h', '127.0.0.1', '-p', String(postgres.port)];

async function pgbenchRound() {
  const out = await run(
    'pgbench',
    [...pgArgs, '-c', '4', '-j', '2', '-T', String(seconds), '-M', 'prepared', '-n'],
    {
      env,
    },
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  return { tps, transactions };
}

try {
  await run('pgbench', [...pgArgs, '-i', '-s', '4', '-q'], { env });
  const off = [];
  const on = [];
  const capture = [];
  for (let round = 0; round < 2; round++) {
    off.push(await pgbenchRound());
    console.log(`round ${round + 1} without collector: ${fmt.n(off[round].tps, 0)} tps`);
    const loupe = await startLoupe('pgbench');
    try {
      const result = await pgbenchRound();
      on.push(result);
      await sleep(2_500); // the store flushes every second
      const [rows] = await apiQuery(
        loupe.url,
        // In prepared mode every statement of the transaction, BEGIN and END too, is an Execute.
        `SELECT count(*) AS n FROM pgsql_events WHERE role = 'server' AND req_cmd = 'Execute'`,
      );
      const status = await loupe.status();
      const expected = result.transactions * STATEMENTS_PER_TRANSACTION;
      capture.push({ expected, captured: Number(rows.n), drops: status.drops });
      console.log(
        `round ${round + 1} with collector:    ${fmt.n(result.tps, 0)} tps; statements run ${expected}, ` +
          `captured ${rows.n}, drops ${status.drops}`,
      );
    } finally {
      await loupe.stop();
    }
  }
  const tpsRatio = ratio(median(on.map((r) => r.tps)), median(off.map((r) => r.tps)));
  const unaccounted = capture.map((c) => c.expected - c.captured - c.drops);
  console.log(`\nTPS ratio (with / without): ${fmt.r(tpsRatio)} (target ≥ 0.9)`);
  console.log(`statements captured: ${capture.map((c) => `${c.captured}/${c.expected}`).join(', ')}`);
  console.log(`unaccounted loss per round: ${unaccounted.join(', ')} (target 0)`);
} finally {
  await postgres.stop();
}
