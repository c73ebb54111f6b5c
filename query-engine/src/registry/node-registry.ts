/**
 * The broker's list of collectors: who registered, where to reach them, what they last reported, and whether
 * they are up. A node is up while its heartbeats keep arriving; after `downAfterMs` of silence it is down and
 * the fan-out skips it (its part of an answer is then flagged 'down' instead of waited for).
 *
 * Bounded: at most `maxNodes` entries; a registration past that is refused (REGISTRY_FULL) rather than
 * letting a misbehaving client grow the broker's memory.
 */

import type { CollectorStatus } from '../api.js';
import { QueryError } from '../sql-guard.js';

/** Columns of each node table, as the collector's store declares them (name and DuckDB type). */
export type TableSchemas = Record<string, { name: string; type: string }[]>;

export interface Registration {
  name: string;
  /** Base URL of the collector's API, e.g. http://10.0.0.5:7071. */
  url: string;
  /** Bearer token the broker must present to the collector; never shown by the API. */
  token?: string;
  tables: TableSchemas;
  status?: CollectorStatus;
}

export type NodeState = 'up' | 'down';

/** A node as the broker's API shows it: no token. */
export interface NodeView {
  name: string;
  url: string;
  state: NodeState;
  registeredAt: string;
  lastSeen: string;
  msSinceSeen: number;
  status: CollectorStatus | null;
}

/** A node as the fan-out needs it. */
export interface NodeTarget {
  name: string;
  url: string;
  token?: string;
}

export interface RegistryOptions {
  /** Silence after which a node counts as down (default 15 s). */
  downAfterMs?: number;
  maxNodes?: number;
  /** Injected for tests; default Date.now. */
  now?: () => number;
}

export interface RegistryCounters {
  registrations: number;
  heartbeats: number;
  unknownHeartbeats: number;
  refusedFull: number;
}

interface NodeEntry extends Registration {
  registeredAtMs: number;
  lastSeenMs: number;
}

export const DEFAULT_DOWN_AFTER_MS = 15_000;
const DEFAULT_MAX_NODES = 1_000;

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly downAfterMs: number;
  private readonly maxNodes: number;
  private readonly now: () => number;
  private readonly totals: RegistryCounters = {
    registrations: 0,
    heartbeats: 0,
    unknownHeartbeats: 0,
    refusedFull: 0,
  };

  constructor(options: RegistryOptions = {}) {
    this.downAfterMs = options.downAfterMs ?? DEFAULT_DOWN_AFTER_MS;
    this.maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
    this.now = options.now ?? Date.now;
  }

  get counters(): RegistryCounters {
    return { ...this.totals };
  }

  /** Adds a node, or replaces what is known about one with the same name (a restarted collector). */
  register(registration: Registration): void {
    if (!this.nodes.has(registration.name) && this.nodes.size >= this.maxNodes) {
      this.totals.refusedFull += 1;
      throw new QueryError('REGISTRY_FULL', `the broker already knows ${this.maxNodes} nodes`, 503);
    }
    const now = this.now();
    this.nodes.set(registration.name, { ...registration, registeredAtMs: now, lastSeenMs: now });
    this.totals.registrations += 1;
  }

  /** Records a heartbeat; an unknown name (the broker restarted) is told to register again. */
  heartbeat(name: string, status: CollectorStatus): void {
    const entry = this.nodes.get(name);
    if (!entry) {
      this.totals.unknownHeartbeats += 1;
      throw new QueryError('UNKNOWN_NODE', `node ${name} is not registered; register first`, 404);
    }
    entry.status = status;
    entry.lastSeenMs = this.now();
    this.totals.heartbeats += 1;
  }

  private stateOf(entry: NodeEntry, now: number): NodeState {
    return now - entry.lastSeenMs > this.downAfterMs ? 'down' : 'up';
  }

  list(): NodeView[] {
    const now = this.now();
    return [...this.nodes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => ({
        name: entry.name,
        url: entry.url,
        state: this.stateOf(entry, now),
        registeredAt: new Date(entry.registeredAtMs).toISOString(),
        lastSeen: new Date(entry.lastSeenMs).toISOString(),
        msSinceSeen: now - entry.lastSeenMs,
        status: entry.status ?? null,
      }));
  }

  /** Every known node split by state, in name order: the fan-out asks the up ones and reports the rest. */
  targets(): { up: NodeTarget[]; down: NodeView[] } {
    const views = this.list();
    const up: NodeTarget[] = [];
    for (const view of views) {
      if (view.state !== 'up') continue;
      const entry = this.nodes.get(view.name);
      if (entry)
        up.push({ name: entry.name, url: entry.url, ...(entry.token ? { token: entry.token } : {}) });
    }
    return { up, down: views.filter((view) => view.state === 'down') };
  }

  /**
   * The node tables' columns, from the most recently registered node that declared each table. Nodes of one
   * cluster run one version, so their schemas agree; if they did not, the newest registration wins.
   */
  tableSchemas(): TableSchemas {
    const entries = [...this.nodes.values()].sort((a, b) => a.registeredAtMs - b.registeredAtMs);
    const schemas: TableSchemas = {};
    for (const entry of entries) Object.assign(schemas, entry.tables);
    return schemas;
  }

  get size(): number {
    return this.nodes.size;
  }
}
