/**
 * MySQL/MariaDB after lost bytes: real wire bytes of a conversation are cut at every position, in either
 * direction, and the records that come out must be those of the commands with their own answers, exactly — or
 * none, counted as unpaired. Never a command with another one's answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Direction, Role } from '../src/capture/events.js';
import { ConnectionTracker } from '../src/conn/connection-tracker.js';
import { mysqlSessionFactory } from '../src/protocols/mysql/mysql-session.js';
import type { MysqlRecord } from '../src/store/records.js';
import { ConnectionFeed } from './support/connection-feed.js';
import { my } from './support/sql-wire.js';

// ---- Payloads, after the MySQL client/server protocol documentation ----

const COM_QUERY = 0x03;
const COM_INIT_DB = 0x02;
const COM_PING = 0x0e;
const COM_STMT_PREPARE = 0x16;
const SERVER_STATUS_AUTOCOMMIT = 0x0002;
const SERVER_MORE_RESULTS_EXISTS = 0x0008;

function lenenc(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  assert.ok(bytes.length < 251);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

const p = {
  ok: (affected = 0, insertId = 0, status = SERVER_STATUS_AUTOCOMMIT) =>
    Buffer.concat([Buffer.from([0x00, affected, insertId]), u16(status), u16(0)]),
  eof: (status = SERVER_STATUS_AUTOCOMMIT) => Buffer.concat([Buffer.from([0xfe]), u16(0), u16(status)]),
  /** The OK that ends rows under CLIENT_DEPRECATE_EOF. */
  okEnd: (status = SERVER_STATUS_AUTOCOMMIT) =>
    Buffer.concat([Buffer.from([0xfe, 0, 0]), u16(status), u16(0)]),
  err: (code: number, state: string, message: string) =>
    Buffer.concat([Buffer.from([0xff]), u16(code), Buffer.from(`#${state}${message}`)]),
  columnCount: (n: number) => Buffer.from([n]),
  columnDef: (name: string) =>
    Buffer.concat([
      lenenc('def'),
      lenenc('shop'),
      lenenc('items'),
      lenenc('items'),
      lenenc(name),
      lenenc(name),
      Buffer.from([0x0c]),
      u16(33),
      u32(80),
      Buffer.from([0xfd]),
      u16(0),
      Buffer.from([0, 0, 0]),
    ]),
  textRow: (...values: (string | Buffer)[]) => Buffer.concat(values.map(lenenc)),
  /** A binary-protocol row of one string column: header 0x00, NULL bitmap, value. */
  binaryRow: (value: string) => Buffer.concat([Buffer.from([0x00, 0x00]), lenenc(value)]),
  prepareOk: (id: number, params: number, columns: number) =>
    Buffer.concat([Buffer.from([0x00]), u32(id), u16(columns), u16(params), Buffer.from([0]), u16(0)]),
};

/** The packets of one answer, numbered from sequence id 1. */
function answer(payloads: Buffer[], firstSeq = 1): Buffer {
  return Buffer.concat(payloads.map((payload, i) => my.packet((firstSeq + i) & 0xff, payload)));
}

interface ResultSetOptions {
  /** Status flags of the last packet. */
  status?: number;
  /**
   * MariaDB with a client that caches metadata: a flag after the column count says whether the definitions follow
   * (1) or not (0).
   */
  metadata?: 0 | 1;
}

function resultSet(
  deprecateEof: boolean,
  columns: string[],
  rows: Buffer[],
  options: ResultSetOptions = {},
): Buffer[] {
  const { status, metadata } = options;
  const count = p.columnCount(columns.length);
  return [
    metadata === undefined ? count : Buffer.concat([count, Buffer.from([metadata])]),
    ...(metadata === 0 ? [] : columns.map(p.columnDef)),
    ...(deprecateEof ? [] : [p.eof()]),
    ...rows,
    deprecateEof ? p.okEnd(status) : p.eof(status),
  ];
}

/** COM_STMT_EXECUTE of statement `id` binding one LONGLONG. */
function executeLong(id: number, n: bigint): Buffer {
  const value = Buffer.alloc(8);
  value.writeBigInt64LE(n);
  const head = Buffer.concat([Buffer.from([0x17]), u32(id), Buffer.from([0]), u32(1)]);
  return my.packet(0, Buffer.concat([head, Buffer.from([0x00, 0x01, 0x08, 0x00]), value]));
}

const stmtClose = (id: number) => my.packet(0, Buffer.concat([Buffer.from([0x19]), u32(id)]));

// Bytes that look like packets, inside row values and statement text.
const LOOKALIKES = {
  ok: my.packet(1, p.ok()),
  err: my.packet(1, p.err(1064, '42000', 'fake')),
  columns: Buffer.concat([my.packet(1, p.columnCount(1)), my.packet(2, p.columnDef('x')).subarray(0, 12)]),
  eof: my.packet(7, p.eof()),
  command: my.command(COM_QUERY, 'SELECT 1'),
};

// ---- A conversation, and what it must be recorded as ----

interface Expected {
  reqCmd: string;
  req: string;
  reqParams: string[];
  respStatus: string;
  resp: string;
  error: string;
}

interface Exchange {
  client: Buffer;
  /** Undefined for a command the server does not answer. */
  server?: Buffer;
  expected: Expected;
}

const PREPARED = 'SELECT name FROM items WHERE id = ?';
const FAKE_QUERY = `SELECT t, payload FROM lookalikes WHERE t <> 'x${LOOKALIKES.command.toString('latin1')}'`;
const SYNTAX = "You have an error in your SQL syntax; check the manual near 'SELEC oops' at line 1";

const expected = (
  reqCmd: string,
  req: string,
  respStatus: string,
  resp: string,
  fields?: Partial<Expected>,
) => ({
  reqCmd,
  req,
  reqParams: [],
  respStatus,
  resp,
  error: '',
  ...fields,
});

function conversation(deprecateEof: boolean): Exchange[] {
  const defsEof = deprecateEof ? [] : [p.eof()];
  return [
    {
      client: my.command(COM_QUERY, 'SELECT id, name FROM items'),
      server: answer(
        resultSet(
          deprecateEof,
          ['id', 'name'],
          [p.textRow('1', 'one'), p.textRow('2', 'two'), p.textRow('3', 'three')],
          { metadata: 1 },
        ),
      ),
      expected: expected('COM_QUERY', 'SELECT id, name FROM items', 'RESULTSET', 'columns=2 rows=3'),
    },
    {
      client: my.command(COM_QUERY, "INSERT INTO items VALUES (4, 'four')"),
      server: answer([p.ok(1, 4)]),
      expected: expected(
        'COM_QUERY',
        "INSERT INTO items VALUES (4, 'four')",
        'OK',
        'affected_rows=1 last_insert_id=4',
      ),
    },
    {
      client: my.command(COM_STMT_PREPARE, PREPARED),
      server: answer([p.prepareOk(1, 1, 1), p.columnDef('?'), ...defsEof, p.columnDef('name'), ...defsEof]),
      expected: expected('COM_STMT_PREPARE', PREPARED, 'OK', 'statement_id=1 params=1 columns=1'),
    },
    {
      client: executeLong(1, 2n),
      server: answer(resultSet(deprecateEof, ['name'], [p.binaryRow('two')])),
      expected: expected('COM_STMT_EXECUTE', PREPARED, 'RESULTSET', 'columns=1 rows=1', { reqParams: ['2'] }),
    },
    {
      client: my.command(COM_PING, ''),
      server: answer([p.ok()]),
      expected: expected('COM_PING', '', 'OK', 'affected_rows=0 last_insert_id=0'),
    },
    {
      client: my.command(COM_QUERY, 'SELEC oops'),
      server: answer([p.err(1064, '42000', SYNTAX)]),
      expected: expected('COM_QUERY', 'SELEC oops', 'ERR', '', { error: `ERROR 1064 (42000): ${SYNTAX}` }),
    },
    {
      client: my.command(COM_QUERY, FAKE_QUERY),
      server: answer(
        resultSet(
          deprecateEof,
          ['t', 'payload'],
          Object.values(LOOKALIKES).map((fake) =>
            p.textRow('x', Buffer.concat([Buffer.from('<'), fake, Buffer.from('>')])),
          ),
        ),
      ),
      expected: expected('COM_QUERY', FAKE_QUERY, 'RESULTSET', 'columns=2 rows=5'),
    },
    {
      client: my.command(COM_INIT_DB, 'shop'),
      server: answer([p.ok()]),
      expected: expected('COM_INIT_DB', 'shop', 'OK', 'affected_rows=0 last_insert_id=0'),
    },
    {
      // Executed again: the client has the metadata, MariaDB does not send it.
      client: executeLong(1, 3n),
      server: answer(resultSet(deprecateEof, ['name'], [p.binaryRow('three')], { metadata: 0 })),
      expected: expected('COM_STMT_EXECUTE', PREPARED, 'RESULTSET', 'columns=1 rows=1', { reqParams: ['3'] }),
    },
    { client: stmtClose(1), expected: expected('COM_STMT_CLOSE', '', '', '') },
    {
      // Two statements: the first result's end says more results follow.
      client: my.command(COM_QUERY, 'SELECT 1; SELECT 2'),
      server: answer([
        ...resultSet(deprecateEof, ['1'], [p.textRow('1')], {
          status: SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS,
        }),
        ...resultSet(deprecateEof, ['2'], [p.textRow('2')]),
      ]),
      expected: expected(
        'COM_QUERY',
        'SELECT 1; SELECT 2',
        'RESULTSET',
        'columns=1 rows=1; columns=1 rows=1',
      ),
    },
    {
      client: my.command(COM_QUERY, "SELECT 'last'"),
      server: answer(resultSet(deprecateEof, ['last'], [p.textRow('last')])),
      expected: expected('COM_QUERY', "SELECT 'last'", 'RESULTSET', 'columns=1 rows=1'),
    },
  ];
}

// ---- Feeding it to a tracker, with bytes lost where asked ----

type Side = 'client' | 'server';

/** Bytes [from, to) of one side's stream after the handshake are never captured. */
interface Cut {
  side: Side;
  from: number;
  to: number;
}

interface PlayOptions {
  deprecateEof?: boolean;
  role?: Role;
  /** The connection predates capture: no handshake, parsing starts out of sync. */
  preexisting?: boolean;
  cuts?: Cut[];
  /** Server answers written in syscalls of at most this many bytes. */
  serverChunk?: number;
  /** Each client packet read with two syscalls, header then payload, as mariadbd does. */
  headerFirst?: boolean;
}

interface Timing {
  startNs: number;
  endNs: number;
}

class Wire {
  readonly records: MysqlRecord[] = [];
  readonly tracker: ConnectionTracker;
  private readonly feed: ConnectionFeed;
  private readonly offset: Record<Side, number> = { client: 0, server: 0 };

  constructor(
    private readonly role: Role,
    preexisting: boolean,
    private readonly cuts: Cut[] = [],
  ) {
    this.tracker = new ConnectionTracker({
      processName: () => 'mariadbd',
      onHttp: () => undefined,
      onConnStats: () => undefined,
      sessions: { mysql: mysqlSessionFactory((r) => this.records.push(r)) },
    });
    this.tracker.handleEvent({
      kind: 'open',
      connKey: '1:9:1',
      tgid: 1,
      fd: 9,
      tsNs: 1,
      role,
      family: 4,
      localAddr: '127.0.0.1',
      localPort: 3306,
      remoteAddr: '127.0.0.1',
      remotePort: 50000,
      netns: 1,
      preexisting,
      comm: 'mariadbd',
    });
    this.feed = new ConnectionFeed(this.tracker, {
      connKey: '1:9:1',
      tgid: 1,
      fd: 9,
      protocol: 'mysql',
      role,
    });
  }

  get counters() {
    return this.tracker.counters;
  }

  /** One syscall; the parts of it inside a cut are sent as uncaptured (a gap of the same length). */
  write(side: Side, bytes: Buffer, tsNs: number, counted = true): void {
    const start = this.offset[side];
    let at = 0;
    while (at < bytes.length) {
      const here = start + at;
      const cut = counted
        ? this.cuts.find((c) => c.side === side && c.from <= here && here < c.to)
        : undefined;
      const next = counted
        ? Math.min(
            bytes.length,
            ...this.cuts.filter((c) => c.side === side && c.from > here).map((c) => c.from - start),
          )
        : bytes.length;
      const end = cut !== undefined ? Math.min(bytes.length, cut.to - start) : next;
      this.event(side, cut !== undefined ? Buffer.alloc(0) : bytes.subarray(at, end), end - at, tsNs);
      at = end;
    }
    if (counted) this.offset[side] += bytes.length;
  }

  /** `length` bytes of one side never captured. */
  lose(side: Side, length: number, tsNs: number): void {
    this.event(side, Buffer.alloc(0), length, tsNs);
  }

  end(): void {
    this.tracker.endAll(1e15);
  }

  private event(side: Side, data: Buffer, size: number, tsNs: number): void {
    // On a server, client bytes come in; on a client, they go out.
    const direction: Direction = (side === 'client') === (this.role === 'server') ? 'ingress' : 'egress';
    this.feed.send(direction, data, size, tsNs);
  }
}

/** A connection seen from its start, past the handshake (whose bytes are never cut). */
function connected(role: Role = 'server', deprecateEof = false, cuts: Cut[] = []): Wire {
  const w = new Wire(role, false, cuts);
  w.write('server', my.greeting(), 10, false);
  w.write('client', my.handshakeResponse('app', 'secret-auth-data', deprecateEof), 11, false);
  w.write('server', my.ok(2), 12, false);
  return w;
}

/** Each exchange starts 1000 ns after the previous one; its answer's syscalls 10 ns after the command, 1 ns apart. */
function play(exchanges: Exchange[], options: PlayOptions = {}): { wire: Wire; timings: Timing[] } {
  const deprecateEof = options.deprecateEof ?? false;
  const role = options.role ?? 'server';
  const wire = options.preexisting
    ? new Wire(role, true, options.cuts)
    : connected(role, deprecateEof, options.cuts);
  const timings = exchanges.map((exchange, i) => {
    const startNs = 1000 * (i + 1);
    let endNs = startNs;
    if (options.headerFirst) {
      for (const [k, packet] of splitPackets(exchange.client).entries()) {
        wire.write('client', packet.subarray(0, 4), startNs + 2 * k);
        wire.write('client', packet.subarray(4), (endNs = startNs + 2 * k + 1));
      }
    } else {
      wire.write('client', exchange.client, startNs);
    }
    const server = exchange.server;
    if (server !== undefined) {
      const chunk = options.serverChunk ?? server.length;
      for (let at = 0, k = 0; at < server.length; at += chunk, k++) {
        wire.write('server', server.subarray(at, at + chunk), (endNs = startNs + 10 + k));
      }
    }
    return { startNs, endNs };
  });
  wire.end();
  return { wire, timings };
}

function splitPackets(bytes: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const end = at + 4 + bytes.readUIntLE(at, 3);
    packets.push(bytes.subarray(at, end));
    at = end;
  }
  return packets;
}

/** Where each exchange's bytes lie in the two streams. */
function ranges(exchanges: Exchange[]): { client: [number, number]; server: [number, number] }[] {
  let client = 0;
  let server = 0;
  return exchanges.map((e) => ({
    client: [client, (client += e.client.length)] as [number, number],
    server: [server, (server += e.server?.length ?? 0)] as [number, number],
  }));
}

const fields = (r: MysqlRecord): Expected => ({
  reqCmd: r.reqCmd,
  req: r.req,
  reqParams: r.reqParams,
  respStatus: r.respStatus,
  resp: r.resp,
  error: r.error,
});

const exact = (r: MysqlRecord, e: Expected, t: Timing, label: string) => {
  assert.deepEqual(fields(r), e, label);
  assert.deepEqual([r.timeNs, r.latencyNs], [t.endNs, t.endNs - t.startNs], `${label}: timing`);
};

/**
 * Checks the records of a conversation that lost `cuts`: an exchange none of whose bytes were lost is recorded
 * exactly (fields, time and latency); one that lost bytes is recorded exactly too, or with its row count as a lower
 * bound when the middle of its rows went, or with its text cut short — or not at all, and then counted as unpaired.
 * Nothing else is recorded. Returns how many exchanges were not recorded.
 */
function checkRecords(
  exchanges: Exchange[],
  wire: Wire,
  timings: Timing[],
  cuts: Cut[],
  label: string,
): number {
  const where = ranges(exchanges);
  const touched = (i: number, side: Side) =>
    cuts.some((c) => c.side === side && c.from < where[i]![side][1] && c.to > where[i]![side][0]);
  const records = [...wire.records];
  let missing = 0;
  // Bytes of the preparation were lost: an execution may lack its text, or have it cut.
  let prepareLost = false;
  for (const [i, exchange] of exchanges.entries()) {
    const e = { ...exchange.expected };
    const lost = touched(i, 'client') || touched(i, 'server');
    const what = `${label}: exchange ${i} (${e.reqCmd} ${e.req.slice(0, 30)})`;
    // A record is told by when its answer ended: whatever it says must then be this exchange.
    const r = records[0];
    if (r === undefined || r.timeNs !== timings[i]!.endNs) {
      const next = JSON.stringify(r && fields(r));
      assert.ok(lost, `${what} lost none of its bytes but was not recorded; next record ${next}`);
      if (e.reqCmd === 'COM_STMT_PREPARE') prepareLost = true;
      missing++;
      continue;
    }
    records.shift();
    // An execution of a statement whose prepare-OK was not seen has neither text nor parameters; one whose text
    // was cut short by lost bytes has that text.
    if (e.reqCmd === 'COM_STMT_EXECUTE' && prepareLost && r.req === '')
      Object.assign(e, { req: '', reqParams: [] });
    if (e.reqCmd === 'COM_STMT_EXECUTE' && prepareLost && isPrefix(r.req, e.req)) e.req = r.req;
    if (e.reqCmd === 'COM_STMT_PREPARE' && lost) prepareLost = true;
    if (!lost) {
      exact(r, e, timings[i]!, what);
      continue;
    }
    assert.equal(r.reqCmd, e.reqCmd, what);
    assert.ok(r.req === e.req || (touched(i, 'client') && isPrefix(r.req, e.req)), `${what}: ${r.req}`);
    // Bytes of it were lost: whatever is said must be true.
    if (r.resp.includes('rows>=')) {
      assert.ok(isCutShort(r.resp, e.resp), `${what}: ${r.resp}`);
      assert.equal(r.respStatus, e.respStatus, what);
    } else if (r.error !== e.error) {
      assert.ok(touched(i, 'server') && isPrefix(r.error, e.error), `${what}: error ${r.error}`);
      assert.deepEqual([r.respStatus, r.resp], [e.respStatus, e.resp], what);
    } else {
      assert.deepEqual([r.respStatus, r.resp], [e.respStatus, e.resp], what);
    }
    // Parameters are decoded up to lost bytes of the execution.
    const params = touched(i, 'client') ? e.reqParams.slice(0, r.reqParams.length) : e.reqParams;
    assert.deepEqual(r.reqParams, params, what);
    assert.deepEqual(
      [r.timeNs, r.latencyNs],
      [timings[i]!.endNs, timings[i]!.endNs - timings[i]!.startNs],
      what,
    );
  }
  assert.deepEqual(records.map(fields), [], `${label}: records that belong to no exchange`);
  return missing;
}

/**
 * The results of an answer whose middle was lost: each as it is, or, for the one the loss fell in, with its rows
 * as a lower bound; results after that one may not have been seen.
 */
function isCutShort(resp: string, whole: string): boolean {
  const all = whole.split('; ');
  const parts = resp.split('; ');
  return (
    parts.length <= all.length &&
    parts.every((part, i) => {
      const cut = /^columns=(\d+) rows>=(\d+)$/.exec(part);
      const real = /^columns=(\d+) rows=(\d+)$/.exec(all[i]!);
      return (
        part === all[i] || (cut !== null && real !== null && cut[1] === real[1] && +cut[2]! <= +real[2]!)
      );
    })
  );
}

/** Text kept up to a hole in the capture, marked as such. */
const isPrefix = (kept: string, whole: string) => kept.endsWith('…') && whole.startsWith(kept.slice(0, -1));

describe('MySQL resynchronisation after lost bytes', () => {
  for (const deprecateEof of [false, true]) {
    const mode = deprecateEof ? 'CLIENT_DEPRECATE_EOF' : 'EOF packets';

    it(`records the whole conversation exactly when nothing is lost (${mode})`, () => {
      const exchanges = conversation(deprecateEof);
      for (const options of [{}, { headerFirst: true }, { serverChunk: 3 }]) {
        const { wire, timings } = play(exchanges, { deprecateEof, ...options });
        assert.equal(wire.records.length, exchanges.length);
        for (const [i, r] of wire.records.entries())
          exact(r, exchanges[i]!.expected, timings[i]!, `exchange ${i}`);
        const c = wire.counters;
        assert.deepEqual([c.resyncs, c.parseErrors, c.unpairedRequests, c.unpairedResponses], [0, 0, 0, 0]);
      }
    });

    it(`server bytes lost at any position and length: later commands keep their own answers (${mode})`, () => {
      const exchanges = conversation(deprecateEof);
      const total = ranges(exchanges).at(-1)!.server[1];
      let runs = 0;
      let partial = 0;
      for (let from = 0; from < total; from++) {
        // Short losses (inside a header, a row, a field) from every byte; long ones from every other byte.
        for (const length of from % 2 === 0 ? [1, 2, 4, 5, 9, 40, 300] : [1, 2, 4, 5, 9]) {
          const cuts: Cut[] = [{ side: 'server', from, to: Math.min(total, from + length) }];
          const label = `${mode}, server bytes ${from}+${length}`;
          const { wire, timings } = play(exchanges, { deprecateEof, cuts });
          const missing = checkRecords(exchanges, wire, timings, cuts, label);
          partial += wire.records.filter((r) => r.resp.includes('rows>=')).length;
          const c = wire.counters;
          // Each command whose answer was lost is counted; no answer is left over.
          assert.deepEqual([c.unpairedRequests, c.unpairedResponses], [missing, 0], label);
          if (missing > 0) assert.ok(c.resyncs > 0, label);
          runs++;
        }
      }
      assert.ok(runs > 4000);
      assert.ok(partial > 0, 'some answers cut in their rows end with their own EOF');
    });

    it(`client bytes lost at any position and length: answers of lost commands go to nobody (${mode})`, () => {
      const exchanges = conversation(deprecateEof);
      const total = ranges(exchanges).at(-1)!.client[1];
      for (const headerFirst of [false, true]) {
        for (let from = 0; from < total; from++) {
          for (const length of [1, 4, 5, 20, 70, 200]) {
            const cuts: Cut[] = [{ side: 'client', from, to: Math.min(total, from + length) }];
            const label = `${mode}, client bytes ${from}+${length}${headerFirst ? ', header first' : ''}`;
            const { wire, timings } = play(exchanges, { deprecateEof, cuts, headerFirst });
            const missing = checkRecords(exchanges, wire, timings, cuts, label);
            const c = wire.counters;
            const lostClose = wire.records.some((r) => r.reqCmd === 'COM_STMT_CLOSE') ? 0 : 1;
            assert.deepEqual([c.unpairedRequests, c.unpairedResponses], [0, missing - lostClose], label);
            assert.equal(c.parseErrors, 0, label);
          }
        }
      }
    });
  }

  it('server bytes lost together with the next command: neither answer is given to a later command', () => {
    const exchanges = conversation(false);
    const where = ranges(exchanges);
    for (let i = 0; i + 2 < exchanges.length; i++) {
      // A dropped batch: the middle of one answer, the next command and the start of its answer.
      const a = where[i]!;
      const b = where[i + 1]!;
      if (a.server[1] === a.server[0] || b.server[1] === b.server[0]) continue;
      const cuts: Cut[] = [
        { side: 'server', from: a.server[0] + 5, to: b.server[0] + 6 },
        { side: 'client', from: b.client[0], to: b.client[1] },
      ];
      const { wire, timings } = play(exchanges, { cuts });
      const missing = checkRecords(exchanges, wire, timings, cuts, `exchange ${i}`);
      assert.equal(missing, 2, `exchange ${i}`);
      // The lost command's answer may end visibly: then it is an answer without its command.
      assert.equal(wire.counters.unpairedRequests, 1, `exchange ${i}`);
      assert.ok(wire.counters.unpairedResponses <= 1, `exchange ${i}`);
    }
  });

  it('finds a header split over two chunks after a gap, whatever the chunk size', () => {
    const exchanges = conversation(true);
    const where = ranges(exchanges);
    for (const serverChunk of [1, 2, 3, 5, 7, 16]) {
      for (const [i, r] of where.entries()) {
        if (i === 0 || r.server[0] === r.server[1]) continue;
        // The gap ends two bytes before an answer: its header comes in pieces, and must be found.
        const cuts: Cut[] = [{ side: 'server', from: Math.max(0, r.server[0] - 30), to: r.server[0] - 2 }];
        const { wire, timings } = play(exchanges, { deprecateEof: true, cuts, serverChunk });
        checkRecords(exchanges, wire, timings, cuts, `chunks of ${serverChunk}, before answer ${i}`);
      }
    }
  });

  it('a row whose value looks like an answer start is not taken for one', () => {
    const exchanges = conversation(false);
    const fakes = exchanges.findIndex((e) => e.expected.req === FAKE_QUERY);
    const answerBytes = exchanges[fakes]!.server!;
    const start = ranges(exchanges)[fakes]!.server[0];
    for (const fake of Object.values(LOOKALIKES)) {
      const inside = answerBytes.indexOf(fake);
      assert.ok(inside > 0);
      // Lost: everything of the answer up to the lookalike, so the scan begins right on it.
      const cuts: Cut[] = [{ side: 'server', from: start + 2, to: start + inside }];
      const { wire, timings } = play(exchanges, { cuts });
      // Every other exchange is recorded exactly (checked there); this one is not, as its start was lost.
      const missing = checkRecords(exchanges, wire, timings, cuts, fake.toString('hex'));
      const c = wire.counters;
      assert.deepEqual([missing, c.unpairedRequests, c.unpairedResponses], [1, 1, 0]);
    }
  });

  it('an answer whose middle is lost ends at its own EOF, with the rows seen as a lower bound', () => {
    const rows = Array.from({ length: 300 }, (_, i) => p.textRow(`row-${i}`));
    for (const deprecateEof of [false, true]) {
      const exchanges: Exchange[] = [
        {
          client: my.command(COM_QUERY, 'SELECT v FROM big'),
          server: answer(resultSet(deprecateEof, ['v'], rows)),
          expected: expected('COM_QUERY', 'SELECT v FROM big', 'RESULTSET', 'columns=1 rows=300'),
        },
        ...conversation(deprecateEof).slice(0, 2),
      ];
      // Rows 11 to 199 lost; more than 256 packets, so sequence ids wrap and a row has sequence id 1 again.
      const head = answer(resultSet(deprecateEof, ['v'], rows)).indexOf(
        my.packet(deprecateEof ? 13 : 14, rows[10]!),
      );
      assert.ok(head > 0);
      const cuts: Cut[] = [{ side: 'server', from: head + 3, to: head + 189 * 12 }];
      const { wire, timings } = play(exchanges, { deprecateEof, cuts, serverChunk: 4096 });
      checkRecords(exchanges, wire, timings, cuts, String(deprecateEof));
      assert.deepEqual(
        wire.records.map((r) => [r.req, r.resp, r.latencyNs]),
        [
          ['SELECT v FROM big', 'columns=1 rows>=10', timings[0]!.endNs - 1000],
          ['SELECT id, name FROM items', 'columns=2 rows=3', 10],
          ["INSERT INTO items VALUES (4, 'four')", 'affected_rows=1 last_insert_id=4', 10],
        ],
      );
      const c = wire.counters;
      assert.deepEqual([c.resyncs, c.parseErrors, c.unpairedRequests, c.unpairedResponses], [1, 0, 0, 0]);
    }
  });

  it('an answer lost whole: the next command is not given it, nor its own answer taken for the lost one', () => {
    const exchanges = conversation(false);
    const w = connected();
    w.write('client', exchanges[0]!.client, 100);
    w.lose('server', exchanges[0]!.server!.length, 110);
    w.write('client', exchanges[1]!.client, 200);
    w.write('client', exchanges[4]!.client, 300); // a ping sent before the INSERT's answer was seen
    w.write('server', exchanges[1]!.server!, 210);
    w.write('server', exchanges[4]!.server!, 310);
    w.end();
    assert.deepEqual(
      w.records.map((r) => [r.reqCmd, r.req, r.resp, r.latencyNs]),
      [
        ['COM_QUERY', "INSERT INTO items VALUES (4, 'four')", 'affected_rows=1 last_insert_id=4', 10],
        ['COM_PING', '', 'affected_rows=0 last_insert_id=0', 10],
      ],
    );
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.unpairedRequests, c.unpairedResponses, c.parseErrors], [1, 1, 0, 0]);
  });

  it('a lost command: its answer, read after the next command, is not taken for that command’s', () => {
    const exchanges = conversation(false);
    const w = connected();
    w.lose('client', exchanges[1]!.client.length, 100);
    w.write('client', exchanges[7]!.client, 200);
    // The two directions arrive independently: the lost INSERT's answer is read after the next command.
    w.write('server', exchanges[1]!.server!, 110);
    w.write('server', exchanges[7]!.server!, 210);
    w.end();
    assert.deepEqual(
      w.records.map((r) => [r.reqCmd, r.req, r.resp, r.latencyNs]),
      [['COM_INIT_DB', 'shop', 'affected_rows=0 last_insert_id=0', 10]],
    );
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.unpairedRequests, c.unpairedResponses, c.parseErrors], [1, 0, 1, 0]);
  });

  it('an answer lost with the next command: the lost command’s answer is not given to the one before', () => {
    const [select, insert, , , ping] = conversation(false);
    const w = connected();
    w.write('client', select!.client, 100);
    // One dropped batch: the SELECT's answer and the INSERT that followed it.
    w.lose('server', select!.server!.length, 110);
    w.lose('client', insert!.client.length, 200);
    w.write('server', insert!.server!, 210);
    w.write('client', ping!.client, 300);
    w.write('server', ping!.server!, 310);
    w.end();
    assert.deepEqual(
      w.records.map((r) => [r.reqCmd, r.resp, r.latencyNs]),
      [['COM_PING', 'affected_rows=0 last_insert_id=0', 10]],
    );
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.unpairedRequests, c.unpairedResponses, c.parseErrors], [2, 1, 1, 0]);
  });

  it('commands written together are known to be pipelined before any answer shows it', () => {
    const [select, insert, , , ping] = conversation(false);
    const w = connected('client');
    w.write('client', Buffer.concat([select!.client, insert!.client, ping!.client]), 100);
    // The SELECT's answer is lost: the INSERT's answer is found, and may not go to the newest command (the ping).
    w.lose('server', select!.server!.length, 110);
    w.write('server', insert!.server!, 111);
    w.write('server', ping!.server!, 112);
    w.end();
    assert.deepEqual(w.records, []);
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.unpairedRequests, c.unpairedResponses], [1, 3, 2]);
  });

  it('a pipelining client: after a lost answer, whose answer follows cannot be told, and none is guessed', () => {
    const exchanges = conversation(false);
    const [select, insert, , , ping] = exchanges;
    const w = connected('client');
    // In sync, two commands in one write are answered in order.
    w.write('client', Buffer.concat([select!.client, insert!.client]), 100);
    w.write('server', Buffer.concat([select!.server!, insert!.server!]), 110);
    // Then three in one write, and the first answer is lost.
    w.write('client', Buffer.concat([select!.client, insert!.client, ping!.client]), 200);
    w.lose('server', select!.server!.length, 210);
    w.write('server', insert!.server!, 211);
    w.write('server', ping!.server!, 212);
    // Once no answer can be owed any more, pairing goes on.
    w.write('client', ping!.client, 300);
    w.write('server', ping!.server!, 310);
    w.end();
    assert.deepEqual(
      w.records.map((r) => [r.req, r.resp, r.latencyNs]),
      [
        ['SELECT id, name FROM items', 'columns=2 rows=3', 10],
        ["INSERT INTO items VALUES (4, 'four')", 'affected_rows=1 last_insert_id=4', 10],
        ['', 'affected_rows=0 last_insert_id=0', 10],
      ],
    );
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.unpairedRequests, c.unpairedResponses], [1, 3, 2]);
    assert.equal(w.records[2]?.reqCmd, 'COM_PING');
  });

  it('a connection first seen mid-stream, read header first, with EOF deprecation found from the answers', () => {
    for (const deprecateEof of [false, true]) {
      const exchanges = conversation(deprecateEof);
      // The first exchange is the tail of one in progress when capture started.
      const { wire, timings } = play(exchanges, {
        deprecateEof,
        preexisting: true,
        headerFirst: true,
        cuts: [{ side: 'client', from: 0, to: 1 }],
      });
      const records = wire.records;
      assert.deepEqual(
        records.map(fields),
        exchanges.slice(1).map((e) => e.expected),
        String(deprecateEof),
      );
      for (const [i, r] of records.entries())
        exact(r, exchanges[i + 1]!.expected, timings[i + 1]!, `${i + 1}`);
      assert.deepEqual([wire.counters.parseErrors, wire.counters.unpairedRequests], [0, 0]);
    }
  });

  it('a 16 MiB command: a gap inside it is skipped, one before it is found again on the command', () => {
    const text = `SELECT '${'z'.repeat(0xffffff + 100)}'`;
    const payload = Buffer.concat([Buffer.from([COM_QUERY]), Buffer.from(text)]);
    const big = Buffer.concat([
      my.packet(0, payload.subarray(0, 0xffffff)),
      my.packet(1, payload.subarray(0xffffff)),
    ]);
    const exchanges: Exchange[] = [
      ...conversation(false).slice(0, 2),
      {
        client: big,
        server: answer([p.ok()], 2),
        expected: expected('COM_QUERY', text, 'OK', 'affected_rows=0 last_insert_id=0'),
      },
      conversation(false)[4]!,
    ];
    const where = ranges(exchanges);
    const bigAt = where[2]!.client[0];
    for (const cuts of [
      // Inside the first physical packet: skipped in place, the text kept up to the hole.
      [{ side: 'client', from: bigAt + 1000, to: bigAt + 5000 }],
      // The INSERT and the big command's header lost: the scan finds its second part, then the ping.
      [{ side: 'client', from: where[1]!.client[0] + 3, to: bigAt + 2 }],
      // The big command's start lost with the INSERT's answer.
      [
        { side: 'client', from: bigAt, to: bigAt + 10 },
        { side: 'server', from: where[1]!.server[0], to: where[1]!.server[1] },
      ],
    ] as Cut[][]) {
      const { wire, timings } = play(exchanges, { cuts });
      const label = JSON.stringify(cuts);
      checkRecords(exchanges, wire, timings, cuts, label);
      assert.equal(wire.records.at(-1)?.reqCmd, 'COM_PING', label);
    }
    const { wire } = play(exchanges, { cuts: [{ side: 'client', from: bigAt + 1000, to: bigAt + 5000 }] });
    assert.equal(wire.records[2]?.req, `${text.slice(0, 1000 - 5)}…`);
    assert.equal(wire.counters.resyncs, 0);
  });

  it('in sync, a header whose sequence id does not follow is counted as garbage and found past', () => {
    const exchanges = conversation(false);
    const w = connected();
    w.write('client', exchanges[0]!.client, 100);
    // The answer's third packet comes with sequence id 9 instead of 3.
    const bad = Buffer.from(exchanges[0]!.server!);
    const third = 4 + 2 + (4 + p.columnDef('id').length);
    assert.equal(bad[third + 3], 3);
    bad[third + 3] = 9;
    w.write('server', bad, 110);
    w.write('client', exchanges[1]!.client, 200);
    w.write('server', exchanges[1]!.server!, 210);
    w.end();
    // The scan finds the answer's own EOF: nothing of its rows was seen.
    assert.deepEqual(
      w.records.map((r) => [r.req, r.resp]),
      [
        ['SELECT id, name FROM items', 'columns=2 rows>=0'],
        ["INSERT INTO items VALUES (4, 'four')", 'affected_rows=1 last_insert_id=4'],
      ],
    );
    const c = w.counters;
    assert.deepEqual([c.resyncs, c.parseErrors, c.unpairedRequests, c.unpairedResponses], [1, 1, 0, 0]);
  });

  it('MariaDB progress reports, LOCAL INFILE and COM_CHANGE_USER stay inside their exchanges', () => {
    const progress = Buffer.concat([Buffer.from([0xff]), u16(0xffff), Buffer.from([1, 1, 2, 0, 0, 0, 0])]);
    const exchanges: Exchange[] = [
      {
        client: my.command(COM_QUERY, 'ALTER TABLE items ADD COLUMN c INT'),
        server: answer([progress, progress, p.ok()]),
        expected: expected(
          'COM_QUERY',
          'ALTER TABLE items ADD COLUMN c INT',
          'OK',
          'affected_rows=0 last_insert_id=0',
        ),
      },
      {
        client: my.packet(0, Buffer.concat([Buffer.from([0x11]), Buffer.from('other\0secret-auth-data\0')])),
        server: answer([p.ok()]),
        expected: expected('COM_CHANGE_USER', '', 'OK', ''),
      },
      conversation(false)[4]!,
    ];
    const { wire, timings } = play(exchanges);
    for (const [i, r] of wire.records.entries()) exact(r, exchanges[i]!.expected, timings[i]!, `${i}`);
    assert.equal(wire.records.length, 3);
    assert.ok(!JSON.stringify(wire.records).includes('secret'));

    // LOCAL INFILE: the server asks for a file, the client sends it and an empty packet, then the server's OK.
    const w = connected();
    w.write('client', my.command(COM_QUERY, "LOAD DATA LOCAL INFILE 'f.csv' INTO TABLE items"), 100);
    w.write('server', my.packet(1, Buffer.from('\xfbf.csv', 'latin1')), 110);
    w.write(
      'client',
      Buffer.concat([my.packet(2, Buffer.from('5,five\n')), my.packet(3, Buffer.alloc(0))]),
      120,
    );
    w.write('server', my.packet(4, p.ok(1)), 130);
    w.write('client', exchanges[2]!.client, 200);
    w.write('server', exchanges[2]!.server!, 210);
    w.end();
    assert.deepEqual(
      w.records.map((r) => [r.reqCmd, r.resp, r.latencyNs]),
      [
        ['COM_QUERY', 'affected_rows=1 last_insert_id=0', 30],
        ['COM_PING', 'affected_rows=0 last_insert_id=0', 10],
      ],
    );
    assert.deepEqual([w.counters.parseErrors, w.counters.resyncs], [0, 0]);
  });
});
