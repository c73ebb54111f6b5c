import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildApi, isLoopback, listenApi, type CollectorStatus, type QueryResponse } from '../src/api.js';
import { QueryRunner } from '../src/query-runner.js';

const STATUS: CollectorStatus = {
  eventsPerSecond: 12.5,
  drops: 3,
  parseErrors: 1,
  storeRows: 4200,
  storeBytes: 1_048_576,
};

describe('query API', () => {
  let instance: DuckDBInstance;
  let runner: QueryRunner;
  const app = () => buildApi({ nodeName: 'node-a', queries: runner, status: () => STATUS });

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    const setup = await instance.connect();
    await setup.run(
      'CREATE TABLE http_events (time TIMESTAMP_NS, req_path VARCHAR, req_headers JSON, latency_ns BIGINT)',
    );
    await setup.run(`INSERT INTO http_events
      SELECT ('2024-05-01 12:00:0' || i || '.123456789')::TIMESTAMP_NS,
             '/api/' || i,
             '{"host": "svc-' || i || '"}',
             i * 1000000
        FROM range(5) t(i)`);
    setup.closeSync();
    runner = await QueryRunner.create(instance, { timeoutMs: 300, maxRows: 3 });
  });

  after(() => instance.closeSync());

  it('answers a SELECT with columns, JSON-safe rows and the answering node', async () => {
    const response = await app().inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: {
        sql: `SELECT time, req_path, req_headers, latency_ns, 9007199254740993::BIGINT AS huge
                FROM http_events ORDER BY time LIMIT 2`,
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<QueryResponse>();
    assert.deepEqual(body.columns, ['time', 'req_path', 'req_headers', 'latency_ns', 'huge']);
    assert.deepEqual(body.rows[0], {
      time: '2024-05-01T12:00:00.123456789Z',
      req_path: '/api/0',
      req_headers: { host: 'svc-0' },
      latency_ns: 0,
      huge: '9007199254740993',
    });
    assert.equal(body.rows[1]?.latency_ns, 1_000_000);
    assert.equal(body.truncated, false);
    assert.equal(body.nodes.length, 1);
    const [node] = body.nodes;
    assert.equal(node?.name, 'node-a');
    assert.equal(node?.ok, true);
    assert.equal(node?.rows, 2);
    assert.equal(node?.error, null);
    assert.ok(typeof node?.ms === 'number' && node.ms >= 0);
  });

  it('cuts results at the row cap and says so', async () => {
    const response = await app().inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { sql: 'FROM http_events' },
    });
    const body = response.json<QueryResponse>();
    assert.equal(body.rows.length, 3);
    assert.equal(body.truncated, true);
  });

  it('refuses non-SELECT SQL with 400 and a code', async () => {
    const response = await app().inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { sql: "COPY http_events TO '/tmp/x.csv'" },
    });
    assert.equal(response.statusCode, 400);
    const body = response.json();
    assert.equal(body.code, 'SQL_NOT_SELECT');
    assert.equal(body.nodes[0].ok, false);
    assert.match(body.nodes[0].error, /only SELECT/);
  });

  it('reports a failing query (unknown table) as 400 QUERY_FAILED', async () => {
    const response = await app().inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { sql: 'FROM nowhere' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().code, 'QUERY_FAILED');
    assert.match(response.json().message, /nowhere/);
  });

  it('answers 504 when the time limit stops a query', async () => {
    const response = await app().inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { sql: 'SELECT count(*) FROM range(1e13::BIGINT)' },
    });
    assert.equal(response.statusCode, 504);
    assert.equal(response.json().code, 'QUERY_TIMEOUT');
  });

  for (const payload of [{}, { sql: '' }, { sql: 42 }, { sql: 'SELECT 1', extra: true }]) {
    it(`validates the body: ${JSON.stringify(payload)}`, async () => {
      const response = await app().inject({ method: 'POST', url: '/api/v1/query', payload });
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().code, 'BAD_REQUEST');
    });
  }

  it('serves status from the injected provider', async () => {
    const response = await app().inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { node: 'node-a', ...STATUS });
  });

  it('serves health and Prometheus metrics', async () => {
    const api = app();
    assert.deepEqual((await api.inject({ method: 'GET', url: '/healthz' })).json(), { ok: true });
    const metrics = await api.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /^# TYPE loupe_drops_total counter$/m);
    assert.match(metrics.body, /^loupe_drops_total\{node="node-a"\} 3$/m);
    assert.match(metrics.body, /^loupe_store_bytes\{node="node-a"\} 1048576$/m);
    assert.match(metrics.body, /^loupe_events_per_second\{node="node-a"\} 12\.5$/m);
  });

  it('answers unknown routes with a coded 404', async () => {
    const response = await app().inject({ method: 'GET', url: '/api/v1/nope' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().code, 'NOT_FOUND');
  });
});

describe('API authentication', () => {
  const queries = { run: async () => ({ columns: [], rows: [], truncated: false }) };
  const status = () => STATUS;

  it('refuses to be built off loopback without a token', () => {
    assert.throws(() => buildApi({ nodeName: 'n', queries, status, host: '0.0.0.0' }), /without a token/);
    assert.throws(() => buildApi({ nodeName: 'n', queries, status, host: '10.1.2.3' }), /without a token/);
  });

  it('needs no token on loopback when none is set', async () => {
    const api = buildApi({ nodeName: 'n', queries, status });
    assert.equal((await api.inject({ method: 'GET', url: '/api/v1/status' })).statusCode, 200);
  });

  it('checks the bearer token on every /api call off loopback', async () => {
    const api = buildApi({ nodeName: 'n', queries, status, host: '0.0.0.0', token: 's3cret' });
    const missing = await api.inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json().code, 'UNAUTHORIZED');
    const wrong = await api.inject({
      method: 'GET',
      url: '/api/v1/status',
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.statusCode, 401);
    const query = await api.inject({ method: 'POST', url: '/api/v1/query', payload: { sql: 'SELECT 1' } });
    assert.equal(query.statusCode, 401);
    const right = await api.inject({
      method: 'GET',
      url: '/api/v1/status',
      headers: { authorization: 'Bearer s3cret' },
    });
    assert.equal(right.statusCode, 200);
    // Probes stay reachable for the kubelet and Prometheus.
    assert.equal((await api.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('tells loopback from other addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1']) {
      assert.equal(isLoopback(host), false, host);
    }
  });

  it('listens on the host it was built for', async () => {
    const api = buildApi({ nodeName: 'n', queries, status });
    const address = await listenApi(api, 0);
    try {
      assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${address}/healthz`);
      assert.equal(response.status, 200);
    } finally {
      await api.close();
    }
  });
});

describe('JSON-safe values', () => {
  let instance: DuckDBInstance;
  let runner: QueryRunner;

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    runner = await QueryRunner.create(instance);
  });

  after(() => instance.closeSync());

  it('turns every DuckDB type a script is likely to produce into plain JSON', async () => {
    const result = await runner.run(`SELECT
        42::BIGINT AS small_bigint,
        -9007199254740993::BIGINT AS big_bigint,
        sum(x)::HUGEINT AS hugeint,
        1.25::DECIMAL(5, 2) AS decimal,
        123456789012345678.5::DECIMAL(38, 1) AS wide_decimal,
        0.5::DOUBLE AS double,
        TIMESTAMP_NS '1969-12-31 23:59:59.999999999' AS before_epoch_ns,
        TIMESTAMP '2024-02-29 01:02:03.000004' AS micros,
        TIMESTAMP_MS '2024-02-29 01:02:03.004' AS millis,
        TIMESTAMP_S '2024-02-29 01:02:03' AS seconds,
        'infinity'::TIMESTAMP_NS AS forever,
        '-infinity'::TIMESTAMP AS never,
        ['{"a": 1}'::JSON] AS json_list,
        {'inner': '[1, 2]'::JSON, 'n': 7::BIGINT} AS json_struct,
        'not json' AS text,
        NULL::INTEGER AS nothing
      FROM (VALUES (1), (2)) t(x)`);
    assert.deepEqual(result.rows, [
      {
        small_bigint: 42,
        big_bigint: '-9007199254740993',
        hugeint: 3,
        decimal: 1.25,
        wide_decimal: '123456789012345678.5',
        double: 0.5,
        before_epoch_ns: '1969-12-31T23:59:59.999999999Z',
        micros: '2024-02-29T01:02:03.000004Z',
        millis: '2024-02-29T01:02:03.004Z',
        seconds: '2024-02-29T01:02:03Z',
        forever: 'infinity',
        never: '-infinity',
        json_list: [{ a: 1 }],
        json_struct: { inner: [1, 2], n: 7 },
        text: 'not json',
        nothing: null,
      },
    ]);
    assert.deepEqual(
      result.columns.map((column) => column.type),
      [
        'BIGINT',
        'BIGINT',
        'HUGEINT',
        'DECIMAL(5,2)',
        'DECIMAL(38,1)',
        'DOUBLE',
        'TIMESTAMP_NS',
        'TIMESTAMP',
        'TIMESTAMP_MS',
        'TIMESTAMP_S',
        'TIMESTAMP_NS',
        'TIMESTAMP',
        // Nested aliases are not spelled out in type names (the values are still parsed).
        'VARCHAR[]',
        'STRUCT("inner" VARCHAR, "n" BIGINT)',
        'VARCHAR',
        'INTEGER',
      ],
    );
  });

  it('keeps duplicate column names apart', async () => {
    const result = await runner.run('SELECT 1 AS a, 2 AS a');
    assert.equal(result.columns.length, 2);
    assert.equal(new Set(result.columns.map((column) => column.name)).size, 2);
    assert.deepEqual(Object.values(result.rows[0] ?? {}), [1, 2]);
  });
});
