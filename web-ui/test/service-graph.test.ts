import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildServiceGraph,
  filterGraph,
  isAddress,
  neighbourhood,
  searchNodes,
  splitEndpoint,
} from '../src/domain/service-graph.js';

const row = (protocol: string, client: string, server: string, rps: number, errorRate = 0, p99 = 10) => ({
  protocol,
  client,
  server,
  requests: Math.round(rps * 60),
  requests_per_s: rps,
  error_rate: errorRate,
  p50_ms: p99 / 4,
  p90_ms: p99 / 2,
  p99_ms: p99,
});

// A shop: curl → frontend → api → PostgreSQL, api → an external HTTP API, and a client seen only by address.
const shop = [
  row('http', 'curl', 'frontend:3000', 2),
  row('http', 'frontend', 'api:8080', 4, 0.25, 80),
  row('pgsql', 'api', 'postgres:5432', 10, 0, 5),
  row('http', 'api', '93.184.216.34:443', 1),
  row('http', '10.0.0.9', 'api:8080', 2, 0, 200),
  row('mysql', 'api', '10.0.0.20:3306', 3, 0.01, 2),
];

describe('service graph', () => {
  it('tells addresses from process names and splits endpoints', () => {
    assert.ok(isAddress('10.1.2.3'));
    assert.ok(isAddress('::1'));
    assert.ok(isAddress('fe80::1:2'));
    assert.ok(!isAddress('api'));
    assert.ok(!isAddress('demo-api'));
    assert.deepEqual(splitEndpoint('api:8080'), { name: 'api', port: 8080 });
    assert.deepEqual(splitEndpoint('::1:5432'), { name: '::1', port: 5432 });
    assert.deepEqual(splitEndpoint('curl'), { name: 'curl', port: null });
  });

  it('draws a client process as its only server endpoint, so chains connect', () => {
    const graph = buildServiceGraph(shop);
    const ids = graph.nodes.map((n) => n.id);
    assert.deepEqual(ids, [
      '10.0.0.20:3306',
      '10.0.0.9',
      '93.184.216.34:443',
      'api:8080',
      'curl',
      'frontend:3000',
      'postgres:5432',
    ]);
    const fromApi = graph.edges.filter((e) => e.source === 'api:8080').map((e) => e.target);
    assert.deepEqual(fromApi.sort(), ['10.0.0.20:3306', '93.184.216.34:443', 'postgres:5432']);
    const intoApi = graph.edges.find((e) => e.target === 'api:8080' && e.source === 'frontend:3000');
    assert.equal(intoApi?.client, 'frontend', 'the script’s own client name is kept for the explorer');
  });

  it('gives each node a kind', () => {
    const kinds = Object.fromEntries(buildServiceGraph(shop).nodes.map((n) => [n.id, n.kind]));
    assert.deepEqual(kinds, {
      '10.0.0.20:3306': 'database',
      '10.0.0.9': 'external',
      '93.184.216.34:443': 'external',
      'api:8080': 'service',
      curl: 'client',
      'frontend:3000': 'service',
      'postgres:5432': 'database',
    });
    const external = buildServiceGraph(shop).nodes.find((n) => n.id === '10.0.0.20:3306')!;
    assert.equal(external.addressOnly, true);
    assert.equal(external.process, null);
    assert.equal(external.port, 3306);
  });

  it('sums inbound traffic, weights the error rate by requests and keeps the worst p99', () => {
    const api = buildServiceGraph(shop).nodes.find((n) => n.id === 'api:8080')!;
    assert.equal(api.inboundPerSecond, 6);
    assert.equal(api.inboundRequests, 360);
    assert.ok(Math.abs(api.inboundErrorRate - (0.25 * 240) / 360) < 1e-9);
    assert.equal(api.worstP99Ms, 200);
    assert.equal(api.outboundPerSecond, 14);
    assert.deepEqual(api.serves, ['http']);
    assert.equal(api.process, 'api');
  });

  it('keeps a client of several endpoints as its own node', () => {
    const graph = buildServiceGraph([
      row('http', 'gateway', 'gateway:80', 1),
      row('http', 'gateway', 'gateway:443', 1),
      row('http', 'gateway', 'api:8080', 1),
    ]);
    assert.ok(graph.nodes.some((n) => n.id === 'gateway' && n.kind === 'client'));
  });

  it('ignores rows it cannot read and accepts numbers sent as strings', () => {
    const graph = buildServiceGraph([
      { protocol: 'redis', client: 'a', server: 'b:1' },
      { protocol: 'http', client: null, server: 'b:1' },
      { ...row('http', 'a', 'b:1', 0), requests: '12', requests_per_s: '0.2' },
    ]);
    assert.equal(graph.edges.length, 1);
    assert.equal(graph.edges[0]!.requests, 12);
    assert.equal(graph.edges[0]!.requestsPerSecond, 0.2);
  });

  it('filters by protocol, search text and neighbourhood', () => {
    const graph = buildServiceGraph(shop);
    const sqlOnly = filterGraph(graph, { protocols: ['pgsql', 'mysql'] });
    assert.deepEqual(
      sqlOnly.nodes.map((n) => n.id),
      ['10.0.0.20:3306', 'api:8080', 'postgres:5432'],
    );
    assert.equal(filterGraph(graph, { protocols: [] }).edges.length, graph.edges.length);

    assert.deepEqual(searchNodes(graph, ' FRONT '), ['frontend:3000']);
    assert.deepEqual(searchNodes(graph, '  '), []);
    const found = filterGraph(graph, { search: 'front' });
    assert.deepEqual(
      found.nodes.map((n) => n.id),
      ['api:8080', 'curl', 'frontend:3000'],
    );

    const around = neighbourhood(graph, 'frontend:3000');
    assert.deepEqual([...around.nodes].sort(), ['api:8080', 'curl', 'frontend:3000']);
    assert.equal(around.edges.size, 2);
    assert.equal(neighbourhood(graph, 'nobody').nodes.size, 0);
    const focused = filterGraph(graph, { focus: 'postgres:5432', protocols: ['pgsql'] });
    assert.deepEqual(
      focused.nodes.map((n) => n.id),
      ['api:8080', 'postgres:5432'],
    );
  });
});
