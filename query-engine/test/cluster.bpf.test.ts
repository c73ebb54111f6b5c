/**
 * End to end: three real collectors, each capturing one network namespace of its own, a broker they register
 * with, and Node HTTP servers in the namespaces calling each other across a bridge. Every query of the battery
 * (ad-hoc SQL and the bundled scripts) must give through the broker exactly what one DuckDB holding all three
 * nodes' rows gives. Then one collector is frozen and killed: the answers stay within the timeout and flag it.
 *
 * Network: namespaces <id>-n1..n3 with 10.200.7.1-3/24, veth-linked to a bridge that lives in a fourth
 * namespace <id>-sw, so no test packet ever touches the host's own interfaces. Needs root and eBPF.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { QueryRunner } from '../src/query-runner.js';
import { ScriptLibrary } from '../src/scripts/script-library.js';
import type { QueryResponse } from '../src/api.js';
import { AD_HOC_QUERIES } from './support/query-battery.js';
import { assertSameRows } from './support/same-rows.js';
import { closedWindow, inlineParams, paramsUsed } from './support/script-sql.js';

/** The collector's compiled test helpers (processes started and stopped by pid, the HTTP server). */
interface Running {
  readonly pid: number;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}
interface Processes {
  start(command: string, args: string[]): Running;
  run(command: string, args: string[]): Promise<string>;
  stopAll(): Promise<void>;
  freePort(): Promise<number>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const supportDir = path.join(repoRoot, 'node-collector/dist/test/support');
const loupeBin = path.join(repoRoot, 'bin/loupe');
const id = `lq${crypto.randomBytes(2).toString('hex')}`;
const SWITCH = `${id}-sw`;
const NODES = [1, 2, 3].map((i) => ({ name: `node${i}`, ns: `${id}-n${i}`, addr: `10.200.7.${i}` }));
const SERVER_PORT = 8080;

let processes: Processes;
let brokerUrl: string;
const collectors = new Map<string, Running>();
const dataDirs: string[] = [];
let windowFrom: string;
let windowUntil: string;

async function ip(...args: string[]): Promise<void> {
  await processes.run('ip', args);
}

async function createNetwork(): Promise<void> {
  await ip('netns', 'add', SWITCH);
  await ip('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', SWITCH, 'link', 'set', 'br0', 'up');
  for (const [i, node] of NODES.entries()) {
    await ip('netns', 'add', node.ns);
    await ip('-n', node.ns, 'link', 'set', 'lo', 'up');
    await ip('-n', SWITCH, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.ns);
    await ip('-n', SWITCH, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
    await ip('-n', node.ns, 'addr', 'add', `${node.addr}/24`, 'dev', 'eth0');
    await ip('-n', node.ns, 'link', 'set', 'eth0', 'up');
  }
}

async function deleteNetwork(): Promise<void> {
  for (const ns of [...NODES.map((n) => n.ns), SWITCH]) await ip('netns', 'del', ns).catch(() => undefined);
}

async function brokerCall<T>(pathname: string, body?: unknown): Promise<T> {
  const response = await fetch(`${brokerUrl}${pathname}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

const query = (sql: string) => brokerCall<QueryResponse>('/api/v1/query', { sql });

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what}: gave up waiting, last ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Each node calls the next one's server over kept-alive connections: several requests per connection. */
async function sendTraffic(): Promise<void> {
  await Promise.all(
    NODES.map((node, i) => {
      const target = NODES[(i + 1) % NODES.length]!;
      const base = `http://${target.addr}:${SERVER_PORT}`;
      const urls = [
        ...Array.from({ length: 8 }, (_, k) => `${base}/hello?from=${node.name}&k=${k}`),
        `${base}/status/500`,
        `${base}/status/404`,
        `${base}/echo`,
      ];
      // No --retry: curl would retry the 500 and send more requests than counted below.
      return processes.run('ip', ['netns', 'exec', node.ns, 'curl', '-s', '-o', '/dev/null', ...urls]);
    }),
  );
}

/** Every row of every table of every collector, gathered through the collectors' own query API. */
async function referenceDatabase(): Promise<QueryRunner> {
  const instance = await DuckDBInstance.create(':memory:');
  const setup = await instance.connect();
  const nodes = (await brokerCall<{ nodes: { name: string; url: string }[] }>('/api/v1/nodes')).nodes;
  const first = nodes[0]!;
  const nodeQuery = async (url: string, sql: string) => {
    const response = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql }),
    });
    const body = (await response.json()) as QueryResponse;
    assert.equal(body.truncated, false, 'reference rows fit the collector API row cap');
    return body.rows;
  };
  const columns = await nodeQuery(
    first.url,
    "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' ORDER BY table_name, column_index",
  );
  const tables = new Map<string, string[]>();
  for (const column of columns as { table_name: string; column_name: string; data_type: string }[]) {
    tables.set(column.table_name, [
      ...(tables.get(column.table_name) ?? []),
      `"${column.column_name}" ${column.data_type}`,
    ]);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-reference-'));
  for (const [table, definitions] of tables) {
    await setup.run(`CREATE TABLE ${table} (${definitions.join(', ')})`);
    const spec = definitions.map((d) => d.replace(/^"([^"]+)" (.*)$/, "'$1': '$2'")).join(', ');
    for (const node of nodes) {
      const rows = await nodeQuery(node.url, `SELECT * FROM ${table}`);
      if (rows.length === 0) continue;
      const file = path.join(dir, `${table}-${node.name}.json`);
      fs.writeFileSync(file, JSON.stringify(rows));
      await setup.run(
        `INSERT INTO ${table} SELECT * FROM read_json('${file}', columns = {${spec}}, format = 'array')`,
      );
    }
  }
  setup.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
  return QueryRunner.create(instance, { timeoutMs: 20_000, maxRows: 10_000 });
}

describe('a cluster of three collectors and a broker', { timeout: 180_000 }, () => {
  let reference: QueryRunner;

  /**
   * Compares the broker's answer with the reference's. Collectors keep writing samples (collector_stats,
   * conn_stats) while the test runs, so a mismatch is checked once more against a fresh reference before it
   * counts: a real difference survives that, data that moved between the two reads does not.
   */
  async function assertLikeReference(sql: string, ordered: boolean, label: string): Promise<QueryResponse> {
    const answer = await query(sql);
    assert.ok(
      answer.nodes.every((node) => node.ok),
      JSON.stringify(answer.nodes),
    );
    try {
      assertSameRows(answer.rows, (await reference.run(sql)).rows, ordered, label);
      return answer;
    } catch {
      reference = await referenceDatabase();
      const again = await query(sql);
      assertSameRows(again.rows, (await reference.run(sql)).rows, ordered, label);
      return again;
    }
  }

  before(async () => {
    processes = (await import(path.join(supportDir, 'processes.js'))) as Processes;
    await createNetwork();
    for (const node of NODES) {
      const server = processes.start('ip', [
        'netns',
        'exec',
        node.ns,
        'node',
        path.join(supportDir, 'node-http-server.js'),
        String(SERVER_PORT),
        node.addr,
      ]);
      await server.waitForLine(/listening/);
    }
    const brokerPort = await processes.freePort();
    brokerUrl = `http://127.0.0.1:${brokerPort}`;
    const broker = processes.start('node', [
      loupeBin,
      'broker',
      '--port',
      String(brokerPort),
      '--node-timeout',
      '3s',
      '--query-timeout',
      '4s',
    ]);
    await broker.waitForLine(/ready/);
    windowFrom = new Date(Date.now() - 60_000).toISOString().replace('T', ' ').replace('Z', '');
    await Promise.all(
      NODES.map(async (node) => {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `loupe-${node.name}-`));
        dataDirs.push(dataDir);
        const port = await processes.freePort();
        const collector = processes.start('node', [
          loupeBin,
          'collector',
          '--port',
          String(port),
          '--data-dir',
          dataDir,
          '--name',
          node.name,
          '--netns',
          `/run/netns/${node.ns}`,
          '--broker',
          brokerUrl,
        ]);
        collectors.set(node.name, collector);
        await collector.waitForLine(/ready/, 60_000);
      }),
    );
    await waitUntil(
      'three nodes up',
      () => brokerCall<{ nodes: { state: string }[] }>('/api/v1/nodes'),
      (body) => body.nodes.filter((n) => n.state === 'up').length === 3,
    );
    await sendTraffic();
    // Each request is captured twice (client and server side): 11 requests per node pair, 66 rows in all.
    let previous = -1;
    await waitUntil(
      'captured rows to settle',
      async () => Number((await query('SELECT count(*) AS n FROM http_events')).rows[0]?.n),
      (n) => {
        const settled = n >= 66 && n === previous;
        previous = n;
        return settled;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    windowUntil = new Date().toISOString().replace('T', ' ').replace('Z', '');
    reference = await referenceDatabase();
  });

  after(async () => {
    await processes?.stopAll();
    await deleteNetwork();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sees the traffic of each namespace on its own node, both sides of each request', async () => {
    const rows = (
      await query(
        `SELECT node, role, count(*) AS n FROM http_events WHERE req_path LIKE '/hello%' GROUP BY ALL ORDER BY ALL`,
      )
    ).rows;
    assert.deepEqual(
      rows,
      NODES.flatMap((node) => [
        { node: node.name, role: 'client', n: 8 },
        { node: node.name, role: 'server', n: 8 },
      ]),
    );
  });

  for (const [sql, ordered] of AD_HOC_QUERIES) {
    it(`answers like one database: ${sql.replace(/\s+/g, ' ').slice(0, 80)}`, async () => {
      await assertLikeReference(sql, ordered, sql);
    });
  }

  it('runs every bundled script like one database', async () => {
    const scripts = await ScriptLibrary.loadBundled();
    for (const script of scripts.list()) {
      const resolved = scripts.resolve(script.name, {});
      const sql = closedWindow(resolved.sql, windowFrom, windowUntil);
      const params = paramsUsed(sql, resolved.params);
      await assertLikeReference(inlineParams(sql, params), true, script.name);
    }
    const map = await brokerCall<QueryResponse>('/api/v1/query', { script: 'service_map' });
    const edges = map.rows
      .filter((row) => row.protocol === 'http')
      .map((row) => [row.client, row.server, row.requests]);
    // Every request counted once, from the server side, with the client named by its process.
    const connections = await query(
      `SELECT node, role, local_addr, local_port, remote_addr, remote_port, count(*) AS n FROM http_events GROUP BY ALL ORDER BY ALL`,
    );
    assert.deepEqual(edges, [['curl', 'node:8080', 33]], JSON.stringify(connections.rows));
  });

  it('answers without a frozen collector within the timeout, then without a dead one, flagged', async () => {
    const victim = collectors.get('node3')!;
    const expected = (await reference.run("SELECT count(*) AS n FROM http_events WHERE node <> 'node3'"))
      .rows;
    process.kill(victim.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const frozen = await query('SELECT count(*) AS n FROM http_events');
      assert.ok(Date.now() - started < 8_000, `answered in ${Date.now() - started} ms`);
      assert.deepEqual(frozen.rows, expected);
      assert.deepEqual(
        frozen.nodes.map((node) => [node.name, node.status]),
        [
          ['node1', 'ok'],
          ['node2', 'ok'],
          ['node3', 'timeout'],
        ],
      );
    } finally {
      process.kill(victim.pid, 'SIGKILL');
    }
    await victim.stop();
    const dead = await query('SELECT count(*) AS n FROM http_events');
    assert.deepEqual(dead.rows, expected);
    assert.equal(dead.nodes.find((node) => node.name === 'node3')?.ok, false);
    const down = await waitUntil(
      'node3 down',
      () => query('SELECT count(*) AS n FROM http_events'),
      (answer) => answer.nodes.find((node) => node.name === 'node3')?.status === 'down',
    );
    assert.deepEqual(down.rows, expected);
  });
});
