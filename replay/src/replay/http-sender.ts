/**
 * Sends one request and reads the whole response, bounded in time and size. Bodies are decoded (gzip, deflate,
 * br) because the recorded bodies are stored decoded; a body past the read limit is kept cut and marked so.
 */

import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import type { ComparableHeader } from '../compare/response-comparison.js';
import type { OutgoingRequest } from './outgoing-request.js';

export interface ReplayedResponse {
  status: number;
  headers: ComparableHeader[];
  body: string;
  bodyTruncated: boolean;
  /** Request start to the last byte of the response, as the capture measures latency. */
  latencyMs: number;
}

export type FailureKind = 'timeout' | 'connection' | 'protocol';

export type SendOutcome =
  { ok: true; response: ReplayedResponse } | { ok: false; kind: FailureKind; error: string };

export interface SendOptions {
  target: URL;
  agent: http.Agent;
  timeoutMs: number;
  maxBodyBytes: number;
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
]);

class RequestTimeout extends Error {}
class BodyLimitReached extends Error {}

function decoderFor(
  encoding: string | undefined,
): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

function responseHeaders(response: http.IncomingMessage): ComparableHeader[] {
  const headers: ComparableHeader[] = [];
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers.push({ name, value: Array.isArray(value) ? value.join(', ') : value });
  }
  return headers;
}

function failure(error: unknown, timeoutMs: number): SendOutcome {
  if (error instanceof RequestTimeout)
    return { ok: false, kind: 'timeout', error: `timeout: no complete response in ${timeoutMs} ms` };
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined && CONNECTION_ERRORS.has(code))
    return { ok: false, kind: 'connection', error: message };
  return { ok: false, kind: 'protocol', error: message };
}

function sendOnce(
  request: OutgoingRequest,
  options: SendOptions,
): Promise<{ outcome: SendOutcome; reusedSocket: boolean }> {
  const started = performance.now();
  const transport = options.target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, reusedSocket: outgoing.reusedSocket });
    };
    const outgoing = transport.request({
      protocol: options.target.protocol,
      hostname: options.target.hostname.replace(/^\[|\]$/g, ''),
      port: options.target.port,
      method: request.method,
      path: request.path,
      headers: request.headers.flat(),
      agent: options.agent,
      // The planned headers always carry Host (recorded or the target's); Node must not add a second one.
      setHost: false,
    });
    const timer = setTimeout(() => outgoing.destroy(new RequestTimeout()), options.timeoutMs);
    outgoing.on('error', (error) => finish(failure(error, options.timeoutMs)));
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      const decoder = decoderFor(response.headers['content-encoding']);
      const body = decoder ? pipeline(response, decoder, () => {}) : response;
      body.on('data', (chunk: Buffer) => {
        const room = options.maxBodyBytes - kept;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          kept += room;
          truncated = true;
          // Stop reading: the connection cannot be reused after an unread body, so it is closed.
          body.destroy(new BodyLimitReached());
          outgoing.destroy();
          return;
        }
        chunks.push(chunk);
        kept += chunk.length;
      });
      const complete = () =>
        finish({
          ok: true,
          response: {
            status: response.statusCode ?? 0,
            headers: responseHeaders(response),
            body: Buffer.concat(chunks).toString('utf8'),
            bodyTruncated: truncated,
            latencyMs: performance.now() - started,
          },
        });
      body.on('end', complete);
      body.on('error', (error) => (truncated ? complete() : finish(failure(error, options.timeoutMs))));
      response.on('error', (error) => (truncated ? complete() : finish(failure(error, options.timeoutMs))));
    });
    outgoing.end(request.body);
  });
}

/**
 * Sends `request`. A keep-alive connection the server closed while idle fails the first write with ECONNRESET
 * before the request reached it; that one case is retried once on a fresh connection.
 */
export async function sendRequest(request: OutgoingRequest, options: SendOptions): Promise<SendOutcome> {
  const first = await sendOnce(request, options);
  const { outcome } = first;
  if (!outcome.ok && first.reusedSocket && /ECONNRESET|socket hang up/.test(outcome.error)) {
    return (await sendOnce(request, options)).outcome;
  }
  return outcome;
}
