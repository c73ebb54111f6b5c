import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  counterpartSql,
  detailSql,
  filterPredicate,
  harExportRequest,
  listSql,
  readRequestFilters,
  rowKey,
  splitEndpoint,
  writeRequestFilters,
} from '../src/domain/request-filters.js';
import { headerList, prettyBody } from '../src/domain/pretty-body.js';

const RANGE = { kind: 'relative' as const, seconds: 900 };

describe('request explorer filters', () => {
  it('round-trip through the URL, defaults left out', () => {
    const params = {
      service: 'api:8080',
      method: 'post',
      path: '/orders',
      status: '5xx',
      minMs: '2.5',
      limit: '10000',
    };
    const filters = readRequestFilters(params);
    assert.equal(filters.kind, 'http');
    assert.equal(filters.role, 'server');
    assert.equal(filters.minMs, 2.5);
    assert.deepEqual(writeRequestFilters(filters), params);
    assert.deepEqual(writeRequestFilters(readRequestFilters({ limit: '7', minMs: '-1' })), {});
  });

  it('turn every filter into a predicate of literals', () => {
    const where = filterPredicate(
      readRequestFilters({
        service: 'api:8080',
        method: 'post',
        path: "50%'_x",
        status: '5xx',
        maxMs: '100',
      }),
    );
    assert.equal(
      where,
      "role = 'server' AND process = 'api' AND local_port = 8080 AND req_method = 'POST' AND " +
        "req_path LIKE '%50\\%''\\_x%' ESCAPE '\\' AND resp_status BETWEEN 500 AND 599 AND latency_ns <= 100000000",
    );
    assert.equal(
      filterPredicate(readRequestFilters({ status: '404' })),
      "role = 'server' AND resp_status = 404",
    );
    assert.equal(filterPredicate(readRequestFilters({ status: 'banana' })), "role = 'server'");
  });

  it('keep an injection attempt inside its quotes', () => {
    const where = filterPredicate(readRequestFilters({ service: "x' OR 1=1 --" }));
    assert.equal(where, "role = 'server' AND process = 'x'' OR 1=1 --'");
  });

  it('select a service-map edge from both of its sides', () => {
    const filters = readRequestFilters({ client: 'web', server: 'api:8080', protocol: 'http' });
    assert.equal(filters.role, 'both');
    assert.equal(
      filterPredicate(filters),
      "((role = 'server' AND process = 'api' AND local_port = 8080) OR " +
        "(role = 'client' AND process = 'web' AND remote_port = 8080))",
    );
    const external = filterPredicate(
      readRequestFilters({ client: '10.0.0.7', server: '10.0.0.9:5432', protocol: 'pgsql' }),
    );
    assert.match(external, /local_addr = '10\.0\.0\.9' AND local_port = 5432/);
    assert.match(external, /remote_addr = '10\.0\.0\.9'/);
    assert.equal(readRequestFilters({ protocol: 'pgsql' }).kind, 'sql');
    assert.deepEqual(splitEndpoint('[::1]x'), { name: '[::1]x', port: null });
  });

  it('list newest first with a limit, HTTP from http_events and SQL from both SQL tables', () => {
    const http = listSql(readRequestFilters({}), RANGE);
    assert.match(http, /FROM http_events/);
    assert.match(http, /ORDER BY time DESC LIMIT 1000$/);
    const sql = listSql(readRequestFilters({ kind: 'sql', status: 'error' }), RANGE);
    assert.match(sql, /FROM pgsql_events WHERE .*error IS NOT NULL/);
    assert.match(sql, /UNION ALL/);
    assert.match(sql, /FROM mysql_events/);
  });

  it('find a row again by its key, and its other side by mirrored addresses', () => {
    const row = {
      time: '2026-11-28 10:00:00.123456789',
      node: 'n1',
      role: 'server',
      local_addr: '10.0.0.2',
      local_port: 8080,
      remote_addr: '10.0.0.1',
      remote_port: 40000,
      req_method: 'GET',
      req_path: "/a'b",
    };
    const key = rowKey(row);
    assert.equal(key, '2026-11-28 10:00:00.123456789|n1|server|8080|40000|http');
    assert.match(
      detailSql(key) ?? '',
      /FROM http_events\s+WHERE time = CAST\('2026-11-28 10:00:00\.123456789' AS TIMESTAMP_NS\)/,
    );
    assert.equal(detailSql('nonsense'), null);
    assert.equal(detailSql('t|n|server|1|2|http_events; DROP'), null);
    const other = counterpartSql(row) ?? '';
    assert.match(other, /role = 'client'/);
    assert.match(other, /local_addr = '10\.0\.0\.1' AND local_port = 40000/);
    assert.match(other, /req_path = '\/a''b'/);
  });

  it('export the filter as HAR with the range as `since` or in the predicate', () => {
    const filters = readRequestFilters({ service: 'api', status: '500' });
    assert.deepEqual(harExportRequest(filters, RANGE), {
      where: "process = 'api' AND resp_status = 500",
      since: '15m',
      role: 'server',
      limit: 1000,
    });
    const absolute = harExportRequest(filters, {
      kind: 'absolute',
      from: new Date('2026-11-28T10:00:00Z'),
      to: new Date('2026-11-28T11:00:00Z'),
    });
    assert.match(
      absolute.where,
      /^time >= TIMESTAMP '2026-11-28 10:00:00\.000' AND time < .* AND process = 'api'/,
    );
    assert.equal(absolute.since, undefined);
  });
});

describe('bodies and headers for reading', () => {
  it('indents JSON and leaves other text alone', () => {
    assert.deepEqual(prettyBody('{"a":[1,2]}'), { text: '{\n  "a": [\n    1,\n    2\n  ]\n}', json: true });
    assert.deepEqual(prettyBody('{"cut": "at the cap'), { text: '{"cut": "at the cap', json: false });
    assert.deepEqual(prettyBody('hello'), { text: 'hello', json: false });
  });

  it('lists headers sorted, from an object or its JSON text', () => {
    assert.deepEqual(headerList('{"b": "2", "a": ["x", "y"]}'), [
      ['a', 'x, y'],
      ['b', '2'],
    ]);
    assert.deepEqual(headerList('not json'), []);
    assert.deepEqual(headerList(null), []);
  });
});
