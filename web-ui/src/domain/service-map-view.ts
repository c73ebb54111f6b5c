/**
 * What the service map draws for a graph, as pure functions: box sizes and labels of the nodes, stroke widths of
 * the edges, the layout request for the worker, and the map's settings as URL parameters.
 */
import type { LayoutInput } from './graph-layout.js';
import { formatMs, formatPercent, formatRate } from './format.js';
import {
  HIGH_ERROR_RATE,
  PROTOCOL_LABELS,
  PROTOCOLS,
  type Protocol,
  type ServiceEdge,
  type ServiceGraph,
  type ServiceNode,
} from './service-graph.js';

export const NODE_HEIGHT = 46;
const MIN_NODE_WIDTH = 130;
const MAX_NODE_WIDTH = 240;
/** Roughly the advance of a 13 px system-ui character, plus padding for the kind stripe. */
const CHAR_WIDTH = 7.4;
const NODE_PADDING = 30;

export const MAX_LABEL_CHARS = Math.floor((MAX_NODE_WIDTH - NODE_PADDING) / CHAR_WIDTH);

export function nodeWidth(name: string): number {
  return Math.min(
    MAX_NODE_WIDTH,
    Math.max(MIN_NODE_WIDTH, Math.ceil(name.length * CHAR_WIDTH + NODE_PADDING)),
  );
}

/** The name as it fits in its box: long names keep their start and their port. */
export function shortName(name: string): string {
  if (name.length <= MAX_LABEL_CHARS) return name;
  const colon = name.lastIndexOf(':');
  const tail = colon > 0 && name.length - colon <= 6 ? name.slice(colon) : '';
  return `${name.slice(0, MAX_LABEL_CHARS - tail.length - 1)}…${tail}`;
}

export function kindLabel(node: ServiceNode): string {
  switch (node.kind) {
    case 'database':
      return `${node.serves
        .filter((p) => p !== 'http')
        .map((p) => PROTOCOL_LABELS[p])
        .join('/')}${node.addressOnly ? ' (external)' : ''}`;
    case 'service':
      return 'HTTP service';
    case 'client':
      return 'client';
    case 'external':
      return 'external';
  }
}

/** The second line of a node's box. */
export function nodeSummary(node: ServiceNode): string {
  if (node.inboundRequests === 0) return `${kindLabel(node)} · calls ${formatRate(node.outboundPerSecond)}`;
  const errors = node.inboundErrorRate > 0 ? ` · ${formatPercent(node.inboundErrorRate)} err` : '';
  return `${kindLabel(node)} · ${formatRate(node.inboundPerSecond)}${errors}`;
}

export function edgeSummary(edge: ServiceEdge): string {
  return `${formatRate(edge.requestsPerSecond)} · ${formatPercent(edge.errorRate)} err · p50 ${formatMs(edge.p50Ms)} · p99 ${formatMs(edge.p99Ms)}`;
}

export const isFailing = (rate: number) => rate >= HIGH_ERROR_RATE;

/** Stroke width 1–6 px, by the square root of the edge's share of the busiest edge (so quiet edges stay visible). */
export function edgeWidth(rate: number, busiest: number): number {
  if (busiest <= 0 || rate <= 0) return 1;
  return Math.round((1 + 5 * Math.sqrt(Math.min(1, rate / busiest))) * 10) / 10;
}

export function layoutInputFor(graph: ServiceGraph): LayoutInput {
  return {
    nodes: graph.nodes.map((n) => ({ id: n.id, width: nodeWidth(shortName(n.id)), height: NODE_HEIGHT })),
    edges: graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target })),
  };
}

/** Identifies a graph's shape: the layout only has to be computed again when this changes. */
export function layoutKey(graph: ServiceGraph): string {
  return `${graph.nodes.map((n) => n.id).join('\n')}\n\n${graph.edges.map((e) => e.id).join('\n')}`;
}

/** Edge labels are drawn for every edge only when there are few enough not to cover each other. */
export const ALWAYS_LABELLED_EDGES = 24;

/** The map's settings in the URL: `protocols` (comma list), `search`, the selected `node` or `edge`. */
export interface MapSettings {
  protocols: Protocol[];
  search: string;
  node: string | null;
  edge: string | null;
}

export function readMapSettings(params: Record<string, string>): MapSettings {
  const wanted = (params.protocols ?? '').split(',');
  return {
    protocols: PROTOCOLS.filter((p) => wanted.includes(p)),
    search: params.search ?? '',
    node: params.node || null,
    edge: params.node ? null : params.edge || null,
  };
}

export function writeMapSettings(settings: MapSettings): Record<string, string> {
  const params: Record<string, string> = {};
  if (settings.protocols.length > 0 && settings.protocols.length < PROTOCOLS.length)
    params.protocols = settings.protocols.join(',');
  if (settings.search) params.search = settings.search;
  if (settings.node) params.node = settings.node;
  else if (settings.edge) params.edge = settings.edge;
  return params;
}
