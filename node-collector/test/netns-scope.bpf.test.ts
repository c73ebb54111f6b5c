/**
 * A collector scoped to one network namespace (the way several "nodes" share one kernel in tests) captures the
 * traffic inside it and nothing outside.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { freePort, run, start, stopAll, waitForPort } from './support/processes.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

const ns = `loupe-test-${crypto.randomBytes(3).toString('hex')}`;
let loupe: LoupeUp;
let port: number;

before(async () => {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  port = await freePort();
  // The same port inside the namespace and on the host: only the namespace's must be captured.
  start('ip', ['netns', 'exec', ns, 'node', path.join(supportDir, 'node-http-server.js'), String(port)]);
  start('node', [path.join(supportDir, 'node-http-server.js'), String(port)]);
  await waitForPort(port);
  await run('ip', [
    'netns',
    'exec',
    ns,
    'curl',
    '-s',
    '--retry',
    '20',
    '--retry-connrefused',
    '--retry-delay',
    '1',
    '-o',
    '/dev/null',
    `http://127.0.0.1:${port}/hello?warmup`,
  ]);
  loupe = await startLoupeUp(await freePort(), ['--netns', `/run/netns/${ns}`]);
});

after(async () => {
  await loupe?.stop();
  await stopAll();
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

test('--netns captures only that namespace', { timeout: 60_000 }, async () => {
  await run('ip', [
    'netns',
    'exec',
    ns,
    'curl',
    '-s',
    '-o',
    '/dev/null',
    `http://127.0.0.1:${port}/hello?where=inside`,
  ]);
  await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/hello?where=host`]);
  await run('ip', [
    'netns',
    'exec',
    ns,
    'curl',
    '-s',
    '-o',
    '/dev/null',
    `http://127.0.0.1:${port}/hello?where=inside-last`,
  ]);
  const rows = await loupe.waitForRows<{ role: string; req_path: string }>(
    `SELECT role, req_path FROM http_events WHERE starts_with(req_path, '/hello?where=') ORDER BY req_path, role`,
    (r) => r.length >= 4,
  );
  assert.deepEqual(rows, [
    { role: 'client', req_path: '/hello?where=inside' },
    { role: 'server', req_path: '/hello?where=inside' },
    { role: 'client', req_path: '/hello?where=inside-last' },
    { role: 'server', req_path: '/hello?where=inside-last' },
  ]);
});
