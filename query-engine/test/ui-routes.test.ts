import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildBroker } from '../src/broker/broker-app.js';
import { NodeRegistry } from '../src/registry/node-registry.js';
import { loadUiFiles } from '../src/ui/ui-files.js';

const INDEX = '<!doctype html><div id="root"></div><script type="module" src="/assets/app-1a2b.js"></script>';

function writeBuild(dir: string): void {
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(dir, 'assets/app-1a2b.js'), 'console.log("loupe")');
  fs.writeFileSync(path.join(dir, 'assets/app-1a2b.css'), 'body{}');
}

describe('the web UI at /', () => {
  let dir: string;
  let broker: FastifyInstance;
  let guarded: FastifyInstance;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-ui-'));
    writeBuild(dir);
    const ui = await loadUiFiles(dir);
    const registry = new NodeRegistry();
    registry.register({
      name: 'n1',
      url: 'http://127.0.0.1:1',
      tables: { http_events: [{ name: 'time', type: 'TIMESTAMP_NS' }] },
    });
    broker = buildBroker({ registry, downAfterMs: 15_000, ui });
    guarded = buildBroker({ registry, downAfterMs: 15_000, ui, host: '0.0.0.0', token: 's3cret' });
  });
  after(async () => {
    await broker.close();
    await guarded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app with a CSP that allows nothing from elsewhere', async () => {
    const page = await broker.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.body, INDEX);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(page.headers['cache-control'], 'no-cache');
  });

  it('answers deep links with the app, so a shared URL opens the same view', async () => {
    for (const url of ['/requests?status=500&range=1h', '/service?service=api%3A8080', '/scripts']) {
      const page = await broker.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.equal(page.body, INDEX, url);
    }
  });

  it('serves hashed assets for good, and revalidates with the ETag', async () => {
    const asset = await broker.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const again = await broker.inject({
      method: 'GET',
      url: '/assets/app-1a2b.js',
      headers: { 'if-none-match': String(asset.headers.etag) },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  it('answers a missing asset and unknown API paths with 404, not the app', async () => {
    assert.equal((await broker.inject({ method: 'GET', url: '/assets/old-9z.js' })).statusCode, 404);
    const api = await broker.inject({ method: 'GET', url: '/api/v1/no-such-route' });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json().code, 'NOT_FOUND');
  });

  it('needs no token for the pages but does for the API off loopback', async () => {
    assert.equal((await guarded.inject({ method: 'GET', url: '/nodes' })).statusCode, 200);
    assert.equal((await guarded.inject({ method: 'GET', url: '/api/v1/nodes' })).statusCode, 401);
    const tables = await guarded.inject({
      method: 'GET',
      url: '/api/v1/tables',
      headers: { authorization: 'Bearer s3cret' },
    });
    assert.equal(tables.statusCode, 200);
    assert.deepEqual(tables.json(), { tables: { http_events: [{ name: 'time', type: 'TIMESTAMP_NS' }] } });
  });

  it('says how to build the UI when it is not built', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-ui-empty-'));
    try {
      assert.equal(await loadUiFiles(empty), null);
      assert.equal(await loadUiFiles(path.join(empty, 'missing')), null);
      const bare = buildBroker({ registry: new NodeRegistry(), downAfterMs: 15_000, ui: null });
      const page = await bare.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 503);
      assert.match(page.body, /npm run build/);
      await bare.close();
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
