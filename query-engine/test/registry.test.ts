import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { listenApi } from '../src/api.js';
import { buildBroker } from '../src/broker/broker-app.js';
import { BrokerRegistration } from '../src/registry/broker-registration.js';
import { NodeRegistry } from '../src/registry/node-registry.js';
import { clusterStatus } from '../src/broker/cluster-status.js';

const STATUS = { eventsPerSecond: 5, drops: 1, parseErrors: 2, storeRows: 300, storeBytes: 4096 };
const TABLES = { http_events: [{ name: 'time', type: 'TIMESTAMP_NS NOT NULL' }] };

describe('NodeRegistry', () => {
  it('counts a node up while it heartbeats and down after the configured silence', () => {
    let now = 1_000_000;
    const registry = new NodeRegistry({ downAfterMs: 15_000, now: () => now });
    registry.register({ name: 'a', url: 'http://127.0.0.1:1', tables: TABLES });
    registry.register({ name: 'b', url: 'http://127.0.0.1:2', token: 't', tables: TABLES });
    now += 10_000;
    registry.heartbeat('a', STATUS);
    now += 10_000;
    assert.deepEqual(
      registry.list().map((n) => [n.name, n.state, n.msSinceSeen]),
      [
        ['a', 'up', 10_000],
        ['b', 'down', 20_000],
      ],
    );
    const { up, down } = registry.targets();
    assert.deepEqual(up, [{ name: 'a', url: 'http://127.0.0.1:1' }]);
    assert.deepEqual(
      down.map((n) => n.name),
      ['b'],
    );
    assert.deepEqual(registry.list()[0]?.status, STATUS);
    // A restarted collector registers again under its name and is up again.
    registry.register({ name: 'b', url: 'http://127.0.0.1:3', tables: TABLES });
    assert.equal(registry.list()[1]?.state, 'up');
    assert.equal(registry.targets().up[1]?.url, 'http://127.0.0.1:3');
    assert.deepEqual(registry.counters, {
      registrations: 3,
      heartbeats: 1,
      unknownHeartbeats: 0,
      refusedFull: 0,
    });
  });

  it('answers a heartbeat from an unknown node with UNKNOWN_NODE and refuses past its size', () => {
    const registry = new NodeRegistry({ maxNodes: 1 });
    assert.throws(() => registry.heartbeat('ghost', STATUS), { code: 'UNKNOWN_NODE' });
    registry.register({ name: 'a', url: 'http://x', tables: {} });
    assert.throws(() => registry.register({ name: 'b', url: 'http://y', tables: {} }), {
      code: 'REGISTRY_FULL',
    });
  });
});

describe('broker registry API', () => {
  const build = (registry: NodeRegistry, token?: string) =>
    buildBroker({ registry, downAfterMs: 15_000, ...(token ? { token, host: '0.0.0.0' } : {}) });

  it('registers, heartbeats and lists nodes without their tokens', async () => {
    const registry = new NodeRegistry();
    const app = build(registry);
    const register = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/register',
      payload: {
        name: 'node-1',
        url: 'http://127.0.0.1:7071',
        token: 'secret',
        tables: TABLES,
        status: STATUS,
      },
    });
    assert.equal(register.statusCode, 200, register.body);
    assert.deepEqual(register.json(), { ok: true, heartbeatMs: 5_000 });
    const beat = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/heartbeat',
      payload: {
        name: 'node-1',
        status: {
          ...STATUS,
          drops: 7,
          dropsByReason: { ringbuf_full: 5, store_rejected: 2 },
          retentionMaxAgeMs: 86_400_000,
          retentionMaxBytes: 1 << 30,
        },
      },
    });
    assert.equal(beat.statusCode, 200);
    const nodes = (await app.inject({ method: 'GET', url: '/api/v1/nodes' })).json().nodes;
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].state, 'up');
    assert.equal(nodes[0].status.drops, 7);
    // The details the UI's node view shows survive the round trip through the registry.
    assert.deepEqual(nodes[0].status.dropsByReason, { ringbuf_full: 5, store_rejected: 2 });
    assert.equal(nodes[0].status.retentionMaxAgeMs, 86_400_000);
    assert.equal(nodes[0].status.retentionMaxBytes, 1 << 30);
    assert.equal(JSON.stringify(nodes).includes('secret'), false);
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/heartbeat',
      payload: { name: 'nobody', status: STATUS },
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'UNKNOWN_NODE');
    const status = (await app.inject({ method: 'GET', url: '/api/v1/status' })).json();
    assert.equal(status.totals.up, 1);
    assert.equal(status.totals.drops, 7);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^loupe_node_up\{node="node-1"\} 1$/m);
    assert.match(metrics.body, /^loupe_drops_total\{node="node-1"\} 7$/m);
  });

  it('validates registrations', async () => {
    const app = build(new NodeRegistry());
    for (const payload of [
      { name: 'a b', url: 'http://x', tables: {} },
      { name: 'a', url: 'file:///etc/passwd', tables: {} },
      { name: 'a', url: 'http://x', tables: { t: [{ name: 'c', type: 'INT); DROP TABLE x; --' }] } },
    ]) {
      const response = await app.inject({ method: 'POST', url: '/api/v1/nodes/register', payload });
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
    }
  });

  it('needs the bearer token off loopback, for collectors too', async () => {
    const app = build(new NodeRegistry(), 'tok');
    const payload = { name: 'a', url: 'http://x', tables: {} };
    const without = await app.inject({ method: 'POST', url: '/api/v1/nodes/register', payload });
    assert.equal(without.statusCode, 401);
    const withToken = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/register',
      payload,
      headers: { authorization: 'Bearer tok' },
    });
    assert.equal(withToken.statusCode, 200);
  });
});

describe('BrokerRegistration (collector side)', () => {
  let app: FastifyInstance;
  let registry: NodeRegistry;
  let url: string;

  before(async () => {
    registry = new NodeRegistry();
    app = buildBroker({ registry, downAfterMs: 3_000, token: 'tok' });
    url = await listenApi(app, 0);
  });
  after(() => app.close());

  const waitFor = async (done: () => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('registers with the token, heartbeats, and registers again after the broker forgot it', async () => {
    const client = new BrokerRegistration({
      brokerUrl: url,
      token: 'tok',
      name: 'n1',
      url: 'http://127.0.0.1:9',
      tables: TABLES,
      status: () => STATUS,
      heartbeatMs: 50,
      log: () => undefined,
    });
    client.start();
    try {
      await waitFor(() => client.counters.heartbeats >= 2);
      assert.equal(registry.list()[0]?.name, 'n1');
      // The broker restarts and forgets every node: the next heartbeat is refused and the node registers again.
      const forgetful = new NodeRegistry();
      Object.assign(registry, { nodes: (forgetful as unknown as { nodes: unknown }).nodes });
      await waitFor(() => client.counters.registrations >= 2);
      assert.equal(registry.list()[0]?.name, 'n1');
    } finally {
      client.stop();
    }
  });

  it('retries with backoff while the broker is unreachable, without throwing', async () => {
    const messages: string[] = [];
    const client = new BrokerRegistration({
      brokerUrl: 'http://127.0.0.1:1',
      name: 'n2',
      url: 'http://127.0.0.1:9',
      tables: TABLES,
      status: () => STATUS,
      minBackoffMs: 10,
      maxBackoffMs: 40,
      log: (message) => messages.push(message),
    });
    client.start();
    await waitFor(() => client.counters.failures >= 4);
    client.stop();
    assert.equal(client.isRegistered, false);
    // Told once when it became unreachable, not once per attempt.
    assert.equal(messages.length, 1);
    assert.match(messages[0] ?? '', /retrying/);
  });
});

describe('cluster status', () => {
  it('sums the nodes that are up, and counts down nodes only by number', () => {
    let now = 0;
    const registry = new NodeRegistry({ downAfterMs: 15_000, now: () => now });
    const status = (eventsPerSecond: number) => ({
      eventsPerSecond,
      drops: 2,
      parseErrors: 1,
      storeRows: 1000,
      storeBytes: 4096,
    });
    registry.register({ name: 'c', url: 'http://127.0.0.1:1', tables: {}, status: status(100) });
    now = 20_000;
    registry.register({ name: 'a', url: 'http://127.0.0.1:2', tables: {}, status: status(10) });
    registry.register({ name: 'b', url: 'http://127.0.0.1:3', tables: {}, status: status(5.5) });
    registry.register({ name: 'x', url: 'http://127.0.0.1:4', tables: {} });
    assert.deepEqual(clusterStatus(registry).totals, {
      up: 3,
      down: 1,
      eventsPerSecond: 15.5,
      drops: 4,
      parseErrors: 2,
      storeRows: 2000,
      storeBytes: 8192,
    });
  });
});
