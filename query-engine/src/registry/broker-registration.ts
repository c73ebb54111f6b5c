/**
 * The collector's side of the registry: register with the broker at start, then heartbeat with the node's
 * status. A broker that is unreachable (not started yet, restarting) is retried with exponential backoff; a
 * broker that answers a heartbeat with UNKNOWN_NODE (it restarted and forgot us) gets a fresh registration.
 *
 * Nothing here ever throws into the collector: the node keeps capturing whether or not a broker listens.
 */

import type { CollectorStatus, StatusProvider } from '../api.js';
import type { TableSchemas } from './node-registry.js';

export interface BrokerRegistrationOptions {
  brokerUrl: string;
  /** Bearer token for the broker's API (LOUPE_TOKEN); also handed to the broker for calling this node. */
  token?: string;
  name: string;
  /** This node's API, as the broker should call it. */
  url: string;
  tables: TableSchemas;
  status: StatusProvider;
  /** Heartbeat period until the broker says otherwise (default 5 s). */
  heartbeatMs?: number;
  /** Backoff bounds for retries after a failure (default 500 ms, doubling to 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told about failures, once per change between reachable and unreachable; default console.error. */
  log?: (message: string) => void;
  fetch?: typeof fetch;
}

export interface BrokerRegistrationCounters {
  registrations: number;
  heartbeats: number;
  failures: number;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;

class BrokerAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BrokerRegistration {
  private readonly options: BrokerRegistrationOptions;
  private readonly fetch: typeof fetch;
  private readonly log: (message: string) => void;
  private heartbeatMs: number;
  private backoffMs: number;
  private registered = false;
  private reachable = true;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly totals: BrokerRegistrationCounters = { registrations: 0, heartbeats: 0, failures: 0 };

  constructor(options: BrokerRegistrationOptions) {
    this.options = options;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.log = options.log ?? ((message) => console.error(message));
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.backoffMs = options.minBackoffMs ?? 500;
  }

  get counters(): BrokerRegistrationCounters {
    return { ...this.totals };
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  /** Starts the register/heartbeat loop; the first attempt runs right away. */
  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  /** One step of the loop: register if needed, else heartbeat; then schedule the next step. */
  private async tick(): Promise<void> {
    try {
      const status = await this.options.status();
      if (this.registered) await this.sendHeartbeat(status);
      else await this.register(status);
      this.backoffMs = this.options.minBackoffMs ?? 500;
      if (!this.reachable) this.log(`loupe: broker ${this.options.brokerUrl} reachable again`);
      this.reachable = true;
      this.schedule(this.heartbeatMs);
    } catch (error) {
      this.totals.failures += 1;
      if (error instanceof BrokerAnswerError && error.code === 'UNKNOWN_NODE') {
        this.registered = false;
        this.schedule(0);
        return;
      }
      if (this.reachable) {
        this.log(`loupe: broker ${this.options.brokerUrl}: ${(error as Error).message}; retrying`);
      }
      this.reachable = false;
      this.schedule(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    }
  }

  private async register(status: CollectorStatus): Promise<void> {
    const { name, url, token, tables } = this.options;
    const answer = (await this.post('/api/v1/nodes/register', {
      name,
      url,
      ...(token ? { token } : {}),
      tables,
      status,
    })) as { heartbeatMs?: number };
    if (typeof answer.heartbeatMs === 'number' && answer.heartbeatMs > 0) {
      this.heartbeatMs = Math.min(answer.heartbeatMs, this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    }
    this.registered = true;
    this.totals.registrations += 1;
  }

  private async sendHeartbeat(status: CollectorStatus): Promise<void> {
    await this.post('/api/v1/nodes/heartbeat', { name: this.options.name, status });
    this.totals.heartbeats += 1;
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const response = await this.fetch(`${this.options.brokerUrl.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A proxy's HTML error page: reported by status below.
    }
    if (!response.ok) {
      const { code, message } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
        code?: string;
        message?: string;
      };
      throw new BrokerAnswerError(
        response.status,
        code ?? `HTTP_${response.status}`,
        `${code ?? `HTTP ${response.status}`}: ${message ?? text.slice(0, 200)}`,
      );
    }
    return parsed;
  }
}
