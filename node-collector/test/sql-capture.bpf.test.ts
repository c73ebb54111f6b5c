/**
 * End to end on a real kernel: real PostgreSQL and MariaDB servers, driven by psql, pgbench, node-postgres, the
 * mariadb CLI, mysqlslap and mysql2, captured by a real `loupe up` and checked statement by statement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, run, start, stopAll, type Running } from './support/processes.js';
import {
  DB_PASSWORD,
  mariadbArgs,
  postgresEnv,
  startMariadb,
  startPostgres,
  type DatabaseServer,
} from './support/databases.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

interface SqlRow {
  role: string;
  process: string;
  req_cmd: string;
  req: string;
  req_params: string[];
  req_normalized: string;
  resp: string;
  resp_status?: string;
  error: string | null;
  latency_ns: number;
}

const PG_COLUMNS = 'role, process, req_cmd, req, req_params, req_normalized, resp, error, latency_ns';
const MY_COLUMNS = `${PG_COLUMNS}, resp_status`;

function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

describe('SQL capture with real database servers and clients', { timeout: 300_000 }, () => {
  let postgres: DatabaseServer;
  let mariadb: DatabaseServer;
  let loupe: LoupeUp;
  let psqlBefore: Running;
  let mariadbBefore: Running;

  const psql = (sql: string) =>
    run('psql', ['-h', '127.0.0.1', '-p', String(postgres.port), '-X', '-q', '-c', sql], {
      env: postgresEnv(),
    });
  const mariadbCli = (sql: string) => run('mariadb', [...mariadbArgs(mariadb.port), 'shop', '-e', sql]);

  const serverRows = (table: string, columns: string, where: string, expected: number) =>
    loupe.waitForRows<SqlRow>(
      `SELECT ${columns} FROM ${table} WHERE role = 'server' AND (${where}) ORDER BY time`,
      (rows) => rows.length >= expected,
    );

  before(async () => {
    postgres = await startPostgres(await freePort());
    mariadb = await startMariadb(await freePort());
    await psql('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await mariadbCli(
      "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO items VALUES (1, 'one'), (2, 'two')",
    );

    // Connections opened, and used once, before the collector starts.
    psqlBefore = start('psql', ['-h', '127.0.0.1', '-p', String(postgres.port), '-X', '-A', '-t'], {
      env: postgresEnv(),
    });
    psqlBefore.child.stdin?.write("SELECT 'before-capture';\n");
    await psqlBefore.waitForLine(/before-capture/);
    mariadbBefore = start('mariadb', [...mariadbArgs(mariadb.port), '--unbuffered', '-N', 'shop']);
    mariadbBefore.child.stdin?.write("SELECT 'before-capture';\n");
    await mariadbBefore.waitForLine(/before-capture/);

    loupe = await startLoupeUp(await freePort());
  });

  after(async () => {
    psqlBefore?.child.stdin?.end();
    mariadbBefore?.child.stdin?.end();
    await loupe?.stop();
    await postgres?.stop();
    await mariadb?.stop();
    await stopAll();
  });

  test('psql: simple queries, multiple statements, errors on purpose', async () => {
    await psql("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    await psql('SELECT name FROM items WHERE id = 1; SELECT count(*) FROM items');
    await assert.rejects(psql('SELEC oops'));
    await assert.rejects(psql("INSERT INTO items VALUES (1, 'dup')"));

    const rows = await serverRows(
      'pgsql_events',
      PG_COLUMNS,
      "req_cmd = 'Query' AND (contains(req, 'items') OR contains(req, 'oops'))",
      4,
    );
    assert.deepEqual(
      rows.map((r) => [r.req, r.resp]),
      [
        ["INSERT INTO items VALUES (1, 'one'), (2, 'two')", 'INSERT 0 2'],
        ['SELECT name FROM items WHERE id = 1; SELECT count(*) FROM items', 'SELECT 1; SELECT 1'],
        ['SELEC oops', ''],
        ["INSERT INTO items VALUES (1, 'dup')", ''],
      ],
    );
    assert.equal(rows[0]?.error, null, 'a statement that succeeded has no error');
    assert.match(rows[2]?.error ?? '', /^ERROR 42601: syntax error/);
    assert.match(rows[3]?.error ?? '', /^ERROR 23505: duplicate key value violates unique constraint/);
    assert.equal(rows[0]?.req_normalized, 'INSERT INTO items VALUES (?)');
    for (const r of rows) {
      assert.equal(r.process, 'postgres');
      assert.ok(r.latency_ns > 0 && r.latency_ns < 5e9, `latency ${r.latency_ns}`);
    }
    // The client side of the same exchanges is captured at psql.
    const client = await loupe.waitForRows<SqlRow>(
      `SELECT ${PG_COLUMNS} FROM pgsql_events WHERE role = 'client' AND contains(req, 'INSERT INTO items VALUES (1, ''one'')')`,
      (r) => r.length >= 1,
    );
    assert.equal(client[0]?.process, 'psql');
    assert.equal(client[0]?.resp, 'INSERT 0 2');
  });

  test('node-postgres: extended protocol with bound parameters, named statements', async () => {
    const out = await run('node', [path.join(supportDir, 'sql-clients.js'), 'pg', String(postgres.port)]);
    assert.deepEqual(JSON.parse(out), [{ s: 42 }, { name: 'two' }, { name: 'one' }]);
    const rows = await serverRows('pgsql_events', PG_COLUMNS, "req_cmd = 'Execute'", 3);
    assert.deepEqual(
      rows.map((r) => [r.req, r.req_params, r.resp, r.error]),
      [
        ['SELECT $1::int + $2::int AS s', ['20', '22'], 'SELECT 1', null],
        ['SELECT name FROM items WHERE id = $1', ['2'], 'SELECT 1', null],
        ['SELECT name FROM items WHERE id = $1', ['1'], 'SELECT 1', null],
      ],
    );
  });

  test('a PostgreSQL connection opened before the collector started', async () => {
    psqlBefore.child.stdin?.write("SELECT 'after-capture';\n");
    await psqlBefore.waitForLine(/after-capture/);
    const rows = await loupe.waitForRows<SqlRow>(
      `SELECT ${PG_COLUMNS} FROM pgsql_events WHERE contains(req, 'after-capture') ORDER BY role`,
      (r) => r.length >= 2,
    );
    assert.deepEqual(
      rows.map((r) => [r.role, r.req_cmd, r.resp]),
      [
        ['client', 'Query', 'SELECT 1'],
        ['server', 'Query', 'SELECT 1'],
      ],
    );
  });

  test('pgbench in simple, extended and prepared modes: one row per statement', async () => {
    await run('pgbench', ['-h', '127.0.0.1', '-p', String(postgres.port), '-i', '-s', '1', '-q'], {
      env: postgresEnv(),
    });
    const transactions = 2 * 25;
    for (const mode of ['simple', 'extended', 'prepared']) {
      const out = await run(
        'pgbench',
        ['-h', '127.0.0.1', '-p', String(postgres.port), '-c', '2', '-t', '25', '-M', mode, '-n'],
        { env: postgresEnv() },
      );
      assert.match(
        out,
        new RegExp(`number of transactions actually processed: ${transactions}/${transactions}`),
      );
    }
    const updates = `starts_with(req_normalized, 'UPDATE pgbench_accounts SET abalance = abalance +')`;
    const rows = await loupe.waitForRows<{ req_cmd: string; n: number }>(
      `SELECT req_cmd, count(*) AS n FROM pgsql_events WHERE role = 'server' AND ${updates} GROUP BY req_cmd ORDER BY req_cmd`,
      (r) => r.reduce((sum, x) => sum + x.n, 0) >= 3 * transactions,
    );
    assert.deepEqual(rows, [
      { req_cmd: 'Execute', n: 2 * transactions },
      { req_cmd: 'Query', n: transactions },
    ]);
    const copy = await serverRows('pgsql_events', PG_COLUMNS, "req_cmd = 'CopyIn'", 1);
    assert.match(copy[0]?.req ?? '', /^copy pgbench_accounts/i);
  });

  test('credentials never reach the store', async () => {
    const leaks = await loupe.query(
      `SELECT 1 FROM pgsql_events WHERE contains(req, '${DB_PASSWORD}') OR contains(CAST(req_params AS VARCHAR), '${DB_PASSWORD}')
       UNION ALL SELECT 1 FROM mysql_events WHERE contains(req, '${DB_PASSWORD}') OR contains(CAST(req_params AS VARCHAR), '${DB_PASSWORD}')`,
    );
    assert.deepEqual(leaks, []);
  });

  test('mariadb CLI: queries, errors on purpose, result sets', async () => {
    await mariadbCli("INSERT INTO items VALUES (3, 'three')");
    await mariadbCli('SELECT name FROM items WHERE id = 3');
    await assert.rejects(mariadbCli("INSERT INTO items VALUES (1, 'dup')"));
    await assert.rejects(mariadbCli('SELEC oops'));
    const rows = await serverRows(
      'mysql_events',
      MY_COLUMNS,
      "req_cmd = 'COM_QUERY' AND (contains(req, 'items') OR contains(req, 'oops')) AND NOT contains(req, 'CREATE')",
      4,
    );
    assert.deepEqual(
      rows.map((r) => [r.req, r.resp_status]),
      [
        ["INSERT INTO items VALUES (3, 'three')", 'OK'],
        ['SELECT name FROM items WHERE id = 3', 'RESULTSET'],
        ["INSERT INTO items VALUES (1, 'dup')", 'ERR'],
        ['SELEC oops', 'ERR'],
      ],
    );
    assert.equal(rows[0]?.error, null, 'a statement that succeeded has no error');
    assert.match(rows[2]?.error ?? '', /^ERROR 1062 \(23000\): Duplicate entry '1' for key 'PRIMARY'/);
    assert.match(rows[3]?.error ?? '', /^ERROR 1064 \(42000\)/);
    assert.equal(rows[1]?.resp, 'columns=1 rows=1');
    assert.equal(rows[0]?.req_normalized, 'INSERT INTO items VALUES (?)');
    assert.equal(rows[0]?.process, 'mariadbd');
  });

  test('mysql2: prepared statements mapped back to their text with parameters', async () => {
    const out = await run('node', [path.join(supportDir, 'sql-clients.js'), 'mysql2', String(mariadb.port)]);
    assert.deepEqual(JSON.parse(out), [[{ name: 'two' }], [{ name: 'one' }]]);
    const rows = await serverRows(
      'mysql_events',
      MY_COLUMNS,
      "req_cmd IN ('COM_STMT_PREPARE', 'COM_STMT_EXECUTE')",
      3,
    );
    assert.deepEqual(
      rows.map((r) => [r.req_cmd, r.req, r.req_params]),
      [
        ['COM_STMT_PREPARE', 'SELECT name FROM items WHERE id = ?', []],
        ['COM_STMT_EXECUTE', 'SELECT name FROM items WHERE id = ?', ['2']],
        ['COM_STMT_EXECUTE', 'SELECT name FROM items WHERE id = ?', ['1']],
      ],
    );
  });

  test('a MariaDB connection opened before the collector started', async () => {
    mariadbBefore.child.stdin?.write("SELECT 'after-capture';\n");
    await mariadbBefore.waitForLine(/after-capture/);
    const rows = await loupe.waitForRows<SqlRow>(
      `SELECT ${MY_COLUMNS} FROM mysql_events WHERE contains(req, 'after-capture') ORDER BY role`,
      (r) => r.length >= 2,
    );
    assert.deepEqual(
      rows.map((r) => [r.role, r.req_cmd, r.resp_status]),
      [
        ['client', 'COM_QUERY', 'RESULTSET'],
        ['server', 'COM_QUERY', 'RESULTSET'],
      ],
    );
  });

  test('mysqlslap load is captured query by query', async () => {
    await run('mysqlslap', [
      ...mariadbArgs(mariadb.port),
      '--concurrency=2',
      '--iterations=1',
      '--number-of-queries=100',
      '--auto-generate-sql',
      '--auto-generate-sql-load-type=read',
      '--create-schema=slap',
    ]);
    const rows = await loupe.waitForRows<{ n: number }>(
      `SELECT count(*) AS n FROM mysql_events WHERE role = 'server' AND req_cmd = 'COM_QUERY' AND starts_with(req, 'SELECT') AND contains(req, 't1')`,
      (r) => (r[0]?.n ?? 0) >= 100,
    );
    assert.ok((rows[0]?.n ?? 0) >= 100, `captured ${rows[0]?.n} of at least 100 SELECTs`);
  });

  test('a 100 MB result set: memory stays bounded, nothing is lost uncounted, capture goes on', async () => {
    // The collector's own counters: loupe up's /api/v1/status is the cluster view, with drops under `totals`.
    const statusBefore = await loupe.collectorStatus();
    await run(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(postgres.port),
        '-X',
        '-q',
        '-o',
        '/dev/null',
        '-c',
        "SELECT repeat('x', 1000) FROM generate_series(1, 100000)",
      ],
      { env: postgresEnv() },
    );
    await psql("SELECT 'after the flood'");
    const after = await serverRows('pgsql_events', PG_COLUMNS, "contains(req, 'after the flood')", 1);
    assert.equal(after[0]?.resp, 'SELECT 1', 'capture goes on after the flood');
    const big = await loupe.query<SqlRow>(
      `SELECT resp FROM pgsql_events WHERE role = 'server' AND contains(req, 'generate_series(1, 100000)')`,
    );
    const status = await loupe.collectorStatus();
    // Either the exchange was followed to its end, or the collector fell behind and said so in its drop count.
    assert.ok(
      big[0]?.resp === 'SELECT 100000' || status.drops > statusBefore.drops,
      `row ${JSON.stringify(big)}, drops ${statusBefore.drops} → ${status.drops}`,
    );
    const rss = rssMiB(loupe.process.pid);
    assert.ok(rss < 256, `collector RSS ${rss.toFixed(0)} MiB`);
  });
});
