/**
 * MySQL/MariaDB session: skips the handshake (credentials are never looked into), then pairs each client command
 * with the server's answer — OK, ERR, or a result set of column definitions and rows — and emits one MysqlRecord.
 * Prepared statements are remembered by id so that an execution carries its text and decoded parameters.
 *
 * The server answers commands in the order it read them, so commands wait in a FIFO for their answer to start.
 * When capture loses bytes, a framer finds packet boundaries again (see mysql-resync.ts) and pairing must not
 * guess: an answer found after lost bytes goes to a command only when the order of events makes the owner certain.
 *
 * - Answers lost (server bytes): the commands sent before the found answer began are its candidates. A client
 *   that sends a command only once the previous answer is complete makes the newest of them the owner, and the
 *   older ones are counted as unpaired. A client seen pipelining (a command sent before the previous answer came)
 *   leaves the owner unknown unless there is one candidate: the candidates are counted as unpaired, the answer too,
 *   and as many later answers as may still belong to them.
 * - Commands lost (client bytes): an answer may belong to a command that was never seen. A candidate is the owner
 *   only when no lost command can come between it and the answer.
 * - An answer whose middle was lost ends a record only at its own end: an EOF (or the OK replacing it) found with
 *   no command sent since; the row count then says how many rows were seen at least ("rows>=").
 *
 * Whatever is not paired is counted: unpairedRequests, unpairedResponses; each loss of boundaries in resyncs, and
 * bytes that cannot be packets where packets were expected in parseErrors too.
 */
import type { Direction } from '../../capture/events.js';
import type {
  ProtocolSession,
  ProtocolSessionFactory,
  SessionContext,
} from '../../conn/connection-tracker.js';
import type { MysqlRecord } from '../../store/records.js';
import { normalizeQuery } from '../sql/normalize-query.js';
import { requestDirection, roleOfRequestDirection } from '../sql/request-direction.js';
import {
  Com,
  commandName,
  FULL_PACKET_LENGTH,
  isCommandCode,
  isUnanswered,
  ServerStatus,
} from './mysql-protocol.js';
import { MysqlFramer, type MysqlPacket } from './mysql-framer.js';
import { judgeAnswerStart, judgeCommandStart } from './mysql-resync.js';
import { decodeExecuteParams, lengthEncodedInt } from './mysql-values.js';

export interface MysqlOptions {
  maxPacketBytes: number;
  maxStatements: number;
  /** Commands waiting for their answer; beyond it the oldest is given up (its answer counts as lost). */
  maxPendingCommands: number;
}

export const DEFAULT_MYSQL_OPTIONS: MysqlOptions = {
  maxPacketBytes: 64 * 1024,
  maxStatements: 1024,
  maxPendingCommands: 256,
};

const CLIENT_SSL = 0x0800;
const CLIENT_DEPRECATE_EOF = 0x0100_0000;
/** MariaDB's progress report: an ERR packet with this code, in the middle of an answer. */
const PROGRESS_REPORT = 0xffff;
const LOCAL_INFILE_REQUEST = 0xfb;
/** Bytes of a command (an execution's statement id, flags and iteration count) it cannot be told without. */
const COMMAND_FIELDS_BYTES = 10;
/** Bytes of an answer's packet that say what it is: all of an OK, an ERR's code and SQLSTATE, a column count. */
const ANSWER_FIELDS_BYTES = 24;
/** Answers owed to commands given up while pairing was uncertain, when client bytes were lost as well. */
const LOST_COMMANDS_GUESS = 1;

interface Statement {
  text: string;
  /** The text normalised once, on its first execution, for all of them. */
  normalized?: string;
  paramCount: number;
  /** Parameter types of the last execution that sent them: later ones may omit them. */
  types: Buffer | undefined;
}

/** What the server's next packets are expected to be, for the command being answered. */
type Expect =
  | { kind: 'first' }
  | { kind: 'definitions'; left: number; then: 'rows' | 'done' }
  | { kind: 'rows' }
  /** A prepare-OK's definitions are all there; an EOF follows unless the client deprecated it. */
  | { kind: 'closing-eof' }
  /** COM_CHANGE_USER: an authentication exchange, ended by OK or ERR. */
  | { kind: 'auth' };

interface Command {
  code: number;
  req: string;
  /** The executed statement, whose normalised text is kept with it. */
  statement?: Statement;
  params: string[];
  startNs: number;
  /** Sequence id of the answer's first packet: the one after the command's last. */
  answerSeq: number;
  expect: Expect;
  columns: number;
  rows: number;
  results: string[];
  status: string;
  error: string;
  /** For COM_STMT_PREPARE: the text, remembered under the id the server gives it. */
  prepareText?: string;
  /** The column definitions are all there; an EOF may still close them. */
  definitionsOpen: boolean;
  /** The client sends packets in the middle of the answer (LOCAL INFILE data, authentication). */
  clientData: boolean;
  /** Bytes of the result being read were lost: its row count is a lower bound. */
  cut: boolean;
  /** An answer owned by no command known: read to find where it ends, never recorded. */
  orphan: boolean;
}

export function mysqlSessionFactory(
  onRecord: (record: MysqlRecord) => void,
  options: Partial<MysqlOptions> = {},
): ProtocolSessionFactory {
  const resolved = { ...DEFAULT_MYSQL_OPTIONS, ...options };
  return (context) => new MysqlSession(context, onRecord, resolved);
}

export class MysqlSession implements ProtocolSession {
  private readonly fromClient: MysqlFramer;
  private readonly fromServer: MysqlFramer;
  private clientDirection: Direction | undefined;
  /** Until the server's OK after authentication, every packet belongs to the handshake. */
  private handshake: boolean;
  /** Whether the client deprecated EOF packets; unknown when the handshake was not seen. */
  private deprecateEof: boolean | undefined;
  /** Commands waiting for the start of their answer, oldest first. */
  private readonly pending: Command[] = [];
  /** The command (or orphan) whose answer is being read. */
  private answering: Command | undefined;
  /** The command whose answer was being read when server bytes were lost: its end may still be found. */
  private cutShort: Command | undefined;
  private lastServerSeq = 0;
  private lastServerEndNs = 0;
  /** Server bytes were lost since an answer was last given an owner. */
  private answersLost: boolean;
  /** ... and they began between two answers: the start of one answer at least went with them. */
  private answerStartLost = false;
  /** Client bytes were lost: commands may have been sent in this time span (untilNs is open while resyncing). */
  private requestsLost: { fromNs: number; untilNs: number } | undefined;
  /** Start of the newest command whose answer was paired or given up. */
  private settledNs = -Infinity;
  /** The client was seen sending a command before the previous answer began. */
  private pipelined = false;
  /** Answers that may still come for commands given up on a pipelining connection. */
  private owed = 0;
  private lastCommandNs: number | undefined;
  private readonly statements = new Map<number, Statement>();
  private stopped = false;

  constructor(
    private readonly context: SessionContext,
    private readonly onRecord: (record: MysqlRecord) => void,
    private readonly options: MysqlOptions,
  ) {
    const inSync = !context.midStream;
    this.handshake = inSync;
    this.answersLost = !inSync;
    if (!inSync) this.requestsLost = { fromNs: -Infinity, untilNs: Infinity };
    this.fromClient = new MysqlFramer(
      {
        onPacket: (p) => this.onClient(p),
        onLost: (garbage, sinceNs) => this.onLost('client', garbage, sinceNs),
        acceptsHeader: (seq, length) => this.clientAccepts(seq, length),
        judgeStart: (view, at) => judgeCommandStart(view, at),
      },
      options.maxPacketBytes,
      inSync,
    );
    this.fromServer = new MysqlFramer(
      {
        onPacket: (p) => this.onServer(p),
        onLost: (garbage, sinceNs) => this.onLost('server', garbage, sinceNs),
        acceptsHeader: (seq) => this.serverAccepts(seq),
        judgeStart: (view, at) =>
          judgeAnswerStart(view, at, this.cutShort !== undefined && endsWithRows(this.cutShort)),
      },
      options.maxPacketBytes,
      inSync,
    );
    this.clientDirection = requestDirection(context.role());
  }

  onData(direction: Direction, data: Buffer, tsNs: number): void {
    if (this.stopped) return;
    this.clientDirection ??= requestDirection(this.context.role()) ?? guessClient(direction, data);
    if (this.clientDirection === undefined) return;
    (direction === this.clientDirection ? this.fromClient : this.fromServer).onData(data, tsNs);
  }

  onGap(direction: Direction, length: number, tsNs: number): void {
    if (this.stopped || this.clientDirection === undefined) return;
    (direction === this.clientDirection ? this.fromClient : this.fromServer).onGap(length, tsNs);
  }

  /** Whole exchanges left out: nothing to do when both framers stand between packets with nothing unanswered. */
  onShed(direction: Direction, length: number, tsNs: number): void {
    const settled =
      this.pending.length === 0 &&
      this.answering === undefined &&
      this.fromClient.betweenPackets &&
      this.fromServer.betweenPackets;
    if (!settled) this.onGap(direction, length, tsNs);
  }

  onEnd(): void {
    if (this.stopped) return;
    let unpaired = this.pending.length;
    if (this.answering !== undefined && !this.answering.orphan) unpaired++;
    if (this.cutShort !== undefined) unpaired++;
    this.context.counters.unpairedRequests += unpaired;
    this.pending.length = 0;
    this.answering = undefined;
    this.cutShort = undefined;
    this.stopped = true;
  }

  private onLost(side: 'client' | 'server', garbage: boolean, sinceNs: number): void {
    this.context.counters.resyncs++;
    if (garbage) this.context.counters.parseErrors++;
    if (side === 'client') {
      this.requestsLost = { fromNs: this.requestsLost?.fromNs ?? sinceNs, untilNs: Infinity };
      return;
    }
    // The server's OK that ends an authentication may be lost: commands are looked for instead.
    this.handshake = false;
    const answering = this.answering;
    this.answering = undefined;
    this.answersLost = true;
    if (answering === undefined) this.answerStartLost = true;
    if (answering === undefined || answering.orphan) return;
    if (this.cutShort !== undefined) this.abandon(this.cutShort);
    answering.cut = true;
    this.cutShort = answering;
  }

  /** In sync: a sequence-0 command, or more of an exchange under way (LOCAL INFILE data, authentication). */
  private clientAccepts(seq: number, length: number): boolean {
    if (this.handshake) return true;
    if (seq === 0) return length > 0;
    return this.answering !== undefined || this.pending.length > 0;
  }

  /** In sync: the next packet of the answer being read, or the first of an answer. */
  private serverAccepts(seq: number): boolean {
    if (this.handshake) return true;
    const answering = this.answering;
    // After lost commands, an answer may follow one of several packets that was not seen.
    if (answering === undefined) return this.startsAnswer(seq) || this.requestsLost !== undefined;
    if (answering.clientData) return true;
    const next = seq === ((this.lastServerSeq + 1) & 0xff);
    return next || (answering.expect.kind === 'closing-eof' && this.startsAnswer(seq));
  }

  private startsAnswer(seq: number): boolean {
    return seq === 1 || this.pending.some((c) => c.answerSeq === seq);
  }

  private onClient(p: MysqlPacket): void {
    if (this.handshake) {
      // HandshakeResponse: capability flags first. Its auth data is never read.
      if (p.seq === 1 && p.payload.length >= 4) {
        const capabilities = p.payload.readUInt32LE(0);
        this.deprecateEof = (capabilities & CLIENT_DEPRECATE_EOF) !== 0;
        if ((capabilities & CLIENT_SSL) !== 0 && p.length === 32) this.stopped = true; // TLS follows
      }
      return;
    }
    if (p.seq !== 0) return; // more of an exchange under way, e.g. LOCAL INFILE data
    if (p.holed && p.payload.length < Math.min(p.length, COMMAND_FIELDS_BYTES)) {
      // The command's own fields went with the hole: it cannot be told what it was.
      this.fromClient.lose(false, p.startNs);
      return;
    }
    const code = p.payload[0];
    if (code === undefined || !isCommandCode(code)) {
      this.fromClient.lose(true, p.startNs);
      return;
    }
    if (p.resynced && this.requestsLost !== undefined) this.requestsLost.untilNs = p.startNs;
    // Two commands in one write: the client does not wait for answers.
    if (this.lastCommandNs === p.startNs) this.pipelined = true;
    this.lastCommandNs = p.startNs;
    const command = newCommand(code, p.startNs, (p.lastSeq + 1) & 0xff);
    if (code === Com.Query || code === Com.InitDb) command.req = text(p, 1);
    if (code === Com.StmtPrepare) command.prepareText = command.req = text(p, 1);
    if (code === Com.StmtExecute) this.describeExecute(command, p.payload);
    if (code === Com.StmtSendLongData && p.payload.length >= 5) {
      command.req = this.statements.get(p.payload.readUInt32LE(1))?.text ?? '';
    }
    if (code === Com.StmtClose && p.payload.length >= 5) this.statements.delete(p.payload.readUInt32LE(1));
    if (code === Com.ChangeUser) {
      // A new authentication: the client answers the server's requests until OK or ERR. Nothing of it is kept.
      command.expect = { kind: 'auth' };
      command.clientData = true;
    }
    // Commands without an answer are recorded as sent, so that they are not counted as lost.
    if (isUnanswered(code)) {
      this.emit(command, p.endNs);
      return;
    }
    if (this.pending.length >= this.options.maxPendingCommands) {
      this.abandon(this.pending.shift()!);
      this.answersLost = true;
    }
    this.pending.push(command);
  }

  private describeExecute(command: Command, payload: Buffer): void {
    if (payload.length < 10) return;
    const statement = this.statements.get(payload.readUInt32LE(1));
    if (statement === undefined) return;
    command.req = statement.text;
    command.statement = statement;
    const decoded = decodeExecuteParams(payload, statement.paramCount, statement.types);
    command.params = decoded.params;
    statement.types = decoded.types;
  }

  private onServer(p: MysqlPacket): void {
    if (this.handshake) {
      const first = p.payload[0];
      if (first === 0x00 && p.seq > 1) this.handshake = false; // OK after authentication
      if (first === 0xff && p.seq > 0) this.handshake = false; // authentication refused
      return;
    }
    if (p.holed && p.payload.length < Math.min(p.length, ANSWER_FIELDS_BYTES)) {
      // What the packet says (a count, a status, whether rows end here) went with the hole: the answer cannot be
      // followed any further in place, only from a packet found by scanning.
      this.fromServer.lose(false, p.startNs);
      return;
    }
    this.lastServerSeq = p.lastSeq;
    if (this.answering === undefined && !this.settle(p)) return;
    this.onAnswerPacket(this.answering!, p);
    this.lastServerEndNs = p.endNs;
  }

  /**
   * The packet starts an answer, or ends one whose middle was lost: decides which command it belongs to (see the
   * file's comment), or that it belongs to none. Returns false when the packet needs nothing more.
   */
  private settle(p: MysqlPacket): boolean {
    const startNs = p.startNs;
    let candidates = 0;
    while (candidates < this.pending.length && this.pending[candidates]!.startNs < startNs) candidates++;
    const cut = this.cutShort;
    this.cutShort = undefined;
    if (cut !== undefined) {
      const quiet = candidates === 0 && !this.requestsLostBetween(cut.startNs, startNs);
      if (quiet && isEndOfRows(p, this.deprecateEof)) {
        cut.expect = { kind: 'rows' };
        cut.definitionsOpen = false;
        this.answering = cut;
        this.answersLost = false;
        this.answerStartLost = false;
        return true;
      }
      if (quiet) {
        // No command was sent since the cut answer began, so no answer starts here: the bytes only look like one.
        this.cutShort = cut;
        this.fromServer.lose(true, startNs);
        return false;
      }
      this.abandon(cut);
    }
    if (!this.startsAnswer(p.seq)) {
      // The end of an answer whose start was lost, or the answer to a lost command of several packets: the
      // candidates' answers cannot be told, and this one is read to its end without an owner. It is counted as
      // unpaired unless it belongs to one of the candidates (counted already).
      this.giveUp(candidates);
      this.answersLost = false;
      this.answerStartLost = false;
      this.orphan(startNs, candidates === 0);
      if (isEndOfRows(p, this.deprecateEof)) this.answering!.expect = { kind: 'rows' };
      return true;
    }
    const oldest = this.pending[0];
    if (candidates === 0) {
      if (this.owed > 0) this.owed--;
      this.orphan(startNs);
    } else if (this.owed > 0) {
      // Given-up commands may still be answered first: whose answer this is cannot be told.
      this.giveUp(candidates);
      this.owed += candidates - 1;
      this.orphan(startNs);
    } else if (!this.answersLost) {
      if (candidates > 1) this.pipelined = true;
      // In order, unless a lost command may come first (a pipelining client sends it before the oldest's answer).
      if (this.pipelined && this.requestsLostBetween(this.settledNs, oldest!.startNs)) {
        this.uncertain(candidates, startNs);
      } else {
        this.pair();
      }
    } else if (!this.pipelined) {
      // Each command waited for the previous answer: the newest command sent before this answer owns it.
      const newest = this.pending[candidates - 1]!;
      if (this.requestsLostBetween(newest.startNs, startNs)) {
        this.uncertain(candidates, startNs);
      } else {
        this.giveUp(candidates - 1);
        this.pair();
      }
    } else if (candidates === 1 && !this.requestsLostBetween(this.settledNs, startNs)) {
      this.pair();
    } else {
      this.uncertain(candidates, startNs);
    }
    this.answersLost = false;
    this.answerStartLost = false;
    return true;
  }

  /** Whether a lost command may have been sent between these times. */
  private requestsLostBetween(afterNs: number, beforeNs: number): boolean {
    const lost = this.requestsLost;
    return lost !== undefined && lost.fromNs < beforeNs && lost.untilNs > afterNs;
  }

  private pair(): void {
    const command = this.pending.shift()!;
    this.answering = command;
    this.markSettled(command.startNs);
  }

  /** Nobody's answer can be told: the candidates are given up and the answer is read without an owner. */
  private uncertain(candidates: number, answerNs: number): void {
    const lostCommands = this.requestsLostBetween(this.settledNs, answerNs) ? LOST_COMMANDS_GUESS : 0;
    this.giveUp(candidates);
    // One of the candidates owns this answer, and the answer of one more went with the lost bytes if they began
    // between two answers; the others may still come.
    const answered = 1 + (this.answerStartLost ? 1 : 0);
    if (this.pipelined) this.owed += Math.max(0, candidates - answered) + lostCommands;
    this.orphan(answerNs);
  }

  private giveUp(count: number): void {
    for (let i = 0; i < count; i++) {
      const command = this.pending.shift()!;
      this.abandon(command);
      this.markSettled(command.startNs);
    }
  }

  /** Answers of commands up to this one are accounted for: lost commands before it no longer matter. */
  private markSettled(startNs: number): void {
    this.settledNs = Math.max(this.settledNs, startNs);
    const lost = this.requestsLost;
    if (lost !== undefined && lost.untilNs <= this.settledNs) this.requestsLost = undefined;
  }

  private abandon(command: Command): void {
    if (!command.orphan) this.context.counters.unpairedRequests++;
  }

  private orphan(startNs: number, counted = true): void {
    if (counted) this.context.counters.unpairedResponses++;
    const orphan = newCommand(-1, startNs, 1);
    orphan.orphan = true;
    this.answering = orphan;
  }

  private onAnswerPacket(command: Command, p: MysqlPacket): void {
    const expect = command.expect;
    switch (expect.kind) {
      case 'first':
        this.onFirstResponse(command, p);
        return;
      case 'auth':
        if (p.payload[0] === 0x00) command.status = 'OK';
        else if (p.payload[0] === 0xff) setError(command, p);
        else return; // an authentication method switch, or more of its data
        this.complete(p.endNs);
        return;
      case 'definitions':
        // EOFs close the lists of definitions unless the client deprecated them.
        if (isEof(p)) {
          this.deprecateEof = false;
          return;
        }
        expect.left--;
        if (expect.left > 0) return;
        if (expect.then === 'rows') {
          command.expect = { kind: 'rows' };
          command.definitionsOpen = true;
        } else if (this.deprecateEof === true) {
          this.complete(p.endNs);
        } else {
          command.expect = { kind: 'closing-eof' };
        }
        return;
      case 'closing-eof':
        if (isEof(p)) {
          this.deprecateEof = false;
          this.complete(p.endNs);
          return;
        }
        // No EOF: the client deprecated it, and this packet starts the next answer.
        this.deprecateEof = true;
        this.complete(this.lastServerEndNs);
        if (this.settle(p)) this.onAnswerPacket(this.answering!, p);
        return;
      case 'rows':
        this.onRow(command, p);
        return;
    }
  }

  private onRow(command: Command, p: MysqlPacket): void {
    if (this.onError(command, p)) return;
    if (command.definitionsOpen) {
      command.definitionsOpen = false;
      if (isEof(p)) {
        this.deprecateEof = false;
        return;
      }
    }
    if (!isEndOfRows(p, this.deprecateEof)) {
      command.rows++;
      return;
    }
    // End of the rows: an EOF packet, or the OK that replaces it with CLIENT_DEPRECATE_EOF.
    if (p.length >= 7) this.deprecateEof = true;
    command.results.push(describeRows(command));
    // Bytes lost fell in this result: those that follow are read whole.
    command.cut = false;
    const status = p.length === 5 ? p.payload.readUInt16LE(3) : okStatus(p.payload);
    if ((status & ServerStatus.MoreResultsExists) !== 0) command.expect = { kind: 'first' };
    else this.complete(p.endNs);
  }

  /** An ERR ends the answer; MariaDB's progress reports (ERR packets too) come in its middle. */
  private onError(command: Command, p: MysqlPacket): boolean {
    if (p.payload[0] !== 0xff) return false;
    if (isProgressReport(p)) return true;
    setError(command, p);
    this.complete(p.endNs);
    return true;
  }

  private onFirstResponse(command: Command, p: MysqlPacket): void {
    if (this.onError(command, p)) return;
    const first = p.payload[0];
    if (first === LOCAL_INFILE_REQUEST) {
      // The client sends the file, then the server's OK or ERR follows.
      command.clientData = true;
      return;
    }
    if (command.code === Com.Statistics) {
      command.status = 'OK';
      command.results.push(p.payload.toString('utf8', 0, Math.min(p.payload.length, 256)));
      this.complete(p.endNs);
      return;
    }
    if (command.code === Com.FieldList || command.code === Com.StmtFetch) {
      // Definitions (field list) or rows (fetch) straight away, up to an EOF.
      command.status = 'RESULTSET';
      command.expect = { kind: 'rows' };
      this.onRow(command, p);
      return;
    }
    // An orphan's prepare-OK is told by its shape: an OK of 12 bytes with a zero at the filler's place is rare.
    const prepared = command.orphan ? isPrepareOk(p) : command.code === Com.StmtPrepare;
    if (first === 0x00 && prepared && p.payload.length >= 12) {
      const id = p.payload.readUInt32LE(1);
      const columns = p.payload.readUInt16LE(5);
      const params = p.payload.readUInt16LE(7);
      if (!command.orphan) {
        this.remember(id, { text: command.prepareText ?? '', paramCount: params, types: undefined });
      }
      command.status = 'OK';
      command.results.push(`statement_id=${id} params=${params} columns=${columns}`);
      if (params + columns === 0) this.complete(p.endNs);
      else command.expect = { kind: 'definitions', left: params + columns, then: 'done' };
      return;
    }
    if (first === 0xfe && p.length === 5) {
      // An EOF answers COM_SET_OPTION and COM_DEBUG.
      command.status = 'EOF';
      if ((p.payload.readUInt16LE(3) & ServerStatus.MoreResultsExists) === 0) this.complete(p.endNs);
      return;
    }
    if (first === 0x00 || (first === 0xfe && p.length < 9)) {
      const affected = lengthEncodedInt(p.payload, 1);
      const insertId = lengthEncodedInt(p.payload, affected.next);
      command.status = command.results.length > 0 ? 'RESULTSET' : 'OK';
      command.results.push(`affected_rows=${affected.value} last_insert_id=${insertId.value}`);
      if ((okStatus(p.payload) & ServerStatus.MoreResultsExists) === 0) this.complete(p.endNs);
      return;
    }
    // A result set: the column count, then that many definitions (and an EOF unless deprecated), then rows.
    // MariaDB follows the count with a flag when the client caches metadata: 0 when it sends no definitions (the
    // EOF still comes).
    const count = lengthEncodedInt(p.payload, 0);
    command.status = 'RESULTSET';
    command.columns = count.value;
    command.rows = 0;
    if (command.columns > 0 && p.payload[count.next] !== 0) {
      command.expect = { kind: 'definitions', left: command.columns, then: 'rows' };
    } else {
      command.expect = { kind: 'rows' };
      command.definitionsOpen = command.columns > 0;
    }
  }

  private remember(id: number, statement: Statement): void {
    if (this.statements.size >= this.options.maxStatements && !this.statements.has(id)) {
      const oldest = this.statements.keys().next().value;
      if (oldest !== undefined) this.statements.delete(oldest);
      this.context.counters.evictedStatements++;
    }
    this.statements.set(id, statement);
  }

  private complete(endNs: number): void {
    const command = this.answering;
    this.answering = undefined;
    if (command !== undefined && !command.orphan) this.emit(command, endNs);
  }

  /** Latency = end of the answer's last byte − start of the command's first byte, as seen on this host. */
  private emit(command: Command, endNs: number): void {
    const endpoint = this.context.endpoint();
    const statement = command.statement;
    const normalized =
      statement === undefined || statement.text !== command.req
        ? normalizeQuery(command.req, 'mysql')
        : (statement.normalized ??= normalizeQuery(statement.text, 'mysql'));
    this.context.counters.sqlRecords++;
    // Fields spelled out, as in the HTTP stitcher: spreading the endpoint costs more than it saves.
    this.onRecord({
      pid: endpoint.pid,
      process: endpoint.process,
      localAddr: endpoint.localAddr,
      localPort: endpoint.localPort,
      remoteAddr: endpoint.remoteAddr,
      remotePort: endpoint.remotePort,
      role: endpoint.role === 'unknown' ? roleOfRequestDirection(this.clientDirection) : endpoint.role,
      encrypted: endpoint.encrypted,
      timeNs: endNs,
      reqCmd: commandName(command.code),
      req: command.req,
      reqParams: command.params,
      reqNormalized: normalized,
      respStatus: command.status,
      resp: command.results.join('; '),
      error: command.error,
      latencyNs: Math.max(0, endNs - command.startNs),
    });
  }
}

function newCommand(code: number, startNs: number, answerSeq: number): Command {
  return {
    code,
    req: '',
    params: [],
    startNs,
    answerSeq,
    expect: { kind: 'first' },
    columns: 0,
    rows: 0,
    results: [],
    status: '',
    error: '',
    definitionsOpen: false,
    clientData: false,
    cut: false,
    orphan: false,
  };
}

/** Without a role: a greeting (protocol 10) comes from the server, a sequence-0 command from the client. */
function guessClient(direction: Direction, data: Buffer): Direction | undefined {
  if (data.length < 5 || data[3] !== 0) return undefined;
  const other: Direction = direction === 'egress' ? 'ingress' : 'egress';
  return data[4] === 0x0a ? other : direction;
}

/** An answer that ends with rows: its end can be recognised without knowing where the rows stand. */
function endsWithRows(command: Command): boolean {
  const expect = command.expect;
  return expect.kind === 'rows' || (expect.kind === 'definitions' && expect.then === 'rows');
}

function isEof(p: MysqlPacket): boolean {
  return p.payload[0] === 0xfe && p.length === 5;
}

/**
 * The last packet of rows: an EOF, or the OK (0xFE header) that replaces it with CLIENT_DEPRECATE_EOF. A text row
 * may begin with 0xFE too (an 8-byte length), but is then at least 9 bytes long.
 */
function isEndOfRows(p: MysqlPacket, deprecateEof: boolean | undefined): boolean {
  return p.payload[0] === 0xfe && p.length < FULL_PACKET_LENGTH && (p.length < 9 || deprecateEof === true);
}

/** Statement id, columns, parameters, a zero filler, warnings (and a metadata flag in MySQL 8). */
function isPrepareOk(p: MysqlPacket): boolean {
  return p.payload[0] === 0x00 && (p.length === 12 || p.length === 13) && p.payload[9] === 0;
}

function isProgressReport(p: MysqlPacket): boolean {
  return p.payload.length >= 3 && p.payload.readUInt16LE(1) === PROGRESS_REPORT;
}

function describeRows(command: Command): string {
  const rows = `${command.cut ? 'rows>=' : 'rows='}${command.rows}`;
  if (command.code === Com.FieldList) return `fields=${command.rows}`;
  if (command.code === Com.StmtFetch) return rows;
  return `columns=${command.columns} ${rows}`;
}

function okStatus(payload: Buffer): number {
  const affected = lengthEncodedInt(payload, 1);
  const insertId = lengthEncodedInt(payload, affected.next);
  return insertId.next + 2 <= payload.length ? payload.readUInt16LE(insertId.next) : 0;
}

function setError(command: Command, p: MysqlPacket): void {
  command.status = 'ERR';
  command.error = `${errorText(p.payload)}${p.payload.length < p.length ? '…' : ''}`;
}

/** Text from `at` to the payload's end, marked '…' when the payload was not kept whole. */
function text(p: MysqlPacket, at: number): string {
  return `${p.payload.toString('utf8', at)}${p.payload.length < p.length ? '…' : ''}`;
}

/** ERR: 0xFF, code (2 bytes), then '#' and a 5-character SQLSTATE when the client speaks protocol 4.1. */
function errorText(payload: Buffer): string {
  if (payload.length < 3) return 'ERROR';
  const code = payload.readUInt16LE(1);
  if (payload[3] === 0x23 && payload.length >= 9) {
    return `ERROR ${code} (${payload.toString('latin1', 4, 9)}): ${payload.toString('utf8', 9)}`;
  }
  return `ERROR ${code}: ${payload.toString('utf8', 3)}`;
}
