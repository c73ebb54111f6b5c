/**
 * One captured exchange (a row of http_events) as a HAR entry. Pure: the rows come from the query API as JSON,
 * with `time` an ISO string at nanosecond precision and the header columns already parsed into objects.
 */

import {
  REDACTED_VALUE,
  type HarEntry,
  type HarHeader,
  type HarNameValue,
  type HarPostData,
} from '../har/har.js';
import type { CaptureRole } from './export-query.js';

export interface HttpEventRow {
  time: string;
  node: string | null;
  pid: number | null;
  process: string | null;
  local_addr: string | null;
  local_port: number | null;
  remote_addr: string | null;
  remote_port: number | null;
  version: string | null;
  req_method: string | null;
  req_path: string | null;
  req_headers: Record<string, unknown> | string | null;
  req_body: string | null;
  req_body_size: number | string | null;
  req_body_truncated: boolean | null;
  resp_status: number | null;
  resp_message: string | null;
  resp_headers: Record<string, unknown> | string | null;
  resp_body: string | null;
  resp_body_size: number | string | null;
  resp_body_truncated: boolean | null;
  latency_ns: number | string | null;
  encrypted: boolean | null;
}

/** Milliseconds since the epoch, keeping the sub-millisecond digits an ISO string at ns precision has. */
export function isoToEpochMs(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  const whole = Date.parse(`${match ? match[1] : iso}Z`);
  if (Number.isNaN(whole)) throw new Error(`not an ISO timestamp: ${iso}`);
  const fraction = match?.[2] ? Number(`0.${match[2]}`) * 1000 : 0;
  return whole + fraction;
}

function headerObject(value: HttpEventRow['req_headers']): Record<string, unknown> {
  if (value === null) return {};
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return value;
}

export function harHeaders(value: HttpEventRow['req_headers']): HarHeader[] {
  return Object.entries(headerObject(value)).map(([name, raw]) => {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    return text === REDACTED_VALUE ? { name, value: text, _redacted: true } : { name, value: text };
  });
}

function lookup(headers: readonly HarHeader[], name: string): string | undefined {
  return headers.find((header) => header.name.toLowerCase() === name)?.value;
}

function queryString(path: string): HarNameValue[] {
  const question = path.indexOf('?');
  if (question < 0) return [];
  return [...new URLSearchParams(path.slice(question + 1))].map(([name, value]) => ({ name, value }));
}

function hostPort(addr: string | null, port: number | null): string {
  const host = addr ?? '0.0.0.0';
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return port === null ? bracketed : `${bracketed}:${port}`;
}

function numeric(value: number | string | null): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function truncationNote(what: string, kept: string, size: number): string {
  return `${what} cut at capture: ${Buffer.byteLength(kept)} of ${size} bytes kept`;
}

function postData(row: HttpEventRow, headers: HarHeader[]): HarPostData | undefined {
  const text = row.req_body ?? '';
  const size = numeric(row.req_body_size);
  if (text === '' && size === 0) return undefined;
  const data: HarPostData = { mimeType: lookup(headers, 'content-type') ?? '', text };
  if (row.req_body_truncated) {
    data._truncated = true;
    data.comment = truncationNote('request body', text, size);
  }
  return data;
}

/**
 * The connection an exchange travelled on. HTTP/1.x answers in request order on one connection, so entries
 * sharing this value must be replayed in their order; `node` keeps two machines' ephemeral ports apart.
 */
export function connectionId(row: HttpEventRow): string {
  return `${row.node ?? ''}/${hostPort(row.local_addr, row.local_port)}-${hostPort(row.remote_addr, row.remote_port)}`;
}

/** @param role which side captured the row: the server's address is local for 'server', remote for 'client'. */
export function rowToEntry(row: HttpEventRow, role: CaptureRole): HarEntry {
  const requestHeaders = harHeaders(row.req_headers);
  const responseHeaders = harHeaders(row.resp_headers);
  const path = row.req_path ?? '/';
  const scheme = row.encrypted ? 'https' : 'http';
  const [serverAddr, serverPort] =
    role === 'server' ? [row.local_addr, row.local_port] : [row.remote_addr, row.remote_port];
  // What the client asked for (Host) when it said; else the address the request reached.
  const host = lookup(requestHeaders, 'host') ?? hostPort(serverAddr, serverPort);
  const latencyMs = numeric(row.latency_ns) / 1e6;
  const endMs = isoToEpochMs(row.time);
  const httpVersion = `HTTP/${row.version ?? '1.1'}`;
  const respText = row.resp_body ?? '';
  const respSize = numeric(row.resp_body_size);
  const status = row.resp_status ?? 0;
  const location = lookup(responseHeaders, 'location');
  const comments: string[] = [];

  const request: HarEntry['request'] = {
    method: row.req_method ?? 'GET',
    url: `${scheme}://${host}${path.startsWith('/') ? path : `/${path}`}`,
    httpVersion,
    cookies: [],
    headers: requestHeaders,
    queryString: queryString(path),
    headersSize: -1,
    bodySize: numeric(row.req_body_size),
  };
  const body = postData(row, requestHeaders);
  if (body) {
    request.postData = body;
    if (body.comment) comments.push(body.comment);
  }

  const content: HarEntry['response']['content'] = {
    // Stored bodies are decoded (gzip, deflate, br); the wire size stays in response.bodySize.
    size: row.resp_body_truncated ? respSize : Buffer.byteLength(respText),
    mimeType: lookup(responseHeaders, 'content-type') ?? '',
    text: respText,
  };
  if (row.resp_body_truncated) {
    content._truncated = true;
    content.comment = truncationNote('response body', respText, respSize);
    comments.push(content.comment);
  }
  const redacted = [...requestHeaders, ...responseHeaders].filter((header) => header._redacted);
  if (redacted.length > 0) {
    comments.push(`redacted at capture: ${[...new Set(redacted.map((header) => header.name))].join(', ')}`);
  }

  const entry: HarEntry = {
    startedDateTime: new Date(endMs - latencyMs).toISOString(),
    time: latencyMs,
    request,
    response: {
      status,
      statusText: row.resp_message ?? '',
      httpVersion,
      cookies: [],
      headers: responseHeaders,
      content,
      redirectURL: status >= 300 && status < 400 && location ? location : '',
      headersSize: -1,
      bodySize: respSize,
    },
    cache: {},
    // Capture sees one latency (response end − request start), not its phases: all of it counts as waiting.
    timings: { send: 0, wait: latencyMs, receive: 0 },
    connection: connectionId(row),
  };
  if (serverAddr) entry.serverIPAddress = serverAddr;
  if (row.process) entry._process = row.process;
  if (row.node) entry._node = row.node;
  if (comments.length > 0) entry.comment = comments.join('; ');
  return entry;
}
