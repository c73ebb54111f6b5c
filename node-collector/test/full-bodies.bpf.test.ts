/**
 * Full bodies for chosen services: with `--full-bodies node:PORT`, the kernel copies whole syscalls of that
 * service's process (not just the first 16 KiB) and the store keeps its bodies up to --full-body-bytes, while
 * every other service keeps the default 8 KiB.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, start, stopAll, waitForPort } from './support/processes.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

let loupe: LoupeUp;
let fullPort: number;
let plainPort: number;

/** 300 KB that differ everywhere, so a missing or misplaced piece would show. */
const body = Buffer.from(
  Array.from({ length: 30_000 }, (_, i) => `${String(i).padStart(9, '0')}\n`).join(''),
  'latin1',
);

before(async () => {
  fullPort = await freePort();
  plainPort = await freePort();
  for (const port of [fullPort, plainPort]) {
    start('node', [path.join(supportDir, 'node-http-server.js'), String(port)]);
    await waitForPort(port);
  }
  loupe = await startLoupeUp(await freePort(), [
    '--full-bodies',
    `node:${fullPort}`,
    '--full-body-bytes',
    '512KiB',
  ]);
});

after(async () => {
  await loupe?.stop();
  await stopAll();
});

test('a full-body service keeps 300 KB request and response bodies whole; others keep 8 KiB', async () => {
  for (const port of [fullPort, plainPort]) {
    const response = await fetch(`http://127.0.0.1:${port}/echo?full-bodies=${port}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
    });
    assert.equal(response.status, 201);
    assert.equal((await response.arrayBuffer()).byteLength, body.length);
  }
  type Row = {
    local_port: number;
    req_body: string;
    req_body_size: number;
    req_body_truncated: boolean;
    resp_body: string;
    resp_body_size: number;
    resp_body_truncated: boolean;
  };
  const rows = await loupe.waitForRows<Row>(
    `SELECT local_port, req_body::VARCHAR AS req_body, req_body_size, req_body_truncated,
            resp_body::VARCHAR AS resp_body, resp_body_size, resp_body_truncated
       FROM http_events WHERE role = 'server' AND req_path LIKE '/echo?full-bodies=%' ORDER BY local_port`,
    (r) => r.length === 2,
    20_000,
  );
  const full = rows.find((r) => r.local_port === fullPort);
  const plain = rows.find((r) => r.local_port === plainPort);
  assert.ok(full && plain, JSON.stringify(rows.map((r) => r.local_port)));
  const text = body.toString('latin1');
  assert.equal(full.req_body_size, body.length);
  assert.equal(full.req_body_truncated, false);
  assert.equal(full.req_body, text);
  assert.equal(full.resp_body_size, body.length);
  assert.equal(full.resp_body_truncated, false);
  assert.equal(full.resp_body, text);

  assert.equal(plain.resp_body_size, body.length);
  assert.equal(plain.resp_body_truncated, true);
  assert.equal(plain.resp_body.length, 8192);
  assert.equal(plain.resp_body, text.slice(0, 8192));
  const status = await loupe.collectorStatus();
  assert.ok((status as unknown as { fullCaptureProcesses: number }).fullCaptureProcesses >= 2);
  // Both body sizes share the node's head cache, which the status reports.
  const { headCache } = status as unknown as { headCache: { heads: number; limit: number } };
  assert.equal(headCache.limit, 1024);
  assert.ok(headCache.heads >= 2, JSON.stringify(headCache));
});
