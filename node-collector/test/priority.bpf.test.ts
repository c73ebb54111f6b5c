/** `loupe up --nice N`: every thread of the collector runs at that nice value, those started late included. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseNice } from '../src/cli/priority.js';
import { freePort, stopAll } from './support/processes.js';
import { startLoupeUp } from './support/loupe.js';

after(stopAll);

/** Nice value of each thread of a process: field 19 of /proc/PID/task/TID/stat, counted after the name. */
function threadNices(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]);
  });
}

test(
  'loupe up --nice 7 runs all of its threads at nice 7, the store and capture threads too',
  { timeout: 60_000 },
  async () => {
    const loupe = await startLoupeUp(await freePort(), ['--nice', '7']);
    try {
      // A query starts DuckDB's work on the store; the capture reader runs since startup.
      await loupe.query('SELECT count(*) AS n FROM http_events');
      const nices = threadNices(loupe.process.pid);
      assert.ok(nices.length >= 8, `the collector's threads (${nices.length})`);
      assert.deepEqual([...new Set(nices)], [7]);
    } finally {
      await loupe.stop();
    }
  },
);

test('--nice takes 0 to 19 only', () => {
  assert.equal(parseNice('19', '--nice'), 19);
  assert.equal(parseNice('0', '--nice'), 0);
  assert.throws(() => parseNice('20', '--nice'), /--nice: '20' is not a nice value from 0 to 19/);
  assert.throws(() => parseNice('-5', '--nice'), /not a nice value/);
});
