/**
 * `loupe query`: the client side of POST /api/v1/query. Sends one SQL string to the broker and prints the
 * answer as an aligned table, one line of JSON (the API object as is) or RFC 4180 CSV.
 *
 * Exit codes (DESIGN.md, "Interfaces"): 0 ok, 1 the query failed or the broker could not answer, 2 bad usage or
 * input (unknown flag, no SQL, SQL the guard refuses).
 */

import { parseArgs } from 'node:util';
import type { NodeAnswer, QueryResponse } from '../api.js';

export const DEFAULT_BROKER_URL = 'http://127.0.0.1:7070';
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** What a command touches outside itself, so tests can drive it without a terminal or a network. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  fetch: (input, init) => fetch(input, init),
};

const FORMATS = ['table', 'json', 'csv'] as const;
type OutputFormat = (typeof FORMATS)[number];

/** Longest cell a table shows; json and csv always carry the full value. */
const MAX_TABLE_CELL = 60;
const BROKER_TIMEOUT_MS = 120_000;

const HELP = `Usage: loupe query [--broker URL] [--format table|json|csv] (SQL | --script NAME [--param k=v ...])

Runs one read-only SELECT, or a bundled script, on the nodes the broker knows and prints the rows.

Options:
  --broker URL     query engine to ask (default ${DEFAULT_BROKER_URL})
  --format FORMAT  table (default), json (the API answer as one line) or csv (RFC 4180)
  --script NAME    run a bundled script ("loupe scripts" lists them) instead of SQL
  --param K=V      a script parameter, repeatable
  -h, --help       show this help

Environment:
  LOUPE_TOKEN      sent as "Authorization: Bearer <token>"; needed when the broker is not on loopback

Exit codes: 0 ok, 1 the query failed or the broker could not answer, 2 bad usage or refused SQL.
`;

export interface BrokerReply {
  status: number;
  body: unknown;
}

/** Calls the broker with the token from LOUPE_TOKEN; rejects only when it cannot be reached at all. */
export async function callBroker(
  io: CliIo,
  broker: string,
  path: string,
  jsonBody?: unknown,
): Promise<BrokerReply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (jsonBody !== undefined) headers['content-type'] = 'application/json';
  const token = io.env.LOUPE_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await io.fetch(`${broker.replace(/\/+$/, '')}${path}`, {
    method: jsonBody === undefined ? 'GET' : 'POST',
    headers,
    ...(jsonBody === undefined ? {} : { body: JSON.stringify(jsonBody) }),
    signal: AbortSignal.timeout(BROKER_TIMEOUT_MS),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: text };
  }
}

export function isValidBrokerUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The broker's error body ({code, message}) as one line, whatever shape it came in. */
export function describeBrokerError(reply: BrokerReply): { code: string; message: string } {
  const body = reply.body;
  if (typeof body === 'object' && body !== null) {
    const { code, message } = body as { code?: unknown; message?: unknown };
    return { code: typeof code === 'string' ? code : `HTTP_${reply.status}`, message: String(message ?? '') };
  }
  return { code: `HTTP_${reply.status}`, message: String(body).slice(0, 500) };
}

function isQueryResponse(body: unknown): body is QueryResponse {
  if (typeof body !== 'object' || body === null) return false;
  const { columns, rows, nodes } = body as Partial<QueryResponse>;
  return Array.isArray(columns) && Array.isArray(rows) && Array.isArray(nodes);
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One line per row: control characters would break the alignment, so they are shown escaped. */
function tableCell(value: unknown): string {
  const text = cellText(value).replace(
    /[\r\n\t]/g,
    (c) => ({ '\r': '\\r', '\n': '\\n', '\t': '\\t' })[c] ?? c,
  );
  return text.length > MAX_TABLE_CELL ? `${text.slice(0, MAX_TABLE_CELL - 1)}…` : text;
}

function rowCountLine(response: QueryResponse): string {
  const n = response.rows.length;
  const rows = `${n} ${n === 1 ? 'row' : 'rows'}`;
  return response.truncated ? `(${rows}, cut at the broker's row limit)` : `(${rows})`;
}

export function formatTable(response: QueryResponse): string {
  const { columns, rows } = response;
  const cells = rows.map((row) => columns.map((column) => tableCell(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => line[i]?.length ?? 0)),
  );
  // Numbers line up on their last digit, everything else on its first character.
  const numeric = columns.map((column) => {
    const values = rows.map((row) => row[column]).filter((value) => value !== null && value !== undefined);
    return values.length > 0 && values.every((value) => typeof value === 'number');
  });
  const line = (values: string[]) =>
    values
      .map((value, i) => (numeric[i] ? value.padStart(widths[i] ?? 0) : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const header = line(columns);
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [header, rule, ...cells.map(line), rowCountLine(response)].join('\n') + '\n';
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = cellText(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180: CRLF between records, fields with comma, quote or line break quoted, quotes doubled. */
export function formatCsv(response: QueryResponse): string {
  const records = [
    response.columns,
    ...response.rows.map((row) => response.columns.map((column) => row[column])),
  ];
  return records.map((record) => record.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function formatJson(response: QueryResponse): string {
  return JSON.stringify(response) + '\n';
}

const FORMATTERS: Record<OutputFormat, (response: QueryResponse) => string> = {
  table: formatTable,
  json: formatJson,
  csv: formatCsv,
};

function warnAboutFailedNodes(io: CliIo, nodes: NodeAnswer[]): void {
  for (const node of nodes) {
    if (!node.ok) io.stderr(`warning: node ${node.name} did not answer: ${node.error ?? 'unknown error'}\n`);
    else if (node.truncated) io.stderr(`warning: node ${node.name} had more rows than the fragment cap\n`);
  }
}

/** `--param k=v` pairs as the API's params object; null when one has no '='. */
export function parseParams(pairs: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) return null;
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`loupe query: ${message}\nRun "loupe query --help" for usage.\n`);
  return EXIT_USAGE;
}

export async function runQueryCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        broker: { type: 'string' },
        format: { type: 'string' },
        script: { type: 'string' },
        param: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    return usageError(io, `unknown format "${format}" (expected ${FORMATS.join(', ')})`);
  }
  const broker = values.broker ?? DEFAULT_BROKER_URL;
  if (!isValidBrokerUrl(broker)) return usageError(io, `not an http(s) URL: ${broker}`);
  // Unquoted SQL arrives as several words; put them back together.
  const sql = positionals.join(' ').trim();
  let request: Record<string, unknown>;
  if (values.script !== undefined) {
    if (sql !== '') return usageError(io, 'give either SQL or --script, not both');
    const params = parseParams(values.param ?? []);
    if (!params) return usageError(io, '--param takes NAME=VALUE');
    request = { script: values.script, params };
  } else {
    if (values.param) return usageError(io, '--param goes with --script');
    if (sql === '') return usageError(io, 'no SQL given');
    request = { sql };
  }

  let reply: BrokerReply;
  try {
    reply = await callBroker(io, broker, '/api/v1/query', request);
  } catch (error) {
    io.stderr(
      `loupe query: cannot reach ${broker}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_FAILED;
  }
  if (reply.status !== 200) {
    const { code, message } = describeBrokerError(reply);
    io.stderr(`loupe query: ${code}: ${message}\n`);
    const badInput = code.startsWith('SQL_') || code === 'BAD_REQUEST' || code === 'UNKNOWN_SCRIPT';
    return badInput ? EXIT_USAGE : EXIT_FAILED;
  }
  if (!isQueryResponse(reply.body)) {
    io.stderr(`loupe query: unexpected answer from ${broker}\n`);
    return EXIT_FAILED;
  }
  const response = reply.body;
  io.stdout(FORMATTERS[format as OutputFormat](response));
  warnAboutFailedNodes(io, response.nodes);
  const anyNodeAnswered = response.nodes.length === 0 || response.nodes.some((node) => node.ok);
  return anyNodeAnswered ? EXIT_OK : EXIT_FAILED;
}
