/**
 * The CPU limit on a real kernel: nginx at saturation under wrk, captured by `loupe up --cpu-limit 0.1`, starting
 * from an idle collector. The limit must hold from the load's first moment (not only once a window has gone over
 * it), and every request nginx answered is either stored or counted as shed on its side.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoupeUp, type LoupeUp } from './support/loupe.js';
import { startNginx, type Nginx } from './support/nginx.js';
import { freePort, run, stopAll } from './support/processes.js';

const LIMIT_CORES = 0.1;
/** Drop reasons that lose records after the kernel side admitted them (the collector's status, dropsByReason). */
const LOST_ON_THE_WAY = [
  'ringbuf_full',
  'conn_table_full',
  'reader_queue_full',
  'held_full',
  'store_rejected',
];
const CONNECTIONS = 4;

let nginx: Nginx;
let loupe: LoupeUp;
let ticksPerSecond: number;

before(async () => {
  ticksPerSecond = Number(await run('getconf', ['CLK_TCK']));
  nginx = await startNginx(await freePort(), await freePort());
  loupe = await startLoupeUp(await freePort(), ['--cpu-limit', String(LIMIT_CORES)]);
});

after(async () => {
  await loupe?.stop();
  await nginx?.stop();
  await stopAll();
});

/** User + system CPU seconds of a process, all threads: fields 14 and 15 of /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

test('a saturating load is shed to the limit from its start, and every request is stored or counted', async () => {
  const dropsNow = async () => (await loupe.collectorStatus()).dropsByReason ?? {};
  const dropsBefore = await dropsNow();
  const since = (drops: Record<string, number>, reason: string) =>
    (drops[reason] ?? 0) - (dropsBefore[reason] ?? 0);
  await sleep(1_000); // idle: whatever the limit did for the query above is over
  const pid = loupe.process.pid;
  const cpuBefore = cpuSeconds(pid);
  const startedAt = performance.now();
  const out = await run('wrk', [
    '-t1',
    `-c${CONNECTIONS}`,
    '-d4s',
    `http://127.0.0.1:${nginx.port}/small?limited=1`,
  ]);
  await sleep(1_000); // the work of the exchanges admitted last
  const cores = (cpuSeconds(pid) - cpuBefore) / ((performance.now() - startedAt) / 1000);
  const completed = Number(/(\d+) requests in/.exec(out)?.[1]);
  assert.ok(completed > 20_000, `wrk completed ${completed}: not a saturating load`);
  // Unlimited, the collector would take most of a core here; each time load came back after a pause, a limit
  // that waited for a window over it took a whole window's traffic in first (several times the limit). Below
  // half the limit, capture would be starved of the budget it was given.
  assert.ok(
    cores >= LIMIT_CORES / 2 && cores <= 1.5 * LIMIT_CORES,
    `the collector used ${cores.toFixed(3)} cores under a limit of ${LIMIT_CORES}`,
  );

  const count = `SELECT count(*) AS n FROM http_events WHERE req_path = '/small?limited=1' AND role = 'server'`;
  let stored = 0;
  let shed = 0;
  // Admitted requests may still be lost on the way (a full ring buffer or queue, the store turning rows away):
  // counted, each lost record losing at most one request.
  let lostOnTheWay = 0;
  let drops: Record<string, number> = {};
  const deadline = Date.now() + 30_000;
  do {
    await sleep(1_000);
    stored = (await loupe.query<{ n: number }>(count))[0]?.n ?? 0;
    drops = await dropsNow();
    shed = since(drops, 'cpu_limit_server');
    lostOnTheWay = LOST_ON_THE_WAY.reduce((n, reason) => n + since(drops, reason), 0);
  } while (stored + shed + lostOnTheWay < completed && Date.now() < deadline);
  assert.ok(shed > completed / 2, `only ${shed} of ${completed} requests shed: the limit did not bind`);
  assert.ok(stored > 0, 'admitted requests are stored');
  // wrk stops with up to one request in flight per connection, answered by nginx but not counted by wrk.
  assert.ok(
    stored + shed <= completed + CONNECTIONS,
    `stored ${stored} + shed ${shed} against ${completed} completed`,
  );
  assert.ok(
    stored + shed + lostOnTheWay >= completed,
    `stored ${stored} + shed ${shed} + lost on the way ${lostOnTheWay} against ${completed} completed ` +
      `(drops ${JSON.stringify(drops)})`,
  );
});
