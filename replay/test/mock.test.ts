import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runMockCommand } from '../src/mock/mock-command.js';
import { HITS_PATH, createMockServer, type MockServer } from '../src/mock/mock-server.js';
import { captureIo, entry, har } from './support/har-fixtures.js';

const recording = har([
  entry({
    method: 'POST',
    url: 'http://api/quote?region=eu',
    requestBody: '{"sku":"a"}',
    responseBody: '{"price":1}',
  }),
  entry({
    method: 'POST',
    url: 'http://api/quote?region=eu',
    requestBody: '{"sku":"b"}',
    responseBody: '{"price":2}',
  }),
  entry({ url: 'http://api/users/1?fields=name&v=2', responseBody: '{"name":"ann"}' }),
  entry({ url: 'http://api/users/1', responseBody: '{"name":"plain"}' }),
  entry({ url: 'http://api/seq', responseBody: '"first"' }),
  entry({ url: 'http://api/seq', responseBody: '"second"' }),
  entry({
    url: 'http://api/secret',
    status: 201,
    responseHeaders: [
      { name: 'content-type', value: 'text/plain' },
      { name: 'set-cookie', value: '[REDACTED]', _redacted: true },
      { name: 'content-encoding', value: 'gzip' },
      { name: 'x-kept', value: 'yes' },
    ],
    responseBody: 'decoded body',
  }),
]);

let mock: MockServer;
let base: string;

before(async () => {
  mock = createMockServer(recording);
  await new Promise<void>((resolve) => mock.server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(mock.server.address() as net.AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => mock.server.close(() => resolve())));

async function call(method: string, target: string, body?: string) {
  const response = await fetch(`${base}${target}`, { method, ...(body === undefined ? {} : { body }) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

test('exact body match first, then method+path+query, then method+path', async () => {
  assert.equal((await call('POST', '/quote?region=eu', '{"sku":"b"}')).text, '{"price":2}');
  assert.equal((await call('POST', '/quote?region=eu', '{"sku":"a"}')).text, '{"price":1}');
  const byQuery = await call('POST', '/quote?region=eu', '{"sku":"zzz"}');
  assert.equal(byQuery.headers.get('x-loupe-mock-match'), 'method+path+query; entry 1');
  assert.equal((await call('GET', '/users/1?v=2&fields=name')).text, '{"name":"ann"}');
  // Both recordings of GET /users/1 fit by method and path: the first one is served first.
  const byPath = await call('GET', '/users/1?other=1');
  assert.equal(byPath.text, '{"name":"ann"}');
  assert.equal(byPath.headers.get('x-loupe-mock-match'), 'method+path; entry 3');
});

test('repeated recordings are served in order, the last one repeating', async () => {
  assert.deepEqual(
    [await call('GET', '/seq'), await call('GET', '/seq'), await call('GET', '/seq')].map((r) => r.text),
    ['"first"', '"second"', '"second"'],
  );
});

test('recorded status and headers, without redacted values or stale framing', async () => {
  const response = await call('GET', '/secret');
  assert.equal(response.status, 201);
  assert.equal(response.text, 'decoded body');
  assert.equal(response.headers.get('x-kept'), 'yes');
  assert.equal(response.headers.get('set-cookie'), null);
  assert.equal(response.headers.get('content-encoding'), null);
});

test('no match: 404 JSON saying what was not matched; hits are counted', async () => {
  const miss = await call('DELETE', '/users/1');
  assert.equal(miss.status, 404);
  const body = JSON.parse(miss.text) as Record<string, unknown>;
  assert.equal(body.error, 'no recorded response matches this request');
  assert.deepEqual(body.request, { method: 'DELETE', path: '/users/1', query: '', bodyBytes: 0 });
  assert.deepEqual(body.recordedMethodsForPath, ['GET']);
  assert.deepEqual(body.tried, ['method+path+query+body', 'method+path+query', 'method+path']);

  const hits = JSON.parse((await call('GET', HITS_PATH)).text) as {
    hits: { hits: number }[];
    misses: number;
  };
  assert.ok(hits.misses >= 1);
  assert.ok(hits.hits[0]!.hits >= 2);
});

test('loupe mock: serves until stopped, prints hits; bad input exits 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-mock-'));
  try {
    const file = path.join(dir, 'deps.har');
    fs.writeFileSync(file, JSON.stringify(recording));
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    const io = captureIo();
    const done = runMockCommand([file, '--port', '0'], io, {
      stopSignal,
      onListening: async (address) => {
        assert.equal((await fetch(`${address}/users/1`)).status, 200);
        stop();
      },
    });
    assert.equal(await done, 0);
    assert.match(io.out, /mock: serving 7 recorded responses, listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(
      io.out,
      /mock: served 1 responses from 1 of 7 recordings, 0 unmatched\n\s+1\s+GET http:\/\/api\/users\/1/,
    );

    for (const [args, message] of [
      [[file], /no --port given/],
      [[file, '--port', 'x'], /--port must be 0 to 65535/],
      [['--port', '1'], /no HAR file given/],
      [[path.join(dir, 'none.har'), '--port', '0'], /cannot read/],
    ] as [string[], RegExp][]) {
      const bad = captureIo();
      assert.equal(await runMockCommand(args, bad), 2);
      assert.match(bad.err, message);
    }
    const help = captureIo();
    assert.equal(await runMockCommand(['--help'], help), 0);
    assert.match(help.out, /Usage: loupe mock FILE\.har --port P/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
