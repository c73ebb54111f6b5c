/** The broker's API as the UI sees it (query-engine/src/api.ts and broker routes are the source of truth). */

export type NodeAnswerStatus = 'ok' | 'error' | 'timeout' | 'down';

/** How one node's part of a query ended. */
export interface NodeAnswer {
  name: string;
  ok: boolean;
  rows: number;
  ms: number;
  error: string | null;
  status?: NodeAnswerStatus;
  truncated?: boolean;
}

export type Row = Record<string, unknown>;

export interface QueryAnswer {
  columns: string[];
  rows: Row[];
  nodes: NodeAnswer[];
  truncated: boolean;
  timings?: { planMs: number; fanOutMs: number; mergeMs: number };
}

/** Either an ad-hoc SELECT or a bundled script with parameters. */
export type QueryRequest =
  { sql: string } | { script: string; params?: Record<string, string | number | boolean> };

export interface ScriptParam {
  name: string;
  type: 'string' | 'integer' | 'number' | 'interval' | 'timestamp' | 'boolean';
  default?: string | number | boolean;
  description?: string;
}

export interface ScriptWidget {
  type: 'table' | 'graph' | 'timeseries' | 'bar' | string;
  title?: string;
  columns: Record<string, string | string[]>;
}

export interface ScriptInfo {
  name: string;
  title: string;
  description: string;
  params: ScriptParam[];
  widgets: ScriptWidget[];
  sql: string;
}

export interface CollectorStatus {
  eventsPerSecond: number;
  drops: number;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
  retentionMaxAgeMs?: number;
  retentionMaxBytes?: number;
  dropsByReason?: Record<string, number>;
}

export interface NodeView {
  name: string;
  url: string;
  state: 'up' | 'down';
  registeredAt: string;
  lastSeen: string;
  msSinceSeen: number;
  status: CollectorStatus | null;
}

/** Sums over the nodes that are up, as the broker computes them (GET /api/v1/status). */
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

export interface TableColumn {
  name: string;
  type: string;
}

/** The node tables and their columns, for the SQL editor. */
export type TableSchema = Record<string, TableColumn[]>;
