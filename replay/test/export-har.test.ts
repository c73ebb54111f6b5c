/**
 * HAR export against the real store schema and the real query runner (in-process DuckDB), with a row cap small
 * enough that the export has to page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { CREATE_TABLE_STATEMENTS } from '@loupe/node-collector/dist/src/store/schema.js';
import { QueryRunner } from '@loupe/query-engine/dist/src/query-runner.js';
import { exportHar } from '../src/export/export-har.js';
import { pageSql, parseService, sqlString, untilSql } from '../src/export/export-query.js';
import { connectionId, isoToEpochMs, rowToEntry, type HttpEventRow } from '../src/export/row-to-entry.js';
import { validateHar } from '../src/har/har-validator.js';

let instance: DuckDBInstance;
let runner: QueryRunner;

interface RowSpec {
  time: string;
  process: string;
  port: number;
  remotePort: number;
  role?: string;
  path: string;
  method?: string;
  reqHeaders?: Record<string, string>;
  reqBody?: string;
  reqTruncated?: boolean;
  status?: number;
  respBody?: string;
  respTruncated?: boolean;
}

function insertSql(row: RowSpec): string {
  const json = (value: unknown) => `${sqlString(JSON.stringify(value))}::JSON`;
  return `INSERT INTO http_events (time, node, pid, process, local_addr, local_port, remote_addr, remote_port, role,
    version, req_method, req_path, req_headers, req_body, req_body_size, req_body_truncated, resp_status, resp_message,
    resp_headers, resp_body, resp_body_size, resp_body_truncated, latency_ns, encrypted) VALUES (
    TIMESTAMP_NS ${sqlString(row.time)}, 'n1', 10, ${sqlString(row.process)}, '127.0.0.1', ${row.port}, '127.0.0.1',
    ${row.remotePort}, ${sqlString(row.role ?? 'server')}, '1.1', ${sqlString(row.method ?? 'GET')}, ${sqlString(row.path)},
    ${json(row.reqHeaders ?? { host: `127.0.0.1:${row.port}` })}, ${sqlString(row.reqBody ?? '')},
    ${(row.reqBody ?? '').length * (row.reqTruncated ? 10 : 1)}, ${row.reqTruncated ?? false}, ${row.status ?? 200}, 'OK',
    ${json({ 'content-type': 'application/json', 'set-cookie': '[REDACTED]' })}, ${sqlString(row.respBody ?? '{}')},
    ${(row.respBody ?? '{}').length * (row.respTruncated ? 10 : 1)}, ${row.respTruncated ?? false}, 2500000, false)`;
}

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  const setup = await instance.connect();
  for (const statement of CREATE_TABLE_STATEMENTS) await setup.run(statement);
  const rows: RowSpec[] = [];
  for (let i = 0; i < 8; i++) {
    rows.push({
      time: `2025-03-01 10:00:0${i}.123456789`,
      process: i % 2 === 0 ? 'shop' : 'other',
      port: i % 4 === 0 ? 8080 : 9090,
      remotePort: 40000 + (i % 3),
      path: `/items/${i}?page=${i}&q=a%20b`,
    });
  }
  rows.push({
    time: '2025-03-01 10:00:09',
    process: 'shop',
    port: 8080,
    remotePort: 41000,
    method: 'POST',
    path: '/orders',
    reqHeaders: { host: 'shop.local', authorization: '[REDACTED]', 'content-type': 'application/json' },
    reqBody: '{"sku":"a"',
    reqTruncated: true,
    status: 201,
    respBody: '{"id":"it\'s',
    respTruncated: true,
  });
  rows.push({ time: '2025-03-01 10:00:10', process: "o'brien", port: 7000, remotePort: 1, path: '/quote' });
  rows.push({
    time: '2025-03-01 10:00:11',
    process: 'shop',
    port: 8080,
    remotePort: 2,
    role: 'client',
    path: '/upstream',
  });
  for (const row of rows) await setup.run(insertSql(row));
  setup.closeSync();
  runner = await QueryRunner.create({ connect: () => instance.connect() }, { maxRows: 3 });
});

after(() => instance?.closeSync());

test('export pages past the row cap and keeps time order', async () => {
  const har = await exportHar({ source: runner, role: 'server', service: 'shop', pageSize: 100 });
  assert.deepEqual(validateHar(har), []);
  assert.deepEqual(
    har.log.entries.map((entry) => new URL(entry.request.url).pathname),
    ['/items/0', '/items/2', '/items/4', '/items/6', '/orders'],
  );
  const times = har.log.entries.map((entry) => Date.parse(entry.startedDateTime));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
});

test('--service NAME:PORT, --where, --limit and --since narrow the export', async () => {
  const byPort = await exportHar({ source: runner, role: 'server', service: 'shop:8080' });
  assert.equal(byPort.log.entries.length, 3);
  const where = await exportHar({
    source: runner,
    role: 'server',
    where: "req_path LIKE '/items/%' -- a comment",
  });
  assert.equal(where.log.entries.length, 8);
  const limited = await exportHar({ source: runner, role: 'server', where: 'true', limit: 4 });
  assert.equal(limited.log.entries.length, 4);
  const since = await exportHar({
    source: runner,
    role: 'server',
    where: 'true',
    since: new Date('2025-03-01T10:00:09Z'),
  });
  assert.equal(since.log.entries.length, 2);
  const quoted = await exportHar({ source: runner, role: 'server', service: "o'brien" });
  assert.equal(quoted.log.entries.length, 1);
  const client = await exportHar({ source: runner, role: 'client', service: 'shop' });
  assert.deepEqual(
    client.log.entries.map((entry) => new URL(entry.request.url).pathname),
    ['/upstream'],
  );
  const none = await exportHar({ source: runner, role: 'server', service: 'nobody' });
  assert.equal(none.log.entries.length, 0);
  assert.deepEqual(validateHar(none), []);
});

test('an exported entry carries HAR 1.2 fields, truncation and redaction marks, and its connection', async () => {
  const har = await exportHar({ source: runner, role: 'server', service: 'shop' });
  const items = har.log.entries[0]!;
  assert.equal(har.log.version, '1.2');
  assert.equal(har.log.creator.name, 'loupe');
  assert.equal(items.request.url, 'http://127.0.0.1:8080/items/0?page=0&q=a%20b');
  assert.deepEqual(items.request.queryString, [
    { name: 'page', value: '0' },
    { name: 'q', value: 'a b' },
  ]);
  assert.equal(items.startedDateTime, '2025-03-01T10:00:00.120Z');
  assert.equal(items.time, 2.5);
  assert.deepEqual(items.timings, { send: 0, wait: 2.5, receive: 0 });
  assert.equal(items.connection, 'n1/127.0.0.1:8080-127.0.0.1:40000');
  assert.equal(items.request.postData, undefined);

  const order = har.log.entries[4]!;
  assert.equal(order.request.url, 'http://shop.local/orders');
  assert.equal(order.request.postData?._truncated, true);
  assert.equal(order.request.postData?.mimeType, 'application/json');
  assert.equal(order.response.content._truncated, true);
  assert.match(order.comment ?? '', /request body cut at capture: 10 of 100 bytes kept/);
  assert.match(order.comment ?? '', /redacted at capture: authorization, set-cookie/);
  assert.deepEqual(
    order.request.headers.find((h) => h.name === 'authorization'),
    { name: 'authorization', value: '[REDACTED]', _redacted: true },
  );
  assert.equal(order.response.status, 201);
  assert.equal(order.response.content.size, 110);
});

test('SQL pieces: quoting, service parsing, the user predicate on its own lines', () => {
  assert.equal(sqlString("it's"), "'it''s'");
  assert.deepEqual(parseService('api:8080'), { process: 'api', port: 8080 });
  assert.deepEqual(parseService('api'), { process: 'api' });
  assert.deepEqual(parseService('api:99999'), { process: 'api:99999' });
  const sql = pageSql(
    { role: 'server', service: "x'; DROP", where: 'a = 1 -- c' },
    '2025-01-01T00:00:00.5Z',
    10,
    20,
  );
  assert.match(sql, /process = 'x''; DROP'/);
  assert.match(sql, /\(\na = 1 -- c\n\)/);
  assert.match(sql, /time <= TIMESTAMP_NS '2025-01-01 00:00:00.5'/);
  assert.match(sql, /LIMIT 10 OFFSET 20$/);
  assert.match(untilSql({ role: 'client' }), /role = 'client'/);
  assert.throws(() => pageSql({ role: 'server' }, '2025-01-01T00:00:00Z', 0, 0), /bad page bounds/);
});

test('row mapping: IPv6 addresses, ns timestamps, headers as JSON text', () => {
  const row = {
    time: '2025-03-01T10:00:00.000000500Z',
    node: 'n',
    pid: 1,
    process: 'p',
    local_addr: '::1',
    local_port: 80,
    remote_addr: '::1',
    remote_port: 5000,
    version: '1.0',
    req_method: 'GET',
    req_path: '/',
    req_headers: '{"accept":"*/*"}',
    req_body: '',
    req_body_size: 0,
    req_body_truncated: false,
    resp_status: 302,
    resp_message: 'Found',
    resp_headers: { location: '/elsewhere' },
    resp_body: '',
    resp_body_size: 0,
    resp_body_truncated: false,
    latency_ns: 1000000,
    encrypted: true,
  } satisfies HttpEventRow;
  const entry = rowToEntry(row, 'server');
  assert.equal(entry.request.url, 'https://[::1]:80/');
  assert.equal(entry.request.httpVersion, 'HTTP/1.0');
  assert.equal(entry.response.redirectURL, '/elsewhere');
  assert.deepEqual(entry.request.headers, [{ name: 'accept', value: '*/*' }]);
  assert.equal(connectionId(row), 'n/[::1]:80-[::1]:5000');
  assert.equal(isoToEpochMs(row.time), Date.parse('2025-03-01T10:00:00Z') + 0.0005);
  assert.deepEqual(
    validateHar({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [entry] } }),
    [],
  );
});
