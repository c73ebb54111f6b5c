/**
 * PostgreSQL session: pairs the frontend's requests (simple Query, extended-protocol Execute) with the backend's
 * answers and emits one PgsqlRecord per exchange. Authentication messages are never looked into: their bodies are
 * dropped as soon as they are framed.
 */
import type { Direction, Role } from '../../capture/events.js';
import type {
  ProtocolSession,
  ProtocolSessionFactory,
  SessionContext,
} from '../../conn/connection-tracker.js';
import type { PgsqlRecord } from '../../store/records.js';
import { normalizeQuery } from '../sql/normalize-query.js';
import { requestDirection, roleOfRequestDirection } from '../sql/request-direction.js';
import { BACKEND_TAGS, FRONTEND_TAGS, looksLikeStartup, PgFramer, type PgMessage } from './pgsql-framer.js';

export interface PgsqlOptions {
  /** Bytes kept of a message body (statement text, error text). */
  maxMessageBytes: number;
  /** Named statements and portals remembered per connection. */
  maxStatements: number;
  /** Requests waiting for their answers per connection. */
  maxPending: number;
}

export const DEFAULT_PGSQL_OPTIONS: PgsqlOptions = {
  maxMessageBytes: 64 * 1024,
  maxStatements: 1024,
  maxPending: 256,
};

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const MAX_PARAMS = 64;
const MAX_PARAM_CHARS = 256;

interface Exchange {
  cmd: string;
  req: string;
  params: string[];
  startNs: number;
  tags: string[];
  error: string;
  /** An Execute of a pipelined batch; the batch ends at the Sync's ReadyForQuery. */
  extended: boolean;
  /** A simple Query the backend has started answering, or an Execute its failed pipeline skipped: the next
   * ReadyForQuery completes it (a ReadyForQuery meant for an earlier Sync must not). */
  answered: boolean;
}

interface Prepared {
  text: string;
  params: string[];
}

export function pgsqlSessionFactory(
  onRecord: (record: PgsqlRecord) => void,
  options: Partial<PgsqlOptions> = {},
): ProtocolSessionFactory {
  const resolved = { ...DEFAULT_PGSQL_OPTIONS, ...options };
  return (context) => new PgsqlSession(context, onRecord, resolved);
}

export class PgsqlSession implements ProtocolSession {
  private readonly frontend: PgFramer;
  private readonly backend: PgFramer;
  /** Which direction carries the frontend's messages; undefined until the role or the traffic says. */
  private frontendDirection: Direction | undefined;
  private readonly pending: Exchange[] = [];
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, Prepared>();
  private stopped = false;
  private streamStarted = { egress: false, ingress: false };

  constructor(
    private readonly context: SessionContext,
    private readonly onRecord: (record: PgsqlRecord) => void,
    private readonly options: PgsqlOptions,
  ) {
    const inSync = !context.midStream;
    this.frontend = new PgFramer(FRONTEND_TAGS, this.frontendSink(), options.maxMessageBytes, {
      startup: inSync,
      inSync,
    });
    this.backend = new PgFramer(BACKEND_TAGS, this.backendSink(), options.maxMessageBytes, {
      startup: false,
      inSync,
    });
    this.frontendDirection = requestDirection(context.role());
  }

  onData(direction: Direction, data: Buffer, tsNs: number): void {
    if (this.stopped) return;
    if (!this.streamStarted[direction]) {
      this.streamStarted[direction] = true;
      // A connection first seen mid-life may still start at its startup message (PostgreSQL's postmaster accepts,
      // its child backend reads the startup): recognise it instead of resynchronising past it.
      if (looksLikeStartup(data)) {
        this.frontendDirection ??= direction;
        if (direction === this.frontendDirection) this.frontend.expectUntyped();
      }
    }
    this.frontendDirection ??= requestDirection(this.context.role()) ?? guessFrontend(direction, data);
    if (this.frontendDirection === undefined) return;
    (direction === this.frontendDirection ? this.frontend : this.backend).onData(data, tsNs);
  }

  onGap(direction: Direction, length: number, tsNs: number): void {
    if (this.stopped || this.frontendDirection === undefined) return;
    (direction === this.frontendDirection ? this.frontend : this.backend).onGap(length, tsNs);
  }

  onEnd(): void {
    // Requests still waiting had their answers cut off by the end of the connection.
    this.context.counters.unpairedRequests += this.pending.length;
    this.pending.length = 0;
    this.stopped = true;
  }

  private frontendSink() {
    return {
      onMessage: (m: PgMessage) => this.onFrontend(m),
      onDesync: () => this.onDesync(),
    };
  }

  private backendSink() {
    return {
      onMessage: (m: PgMessage) => this.onBackend(m),
      onDesync: () => this.onDesync(),
    };
  }

  private onDesync(): void {
    this.context.counters.parseErrors++;
    // Answers can no longer be matched to requests with confidence.
    this.context.counters.unpairedRequests += this.pending.length;
    this.pending.length = 0;
  }

  private onFrontend(m: PgMessage): void {
    switch (m.tag) {
      case '': {
        const code = m.body.length >= 4 ? m.body.readUInt32BE(0) : 0;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.backend.expectBareByte();
          this.frontend.expectUntyped();
        }
        return;
      }
      case 'Q':
        this.push(m, 'Query', cString(m.body, 0).text, [], false);
        return;
      case 'P': {
        const name = cString(m.body, 0);
        this.remember(this.statements, name.text, cString(m.body, name.next).text);
        return;
      }
      case 'B':
        this.bind(m.body);
        return;
      case 'E': {
        const portal = this.portals.get(cString(m.body, 0).text);
        this.push(m, 'Execute', portal?.text ?? '', portal?.params ?? [], true);
        return;
      }
      case 'F':
        this.push(m, 'FunctionCall', '', [], false);
        return;
      default:
        // Sync, Describe, Close, Flush, CopyData/Done/Fail and PasswordMessage (never read) need no record.
        return;
    }
  }

  private onBackend(m: PgMessage): void {
    const current = this.pending[0];
    if (current !== undefined && !current.extended && 'CEIGHT'.includes(m.tag)) current.answered = true;
    switch (m.tag) {
      case 'N':
      case 'S':
      case 'G':
        // A bare answer to SSLRequest: 'S' means TLS follows, which cannot be read here.
        if (m.length === 0 && m.body.length === 0 && m.tag !== 'G') {
          if (m.tag === 'S') this.stopped = true;
          return;
        }
        if (m.tag === 'G' && current !== undefined) current.cmd = 'CopyIn';
        return;
      case 'H':
        if (current !== undefined) current.cmd = 'CopyOut';
        return;
      case 'C':
        if (current === undefined) return this.unpairedResponse();
        current.tags.push(cString(m.body, 0).text);
        if (current.extended) this.complete(m.endNs);
        return;
      case 'I':
      case 's':
        if (current === undefined) return this.unpairedResponse();
        if (current.extended) {
          if (m.tag === 's') current.tags.push('suspended');
          this.complete(m.endNs);
        }
        return;
      case 'E':
        if (current === undefined) return this.unpairedResponse();
        current.error = errorText(m.body);
        if (current.extended) {
          this.complete(m.endNs);
          // The backend skips the rest of a failed pipeline until Sync: those Executes never ran.
          for (const skipped of this.pending.filter((x) => x.extended)) {
            skipped.error = 'not run: an earlier statement of the pipeline failed';
            skipped.answered = true;
          }
        }
        return;
      case 'Z':
        // ReadyForQuery ends a simple Query, and a pipeline: what is still pending there was skipped.
        while (this.pending[0]?.answered === true) {
          const extended = this.pending[0]?.extended;
          this.complete(m.endNs);
          if (!extended) break;
        }
        return;
      default:
        // Rows, descriptions, parameter status, notices, authentication requests: nothing to pair.
        return;
    }
  }

  private push(m: PgMessage, cmd: string, req: string, params: string[], extended: boolean): void {
    if (this.pending.length >= this.options.maxPending) {
      this.pending.shift();
      this.context.counters.unpairedRequests++;
    }
    this.pending.push({
      cmd,
      req,
      params,
      startNs: m.startNs,
      tags: [],
      error: '',
      extended,
      answered: false,
    });
  }

  private bind(body: Buffer): void {
    const portal = cString(body, 0);
    const statement = cString(body, portal.next);
    const text = this.statements.get(statement.text) ?? '';
    this.remember(this.portals, portal.text, { text, params: bindParameters(body, statement.next) });
  }

  /** Bounded: the oldest name goes when a connection prepares more than maxStatements. */
  private remember<T>(map: Map<string, T>, name: string, value: T): void {
    map.delete(name);
    if (map.size >= this.options.maxStatements) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
      this.context.counters.evictedStatements++;
    }
    map.set(name, value);
  }

  private unpairedResponse(): void {
    this.context.counters.unpairedResponses++;
  }

  /** Latency = end of the last answer byte − start of the request's first byte, as seen on this host. */
  private complete(endNs: number): void {
    const exchange = this.pending.shift();
    if (exchange === undefined) return;
    const endpoint = this.context.endpoint();
    const role: Role =
      endpoint.role === 'unknown' ? roleOfRequestDirection(this.frontendDirection) : endpoint.role;
    this.context.counters.sqlRecords++;
    this.onRecord({
      ...endpoint,
      role,
      timeNs: endNs,
      reqCmd: exchange.cmd,
      req: exchange.req,
      reqParams: exchange.params,
      reqNormalized: normalizeQuery(exchange.req, 'pgsql'),
      resp: exchange.tags.join('; '),
      error: exchange.error,
      latencyNs: Math.max(0, endNs - exchange.startNs),
    });
  }
}

/** Without a role, the side that speaks a frontend-only message first is the frontend. */
function guessFrontend(direction: Direction, data: Buffer): Direction | undefined {
  const tag = String.fromCharCode(data[0] ?? 0);
  if (looksLikeStartup(data) || tag === 'Q' || tag === 'P' || tag === 'B') return direction;
  if (tag === 'Z' || tag === 'T' || tag === 'R') return direction === 'egress' ? 'ingress' : 'egress';
  return undefined;
}

function cString(buf: Buffer, at: number): { text: string; next: number } {
  const end = buf.indexOf(0, at);
  const stop = end < 0 ? buf.length : end;
  return { text: buf.toString('utf8', at, stop), next: stop + 1 };
}

/** Bind's parameters: format codes (none: all text; one: for all; else one each), then length-prefixed values. */
function bindParameters(body: Buffer, at: number): string[] {
  const params: string[] = [];
  if (at + 2 > body.length) return params;
  const formatCount = body.readUInt16BE(at);
  const formats: number[] = [];
  let pos = at + 2;
  for (let i = 0; i < formatCount && pos + 2 <= body.length; i++, pos += 2)
    formats.push(body.readUInt16BE(pos));
  if (pos + 2 > body.length) return params;
  const count = body.readUInt16BE(pos);
  pos += 2;
  for (let i = 0; i < count && i < MAX_PARAMS && pos + 4 <= body.length; i++) {
    const length = body.readInt32BE(pos);
    pos += 4;
    if (length < 0) {
      params.push('NULL');
      continue;
    }
    const value = body.subarray(pos, Math.min(body.length, pos + length));
    pos += length;
    const binary = (formatCount === 1 ? formats[0] : formats[i]) === 1;
    const text = binary ? `\\x${value.toString('hex')}` : value.toString('utf8');
    params.push(text.length > MAX_PARAM_CHARS ? `${text.slice(0, MAX_PARAM_CHARS)}…` : text);
  }
  return params;
}

/** ErrorResponse fields: V (severity, not localised) or S, C (SQLSTATE), M (message). */
function errorText(body: Buffer): string {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at] ?? 0);
    const value = cString(body, at + 1);
    fields.set(code, value.text);
    at = value.next;
  }
  return `${fields.get('V') ?? fields.get('S') ?? 'ERROR'} ${fields.get('C') ?? '?????'}: ${fields.get('M') ?? ''}`;
}
