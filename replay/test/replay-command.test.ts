/** `loupe replay` end to end in one process: real HTTP servers on loopback as targets. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Har } from '../src/har/har.js';
import { runReplayCommand } from '../src/replay/replay-command.js';
import { captureIo, entry, har } from './support/har-fixtures.js';

interface Target {
  url: string;
  /** What the handler answers; tests change it between runs. */
  behaviour: { priceOf: (id: number) => number; createdStatus: number; volatile: boolean };
  /** Per socket, the `n` query values in arrival order. */
  sockets: Map<net.Socket, string[]>;
  received: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const behaviour = { priceOf: (id: number) => id * 10, createdStatus: 201, volatile: false };
  const sockets = new Map<net.Socket, string[]>();
  const received: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const seen = sockets.get(request.socket) ?? [];
    seen.push(url.searchParams.get('n') ?? '');
    sockets.set(request.socket, seen);
    received.push(request.headers);
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const send = (status: number, value: unknown) => {
        const text = JSON.stringify(value);
        response.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      };
      const noise = behaviour.volatile ? { requestId: randomUUID(), servedAt: new Date().toISOString() } : {};
      const item = /^\/items\/(\d+)$/.exec(url.pathname);
      if (item) send(200, { id: Number(item[1]), price: behaviour.priceOf(Number(item[1])), ...noise });
      else if (url.pathname === '/orders' && request.method === 'POST')
        send(behaviour.createdStatus, { order: JSON.parse(body || '{}'), ...noise });
      else if (url.pathname === '/text') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(`line one\nserved ${behaviour.volatile ? new Date().toISOString() : 'then'}\n`);
      } else send(404, { error: 'no route' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    behaviour,
    sockets,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-replay-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeHar(name: string, doc: Har | string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

/** The HAR a capture of the unchanged target would give. */
function recordedTraffic(): Har {
  const items = [1, 2, 3].map((id) =>
    entry({
      url: `http://shop/items/${id}`,
      responseBody: JSON.stringify({ id, price: id * 10 }),
      connection: 'c1',
    }),
  );
  const order = entry({
    method: 'POST',
    url: 'http://shop/orders',
    requestBody: '{"sku":"a"}',
    status: 201,
    responseBody: JSON.stringify({ order: { sku: 'a' } }),
    connection: 'c2',
  });
  const text = entry({
    url: 'http://shop/text',
    responseHeaders: [{ name: 'content-type', value: 'text/plain' }],
    responseBody: 'line one\nserved then\n',
  });
  return har([...items, order, text]);
}

describe('loupe replay against a live target', () => {
  let target: Target;
  before(async () => {
    target = await startTarget();
  });
  after(() => target.close());

  test('an unchanged target passes: exit 0', async () => {
    const io = captureIo();
    const code = await runReplayCommand([writeHar('ok.har', recordedTraffic()), '--target', target.url], io);
    assert.equal(code, 0, io.out + io.err);
    assert.match(io.out, /passed 5, failed 0, errors 0, skipped 0/);
    assert.match(io.err, /^replay: 5 requests$/m);
  });

  test('a changed field and a changed status fail with exit 1 and JUnit/HTML reports', async () => {
    target.behaviour.priceOf = (id) => (id === 2 ? 25 : id * 10);
    target.behaviour.createdStatus = 200;
    try {
      const io = captureIo();
      const junit = path.join(tmp, 'report.xml');
      const html = path.join(tmp, 'report.html');
      const args = [
        writeHar('changed.har', recordedTraffic()),
        '--target',
        target.url,
        '--junit',
        junit,
        '--report',
        html,
      ];
      const code = await runReplayCommand(args, io);
      assert.equal(code, 1);
      assert.match(io.out, /passed 3, failed 2/);
      assert.match(io.out, /#2 GET \/items\/2\n\s+\$\.price changed: 20 → 25/);
      assert.match(io.out, /#4 POST \/orders\n\s+status changed: 201 → 200/);
      assert.match(fs.readFileSync(junit, 'utf8'), /failures="2"/);
      assert.match(fs.readFileSync(html, 'utf8'), /\$\.price/);
    } finally {
      target.behaviour.priceOf = (id) => id * 10;
      target.behaviour.createdStatus = 201;
    }
  });

  test('fresh ids and clocks fail a plain replay and pass with --learn-noise, rules named with their origin', async () => {
    target.behaviour.volatile = true;
    try {
      const recorded = recordedTraffic();
      for (const e of recorded.log.entries) {
        if (
          e.response.content.mimeType !== 'application/json' ||
          e.response.headers[0]?.value === 'text/plain'
        )
          continue;
        const body = JSON.parse(e.response.content.text ?? '{}') as Record<string, unknown>;
        Object.assign(body, { requestId: randomUUID(), servedAt: '2024-01-01T00:00:00.000Z' });
        e.response.content.text = JSON.stringify(body);
      }
      recorded.log.entries[4]!.response.content.text = 'line one\nserved 2024-01-01T00:00:00.000Z\n';
      const file = writeHar('volatile.har', recorded);
      const plain = captureIo();
      assert.equal(await runReplayCommand([file, '--target', target.url], plain), 1);
      assert.match(plain.out, /\$\.requestId changed/);

      const learning = captureIo();
      const code = await runReplayCommand([file, '--target', target.url, '--learn-noise'], learning);
      assert.equal(code, 0, learning.out);
      assert.match(learning.out, /passed 5, failed 0/);
      assert.match(
        learning.out,
        /ignore \$\.requestId \(GET \/items\/:id\): \d+ ignored; learned: differed between two replays of GET \/items\/\d/,
      );
      assert.match(
        learning.out,
        /ignore \$\.servedAt \(POST \/orders\): 1 ignored; learned: differed between two replays of POST \/orders/,
      );
      assert.match(learning.out, /ignore text matching .* \(GET \/text\)/);
      assert.match(learning.err, /learning noise \(second replay\): 5 requests/);
    } finally {
      target.behaviour.volatile = false;
    }
  });

  test('requests of one recorded connection go in order on one connection; connections run side by side', async () => {
    target.sockets.clear();
    const entries = ['a', 'b'].flatMap((conn) =>
      [1, 2, 3, 4, 5].map((n) =>
        entry({
          url: `http://shop/items/1?c=${conn}&n=${conn}${n}`,
          responseBody: '{"id":1,"price":10}',
          connection: conn,
        }),
      ),
    );
    const io = captureIo();
    assert.equal(
      await runReplayCommand(
        [writeHar('order.har', har(entries)), '--target', target.url, '--concurrency', '2'],
        io,
      ),
      0,
    );
    const sequences = [...target.sockets.values()].map((seen) => seen.join(',')).sort();
    assert.deepEqual(sequences, ['a1,a2,a3,a4,a5', 'b1,b2,b3,b4,b5']);
  });

  test('headers: redacted and hop-by-hop ones are not sent, --header replaces, --rewrite-host', async () => {
    target.received.length = 0;
    const recorded = entry({
      url: 'http://shop.example/items/1',
      requestHeaders: [
        { name: 'host', value: 'shop.example' },
        { name: 'authorization', value: '[REDACTED]', _redacted: true },
        { name: 'connection', value: 'upgrade' },
        { name: 'x-tenant', value: 'old' },
        { name: 'accept', value: 'application/json' },
      ],
      responseBody: '{"id":1,"price":10}',
    });
    const file = writeHar('headers.har', har([recorded]));
    const io = captureIo();
    const args = [
      file,
      '--target',
      target.url,
      '--header',
      'X-Tenant: new',
      '--header',
      'authorization: Bearer fresh',
    ];
    assert.equal(await runReplayCommand(args, io), 0, io.out + io.err);
    const [sent] = target.received;
    assert.equal(sent?.host, 'shop.example');
    assert.equal(sent?.authorization, 'Bearer fresh');
    assert.equal(sent?.['x-tenant'], 'new');
    assert.equal(sent?.accept, 'application/json');
    assert.notEqual(sent?.connection, 'upgrade');

    target.received.length = 0;
    const hostless = entry({
      url: 'http://shop/items/1',
      requestHeaders: [{ name: ':authority', value: 'shop' }],
      responseBody: '{"id":1,"price":10}',
    });
    assert.equal(
      await runReplayCommand(
        [writeHar('hostless.har', har([hostless])), '--target', target.url],
        captureIo(),
      ),
      0,
    );
    assert.equal(target.received[0]?.host, new URL(target.url).host);

    target.received.length = 0;
    assert.equal(await runReplayCommand([file, '--target', target.url, '--rewrite-host'], captureIo()), 0);
    assert.equal(target.received[0]?.host, new URL(target.url).host);
    assert.equal(target.received[0]?.authorization, undefined);
  });

  test('--exclude-unsafe skips POST; --rate spaces requests', async () => {
    const io = captureIo();
    assert.equal(
      await runReplayCommand(
        [writeHar('unsafe.har', recordedTraffic()), '--target', target.url, '--exclude-unsafe'],
        io,
      ),
      0,
    );
    assert.match(io.out, /passed 4, failed 0, errors 0, skipped 1/);
    assert.match(io.out, /POST is not safe to repeat/);

    const entries = Array.from({ length: 6 }, () =>
      entry({ url: 'http://shop/items/1', responseBody: '{"id":1,"price":10}' }),
    );
    const started = performance.now();
    assert.equal(
      await runReplayCommand(
        [writeHar('rate.har', har(entries)), '--target', target.url, '--rate', '20/s', '--concurrency', '6'],
        captureIo(),
      ),
      0,
    );
    // Six starts 50 ms apart: the last one 250 ms after the first.
    assert.ok(performance.now() - started >= 240);
  });
});

describe('loupe replay with bad input or a bad target', () => {
  test('bad usage and bad input exit 2 with a clear message', async () => {
    const good = writeHar('good.har', recordedTraffic());
    const cases: [string[], RegExp][] = [
      [[good], /no --target URL given/],
      [['--target', 'http://127.0.0.1:1'], /no HAR file given/],
      [[good, '--target', 'ftp://x'], /--target must be http:\/\/ or https:\/\//],
      [[good, '--target', 'not a url'], /--target is not a URL/],
      [[good, '--target', 'http://x', '--concurrency', '0'], /--concurrency must be a whole number/],
      [[good, '--target', 'http://x', '--rate', 'fast'], /--rate must be a number/],
      [[good, '--target', 'http://x', '--timeout', '10'], /--timeout: not a duration/],
      [[good, '--target', 'http://x', '--header', 'no colon'], /--header must look like 'Name: value'/],
      [[good, '--target', 'http://x', '--bogus'], /Unknown option '--bogus'/],
      [[path.join(tmp, 'absent.har'), '--target', 'http://x'], /cannot read .*absent\.har/],
      [[writeHar('malformed.har', '{"log": {'), '--target', 'http://x'], /malformed\.har is not JSON/],
      [
        [writeHar('invalid.har', '{"log": {"version": "1.2"}}'), '--target', 'http://x'],
        /\$\.log\.creator: required object is missing/,
      ],
      [[writeHar('empty.har', har([])), '--target', 'http://x'], /has no entries; nothing to replay/],
      [
        [good, '--target', 'http://x', '--config', writeHar('bad.yaml', 'noise: [{ignore_path: nope}]')],
        /bad\.yaml: noise\[0\]\.ignore_path: bad JSON path/,
      ],
    ];
    for (const [args, message] of cases) {
      const io = captureIo();
      assert.equal(await runReplayCommand(args, io), 2, args.join(' '));
      assert.match(io.err, message, args.join(' '));
    }
    const help = captureIo();
    assert.equal(await runReplayCommand(['--help'], help), 0);
    assert.match(help.out, /Usage: loupe replay FILE\.har --target URL/);
  });

  test('a target that refuses connections: exit 1 at once, saying so', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const io = captureIo();
    const started = performance.now();
    const code = await runReplayCommand(
      [writeHar('refused.har', recordedTraffic()), '--target', `http://127.0.0.1:${port}`],
      io,
    );
    assert.equal(code, 1);
    assert.match(
      io.err,
      new RegExp(
        `cannot connect to http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED .*is the service under test running\\?`,
      ),
    );
    assert.ok(performance.now() - started < 2000);
  });

  test('a target that accepts and never answers: each request times out, the run stops in bounded time', async () => {
    const held: net.Socket[] = [];
    const server = net.createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const entries = Array.from({ length: 40 }, (_, i) =>
        entry({ url: `http://shop/items/${i}`, responseBody: '{}' }),
      );
      const io = captureIo();
      const started = performance.now();
      const args = [
        writeHar('hang.har', har(entries)),
        '--target',
        `http://127.0.0.1:${port}`,
        '--timeout',
        '200ms',
        '--concurrency',
        '5',
      ];
      const code = await runReplayCommand(args, io);
      const elapsed = performance.now() - started;
      assert.equal(code, 1);
      assert.match(io.out, /timeout: no complete response in 200 ms/);
      assert.match(io.out, /stopped early: target stopped answering: 10 requests in a row failed/);
      assert.match(io.out, /skipped 2\d/);
      // 10 failures at 5 at a time, 200 ms each, plus the ones in flight: well under 2 s, not 40 × 200 ms / 5.
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
