/**
 * fetch() for the broker's /api/v1 with the token attached and every answer shape-checked, so a view gets
 * either data it can trust or an ApiError that says what to do.
 */
import { currentToken } from './token-store';
import type { ClusterStatus, NodeView, QueryAnswer, QueryRequest, ScriptInfo, TableSchema } from './types';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  get needsLogin(): boolean {
    return this.status === 401;
  }
}

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (json) out['content-type'] = 'application/json';
  const token = currentToken();
  if (token) out['authorization'] = `Bearer ${token}`;
  return out;
}

async function call(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      headers: headers(init.body !== undefined),
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'UNREACHABLE', 'Cannot reach the Loupe query engine. Is `loupe up` running?');
  }
  if (response.ok) return response;
  let code = `HTTP_${response.status}`;
  let message = response.statusText || 'request failed';
  try {
    const body = (await response.json()) as { code?: string; message?: string };
    if (body.code) code = body.code;
    if (body.message) message = body.message;
  } catch {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) message = 'This Loupe needs an API token.';
  throw new ApiError(response.status, code, message);
}

function expect<T>(ok: boolean, path: string, value: unknown): T {
  if (!ok)
    throw new ApiError(0, 'BAD_ANSWER', `Unexpected answer from ${path}; is this a Loupe query engine?`);
  return value as T;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export async function runQuery(request: QueryRequest, signal?: AbortSignal): Promise<QueryAnswer> {
  const body: unknown = await (
    await call('/api/v1/query', { method: 'POST', body: request, ...(signal ? { signal } : {}) })
  ).json();
  return expect<QueryAnswer>(
    isObject(body) && Array.isArray(body.rows) && Array.isArray(body.columns) && Array.isArray(body.nodes),
    '/api/v1/query',
    body,
  );
}

export async function listScripts(): Promise<ScriptInfo[]> {
  const body: unknown = await (await call('/api/v1/scripts')).json();
  return expect<{ scripts: ScriptInfo[] }>(
    isObject(body) && Array.isArray(body.scripts),
    '/api/v1/scripts',
    body,
  ).scripts;
}

export async function listNodes(): Promise<NodeView[]> {
  const body: unknown = await (await call('/api/v1/nodes')).json();
  return expect<{ nodes: NodeView[] }>(isObject(body) && Array.isArray(body.nodes), '/api/v1/nodes', body)
    .nodes;
}

export async function clusterStatus(): Promise<ClusterStatus> {
  const body: unknown = await (await call('/api/v1/status')).json();
  return expect<ClusterStatus>(
    isObject(body) && Array.isArray(body.nodes) && isObject(body.totals),
    '/api/v1/status',
    body,
  );
}

export async function listTables(): Promise<TableSchema> {
  const body: unknown = await (await call('/api/v1/tables')).json();
  return expect<{ tables: TableSchema }>(isObject(body) && isObject(body.tables), '/api/v1/tables', body)
    .tables;
}

/** Checks a token before the login screen keeps it. */
export async function checkToken(): Promise<void> {
  await call('/api/v1/nodes');
}

export interface HarExportRequest {
  /** "process" or "process:port" */
  service?: string;
  /** A SQL predicate over http_events columns. */
  where?: string;
  /** How far back, e.g. "15m". */
  since?: string;
  limit?: number;
  /** Which side's capture of each exchange (the server's by default). */
  role?: 'server' | 'client';
}

/** The HAR file for a filter, as a Blob the caller offers as a download. */
export async function exportHar(request: HarExportRequest): Promise<Blob> {
  return (await call('/api/v1/export/har', { method: 'POST', body: request })).blob();
}
