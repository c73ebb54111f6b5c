/**
 * An HTTP server that answers with recorded responses: a stand-in for a service's dependencies while the
 * service itself is tested. GET /_loupe/mock/hits tells which recordings were used and how often.
 */

import http from 'node:http';
import { contentText, isRedacted, type Har } from '../har/har.js';
import { MATCH_LEVELS, MockMatcher } from './mock-matcher.js';

export const HITS_PATH = '/_loupe/mock/hits';
/** Request bodies are read whole to match them; larger ones are refused rather than buffered. */
const MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024;

/** Framing is the server's own to set for the body it sends; the stored body is decoded already. */
const NOT_SERVED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
]);

export interface MockServer {
  server: http.Server;
  matcher: MockMatcher;
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function createMockServer(har: Har): MockServer {
  const matcher = new MockMatcher(har.log.entries);
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const target = request.url ?? '/';
      if (size > MAX_REQUEST_BODY_BYTES) {
        sendJson(response, 413, { error: `request body over ${MAX_REQUEST_BODY_BYTES} bytes` });
        return;
      }
      if (method === 'GET' && target === HITS_PATH) {
        sendJson(response, 200, { hits: matcher.hits(), misses: matcher.misses });
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const match = matcher.match(method, target, body);
      if (!match) {
        const url = new URL(target, 'http://mock');
        sendJson(response, 404, {
          error: 'no recorded response matches this request',
          request: { method, path: url.pathname, query: url.search, bodyBytes: size },
          tried: MATCH_LEVELS,
          recordedMethodsForPath: matcher.methodsFor(target),
        });
        return;
      }
      const recorded = match.entry.response;
      const headers: [string, string][] = recorded.headers
        .filter((header) => !NOT_SERVED.has(header.name.toLowerCase()) && !isRedacted(header))
        .map((header) => [header.name, header.value]);
      // For HEAD, Node sends the headers (content-length included) and drops the body itself.
      const text = contentText(recorded.content);
      headers.push(['x-loupe-mock-match', `${match.level}; entry ${match.index + 1}`]);
      if (recorded.content._truncated) headers.push(['x-loupe-mock-truncated', 'true']);
      headers.push(['content-length', String(Buffer.byteLength(text))]);
      response.writeHead(recorded.status, recorded.statusText || undefined, headers.flat());
      response.end(text);
    });
  });
  return { server, matcher };
}
