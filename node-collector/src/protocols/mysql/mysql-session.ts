/**
 * MySQL/MariaDB session: skips the handshake (credentials are never looked into), then pairs each client command
 * with the server's answer — OK, ERR, or a result set of column definitions and rows — and emits one MysqlRecord.
 * Prepared statements are remembered by id so that an execution carries its text and decoded parameters.
 */
import type { Direction, Role } from '../../capture/events.js';
import type {
  ProtocolSession,
  ProtocolSessionFactory,
  SessionContext,
} from '../../conn/connection-tracker.js';
import type { MysqlRecord } from '../../store/records.js';
import { normalizeQuery } from '../sql/normalize-query.js';
import { requestDirection, roleOfRequestDirection } from '../sql/request-direction.js';
import { MysqlFramer, type MysqlPacket } from './mysql-framer.js';
import { decodeExecuteParams, lengthEncodedInt } from './mysql-values.js';

export interface MysqlOptions {
  maxPacketBytes: number;
  maxStatements: number;
}

export const DEFAULT_MYSQL_OPTIONS: MysqlOptions = { maxPacketBytes: 64 * 1024, maxStatements: 1024 };

const COMMANDS: Record<number, string> = {
  0x01: 'COM_QUIT',
  0x02: 'COM_INIT_DB',
  0x03: 'COM_QUERY',
  0x04: 'COM_FIELD_LIST',
  0x0e: 'COM_PING',
  0x11: 'COM_CHANGE_USER',
  0x16: 'COM_STMT_PREPARE',
  0x17: 'COM_STMT_EXECUTE',
  0x19: 'COM_STMT_CLOSE',
  0x1a: 'COM_STMT_RESET',
  0x1f: 'COM_RESET_CONNECTION',
};
const COM_QUIT = 0x01;
const COM_QUERY = 0x03;
const COM_CHANGE_USER = 0x11;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_STMT_CLOSE = 0x19;
const COM_INIT_DB = 0x02;
/** Commands the server does not answer. */
const UNANSWERED = new Set([COM_QUIT, COM_STMT_CLOSE]);

const CLIENT_SSL = 0x0800;
const CLIENT_DEPRECATE_EOF = 0x0100_0000;
const SERVER_MORE_RESULTS_EXISTS = 0x0008;

interface Statement {
  text: string;
  paramCount: number;
  /** Parameter types of the last execution that sent them: later ones may omit them. */
  types: Buffer | undefined;
}

/** What the server's next packets are expected to be, for the command being answered. */
type Expect =
  { kind: 'first' } | { kind: 'definitions'; left: number; then: 'rows' | 'done' } | { kind: 'rows' };

interface Command {
  code: number;
  req: string;
  params: string[];
  startNs: number;
  expect: Expect;
  columns: number;
  rows: number;
  results: string[];
  status: string;
  error: string;
  /** For COM_STMT_PREPARE: the text, remembered under the id the server gives it. */
  prepareText?: string;
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
  private deprecateEof = false;
  private command: Command | undefined;
  private readonly statements = new Map<number, Statement>();
  private stopped = false;

  constructor(
    private readonly context: SessionContext,
    private readonly onRecord: (record: MysqlRecord) => void,
    private readonly options: MysqlOptions,
  ) {
    const inSync = !context.midStream;
    this.handshake = inSync;
    this.fromClient = new MysqlFramer(
      { onPacket: (p) => this.onClient(p), onDesync: () => this.onDesync() },
      options.maxPacketBytes,
      inSync,
      0,
    );
    this.fromServer = new MysqlFramer(
      { onPacket: (p) => this.onServer(p), onDesync: () => this.onDesync() },
      options.maxPacketBytes,
      inSync,
      1,
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

  onEnd(): void {
    if (this.command !== undefined) this.context.counters.unpairedRequests++;
    this.command = undefined;
    this.stopped = true;
  }

  private onDesync(): void {
    this.context.counters.parseErrors++;
    if (this.command !== undefined) this.context.counters.unpairedRequests++;
    this.command = undefined;
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
    if (p.seq !== 0 || p.payload.length === 0) return; // continuation of an exchange, e.g. LOCAL INFILE data
    if (this.command !== undefined) this.context.counters.unpairedRequests++;
    const code = p.payload[0] ?? 0;
    const command: Command = {
      code,
      req: '',
      params: [],
      startNs: p.startNs,
      expect: { kind: 'first' },
      columns: 0,
      rows: 0,
      results: [],
      status: '',
      error: '',
    };
    if (code === COM_QUERY || code === COM_INIT_DB) command.req = p.payload.toString('utf8', 1);
    if (code === COM_STMT_PREPARE) command.prepareText = command.req = p.payload.toString('utf8', 1);
    if (code === COM_STMT_EXECUTE) this.describeExecute(command, p.payload);
    if (code === COM_STMT_CLOSE && p.payload.length >= 5) this.statements.delete(p.payload.readUInt32LE(1));
    if (code === COM_CHANGE_USER) this.handshake = true; // a new authentication exchange follows
    this.command = command;
    // Commands without an answer are recorded as sent, so that they are not counted as lost.
    if (UNANSWERED.has(code)) this.complete(p.endNs);
  }

  private describeExecute(command: Command, payload: Buffer): void {
    if (payload.length < 10) return;
    const statement = this.statements.get(payload.readUInt32LE(1));
    if (statement === undefined) return;
    command.req = statement.text;
    const decoded = decodeExecuteParams(payload, statement.paramCount, statement.types);
    command.params = decoded.params;
    statement.types = decoded.types;
  }

  private onServer(p: MysqlPacket): void {
    const first = p.payload[0];
    if (this.handshake) {
      if (first === 0x00 && p.seq > 1) this.handshake = false; // OK after authentication
      if (first === 0xff && p.seq > 0) this.handshake = false; // authentication refused
      return;
    }
    const command = this.command;
    if (command === undefined) {
      this.context.counters.unpairedResponses++;
      return;
    }
    const expect = command.expect;
    if (expect.kind === 'first') {
      this.onFirstResponse(command, p);
    } else if (expect.kind === 'definitions') {
      expect.left--;
      if (expect.left <= 0) {
        if (expect.then === 'done') this.complete(p.endNs);
        else command.expect = { kind: 'rows' };
      }
    } else if (first === 0xff) {
      command.error = errorText(p.payload);
      command.status = 'ERR';
      this.complete(p.endNs);
    } else if (first === 0xfe && p.length < 0xffffff && (p.length < 9 || this.deprecateEof)) {
      // End of the rows: an EOF packet, or the OK that replaces it with CLIENT_DEPRECATE_EOF.
      command.results.push(`columns=${command.columns} rows=${command.rows}`);
      const status = p.length < 9 ? p.payload.readUInt16LE(3) : okStatus(p.payload);
      if ((status & SERVER_MORE_RESULTS_EXISTS) !== 0) command.expect = { kind: 'first' };
      else this.complete(p.endNs);
    } else {
      command.rows++;
    }
  }

  private onFirstResponse(command: Command, p: MysqlPacket): void {
    const first = p.payload[0];
    if (first === 0xff) {
      command.status = 'ERR';
      command.error = errorText(p.payload);
      this.complete(p.endNs);
      return;
    }
    if (first === 0x00 && command.code === COM_STMT_PREPARE && p.payload.length >= 12) {
      const id = p.payload.readUInt32LE(1);
      const columns = p.payload.readUInt16LE(5);
      const params = p.payload.readUInt16LE(7);
      this.remember(id, { text: command.prepareText ?? '', paramCount: params, types: undefined });
      command.status = 'OK';
      command.results.push(`statement_id=${id} params=${params} columns=${columns}`);
      // Parameter and column definitions follow, each list closed by EOF unless CLIENT_DEPRECATE_EOF.
      const eof = this.deprecateEof ? 0 : 1;
      const definitions = (params > 0 ? params + eof : 0) + (columns > 0 ? columns + eof : 0);
      if (definitions === 0) this.complete(p.endNs);
      else command.expect = { kind: 'definitions', left: definitions, then: 'done' };
      return;
    }
    if (first === 0x00 || (first === 0xfe && p.length < 9)) {
      const affected = lengthEncodedInt(p.payload, 1);
      const insertId = lengthEncodedInt(p.payload, affected.next);
      command.status = command.results.length > 0 ? 'RESULTSET' : 'OK';
      command.results.push(`affected_rows=${affected.value} last_insert_id=${insertId.value}`);
      const status = insertId.next + 2 <= p.payload.length ? p.payload.readUInt16LE(insertId.next) : 0;
      if ((status & SERVER_MORE_RESULTS_EXISTS) === 0) this.complete(p.endNs);
      return;
    }
    // A result set: the column count, then that many definitions (and an EOF unless deprecated), then rows.
    command.status = 'RESULTSET';
    command.columns = Number(lengthEncodedInt(p.payload, 0).value);
    command.rows = 0;
    const definitions = command.columns + (this.deprecateEof ? 0 : 1);
    command.expect =
      definitions > 0 ? { kind: 'definitions', left: definitions, then: 'rows' } : { kind: 'rows' };
  }

  private remember(id: number, statement: Statement): void {
    if (this.statements.size >= this.options.maxStatements && !this.statements.has(id)) {
      const oldest = this.statements.keys().next().value;
      if (oldest !== undefined) this.statements.delete(oldest);
      this.context.counters.evictedStatements++;
    }
    this.statements.set(id, statement);
  }

  /** Latency = end of the answer's last byte − start of the command's first byte, as seen on this host. */
  private complete(endNs: number): void {
    const command = this.command;
    if (command === undefined) return;
    this.command = undefined;
    const endpoint = this.context.endpoint();
    const role: Role =
      endpoint.role === 'unknown' ? roleOfRequestDirection(this.clientDirection) : endpoint.role;
    this.context.counters.sqlRecords++;
    this.onRecord({
      ...endpoint,
      role,
      timeNs: endNs,
      reqCmd: COMMANDS[command.code] ?? `COM_0x${command.code.toString(16).padStart(2, '0')}`,
      req: command.req,
      reqParams: command.params,
      reqNormalized: normalizeQuery(command.req, 'mysql'),
      respStatus: command.status,
      resp: command.results.join('; '),
      error: command.error,
      latencyNs: Math.max(0, endNs - command.startNs),
    });
  }
}

/** Without a role: a greeting (protocol 10) comes from the server, a sequence-0 command from the client. */
function guessClient(direction: Direction, data: Buffer): Direction | undefined {
  if (data.length < 5 || data[3] !== 0) return undefined;
  const other: Direction = direction === 'egress' ? 'ingress' : 'egress';
  return data[4] === 0x0a ? other : direction;
}

function okStatus(payload: Buffer): number {
  const affected = lengthEncodedInt(payload, 1);
  const insertId = lengthEncodedInt(payload, affected.next);
  return insertId.next + 2 <= payload.length ? payload.readUInt16LE(insertId.next) : 0;
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
