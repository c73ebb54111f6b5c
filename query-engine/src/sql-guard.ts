/**
 * Admits only read-only SQL from users: exactly one SELECT (WITH and UNION included) that reads tables and a few
 * generating table functions, never files or the network.
 *
 * The SQL is parsed by DuckDB's own parser (`json_serialize_sql`), the same parser that will run it, so there is
 * no second grammar to disagree with. This is the first of two fences: the connection that runs the query also
 * has external access disabled and its configuration locked (see query-runner.ts), so a function this walk
 * does not know about still cannot open a file.
 *
 * Error codes starting with `SQL_` mean "this SQL is refused" (bad input, HTTP 400, CLI exit 2); `QUERY_` codes
 * are failures while running an admitted query.
 */

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export class QueryError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.name = 'QueryError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

/**
 * Table functions a query may call: they generate or unpack values and touch no file, network or setting.
 * Everything else in a FROM clause that is a function (read_csv*, read_json*, read_parquet, parquet_scan,
 * read_text, read_blob, glob, sniff_csv, query, query_table, duckdb_settings, pragma_*, ...) is refused.
 */
const ALLOWED_TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'json_each',
  'json_tree',
  'duckdb_tables',
  'duckdb_columns',
]);

/** A quoted table name with one of these is a replacement scan of a file or URL (`FROM '/etc/passwd'`). */
const FILE_LIKE_TABLE_NAME = /[/\\.:]/;

const SELECT_NODE_TYPES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);

interface SerializedSql {
  error: boolean;
  error_type?: string;
  error_message?: string;
  statements?: { node?: { type?: string } }[];
}

type JsonNode = { [key: string]: unknown };

function isJsonNode(value: unknown): value is JsonNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let parserConnection: Promise<DuckDBConnection> | null = null;

/** The parser runs on its own in-memory instance, sealed the same way as the one that runs queries. */
function parser(): Promise<DuckDBConnection> {
  parserConnection ??= (async () => {
    const instance = await DuckDBInstance.create(':memory:', {
      enable_external_access: 'false',
      lock_configuration: 'true',
    });
    return instance.connect();
  })();
  return parserConnection;
}

async function serialize(sql: string): Promise<SerializedSql> {
  const connection = await parser();
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  return JSON.parse(String(reader.getRowsJS()[0]?.[0])) as SerializedSql;
}

function refuseStatementKind(parsed: SerializedSql): never {
  // json_serialize_sql only serializes SELECT; anything else (COPY, ATTACH, SET, PRAGMA, INSTALL, DELETE, ...)
  // comes back as "not implemented" rather than a syntax error.
  if (parsed.error_type === 'not implemented') {
    throw new QueryError('SQL_NOT_SELECT', 'only SELECT queries are allowed (WITH and UNION included)');
  }
  throw new QueryError('SQL_PARSE_ERROR', `cannot parse SQL: ${parsed.error_message ?? 'unknown error'}`);
}

/** Walks the whole parse tree, so subqueries, CTEs, joins and set operations are all covered. */
function assertReadsNoFiles(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) assertReadsNoFiles(child);
    return;
  }
  if (!isJsonNode(node)) return;
  if (node.type === 'TABLE_FUNCTION') {
    const fn = node.function;
    const name =
      isJsonNode(fn) && typeof fn.function_name === 'string' ? fn.function_name.toLowerCase() : null;
    if (name === null || !ALLOWED_TABLE_FUNCTIONS.has(name)) {
      throw new QueryError(
        'SQL_FORBIDDEN_FUNCTION',
        `table function ${name ?? '(unnamed)'} is not allowed; allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}`,
      );
    }
  }
  if (
    node.type === 'BASE_TABLE' &&
    typeof node.table_name === 'string' &&
    FILE_LIKE_TABLE_NAME.test(node.table_name)
  ) {
    throw new QueryError('SQL_FORBIDDEN_TABLE', `reading files is not allowed: ${node.table_name}`);
  }
  for (const value of Object.values(node)) assertReadsNoFiles(value);
}

/** Resolves when `sql` is exactly one read-only SELECT; otherwise rejects with a QueryError (code SQL_*). */
export async function assertSelectOnly(sql: string): Promise<void> {
  const parsed = await serialize(sql);
  if (parsed.error) refuseStatementKind(parsed);
  const statements = parsed.statements ?? [];
  if (statements.length === 0) throw new QueryError('SQL_EMPTY', 'no SQL statement given');
  if (statements.length > 1) {
    throw new QueryError(
      'SQL_MULTIPLE_STATEMENTS',
      `exactly one statement is allowed, got ${statements.length}`,
    );
  }
  const nodeType = statements[0]?.node?.type;
  if (!nodeType || !SELECT_NODE_TYPES.has(nodeType)) {
    throw new QueryError('SQL_NOT_SELECT', `only SELECT queries are allowed, got ${nodeType ?? 'unknown'}`);
  }
  assertReadsNoFiles(statements);
}
