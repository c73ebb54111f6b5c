import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { brokerTables } from '../src/broker/distributed-engine.js';
import { planQuery, type DescribedColumn, type QueryPlan } from '../src/planner/query-planner.js';
import { SKETCH_MACRO_SQL } from '../src/planner/partial-aggregates.js';
import { createTablesSql, TEST_TABLES } from './support/fake-cluster.js';

const INSTANT = {
  timestamptz: '2024-05-01 12:00:00.5+00',
  timestamp: '2024-05-01 12:00:00.5',
  date: '2024-05-01',
  timetz: '12:00:00.5+00',
  time: '12:00:00.5',
};

describe('query planner', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let aggregates: Set<string>;

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    for (const sql of createTablesSql()) await connection.run(sql);
    await connection.run(SKETCH_MACRO_SQL);
    const reader = await connection.runAndReadAll(
      "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'",
    );
    aggregates = new Set(reader.getRowsJS().map((row) => String(row[0])));
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  const plan = (sql: string, params?: Record<string, { text: string; type: string }>): Promise<QueryPlan> =>
    planQuery(sql, {
      tables: brokerTables(TEST_TABLES),
      instant: INSTANT,
      aggregates,
      ...(params ? { params } : {}),
      describe: async (text) => {
        const prepared = await connection.prepare(text);
        const columns: DescribedColumn[] = [];
        for (let i = 0; i < prepared.columnCount; i++) {
          const type = prepared.columnType(i);
          columns.push({
            name: prepared.columnName(i),
            type: type.alias ?? type.toString(),
            typeId: type.typeId,
          });
        }
        return columns;
      },
    });
  const fragmentSql = (result: QueryPlan) =>
    Object.fromEntries(result.fragments.map((f) => [f.table, f.sql]));

  it('ships only the columns a query uses and pushes its single-table conjuncts, time first', async () => {
    const result = await plan(
      `SELECT req_path, latency_ns FROM http_events
        WHERE resp_status >= 500 AND time > TIMESTAMP '2024-05-01' AND random() < 2 ORDER BY latency_ns DESC LIMIT 3`,
    );
    assert.deepEqual(fragmentSql(result), {
      http_events:
        `SELECT "time", req_path, resp_status, latency_ns FROM http_events ` +
        `WHERE (("time" > CAST('2024-05-01' AS TIMESTAMP)) AND (resp_status >= 500))`,
    });
    assert.match(result.brokerSql, /^SELECT req_path, latency_ns FROM http_events/);
  });

  it('binds now() and current_timestamp once, to the same literal for nodes and broker', async () => {
    const result = await plan(
      `SELECT count(*) AS n, now() FROM http_events WHERE time > (now() AT TIME ZONE 'UTC') - INTERVAL 5 MINUTE
          AND time <= current_timestamp AT TIME ZONE 'UTC'`,
    );
    const all = result.brokerSql.replace('AS "now()"', '') + fragmentSql(result).__loupe_partial_0;
    assert.doesNotMatch(all, /now\(\)|current_timestamp/i);
    assert.equal(all.match(/2024-05-01 12:00:00\.5\+00/g)?.length, 3);
    // The unnamed column keeps the name it has without binding.
    assert.match(result.brokerSql, /AS "now\(\)"/);
  });

  it('pushes to both sides of an inner join, and not to the NULL side of an outer join', async () => {
    const inner = await plan(
      `SELECT h.req_path, c.bytes_recv FROM http_events h JOIN conn_stats c ON h.local_port = c.local_port
        WHERE h.resp_status = 500 AND c.bytes_recv > 10 AND h.pid = c.pid`,
    );
    assert.deepEqual(fragmentSql(inner), {
      http_events: 'SELECT pid, local_port, req_path, resp_status FROM http_events WHERE (resp_status = 500)',
      conn_stats: 'SELECT pid, local_port, bytes_recv FROM conn_stats WHERE (bytes_recv > 10)',
    });
    const outer = await plan(
      `SELECT h.req_path, c.bytes_recv FROM http_events h LEFT JOIN conn_stats c ON h.local_port = c.local_port
        WHERE h.resp_status = 500 AND c.bytes_recv IS NULL`,
    );
    assert.deepEqual(fragmentSql(outer), {
      http_events: 'SELECT local_port, req_path, resp_status FROM http_events WHERE (resp_status = 500)',
      conn_stats: 'SELECT local_port, bytes_recv FROM conn_stats',
    });
  });

  it('ORs the filters of a table read in several places (CTE, subquery), or ships it whole', async () => {
    const result = await plan(
      `WITH slow AS (SELECT * FROM http_events WHERE latency_ns > 1000)
       SELECT count(*) FROM slow WHERE req_path IN (SELECT req_path FROM http_events WHERE resp_status = 404)`,
    );
    assert.deepEqual(fragmentSql(result), {
      http_events:
        'SELECT "time", pid, process, local_addr, local_port, remote_addr, remote_port, "role", req_method, ' +
        'req_path, req_headers, req_body_size, resp_status, resp_body_size, latency_ns, "encrypted" ' +
        'FROM http_events WHERE ((latency_ns > 1000) OR (resp_status = 404))',
    });
    const unfiltered = await plan(
      `SELECT (SELECT median(latency_ns) FROM http_events) AS m, req_path FROM http_events WHERE resp_status = 404`,
    );
    assert.equal(fragmentSql(unfiltered).http_events?.includes('WHERE'), false);
  });

  it('keeps correlated and non-deterministic conjuncts at the broker', async () => {
    const result = await plan(
      `SELECT c.pid FROM conn_stats c
        WHERE EXISTS (SELECT 1 FROM http_events h WHERE h.pid = c.pid AND h.latency_ns > 5 AND h.req_path = c.process)
          AND c.bytes_sent > random()`,
    );
    assert.deepEqual(fragmentSql(result), {
      conn_stats: 'SELECT pid, process, bytes_sent FROM conn_stats',
      // Column names are not resolved to tables: c.process also ships http_events.process (a superset).
      http_events: 'SELECT pid, process, req_path, latency_ns FROM http_events WHERE (latency_ns > 5)',
    });
  });

  it('leaves window functions to the broker but still pushes the WHERE under them', async () => {
    const result = await plan(
      `SELECT process, req_path, row_number() OVER (PARTITION BY process ORDER BY latency_ns DESC) AS rank
         FROM http_events WHERE role = 'server' QUALIFY rank <= 3`,
    );
    assert.deepEqual(fragmentSql(result), {
      http_events: `SELECT process, "role", req_path, latency_ns FROM http_events WHERE ("role" = 'server')`,
    });
  });

  it('pushes a single-table aggregate down as partial states and merges them', async () => {
    const result = await plan(
      `SELECT process, count(*) AS n, avg(latency_ns) AS mean, min(time) AS first, count(DISTINCT remote_addr) AS peers
         FROM http_events WHERE role = 'server' GROUP BY process HAVING count(*) > 1 ORDER BY n DESC`,
    );
    const [fragment] = result.fragments;
    assert.equal(fragment?.kind, 'partial-aggregate');
    assert.equal(
      fragment?.sql,
      'SELECT process AS __loupe_g0, remote_addr AS __loupe_g1, count_star() AS __loupe_p0, ' +
        'CAST(sum(latency_ns) AS VARCHAR) AS __loupe_p1, count(latency_ns) AS __loupe_p2, min("time") AS __loupe_p3 ' +
        `FROM http_events WHERE ("role" = 'server') GROUP BY ALL`,
    );
    assert.match(result.brokerSql, /FROM __loupe_partial_0 GROUP BY __loupe_g0 HAVING/);
    assert.match(result.brokerSql, /count\(DISTINCT __loupe_g1\) AS peers/);
  });

  it('pushes aggregates inside CTEs, and not those it cannot merge exactly', async () => {
    const result = await plan(
      `WITH per AS (SELECT process, sum(latency_ns) AS total FROM http_events GROUP BY ALL),
            exact AS (SELECT process, median(latency_ns) AS m FROM http_events GROUP BY ALL)
       SELECT * FROM per JOIN exact USING (process)`,
    );
    assert.deepEqual(
      result.fragments.map((f) => f.kind),
      ['partial-aggregate', 'scan'],
    );
    assert.equal(fragmentSql(result).http_events, 'SELECT process, latency_ns FROM http_events');
  });

  it('turns approx_quantile into a log-bucket sketch: bucket as a key, count as its weight', async () => {
    const result = await plan(
      'SELECT process, approx_quantile(latency_ns, 0.99) AS p99 FROM http_events GROUP BY 1',
    );
    assert.equal(
      fragmentSql(result).__loupe_partial_0,
      'SELECT process AS __loupe_g0, CASE  WHEN ((latency_ns > 0)) THEN (CAST(ceil((ln(latency_ns) / ln(1.02))) AS INTEGER)) ' +
        'ELSE -1000000 END AS __loupe_g1, count(latency_ns) AS __loupe_p0 FROM http_events GROUP BY ALL',
    );
    assert.match(
      result.brokerSql,
      /CAST\(round\(__loupe_sketch_quantile\(.*__loupe_g1.*__loupe_p0.*, 0\.99\)\) AS BIGINT\) AS p99/,
    );
  });

  it('binds script parameters as typed literals and refuses missing or unknown ones', async () => {
    const result = await plan('SELECT count(*) FROM http_events WHERE req_path LIKE $path', {
      path: { text: "/x'; DROP TABLE t; --", type: 'VARCHAR' },
    });
    assert.match(fragmentSql(result).__loupe_partial_0 ?? '', /CAST\('\/x''; DROP TABLE t; --' AS VARCHAR\)/);
    await assert.rejects(plan('SELECT $a'), { code: 'SQL_PARAMETER' });
    await assert.rejects(plan('SELECT 1', { a: { text: '1', type: 'INTEGER' } }), { code: 'SQL_PARAMETER' });
  });

  it('refuses anything but one SELECT before planning', async () => {
    for (const sql of [
      "COPY http_events TO '/tmp/x'",
      'SELECT 1; SELECT 2',
      "SELECT * FROM read_csv('/etc/passwd')",
    ]) {
      await assert.rejects(plan(sql), (error: { code?: string }) => String(error.code).startsWith('SQL_'));
    }
  });
});
