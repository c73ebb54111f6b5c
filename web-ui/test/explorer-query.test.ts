import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  explorerConditions,
  explorerListSql,
  explorerTables,
  harExportFilter,
  readExplorerFilter,
} from '../src/domain/explorer-query.js';
import { parseEndpoint } from '../src/domain/endpoint-sql.js';
import type { TimeRange } from '../src/domain/time-range.js';

const range: TimeRange = { kind: 'relative', seconds: 900 };
const where = (params: Record<string, string>) =>
  explorerConditions(readExplorerFilter(params), 'http_events', range);

test('no filters: only the time range, newest first, default limit', () => {
  const { sql, problems } = explorerListSql(readExplorerFilter({}), range);
  assert.deepEqual(problems, []);
  assert.match(
    sql,
    /FROM http_events\n WHERE time >= \(now\(\) AT TIME ZONE 'UTC'\) - INTERVAL '900 seconds'\n/,
  );
  assert.match(sql, /ORDER BY time DESC, node, local_port, remote_port\nLIMIT 1000$/);
  assert.doesNotMatch(sql, /req_body\b|req_headers|resp_body\b/);
});

test('each filter becomes one conjunct', () => {
  const { clauses, problems } = where({
    service: 'api:8080',
    method: 'post',
    path: '/users',
    status: '404,5xx',
    min_ms: '2.5',
    max_ms: '100',
    role: 'server',
    node: 'node-a',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(clauses, [
    "role = 'server'",
    "process = 'api'",
    'local_port = 8080',
    "req_method = 'POST'",
    "req_path LIKE '%/users%' ESCAPE '\\'",
    '(resp_status = 404 OR resp_status BETWEEN 500 AND 599)',
    'latency_ns >= 2500000',
    'latency_ns <= 100000000',
    "node = 'node-a'",
  ]);
});

test('a service without a port is a whole process name', () => {
  assert.deepEqual(where({ service: 'nginx: worker' }).clauses, ["process = 'nginx: worker'"]);
});

test('injection attempts stay literals', () => {
  const { clauses } = where({
    service: "x' OR 1=1 --",
    method: "GET'; DROP TABLE http_events; --",
    path: "%' OR '1'='1",
    node: "a'b",
  });
  assert.deepEqual(clauses, [
    "process = 'x'' OR 1=1 --'",
    "req_method = 'GET''; DROP TABLE HTTP_EVENTS; --'",
    "req_path LIKE '%\\%'' OR ''1''=''1%' ESCAPE '\\'",
    "node = 'a''b'",
  ]);
});

test('values that do not parse are reported and left out', () => {
  const { clauses, problems } = where({ status: '5xx OR 1=1', min_ms: 'abc', max_ms: '-1', server: 'api' });
  assert.deepEqual(clauses, []);
  assert.equal(problems.length, 4);
  assert.match(problems[0] ?? '', /Status "OR"/);
});

test('role "both" or anything unknown adds no role condition; limits are the offered ones', () => {
  assert.equal(readExplorerFilter({ role: 'x' }).role, 'both');
  assert.equal(readExplorerFilter({ limit: '100000' }).limit, 100_000);
  assert.equal(readExplorerFilter({ limit: '5' }).limit, 1_000);
  assert.deepEqual(where({ role: 'both' }).clauses, []);
});

test('an edge from the service map matches both sides of its requests', () => {
  const { clauses } = where({ client: 'frontend', server: 'api:8080', protocol: 'http' });
  assert.equal(clauses.length, 2);
  const [server, client] = clauses;
  assert.match(
    server ?? '',
    /role = 'server' AND local_port = 8080 AND \(process = 'api' OR local_addr = 'api'\)/,
  );
  assert.match(
    server ?? '',
    /role = 'client' AND remote_port = 8080 AND \(remote_addr = 'api' OR remote_addr IN \(SELECT local_addr FROM http_events WHERE role = 'server' AND process = 'api' AND local_port = 8080 AND time >= /,
  );
  assert.match(client ?? '', /role = 'client' AND \(process = 'frontend' OR local_addr = 'frontend'\)/);
  assert.match(
    client ?? '',
    /remote_addr IN \(SELECT local_addr FROM http_events WHERE role = 'client' AND process = 'frontend' AND remote_port = 8080 AND time >= /,
  );
});

test('endpoints: name:port, address:port, IPv6 in brackets; no port is not an endpoint', () => {
  assert.deepEqual(parseEndpoint('api:8080'), { host: 'api', port: 8080 });
  assert.deepEqual(parseEndpoint('10.0.0.7:5432'), { host: '10.0.0.7', port: 5432 });
  assert.deepEqual(parseEndpoint('[::1]:80'), { host: '::1', port: 80 });
  assert.equal(parseEndpoint('api'), null);
  assert.equal(parseEndpoint('api:70000'), null);
});

test('SQL events: both tables unless the protocol picks one; statement, command and error filters', () => {
  assert.deepEqual(
    explorerTables(readExplorerFilter({ kind: 'sql' })).map((t) => t.table),
    ['pgsql_events', 'mysql_events'],
  );
  const pg = readExplorerFilter({
    protocol: 'pgsql',
    method: 'Execute',
    status: 'error',
    query: "SELECT ? FROM t WHERE a = 'x'",
    path: 'orders',
  });
  assert.equal(pg.kind, 'sql');
  assert.deepEqual(
    explorerTables(pg).map((t) => t.table),
    ['pgsql_events'],
  );
  const { clauses, problems } = explorerConditions(pg, 'pgsql_events', range);
  assert.deepEqual(problems, []);
  assert.deepEqual(clauses, [
    "req_cmd = 'Execute'",
    "req LIKE '%orders%' ESCAPE '\\'",
    "coalesce(error, '') <> ''",
    "coalesce(req_normalized, req) = 'SELECT ? FROM t WHERE a = ''x'''",
  ]);
  const { sql } = explorerListSql(readExplorerFilter({ kind: 'sql' }), range);
  assert.match(sql, /FROM pgsql_events[\s\S]*UNION ALL[\s\S]*FROM mysql_events[\s\S]*ORDER BY time DESC/);
});

test('HAR export: the HTTP filter as one predicate, since as a duration, one side', () => {
  const filter = readExplorerFilter({ service: 'api', status: '5xx', role: 'both' });
  const relative = harExportFilter(filter, range);
  assert.equal(relative.since, '15m');
  assert.equal(relative.role, 'server');
  assert.match(relative.where, /^time >= .* AND process = 'api' AND \(resp_status BETWEEN 500 AND 599\)$/);
  const absolute = harExportFilter(
    readExplorerFilter({ role: 'client' }),
    { kind: 'absolute', from: new Date('2026-01-01T10:00:00Z'), to: new Date('2026-01-01T11:00:00Z') },
    new Date('2026-01-01T12:00:00Z'),
  );
  assert.equal(absolute.since, '7200s');
  assert.equal(absolute.role, 'client');
  assert.doesNotMatch(absolute.where, /role =/);
  assert.match(absolute.where, /time < TIMESTAMP '2026-01-01 11:00:00.000'/);
});
