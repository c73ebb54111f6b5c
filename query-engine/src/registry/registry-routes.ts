/**
 * The registry's routes under /api/v1: collectors register and heartbeat, anyone with the token lists nodes.
 */

import type { FastifyPluginAsync } from 'fastify';
import { errorSchema, statusDetailProperties } from '../api.js';
import type { CollectorStatus } from '../api.js';
import type { NodeRegistry, Registration } from './node-registry.js';

const statusSchema = {
  type: 'object',
  required: ['eventsPerSecond', 'drops', 'parseErrors', 'storeRows', 'storeBytes'],
  properties: {
    eventsPerSecond: { type: 'number' },
    drops: { type: 'number' },
    parseErrors: { type: 'number' },
    storeRows: { type: 'number' },
    storeBytes: { type: 'number' },
    ...statusDetailProperties,
  },
} as const;

const NODE_NAME = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$' } as const;

const registerSchema = {
  body: {
    type: 'object',
    required: ['name', 'url', 'tables'],
    additionalProperties: false,
    properties: {
      name: NODE_NAME,
      url: { type: 'string', pattern: '^https?://', maxLength: 2_000 },
      token: { type: 'string', maxLength: 1_000 },
      tables: {
        type: 'object',
        maxProperties: 100,
        additionalProperties: {
          type: 'array',
          maxItems: 500,
          items: {
            type: 'object',
            required: ['name', 'type'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 200 },
              type: { type: 'string', pattern: '^[A-Za-z0-9_ (),]+$', maxLength: 200 },
            },
          },
        },
      },
      status: statusSchema,
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['ok', 'heartbeatMs'],
      properties: { ok: { type: 'boolean' }, heartbeatMs: { type: 'integer' } },
    },
    '4xx': errorSchema,
    '5xx': errorSchema,
  },
} as const;

const heartbeatSchema = {
  body: {
    type: 'object',
    required: ['name', 'status'],
    additionalProperties: false,
    properties: { name: NODE_NAME, status: statusSchema },
  },
  response: {
    200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
    '4xx': errorSchema,
    '5xx': errorSchema,
  },
} as const;

export const nodeViewSchema = {
  type: 'object',
  required: ['name', 'url', 'state', 'registeredAt', 'lastSeen', 'msSinceSeen', 'status'],
  properties: {
    name: { type: 'string' },
    url: { type: 'string' },
    state: { type: 'string', enum: ['up', 'down'] },
    registeredAt: { type: 'string' },
    lastSeen: { type: 'string' },
    msSinceSeen: { type: 'number' },
    status: { anyOf: [statusSchema, { type: 'null' }] },
  },
} as const;

const listSchema = {
  response: {
    200: {
      type: 'object',
      required: ['nodes'],
      properties: { nodes: { type: 'array', items: nodeViewSchema } },
    },
    '4xx': errorSchema,
  },
} as const;

const tablesSchema = {
  response: {
    200: {
      type: 'object',
      required: ['tables'],
      properties: {
        tables: {
          type: 'object',
          additionalProperties: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'type'],
              properties: { name: { type: 'string' }, type: { type: 'string' } },
            },
          },
        },
      },
    },
    '4xx': errorSchema,
  },
} as const;

/** How often collectors are told to heartbeat: a third of the down timeout, so two lost beats are tolerated. */
export function heartbeatIntervalFor(downAfterMs: number): number {
  return Math.max(1_000, Math.min(5_000, Math.floor(downAfterMs / 3)));
}

export function registryRoutes(registry: NodeRegistry, downAfterMs: number): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: Registration }>('/nodes/register', { schema: registerSchema }, async (request) => {
      registry.register(request.body);
      return { ok: true, heartbeatMs: heartbeatIntervalFor(downAfterMs) };
    });
    app.post<{ Body: { name: string; status: CollectorStatus } }>(
      '/nodes/heartbeat',
      { schema: heartbeatSchema },
      async (request) => {
        registry.heartbeat(request.body.name, request.body.status);
        return { ok: true };
      },
    );
    app.get('/nodes', { schema: listSchema }, async () => ({ nodes: registry.list() }));
    // The columns of the node tables as the nodes declared them: what the UI's SQL editor completes.
    app.get('/tables', { schema: tablesSchema }, async () => ({ tables: registry.tableSchemas() }));
  };
}
