import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildBroker } from '../src/broker/broker-app.js';
import { DistributedEngine } from '../src/broker/distributed-engine.js';
import { queryRoutes } from '../src/broker/query-routes.js';
import { NodeRegistry } from '../src/registry/node-registry.js';
import { ScriptLibrary } from '../src/scripts/script-library.js';
import { scriptRoutes } from '../src/scripts/script-routes.js';
import { startFakeCluster, TEST_TABLES, type FakeCluster } from './support/fake-cluster.js';
import { AD_HOC_QUERIES } from './support/query-battery.js';
import { assertSameRows } from './support/same-rows.js';
import { closedWindow, inlineParams, paramsUsed } from './support/script-sql.js';

describe('distributed queries over three nodes', () => {
  let cluster: FakeCluster;
  let engine: DistributedEngine;
  let scripts: ScriptLibrary;
  let broker: FastifyInstance;

  before(async () => {
    cluster = await startFakeCluster(['a', 'b', 'c'], 3000);
    engine = await DistributedEngine.create(cluster.registry, { queryTimeoutMs: 5_000 });
    scripts = await ScriptLibrary.loadBundled();
    broker = buildBroker({
      registry: cluster.registry,
      downAfterMs: 15_000,
      plugins: [queryRoutes(engine, scripts), scriptRoutes(scripts)],
    });
  });
  after(async () => {
    await broker.close();
    engine.close();
    await cluster.close();
  });

  for (const [sql, ordered] of AD_HOC_QUERIES) {
    it(`answers like one database: ${sql.replace(/\s+/g, ' ').slice(0, 90)}`, async () => {
      const answer = await engine.query({ sql });
      assert.deepEqual(
        answer.nodes.map((node) => [node.name, node.status]),
        [
          ['a', 'ok'],
          ['b', 'ok'],
          ['c', 'ok'],
        ],
      );
      assertSameRows(
        answer.rows,
        await cluster.referenceRows(answer.plan.brokerSql.includes('__loupe') ? sql : answer.plan.brokerSql),
        ordered,
        sql,
      );
    });
  }

  it('runs every bundled script like one database, over the API', async () => {
    const listed = (await broker.inject({ method: 'GET', url: '/api/v1/scripts' })).json().scripts;
    assert.deepEqual(listed.map((script: { name: string }) => script.name).sort(), [
      'http_errors',
      'http_requests',
      'network_flows',
      'node_health',
      'service_map',
      'service_stats',
      'slowest_requests',
      'sql_queries',
    ]);
    for (const script of scripts.list()) {
      const response = await broker.inject({
        method: 'POST',
        url: '/api/v1/query',
        payload: { script: script.name },
      });
      assert.equal(response.statusCode, 200, `${script.name}: ${response.body}`);
      const body = response.json();
      assert.ok(body.rows.length > 0, `${script.name} has rows`);
      // The reference reads a moment later than the cluster: both get the same closed window instead.
      const resolved = scripts.resolve(script.name, {});
      const sql = closedWindow(resolved.sql, '2000-01-01', '2100-01-01');
      const params = paramsUsed(sql, resolved.params);
      const distributed = await engine.query({ sql, params });
      assertSameRows(
        distributed.rows,
        await cluster.referenceRows(inlineParams(sql, params)),
        true,
        script.name,
      );
    }
  });

  it("draws one collector's view of the service map when asked for its node", async () => {
    const resolved = scripts.resolve('service_map', { node: 'b' });
    const sql = closedWindow(resolved.sql, '2000-01-01', '2100-01-01');
    const params = paramsUsed(sql, resolved.params);
    const distributed = await engine.query({ sql, params });
    const everyNode = await engine.query({
      sql: closedWindow(scripts.resolve('service_map', {}).sql, '2000-01-01', '2100-01-01'),
      params: paramsUsed(sql, scripts.resolve('service_map', {}).params),
    });
    assert.ok(distributed.rows.length > 0);
    assert.notDeepEqual(distributed.rows, everyNode.rows);
    assertSameRows(
      distributed.rows,
      await cluster.referenceRows(inlineParams(sql, params)),
      true,
      'service_map b',
    );
  });

  it('plans a query once and binds each run to its own instant', async () => {
    const sql =
      "SELECT count(*) AS n, max(now()) AS at FROM http_events WHERE time > (now() AT TIME ZONE 'UTC') - INTERVAL 1 DAY";
    const cachedBefore = engine.counters.plansCached;
    const first = await engine.query({ sql });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await engine.query({ sql });
    assert.equal(engine.counters.plansCached, cachedBefore + 1);
    assert.equal(first.rows[0]?.n, 9000);
    assert.equal(second.rows[0]?.n, 9000);
    assert.ok(
      String(second.rows[0]?.at) > String(first.rows[0]?.at),
      `${second.rows[0]?.at} after ${first.rows[0]?.at}`,
    );
    assert.doesNotMatch(second.plan.brokerSql + second.plan.fragments[0]?.sql, /2000-01-02/);
  });

  it('runs a script with parameters and refuses bad ones', async () => {
    const ok = await broker.inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { script: 'http_requests', params: { method: 'POST', min_status: 500, limit: 5 } },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    const rows = ok.json().rows as { req_method: string; resp_status: number }[];
    assert.ok(rows.length > 0 && rows.length <= 5);
    assert.ok(rows.every((row) => row.req_method === 'POST' && row.resp_status >= 500));
    for (const [params, code] of [
      [{ limit: 'ten' }, 'SQL_PARAMETER'],
      [{ nope: 1 }, 'SQL_PARAMETER'],
    ] as const) {
      const bad = await broker.inject({
        method: 'POST',
        url: '/api/v1/query',
        payload: { script: 'http_requests', params },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, code);
    }
    const unknown = await broker.inject({
      method: 'POST',
      url: '/api/v1/query',
      payload: { script: 'nope' },
    });
    assert.equal(unknown.json().code, 'UNKNOWN_SCRIPT');
  });

  it('refuses hostile SQL at the broker and again at each node, and leaves the stores unchanged', async () => {
    const before = await cluster.referenceRows('SELECT count(*) AS n FROM http_events');
    const hostile = [
      "SELECT * FROM read_text('/etc/passwd')",
      "SELECT * FROM '/etc/passwd'",
      "ATTACH '/tmp/x.db' AS x",
      "COPY http_events TO '/tmp/loupe-out.csv'",
      'SET enable_external_access = true',
      'INSTALL httpfs',
      'LOAD httpfs',
      'DELETE FROM http_events',
      'SELECT 1; DROP TABLE http_events',
      "SELECT * FROM http_events WHERE req_path = (SELECT content FROM read_text('/etc/passwd'))",
    ];
    for (const sql of hostile) {
      const response = await broker.inject({ method: 'POST', url: '/api/v1/query', payload: { sql } });
      assert.equal(response.statusCode, 400, `${sql}: ${response.body}`);
      assert.match(response.json().code, /^SQL_/, sql);
      const direct = await fetch(`${cluster.nodes[0]?.url}/api/v1/fragment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      assert.equal(direct.status, 400, `node: ${sql}`);
      assert.match(((await direct.json()) as { code: string }).code, /^SQL_/);
    }
    for (const node of cluster.nodes) {
      const connection = await node.instance.connect();
      const count = (await connection.runAndReadAll('SELECT count(*) FROM http_events')).getRowsJS()[0]?.[0];
      connection.closeSync();
      assert.equal(count, 3000n, node.name);
    }
    assert.deepEqual(await cluster.referenceRows('SELECT count(*) AS n FROM http_events'), before);
  });

  it('stops a query that would run forever or allocate without bound', async () => {
    const forever = await engine
      .query({ sql: 'SELECT count(*) FROM range(10_000_000_000_000) a' })
      .catch((e) => e);
    assert.equal(forever.code, 'QUERY_TIMEOUT');
    const huge = await engine
      .query({ sql: "SELECT list(repeat('x', 1_000_000)) FROM range(100_000)" })
      .catch((e) => e);
    assert.match(String(huge.code), /QUERY_TIMEOUT|QUERY_FAILED/);
  });
});

describe('partial answers', () => {
  it('flags a down node and a node that does not answer in time, and answers with the rest', async () => {
    const registry = new NodeRegistry({ downAfterMs: 60_000 });
    const cluster = await startFakeCluster(['a', 'b'], 500, registry);
    // A "node" that accepts connections and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    registry.register({ name: 'slow', url: `http://127.0.0.1:${port}`, tables: TEST_TABLES });
    let now = Date.now();
    const clockRegistry = new NodeRegistry({ downAfterMs: 1_000, now: () => now });
    for (const node of registry.list())
      clockRegistry.register({ name: node.name, url: node.url, tables: TEST_TABLES });
    clockRegistry.register({ name: 'gone', url: 'http://127.0.0.1:1', tables: TEST_TABLES });
    now += 5_000;
    for (const name of ['a', 'b', 'slow'])
      clockRegistry.heartbeat(name, {
        eventsPerSecond: 0,
        drops: 0,
        parseErrors: 0,
        storeRows: 0,
        storeBytes: 0,
      });
    const engine = await DistributedEngine.create(clockRegistry, { queryTimeoutMs: 1_500 });
    try {
      const started = Date.now();
      const answer = await engine.query({ sql: 'SELECT count(*) AS n FROM http_events' });
      assert.ok(Date.now() - started < 3_000, 'answered within the timeout');
      assert.deepEqual(answer.rows, [{ n: 1000 }]);
      assert.deepEqual(
        answer.nodes.map((node) => [node.name, node.ok, node.status]),
        [
          ['a', true, 'ok'],
          ['b', true, 'ok'],
          ['gone', false, 'down'],
          ['slow', false, 'timeout'],
        ],
      );
    } finally {
      engine.close();
      silent.close();
      await cluster.close();
    }
  });
});

describe('tokens between broker and collectors', () => {
  it('presents the token each node registered, and reports a node that refuses it', async () => {
    const registry = new NodeRegistry();
    const cluster = await startFakeCluster(['a', 'b'], 100, registry, 'node-secret');
    const b = registry.list().find((node) => node.name === 'b');
    registry.register({ name: 'b', url: b?.url ?? '', tables: TEST_TABLES, token: 'wrong' });
    const engine = await DistributedEngine.create(registry);
    try {
      const answer = await engine.query({ sql: 'SELECT count(*) AS n FROM http_events' });
      assert.deepEqual(answer.rows, [{ n: 100 }]);
      assert.deepEqual(
        answer.nodes.map((node) => [node.name, node.status]),
        [
          ['a', 'ok'],
          ['b', 'error'],
        ],
      );
      assert.match(answer.nodes[1]?.error ?? '', /^UNAUTHORIZED/);
    } finally {
      engine.close();
      await cluster.close();
    }
  });
});

describe('ORDER BY … LIMIT pushed to the nodes', () => {
  const safe = [
    `SELECT time, node, req_path FROM http_events WHERE resp_status >= 500 ORDER BY time DESC, node LIMIT 25`,
    `SELECT h.latency_ns / 1e6 AS ms, h.node FROM http_events AS h ORDER BY ms DESC, h.time LIMIT 10 OFFSET 5`,
    `SELECT req_path, time, node FROM http_events ORDER BY 2 DESC, 3 LIMIT 3`,
  ];
  const unsafe = [
    'SELECT DISTINCT process FROM http_events ORDER BY process LIMIT 2',
    'SELECT node, count(*) AS n FROM http_events GROUP BY node ORDER BY n DESC LIMIT 1',
    'SELECT time, rank() OVER (ORDER BY latency_ns) AS r FROM http_events ORDER BY time LIMIT 5',
    `SELECT time FROM http_events WHERE latency_ns > (SELECT avg(latency_ns) FROM http_events)
     ORDER BY time LIMIT 5`,
    'SELECT time FROM http_events WHERE random() < 2 ORDER BY time LIMIT 5',
    'SELECT time FROM http_events ORDER BY time LIMIT 2000000',
    'SELECT time, node FROM http_events LIMIT 5',
  ];
  let cluster: FakeCluster;
  let engine: DistributedEngine;
  before(async () => {
    cluster = await startFakeCluster(['a', 'b', 'c'], 2000);
    engine = await DistributedEngine.create(cluster.registry, { queryTimeoutMs: 5_000 });
  });
  after(async () => {
    engine.close();
    await cluster.close();
  });

  it('sends each node its own first LIMIT + OFFSET rows, and answers like one database', async () => {
    for (const sql of safe) {
      const answer = await engine.query({ sql });
      const [fragment] = answer.plan.fragments;
      assert.equal(fragment?.kind, 'top-k', sql);
      assert.match(fragment?.sql ?? '', /ORDER BY .* LIMIT (25|15|3)\b/, sql);
      assert.ok(
        answer.nodes.every((node) => node.rows <= 25),
        `${sql}: ${JSON.stringify(answer.nodes)}`,
      );
      assertSameRows(answer.rows, await cluster.referenceRows(sql), true, sql);
    }
  });

  it('keeps the plain scan where a node’s first rows could miss the answer', async () => {
    for (const sql of unsafe) {
      const answer = await engine.query({ sql });
      assert.ok(
        answer.plan.fragments.every((fragment) => fragment.kind !== 'top-k'),
        `${sql}: ${JSON.stringify(answer.plan.fragments)}`,
      );
      if (!sql.includes('random()') && !sql.includes('2000000') && !/LIMIT 5$/.test(sql))
        assertSameRows(answer.rows, await cluster.referenceRows(sql), true, sql);
    }
  });
});

describe('approximate quantiles', () => {
  it('merges approx_quantile sketches from every node to within 1% of the exact quantile', async () => {
    const cluster = await startFakeCluster(['a', 'b', 'c'], 3000);
    const engine = await DistributedEngine.create(cluster.registry);
    try {
      const sql = `SELECT process, approx_quantile(latency_ns, 0.5) AS p50, approx_quantile(latency_ns, 0.99) AS p99,
                          count(*) AS n FROM http_events GROUP BY process ORDER BY process`;
      const answer = await engine.query({ sql });
      assert.equal(answer.plan.fragments[0]?.kind, 'partial-aggregate');
      const exact = await cluster.referenceRows(
        `SELECT process, quantile_disc(latency_ns, 0.5) AS p50, quantile_disc(latency_ns, 0.99) AS p99, count(*) AS n
           FROM http_events GROUP BY process ORDER BY process`,
      );
      assert.equal(answer.rows.length, exact.length);
      answer.rows.forEach((row, i) => {
        const truth = exact[i] as Record<string, number>;
        assert.equal(row.n, truth.n);
        for (const key of ['p50', 'p99']) {
          const error = Math.abs(Number(row[key]) - truth[key]!) / truth[key]!;
          assert.ok(error <= 0.01, `${row.process} ${key}: ${row[key]} vs exact ${truth[key]} (${error})`);
        }
      });
    } finally {
      engine.close();
      await cluster.close();
    }
  });
});
