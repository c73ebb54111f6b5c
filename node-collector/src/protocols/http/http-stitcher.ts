/**
 * Pairs the requests and responses of one HTTP/1.x connection into HttpRecords.
 *
 * Responses come back in request order, so pairing is FIFO, which also covers pipelining. Which direction
 * carries requests follows from the role (a server reads requests, a client writes them); when the role is
 * unknown it is inferred from the first bytes of either direction. Lost bytes can lose messages, so FIFO
 * order is checked against time: a response cannot answer a request that started after it.
 */

import type { Direction } from '../../capture/events.js';
import type {
  ProtocolSession,
  ProtocolSessionFactory,
  SessionContext,
} from '../../conn/connection-tracker.js';
import type { HttpRecord } from '../../store/records.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  HttpParser,
  KNOWN_METHODS,
  newHttpParserCounters,
  type HttpMessage,
  type HttpParserCounters,
  type HttpParserOptions,
} from './http-parser.js';
import { HeadCache } from './head-cache.js';
import { HeaderRedactor } from './redact.js';
import { endpointMatches, type ServiceSelector } from '../../metadata/service-selector.js';

export interface HttpOptions {
  /** Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Body bytes stored per message; default 8192. */
  maxBodyBytes?: number;
  /** Header names to redact besides the built-in credentials and cookies. */
  redactHeaders?: readonly string[];
  /** Unanswered requests (or unmatched responses) held per connection; default 64. */
  maxPendingMessages?: number;
  /** Services whose bodies are kept up to a larger size (for faithful HAR exports and replays). */
  fullBodies?: { services: readonly ServiceSelector[]; maxBodyBytes: number };
  /** Heads seen before (see head-cache.ts); one of its own if unset. Given, its counters can be reported. */
  headCache?: HeadCache;
}

export interface HttpStitcherOptions {
  readonly parser: HttpParserOptions;
  readonly maxPendingMessages: number;
}

export interface HttpStitcherCounters extends HttpParserCounters {
  httpRecords: number;
  /** Requests never answered: response lost, connection ended first, or pushed out of a full queue. */
  unpairedRequests: number;
  /** Responses whose request was lost, or pushed out of a full queue. */
  unpairedResponses: number;
  /** Bytes skipped while the role was unknown because they started neither a request nor a response. */
  unclassifiedBytes: number;
}

export function newHttpStitcherCounters(): HttpStitcherCounters {
  return {
    ...newHttpParserCounters(),
    httpRecords: 0,
    unpairedRequests: 0,
    unpairedResponses: 0,
    unclassifiedBytes: 0,
  };
}

export function resolveHttpOptions(options: HttpOptions, headCache: HeadCache): HttpStitcherOptions {
  return {
    parser: {
      maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      redactor: new HeaderRedactor(options.redactHeaders),
      headCache,
    },
    maxPendingMessages: options.maxPendingMessages ?? 64,
  };
}

/** The tracker's hook for 'http1' connections. */
export function httpSessionFactory(
  options: HttpOptions,
  onRecord: (record: HttpRecord) => void,
): ProtocolSessionFactory {
  // One cache for both body sizes: a cached head holds nothing that depends on them.
  const headCache = options.headCache ?? new HeadCache();
  const resolved = resolveHttpOptions(options, headCache);
  const full = options.fullBodies;
  if (!full) return (context) => new HttpStitcher(context, onRecord, resolved);
  const fullResolved = resolveHttpOptions({ ...options, maxBodyBytes: full.maxBodyBytes }, headCache);
  return (context) =>
    new HttpStitcher(
      context,
      onRecord,
      endpointMatches(full.services, context.endpoint()) ? fullResolved : resolved,
    );
}

const DIRECTIONS: readonly Direction[] = ['egress', 'ingress'];

type StartKind = 'request' | 'response' | 'undecided' | 'neither';

/** How a request ("GET ") and a response ("HTTP/") begin. */
const CANDIDATES: readonly (readonly [Buffer, 'request' | 'response'])[] = [
  [Buffer.from('HTTP/', 'latin1'), 'response'],
  ...KNOWN_METHODS.map((method) => [Buffer.from(`${method} `, 'latin1'), 'request'] as const),
];
/** Enough bytes to match the longest candidate, so that classifyStart always decides. */
const SNIFF_BYTES = Math.max(...CANDIDATES.map(([prefix]) => prefix.length));

/** Whether the bytes begin a request or a response; 'undecided' while too short to tell. */
function classifyStart(bytes: Buffer): StartKind {
  let undecided = false;
  for (const [prefix, kind] of CANDIDATES) {
    const compared = Math.min(bytes.length, prefix.length);
    if (bytes.compare(prefix, 0, compared, 0, compared) !== 0) continue;
    if (compared === prefix.length) return kind;
    undecided = true;
  }
  return undecided ? 'undecided' : 'neither';
}

/** First bytes of a direction held until they say whether it carries requests or responses. */
interface Sniff {
  readonly bytes: Buffer;
  length: number;
  tsNs: number;
}

export class HttpStitcher implements ProtocolSession {
  private requestDirection: Direction | undefined;
  private requestParser: HttpParser | undefined;
  private responseParser: HttpParser | undefined;
  private sniffs: Record<Direction, Sniff> | undefined;
  /** Requests waiting for their response, oldest first; and responses that arrived before their request. */
  private readonly requests: HttpMessage[] = [];
  private readonly responses: HttpMessage[] = [];
  /** Responses were lost: the next one answers the latest request that started before it, not the oldest. */
  private responsesLost = false;

  constructor(
    private readonly context: SessionContext,
    private readonly onRecord: (record: HttpRecord) => void,
    private readonly options: HttpStitcherOptions,
  ) {}

  onData(direction: Direction, data: Buffer, tsNs: number): void {
    const parser = this.parserFor(direction);
    if (parser !== undefined) parser.onData(data, tsNs);
    else this.sniff(direction, data, tsNs);
  }

  onGap(direction: Direction, length: number, tsNs: number): void {
    const parser = this.parserFor(direction);
    if (parser !== undefined) parser.onGap(length, tsNs);
    else if (this.sniffs !== undefined) this.sniffs[direction].length = 0;
  }

  /**
   * Whole exchanges left out: nothing to do when nothing is unpaired and each direction stands between messages,
   * or has not shown a byte yet (a connection whose first exchanges were shed).
   */
  onShed(direction: Direction, length: number, tsNs: number): void {
    const settled =
      this.requests.length === 0 &&
      this.responses.length === 0 &&
      DIRECTIONS.every((d) => {
        const parser = this.parserFor(d);
        return parser !== undefined ? parser.betweenMessages : (this.sniffs?.[d].length ?? 0) === 0;
      });
    if (!settled) this.onGap(direction, length, tsNs);
  }

  onEnd(closed: boolean): void {
    // Requests first, so that a response delimited by the close still finds the request it answers.
    this.requestParser?.end(closed);
    this.responseParser?.end(closed);
    const counters = this.context.counters;
    counters.unpairedRequests += this.requests.length;
    counters.unpairedResponses += this.responses.length;
    this.requests.length = 0;
    this.responses.length = 0;
  }

  private parserFor(direction: Direction): HttpParser | undefined {
    if (this.requestDirection === undefined) {
      const role = this.context.role();
      if (role === 'unknown') return undefined;
      this.start(role === 'server' ? 'ingress' : 'egress');
    }
    return direction === this.requestDirection ? this.requestParser : this.responseParser;
  }

  private start(requestDirection: Direction): void {
    this.requestDirection = requestDirection;
    const { counters, midStream } = this.context;
    const requestParser = new HttpParser(
      'request',
      {
        onMessage: (message) => this.addRequest(message),
        // Lost requests need no bookkeeping: their responses are recognised by time (see addRequest).
        onDesync: () => undefined,
        requestMethod: () => undefined,
        onProtocolSwitch: () => undefined,
      },
      counters,
      this.options.parser,
      !midStream,
    );
    this.requestParser = requestParser;
    this.responseParser = new HttpParser(
      'response',
      {
        onMessage: (message) => this.addResponse(message),
        onDesync: () => {
          this.responsesLost = true;
        },
        // The response being parsed answers the oldest unanswered request, unless responses are already
        // waiting for requests that have not been seen.
        requestMethod: () => (this.responses.length === 0 ? this.requests[0]?.method : undefined),
        onProtocolSwitch: () => requestParser.stop(),
      },
      counters,
      this.options.parser,
      !midStream,
    );
    const sniffs = this.sniffs;
    this.sniffs = undefined;
    if (sniffs === undefined) return;
    for (const direction of DIRECTIONS) {
      const held = sniffs[direction];
      if (held.length > 0) this.parserFor(direction)!.onData(held.bytes.subarray(0, held.length), held.tsNs);
    }
  }

  private sniff(direction: Direction, data: Buffer, tsNs: number): void {
    this.sniffs ??= { egress: newSniff(), ingress: newSniff() };
    const held = this.sniffs[direction];
    const taken = Math.min(SNIFF_BYTES - held.length, data.length);
    data.copy(held.bytes, held.length, 0, taken);
    const kind = classifyStart(held.bytes.subarray(0, held.length + taken));
    if (kind === 'undecided') {
      if (held.length === 0) held.tsNs = tsNs;
      held.length += taken;
      return;
    }
    if (kind === 'neither') {
      // Most likely mid-message; the next chunk (usually a whole write) is sniffed afresh.
      this.context.counters.unclassifiedBytes += held.length + data.length;
      held.length = 0;
      return;
    }
    this.start(kind === 'request' ? direction : opposite(direction));
    this.parserFor(direction)!.onData(data, tsNs);
  }

  private addRequest(request: HttpMessage): void {
    // Responses that started before this request cannot answer it: they answered requests that were lost.
    while (this.responses.length > 0 && this.responses[0]!.startNs < request.startNs) {
      this.responses.shift();
      this.context.counters.unpairedResponses++;
    }
    const response = this.responses.shift();
    if (response !== undefined) this.emit(request, response);
    else this.hold(this.requests, request, 'unpairedRequests');
  }

  private addResponse(response: HttpMessage): void {
    if (this.responsesLost) {
      this.responsesLost = false;
      this.dropRequestsBefore(response.startNs);
    }
    const request = this.requests[0];
    if (request === undefined) {
      this.hold(this.responses, response, 'unpairedResponses');
    } else if (request.startNs > response.startNs) {
      // Every waiting request started after this response, so the request it answers was lost.
      this.context.counters.unpairedResponses++;
    } else {
      this.requests.shift();
      this.emit(request, response);
    }
  }

  /** Drops requests older than the latest one that started before `startNs`: their responses were lost. */
  private dropRequestsBefore(startNs: number): void {
    let latest = -1;
    for (let i = 0; i < this.requests.length && this.requests[i]!.startNs <= startNs; i++) latest = i;
    if (latest <= 0) return;
    this.requests.splice(0, latest);
    this.context.counters.unpairedRequests += latest;
  }

  private hold(
    queue: HttpMessage[],
    message: HttpMessage,
    counter: 'unpairedRequests' | 'unpairedResponses',
  ): void {
    if (queue.length >= this.options.maxPendingMessages) {
      queue.shift();
      this.context.counters[counter]++;
    }
    queue.push(message);
  }

  private emit(request: HttpMessage, response: HttpMessage): void {
    const endpoint = this.context.endpoint();
    const inferredRole = this.requestDirection === 'ingress' ? 'server' : 'client';
    this.context.counters.httpRecords++;
    // Fields spelled out: spreading the endpoint here cost more than parsing the exchange.
    this.onRecord({
      pid: endpoint.pid,
      process: endpoint.process,
      localAddr: endpoint.localAddr,
      localPort: endpoint.localPort,
      remoteAddr: endpoint.remoteAddr,
      remotePort: endpoint.remotePort,
      role: endpoint.role === 'unknown' ? inferredRole : endpoint.role,
      encrypted: endpoint.encrypted,
      timeNs: response.endNs,
      version: request.version,
      reqMethod: request.method,
      reqPath: request.path,
      reqHeaders: request.headers,
      reqBody: request.body,
      reqBodySize: request.bodySize,
      reqBodyTruncated: request.bodyTruncated,
      respStatus: response.status,
      respMessage: response.reason,
      respHeaders: response.headers,
      respBody: response.body,
      respBodySize: response.bodySize,
      respBodyTruncated: response.bodyTruncated,
      // Latency = response end − request start: from the syscall that carried the first request byte to the
      // one that carried the last response byte, on this host. For a server that is its handling time plus
      // writing the response; for a client it adds the network round trips.
      latencyNs: Math.max(0, response.endNs - request.startNs),
    });
  }
}

function newSniff(): Sniff {
  return { bytes: Buffer.alloc(SNIFF_BYTES), length: 0, tsNs: 0 };
}

function opposite(direction: Direction): Direction {
  return direction === 'egress' ? 'ingress' : 'egress';
}
