/**
 * The broker's view of the cluster for `loupe status` and Prometheus: every node with its state and last
 * reported counters, and the sums over the nodes that are up.
 */

import type { FastifyPluginAsync } from 'fastify';
import { errorSchema, escapeLabel } from '../api.js';
import type { NodeRegistry, NodeView } from '../registry/node-registry.js';
import { nodeViewSchema } from '../registry/registry-routes.js';

export interface ClusterTotals {
  up: number;
  down: number;
  eventsPerSecond: number;
  drops: number;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
}

export interface ClusterStatus {
  nodes: NodeView[];
  totals: ClusterTotals;
}

export function clusterStatus(registry: NodeRegistry): ClusterStatus {
  const nodes = registry.list();
  const totals: ClusterTotals = {
    up: 0,
    down: 0,
    eventsPerSecond: 0,
    drops: 0,
    parseErrors: 0,
    storeRows: 0,
    storeBytes: 0,
  };
  for (const node of nodes) {
    totals[node.state] += 1;
    if (node.state !== 'up' || !node.status) continue;
    totals.eventsPerSecond += node.status.eventsPerSecond;
    totals.drops += node.status.drops;
    totals.parseErrors += node.status.parseErrors;
    totals.storeRows += node.status.storeRows;
    totals.storeBytes += node.status.storeBytes;
  }
  return { nodes, totals };
}

const totalsSchema = {
  type: 'object',
  required: ['up', 'down', 'eventsPerSecond', 'drops', 'parseErrors', 'storeRows', 'storeBytes'],
  properties: {
    up: { type: 'integer' },
    down: { type: 'integer' },
    eventsPerSecond: { type: 'number' },
    drops: { type: 'number' },
    parseErrors: { type: 'number' },
    storeRows: { type: 'number' },
    storeBytes: { type: 'number' },
  },
} as const;

const clusterStatusSchema = {
  response: {
    200: {
      type: 'object',
      required: ['nodes', 'totals'],
      properties: { nodes: { type: 'array', items: nodeViewSchema }, totals: totalsSchema },
    },
    '4xx': errorSchema,
  },
} as const;

export function clusterStatusRoutes(registry: NodeRegistry): FastifyPluginAsync {
  return async (app) => {
    app.get('/status', { schema: clusterStatusSchema }, async () => clusterStatus(registry));
  };
}

/** Counters of the broker itself, exported next to the nodes' own. */
export type BrokerCounters = Record<string, number>;

/** Prometheus text (format 0.0.4): one family per metric, one sample per node, then the broker's counters. */
export function clusterPrometheusText(status: ClusterStatus, broker: BrokerCounters): string {
  const families: [string, 'gauge' | 'counter', string, (node: NodeView) => number | null][] = [
    [
      'loupe_node_up',
      'gauge',
      'Whether the node heartbeats (1) or has gone silent (0).',
      (n) => (n.state === 'up' ? 1 : 0),
    ],
    [
      'loupe_node_seconds_since_seen',
      'gauge',
      'Seconds since the node last reported.',
      (n) => n.msSinceSeen / 1000,
    ],
    [
      'loupe_events_per_second',
      'gauge',
      'Captured events per second, as the node last reported.',
      (n) => n.status?.eventsPerSecond ?? null,
    ],
    [
      'loupe_drops_total',
      'counter',
      'Events the node lost before storing them.',
      (n) => n.status?.drops ?? null,
    ],
    [
      'loupe_parse_errors_total',
      'counter',
      'Streams the node could not parse.',
      (n) => n.status?.parseErrors ?? null,
    ],
    ['loupe_store_rows', 'gauge', 'Rows the node has written.', (n) => n.status?.storeRows ?? null],
    ['loupe_store_bytes', 'gauge', "Size of the node's store on disk.", (n) => n.status?.storeBytes ?? null],
  ];
  let text = '';
  for (const [name, type, help, value] of families) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const node of status.nodes) {
      const sample = value(node);
      if (sample !== null) text += `${name}{node="${escapeLabel(node.name)}"} ${sample}\n`;
    }
  }
  for (const [key, value] of Object.entries(broker)) {
    const name = `loupe_broker_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
    text += `# TYPE ${name} counter\n${name} ${value}\n`;
  }
  return text;
}
