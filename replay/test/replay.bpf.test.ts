/**
 * End to end on a real kernel: a shop service (Node.js + PostgreSQL) that stamps every answer with a fresh id and
 * time is captured by a real `loupe up` while a client drives it; its traffic is exported as HAR with
 * `loupe export har`, validated, and replayed with `loupe replay --learn-noise` against the same build (passes)
 * and against a changed build (one JSON field, one status code): the report names those two and nothing else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  postgresEnv,
  startPostgres,
  type DatabaseServer,
} from '@loupe/node-collector/dist/test/support/databases.js';
import { loupeBin, startLoupeUp, type LoupeUp } from '@loupe/node-collector/dist/test/support/loupe.js';
import { freePort, start, stopAll, waitForPort } from '@loupe/node-collector/dist/test/support/processes.js';
import type { Har } from '../src/har/har.js';
import { validateHar } from '../src/har/har-validator.js';

const shopService = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support/shop-service.js');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function loupe(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [loupeBin, ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function startShop(pgPort: number, variant: 'unchanged' | 'changed'): Promise<number> {
  const port = await freePort();
  const env = { ...postgresEnv(), PGPORT: String(pgPort) };
  const shop = start('node', [shopService, String(port), variant], { env });
  await shop.waitForLine(/listening/, 30_000);
  await waitForPort(port);
  return port;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** `endpoint: difference` for every difference line of every failed testcase of a JUnit report. */
function junitDifferences(xml: string): Set<string> {
  const found = new Set<string>();
  for (const match of xml.matchAll(
    /<testcase classname="([^"]*)"[^>]*>\s*<failure [^>]*>([^<]*)<\/failure>/g,
  )) {
    for (const line of unescapeXml(match[2] ?? '').split('\n'))
      found.add(`${unescapeXml(match[1] ?? '')}: ${line}`);
  }
  return found;
}

describe('capture, export and replay of a real service', { timeout: 300_000 }, () => {
  let postgres: DatabaseServer;
  let loupeUp: LoupeUp;
  let shopPort: number;
  let harFile: string;
  let requestsSent = 0;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-replay-e2e-'));

  before(async () => {
    postgres = await startPostgres(await freePort());
    loupeUp = await startLoupeUp(await freePort());
    shopPort = await startShop(postgres.port, 'unchanged');
    harFile = path.join(work, 'shop.har');
  });

  after(async () => {
    await loupeUp?.stop();
    await stopAll();
    await postgres?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a client drives the service while loupe captures; the export is a valid HAR of it', async () => {
    const base = `http://127.0.0.1:${shopPort}`;
    const call = async (method: string, target: string, body?: unknown) => {
      const response = await fetch(`${base}${target}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      await response.text();
      requestsSent += 1;
    };
    for (let round = 0; round < 3; round++) {
      await call('GET', '/health');
      await call('GET', '/products?limit=3');
      for (const id of [1, 2, 3]) await call('GET', `/products/${id}`);
      await call('POST', '/orders', { productId: 1 + round, quantity: round + 1 });
    }
    await call('GET', '/products/99');
    await call('POST', '/orders', { productId: 42, quantity: 1 });

    const countSql = `SELECT count(*) AS n FROM http_events WHERE role = 'server' AND local_port = ${shopPort}`;
    const rows = await loupeUp.waitForRows<{ n: number }>(
      countSql,
      (r) => (r[0]?.n ?? 0) >= requestsSent,
      20_000,
    );
    assert.equal(rows[0]?.n, requestsSent);

    const exported = await loupe([
      'export',
      'har',
      '--broker',
      loupeUp.url,
      '--service',
      `node:${shopPort}`,
      '--since',
      '10m',
      '-o',
      harFile,
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, new RegExp(`exported ${requestsSent} entries to`));
    const har = JSON.parse(fs.readFileSync(harFile, 'utf8')) as Har;
    assert.deepEqual(validateHar(har), []);
    assert.equal(har.log.entries.length, requestsSent);
    const lines = har.log.entries.map((e) => `${e.request.method} ${new URL(e.request.url).pathname}`);
    assert.equal(lines.filter((l) => l === 'POST /orders').length, 4);
    assert.equal(lines.filter((l) => l === 'GET /products/1').length, 3);
    const order = har.log.entries.find((e) => e.request.method === 'POST' && e.response.status === 201)!;
    assert.match(order.request.postData?.text ?? '', /"productId":1/);
    assert.match(order.response.content.text ?? '', /"orderId":"[0-9a-f-]{36}"/);
    assert.ok(har.log.entries.every((e) => typeof e.connection === 'string'));
    assert.ok(har.log.entries.every((e) => e._process === 'node'));
  });

  test("the API's HAR export (the UI's download) is the same HAR as the CLI's", async () => {
    const response = await fetch(`${loupeUp.url}/api/v1/export/har`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: `node:${shopPort}`, since: '10m' }),
    });
    assert.equal(response.status, 200);
    assert.match(
      String(response.headers.get('content-disposition')),
      /attachment; filename="loupe-export.har"/,
    );
    const fromApi = (await response.json()) as Har;
    assert.deepEqual(validateHar(fromApi), []);
    const fromCli = JSON.parse(fs.readFileSync(harFile, 'utf8')) as Har;
    assert.deepEqual(fromApi.log.entries, fromCli.log.entries);

    const refused = await fetch(`${loupeUp.url}/api/v1/export/har`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ where: "true) UNION SELECT * FROM read_csv('/etc/passwd') --", since: '10m' }),
    });
    assert.equal(refused.status, 400);
    const bad = await fetch(`${loupeUp.url}/api/v1/export/har`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'node', since: 'yesterday' }),
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /since/);
  });

  test('replaying against the same build passes once noise is learned', async () => {
    const replay = await loupe([
      'replay',
      harFile,
      '--target',
      `http://127.0.0.1:${shopPort}`,
      '--learn-noise',
    ]);
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    assert.match(replay.stdout, new RegExp(`passed ${requestsSent}, failed 0, errors 0, skipped 0`));
    assert.match(
      replay.stdout,
      /ignore \$\.requestId \(GET \/products\/:id\): \d+ ignored; learned: differed between two/,
    );
    assert.match(
      replay.stdout,
      /ignore \$\.orderId \(POST \/orders\): \d+ ignored; learned: differed between two replays of POST \/orders/,
    );
  });

  test('replaying against a changed build names exactly the two changes', async () => {
    const changedPort = await startShop(postgres.port, 'changed');
    const junit = path.join(work, 'report.xml');
    const html = path.join(work, 'report.html');
    const replay = await loupe([
      'replay',
      harFile,
      '--target',
      `http://127.0.0.1:${changedPort}`,
      '--rewrite-host',
      '--learn-noise',
      '--junit',
      junit,
      '--report',
      html,
    ]);
    assert.equal(replay.code, 1, replay.stdout + replay.stderr);
    assert.match(replay.stdout, /errors 0, skipped 0/);
    const xml = fs.readFileSync(junit, 'utf8');
    assert.deepEqual([...junitDifferences(xml)].sort(), [
      'GET /products/:id: $.currency changed: "EUR" → "USD"',
      'POST /orders: status changed: 201 → 200',
    ]);
    // Every GET /products/:id that found a product and every order that was created fails; nothing else does.
    assert.match(xml, /failures="12" errors="0"/);
    const report = fs.readFileSync(html, 'utf8');
    assert.match(report, /\$\.currency/);
    assert.match(report, /learned: differed between two replays of/);
  });
});
