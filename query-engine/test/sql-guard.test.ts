import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTimestampNanosecondsValue, type DuckDBConnection } from '@duckdb/node-api';
import { QueryError, assertSelectOnly } from '../src/sql-guard.js';
import { QueryRunner, sealInstance } from '../src/query-runner.js';

async function refusal(sql: string): Promise<QueryError> {
  try {
    await assertSelectOnly(sql);
  } catch (error) {
    assert.ok(error instanceof QueryError, `expected a QueryError for ${sql}, got ${String(error)}`);
    return error;
  }
  assert.fail(`guard admitted: ${sql}`);
}

describe('assertSelectOnly refuses', () => {
  const notSelect = [
    "COPY (SELECT 1) TO '/tmp/loupe-guard-copy.csv'",
    "COPY t FROM '/etc/passwd'",
    "ATTACH '/tmp/loupe-guard.db' AS other",
    'DETACH other',
    'INSTALL httpfs',
    'LOAD httpfs',
    'SET enable_external_access = true',
    "SET memory_limit = '100GB'",
    'RESET memory_limit',
    'PRAGMA database_list',
    'CALL pragma_version()',
    'DELETE FROM http_events',
    "UPDATE http_events SET req_path = '/'",
    'INSERT INTO http_events SELECT * FROM http_events',
    'DROP TABLE http_events',
    'CREATE TABLE stolen AS SELECT 1',
    'CREATE MACRO m(x) AS x',
    "EXPORT DATABASE '/tmp/loupe-guard-export'",
    'CHECKPOINT',
    'BEGIN TRANSACTION',
    'VACUUM',
  ];
  for (const sql of notSelect) {
    it(`not a SELECT: ${sql}`, async () => {
      assert.equal((await refusal(sql)).code, 'SQL_NOT_SELECT');
    });
  }

  const fileFunctions = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM main.read_csv('/etc/passwd')",
    "SELECT * FROM READ_CSV('/etc/passwd')",
    "SELECT * FROM read_json('/etc/x.json')",
    "SELECT * FROM read_json_auto('/etc/x.json')",
    "SELECT * FROM read_ndjson_objects('/etc/x.json')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "SELECT * FROM parquet_scan('/x.parquet')",
    "SELECT * FROM parquet_metadata('/x.parquet')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('/etc/shadow')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
    "SELECT * FROM query_table('http_events')",
    'SELECT * FROM duckdb_settings()',
    'SELECT * FROM pragma_database_size()',
    // Hidden deeper in the tree.
    "SELECT (SELECT count(*) FROM read_text('/etc/passwd'))",
    "WITH f AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM f",
    "SELECT 1 AS x UNION ALL SELECT count(*) FROM glob('/*')",
    "SELECT * FROM range(3) r WHERE r.range IN (SELECT length(content) FROM read_text('/etc/hostname'))",
    "SELECT * FROM range(3) a JOIN LATERAL (SELECT * FROM read_blob('/etc/hostname')) b ON true",
  ];
  for (const sql of fileFunctions) {
    it(`file or setting function: ${sql}`, async () => {
      assert.equal((await refusal(sql)).code, 'SQL_FORBIDDEN_FUNCTION');
    });
  }

  for (const sql of [
    "SELECT * FROM '/etc/passwd'",
    "FROM 'data.csv'",
    "DESCRIBE '/etc/passwd'",
    "SELECT * FROM 'https://x/y'",
  ]) {
    it(`replacement scan of a file: ${sql}`, async () => {
      assert.equal((await refusal(sql)).code, 'SQL_FORBIDDEN_TABLE');
    });
  }

  it('more than one statement, even if all are SELECTs', async () => {
    assert.equal((await refusal('SELECT 1; SELECT 2')).code, 'SQL_MULTIPLE_STATEMENTS');
  });

  it('a SELECT followed by something else', async () => {
    const error = await refusal('SELECT 1; DROP TABLE http_events');
    assert.ok(['SQL_NOT_SELECT', 'SQL_MULTIPLE_STATEMENTS'].includes(error.code), error.code);
  });

  it('nothing at all', async () => {
    assert.equal((await refusal('  ;  ')).code, 'SQL_EMPTY');
  });

  it('syntax errors, with the parser message', async () => {
    const error = await refusal('SELEC 1');
    assert.equal(error.code, 'SQL_PARSE_ERROR');
    assert.match(error.message, /syntax error/i);
    assert.equal(error.statusCode, 400);
  });
});

describe('assertSelectOnly admits', () => {
  const legit = [
    'SELECT 1',
    'SELECT 1;',
    'FROM http_events',
    `WITH slow AS (SELECT req_path, latency_ns FROM http_events WHERE latency_ns > 1e6)
       SELECT req_path, count(*) AS n FROM slow GROUP BY ALL ORDER BY n DESC LIMIT 10`,
    `SELECT h.req_path, c.bytes_sent FROM http_events h
       JOIN conn_stats c ON h.pid = c.pid AND h.remote_port = c.remote_port`,
    `SELECT req_path, latency_ns,
            row_number() OVER (PARTITION BY req_path ORDER BY latency_ns DESC) AS rank,
            avg(latency_ns) OVER (ORDER BY time ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS moving
       FROM http_events QUALIFY rank <= 3`,
    'SELECT req_path FROM http_events UNION SELECT req FROM pgsql_events',
    "SELECT req_headers->>'host' AS host, quantile_cont(latency_ns, 0.99) FROM http_events GROUP BY host",
    'SELECT * FROM range(10) r, generate_series(1, 3) g',
    'SELECT unnest([1, 2, 3])',
    'SELECT * FROM unnest([1, 2, 3])',
    'SELECT * FROM json_each(\'{"a": 1}\')',
    'SELECT table_name FROM duckdb_tables()',
    'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n',
    "SELECT 'read_csv(''/etc/passwd'')' AS just_a_string",
    'DESCRIBE http_events',
  ];
  for (const sql of legit) {
    it(sql.replace(/\s+/g, ' '), async () => {
      await assertSelectOnly(sql);
    });
  }
});

describe('the sealed instance (second fence)', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let writer: DuckDBConnection;
  let runner: QueryRunner;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loupe-guard-'));
    instance = await DuckDBInstance.create(join(dir, 'node.duckdb'));
    writer = await instance.connect();
    await writer.run('CREATE TABLE events (time TIMESTAMP_NS, n BIGINT)');
    runner = await QueryRunner.create(instance, { timeoutMs: 500, maxRows: 100, memoryLimit: '256MB' });
  });

  after(async () => {
    writer.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('cannot read files even when the guard is bypassed', async () => {
    const connection = await instance.connect();
    try {
      await assert.rejects(connection.run("SELECT * FROM read_csv('/etc/passwd')"), /Permission Error/);
      await assert.rejects(connection.run(`COPY events TO '${join(dir, 'out.csv')}'`), /Permission Error/);
      await assert.rejects(
        connection.run(`ATTACH '${join(dir, 'other.duckdb')}' AS other`),
        /Permission Error/,
      );
    } finally {
      connection.closeSync();
    }
    await assert.rejects(stat(join(dir, 'out.csv')), { code: 'ENOENT' });
  });

  it('cannot be unsealed', async () => {
    const connection = await instance.connect();
    try {
      await assert.rejects(connection.run('SET enable_external_access = true'), /locked/);
      await assert.rejects(connection.run("SET memory_limit = '64GB'"), /locked/);
    } finally {
      connection.closeSync();
    }
  });

  it('sealing again is accepted (the instance is already safe)', async () => {
    const connection = await instance.connect();
    try {
      await sealInstance(connection, '512MB');
    } finally {
      connection.closeSync();
    }
  });

  it('still lets the store append, delete and checkpoint its own file', async () => {
    const appender = await writer.createAppender('events');
    for (let i = 0; i < 1000; i += 1) {
      appender.appendTimestampNanoseconds(new DuckDBTimestampNanosecondsValue(BigInt(i)));
      appender.appendBigInt(BigInt(i));
      appender.endRow();
    }
    appender.flushSync();
    appender.closeSync();
    await writer.run('DELETE FROM events WHERE n < 500');
    await writer.run('CHECKPOINT');
    const result = await runner.run('SELECT count(*) AS n, min(n) AS lowest FROM events');
    assert.deepEqual(result.rows, [{ n: 500, lowest: 500 }]);
  });

  it('stops a query that would run forever at the time limit', async () => {
    const started = Date.now();
    await assert.rejects(runner.run('SELECT count(*) FROM range(1e13::BIGINT)'), (error: unknown) => {
      assert.ok(error instanceof QueryError);
      assert.equal(error.code, 'QUERY_TIMEOUT');
      assert.equal(error.statusCode, 504);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
    assert.equal(runner.counters.timedOut, 1);
    // The runner (and the instance) still work afterwards.
    assert.deepEqual((await runner.run('SELECT 41 + 1 AS answer')).rows, [{ answer: 42 }]);
  });

  it('refuses queries beyond the concurrency cap instead of queueing them', async () => {
    const single = await QueryRunner.create(instance, { timeoutMs: 300, maxConcurrent: 1 });
    const slow = single.run('SELECT count(*) FROM range(1e13::BIGINT)');
    while (single.counters.queries === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await assert.rejects(single.run('SELECT 1'), { code: 'QUERY_BUSY', statusCode: 503 });
    await assert.rejects(slow, { code: 'QUERY_TIMEOUT' });
    assert.equal(single.counters.refusedBusy, 1);
    assert.deepEqual((await single.run('SELECT 1 AS n')).rows, [{ n: 1 }]);
  });

  it('runs the guard before anything reaches DuckDB', async () => {
    await assert.rejects(runner.run('DROP TABLE events'), { code: 'SQL_NOT_SELECT' });
    assert.deepEqual((await runner.run('SELECT count(*) AS n FROM events')).rows, [{ n: 500 }]);
  });
});
