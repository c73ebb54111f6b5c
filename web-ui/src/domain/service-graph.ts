/**
 * The service map as a graph, built from the rows of the bundled `service_map` script (one row per protocol,
 * client and server, each request counted once): services are nodes, client → server calls per protocol are
 * directed edges, and each node sums what reaches it.
 *
 * The script names a server "process:port" and a client by its process, so one process that both serves and
 * calls would be two nodes. A client process with exactly one server endpoint of the same name is drawn as that
 * endpoint, which is what makes a chain frontend → api → database read as one path. A process serving several
 * ports keeps a separate client node: which endpoint made a call is not known.
 */
import type { Row } from '../api/types.js';
import { toNumber } from './format.js';

export const PROTOCOLS = ['http', 'pgsql', 'mysql'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const PROTOCOL_LABELS: Record<Protocol, string> = {
  http: 'HTTP',
  pgsql: 'PostgreSQL',
  mysql: 'MySQL',
};

/**
 * service: serves HTTP; database: a server reached over PostgreSQL or MySQL; client: a process that only calls;
 * external: only an address is known (nothing on that end was captured).
 */
export type NodeKind = 'service' | 'database' | 'client' | 'external';

export interface ServiceEdge {
  /** Unique per protocol, source and target. */
  id: string;
  protocol: Protocol;
  source: string;
  target: string;
  /** The script's own names of both ends, which the request explorer filters on. */
  client: string;
  server: string;
  requests: number;
  requestsPerSecond: number;
  errorRate: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

export interface ServiceNode {
  id: string;
  kind: NodeKind;
  /** The process name, null when only an address is known. */
  process: string | null;
  /** The listening port of a server endpoint. */
  port: number | null;
  /** True when nothing on this end was captured: the name is an address. */
  addressOnly: boolean;
  inboundPerSecond: number;
  inboundRequests: number;
  /** Failed share of the inbound requests (0 without inbound traffic). */
  inboundErrorRate: number;
  /** The worst p99 of the inbound edges. */
  worstP99Ms: number | null;
  outboundPerSecond: number;
  /** Protocols this node serves, in PROTOCOLS order. */
  serves: Protocol[];
}

export interface ServiceGraph {
  nodes: ServiceNode[];
  edges: ServiceEdge[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-f]*:[0-9a-f:.]*$/i;

/** Whether a name from the script is an address standing in for an end that was not captured. */
export function isAddress(name: string): boolean {
  return IPV4.test(name) || IPV6.test(name);
}

/** "api:8080" → { name: 'api', port: 8080 }; the port is whatever follows the last colon (IPv6 safe). */
export function splitEndpoint(endpoint: string): { name: string; port: number | null } {
  const colon = endpoint.lastIndexOf(':');
  if (colon <= 0) return { name: endpoint, port: null };
  const port = Number(endpoint.slice(colon + 1));
  return Number.isInteger(port) && port > 0
    ? { name: endpoint.slice(0, colon), port }
    : { name: endpoint, port: null };
}

const isProtocol = (value: unknown): value is Protocol => (PROTOCOLS as readonly unknown[]).includes(value);

/** One row of the edges query: an edge before its ends are placed on nodes. */
type ParsedRow = Omit<ServiceEdge, 'id' | 'source' | 'target'>;

function parseRow(row: Row): ParsedRow | null {
  const { protocol, client, server } = row;
  if (!isProtocol(protocol) || typeof client !== 'string' || typeof server !== 'string') return null;
  return {
    protocol,
    client,
    server,
    requests: toNumber(row.requests) ?? 0,
    requestsPerSecond: toNumber(row.requests_per_s) ?? 0,
    errorRate: toNumber(row.error_rate) ?? 0,
    p50Ms: toNumber(row.p50_ms),
    p90Ms: toNumber(row.p90_ms),
    p99Ms: toNumber(row.p99_ms),
  };
}

const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Two rows that land on the same edge (rare: only after a client is drawn as its endpoint) add up. */
function mergeInto(edge: ServiceEdge, row: ParsedRow): void {
  const requests = edge.requests + row.requests;
  edge.errorRate =
    requests > 0 ? (edge.errorRate * edge.requests + row.errorRate * row.requests) / requests : 0;
  edge.requests = requests;
  edge.requestsPerSecond += row.requestsPerSecond;
  // Percentiles of a union are not known from the parts; the worse of the two is the honest bound to show.
  edge.p50Ms = maxOf(edge.p50Ms, row.p50Ms);
  edge.p90Ms = maxOf(edge.p90Ms, row.p90Ms);
  edge.p99Ms = maxOf(edge.p99Ms, row.p99Ms);
}

function kindOf(node: ServiceNode, inbound: Set<Protocol>): NodeKind {
  if (inbound.has('pgsql') || inbound.has('mysql')) return 'database';
  if (node.addressOnly) return 'external';
  return inbound.size > 0 ? 'service' : 'client';
}

export function buildServiceGraph(rows: readonly Row[]): ServiceGraph {
  const parsed = rows.map(parseRow).filter((r): r is ParsedRow => r !== null);

  const endpointsOfProcess = new Map<string, Set<string>>();
  for (const row of parsed) {
    const { name, port } = splitEndpoint(row.server);
    if (port === null || isAddress(name)) continue;
    let set = endpointsOfProcess.get(name);
    if (!set) endpointsOfProcess.set(name, (set = new Set()));
    set.add(row.server);
  }
  const clientNode = (client: string): string => {
    const endpoints = endpointsOfProcess.get(client);
    return endpoints && endpoints.size === 1 ? [...endpoints][0]! : client;
  };

  const nodes = new Map<string, ServiceNode>();
  const inboundProtocols = new Map<string, Set<Protocol>>();
  const nodeFor = (id: string, serverEndpoint: boolean): ServiceNode => {
    let node = nodes.get(id);
    if (!node) {
      const { name, port } = serverEndpoint ? splitEndpoint(id) : { name: id, port: null };
      const addressOnly = isAddress(name);
      node = {
        id,
        kind: 'client',
        process: addressOnly ? null : name,
        port,
        addressOnly,
        inboundPerSecond: 0,
        inboundRequests: 0,
        inboundErrorRate: 0,
        worstP99Ms: null,
        outboundPerSecond: 0,
        serves: [],
      };
      nodes.set(id, node);
      inboundProtocols.set(id, new Set());
    }
    return node;
  };

  const edges = new Map<string, ServiceEdge>();
  for (const row of parsed) {
    const source = clientNode(row.client);
    const target = row.server;
    // A client drawn as its endpoint is a server endpoint too; nodeFor(…, true) parses its port.
    const sourceNode = nodeFor(source, source !== row.client);
    const targetNode = nodeFor(target, true);
    const id = `${row.protocol} ${source} → ${target}`;
    const existing = edges.get(id);
    if (existing) mergeInto(existing, row);
    else edges.set(id, { id, source, target, ...row });

    sourceNode.outboundPerSecond += row.requestsPerSecond;
    const errors = targetNode.inboundErrorRate * targetNode.inboundRequests + row.errorRate * row.requests;
    targetNode.inboundRequests += row.requests;
    targetNode.inboundPerSecond += row.requestsPerSecond;
    targetNode.inboundErrorRate = targetNode.inboundRequests > 0 ? errors / targetNode.inboundRequests : 0;
    targetNode.worstP99Ms = maxOf(targetNode.worstP99Ms, row.p99Ms);
    inboundProtocols.get(target)!.add(row.protocol);
  }
  for (const node of nodes.values()) {
    const inbound = inboundProtocols.get(node.id)!;
    node.kind = kindOf(node, inbound);
    node.serves = PROTOCOLS.filter((p) => inbound.has(p));
  }
  // Sorted so the same answer always gives the same graph (and the same layout).
  return {
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...edges.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

export interface GraphFilter {
  /** Protocols to keep; empty keeps all. */
  protocols?: readonly Protocol[];
  /** Keep only nodes whose name contains this (case-insensitive), with their callers and callees. */
  search?: string;
  /** Keep only this node, its callers and callees. */
  focus?: string;
}

/** Ids of the nodes whose name contains the text, ignoring case; none for blank text. */
export function searchNodes(graph: ServiceGraph, text: string): string[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  return graph.nodes.filter((n) => n.id.toLowerCase().includes(needle)).map((n) => n.id);
}

/** The node itself, the nodes that call it and the nodes it calls, and the edges between it and them. */
export function neighbourhood(graph: ServiceGraph, id: string): { nodes: Set<string>; edges: Set<string> } {
  const nodes = new Set<string>();
  const edges = new Set<string>();
  if (!graph.nodes.some((n) => n.id === id)) return { nodes, edges };
  nodes.add(id);
  for (const edge of graph.edges) {
    if (edge.source === id || edge.target === id) {
      nodes.add(edge.source);
      nodes.add(edge.target);
      edges.add(edge.id);
    }
  }
  return { nodes, edges };
}

/** The subgraph a filter keeps: nodes only where an edge still touches them. */
export function filterGraph(graph: ServiceGraph, filter: GraphFilter): ServiceGraph {
  const protocols = filter.protocols && filter.protocols.length > 0 ? new Set(filter.protocols) : null;
  let edges = protocols ? graph.edges.filter((e) => protocols.has(e.protocol)) : graph.edges;

  const around = (ids: Iterable<string>) => {
    const keep = new Set(ids);
    return edges.filter((e) => keep.has(e.source) || keep.has(e.target));
  };
  if (filter.search?.trim()) edges = around(searchNodes(graph, filter.search));
  if (filter.focus) edges = around([filter.focus]);

  const touched = new Set(edges.flatMap((e) => [e.source, e.target]));
  return { nodes: graph.nodes.filter((n) => touched.has(n.id)), edges };
}

/** When an edge's failures should stand out. */
export const HIGH_ERROR_RATE = 0.05;
