import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sqlExamplesSql, sqlViewSql } from '../src/domain/sql-view-query.js';
import type { TimeRange } from '../src/domain/time-range.js';

const range: TimeRange = { kind: 'relative', seconds: 3600 };

test('statements per server from both SQL tables, counted once, grouped by normalised text', () => {
  const sql = sqlViewSql({ server: '', text: '', limit: 500 }, range);
  assert.match(sql, /FROM pgsql_events[\s\S]*UNION ALL[\s\S]*FROM mysql_events/);
  assert.match(sql, /coalesce\(req_normalized, req\) AS statement/);
  assert.match(sql, /count\(\*\) FILTER \(WHERE coalesce\(error, ''\) <> ''\) AS errors/);
  assert.match(sql, /WHERE role = 'client'\s+AND NOT EXISTS/);
  assert.match(
    sql,
    /coalesce\(c\.server_process, sn\.process, c\.server_addr\) \|\| ':' \|\| c\.server_port AS server/,
  );
  assert.match(sql, /AS p50_ms,[\s\S]*AS p99_ms,[\s\S]*AS total_ms/);
  assert.match(sql, /GROUP BY protocol, server, statement\n ORDER BY total_ms DESC/);
  assert.match(sql, /LIMIT 500$/);
  assert.doesNotMatch(sql, /server LIKE|statement LIKE/);
});

test('server and text filters are quoted patterns', () => {
  const sql = sqlViewSql({ server: "pg'5432", text: '100%_done', limit: 10 }, range);
  assert.match(
    sql,
    /WHERE server LIKE '%pg''5432%' ESCAPE '\\' AND statement LIKE '%100\\%\\_done%' ESCAPE '\\'/,
  );
});

test('examples: one statement on one server, newest first, with parameters and errors', () => {
  const sql = sqlExamplesSql(
    { protocol: 'mysql', server: 'mysqld:3306', statement: "SELECT ? FROM t WHERE a = 'x'" },
    range,
  );
  assert.match(sql, /FROM mysql_events/);
  assert.match(sql, /req, req_params, nullif\(error, ''\) AS error/);
  assert.match(sql, /coalesce\(req_normalized, req\) = 'SELECT \? FROM t WHERE a = ''x'''/);
  assert.match(
    sql,
    /role = 'server' AND local_port = 3306 AND \(process = 'mysqld' OR local_addr = 'mysqld'\)/,
  );
  assert.match(sql, /ORDER BY time DESC, node\n LIMIT 5$/);
});
