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
  return (await serializeSql(sql)) as unknown as SerializedSql;
}

/**
 * Integers a double cannot hold exactly, kept as text in the parsed tree (prefixed so they cannot be mistaken
 * for a string of the query) and printed back as numbers.
 */
const BIG_INTEGER_MARK = '\u0000int:';
/** Whole-number DOUBLE constants: JSON.stringify would print 1e6 as 1000000, which DuckDB reads as an integer. */
const DOUBLE_MARK = '\u0000dbl:';

/** Quotes, outside strings, every integer token too long for a double (more than 15 digits). */
function protectBigIntegers(json: string): string {
  let out = '';
  let i = 0;
  while (i < json.length) {
    const c = json[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      out += json.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const token = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(json.slice(i, i + 64))?.[0] ?? c;
      out += /^-?\d{16,}$/.test(token) ? JSON.stringify(`${BIG_INTEGER_MARK}${token}`) : token;
      i += token.length;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** DuckDB's parse tree of `sql` (json_serialize_sql), for the planner to read and rewrite. */
export async function serializeSql(sql: string): Promise<Record<string, unknown>> {
  const connection = await parser();
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  // Source positions are dropped: "unknown" is 2^64-1, which only survives as text, and nothing needs them.
  return JSON.parse(protectBigIntegers(String(reader.getRowsJS()[0]?.[0])), (key, value: unknown) =>
    key === 'query_location' ? undefined : value,
  ) as Record<string, unknown>;
}

function printTree(tree: unknown): string {
  const json = JSON.stringify(tree, (_key, value: unknown) => {
    const constant = value as { type?: { id?: string }; value?: unknown; is_null?: boolean };
    if (
      typeof constant === 'object' &&
      constant !== null &&
      ['DOUBLE', 'FLOAT'].includes(constant.type?.id ?? '') &&
      typeof constant.value === 'number' &&
      Number.isInteger(constant.value)
    ) {
      return { ...constant, value: `${DOUBLE_MARK}${constant.value}` };
    }
    return value;
  });
  const quoted = (mark: string) =>
    new RegExp(`"${JSON.stringify(mark).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g');
  return json.replace(quoted(BIG_INTEGER_MARK), '$1').replace(quoted(DOUBLE_MARK), '$1.0');
}

/** SQL text for a parse tree in json_serialize_sql's shape (json_deserialize_sql); rejects what it cannot print. */
export async function deserializeSql(tree: unknown): Promise<string> {
  const connection = await parser();
  const reader = await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [printTree(tree)]);
  return String(reader.getRowsJS()[0]?.[0]);
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
  await parseSelectOnly(sql);
}

/** assertSelectOnly that also returns the parse tree it checked, for the planner. */
export async function parseSelectOnly(sql: string): Promise<Record<string, unknown>> {
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
  return parsed as unknown as Record<string, unknown>;
}
