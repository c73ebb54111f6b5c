/**
 * The broker's HTTP API: the node registry, cluster status, and (with an engine) distributed queries and
 * bundled scripts. fastify's split: `buildBroker` creates the app (tests drive it with `inject`),
 * `listenApi` binds it to the host it was built for.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createBaseApp, requireToken } from '../api.js';
import type { NodeRegistry } from '../registry/node-registry.js';
import { registryRoutes } from '../registry/registry-routes.js';
import type { UiFiles } from '../ui/ui-files.js';
import { uiRoutes } from '../ui/ui-routes.js';
import {
  clusterPrometheusText,
  clusterStatus,
  clusterStatusRoutes,
  type BrokerCounters,
} from './cluster-status.js';

export interface BrokerAppOptions {
  registry: NodeRegistry;
  /** Silence after which a node is down; tells collectors how often to heartbeat. */
  downAfterMs: number;
  /** Route groups mounted under /api/v1 next to the registry (queries, scripts). */
  plugins?: FastifyPluginAsync[];
  /** Counters exported on /metrics as loupe_broker_*_total. */
  counters?: () => BrokerCounters;
  /** The built web UI served at `/` (null: a page saying how to build it); no UI routes when absent. */
  ui?: UiFiles | null;
  host?: string;
  token?: string;
  logger?: boolean;
}

const healthSchema = {
  response: { 200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
} as const;

function operationsRoutes(options: BrokerAppOptions): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: healthSchema }, () => ({ ok: true }));
    app.get('/metrics', async (_request, reply) => {
      const counters = { ...options.registry.counters, ...(options.counters?.() ?? {}) };
      const text = clusterPrometheusText(clusterStatus(options.registry), counters);
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
    });
  };
}

function apiV1(options: BrokerAppOptions): FastifyPluginAsync {
  return async (app) => {
    requireToken(app, options.token);
    await app.register(registryRoutes(options.registry, options.downAfterMs));
    await app.register(clusterStatusRoutes(options.registry));
    for (const plugin of options.plugins ?? []) await app.register(plugin);
  };
}

export function buildBroker(options: BrokerAppOptions): FastifyInstance {
  const app = createBaseApp(options);
  app.register(apiV1(options), { prefix: '/api/v1' });
  app.register(operationsRoutes(options));
  if (options.ui !== undefined) app.register(uiRoutes(options.ui));
  return app;
}
