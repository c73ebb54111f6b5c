/**
 * Runs one query over the cluster: plan it, send the fragments to the nodes that are up, load their answers
 * into temporary tables of the broker's own DuckDB, run the (rewritten) query there.
 *
 * The broker's DuckDB is in memory and sealed like a node's (external access off, configuration locked, a
 * memory limit). Every query gets its own connection, and temporary tables belong to their connection, so
 * concurrent queries never see each other's rows; closing the connection drops them.
 */

import { DuckDBInstance, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { NodeAnswer, QueryResponse } from '../api.js';
import { DEFAULT_FRAGMENT_CAPS, type FragmentCaps } from '../fanout/fragment-wire.js';
import { fanOut } from '../fanout/fan-out.js';
import type { QueryInstant, TypedValue } from '../planner/bind-values.js';
import {
  planQuery,
  type ColumnSchema,
  type DescribedColumn,
  type QueryPlan,
} from '../planner/query-planner.js';
import { QueryRunner, sealInstance } from '../query-runner.js';
import type { NodeRegistry, TableSchemas } from '../registry/node-registry.js';
import { PlanCache, SENTINEL_INSTANT, isCacheable, planAt } from './plan-cache.js';
import { SKETCH_MACRO_SQL } from '../planner/partial-aggregates.js';
import { QueryError } from '../sql-guard.js';

export interface EngineLimits {
  /** Time the nodes get to answer; the broker's own query then has as long again. */
  queryTimeoutMs: number;
  /** Rows in an answer; more are cut and the answer flagged truncated. */
  maxRows: number;
  /** Queries running at once; more are refused (QUERY_BUSY). */
  maxConcurrent: number;
  memoryLimit: string;
  fragmentCaps: FragmentCaps;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = {
  queryTimeoutMs: 30_000,
  // The UI's request explorer shows up to 100,000 rows (virtualised); more than that is not for reading.
  maxRows: 100_000,
  maxConcurrent: 4,
  memoryLimit: '2GB',
  fragmentCaps: DEFAULT_FRAGMENT_CAPS,
};

export interface EngineCounters {
  queries: number;
  plansCached: number;
  failed: number;
  partial: number;
  fragmentsSent: number;
  bytesReceived: number;
}

export interface QueryRequest {
  sql: string;
  params?: Record<string, TypedValue>;
}

/** What the API answers, plus the plan and traffic (kept out of the JSON answer; used by tests and the bench). */
export interface EngineAnswer extends QueryResponse {
  plan: QueryPlan;
  bytesReceived: number;
  timings: NonNullable<QueryResponse['timings']>;
}

const PLAIN_TYPE = /^([A-Z][A-Z0-9_]*(\(\d+(,\d+)?\))?)( NOT NULL)?$/i;

/** Node tables as the broker creates them: lower-case names, types without constraints (NULL fills gaps). */
export function brokerTables(schemas: TableSchemas): Map<string, ColumnSchema[]> {
  const tables = new Map<string, ColumnSchema[]>();
  for (const [table, columns] of Object.entries(schemas)) {
    tables.set(
      table.toLowerCase(),
      columns.map((column) => {
        const plain = PLAIN_TYPE.exec(column.type.trim());
        if (!plain?.[1])
          throw new QueryError('BAD_NODE_SCHEMA', `column ${table}.${column.name}: type ${column.type}`, 502);
        return { name: column.name.toLowerCase(), type: plain[1] };
      }),
    );
  }
  return tables;
}

function quoted(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

function createTableSql(table: string, columns: readonly ColumnSchema[]): string {
  const list = columns.map((column) => `${quoted(column.name)} ${column.type}`).join(', ');
  return `CREATE TEMP TABLE ${quoted(table)} (${list});`;
}

async function tableTypes(connection: DuckDBConnection, table: string): Promise<DuckDBType[]> {
  const result = await connection.run(`SELECT * FROM temp.main.${quoted(table)} LIMIT 0`);
  return result.columnTypes();
}

async function describe(connection: DuckDBConnection, sql: string): Promise<DescribedColumn[]> {
  const prepared = await connection.prepare(sql);
  const columns: DescribedColumn[] = [];
  for (let i = 0; i < prepared.columnCount; i++) {
    const type = prepared.columnType(i);
    columns.push({ name: prepared.columnName(i), type: type.alias ?? type.toString(), typeId: type.typeId });
  }
  return columns;
}

/** The broker's clock once, as text each node casts back to the same instant (the offset is explicit). */
async function readInstant(connection: DuckDBConnection): Promise<QueryInstant> {
  const reader = await connection.runAndReadAll(
    `SELECT now()::VARCHAR, localtimestamp::VARCHAR, current_date::VARCHAR, get_current_time()::VARCHAR,
            localtime::VARCHAR`,
  );
  const [timestamptz, timestamp, date, timetz, time] = (reader.getRowsJS()[0] ?? []).map(String);
  return {
    timestamptz: timestamptz ?? '',
    timestamp: timestamp ?? '',
    date: date ?? '',
    timetz: timetz ?? '',
    time: time ?? '',
  };
}

export class DistributedEngine {
  private running = 0;
  private readonly plans = new PlanCache();
  private readonly totals: EngineCounters = {
    queries: 0,
    plansCached: 0,
    failed: 0,
    partial: 0,
    fragmentsSent: 0,
    bytesReceived: 0,
  };

  private constructor(
    private readonly registry: NodeRegistry,
    private readonly instance: DuckDBInstance,
    private readonly runner: QueryRunner,
    private readonly aggregates: ReadonlySet<string>,
    readonly limits: EngineLimits,
  ) {}

  static async create(
    registry: NodeRegistry,
    limits: Partial<EngineLimits> = {},
  ): Promise<DistributedEngine> {
    const effective = { ...DEFAULT_ENGINE_LIMITS, ...limits };
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    let aggregates: Set<string>;
    try {
      const reader = await connection.runAndReadAll(
        "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'",
      );
      aggregates = new Set(reader.getRowsJS().map((row) => String(row[0])));
      await sealInstance(connection, effective.memoryLimit);
    } finally {
      connection.closeSync();
    }
    const runner = await QueryRunner.create(instance, {
      timeoutMs: effective.queryTimeoutMs,
      maxRows: effective.maxRows,
      maxConcurrent: effective.maxConcurrent,
      memoryLimit: effective.memoryLimit,
    });
    return new DistributedEngine(registry, instance, runner, aggregates, effective);
  }

  get counters(): EngineCounters {
    return { ...this.totals, plansCached: this.plans.hits };
  }

  /** The query's plan: from the cache when the same SQL, parameters and schemas were planned before. */
  private async plan(
    request: QueryRequest,
    tables: Map<string, ColumnSchema[]>,
    connection: DuckDBConnection,
  ): Promise<QueryPlan> {
    const instant = await readInstant(connection);
    const context = {
      tables,
      ...(request.params ? { params: request.params } : {}),
      describe: (sql: string) => describe(connection, sql),
      aggregates: this.aggregates,
    };
    if (!isCacheable(request.sql)) return planQuery(request.sql, { ...context, instant });
    const key = JSON.stringify([request.sql, request.params ?? {}, [...tables]]);
    const cached = this.plans.get(key, instant);
    if (cached) return cached;
    const plan = await planQuery(request.sql, { ...context, instant: SENTINEL_INSTANT });
    this.plans.set(key, plan);
    return planAt(plan, instant);
  }

  async query(request: QueryRequest): Promise<EngineAnswer> {
    if (this.running >= this.limits.maxConcurrent) {
      throw new QueryError('QUERY_BUSY', `${this.running} queries are already running; try again`, 503);
    }
    this.running += 1;
    this.totals.queries += 1;
    try {
      const answer = await this.execute(request);
      if (answer.nodes.some((node) => !node.ok)) this.totals.partial += 1;
      return answer;
    } catch (error) {
      this.totals.failed += 1;
      throw error;
    } finally {
      this.running -= 1;
    }
  }

  private async execute(request: QueryRequest): Promise<EngineAnswer> {
    const deadline = Date.now() + this.limits.queryTimeoutMs;
    const schemas = this.registry.tableSchemas();
    if (this.registry.size === 0) {
      throw new QueryError('NO_NODES', 'no collector has registered with this broker yet', 503);
    }
    const tables = brokerTables(schemas);
    const connection = await this.instance.connect();
    const started = performance.now();
    const lap = (since: number) => Math.round((performance.now() - since) * 100) / 100;
    try {
      // One round trip for all of them: the names and types were checked when the node registered.
      const tableSql = [...tables].map(([table, columns]) => createTableSql(table, columns));
      await connection.run([...tableSql, SKETCH_MACRO_SQL].join('\n'));
      const plan = await this.plan(request, tables, connection);
      const types = new Map<string, DuckDBType[]>();
      for (const fragment of plan.fragments) {
        if (!tables.has(fragment.table))
          await connection.run(createTableSql(fragment.table, fragment.columns));
        types.set(fragment.table, await tableTypes(connection, fragment.table));
      }
      const planMs = lap(started);
      const fanOutStarted = performance.now();
      const { up, down } = this.registry.targets();
      this.totals.fragmentsSent += plan.fragments.length * up.length;
      const fanned = await fanOut(connection, up, plan.fragments, types, {
        deadline,
        caps: this.limits.fragmentCaps,
      });
      this.totals.bytesReceived += fanned.bytes;
      const downAnswers: NodeAnswer[] = down.map((node) => ({
        name: node.name,
        ok: false,
        rows: 0,
        ms: 0,
        error: `down: no heartbeat for ${Math.round(node.msSinceSeen / 1000)} s`,
        status: 'down',
        truncated: false,
      }));
      const fanOutMs = lap(fanOutStarted);
      const mergeStarted = performance.now();
      const result = await this.runner.runOn(connection, plan.brokerSql);
      const nodes = [...fanned.answers, ...downAnswers].sort((a, b) => a.name.localeCompare(b.name));
      return {
        columns: result.columns.map((column) => column.name),
        rows: result.rows,
        nodes,
        truncated: result.truncated || nodes.some((node) => node.truncated === true),
        plan,
        bytesReceived: fanned.bytes,
        timings: { planMs, fanOutMs, mergeMs: lap(mergeStarted) },
      };
    } finally {
      connection.closeSync();
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}
