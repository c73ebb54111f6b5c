/**
 * In-process "nodes" for planner and fan-out tests: each is an in-memory DuckDB with node tables, served by
 * the real node API (fragment route included) on a loopback port and registered with a NodeRegistry. The same
 * rows also go into one reference DuckDB, whose answers the distributed ones must equal.
 */

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { buildApi, listenApi } from '../../src/api.js';
import { QueryRunner, type JsonValue } from '../../src/query-runner.js';
import { NodeRegistry, type TableSchemas } from '../../src/registry/node-registry.js';

/** The columns every table that records a connection's endpoint starts with. */
const ENDPOINT_COLUMNS = [
  { name: 'time', type: 'TIMESTAMP_NS NOT NULL' },
  { name: 'node', type: 'VARCHAR NOT NULL' },
  { name: 'pid', type: 'INTEGER' },
  { name: 'process', type: 'VARCHAR' },
  { name: 'local_addr', type: 'VARCHAR' },
  { name: 'local_port', type: 'INTEGER' },
  { name: 'remote_addr', type: 'VARCHAR' },
  { name: 'remote_port', type: 'INTEGER' },
  { name: 'role', type: 'VARCHAR' },
];

export const TEST_TABLES: TableSchemas = {
  http_events: [
    ...ENDPOINT_COLUMNS,
    { name: 'req_method', type: 'VARCHAR' },
    { name: 'req_path', type: 'VARCHAR' },
    { name: 'req_headers', type: 'JSON' },
    { name: 'req_body_size', type: 'BIGINT' },
    { name: 'resp_status', type: 'INTEGER' },
    { name: 'resp_body_size', type: 'BIGINT' },
    { name: 'latency_ns', type: 'BIGINT' },
    { name: 'encrypted', type: 'BOOLEAN' },
  ],
  pgsql_events: [
    ...ENDPOINT_COLUMNS,
    { name: 'req_normalized', type: 'VARCHAR' },
    { name: 'error', type: 'VARCHAR' },
    { name: 'latency_ns', type: 'BIGINT' },
  ],
  mysql_events: [
    ...ENDPOINT_COLUMNS,
    { name: 'req_normalized', type: 'VARCHAR' },
    { name: 'error', type: 'VARCHAR' },
    { name: 'latency_ns', type: 'BIGINT' },
  ],
  collector_stats: [
    { name: 'time', type: 'TIMESTAMP_NS NOT NULL' },
    { name: 'node', type: 'VARCHAR NOT NULL' },
    { name: 'events', type: 'BIGINT' },
    { name: 'bytes', type: 'BIGINT' },
    { name: 'drops', type: 'BIGINT' },
    { name: 'parse_errors', type: 'BIGINT' },
    { name: 'store_rows', type: 'BIGINT' },
    { name: 'store_bytes', type: 'BIGINT' },
  ],
  conn_stats: [
    ...ENDPOINT_COLUMNS,
    { name: 'protocol', type: 'VARCHAR' },
    { name: 'bytes_sent', type: 'BIGINT' },
    { name: 'bytes_recv', type: 'BIGINT' },
  ],
};

export function createTablesSql(): string[] {
  return Object.entries(TEST_TABLES).map(
    ([table, columns]) => `CREATE TABLE ${table} (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`,
  );
}

/** Deterministic rows for node `index`: times before `until`, a few processes, errors and NULLs. */
export function insertRowsSql(node: string, index: number, rows: number, until: string): string[] {
  const now = `'${until}'::TIMESTAMP`;
  return [
    `INSERT INTO http_events SELECT
       (${now} - INTERVAL (i * 7 + ${index}) SECOND)::TIMESTAMP_NS,
       '${node}', 100 + i % 3, ['api', 'web', 'db-proxy'][1 + (i + ${index}) % 3],
       '10.0.${index}.1', CASE WHEN i % 4 = 0 THEN 8080 ELSE 40000 + i % 50 END,
       '10.0.' || ((i + ${index}) % 3) || '.1', CASE WHEN i % 4 = 0 THEN 40000 + i % 50 ELSE 8080 END,
       CASE WHEN i % 4 = 0 THEN 'server' ELSE 'client' END,
       ['GET', 'POST', 'PUT'][1 + i % 3], '/api/item/' || (i % 17),
       '{"host": "svc-' || (i % 5) || '"}', i % 7 * 10,
       CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN 500 ELSE 200 END, i % 5 * 100,
       1000 + ((i * 7919 + ${index} * 104729) % 100000) * 1000, i % 9 = 0
     FROM range(${rows}) t(i)`,
    `INSERT INTO conn_stats SELECT
       (${now} - INTERVAL (i * 13) SECOND)::TIMESTAMP_NS, '${node}', 100 + i % 3, ['api', 'web'][1 + i % 2],
       '10.0.${index}.1', 40000 + i % 50, '10.0.' || (i % 3) || '.1', 8080, 'client', 'http',
       i * 100, i * 1000 + ${index}
     FROM range(${Math.ceil(rows / 3)}) t(i)`,
    `INSERT INTO pgsql_events SELECT
       (${now} - INTERVAL (i * 11 + ${index}) SECOND)::TIMESTAMP_NS, '${node}', 200, ['api', 'postgres'][1 + i % 2],
       '10.0.${index}.1', CASE WHEN i % 2 = 1 THEN 5432 ELSE 41000 + i % 20 END,
       '10.0.' || ((i + ${index}) % 3) || '.1', CASE WHEN i % 2 = 1 THEN 41000 + i % 20 ELSE 5432 END,
       CASE WHEN i % 2 = 1 THEN 'server' ELSE 'client' END,
       ['SELECT * FROM t WHERE id = ?', 'UPDATE t SET x = ? WHERE id = ?', 'BEGIN'][1 + i % 3],
       CASE WHEN i % 17 = 0 THEN 'duplicate key' END, 50000 + (i * 7727 % 5000) * 1000
     FROM range(${Math.ceil(rows / 4)}) t(i)`,
    `INSERT INTO mysql_events SELECT
       (${now} - INTERVAL (i * 19 + ${index}) SECOND)::TIMESTAMP_NS, '${node}', 300, 'mysqld',
       '10.0.${index}.1', 3306, '10.0.9.' || (i % 4), 42000 + i % 10, 'server',
       'SELECT ? FROM dual', NULL, 20000 + (i * 31 % 900) * 1000
     FROM range(${Math.ceil(rows / 10)}) t(i)`,
    `INSERT INTO collector_stats SELECT
       (${now} - INTERVAL (i * 10) SECOND)::TIMESTAMP_NS, '${node}', 100 + i, 1000 * i, i % 3, i % 2,
       i * 100, 4096 * i
     FROM range(50) t(i)`,
  ];
}

export interface FakeNode {
  name: string;
  instance: DuckDBInstance;
  app: FastifyInstance;
  url: string;
}

export interface FakeCluster {
  nodes: FakeNode[];
  registry: NodeRegistry;
  /** One DuckDB holding every node's rows. */
  reference: DuckDBConnection;
  referenceRows(sql: string): Promise<Record<string, JsonValue>[]>;
  close(): Promise<void>;
}

export async function startFakeCluster(
  names: string[],
  rowsPerNode: number,
  registry = new NodeRegistry(),
  /** Bearer token every node's API requires (and registers for the broker to present). */
  token?: string,
): Promise<FakeCluster> {
  const referenceInstance = await DuckDBInstance.create(':memory:');
  const reference = await referenceInstance.connect();
  for (const sql of createTablesSql()) await reference.run(sql);
  const nodes: FakeNode[] = [];
  const until = new Date().toISOString().replace('T', ' ').replace('Z', '');
  for (const [index, name] of names.entries()) {
    const instance = await DuckDBInstance.create(':memory:');
    const setup = await instance.connect();
    for (const sql of createTablesSql()) await setup.run(sql);
    for (const sql of insertRowsSql(name, index, rowsPerNode, until)) {
      await setup.run(sql);
      await reference.run(sql);
    }
    setup.closeSync();
    const runner = await QueryRunner.create(instance, { timeoutMs: 5_000 });
    const app = buildApi({
      nodeName: name,
      queries: runner,
      fragments: runner,
      status: () => ({ eventsPerSecond: 1, drops: 0, parseErrors: 0, storeRows: rowsPerNode, storeBytes: 1 }),
      ...(token ? { token } : {}),
    });
    const url = await listenApi(app, 0);
    registry.register({ name, url, tables: TEST_TABLES, ...(token ? { token } : {}) });
    nodes.push({ name, instance, app, url });
  }
  const referenceRunner = await QueryRunner.create(referenceInstance, { timeoutMs: 10_000, maxRows: 10_000 });
  return {
    nodes,
    registry,
    reference,
    referenceRows: async (sql) => (await referenceRunner.run(sql)).rows,
    async close() {
      for (const node of nodes) {
        await node.app.close();
        node.instance.closeSync();
      }
      reference.closeSync();
      referenceInstance.closeSync();
    },
  };
}
