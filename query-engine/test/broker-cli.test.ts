import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { listenApi } from '../src/api.js';
import { buildBroker } from '../src/broker/broker-app.js';
import { DistributedEngine } from '../src/broker/distributed-engine.js';
import { queryRoutes } from '../src/broker/query-routes.js';
import { runQueryCommand, type CliIo } from '../src/cli/query-command.js';
import { runScriptsCommand } from '../src/cli/scripts-command.js';
import { formatClusterStatus, runStatusCommand } from '../src/cli/status-command.js';
import { NodeRegistry } from '../src/registry/node-registry.js';
import { ScriptLibrary } from '../src/scripts/script-library.js';
import { scriptRoutes } from '../src/scripts/script-routes.js';
import { startFakeCluster, type FakeCluster } from './support/fake-cluster.js';

function capture(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env: {},
    fetch: (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => fetch(input, init),
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  };
  return io;
}

describe('CLI against a broker', () => {
  let cluster: FakeCluster;
  let engine: DistributedEngine;
  let broker: FastifyInstance;
  let url: string;
  let registry: NodeRegistry;

  before(async () => {
    // A node that registered a minute ago and went silent, next to two that are up.
    let clock = Date.now() - 60_000;
    registry = new NodeRegistry({ downAfterMs: 15_000, now: () => clock });
    registry.register({ name: 'z-gone', url: 'http://127.0.0.1:1', tables: {} });
    clock += 60_000;
    cluster = await startFakeCluster(['a', 'b'], 200, registry);
    engine = await DistributedEngine.create(registry, { queryTimeoutMs: 3_000 });
    const scripts = await ScriptLibrary.loadBundled();
    broker = buildBroker({
      registry,
      downAfterMs: 15_000,
      plugins: [queryRoutes(engine, scripts), scriptRoutes(scripts)],
    });
    url = await listenApi(broker, 0);
  });
  after(async () => {
    await broker.close();
    engine.close();
    await cluster.close();
  });

  it('loupe query --script NAME --param k=v runs a bundled script and flags nodes that did not answer', async () => {
    const io = capture();
    const code = await runQueryCommand(
      [
        '--broker',
        url,
        '--format',
        'json',
        '--script',
        'http_requests',
        '--param',
        'limit=3',
        '--param',
        'method=GET',
      ],
      io,
    );
    assert.equal(code, 0, io.err);
    const answer = JSON.parse(io.out);
    assert.equal(answer.rows.length, 3);
    assert.ok(answer.rows.every((row: { req_method: string }) => row.req_method === 'GET'));
    assert.deepEqual(
      answer.nodes.map((node: { name: string; status: string }) => [node.name, node.status]),
      [
        ['a', 'ok'],
        ['b', 'ok'],
        ['z-gone', 'down'],
      ],
    );
    assert.match(io.err, /warning: node z-gone did not answer: down: no heartbeat for 60 s/);
  });

  it('refuses bad script usage with exit 2', async () => {
    for (const args of [
      ['--script', 'http_requests', 'SELECT 1'],
      ['--script', 'http_requests', '--param', 'novalue'],
      ['--param', 'a=1', 'SELECT 1'],
      ['--script', 'no_such_script'],
      ['--script', 'http_requests', '--param', 'limit=many'],
    ]) {
      const io = capture();
      assert.equal(await runQueryCommand(['--broker', url, ...args], io), 2, `${args.join(' ')}: ${io.err}`);
    }
  });

  it('loupe scripts lists the scripts with their parameters', async () => {
    const io = capture();
    assert.equal(await runScriptsCommand(['--broker', url], io), 0, io.err);
    assert.match(io.out, /^service_map {2}Service map$/m);
    assert.match(io.out, /--param window=1 hour {2}how far back to look \(interval\)/);
    const json = capture();
    assert.equal(await runScriptsCommand(['--broker', url, '--format', 'json'], json), 0);
    assert.equal(JSON.parse(json.out).scripts.length, 8);
  });

  it('loupe status shows every node of the cluster and the totals', async () => {
    const io = capture();
    assert.equal(await runStatusCommand(['--broker', url], io), 0, io.err);
    const lines = io.out.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^node +state +last seen +events\/s +drops +parse errors +store rows +store size$/,
    );
    assert.match(lines[3] ?? '', /^z-gone +down/);
    assert.match(lines[4] ?? '', /^total +2 up, 1 down/);
  });
});

describe('formatClusterStatus', () => {
  it('aligns text left and numbers right, and marks nodes without a report', () => {
    const status = { eventsPerSecond: 12.34, drops: 1, parseErrors: 0, storeRows: 10, storeBytes: 2048 };
    const text = formatClusterStatus({
      nodes: [
        { name: 'node-1', state: 'up', msSinceSeen: 200, status },
        { name: 'n2', state: 'down', msSinceSeen: 20_000, status: null },
      ],
      totals: { ...status, up: 1, down: 1 },
    });
    assert.equal(
      text,
      [
        'node    state         last seen  events/s  drops  parse errors  store rows  store size',
        'node-1  up            now            12.3      1             0          10     2.0 KiB',
        'n2      down          20 s ago          -      -             -           -           -',
        'total   1 up, 1 down                 12.3      1             0          10     2.0 KiB',
        '',
      ].join('\n'),
    );
  });
});
