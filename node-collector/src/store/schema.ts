/**
 * The store's tables: the columns every script may rely on (DESIGN.md, "Store"), in the order the appenders write
 * them. Column lists are data so that CREATE TABLE, the appenders and the retention policy cannot disagree: the
 * event store's writers are typed by these names, so a column added here without a writer does not compile.
 *
 * `time` is the response (or sample) time as TIMESTAMP_NS in UTC; every table has it, retention deletes by it.
 */

export interface ColumnSpec {
  readonly name: string;
  readonly type: string;
}

/** Who was on each end of the connection: shared by every protocol's table, right after `time` and `node`. */
const ENDPOINT_COLUMNS = [
  { name: 'pid', type: 'INTEGER' },
  { name: 'process', type: 'VARCHAR' },
  { name: 'local_addr', type: 'VARCHAR' },
  { name: 'local_port', type: 'INTEGER' },
  { name: 'remote_addr', type: 'VARCHAR' },
  { name: 'remote_port', type: 'INTEGER' },
  { name: 'role', type: 'VARCHAR' },
] as const;

const TIME_AND_NODE = [
  { name: 'time', type: 'TIMESTAMP_NS NOT NULL' },
  { name: 'node', type: 'VARCHAR NOT NULL' },
] as const;

export const STORE_TABLES = {
  http_events: [
    ...TIME_AND_NODE,
    ...ENDPOINT_COLUMNS,
    { name: 'version', type: 'VARCHAR' },
    { name: 'req_method', type: 'VARCHAR' },
    { name: 'req_path', type: 'VARCHAR' },
    { name: 'req_headers', type: 'JSON' },
    { name: 'req_body', type: 'VARCHAR' },
    { name: 'req_body_size', type: 'BIGINT' },
    { name: 'req_body_truncated', type: 'BOOLEAN' },
    { name: 'resp_status', type: 'INTEGER' },
    { name: 'resp_message', type: 'VARCHAR' },
    { name: 'resp_headers', type: 'JSON' },
    { name: 'resp_body', type: 'VARCHAR' },
    { name: 'resp_body_size', type: 'BIGINT' },
    { name: 'resp_body_truncated', type: 'BOOLEAN' },
    { name: 'latency_ns', type: 'BIGINT' },
    { name: 'encrypted', type: 'BOOLEAN' },
  ],
  pgsql_events: [
    ...TIME_AND_NODE,
    ...ENDPOINT_COLUMNS,
    { name: 'req_cmd', type: 'VARCHAR' },
    { name: 'req', type: 'VARCHAR' },
    { name: 'req_params', type: 'JSON' },
    { name: 'req_normalized', type: 'VARCHAR' },
    { name: 'resp', type: 'VARCHAR' },
    { name: 'error', type: 'VARCHAR' },
    { name: 'latency_ns', type: 'BIGINT' },
    { name: 'encrypted', type: 'BOOLEAN' },
  ],
  mysql_events: [
    ...TIME_AND_NODE,
    ...ENDPOINT_COLUMNS,
    { name: 'req_cmd', type: 'VARCHAR' },
    { name: 'req', type: 'VARCHAR' },
    { name: 'req_params', type: 'JSON' },
    { name: 'req_normalized', type: 'VARCHAR' },
    { name: 'resp_status', type: 'VARCHAR' },
    { name: 'resp', type: 'VARCHAR' },
    { name: 'error', type: 'VARCHAR' },
    { name: 'latency_ns', type: 'BIGINT' },
    { name: 'encrypted', type: 'BOOLEAN' },
  ],
  conn_stats: [
    ...TIME_AND_NODE,
    ...ENDPOINT_COLUMNS,
    { name: 'protocol', type: 'VARCHAR' },
    { name: 'conn_open', type: 'BOOLEAN' },
    { name: 'conn_close', type: 'BOOLEAN' },
    { name: 'bytes_sent', type: 'BIGINT' },
    { name: 'bytes_recv', type: 'BIGINT' },
  ],
  collector_stats: [
    ...TIME_AND_NODE,
    { name: 'events', type: 'BIGINT' },
    { name: 'bytes', type: 'BIGINT' },
    { name: 'drops', type: 'BIGINT' },
    { name: 'parse_errors', type: 'BIGINT' },
    { name: 'store_rows', type: 'BIGINT' },
    { name: 'store_bytes', type: 'BIGINT' },
  ],
} as const satisfies Record<string, readonly ColumnSpec[]>;

export type TableName = keyof typeof STORE_TABLES;
export type ColumnName<T extends TableName> = (typeof STORE_TABLES)[T][number]['name'];

export const TABLE_NAMES = Object.keys(STORE_TABLES) as TableName[];

export function createTableSql(table: TableName): string {
  const columns = STORE_TABLES[table]
    .map((column: ColumnSpec) => `  ${column.name} ${column.type}`)
    .join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${columns}\n)`;
}

export const CREATE_TABLE_STATEMENTS: readonly string[] = TABLE_NAMES.map(createTableSql);
