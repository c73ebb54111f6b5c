/**
 * Pairs the requests of one PostgreSQL connection with the backend's answers into PgsqlRecords: one per simple
 * Query (all its statements), one per extended-protocol Execute, plus COPY, FunctionCall, CancelRequest and
 * Terminate.
 *
 * The backend answers requests strictly in order, so requests wait in a FIFO of pending operations. Each Parse,
 * Bind, Describe, Execute and Close gets its own answer (or the ErrorResponse), and ReadyForQuery ends a batch: it
 * answers a Query, a FunctionCall, the startup, or a Sync together with the extended operations before it. After an
 * ErrorResponse the backend skips everything until Sync; how those requests are recorded is said at `finishSkipped`.
 *
 * Authentication messages ('p' from the frontend, 'R' from the backend) are never kept by the reader, so neither
 * credentials nor anything derived from them can reach a record.
 */

import type { Direction } from '../../capture/events.js';
import type {
  ProtocolSession,
  ProtocolSessionFactory,
  SessionContext,
} from '../../conn/connection-tracker.js';
import type { PgsqlRecord } from '../../store/records.js';
import { normalizeQuery } from '../sql/normalize-query.js';
import { requestDirection, roleOfRequestDirection } from '../sql/request-direction.js';
import {
  BackendTag,
  classifyStart,
  describeError,
  EncryptionAnswer,
  FrontendTag,
  isProtocol3,
  newPgsqlMessageCounters,
  PgsqlMessageReader,
  readCString,
  readParameters,
  StartupCode,
  type PgsqlMessageCounters,
  type PgsqlMessageSink,
} from './pgsql-messages.js';

export interface PgsqlOptions {
  /** Bytes kept of one message body (statement text, Bind values, error); the rest streams by. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Bytes kept of a statement text or an error message in a record. Default 64 KiB. */
  maxTextBytes?: number;
  /** Bound parameters kept per execution, and bytes kept of each. Defaults 256 and 256. */
  maxParams?: number;
  maxParamBytes?: number;
  /** Prepared statements (and, separately, named portals) remembered per connection. Default 256. */
  maxStatements?: number;
  /** Bytes of statement texts (and, separately, portal values) remembered per connection. Default 1 MiB. */
  maxStatementBytes?: number;
  /** Requests waiting for their answers per connection. Default 4096. */
  maxPendingRequests?: number;
  /**
   * Where this protocol's counters go. Default: the tracker's counters when they carry them, else counters of
   * the factory's own (see `counters` on the returned factory).
   */
  counters?: PgsqlCounters;
}

type ResolvedPgsqlOptions = Readonly<Required<Omit<PgsqlOptions, 'counters'>>>;

export const DEFAULT_PGSQL_OPTIONS: ResolvedPgsqlOptions = {
  maxMessageBytes: 1024 * 1024,
  maxTextBytes: 64 * 1024,
  maxParams: 256,
  maxParamBytes: 256,
  maxStatements: 256,
  maxStatementBytes: 1024 * 1024,
  maxPendingRequests: 4096,
};

/** Counters of this protocol; the others it uses (parseErrors, resyncs, unpaired*, ...) are the tracker's. */
export interface PgsqlCounters extends PgsqlMessageCounters {
  /** Statement texts, error messages, parameters and response tags cut or dropped to fit the record limits. */
  pgsqlTruncatedFields: number;
  /** Connections that switched to TLS or GSS encryption: nothing after the switch can be read here. */
  pgsqlEncryptedConns: number;
}

export function newPgsqlCounters(): PgsqlCounters {
  return { ...newPgsqlMessageCounters(), pgsqlTruncatedFields: 0, pgsqlEncryptedConns: 0 };
}

/** The tracker's hook for 'pgsql' connections; `counters` holds the totals unless they go elsewhere. */
export function pgsqlSessionFactory(
  onRecord: (record: PgsqlRecord) => void,
  options: PgsqlOptions = {},
): ProtocolSessionFactory & { readonly counters: PgsqlCounters } {
  const resolved = resolvePgsqlOptions(options);
  const own = options.counters ?? newPgsqlCounters();
  const factory = (context: SessionContext) => {
    const counters =
      options.counters === undefined && hasPgsqlCounters(context.counters) ? context.counters : own;
    return new PgsqlSession(context, onRecord, resolved, counters);
  };
  return Object.assign(factory, { counters: own });
}

function hasPgsqlCounters(counters: object): counters is PgsqlCounters {
  return 'pgsqlSkippedBytes' in counters;
}

export function resolvePgsqlOptions(options: PgsqlOptions = {}): ResolvedPgsqlOptions {
  const d = DEFAULT_PGSQL_OPTIONS;
  return {
    maxMessageBytes: options.maxMessageBytes ?? d.maxMessageBytes,
    maxTextBytes: options.maxTextBytes ?? d.maxTextBytes,
    maxParams: options.maxParams ?? d.maxParams,
    maxParamBytes: options.maxParamBytes ?? d.maxParamBytes,
    maxStatements: options.maxStatements ?? d.maxStatements,
    maxStatementBytes: options.maxStatementBytes ?? d.maxStatementBytes,
    maxPendingRequests: options.maxPendingRequests ?? d.maxPendingRequests,
  };
}

/** Longest name (statement, portal) and command tag kept: longer ones are not real. */
const MAX_NAME_BYTES = 1024;
/** Command tags kept per simple Query (one per statement). */
const MAX_TAGS = 64;

interface PreparedStatement {
  readonly text: string;
  /** Normalised on first use, then reused by every execution. */
  normalized: string | undefined;
}

interface Portal {
  readonly statement: PreparedStatement | undefined;
  readonly params: string[];
}

/** A request that becomes a record. */
interface Exchange {
  cmd: string;
  readonly req: string;
  readonly statement: PreparedStatement | undefined;
  readonly params: string[];
  /** First byte of the request: of the Query, or of the first extended message that led to this Execute. */
  readonly startNs: number;
  readonly tags: string[];
  error: string;
  /** The backend skipped it after an earlier error of its batch. */
  skipped: boolean;
  suspended: boolean;
  rows: number;
  copyMessages: number;
  copyBytes: number;
  /** End of the last CommandComplete or ErrorResponse for it; 0 while it has none. */
  answeredNs: number;
}

type OpKind = 'startup' | 'query' | 'function' | 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'sync';

interface PendingOp {
  readonly kind: OpKind;
  readonly startNs: number;
  /** For 'query', 'function' and 'execute'. */
  readonly exchange: Exchange | undefined;
}

/** ReadyForQuery answers these, and ends the batch of operations queued before them. */
function endsBatch(kind: OpKind): boolean {
  return kind === 'sync' || kind === 'query' || kind === 'function' || kind === 'startup';
}

export class PgsqlSession implements ProtocolSession {
  private frontendDirection: Direction | undefined;
  private frontend: PgsqlMessageReader | undefined;
  private backend: PgsqlMessageReader | undefined;
  /** Bytes of a direction dropped before its role was known: its reader starts by scanning. */
  private readonly droppedBeforeStart: Record<Direction, boolean> = { egress: false, ingress: false };
  private readonly pending = new PendingOps();
  private readonly statements: LruMap<PreparedStatement>;
  private readonly portals: LruMap<Portal>;
  /** Start of the first extended message queued since the last Execute or batch end. */
  private requestStartNs: number | undefined;
  /** The ErrorResponse that made the backend skip the rest of the current batch. */
  private batchError: string | undefined;
  /** Whether an Execute already carries batchError as its own. */
  private batchErrorOwned = false;
  /** Backend bytes were lost: the next answer may belong to a later batch than the oldest pending one. */
  private answersLost = false;
  /** Frontend bytes were lost: answers to requests never seen may come first. */
  private requestsLost = false;
  private stopped = false;
  private readonly frontendSink: PgsqlMessageSink;
  private readonly backendSink: PgsqlMessageSink;
  /** The tracker's shared counters (parse errors, pairing, records). */
  private readonly counters: SessionContext['counters'];

  constructor(
    private readonly context: SessionContext,
    private readonly onRecord: (record: PgsqlRecord) => void,
    private readonly options: ResolvedPgsqlOptions,
    private readonly pgsqlCounters: PgsqlCounters,
  ) {
    const counters = context.counters;
    this.counters = counters;
    const onEvict = () => {
      counters.evictedStatements++;
    };
    this.statements = new LruMap(options.maxStatements, options.maxStatementBytes, onEvict);
    this.portals = new LruMap(options.maxStatements, options.maxStatementBytes, onEvict);
    this.frontendSink = {
      message: (tag, body, length, startNs, endNs) =>
        this.onFrontendMessage(tag, body, length, startNs, endNs),
      startupPacket: (code, startNs, endNs) => this.onStartupPacket(code, startNs, endNs),
      encryptionAnswer: () => undefined,
      tlsStarted: () => this.stopEncrypted(),
      lost: (garbage) => {
        this.countLoss(garbage);
        this.requestsLost = true;
      },
    };
    this.backendSink = {
      message: (tag, body, length, startNs, endNs) =>
        this.onBackendMessage(tag, body, length, startNs, endNs),
      startupPacket: () => undefined,
      encryptionAnswer: (answer) => {
        if (answer !== EncryptionAnswer.Refused) this.stopEncrypted();
      },
      tlsStarted: () => this.stopEncrypted(),
      lost: (garbage) => {
        this.countLoss(garbage);
        this.answersLost = true;
      },
    };
  }

  onData(direction: Direction, data: Buffer, tsNs: number): void {
    if (this.stopped) return;
    if (this.frontendDirection === undefined && !this.decideDirections(direction, data)) {
      this.counters.unclassifiedBytes += data.length;
      this.droppedBeforeStart[direction] = true;
      return;
    }
    this.readerFor(direction)?.onData(data, tsNs);
  }

  onGap(direction: Direction, length: number, tsNs: number): void {
    if (this.stopped) return;
    if (this.frontendDirection === undefined && !this.decideDirections(direction, undefined)) {
      this.droppedBeforeStart[direction] = true;
      return;
    }
    this.readerFor(direction)?.onGap(length, tsNs);
  }

  /** Whole exchanges left out: nothing to do when both readers stand between messages with nothing pending. */
  onShed(direction: Direction, length: number, tsNs: number): void {
    const settled =
      this.pending.length === 0 &&
      this.batchError === undefined &&
      this.frontend?.betweenMessages === true &&
      this.backend?.betweenMessages === true;
    if (!settled) this.onGap(direction, length, tsNs);
  }

  onEnd(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Requests cut off by the end of the connection: a FATAL error before the close still makes a record.
    while (this.pending.length > 0) this.abandon(this.pending.shift()!);
  }

  private readerFor(direction: Direction): PgsqlMessageReader | undefined {
    return direction === this.frontendDirection ? this.frontend : this.backend;
  }

  /** The role says which direction carries the frontend's messages; while it is unknown, the first bytes do. */
  private decideDirections(direction: Direction, data: Buffer | undefined): boolean {
    let frontendDirection = requestDirection(this.context.role());
    if (frontendDirection === undefined && data !== undefined) {
      const side = classifyStart(data);
      if (side !== undefined) frontendDirection = side === 'frontend' ? direction : opposite(direction);
    }
    if (frontendDirection === undefined) return false;
    this.frontendDirection = frontendDirection;
    const midStream = this.context.midStream;
    const fromStart = (d: Direction) => !midStream && !this.droppedBeforeStart[d];
    const maxKept = this.options.maxMessageBytes;
    const counters = this.pgsqlCounters;
    this.frontend = new PgsqlMessageReader(
      'frontend',
      this.frontendSink,
      counters,
      maxKept,
      fromStart(frontendDirection),
    );
    this.backend = new PgsqlMessageReader(
      'backend',
      this.backendSink,
      counters,
      maxKept,
      fromStart(opposite(frontendDirection)),
    );
    return true;
  }

  private countLoss(garbage: boolean): void {
    this.counters.resyncs++;
    if (garbage) this.counters.parseErrors++;
  }

  private stopEncrypted(): void {
    this.pgsqlCounters.pgsqlEncryptedConns++;
    this.frontend?.stop();
    this.backend?.stop();
    this.onEnd();
  }

  private onStartupPacket(code: number, startNs: number, endNs: number): void {
    if (isProtocol3(code)) this.queue('startup', startNs, undefined);
    // Sent alone on a connection of its own, and never answered. Its secret key is not kept.
    else if (code === StartupCode.CancelRequest) this.emitUnanswered('CancelRequest', startNs, endNs);
  }

  private onFrontendMessage(tag: number, body: Buffer, length: number, startNs: number, endNs: number): void {
    switch (tag) {
      case FrontendTag.Query:
        this.requestStartNs = undefined;
        this.queue('query', startNs, this.newExchange('Query', this.text(body, 0), undefined, [], startNs));
        return;
      case FrontendTag.Parse:
        this.parse(body, startNs);
        return;
      case FrontendTag.Bind:
        this.bind(body, startNs);
        return;
      case FrontendTag.Describe:
        this.queueExtended('describe', startNs);
        return;
      case FrontendTag.Execute:
        this.execute(body, startNs);
        return;
      case FrontendTag.Close:
        this.close(body, startNs);
        return;
      case FrontendTag.Sync:
        this.requestStartNs = undefined;
        this.queue('sync', startNs, undefined);
        return;
      case FrontendTag.FunctionCall:
        this.functionCall(body, startNs);
        return;
      case FrontendTag.CopyData:
        this.countCopyData(length);
        return;
      case FrontendTag.Terminate:
        this.emitUnanswered('Terminate', startNs, endNs);
        return;
      default:
        // Flush, CopyDone and CopyFail need nothing; authentication responses are never looked at.
        return;
    }
  }

  private parse(body: Buffer, startNs: number): void {
    const name = readCString(body, 0, MAX_NAME_BYTES);
    const text = this.text(body, name.next);
    // Drivers parse the unnamed statement anew for every query, mostly with a text it had before: the entry
    // kept keeps the normalised text already made for it.
    if (this.statements.get(name.text)?.text !== text)
      this.statements.set(name.text, { text, normalized: undefined }, name.text.length + text.length);
    this.queueExtended('parse', startNs);
  }

  private bind(body: Buffer, startNs: number): void {
    const portal = readCString(body, 0, MAX_NAME_BYTES);
    const statement = readCString(body, portal.next, MAX_NAME_BYTES);
    const { maxParams, maxParamBytes } = this.options;
    const { values, truncated } = readParameters(body, statement.next, maxParams, maxParamBytes);
    this.pgsqlCounters.pgsqlTruncatedFields += truncated;
    let bytes = portal.text.length;
    for (const value of values) bytes += value.length;
    this.portals.set(portal.text, { statement: this.statements.get(statement.text), params: values }, bytes);
    this.queueExtended('bind', startNs);
  }

  private execute(body: Buffer, startNs: number): void {
    const portal = this.portals.get(readCString(body, 0, MAX_NAME_BYTES).text);
    const statement = portal?.statement;
    const requestStartNs = this.requestStartNs ?? startNs;
    this.requestStartNs = undefined;
    // A statement prepared before capture started (or forgotten) is not known: its text stays empty.
    const exchange = this.newExchange(
      'Execute',
      statement?.text ?? '',
      statement,
      portal?.params ?? [],
      requestStartNs,
    );
    this.queue('execute', startNs, exchange);
  }

  private close(body: Buffer, startNs: number): void {
    const name = readCString(body, 1, MAX_NAME_BYTES).text;
    if (body[0] === 0x53 /* S */) this.statements.delete(name);
    else this.portals.delete(name);
    this.queueExtended('close', startNs);
  }

  private functionCall(body: Buffer, startNs: number): void {
    const oid = body.length >= 4 ? body.readUInt32BE(0) : 0;
    const { maxParams, maxParamBytes } = this.options;
    const { values, truncated } = readParameters(body, 4, maxParams, maxParamBytes);
    this.pgsqlCounters.pgsqlTruncatedFields += truncated;
    this.requestStartNs = undefined;
    this.queue(
      'function',
      startNs,
      this.newExchange('FunctionCall', `function ${oid}`, undefined, values, startNs),
    );
  }

  private queueExtended(kind: OpKind, startNs: number): void {
    this.requestStartNs ??= startNs;
    this.queue(kind, startNs, undefined);
  }

  /** When full, the newest request is turned away: the answers of those queued come first and stay paired. */
  private queue(kind: OpKind, startNs: number, exchange: Exchange | undefined): void {
    if (this.pending.length < this.options.maxPendingRequests) this.pending.push({ kind, startNs, exchange });
    else if (exchange !== undefined) this.counters.unpairedRequests++;
  }

  private onBackendMessage(tag: number, body: Buffer, length: number, startNs: number, endNs: number): void {
    if (this.answersLost) {
      this.answersLost = false;
      this.dropBatchesAnsweredBefore(startNs);
    }
    if (this.requestsLost && this.answersLostRequest(startNs)) {
      if (tag === BackendTag.ReadyForQuery) this.counters.unpairedResponses++;
      return;
    }
    switch (tag) {
      case BackendTag.DataRow: {
        const exchange = this.currentExchange();
        if (exchange !== undefined) exchange.rows++;
        return;
      }
      case BackendTag.CommandComplete:
        this.commandComplete(readCString(body, 0, MAX_NAME_BYTES).text, endNs);
        return;
      case BackendTag.ReadyForQuery:
        this.readyForQuery(endNs);
        return;
      case BackendTag.ParseComplete:
        this.answer('parse');
        return;
      case BackendTag.BindComplete:
        this.answer('bind');
        return;
      case BackendTag.CloseComplete:
        this.answer('close');
        return;
      case BackendTag.RowDescription:
      case BackendTag.NoData:
        // A Describe's last answer ('t' ParameterDescription comes before); inside a Query's results, nothing.
        if (this.pending.peek()?.kind !== 'query') this.answer('describe');
        return;
      case BackendTag.EmptyQueryResponse:
        if (this.pending.peek()?.kind !== 'query') this.finishExecute(endNs, false);
        return;
      case BackendTag.PortalSuspended:
        this.finishExecute(endNs, true);
        return;
      case BackendTag.ErrorResponse:
        this.errorResponse(describeError(body, this.options.maxTextBytes), endNs);
        return;
      case BackendTag.CopyInResponse:
        this.startCopy('CopyIn');
        return;
      case BackendTag.CopyOutResponse:
        this.startCopy('CopyOut');
        return;
      case BackendTag.CopyBothResponse:
        this.startCopy('CopyBoth');
        return;
      case BackendTag.CopyData:
        this.countCopyData(length);
        return;
      default:
        // Authentication, ParameterStatus, BackendKeyData, notices, notifications, function results, ...
        return;
    }
  }

  /**
   * Answers were lost with the bytes: a client sends a batch after the previous one's ReadyForQuery, so a batch
   * followed by one that started before this answer was answered in the lost bytes. (A pipelining client breaks
   * the premise; the cost is records lost until its pipeline drains, where keeping FIFO order after a lost
   * ReadyForQuery would pair every later answer with the wrong request.)
   */
  private dropBatchesAnsweredBefore(answerStartNs: number): void {
    for (;;) {
      const end = this.pending.findIndex(endsBatch);
      const next = end < 0 ? undefined : this.pending.at(end + 1);
      if (next === undefined || next.startNs > answerStartNs) return;
      for (let i = 0; i <= end; i++) this.abandon(this.pending.shift()!);
    }
  }

  /** Requests were lost: an answer that began before the oldest pending request started answers a lost one. */
  private answersLostRequest(answerStartNs: number): boolean {
    const oldest = this.pending.peek();
    if (oldest === undefined) return false;
    if (oldest.startNs > answerStartNs) return true;
    this.requestsLost = false;
    return false;
  }

  /** The Query, FunctionCall or Execute the backend is answering now. */
  private currentExchange(): Exchange | undefined {
    const oldest = this.pending.peek();
    if (oldest === undefined || oldest.exchange !== undefined) return oldest?.exchange;
    // Acknowledgements of the batch's Parse/Bind may not be read yet (the two directions are read separately).
    const index = this.pending.findIndexInBatch('execute');
    return index < 0 ? undefined : this.pending.at(index)!.exchange;
  }

  private commandComplete(tag: string, endNs: number): void {
    const oldest = this.pending.peek();
    if (oldest?.kind === 'query') {
      // One tag per statement of the Query; ReadyForQuery completes it.
      const exchange = oldest.exchange!;
      if (exchange.tags.length < MAX_TAGS) exchange.tags.push(tag);
      else this.pgsqlCounters.pgsqlTruncatedFields++;
      exchange.answeredNs = endNs;
      return;
    }
    const op = this.answer('execute');
    if (op === undefined) return;
    op.exchange!.tags.push(tag);
    this.emit(op.exchange!, endNs);
  }

  private finishExecute(endNs: number, suspended: boolean): void {
    const op = this.answer('execute');
    if (op === undefined) return;
    op.exchange!.suspended = suspended;
    this.emit(op.exchange!, endNs);
  }

  /**
   * Takes the oldest pending operation of `kind` in the current batch. Operations before it had their answers
   * lost; an answer with no operation to take belongs to a request that was not seen.
   */
  private answer(kind: OpKind): PendingOp | undefined {
    const index = this.pending.findIndexInBatch(kind);
    if (index < 0) {
      this.counters.unpairedResponses++;
      return undefined;
    }
    for (let i = 0; i < index; i++) this.abandon(this.pending.shift()!);
    return this.pending.shift();
  }

  private errorResponse(error: string, endNs: number): void {
    const oldest = this.pending.peek();
    switch (oldest?.kind) {
      case undefined:
      case 'sync':
        // Unsolicited (a FATAL before a close), or for requests not seen.
        this.counters.unpairedResponses++;
        return;
      case 'startup':
        // The startup or authentication failed: no request to record.
        return;
      case 'query':
      case 'function': {
        // A Query stops at its first failing statement; ReadyForQuery completes it.
        const exchange = oldest.exchange!;
        if (exchange.error === '') exchange.error = error;
        exchange.answeredNs = endNs;
        return;
      }
      case 'execute':
        this.pending.shift();
        oldest.exchange!.error = error;
        this.emit(oldest.exchange!, endNs);
        this.batchError = error;
        this.batchErrorOwned = true;
        return;
      default:
        // Parse, Bind, Describe or Close failed: the Execute they prepared owns the error (see finishSkipped).
        this.pending.shift();
        this.batchError = error;
        this.batchErrorOwned = false;
    }
  }

  private readyForQuery(endNs: number): void {
    const end = this.pending.findIndex(endsBatch);
    if (end < 0) {
      this.counters.unpairedResponses++;
      return;
    }
    for (let i = 0; i < end; i++) {
      const op = this.pending.shift()!;
      if (op.exchange !== undefined) this.finishSkipped(op.exchange, endNs);
    }
    const exchange = this.pending.shift()!.exchange;
    if (exchange !== undefined) this.emit(exchange, endNs);
    this.batchError = undefined;
  }

  /**
   * An Execute left unanswered when its batch ends. After an error the backend skipped it: the first such Execute
   * owns an error of the Parse/Bind/Describe before it (its own preparation failed) and records it plainly; the
   * others get the same error text with resp 'PIPELINE ABORTED' (libpq's word for them), so that grouping by
   * error shows everything one failure took down. Completion is the batch's ReadyForQuery. Without an error,
   * its answer was lost.
   */
  private finishSkipped(exchange: Exchange, endNs: number): void {
    if (this.batchError === undefined) {
      this.abandonExchange(exchange);
      return;
    }
    exchange.error = this.batchError;
    exchange.skipped = this.batchErrorOwned;
    this.batchErrorOwned = true;
    this.emit(exchange, endNs);
  }

  private startCopy(cmd: string): void {
    const exchange = this.currentExchange();
    if (exchange !== undefined) exchange.cmd = cmd;
  }

  /** COPY data of either direction is counted for the exchange that runs the COPY, never kept. */
  private countCopyData(length: number): void {
    const exchange = this.currentExchange();
    if (exchange === undefined) return;
    exchange.copyMessages++;
    exchange.copyBytes += length;
  }

  private abandon(op: PendingOp): void {
    if (op.exchange !== undefined) this.abandonExchange(op.exchange);
  }

  /** A request whose completion will not be seen: recorded if an answer already says how it went. */
  private abandonExchange(exchange: Exchange): void {
    if (exchange.answeredNs > 0) this.emit(exchange, exchange.answeredNs);
    else this.counters.unpairedRequests++;
  }

  /** Statement text kept up to maxTextBytes, marked '…' when cut. */
  private text(body: Buffer, at: number): string {
    const text = readCString(body, at, this.options.maxTextBytes);
    if (!text.cut) return text.text;
    this.pgsqlCounters.pgsqlTruncatedFields++;
    return `${text.text}…`;
  }

  private newExchange(
    cmd: string,
    req: string,
    statement: PreparedStatement | undefined,
    params: string[],
    startNs: number,
  ): Exchange {
    return {
      cmd,
      req,
      statement,
      params,
      startNs,
      tags: [],
      error: '',
      skipped: false,
      suspended: false,
      rows: 0,
      copyMessages: 0,
      copyBytes: 0,
      answeredNs: 0,
    };
  }

  private emitUnanswered(cmd: string, startNs: number, endNs: number): void {
    this.emit(this.newExchange(cmd, '', undefined, [], startNs), endNs);
  }

  private emit(exchange: Exchange, endNs: number): void {
    const endpoint = this.context.endpoint();
    const statement = exchange.statement;
    const normalized =
      statement === undefined
        ? normalizeQuery(exchange.req, 'pgsql')
        : (statement.normalized ??= normalizeQuery(statement.text, 'pgsql'));
    this.counters.sqlRecords++;
    // Fields spelled out, as in the HTTP stitcher: spreading the endpoint costs more than it saves.
    this.onRecord({
      pid: endpoint.pid,
      process: endpoint.process,
      localAddr: endpoint.localAddr,
      localPort: endpoint.localPort,
      remoteAddr: endpoint.remoteAddr,
      remotePort: endpoint.remotePort,
      role: endpoint.role === 'unknown' ? roleOfRequestDirection(this.frontendDirection) : endpoint.role,
      encrypted: endpoint.encrypted,
      timeNs: endNs,
      reqCmd: exchange.cmd,
      req: exchange.req,
      reqParams: exchange.params,
      reqNormalized: normalized,
      resp: describeResponse(exchange),
      error: exchange.error,
      // Latency = completion end − request start: from the syscall that carried the request's first byte (the
      // Query, or the first Parse/Bind/Describe leading to the Execute) to the one that carried the last byte of
      // the message completing it (CommandComplete, EmptyQueryResponse, PortalSuspended or ErrorResponse for an
      // Execute; ReadyForQuery for a Query, a FunctionCall and skipped Executes), on this host.
      latencyNs: Math.max(0, endNs - exchange.startNs),
    });
  }
}

/** CommandComplete tags joined by '; ', with what they do not say: rows before a suspension, COPY data. */
function describeResponse(exchange: Exchange): string {
  if (exchange.skipped) return 'PIPELINE ABORTED';
  let resp = exchange.tags.join('; ');
  if (exchange.suspended) resp = `PortalSuspended (${exchange.rows} rows)`;
  if (exchange.cmd.startsWith('Copy')) {
    const data = `copy data: ${exchange.copyMessages} messages, ${exchange.copyBytes} bytes`;
    resp = resp === '' ? `(${data})` : `${resp} (${data})`;
  }
  return resp;
}

function opposite(direction: Direction): Direction {
  return direction === 'egress' ? 'ingress' : 'egress';
}

/** Operations waiting for their answers, oldest first; taking the oldest does not move the others. */
class PendingOps {
  private items: PendingOp[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(op: PendingOp): void {
    this.items.push(op);
  }

  peek(): PendingOp | undefined {
    return this.items[this.head];
  }

  at(index: number): PendingOp | undefined {
    return this.items[this.head + index];
  }

  shift(): PendingOp | undefined {
    const op = this.items[this.head];
    if (op === undefined) return undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return op;
  }

  findIndex(predicate: (kind: OpKind) => boolean): number {
    for (let i = this.head; i < this.items.length; i++) {
      if (predicate(this.items[i]!.kind)) return i - this.head;
    }
    return -1;
  }

  /** Index of the oldest operation of `kind` before the first one that ends a batch. */
  findIndexInBatch(kind: OpKind): number {
    for (let i = this.head; i < this.items.length; i++) {
      const found = this.items[i]!.kind;
      if (found === kind) return i - this.head;
      if (endsBatch(found)) return -1;
    }
    return -1;
  }
}

/** Named statements or portals of one connection, least recently used first, bounded in entries and bytes. */
class LruMap<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly bytes: number }>();
  private bytes = 0;
  /** Used last: touching it again needs no re-insertion. */
  private newest: string | undefined;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly onEvict: () => void,
  ) {}

  get(name: string): V | undefined {
    const entry = this.entries.get(name);
    if (entry !== undefined && name !== this.newest) {
      this.entries.delete(name);
      this.entries.set(name, entry);
      this.newest = name;
    }
    return entry?.value;
  }

  set(name: string, value: V, bytes: number): void {
    this.delete(name);
    if (bytes > this.maxBytes) {
      this.onEvict();
      return;
    }
    while (this.entries.size >= this.maxEntries || this.bytes + bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
      this.onEvict();
    }
    this.entries.set(name, { value, bytes });
    this.bytes += bytes;
    this.newest = name;
  }

  delete(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    this.bytes -= entry.bytes;
    if (this.newest === name) this.newest = undefined;
  }
}
