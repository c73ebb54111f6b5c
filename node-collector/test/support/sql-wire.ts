/** Builders of PostgreSQL and MySQL wire messages, and a tracker harness that feeds them as capture events. */
import type { Direction, Protocol } from '../../src/capture/events.js';
import { ConnectionTracker } from '../../src/conn/connection-tracker.js';
import { pgsqlSessionFactory } from '../../src/protocols/pgsql/pgsql-session.js';
import { mysqlSessionFactory } from '../../src/protocols/mysql/mysql-session.js';
import type { MysqlRecord, PgsqlRecord } from '../../src/store/records.js';
import { ConnectionFeed } from './connection-feed.js';

export const pg = {
  message(tag: string, ...parts: Buffer[]): Buffer {
    const body = Buffer.concat(parts);
    const header = Buffer.alloc(5);
    header.write(tag, 0, 'latin1');
    header.writeUInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  },
  cstr: (s: string) => Buffer.from(`${s}\0`, 'utf8'),
  int16(n: number): Buffer {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  },
  int32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  },
  startup(user: string): Buffer {
    const body = Buffer.concat([pg.int32(196608), pg.cstr('user'), pg.cstr(user), Buffer.from([0])]);
    return Buffer.concat([pg.int32(body.length + 4), body]);
  },
  query: (sql: string) => pg.message('Q', pg.cstr(sql)),
  parse: (name: string, sql: string) => pg.message('P', pg.cstr(name), pg.cstr(sql), pg.int16(0)),
  bind(portal: string, statement: string, params: (string | null)[]): Buffer {
    const values = params.map((p) =>
      p === null ? pg.int32(-1) : Buffer.concat([pg.int32(Buffer.byteLength(p)), Buffer.from(p)]),
    );
    return pg.message(
      'B',
      pg.cstr(portal),
      pg.cstr(statement),
      pg.int16(0),
      pg.int16(params.length),
      ...values,
      pg.int16(0),
    );
  },
  execute: (portal: string) => pg.message('E', pg.cstr(portal), pg.int32(0)),
  sync: () => pg.message('S'),
  commandComplete: (tag: string) => pg.message('C', pg.cstr(tag)),
  ready: () => pg.message('Z', Buffer.from('I')),
  dataRow: (value: string) =>
    pg.message('D', pg.int16(1), pg.int32(Buffer.byteLength(value)), Buffer.from(value)),
  error: (code: string, message: string) =>
    pg.message('E', Buffer.from(`SERROR\0VERROR\0C${code}\0M${message}\0\0`)),
  authOk: () => pg.message('R', pg.int32(0)),
  password: (secret: string) => pg.message('p', pg.cstr(secret)),
};

export const my = {
  packet(seq: number, payload: Buffer): Buffer {
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = seq;
    return Buffer.concat([header, payload]);
  },
  greeting: () =>
    my.packet(0, Buffer.concat([Buffer.from([0x0a]), Buffer.from('10.11.6-MariaDB\0'), Buffer.alloc(40)])),
  handshakeResponse(user: string, authData: string, deprecateEof: boolean): Buffer {
    const capabilities = Buffer.alloc(4);
    capabilities.writeUInt32LE(0x000fa685 | (deprecateEof ? 0x01000000 : 0));
    const rest = Buffer.concat([
      Buffer.alloc(28),
      Buffer.from(`${user}\0`),
      Buffer.from([authData.length]),
      Buffer.from(authData),
    ]);
    return my.packet(1, Buffer.concat([capabilities, rest]));
  },
  ok: (seq: number, affected = 0, insertId = 0) =>
    my.packet(seq, Buffer.from([0x00, affected, insertId, 0x02, 0x00, 0x00, 0x00])),
  err: (seq: number, code: number, state: string, message: string) => {
    const b = Buffer.alloc(3);
    b[0] = 0xff;
    b.writeUInt16LE(code, 1);
    return my.packet(seq, Buffer.concat([b, Buffer.from(`#${state}${message}`)]));
  },
  eof: (seq: number) => my.packet(seq, Buffer.from([0xfe, 0x00, 0x00, 0x02, 0x00])),
  command: (code: number, text: string) =>
    my.packet(0, Buffer.concat([Buffer.from([code]), Buffer.from(text)])),
  columnDef: (seq: number, name: string) =>
    my.packet(
      seq,
      Buffer.concat([
        Buffer.from([3]),
        Buffer.from('def'),
        Buffer.from([0, 0, 0, name.length]),
        Buffer.from(name),
        Buffer.alloc(14),
      ]),
    ),
  textRow: (seq: number, value: string) =>
    my.packet(seq, Buffer.concat([Buffer.from([value.length]), Buffer.from(value)])),
  /** A one-column text result set of `rows`, ending with EOF or (deprecated EOF) an OK with the 0xFE header. */
  resultSet(rows: string[], deprecateEof: boolean): Buffer {
    let seq = 1;
    const parts = [my.packet(seq++, Buffer.from([1])), my.columnDef(seq++, 'v')];
    if (!deprecateEof) parts.push(my.eof(seq++));
    for (const r of rows) parts.push(my.textRow(seq++, r));
    parts.push(deprecateEof ? my.packet(seq, Buffer.from([0xfe, 0, 0, 0x02, 0, 0, 0])) : my.eof(seq));
    return Buffer.concat(parts);
  },
  prepareOk: (id: number, params: number, columns: number) => {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(id, 1);
    b.writeUInt16LE(columns, 5);
    b.writeUInt16LE(params, 7);
    return my.packet(1, b);
  },
  /** COM_STMT_EXECUTE binding a LONGLONG and a VARCHAR. */
  executeLongAndText(id: number, n: bigint, text: string): Buffer {
    const head = Buffer.alloc(10);
    head[0] = 0x17;
    head.writeUInt32LE(id, 1);
    head.writeUInt32LE(1, 6);
    const value = Buffer.alloc(8);
    value.writeBigInt64LE(n);
    const types = Buffer.from([0x08, 0x00, 0xfd, 0x00]);
    return my.packet(
      0,
      Buffer.concat([
        head,
        Buffer.from([0]),
        Buffer.from([1]),
        types,
        value,
        Buffer.from([text.length]),
        Buffer.from(text),
      ]),
    );
  },
};

/** A tracker with both SQL sessions; `feed` sends bytes in one direction as chunks split where asked. */
export class SqlHarness {
  readonly pgsql: PgsqlRecord[] = [];
  readonly mysql: MysqlRecord[] = [];
  readonly tracker = new ConnectionTracker({
    processName: () => 'db',
    onHttp: () => undefined,
    onConnStats: () => undefined,
    sessions: {
      pgsql: pgsqlSessionFactory((r) => this.pgsql.push(r)),
      mysql: mysqlSessionFactory((r) => this.mysql.push(r)),
    },
  });
  private readonly feed: ConnectionFeed;
  private ts = 1_000;

  constructor(protocol: Protocol, preexisting = false) {
    this.tracker.handleEvent({
      kind: 'open',
      connKey: '1:5:1',
      tgid: 1,
      fd: 5,
      tsNs: this.ts,
      role: 'server',
      family: 4,
      localAddr: '127.0.0.1',
      localPort: 5432,
      remoteAddr: '127.0.0.1',
      remotePort: 40000,
      netns: 1,
      preexisting,
      comm: 'db',
    });
    this.feed = new ConnectionFeed(this.tracker, {
      connKey: '1:5:1',
      tgid: 1,
      fd: 5,
      protocol,
      role: 'server',
    });
  }

  /** Client bytes are ingress on this server-side connection. */
  client(bytes: Buffer, splitEvery = bytes.length): void {
    this.split('ingress', bytes, splitEvery);
  }

  server(bytes: Buffer, splitEvery = bytes.length): void {
    this.split('egress', bytes, splitEvery);
  }

  /** `length` bytes of one direction lost. */
  gap(direction: Direction, length: number): void {
    this.event(direction, Buffer.alloc(0), length);
  }

  private split(direction: Direction, bytes: Buffer, splitEvery: number): void {
    for (let at = 0; at < bytes.length; at += splitEvery) {
      const chunk = bytes.subarray(at, at + splitEvery);
      this.event(direction, chunk, chunk.length);
    }
  }

  private event(direction: Direction, data: Buffer, size: number): void {
    this.ts += 1_000;
    this.feed.send(direction, data, size, this.ts);
  }
}
