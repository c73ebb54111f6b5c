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
const MIN_NODE_WIDTH = 140;
const MAX_NODE_WIDTH = 250;
/** Roughly the advance of a character of the name (13 px, bold) and of the summary line (11.5 px). */
const NAME_CHAR_WIDTH = 8;
const SUMMARY_CHAR_WIDTH = 6.4;
/** The kind stripe and the margins. */
const NODE_PADDING = 26;
/** The longest numbers of a summary line: "999.9/s · 100% err". */
const SUMMARY_NUMBERS = 18;

export const MAX_LABEL_CHARS = Math.floor((MAX_NODE_WIDTH - NODE_PADDING) / NAME_CHAR_WIDTH);

/**
 * A node's box fits its name and its summary line with the longest numbers it may show, so the box (and the
 * layout) stays the same when a refresh changes the numbers.
 */
export function nodeWidth(node: ServiceNode): number {
  const tag = summaryTag(node);
  const summary = (tag ? tag.length + 3 : 0) + SUMMARY_NUMBERS;
  const wanted =
    Math.max(shortName(node.id).length * NAME_CHAR_WIDTH, summary * SUMMARY_CHAR_WIDTH) + NODE_PADDING;
  return Math.min(MAX_NODE_WIDTH, Math.max(MIN_NODE_WIDTH, Math.ceil(wanted)));
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

/** What the summary line says before the numbers: HTTP services need no word, their stripe says it. */
function summaryTag(node: ServiceNode): string {
  return node.kind === 'service' ? '' : node.kind === 'client' ? 'calls' : kindLabel(node);
}

/** The second line of a node's box: its kind where it is not a plain HTTP service, its rate and errors. */
export function nodeSummary(node: ServiceNode): string {
  const tag = summaryTag(node);
  if (node.inboundRequests === 0) return `${tag} ${formatRate(node.outboundPerSecond)}`.trim();
  const errors = node.inboundErrorRate > 0 ? ` · ${formatPercent(node.inboundErrorRate)} err` : '';
  return `${tag ? `${tag} · ` : ''}${formatRate(node.inboundPerSecond)}${errors}`;
}

/** An edge's label, in two short lines so it fits between two columns. */
export function edgeSummary(edge: ServiceEdge): [string, string] {
  return [
    `${formatRate(edge.requestsPerSecond)} · ${formatPercent(edge.errorRate)} err`,
    `p50 ${formatMs(edge.p50Ms)} · p99 ${formatMs(edge.p99Ms)}`,
  ];
}

export const isFailing = (rate: number) => rate >= HIGH_ERROR_RATE;

/** Stroke width 1–6 px, by the square root of the edge's share of the busiest edge (so quiet edges stay visible). */
export function edgeWidth(rate: number, busiest: number): number {
  if (busiest <= 0 || rate <= 0) return 1;
  return Math.round((1 + 5 * Math.sqrt(Math.min(1, rate / busiest))) * 10) / 10;
}

/** Edge labels are drawn for every edge only when there are few enough not to cover each other. */
export const ALWAYS_LABELLED_EDGES = 24;

/** Room between columns for two-line edge labels, when every edge is labelled. */
const LABELLED_LAYER_GAP = 170;

export function layoutInputFor(graph: ServiceGraph): LayoutInput {
  return {
    nodes: graph.nodes.map((n) => ({ id: n.id, width: nodeWidth(n), height: NODE_HEIGHT })),
    edges: graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target })),
    ...(graph.edges.length <= ALWAYS_LABELLED_EDGES ? { layerGap: LABELLED_LAYER_GAP } : {}),
  };
}

/** The map's settings in the URL: `protocols` (comma list), `search`, the selected `node` or `edge`. */
export interface MapSettings {
  protocols: Protocol[];
  search: string;
  node: string | null;
  edge: string | null;
  /** The collector whose captured rows are drawn; null: all of them. */
  collector: string | null;
}

export function readMapSettings(params: Record<string, string>): MapSettings {
  const wanted = (params.protocols ?? '').split(',');
  return {
    protocols: PROTOCOLS.filter((p) => wanted.includes(p)),
    search: params.search ?? '',
    node: params.node || null,
    edge: params.node ? null : params.edge || null,
    collector: params.collector || null,
  };
}

export function writeMapSettings(settings: MapSettings): Record<string, string> {
  const params: Record<string, string> = {};
  if (settings.protocols.length > 0 && settings.protocols.length < PROTOCOLS.length)
    params.protocols = settings.protocols.join(',');
  if (settings.search) params.search = settings.search;
  if (settings.node) params.node = settings.node;
  else if (settings.edge) params.edge = settings.edge;
  if (settings.collector) params.collector = settings.collector;
  return params;
}
