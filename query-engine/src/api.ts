/**
 * HTTP API of a node: ad-hoc queries, status, health and Prometheus metrics.
 *
 * fastify's split: `buildApi` creates the app (tests drive it with `inject`), `listenApi` binds it. The bind
 * address is decided at build time because it decides whether a token is required: off loopback every /api call
 * needs `Authorization: Bearer <token>`, and building without a token there is refused.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { QueryError } from './sql-guard.js';
import type { QueryResult } from './query-runner.js';
import { fragmentRoutes, type FragmentExecutor } from './fanout/fragment-route.js';
import { errorBody, errorSchema, nodeAnswerSchema } from './http-errors.js';

export { errorBody, errorSchema, nodeAnswerSchema };

/** What the node reports about itself; provided by the collector, read on every status or metrics request. */
export interface CollectorStatus {
  eventsPerSecond: number;
  drops: number;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
  /** Optional details a collector reports; the node view and the UI show them when present. */
  events?: number;
  dropsByReason?: Record<string, number>;
  connections?: number;
  retentionMaxAgeMs?: number;
  retentionMaxBytes?: number;
  fullCaptureProcesses?: number;
  fullCaptureRefused?: number;
  /** Capture bytes waiting unparsed while the store is behind, now and at most since start. */
  heldBytes?: number;
  heldBytesMax?: number;
  /** The HTTP head cache: heads held and the most it holds, times emptied when full, heads not looked up. */
  headCache?: { heads: number; limit: number; clears: number; skipped: number };
}

/** JSON schema of the optional CollectorStatus details, shared by every route that carries a status. */
export const statusDetailProperties = {
  events: { type: 'number' },
  dropsByReason: { type: 'object', additionalProperties: { type: 'number' } },
  connections: { type: 'number' },
  retentionMaxAgeMs: { type: 'number' },
  retentionMaxBytes: { type: 'number' },
  fullCaptureProcesses: { type: 'number' },
  fullCaptureRefused: { type: 'number' },
  heldBytes: { type: 'number' },
  heldBytesMax: { type: 'number' },
  headCache: {
    type: 'object',
    properties: {
      heads: { type: 'number' },
      limit: { type: 'number' },
      clears: { type: 'number' },
      skipped: { type: 'number' },
    },
  },
} as const;

export type StatusProvider = () => CollectorStatus | Promise<CollectorStatus>;

/** QueryRunner satisfies this; the broker's fan-out will too. */
export interface QueryExecutor {
  run(sql: string): Promise<QueryResult>;
}

export interface ApiOptions {
  nodeName: string;
  queries: QueryExecutor;
  status: StatusProvider;
  /** Address listenApi binds to; default 127.0.0.1. */
  host?: string;
  /** Required when host is not loopback; when given it is checked on loopback too. */
  token?: string;
  logger?: boolean;
  /** Serves POST /api/v1/fragment (a collector answering a broker) when given; QueryRunner satisfies it. */
  fragments?: FragmentExecutor;
}

/** How a node's part of a query ended; a single node's own API always answers 'ok' or 'error'. */
export type NodeAnswerStatus = 'ok' | 'error' | 'timeout' | 'down';

export interface NodeAnswer {
  name: string;
  ok: boolean;
  rows: number;
  ms: number;
  error: string | null;
  status?: NodeAnswerStatus;
  /** The node had more than the per-fragment row or byte cap; only the first part of its rows is in. */
  truncated?: boolean;
}

export interface QueryResponse {
  columns: string[];
  rows: QueryResult['rows'];
  nodes: NodeAnswer[];
  truncated: boolean;
  /** At the broker: how long planning, the nodes (fragments run, sent and loaded) and the merge took. */
  timings?: { planMs: number; fanOutMs: number; mergeMs: number };
}

export const DEFAULT_HOST = '127.0.0.1';

const bindHosts = new WeakMap<FastifyInstance, string>();

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

/** Compares digests so that neither the token's content nor its length leaks through timing. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export const queryResponseSchema = {
  type: 'object',
  required: ['columns', 'rows', 'nodes', 'truncated'],
  properties: {
    columns: { type: 'array', items: { type: 'string' } },
    rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
    nodes: { type: 'array', items: nodeAnswerSchema },
    truncated: { type: 'boolean' },
    timings: {
      type: 'object',
      properties: { planMs: { type: 'number' }, fanOutMs: { type: 'number' }, mergeMs: { type: 'number' } },
    },
  },
} as const;

const querySchema = {
  body: {
    type: 'object',
    required: ['sql'],
    additionalProperties: false,
    properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } },
  },
  response: { 200: queryResponseSchema, '4xx': errorSchema, '5xx': errorSchema },
} as const;

const statusSchema = {
  response: {
    200: {
      type: 'object',
      required: ['node', 'eventsPerSecond', 'drops', 'parseErrors', 'storeRows', 'storeBytes'],
      properties: {
        node: { type: 'string' },
        eventsPerSecond: { type: 'number' },
        drops: { type: 'number' },
        parseErrors: { type: 'number' },
        storeRows: { type: 'number' },
        storeBytes: { type: 'number' },
        ...statusDetailProperties,
      },
    },
    '4xx': errorSchema,
    '5xx': errorSchema,
  },
} as const;

const healthSchema = {
  response: { 200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
} as const;

const metricsSchema = { response: { 200: { type: 'string' }, '5xx': errorSchema } } as const;

export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition (format 0.0.4) of the status counters. */
export function prometheusText(nodeName: string, status: CollectorStatus): string {
  const labels = `{node="${escapeLabel(nodeName)}"}`;
  const metrics: [string, 'gauge' | 'counter', string, number][] = [
    [
      'loupe_events_per_second',
      'gauge',
      'Captured events per second, recent average.',
      status.eventsPerSecond,
    ],
    ['loupe_drops_total', 'counter', 'Events lost before they were stored (kernel and store).', status.drops],
    [
      'loupe_parse_errors_total',
      'counter',
      'Streams a protocol parser could not make sense of.',
      status.parseErrors,
    ],
    ['loupe_store_rows', 'gauge', 'Rows in the node store.', status.storeRows],
    ['loupe_store_bytes', 'gauge', 'Size of the node store on disk, WAL included.', status.storeBytes],
  ];
  return metrics
    .map(
      ([name, type, help, value]) =>
        `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labels} ${value}\n`,
    )
    .join('');
}

function queryRoutes(options: ApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: { sql: string } }>('/query', { schema: querySchema }, async (request, reply) => {
      const started = performance.now();
      const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
      try {
        const result = await options.queries.run(request.body.sql);
        const node: NodeAnswer = {
          name: options.nodeName,
          ok: true,
          rows: result.rows.length,
          ms: elapsed(),
          error: null,
        };
        const response: QueryResponse = {
          columns: result.columns.map((column) => column.name),
          rows: result.rows,
          nodes: [node],
          truncated: result.truncated,
        };
        return response;
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        const node: NodeAnswer = {
          name: options.nodeName,
          ok: false,
          rows: 0,
          ms: elapsed(),
          error: error.message,
        };
        return reply
          .code(error.statusCode)
          .send(errorBody(error.statusCode, error.code, error.message, [node]));
      }
    });
  };
}

function statusRoutes(options: ApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/status', { schema: statusSchema }, async () => ({
      node: options.nodeName,
      ...(await options.status()),
    }));
  };
}

function operationsRoutes(options: ApiOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: healthSchema }, () => ({ ok: true }));
    app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
      const text = prometheusText(options.nodeName, await options.status());
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
    });
  };
}

/** Refuses every request of the plugin it is added to unless it carries `Authorization: Bearer <token>`. */
export function requireToken(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (request, reply) => {
    if (!tokenMatches(request.headers.authorization, token)) {
      return reply
        .code(401)
        .send(errorBody(401, 'UNAUTHORIZED', 'missing or wrong Authorization: Bearer token'));
    }
  });
}

/** Everything under /api/v1: behind the token when there is one. */
function apiV1(options: ApiOptions): FastifyPluginAsync {
  return async (app) => {
    requireToken(app, options.token);
    await app.register(queryRoutes(options));
    await app.register(statusRoutes(options));
    if (options.fragments) {
      await app.register(fragmentRoutes(options.fragments, undefined, (message) => app.log.warn(message)));
    }
  };
}

export interface BaseAppOptions {
  host?: string;
  token?: string;
  logger?: boolean;
}

/**
 * What the node API and the broker share: the token rule for the bind address, strict body validation, and
 * errors that always carry a code and an HTTP status. Routes are added by the caller.
 */
export function createBaseApp(options: BaseAppOptions): FastifyInstance {
  const host = options.host ?? DEFAULT_HOST;
  if (!isLoopback(host) && !options.token) {
    throw new Error(`refusing to serve the API on ${host} without a token: set one, or bind to 127.0.0.1`);
  }
  // A body is taken as sent: no coercing 42 into "42", no silently dropping unknown fields.
  const app = Fastify({
    logger: options.logger ?? false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error(error);
    const code = error.validation ? 'BAD_REQUEST' : (error.code ?? 'INTERNAL_ERROR');
    return reply.code(statusCode).send(errorBody(statusCode, code, error.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, 'NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );
  bindHosts.set(app, host);
  return app;
}

export function buildApi(options: ApiOptions): FastifyInstance {
  const app = createBaseApp(options);
  app.register(apiV1(options), { prefix: '/api/v1' });
  app.register(operationsRoutes(options));
  return app;
}

/** Binds the app to the host it was built for; returns the address it listens on. */
export async function listenApi(app: FastifyInstance, port: number): Promise<string> {
  const host = bindHosts.get(app);
  if (host === undefined) throw new Error('listenApi needs an app made by buildApi');
  return app.listen({ host, port });
}
