/**
 * End to end on a real kernel: real servers (nginx, a Node.js http server) and real clients (curl, wrk, fetch, a raw
 * pipelining client) on loopback, captured by a real `loupe up`, checked through `loupe query`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, run, start, stopAll, waitForPort, type Running } from './support/processes.js';
import { startNginx, type Nginx } from './support/nginx.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

interface HttpRow {
  role: string;
  process: string;
  req_method: string;
  req_path: string;
  resp_status: number;
  req_body_size: number;
  resp_body_size: number;
  resp_body: string;
  req_headers: Record<string, string>;
  resp_headers: Record<string, string>;
  latency_ns: number;
  local_port: number;
  remote_port: number;
  remote_addr: string;
  version: string;
}

const COLUMNS = `role, process, req_method, req_path, resp_status, req_body_size, resp_body_size, resp_body,
  req_headers, resp_headers, latency_ns, local_port, remote_port, remote_addr, version`;

describe('HTTP/1.x capture with real servers and clients', { timeout: 180_000 }, () => {
  let appPort: number;
  let nginx: Nginx;
  let loupe: LoupeUp;
  let preexisting: Running;

  const rowsFor = (pathPrefix: string, expected: number) =>
    loupe.waitForRows<HttpRow>(
      `SELECT ${COLUMNS} FROM http_events WHERE starts_with(req_path, '${pathPrefix}') ORDER BY role, req_path`,
      (rows) => rows.length >= expected,
    );

  before(async () => {
    appPort = await freePort();
    start('node', [path.join(supportDir, 'node-http-server.js'), String(appPort)]);
    await waitForPort(appPort);
    nginx = await startNginx(await freePort(), appPort);

    // A keep-alive connection opened, and used once, before the collector starts.
    preexisting = start('node', [path.join(supportDir, 'raw-http-client.js'), '127.0.0.1', String(appPort)]);
    await preexisting.waitForLine(/connected/);
    preexisting.child.stdin?.write('send /hello?pre=before\n');
    await preexisting.waitForLine(/done 1/);

    loupe = await startLoupeUp(await freePort());
  });

  after(async () => {
    await loupe?.stop();
    await nginx?.stop();
    await stopAll();
  });

  test('curl against Node.js: methods, statuses, bodies, both roles', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    await run('curl', ['-s', '-o', '/dev/null', `${base}/hello?c=get`]);
    await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-X',
      'POST',
      '--data-binary',
      'x'.repeat(3000),
      `${base}/echo?c=post`,
    ]);
    await run('curl', ['-s', '-o', '/dev/null', `${base}/status/503?c=503`]);
    await run('curl', ['-s', '-o', '/dev/null', '-I', `${base}/hello?c=head`]);

    const rows = await rowsFor('/hello?c=', 4);
    const echo = await rowsFor('/echo?c=post', 2);
    const failed = await rowsFor('/status/503?c=503', 2);

    for (const role of ['client', 'server']) {
      const get = rows.find((r) => r.role === role && r.req_path === '/hello?c=get');
      assert.ok(get, `GET as ${role}`);
      assert.equal(get.req_method, 'GET');
      assert.equal(get.resp_status, 200);
      assert.equal(get.resp_body, 'hello');
      assert.equal(get.resp_body_size, 5);
      assert.equal(get.version, '1.1');
      assert.ok(get.latency_ns > 0 && get.latency_ns < 5e9, `latency ${get.latency_ns}`);
      assert.equal(get.process, role === 'client' ? 'curl' : 'node');

      const head = rows.find((r) => r.role === role && r.req_path === '/hello?c=head');
      assert.ok(head, `HEAD as ${role}`);
      assert.equal(head.req_method, 'HEAD');
      assert.equal(head.resp_status, 200);
      assert.equal(head.resp_body_size, 0);

      const post = echo.find((r) => r.role === role);
      assert.ok(post, `POST as ${role}`);
      assert.equal(post.req_method, 'POST');
      assert.equal(post.req_body_size, 3000);
      assert.equal(post.resp_status, 201);
      assert.equal(post.resp_body_size, 3000);

      const fail = failed.find((r) => r.role === role);
      assert.equal(fail?.resp_status, 503);
    }
    const server = rows.find((r) => r.role === 'server' && r.req_path === '/hello?c=get');
    const client = rows.find((r) => r.role === 'client' && r.req_path === '/hello?c=get');
    assert.equal(server?.local_port, appPort);
    assert.equal(client?.remote_port, appPort);
    assert.equal(client?.remote_addr, '127.0.0.1');
    assert.equal(rows.length, 4, 'exactly one row per request and role');
  });

  test('chunked and gzip responses to fetch', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    const script = `const b='${base}';for (const p of ['/chunked?f=1','/gzip?f=2','/hello?f=3']) { const r = await fetch(b+p); await r.text(); }`;
    await run('node', ['--input-type=module', '-e', script]);
    const rows = await loupe.waitForRows<HttpRow>(
      `SELECT ${COLUMNS} FROM http_events WHERE regexp_matches(req_path, '\\?f=[123]$') AND role = 'server' ORDER BY req_path`,
      (r) => r.length >= 3,
    );
    assert.deepEqual(
      rows.map((r) => [r.req_path, r.resp_status]),
      [
        ['/chunked?f=1', 200],
        ['/gzip?f=2', 200],
        ['/hello?f=3', 200],
      ],
    );
    assert.equal(rows[0]?.resp_body, 'part-one;part-two');
    assert.equal(rows[0]?.resp_headers['transfer-encoding'], 'chunked');
    assert.deepEqual(JSON.parse(rows[1]?.resp_body ?? ''), { compressed: true, n: 42 });
  });

  test('large bodies are cut at the body cap with their true size; secrets are redacted', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    await run('curl', ['-s', '-o', '/dev/null', `${base}/big?n=100000&b=1`]);
    await run('curl', ['-s', '-o', '/dev/null', '-H', 'Authorization: Bearer hunter2', `${base}/cookie?b=2`]);
    const [big] = await loupe.waitForRows<HttpRow & { resp_body_truncated: boolean; body_len: number }>(
      `SELECT resp_body_size, resp_body_truncated, length(resp_body) AS body_len FROM http_events
       WHERE req_path = '/big?n=100000&b=1' AND role = 'server'`,
      (r) => r.length >= 1,
    );
    assert.deepEqual(big, { resp_body_size: 100000, resp_body_truncated: true, body_len: 8192 });
    const secret = await loupe.waitForRows<HttpRow>(
      `SELECT ${COLUMNS} FROM http_events WHERE req_path = '/cookie?b=2'`,
      (r) => r.length >= 2,
    );
    for (const row of secret) {
      assert.equal(row.req_headers['authorization'], '[REDACTED]');
      assert.equal(row.resp_headers['set-cookie'], '[REDACTED]');
    }
    const leaked =
      await loupe.query(`SELECT 1 FROM http_events WHERE contains(CAST(req_headers AS VARCHAR), 'hunter2')
      OR contains(CAST(resp_headers AS VARCHAR), 's3cr3t')`);
    assert.deepEqual(leaked, []);
  });

  test('a reply written in one writev of many segments is stored whole, chunked or not', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    await run('curl', ['-s', '-o', '/dev/null', `${base}/segments?chunked=0`]);
    await run('curl', ['-s', '-o', '/dev/null', `${base}/segments?chunked=1`]);
    const rows = await loupe.waitForRows<{ req_path: string; resp_body: string; resp_body_size: number }>(
      `SELECT req_path, resp_body, resp_body_size FROM http_events
       WHERE starts_with(req_path, '/segments?') AND role = 'server' ORDER BY req_path`,
      (r) => r.length >= 2,
    );
    const body = `first;${'y'.repeat(9000)};last`;
    assert.deepEqual(
      rows.map((r) => [r.req_path, r.resp_body_size, r.resp_body === body.slice(0, 8192)]),
      [
        ['/segments?chunked=0', body.length, true],
        ['/segments?chunked=1', body.length, true],
      ],
    );
  });

  test('curl reuses one keep-alive connection for several requests', async () => {
    const base = `http://127.0.0.1:${appPort}`;
    await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      `${base}/hello?k=1`,
      `${base}/status/404?k=2`,
    ]);
    const rows = await loupe.waitForRows<HttpRow>(
      `SELECT ${COLUMNS} FROM http_events WHERE regexp_matches(req_path, '\\?k=[12]$') AND role = 'server' ORDER BY req_path`,
      (r) => r.length >= 2,
    );
    assert.deepEqual(
      rows.map((r) => [r.req_path, r.resp_status]),
      [
        ['/hello?k=1', 200],
        ['/status/404?k=2', 404],
      ],
    );
    assert.equal(rows[0]?.remote_port, rows[1]?.remote_port, 'both requests on one connection');
  });

  test('pipelined requests are paired in order', async () => {
    const client = start('node', [path.join(supportDir, 'raw-http-client.js'), '127.0.0.1', String(appPort)]);
    await client.waitForLine(/connected/);
    client.child.stdin?.write('send /hello?pipe=1 /status/404?pipe=2 /hello?pipe=3\n');
    await client.waitForLine(/done 3/);
    const rows = await rowsFor('/hello?pipe=', 4);
    const missing = await rowsFor('/status/404?pipe=2', 2);
    for (const role of ['client', 'server']) {
      assert.deepEqual(
        rows.filter((r) => r.role === role).map((r) => [r.req_path, r.resp_status]),
        [
          ['/hello?pipe=1', 200],
          ['/hello?pipe=3', 200],
        ],
      );
      assert.equal(missing.find((r) => r.role === role)?.resp_status, 404);
    }
    await client.stop();
  });

  test('a connection opened before the collector started is captured', async () => {
    preexisting.child.stdin?.write('send /hello?pre=after\n');
    await preexisting.waitForLine(/done 2/);
    const rows = await rowsFor('/hello?pre=', 2);
    assert.deepEqual(rows.map((r) => [r.role, r.req_path, r.resp_status]).sort(), [
      ['client', '/hello?pre=after', 200],
      ['server', '/hello?pre=after', 200],
    ]);
  });

  test('nginx: fixed replies, sendfile bodies, proxying (both roles), IPv6', async () => {
    const base = `http://127.0.0.1:${nginx.port}`;
    await run('curl', ['-s', '-o', '/dev/null', `${base}/small?n=1`]);
    await run('curl', ['-s', '-o', '/dev/null', `${base}/teapot?n=2`]);
    await run('curl', ['-s', '-o', '/dev/null', `${base}/static.txt?n=3`]);
    await run('curl', ['-s', '-o', '/dev/null', `${base}/app/hello?n=4`]);
    await run('curl', ['-s', '-g', '-o', '/dev/null', `http://[::1]:${nginx.port}/small?n=6`]);

    const small = await rowsFor('/small?n=1', 2);
    assert.equal(small.find((r) => r.role === 'server')?.process, 'nginx');
    assert.equal(small.find((r) => r.role === 'server')?.resp_body, 'small reply');
    assert.equal((await rowsFor('/teapot?n=2', 2)).find((r) => r.role === 'server')?.resp_status, 418);

    const file = (await rowsFor('/static.txt?n=3', 2)).find((r) => r.role === 'server');
    assert.equal(file?.resp_status, 200);
    assert.equal(file?.resp_body_size, nginx.staticBytes);

    // curl → nginx (server row at nginx, client row at curl), nginx → node (client row at nginx, server at node).
    const viaNginx = await rowsFor('/app/hello?n=4', 2);
    assert.equal(viaNginx.length, 2);
    const upstream = await rowsFor('/hello?n=4', 2);
    assert.deepEqual(upstream.map((r) => [r.role, r.process, r.resp_status]).sort(), [
      ['client', 'nginx', 200],
      ['server', 'node', 200],
    ]);

    const v6 = (await rowsFor('/small?n=6', 2)).find((r) => r.role === 'server');
    assert.equal(v6?.remote_addr, '::1');
    assert.equal(v6?.resp_status, 200);
  });

  test('wrk at saturation: every completed request has its row, or is counted as dropped', async () => {
    const drops = async () => (await loupe.collectorStatus()).drops;
    const dropsBefore = await drops();
    const out = await run('wrk', ['-t1', '-c4', '-d2s', `http://127.0.0.1:${nginx.port}/small?wrk=1`]);
    const completed = Number(/(\d+) requests in/.exec(out)?.[1]);
    assert.ok(completed > 100, `wrk completed ${completed}`);
    const count = `SELECT count(*) AS n FROM http_events WHERE req_path = '/small?wrk=1' AND role = 'server'`;
    let captured = 0;
    let dropped = 0;
    // The collector may run behind at saturation: wait until every request is stored or accounted for.
    const deadline = Date.now() + 30_000;
    do {
      await new Promise((r) => setTimeout(r, 1_000));
      captured = (await loupe.query<{ n: number }>(count))[0]?.n ?? 0;
      dropped = (await drops()) - dropsBefore;
    } while (captured + dropped < completed && Date.now() < deadline);
    // wrk stops with up to one request in flight per connection; those are answered and captured too.
    assert.ok(captured <= completed + 4, `captured ${captured} of ${completed} completed`);
    // Drops count records (a request is several), so they over-cover the rows they cost: none may go unaccounted.
    assert.ok(
      captured + dropped >= completed,
      `captured ${captured} + dropped ${dropped} < ${completed} completed`,
    );
  });

  test('the store survives a restart intact', async () => {
    // This test's servers only: other traffic on the machine may be in flight across the restart. And only
    // requests answered whole: stopping the collector ends what its connections still hold, and a client that
    // exited mid-request (wrk, above) never closed its socket, so its last request is stored at the stop.
    const ours = [appPort, nginx.port].join(', ');
    const captured = `SELECT count(*) AS n, sum(resp_body_size) AS bytes FROM http_events
                       WHERE (local_port IN (${ours}) OR remote_port IN (${ours}))
                         AND resp_status IS NOT NULL AND NOT resp_body_truncated`;
    // Once the load of the test above has been taken in: two reads a second apart agree.
    let before = await loupe.query<{ n: number; bytes: number }>(captured);
    for (let settled = false; !settled;) {
      await new Promise((r) => setTimeout(r, 1_000));
      const again = await loupe.query<{ n: number; bytes: number }>(captured);
      settled = again[0]?.n === before[0]?.n;
      before = again;
    }
    assert.ok((before[0]?.n ?? 0) > 100);
    await loupe.restart();
    assert.deepEqual(await loupe.query(captured), before);
  });
});
