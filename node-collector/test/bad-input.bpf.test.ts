/**
 * Bad input on real sockets — random header bytes, a reset mid-body, a 10 MB header flood, a truncated message,
 * garbage responses — against a running `loupe up`: it keeps running, counts parse errors, stays bounded, and still
 * captures the next good request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, run, start, stopAll, waitForPort } from './support/processes.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

let loupe: LoupeUp;
let appPort: number;

function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

before(async () => {
  appPort = await freePort();
  start('node', [path.join(supportDir, 'node-http-server.js'), String(appPort)]);
  await waitForPort(appPort);
  loupe = await startLoupeUp(await freePort());
});

after(async () => {
  await loupe?.stop();
  await stopAll();
});

test('hostile traffic is counted, memory stays bounded, capture goes on', { timeout: 120_000 }, async () => {
  const rssBefore = rssMiB(loupe.process.pid);
  const abuse = start('node', [path.join(supportDir, 'abusive-peers.js'), String(appPort)]);
  await abuse.waitForLine(/abuse done/, 60_000);

  await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${appPort}/hello?after=abuse`]);
  const rows = await loupe.waitForRows<{ role: string; resp_status: number }>(
    `SELECT role, resp_status FROM http_events WHERE req_path = '/hello?after=abuse' ORDER BY role`,
    (r) => r.length >= 2,
  );
  assert.deepEqual(rows, [
    { role: 'client', resp_status: 200 },
    { role: 'server', resp_status: 200 },
  ]);

  const status = await loupe.collectorStatus();
  assert.ok(status.parseErrors > 0, `parse errors counted: ${JSON.stringify(status)}`);
  assert.equal(loupe.process.child.exitCode, null, 'the collector is still running');
  const rssAfter = rssMiB(loupe.process.pid);
  assert.ok(rssAfter < 256, `collector RSS ${rssAfter.toFixed(0)} MiB (was ${rssBefore.toFixed(0)} MiB)`);

  // Nothing from the abuse became a made-up request row: the reset upload and the flood never completed.
  const bogus = await loupe.query<{ req_path: string }>(
    `SELECT req_path FROM http_events WHERE req_path IN ('/abuse/reset', '/abuse/truncated')`,
  );
  assert.deepEqual(bogus, []);
});
