/**
 * The web UI at `/`: the built files, and index.html for every other page path so deep links
 * (/requests?status=500) load the app, which reads its state from the URL. The API keeps its own 404s.
 *
 * The pages need no token (they hold no data); the API calls they make do.
 */

import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { errorBody } from '../http-errors.js';
import type { UiFile, UiFiles } from './ui-files.js';

/** Nothing is loaded from anywhere but this server: the UI works offline and cannot leak data to a CDN. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot and CodeMirror set inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Loupe</title>
<p>The Loupe web UI is not built. Run <code>npm run build</code> in the Loupe checkout, then reload.</p>
<p>The API is up: <code>loupe query</code>, <code>loupe status</code> and /api/v1 work without it.</p>`;

/** Paths that belong to the API and operations, never to the app. */
const API_PATH = /^\/(api|healthz|metrics)(\/|$|\?)/;

function send(reply: FastifyReply, file: UiFile, ifNoneMatch: string | undefined): FastifyReply {
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('etag', file.etag)
    .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (ifNoneMatch === file.etag) return reply.code(304).send();
  return reply.type(file.contentType).send(file.body);
}

export function uiRoutes(files: UiFiles | null): FastifyPluginAsync {
  return async (app) => {
    app.get('/*', async (request, reply) => {
      const pathname = request.url.split('?')[0] ?? '/';
      if (API_PATH.test(request.url)) {
        return reply.code(404).send(errorBody(404, 'NOT_FOUND', `no route GET ${pathname}`));
      }
      if (!files) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
      const ifNoneMatch = request.headers['if-none-match'];
      const file = files.get(pathname);
      if (file) return send(reply, file, ifNoneMatch);
      // A missing asset is a 404 (a stale page asking for an old bundle); any other path is a page of the app.
      if (pathname.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(pathname)) {
        return reply.code(404).type('text/plain; charset=utf-8').send('not found');
      }
      const index = files.get('/index.html');
      return index ? send(reply, index, ifNoneMatch) : reply.code(503).send(NOT_BUILT);
    });
  };
}
