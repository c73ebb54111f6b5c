/**
 * A running broker: registry, distributed engine, bundled scripts, the web UI and any extensions (route groups
 * other workspaces add, such as HAR export), listening on one port. `loupe broker` runs one alone; `loupe up`
 * runs one beside its own collector.
 */

import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { listenApi } from '../api.js';
import { NodeRegistry } from '../registry/node-registry.js';
import { ScriptLibrary } from '../scripts/script-library.js';
import { scriptRoutes } from '../scripts/script-routes.js';
import { DEFAULT_UI_DIR, loadUiFiles } from '../ui/ui-files.js';
import { buildBroker } from './broker-app.js';
import { DistributedEngine, type EngineLimits } from './distributed-engine.js';
import { queryRoutes } from './query-routes.js';

/** One SELECT over the whole cluster, as an extension sees it. */
export interface ClusterQuerySource {
  run(sql: string): Promise<{ rows: Record<string, unknown>[]; truncated: boolean }>;
}

/** A route group mounted under /api/v1 that answers from cluster queries. */
export type BrokerExtension = (source: ClusterQuerySource) => FastifyPluginAsync;

export interface BrokerServiceOptions {
  port: number;
  host?: string;
  token?: string;
  downAfterMs: number;
  limits?: Partial<EngineLimits>;
  /** Where the built UI is; null serves no UI at all. Default: web-ui/dist of this checkout. */
  uiDir?: string | null;
  extensions?: BrokerExtension[];
}

export interface BrokerService {
  app: FastifyInstance;
  registry: NodeRegistry;
  url: string;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerServiceOptions): Promise<BrokerService> {
  const registry = new NodeRegistry({ downAfterMs: options.downAfterMs });
  const engine = await DistributedEngine.create(registry, options.limits ?? {});
  try {
    const scripts = await ScriptLibrary.loadBundled();
    const uiDir = options.uiDir === undefined ? DEFAULT_UI_DIR : options.uiDir;
    const source: ClusterQuerySource = {
      async run(sql) {
        const answer = await engine.query({ sql });
        return { rows: answer.rows, truncated: answer.truncated };
      },
    };
    const app = buildBroker({
      registry,
      downAfterMs: options.downAfterMs,
      plugins: [
        queryRoutes(engine, scripts),
        scriptRoutes(scripts),
        ...(options.extensions ?? []).map((extension) => extension(source)),
      ],
      counters: () => ({ ...engine.counters }),
      ...(uiDir !== null ? { ui: await loadUiFiles(uiDir) } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.token ? { token: options.token } : {}),
    });
    const url = await listenApi(app, options.port);
    return {
      app,
      registry,
      url,
      async close() {
        await app.close();
        engine.close();
      },
    };
  } catch (error) {
    engine.close();
    throw error;
  }
}
