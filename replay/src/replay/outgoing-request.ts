/**
 * What is sent for one HAR entry: the recorded method, path, query, headers and body, aimed at the target.
 * Headers that belong to the recorded connection rather than to the request (hop-by-hop, framing) are dropped,
 * and so are values redacted at capture: sending "[REDACTED]" as a token would only test the auth failure path.
 */

import { isRedacted, type HarEntry } from '../har/har.js';

export interface OutgoingRequest {
  method: string;
  /** Path and query as sent on the request line, with the target's base path in front. */
  path: string;
  headers: [string, string][];
  body?: Buffer;
}

export interface OutgoingRequestOptions {
  target: URL;
  /** Sent with every request, replacing recorded headers of the same name (--header 'K: V'). */
  extraHeaders: readonly [string, string][];
  /** Send Host: <target> instead of the recorded Host header (a request without one always gets it). */
  rewriteHost: boolean;
  /** Send only GET, HEAD, OPTIONS and TRACE. */
  excludeUnsafe: boolean;
}

export type PlannedRequest = { send: OutgoingRequest } | { skip: string };

/** RFC 9110 §7.6.1 hop-by-hop headers, plus framing that the sender recomputes for the body it sends. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  // Stored bodies are decoded: the body sent is the decoded one, so it must not claim an encoding.
  'content-encoding',
]);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Parses `Name: value` as given to --header; undefined when it is not a header line. */
export function parseHeaderFlag(text: string): [string, string] | undefined {
  const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(text);
  return match ? [match[1] as string, (match[2] as string).trim()] : undefined;
}

export function planRequest(entry: HarEntry, options: OutgoingRequestOptions): PlannedRequest {
  const method = entry.request.method.toUpperCase();
  if (options.excludeUnsafe && !SAFE_METHODS.has(method))
    return { skip: `${method} is not safe to repeat (--exclude-unsafe)` };
  if (method === 'CONNECT') return { skip: 'CONNECT opens a tunnel; there is no response to compare' };
  if (entry.request.postData?._truncated) {
    return { skip: 'request body was cut at capture; sending the cut body would be a different request' };
  }
  const recorded = new URL(entry.request.url);
  const base = options.target.pathname.replace(/\/+$/, '');
  const overridden = new Set(options.extraHeaders.map(([name]) => name.toLowerCase()));
  const headers: [string, string][] = [];
  for (const header of entry.request.headers) {
    const name = header.name.toLowerCase();
    // HTTP/2 pseudo-headers (":authority") appear in browsers' HARs and are not HTTP/1.1 headers.
    if (name.startsWith(':') || NOT_FORWARDED.has(name) || overridden.has(name) || isRedacted(header))
      continue;
    if (name === 'host' && options.rewriteHost) continue;
    headers.push([header.name, header.value]);
  }
  headers.push(...options.extraHeaders);
  // HTTP/1.1 requires Host; browsers' HARs of HTTP/2 traffic carry it as :authority, which is not sent.
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) headers.push(['host', options.target.host]);
  const text = entry.request.postData?.text;
  const request: OutgoingRequest = { method, path: `${base}${recorded.pathname}${recorded.search}`, headers };
  if (text !== undefined && text !== '') request.body = Buffer.from(text, 'utf8');
  return { send: request };
}
