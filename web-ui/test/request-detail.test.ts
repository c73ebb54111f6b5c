import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairRequest, parseRequestId, requestDetailSql, requestIdOf } from '../src/domain/request-detail.js';

const server = {
  protocol: 'http',
  time: '2026-11-28T10:00:00.000100000Z',
  node: 'node~a',
  role: 'server',
  req_method: 'GET',
  req_path: '/users/1',
  local_addr: '10.0.0.2',
  local_port: 8080,
  remote_addr: '10.0.0.1',
  remote_port: 50000,
};
const client = {
  ...server,
  time: '2026-11-28T10:00:00.000300000Z',
  node: 'node-b',
  role: 'client',
  local_addr: '10.0.0.1',
  local_port: 50000,
  remote_addr: '10.0.0.2',
  remote_port: 8080,
};

test('a row id survives the URL round trip, even with the separator in the node name', () => {
  const id = parseRequestId(requestIdOf(server));
  assert.deepEqual(id, {
    protocol: 'http',
    time: server.time,
    node: 'node~a',
    localAddr: '10.0.0.2',
    localPort: 8080,
    remoteAddr: '10.0.0.1',
    remotePort: 50000,
  });
});

test('ids that are not ids are refused', () => {
  assert.equal(parseRequestId('nonsense'), null);
  assert.equal(parseRequestId('ftp~2026-11-28T10:00:00Z~n~a~1~b~2'), null);
  assert.equal(parseRequestId("http~2026-11-28T10:00:00Z' OR 1=1~n~a~1~b~2"), null);
  assert.equal(parseRequestId('http~2026-11-28T10:00:00Z~n~a~x~b~2'), null);
});

test('the detail query reads the connection both ways round, literals quoted', () => {
  const id = parseRequestId(requestIdOf({ ...server, node: "n'1", local_addr: "a'b" }));
  assert.ok(id);
  const sql = requestDetailSql(id);
  assert.match(sql, /^SELECT 'http' AS protocol, \* FROM http_events\n/);
  assert.match(sql, /CAST\('2026-11-28T10:00:00.000100000Z' AS TIMESTAMP_NS\) - INTERVAL 2 SECOND/);
  assert.match(
    sql,
    /local_addr = 'a''b' AND local_port = 8080 AND remote_addr = '10.0.0.1' AND remote_port = 50000\)/,
  );
  assert.match(
    sql,
    /local_addr = '10.0.0.1' AND local_port = 50000 AND remote_addr = 'a''b' AND remote_port = 8080\)/,
  );
});

test('the other side is the opposite role, swapped addresses, same request, nearest in time', () => {
  const id = parseRequestId(requestIdOf(server));
  assert.ok(id);
  const earlierSamePath = { ...client, time: '2026-11-28T09:59:59.000000000Z' };
  const otherPath = { ...client, time: '2026-11-28T10:00:00.000100001Z', req_path: '/users/2' };
  const { row, other } = pairRequest([otherPath, earlierSamePath, client, server], id);
  assert.equal(row, server);
  assert.equal(other, client);
});

test('no other side when only one was captured; no row when it is gone', () => {
  const id = parseRequestId(requestIdOf(server));
  assert.ok(id);
  assert.deepEqual(pairRequest([server], id), { row: server, other: null });
  assert.deepEqual(pairRequest([client], id), { row: null, other: null });
});

test('SQL rows pair on the statement text', () => {
  const pgServer = {
    ...server,
    protocol: 'pgsql',
    req: 'SELECT 1',
    req_method: undefined,
    req_path: undefined,
  };
  const pgClient = {
    ...client,
    protocol: 'pgsql',
    req: 'SELECT 1',
    req_method: undefined,
    req_path: undefined,
  };
  const id = parseRequestId(requestIdOf(pgClient));
  assert.ok(id);
  assert.equal(pairRequest([pgServer, pgClient], id).other, pgServer);
  assert.equal(pairRequest([{ ...pgServer, req: 'SELECT 2' }, pgClient], id).other, null);
});
