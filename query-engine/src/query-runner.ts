/**
 * Runs a user's SELECT against a DuckDB instance under a time limit, a row cap and a concurrency cap, and turns
 * the result into JSON-safe values.
 *
 * Creating a runner seals the instance it reads: external access off, a memory limit, configuration locked.
 * DuckDB settings are global to an instance, so this also binds the store's writer connection in the same
 * instance. That is intended: appenders, DELETE and CHECKPOINT on the node's own file keep working; only files
 * other than the database, extensions and further SET statements are off limits from then on.
 */

import {
  DuckDBDecimalType,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBConnection,
  type DuckDBResult,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
} from '@duckdb/node-api';
import { QueryError, assertSelectOnly } from './sql-guard.js';

export type JsonValue = Json;

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryResult {
  columns: QueryColumn[];
  rows: Record<string, JsonValue>[];
  /** True when the query had more rows than the cap and only the first `maxRows` are returned. */
  truncated: boolean;
}

export interface QueryLimits {
  timeoutMs: number;
  maxRows: number;
  /** Queries running at once; more are refused (QUERY_BUSY) rather than queued. */
  maxConcurrent: number;
  /** DuckDB memory_limit for the whole instance, e.g. '1GB'. */
  memoryLimit: string;
}

export interface QueryRunnerCounters {
  queries: number;
  failed: number;
  timedOut: number;
  refusedBusy: number;
}

/** Where queries run: EventStore.connect() on a collector, the broker's own instance elsewhere. */
export interface ConnectionSource {
  connect(): Promise<DuckDBConnection>;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  timeoutMs: 10_000,
  maxRows: 10_000,
  maxConcurrent: 4,
  memoryLimit: '1GB',
};

const MEMORY_LIMIT_PATTERN = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;
const NS_DIGITS = 9;
const TIMESTAMP_INFINITY = 2n ** 63n - 1n;

async function currentSetting(connection: DuckDBConnection, name: string): Promise<string> {
  const reader = await connection.runAndReadAll('SELECT value FROM duckdb_settings() WHERE name = $1', [
    name,
  ]);
  return String(reader.getRowsJS()[0]?.[0]);
}

/**
 * Seals the instance behind `connection` for user queries. Idempotent: an instance that is already locked is
 * accepted only if external access is already off, since a locked instance can no longer be changed.
 */
export async function sealInstance(connection: DuckDBConnection, memoryLimit: string): Promise<void> {
  if ((await currentSetting(connection, 'lock_configuration')) === 'true') {
    if ((await currentSetting(connection, 'enable_external_access')) !== 'false') {
      throw new Error(
        'DuckDB instance is locked with external access enabled; refusing to run user queries on it',
      );
    }
    return;
  }
  if (!MEMORY_LIMIT_PATTERN.test(memoryLimit)) throw new Error(`invalid memory limit: ${memoryLimit}`);
  await connection.run('SET enable_external_access = false');
  await connection.run(`SET memory_limit = '${memoryLimit}'`);
  await connection.run('SET lock_configuration = true');
}

/** `units` since the epoch as ISO 8601 UTC with `digits` fractional digits (9 for TIMESTAMP_NS). */
export function isoTimestamp(units: bigint, unitsPerSecond: bigint, digits: number): string | null {
  let seconds = units / unitsPerSecond;
  let fraction = units % unitsPerSecond;
  if (fraction < 0n) {
    fraction += unitsPerSecond;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const whole = date.toISOString().replace(/\.\d{3}Z$/, '');
  return digits === 0 ? `${whole}Z` : `${whole}.${fraction.toString().padStart(digits, '0')}Z`;
}

function bigintToJson(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

/** The epoch offset a timestamp value carries, and in which unit; null for other values. */
function timestampUnits(value: DuckDBValue, typeId: DuckDBTypeId): [bigint, bigint, number] | null {
  if (typeof value !== 'object' || value === null) return null;
  switch (typeId) {
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'nanos' in value ? [value.nanos as bigint, 1_000_000_000n, NS_DIGITS] : null;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'micros' in value ? [value.micros as bigint, 1_000_000n, 6] : null;
    case DuckDBTypeId.TIMESTAMP_MS:
      return 'millis' in value ? [value.millis as bigint, 1_000n, 3] : null;
    case DuckDBTypeId.TIMESTAMP_S:
      return 'seconds' in value ? [value.seconds as bigint, 1n, 0] : null;
    default:
      return null;
  }
}

/**
 * DuckDB values as JSON: integers as numbers while exact (else strings), timestamps as ISO strings at their
 * precision (ns for TIMESTAMP_NS), JSON columns parsed, the rest as the library's JSON converter does it.
 */
export const jsonSafeValue: DuckDBValueConverter<JsonValue> = (value, type, converter) => {
  if (value === null) return null;
  if (typeof value === 'bigint') return bigintToJson(value);
  if (type.typeId === DuckDBTypeId.VARCHAR && type.alias === 'JSON' && typeof value === 'string') {
    try {
      return JSON.parse(value) as JsonValue;
    } catch {
      return value;
    }
  }
  // Up to 15 digits a double holds a decimal exactly; wider ones stay strings.
  if (type instanceof DuckDBDecimalType && type.width <= 15) {
    return Number(String(value));
  }
  const units = timestampUnits(value, type.typeId);
  if (units) {
    // DuckDB stores ±infinity as ±(2^63 - 1) in every timestamp unit.
    if (units[0] === TIMESTAMP_INFINITY) return 'infinity';
    if (units[0] === -TIMESTAMP_INFINITY) return '-infinity';
    return isoTimestamp(...units) ?? String(value);
  }
  return JsonDuckDBValueConverter(value, type, converter);
};

function columnTypeName(type: DuckDBType): string {
  return type.alias ?? type.toString();
}

function isInterrupt(error: unknown): boolean {
  return error instanceof Error && /INTERRUPT/i.test(error.message);
}

export class QueryRunner {
  private readonly source: ConnectionSource;
  readonly limits: QueryLimits;
  private running = 0;
  private readonly totals: QueryRunnerCounters = { queries: 0, failed: 0, timedOut: 0, refusedBusy: 0 };

  private constructor(source: ConnectionSource, limits: QueryLimits) {
    this.source = source;
    this.limits = limits;
  }

  /** Seals the source's instance (see sealInstance) and returns a runner for it. */
  static async create(source: ConnectionSource, limits: Partial<QueryLimits> = {}): Promise<QueryRunner> {
    const effective = { ...DEFAULT_QUERY_LIMITS, ...limits };
    const connection = await source.connect();
    try {
      await sealInstance(connection, effective.memoryLimit);
    } finally {
      connection.closeSync();
    }
    return new QueryRunner(source, effective);
  }

  get counters(): QueryRunnerCounters {
    return { ...this.totals };
  }

  /** Guards, then runs `sql`; rejects with a QueryError carrying a code and an HTTP status. */
  async run(sql: string): Promise<QueryResult> {
    await assertSelectOnly(sql);
    return this.admitted(async () => {
      // One connection per query: interrupt() stops whatever runs on a connection, so sharing one would let a
      // timeout cancel someone else's query.
      const connection = await this.source.connect();
      try {
        return await this.limited(connection, () => this.materialize(connection, sql));
      } finally {
        connection.closeSync();
      }
    });
  }

  /**
   * run() on a connection the caller owns and keeps open: the broker's, whose temporary tables hold the
   * fragments' rows for this one query.
   */
  async runOn(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
    await assertSelectOnly(sql);
    return this.admitted(() => this.limited(connection, () => this.materialize(connection, sql)));
  }

  /**
   * Guards `sql`, then hands its streaming result to `consume` under the same limits as run(): the
   * collector's fragment route encodes the chunks as they come instead of materializing rows.
   */
  async stream<T>(sql: string, consume: (result: DuckDBResult) => Promise<T>): Promise<T> {
    await assertSelectOnly(sql);
    return this.admitted(async () => {
      const connection = await this.source.connect();
      try {
        return await this.limited(connection, async () => consume(await connection.stream(sql)));
      } finally {
        connection.closeSync();
      }
    });
  }

  /** The concurrency cap and the counters around one admitted query. */
  private async admitted<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.maxConcurrent) {
      this.totals.refusedBusy += 1;
      throw new QueryError('QUERY_BUSY', `${this.running} queries are already running; try again`, 503);
    }
    this.running += 1;
    this.totals.queries += 1;
    try {
      return await work();
    } catch (error) {
      this.totals.failed += 1;
      throw error;
    } finally {
      this.running -= 1;
    }
  }

  /** Runs `work` under the time limit (interrupting the connection) and maps DuckDB errors to QueryErrors. */
  private async limited<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, this.limits.timeoutMs);
    try {
      return await work();
    } catch (error) {
      if (error instanceof QueryError) throw error;
      if (timedOut && isInterrupt(error)) {
        this.totals.timedOut += 1;
        throw new QueryError(
          'QUERY_TIMEOUT',
          `query stopped after the ${this.limits.timeoutMs} ms time limit`,
          504,
        );
      }
      throw new QueryError('QUERY_FAILED', error instanceof Error ? error.message : String(error), 400);
    } finally {
      clearTimeout(timer);
    }
  }

  private async materialize(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
    // Streaming stops pulling chunks once the cap (plus one row, to know there were more) is reached.
    const reader = await connection.streamAndReadUntil(sql, this.limits.maxRows + 1);
    const names = reader.deduplicatedColumnNames();
    // The result's column types, not the chunks' vector types: only the former keep aliases such as JSON.
    const types = reader.columnTypes();
    const columns = types.map((type, i) => ({ name: names[i] ?? '', type: columnTypeName(type) }));
    const values = reader.getRows();
    const truncated = values.length > this.limits.maxRows;
    const rows = values
      .slice(0, this.limits.maxRows)
      .map((row) =>
        Object.fromEntries(
          row.map((value, i) => [names[i], jsonSafeValue(value, types[i] as DuckDBType, jsonSafeValue)]),
        ),
      );
    return { columns, rows, truncated };
  }
}
