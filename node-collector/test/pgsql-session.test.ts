import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Direction, Role } from '../src/capture/events.js';
import { ConnectionFeed } from './support/connection-feed.js';
import { ConnectionTracker } from '../src/conn/connection-tracker.js';
import {
  newPgsqlCounters,
  pgsqlSessionFactory,
  type PgsqlCounters,
  type PgsqlOptions,
} from '../src/protocols/pgsql/pgsql-session.js';
import type { PgsqlRecord } from '../src/store/records.js';

// ---- Protocol bytes, built by hand after the PostgreSQL documentation ("Message Formats") ----

const int8 = (n: number) => Buffer.from([n]);
function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}
function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const NUL = Buffer.from([0]);

/** A typed message: tag, int32 length counting itself, body. */
function typed(tag: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(tag, 'latin1'), int32(body.length + 4), body]);
}

/** A startup-phase message: int32 length counting itself, body (which starts with the code). */
function untyped(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}

type Param = string | Buffer | null;

function values(params: readonly Param[]): Buffer[] {
  return params.flatMap((p) => {
    if (p === null) return [int32(-1)];
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    return [int32(bytes.length), bytes];
  });
}

const fe = {
  startup: (user: string, database: string) =>
    untyped(int32(196608), cstr('user'), cstr(user), cstr('database'), cstr(database), NUL),
  sslRequest: () => untyped(int32(80877103)),
  gssencRequest: () => untyped(int32(80877104)),
  cancelRequest: (pid: number, key: number) => untyped(int32(80877102), int32(pid), int32(key)),
  saslInitialResponse: (mechanism: string, data: string) =>
    typed('p', cstr(mechanism), int32(data.length), Buffer.from(data)),
  saslResponse: (data: string) => typed('p', Buffer.from(data)),
  query: (sql: string) => typed('Q', cstr(sql)),
  parse: (name: string, sql: string, types: number[] = []) =>
    typed('P', cstr(name), cstr(sql), int16(types.length), ...types.map(int32)),
  bind: (portal: string, statement: string, params: readonly Param[], formats: number[] = []) =>
    typed(
      'B',
      cstr(portal),
      cstr(statement),
      int16(formats.length),
      ...formats.map(int16),
      int16(params.length),
      ...values(params),
      int16(0),
    ),
  describe: (kind: 'S' | 'P', name: string) => typed('D', Buffer.from(kind), cstr(name)),
  execute: (portal: string, maxRows = 0) => typed('E', cstr(portal), int32(maxRows)),
  close: (kind: 'S' | 'P', name: string) => typed('C', Buffer.from(kind), cstr(name)),
  sync: () => typed('S'),
  flush: () => typed('H'),
  terminate: () => typed('X'),
  functionCall: (oid: number, args: readonly Param[], formats: number[] = []) =>
    typed(
      'F',
      int32(oid),
      int16(formats.length),
      ...formats.map(int16),
      int16(args.length),
      ...values(args),
      int16(0),
    ),
  copyData: (data: string) => typed('d', Buffer.from(data)),
  copyDone: () => typed('c'),
  copyFail: (message: string) => typed('f', cstr(message)),
};

const be = {
  authOk: () => typed('R', int32(0)),
  authSasl: (...mechanisms: string[]) => typed('R', int32(10), ...mechanisms.map(cstr), NUL),
  authSaslContinue: (data: string) => typed('R', int32(11), Buffer.from(data)),
  authSaslFinal: (data: string) => typed('R', int32(12), Buffer.from(data)),
  parameterStatus: (name: string, value: string) => typed('S', cstr(name), cstr(value)),
  backendKeyData: (pid: number, key: number) => typed('K', int32(pid), int32(key)),
  ready: (status = 'I') => typed('Z', Buffer.from(status)),
  rowDescription: (...names: string[]) =>
    typed(
      'T',
      int16(names.length),
      ...names.flatMap((n) => [cstr(n), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]),
    ),
  dataRow: (...cells: (string | null)[]) => typed('D', int16(cells.length), ...values(cells)),
  commandComplete: (tag: string) => typed('C', cstr(tag)),
  error: (code: string, message: string, severity = 'ERROR') =>
    typed(
      'E',
      Buffer.from('S'),
      cstr(severity === 'ERROR' ? 'FEHLER' : severity),
      Buffer.from('V'),
      cstr(severity),
      Buffer.from('C'),
      cstr(code),
      Buffer.from('M'),
      cstr(message),
      Buffer.from('D'),
      cstr('Key (id)=(1) already exists.'),
      NUL,
    ),
  notice: (message: string) =>
    typed('N', Buffer.from('S'), cstr('NOTICE'), Buffer.from('M'), cstr(message), NUL),
  parseComplete: () => typed('1'),
  bindComplete: () => typed('2'),
  closeComplete: () => typed('3'),
  parameterDescription: (...oids: number[]) => typed('t', int16(oids.length), ...oids.map(int32)),
  portalSuspended: () => typed('s'),
  emptyQuery: () => typed('I'),
  copyInResponse: (columns: number) =>
    typed('G', int8(0), int16(columns), ...Array.from({ length: columns }, () => int16(0))),
  copyOutResponse: (columns: number) =>
    typed('H', int8(0), int16(columns), ...Array.from({ length: columns }, () => int16(0))),
  copyData: (data: string) => typed('d', Buffer.from(data)),
  copyDone: () => typed('c'),
  functionCallResponse: (value: string) => typed('V', int32(value.length), Buffer.from(value)),
};

// ---- A connection fed through a real ConnectionTracker ----

const KEY = '4242:9:1';

interface ConversationOptions {
  /** Role on the events; 'unknown' keeps the frontend on ingress, as for a server. */
  role?: Role;
  /** The connection predates capture. */
  preexisting?: boolean;
  pgsql?: PgsqlOptions;
}

type Side = 'frontend' | 'backend';

class Conversation {
  readonly records: PgsqlRecord[] = [];
  readonly pgsql: PgsqlCounters = newPgsqlCounters();
  readonly tracker: ConnectionTracker;
  private readonly feed: ConnectionFeed;
  private readonly role: Role;

  constructor(options: ConversationOptions = {}) {
    this.role = options.role ?? 'server';
    this.tracker = new ConnectionTracker({
      processName: () => 'postgres',
      onHttp: () => assert.fail('no HTTP here'),
      onConnStats: () => undefined,
      sessions: {
        pgsql: pgsqlSessionFactory((record) => this.records.push(record), {
          ...options.pgsql,
          counters: this.pgsql,
        }),
      },
    });
    this.tracker.handleEvent({
      kind: 'open',
      connKey: KEY,
      tgid: 4242,
      fd: 9,
      tsNs: 1,
      role: this.role,
      family: 4,
      localAddr: '10.0.0.5',
      localPort: 5432,
      remoteAddr: '10.0.0.9',
      remotePort: 40000,
      netns: 4026531840,
      preexisting: options.preexisting ?? false,
      comm: 'postgres',
    });
    this.feed = new ConnectionFeed(this.tracker, {
      connKey: KEY,
      tgid: 4242,
      fd: 9,
      protocol: 'pgsql',
      role: this.role,
    });
  }

  get counters() {
    return this.tracker.counters;
  }

  /** Bytes the frontend wrote, in one chunk, or in pieces cut at `cuts` (offsets into `bytes`). */
  frontend(bytes: Buffer, tsNs: number, cuts: number[] = []): void {
    this.send('frontend', bytes, tsNs, cuts);
  }

  backend(bytes: Buffer, tsNs: number, cuts: number[] = []): void {
    this.send('backend', bytes, tsNs, cuts);
  }

  send(side: Side, bytes: Buffer, tsNs: number, cuts: number[] = []): void {
    let from = 0;
    for (const cut of [...cuts.filter((at) => at < bytes.length), bytes.length]) {
      if (cut > from) this.event(this.directionOf(side), bytes.subarray(from, cut), tsNs, cut - from);
      from = Math.max(from, cut);
    }
  }

  /** One syscall of `bytes.length` bytes of which only `captured` were copied: the rest is a gap. */
  partial(side: Side, bytes: Buffer, captured: number, tsNs: number): void {
    this.event(this.directionOf(side), bytes.subarray(0, captured), tsNs, bytes.length);
  }

  /** Bytes whose event never arrives: the stream waits for them until skipHoles gives up. */
  lose(side: Side, bytes: Buffer): void {
    this.feed.skip(this.directionOf(side), bytes.length);
  }

  /** Gives up on missing ranges older than the tracker's hole wait: what waits behind them follows a gap. */
  skipHoles(nowNs: number): void {
    this.tracker.expireIdle(nowNs);
  }

  close(tsNs: number): void {
    this.tracker.handleEvent({
      kind: 'close',
      connKey: KEY,
      tgid: 4242,
      fd: 9,
      tsNs,
      bytesSent: this.feed.position('egress'),
      bytesRecv: this.feed.position('ingress'),
      protocol: 'pgsql',
      role: this.role,
    });
  }

  private directionOf(side: Side): Direction {
    const frontend: Direction = this.role === 'client' ? 'egress' : 'ingress';
    if (side === 'frontend') return frontend;
    return frontend === 'ingress' ? 'egress' : 'ingress';
  }

  private event(direction: Direction, data: Buffer, tsNs: number, size: number): void {
    this.feed.send(direction, data, size, tsNs);
  }
}

/** The fields that depend on parsing and pairing. */
function summary(r: PgsqlRecord) {
  return [r.reqCmd, r.req, r.reqParams, r.resp, r.error];
}

function timing(r: PgsqlRecord) {
  return [r.timeNs, r.latencyNs];
}

const SECRET = 'hunter2-secret';

/** The writes of a whole conversation, in order, each at its own time. */
function fullConversation(): { side: Side; bytes: Buffer; tsNs: number }[] {
  return [
    { side: 'frontend', bytes: fe.sslRequest(), tsNs: 10 },
    { side: 'backend', bytes: Buffer.from('N'), tsNs: 11 },
    { side: 'frontend', bytes: fe.startup('app', 'shop'), tsNs: 12 },
    { side: 'backend', bytes: be.authSasl('SCRAM-SHA-256'), tsNs: 13 },
    { side: 'frontend', bytes: fe.saslInitialResponse('SCRAM-SHA-256', `n,,n=app,r=${SECRET}`), tsNs: 14 },
    { side: 'backend', bytes: be.authSaslContinue(`r=${SECRET}xyz,s=salt,i=4096`), tsNs: 15 },
    { side: 'frontend', bytes: fe.saslResponse(`c=biws,r=${SECRET}xyz,p=${SECRET}`), tsNs: 16 },
    {
      side: 'backend',
      bytes: Buffer.concat([
        be.authSaslFinal(`v=${SECRET}`),
        be.authOk(),
        be.parameterStatus('server_version', '16.4'),
        be.backendKeyData(777, 123456),
        be.ready(),
      ]),
      tsNs: 17,
    },
    { side: 'frontend', bytes: fe.query("INSERT INTO t VALUES (1, 'a'); SELECT * FROM t"), tsNs: 100 },
    {
      side: 'backend',
      bytes: Buffer.concat([
        be.commandComplete('INSERT 0 1'),
        be.rowDescription('id', 'name'),
        be.dataRow('1', 'a'),
        be.dataRow('2', null),
        be.dataRow('3', 'c'),
        be.commandComplete('SELECT 3'),
        be.ready(),
      ]),
      tsNs: 150,
    },
    { side: 'frontend', bytes: fe.query("INSERT INTO t VALUES (1, 'dup')"), tsNs: 200 },
    {
      side: 'backend',
      bytes: Buffer.concat([
        be.notice('a notice first'),
        be.error('23505', 'duplicate key value violates unique constraint "t_pkey"'),
        be.ready(),
      ]),
      tsNs: 230,
    },
    {
      side: 'frontend',
      bytes: Buffer.concat([
        fe.parse('', 'SELECT name FROM t WHERE id = $1', [23]),
        fe.bind('', '', ['2']),
        fe.describe('P', ''),
        fe.execute(''),
        fe.sync(),
      ]),
      tsNs: 300,
    },
    {
      side: 'backend',
      bytes: Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.rowDescription('name'),
        be.dataRow(null),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
      tsNs: 340,
    },
    { side: 'frontend', bytes: fe.terminate(), tsNs: 400 },
  ];
}

const FULL_RECORDS = [
  ['Query', "INSERT INTO t VALUES (1, 'a'); SELECT * FROM t", [], 'INSERT 0 1; SELECT 3', ''],
  [
    'Query',
    "INSERT INTO t VALUES (1, 'dup')",
    [],
    '',
    'ERROR 23505: duplicate key value violates unique constraint "t_pkey"',
  ],
  ['Execute', 'SELECT name FROM t WHERE id = $1', ['2'], 'SELECT 1', ''],
  ['Terminate', '', [], '', ''],
];
const FULL_TIMING = [
  [150, 50],
  [230, 30],
  [340, 40],
  [400, 0],
];

function play(c: Conversation, cutsOf: (bytes: Buffer) => number[] = () => []): void {
  for (const write of fullConversation()) c.send(write.side, write.bytes, write.tsNs, cutsOf(write.bytes));
  c.close(500);
}

function assertCleanPairing(c: Conversation): void {
  const k = c.counters;
  assert.deepEqual([k.parseErrors, k.resyncs, k.unpairedRequests, k.unpairedResponses], [0, 0, 0, 0]);
}

function assertClean(c: Conversation): void {
  const k = c.counters;
  assert.deepEqual(
    [k.parseErrors, k.resyncs, k.unpairedRequests, k.unpairedResponses, k.internalErrors, k.emitErrors],
    [0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(c.pgsql, newPgsqlCounters());
}

describe('PostgreSQL session', () => {
  it('records a whole conversation: SSL refused, SCRAM, multi-statement Query, error, extended, Terminate', () => {
    const c = new Conversation();
    play(c);
    assert.deepEqual(c.records.map(summary), FULL_RECORDS);
    assert.deepEqual(c.records.map(timing), FULL_TIMING);
    const first = c.records[0]!;
    assert.deepEqual(
      [first.pid, first.process, first.localPort, first.remoteAddr, first.role, first.encrypted],
      [4242, 'postgres', 5432, '10.0.0.9', 'server', false],
    );
    assert.equal(first.reqNormalized, 'INSERT INTO t VALUES (?); SELECT * FROM t');
    assert.equal(c.records[2]!.reqNormalized, 'SELECT name FROM t WHERE id = $1');
    assert.equal(c.counters.sqlRecords, 4);
    assertClean(c);
    // Authentication is never kept: not in any field of any record.
    assert.ok(!JSON.stringify(c.records).includes(SECRET));
  });

  it('gives the same records whatever byte boundary every write is cut at', () => {
    const longest = Math.max(...fullConversation().map((w) => w.bytes.length));
    for (let cut = 1; cut < longest; cut++) {
      const c = new Conversation();
      play(c, () => [cut]);
      assert.deepEqual(c.records.map(summary), FULL_RECORDS, `cut at ${cut}`);
      assert.deepEqual(c.records.map(timing), FULL_TIMING, `cut at ${cut}`);
      assertClean(c);
    }
  });

  it('gives the same records when every byte is a chunk of its own', () => {
    const c = new Conversation();
    play(c, (bytes) => Array.from({ length: bytes.length }, (_, i) => i));
    assert.deepEqual(c.records.map(summary), FULL_RECORDS);
    assert.deepEqual(c.records.map(timing), FULL_TIMING);
    assertClean(c);
  });

  it('takes the frontend from egress for a client, and records the client role', () => {
    const c = new Conversation({ role: 'client' });
    play(c);
    assert.deepEqual(c.records.map(summary), FULL_RECORDS);
    assert.deepEqual(
      c.records.map((r) => r.role),
      ['client', 'client', 'client', 'client'],
    );
    assertClean(c);
  });

  it('recognises which direction carries the frontend when the role is unknown', () => {
    const c = new Conversation({ role: 'unknown' });
    play(c);
    assert.deepEqual(c.records.map(summary), FULL_RECORDS);
    assert.deepEqual(
      c.records.map((r) => r.role),
      ['server', 'server', 'server', 'server'],
    );
    assertClean(c);

    // Mid-stream, the backend speaks first: its CommandComplete + ReadyForQuery can only be a backend's.
    const mid = new Conversation({ role: 'unknown', preexisting: true });
    mid.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 5);
    mid.frontend(fe.query('SELECT 2'), 10);
    mid.backend(Buffer.concat([be.dataRow('2'), be.commandComplete('SELECT 1'), be.ready()]), 20);
    assert.deepEqual(mid.records.map(summary), [['Query', 'SELECT 2', [], 'SELECT 1', '']]);
    assert.equal(mid.records[0]!.role, 'server');
    // The answer to a request sent before capture (CommandComplete, ReadyForQuery) had nothing to pair with.
    assert.deepEqual([mid.counters.unpairedResponses, mid.counters.parseErrors], [2, 0]);
  });

  it('keeps statement texts by name and decodes bound parameters per format code', () => {
    const c = new Conversation();
    const statement = 'SELECT * FROM items WHERE id = $1 AND tag = $2 AND blob = $3';
    c.frontend(
      Buffer.concat([fe.parse('items_q', statement, [23, 25, 17]), fe.describe('S', 'items_q'), fe.sync()]),
      10,
    );
    c.backend(
      Buffer.concat([
        be.parseComplete(),
        be.parameterDescription(23, 25, 17),
        be.rowDescription('id'),
        be.ready(),
      ]),
      11,
    );
    // One format code per parameter: int4 in binary, text, bytea in binary.
    c.frontend(
      Buffer.concat([
        fe.bind('', 'items_q', [int32(42), 'blue', Buffer.from([0xde, 0xad])], [1, 0, 1]),
        fe.execute(''),
        fe.sync(),
      ]),
      20,
    );
    c.backend(
      Buffer.concat([be.bindComplete(), be.dataRow('42'), be.commandComplete('SELECT 1'), be.ready()]),
      25,
    );
    // One format code for all parameters; NULL has no value to format.
    c.frontend(
      Buffer.concat([
        fe.bind('', 'items_q', [int32(7), null, Buffer.from('x')], [1]),
        fe.execute(''),
        fe.sync(),
      ]),
      30,
    );
    c.backend(Buffer.concat([be.bindComplete(), be.commandComplete('SELECT 0'), be.ready()]), 36);
    // The unnamed statement, replaced by the next Parse; no format codes: all text.
    c.frontend(Buffer.concat([fe.parse('', 'UPDATE items SET tag = $1'), fe.bind('', '', ['red'])]), 40);
    c.frontend(
      Buffer.concat([
        fe.execute(''),
        fe.parse('', 'DELETE FROM items WHERE id = $1'),
        fe.bind('', '', ['9']),
        fe.execute(''),
        fe.sync(),
      ]),
      43,
    );
    c.backend(
      Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.commandComplete('UPDATE 3'),
        be.parseComplete(),
        be.bindComplete(),
        be.commandComplete('DELETE 1'),
        be.ready(),
      ]),
      48,
    );
    // Closed by name: a later Bind of that name runs a statement this session no longer knows.
    c.frontend(Buffer.concat([fe.close('S', 'items_q'), fe.sync()]), 50);
    c.backend(Buffer.concat([be.closeComplete(), be.ready()]), 51);
    c.frontend(Buffer.concat([fe.bind('', 'items_q', ['1']), fe.execute(''), fe.sync()]), 60);
    c.backend(
      Buffer.concat([be.error('26000', 'prepared statement "items_q" does not exist'), be.ready()]),
      61,
    );

    assert.deepEqual(c.records.map(summary), [
      ['Execute', statement, ['\\x0000002a', 'blue', '\\xdead'], 'SELECT 1', ''],
      ['Execute', statement, ['\\x00000007', 'NULL', '\\x78'], 'SELECT 0', ''],
      ['Execute', 'UPDATE items SET tag = $1', ['red'], 'UPDATE 3', ''],
      ['Execute', 'DELETE FROM items WHERE id = $1', ['9'], 'DELETE 1', ''],
      ['Execute', '', ['1'], '', 'ERROR 26000: prepared statement "items_q" does not exist'],
    ]);
    // From the first message leading to the Execute (its Bind, or the Parse before) to the completion.
    assert.deepEqual(c.records.map(timing), [
      [25, 5],
      [36, 6],
      [48, 8],
      [48, 5],
      [61, 1],
    ]);
    assertClean(c);
  });

  it('normalises the unnamed statement from the text of its latest Parse, whether or not it changed', () => {
    const c = new Conversation();
    const texts = [
      'SELECT * FROM t WHERE a = 1 AND b = $1',
      'SELECT * FROM t WHERE a = 1 AND b = $1',
      'DELETE FROM t',
    ];
    texts.forEach((sql, i) => {
      c.frontend(
        Buffer.concat([fe.parse('', sql), fe.bind('', '', ['7']), fe.execute(''), fe.sync()]),
        10 * i,
      );
      c.backend(
        Buffer.concat([be.parseComplete(), be.bindComplete(), be.commandComplete('DELETE 0'), be.ready()]),
        10 * i + 5,
      );
    });
    assert.deepEqual(
      c.records.map((r) => [r.req, r.reqNormalized]),
      [
        [texts[0], 'SELECT * FROM t WHERE a = ? AND b = $1'],
        [texts[1], 'SELECT * FROM t WHERE a = ? AND b = $1'],
        [texts[2], 'DELETE FROM t'],
      ],
    );
    assertClean(c);
  });

  it('pairs a pipelined batch in order; after an error the rest of the batch is recorded as aborted', () => {
    const c = new Conversation();
    const insert = 'INSERT INTO t VALUES ($1)';
    c.frontend(fe.parse('ins', insert), 5);
    c.frontend(fe.sync(), 6);
    c.backend(Buffer.concat([be.parseComplete(), be.ready()]), 7);
    c.frontend(
      Buffer.concat([
        fe.bind('', 'ins', ['1']),
        fe.execute(''),
        fe.bind('', 'ins', ['1']),
        fe.execute(''),
        fe.bind('', 'ins', ['3']),
        fe.execute(''),
        fe.sync(),
      ]),
      10,
    );
    c.backend(
      Buffer.concat([
        be.bindComplete(),
        be.commandComplete('INSERT 0 1'),
        be.bindComplete(),
        be.error('23505', 'duplicate key value violates unique constraint "t_pkey"'),
      ]),
      20,
    );
    c.backend(be.ready('E'), 30);
    // A Parse that fails: the Execute it prepared owns the error; the one after it was skipped.
    c.frontend(
      Buffer.concat([
        fe.parse('', 'SELEC oops'),
        fe.bind('', '', []),
        fe.execute(''),
        fe.bind('', 'ins', ['4']),
        fe.execute(''),
        fe.sync(),
      ]),
      40,
    );
    c.backend(Buffer.concat([be.error('42601', 'syntax error at or near "SELEC"'), be.ready()]), 45);
    const dup = 'ERROR 23505: duplicate key value violates unique constraint "t_pkey"';
    const syntax = 'ERROR 42601: syntax error at or near "SELEC"';
    assert.deepEqual(c.records.map(summary), [
      ['Execute', insert, ['1'], 'INSERT 0 1', ''],
      ['Execute', insert, ['1'], '', dup],
      ['Execute', insert, ['3'], 'PIPELINE ABORTED', dup],
      // The statement that failed to parse is what the Execute ran.
      ['Execute', 'SELEC oops', [], '', syntax],
      ['Execute', insert, ['4'], 'PIPELINE ABORTED', syntax],
    ]);
    assert.deepEqual(c.records.map(timing), [
      [20, 10],
      [20, 10],
      [30, 20],
      [45, 5],
      [45, 5],
    ]);
    assertClean(c);
  });

  it('records each Execute of a portal run with a row limit', () => {
    const c = new Conversation();
    const sql = 'SELECT n FROM generate_series(1, 3) n';
    c.frontend(
      Buffer.concat([fe.parse('', sql), fe.bind('cur', '', []), fe.execute('cur', 2), fe.flush()]),
      10,
    );
    c.backend(
      Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.dataRow('1'),
        be.dataRow('2'),
        be.portalSuspended(),
      ]),
      12,
    );
    c.frontend(Buffer.concat([fe.execute('cur', 2), fe.sync()]), 20);
    c.backend(Buffer.concat([be.dataRow('3'), be.commandComplete('SELECT 1'), be.ready()]), 23);
    assert.deepEqual(c.records.map(summary), [
      ['Execute', sql, [], 'PortalSuspended (2 rows)', ''],
      ['Execute', sql, [], 'SELECT 1', ''],
    ]);
    assert.deepEqual(c.records.map(timing), [
      [12, 2],
      [23, 3],
    ]);
    assertClean(c);
  });

  it('records COPY in and out with their data counted, not stored, and a failed COPY', () => {
    const c = new Conversation();
    c.frontend(fe.query('COPY t FROM STDIN'), 10);
    c.backend(be.copyInResponse(2), 11);
    c.frontend(
      Buffer.concat([fe.copyData('1\ta\n'), fe.copyData('2\tb\n'), fe.copyData('3\tc\n'), fe.copyDone()]),
      12,
    );
    c.backend(Buffer.concat([be.commandComplete('COPY 3'), be.ready()]), 15);
    c.frontend(fe.query('COPY t TO STDOUT'), 20);
    c.backend(
      Buffer.concat([
        be.copyOutResponse(2),
        be.copyData('1\ta\n'),
        be.copyData('2\tb\n'),
        be.copyDone(),
        be.commandComplete('COPY 2'),
        be.ready(),
      ]),
      22,
    );
    c.frontend(fe.query('COPY t FROM STDIN'), 30);
    c.backend(be.copyInResponse(2), 31);
    c.frontend(Buffer.concat([fe.copyData('9\tz\n'), fe.copyFail('client gave up')]), 32);
    c.backend(Buffer.concat([be.error('57014', 'COPY from stdin failed: client gave up'), be.ready()]), 34);
    // COPY through the extended protocol.
    c.frontend(
      Buffer.concat([fe.parse('', 'COPY t FROM STDIN'), fe.bind('', '', []), fe.execute(''), fe.sync()]),
      40,
    );
    c.backend(Buffer.concat([be.parseComplete(), be.bindComplete(), be.copyInResponse(2)]), 41);
    c.frontend(Buffer.concat([fe.copyData('5\te\n'), fe.copyDone()]), 42);
    c.backend(Buffer.concat([be.commandComplete('COPY 1'), be.ready()]), 44);
    assert.deepEqual(c.records.map(summary), [
      ['CopyIn', 'COPY t FROM STDIN', [], 'COPY 3 (copy data: 3 messages, 12 bytes)', ''],
      ['CopyOut', 'COPY t TO STDOUT', [], 'COPY 2 (copy data: 2 messages, 8 bytes)', ''],
      [
        'CopyIn',
        'COPY t FROM STDIN',
        [],
        '(copy data: 1 messages, 4 bytes)',
        'ERROR 57014: COPY from stdin failed: client gave up',
      ],
      ['CopyIn', 'COPY t FROM STDIN', [], 'COPY 1 (copy data: 1 messages, 4 bytes)', ''],
    ]);
    assert.deepEqual(c.records.map(timing), [
      [15, 5],
      [22, 2],
      [34, 4],
      [44, 4],
    ]);
    assertClean(c);
  });

  it('records an empty query, a FunctionCall and a CancelRequest (without its key)', () => {
    const c = new Conversation();
    c.frontend(fe.query(''), 10);
    c.backend(Buffer.concat([be.emptyQuery(), be.ready()]), 11);
    c.frontend(fe.functionCall(1598, [int32(16384)], [1]), 20);
    c.backend(Buffer.concat([be.functionCallResponse('ok'), be.ready()]), 22);
    assert.deepEqual(c.records.map(summary), [
      ['Query', '', [], '', ''],
      ['FunctionCall', 'function 1598', ['\\x00004000'], '', ''],
    ]);
    assert.deepEqual(c.records.map(timing), [
      [11, 1],
      [22, 2],
    ]);
    assertClean(c);

    const cancel = new Conversation();
    cancel.frontend(fe.cancelRequest(777, 987654321), 5);
    cancel.close(6);
    assert.deepEqual(cancel.records.map(summary), [['CancelRequest', '', [], '', '']]);
    assert.ok(!JSON.stringify(cancel.records).includes('987654321'));
    assertClean(cancel);
  });

  it('streams a 100 MB result set through in bounded memory, rows counted and never kept', () => {
    const c = new Conversation({ role: 'client' });
    const sql = "SELECT repeat('x', 1000) FROM generate_series(1, 102400)";
    c.frontend(fe.query(sql), 10);
    // 64 rows of exactly 1024 bytes make a 64 KiB block; the stream repeats it, read 60000 bytes at a time so
    // that reads and rows do not line up.
    const row = be.dataRow('x'.repeat(1024 - 11));
    assert.equal(row.length, 1024);
    const block = Buffer.concat(Array.from({ length: 64 }, () => row));
    const twice = Buffer.concat([block, block]);
    const total = 1600 * block.length;
    const before = process.memoryUsage().arrayBuffers;
    let sent = 0;
    for (let ts = 20; sent < total; ts++) {
      const size = Math.min(60_000, total - sent);
      const offset = sent % block.length;
      const chunk = twice.subarray(offset, offset + size);
      // Large reads are captured up to 16 KiB: the rest of each is a gap, mostly across rows.
      if (ts % 2 === 0) c.partial('backend', chunk, 16_384, ts);
      else c.backend(chunk, ts);
      sent += size;
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    c.backend(Buffer.concat([be.commandComplete('SELECT 102400'), be.ready()]), 5000);
    assert.ok(grown < 4 * 1024 * 1024, `grew ${grown} bytes`);
    assert.deepEqual(c.records.map(summary), [['Query', sql, [], 'SELECT 102400', '']]);
    assert.deepEqual(c.records.map(timing), [[5000, 4990]]);
    const k = c.counters;
    assert.equal(k.parseErrors, 0);
    assert.ok(k.resyncs > 0, 'gaps across rows made the reader scan');
    assert.equal(k.unpairedRequests + k.unpairedResponses, 0);
    assert.equal(c.pgsql.pgsqlCutMessages, 0);
  });

  it('keeps only a prefix of a huge message and skips the rest without buffering it', () => {
    const c = new Conversation({ pgsql: { maxMessageBytes: 64 * 1024, maxTextBytes: 32 } });
    const huge = `INSERT INTO t VALUES ${"('y'),".repeat(2_000_000)}('z')`;
    const message = fe.query(huge);
    const before = process.memoryUsage().arrayBuffers;
    for (let at = 0; at < message.length; at += 65_536) c.frontend(message.subarray(at, at + 65_536), 10);
    const grown = process.memoryUsage().arrayBuffers - before;
    c.backend(Buffer.concat([be.commandComplete('INSERT 0 2000001'), be.ready()]), 20);
    assert.ok(grown < 1024 * 1024, `grew ${grown} bytes`);
    assert.deepEqual(c.records.map(summary), [
      ['Query', `${huge.slice(0, 32)}…`, [], 'INSERT 0 2000001', ''],
    ]);
    assert.deepEqual([c.pgsql.pgsqlCutMessages, c.pgsql.pgsqlTruncatedFields], [1, 1]);
    // One 20 MB DataRow streams by too, never kept, so never counted as cut.
    c.frontend(fe.query('SELECT big FROM blobs'), 30);
    const bigRow = be.dataRow('b'.repeat(20 * 1024 * 1024));
    for (let at = 0; at < bigRow.length; at += 65_536) c.backend(bigRow.subarray(at, at + 65_536), 31);
    c.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 32);
    assert.deepEqual(summary(c.records[1]!), ['Query', 'SELECT big FROM blobs', [], 'SELECT 1', '']);
    assert.equal(c.pgsql.pgsqlCutMessages, 1);
  });

  it('skips the uncaptured rest of a message and of a row without losing its place', () => {
    const c = new Conversation();
    const long = `SELECT '${'q'.repeat(100)}'`;
    c.partial('frontend', fe.query(long), 40, 10);
    c.backend(be.rowDescription('q'), 11);
    c.partial('backend', be.dataRow('r'.repeat(500)), 100, 12);
    c.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 13);
    // 40 captured bytes = tag, length and 35 bytes of text.
    assert.deepEqual(c.records.map(summary), [['Query', `${long.slice(0, 35)}…`, [], 'SELECT 1', '']]);
    assert.deepEqual([c.counters.gaps, c.counters.resyncs, c.counters.parseErrors], [2, 0, 0]);
    assert.deepEqual([c.pgsql.pgsqlCutMessages, c.pgsql.pgsqlTruncatedFields], [1, 1]);

    // A hole inside a kept body: what follows it does not line up, so only the part before it is kept.
    const holed = fe.query("SELECT 'aaaa', 'bbbb', 'cccc'");
    c.frontend(holed.subarray(0, 17), 20);
    c.partial('frontend', holed.subarray(17, 25), 2, 21); // "'," captured, " 'bbbb" lost
    c.frontend(holed.subarray(25), 22);
    c.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 23);
    assert.deepEqual(summary(c.records[1]!), ['Query', "SELECT 'aaaa',…", [], 'SELECT 1', '']);
    assert.deepEqual(timing(c.records[1]!), [23, 3]);
    assert.deepEqual([c.counters.gaps, c.counters.resyncs], [3, 0]);
  });

  it('keeps pairing right when a ReadyForQuery is lost, and when a request is lost', () => {
    const c = new Conversation();
    c.frontend(fe.query('SELECT 1'), 10);
    c.backend(be.rowDescription('a'), 11);
    // The rest of that answer (row, CommandComplete, ReadyForQuery) is never captured.
    c.lose('backend', Buffer.concat([be.dataRow('1'), be.commandComplete('SELECT 1'), be.ready()]));
    c.frontend(fe.query('SELECT 2'), 20);
    c.backend(
      Buffer.concat([be.rowDescription('b'), be.dataRow('2'), be.commandComplete('SELECT 1'), be.ready()]),
      21,
    );
    c.skipHoles(21 + 2e9);
    assert.deepEqual(c.records.map(summary), [['Query', 'SELECT 2', [], 'SELECT 1', '']]);
    assert.deepEqual(c.records.map(timing), [[21, 1]]);
    assert.equal(c.counters.unpairedRequests, 1);

    // A request is lost. Its answer, which started before the next request seen, is read after that request
    // (the two directions arrive independently), and must not be taken for its answer.
    c.lose('frontend', fe.query('SELECT 3'));
    c.frontend(fe.query('SELECT 4'), 3e9 + 10);
    c.skipHoles(3e9 + 10 + 2e9);
    c.backend(Buffer.concat([be.commandComplete('SELECT 3'), be.ready()]), 3e9);
    c.backend(Buffer.concat([be.commandComplete('SELECT 4'), be.ready()]), 5e9 + 20);
    assert.deepEqual(c.records.map(summary), [
      ['Query', 'SELECT 2', [], 'SELECT 1', ''],
      ['Query', 'SELECT 4', [], 'SELECT 4', ''],
    ]);
    assert.deepEqual(timing(c.records[1]!), [5e9 + 20, 2e9 + 10]);
    assert.deepEqual([c.counters.unpairedResponses, c.counters.parseErrors], [1, 0]);
  });

  it('counts garbage as a parse error and resynchronises on the next message, in both directions', () => {
    const c = new Conversation();
    c.frontend(fe.query('SELECT 1'), 10);
    c.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 11);
    c.frontend(Buffer.concat([Buffer.from('\x01\x02garbage!'), fe.query('SELECT 2')]), 20);
    c.backend(Buffer.concat([Buffer.from('%%%%%'), be.commandComplete('SELECT 2'), be.ready()]), 21);
    c.frontend(fe.query('SELECT 3'), 30);
    c.backend(Buffer.concat([be.commandComplete('SELECT 3'), be.ready()]), 31);
    assert.deepEqual(
      c.records.map((r) => [r.req, r.resp]),
      [
        ['SELECT 1', 'SELECT 1'],
        ['SELECT 2', 'SELECT 2'],
        ['SELECT 3', 'SELECT 3'],
      ],
    );
    assert.deepEqual([c.counters.parseErrors, c.counters.resyncs], [2, 2]);
    // The bad header's first byte went with the parse error; the scan skipped the rest of the garbage.
    assert.equal(c.pgsql.pgsqlSkippedBytes, 10 - 1 + (5 - 1));
  });

  it('never throws on random bytes, gaps and positions, whatever the role', () => {
    let state = 7;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const pieces = [
      fe.query('SELECT 1'),
      fe.sync(),
      fe.bind('', 'x', ['1']),
      fe.execute(''),
      be.ready(),
      be.dataRow('1'),
      be.commandComplete('SELECT 1'),
      be.error('XX000', 'x'),
      fe.startup('a', 'b'),
      fe.sslRequest(),
    ];
    for (let round = 0; round < 30; round++) {
      const c = new Conversation({ role: (['client', 'server', 'unknown'] as const)[round % 3] });
      for (let i = 0; i < 300; i++) {
        const bytes =
          next() < 0.5
            ? pieces[Math.floor(next() * pieces.length)]!
            : Buffer.from(Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
        const side: Side = next() < 0.5 ? 'frontend' : 'backend';
        if (next() < 0.1) c.partial(side, bytes, Math.floor(bytes.length / 2), i);
        else c.send(side, bytes, i, next() < 0.2 ? [Math.floor(next() * bytes.length)] : []);
      }
      c.close(1000);
      assert.equal(c.counters.internalErrors, 0, `round ${round}`);
      assert.equal(c.counters.emitErrors, 0, `round ${round}`);
      assert.equal(c.tracker.connectionCount, 0);
    }
  });

  it('picks up a connection mid-stream, including one first seen at its startup packet', () => {
    const c = new Conversation({ preexisting: true });
    c.frontend(Buffer.concat([Buffer.from('tail of an earlier query\0'), fe.query('SELECT now()')]), 10);
    c.backend(
      Buffer.concat([
        Buffer.from('w of an earlier row'),
        be.dataRow('t'),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
      12,
    );
    assert.deepEqual(c.records.map(summary), [['Query', 'SELECT now()', [], 'SELECT 1', '']]);
    assert.deepEqual(timing(c.records[0]!), [12, 2]);
    assert.deepEqual([c.counters.parseErrors, c.pgsql.pgsqlSkippedBytes], [0, 25 + 19]);

    // The postmaster accepted it; the backend process it forked reads the startup packet.
    const forked = new Conversation({ preexisting: true });
    forked.frontend(fe.startup('app', 'shop'), 10);
    forked.backend(Buffer.concat([be.authOk(), be.backendKeyData(1, 2), be.ready()]), 11);
    forked.frontend(fe.query('SELECT 1'), 20);
    forked.backend(Buffer.concat([be.commandComplete('SELECT 1'), be.ready()]), 21);
    assert.deepEqual(forked.records.map(summary), [['Query', 'SELECT 1', [], 'SELECT 1', '']]);
    assertClean(forked);
  });

  it('stops reading a connection that switches to TLS or GSS encryption', () => {
    const tls = new Conversation();
    tls.frontend(fe.sslRequest(), 10);
    tls.backend(Buffer.from('S'), 11);
    tls.frontend(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), 12);
    tls.backend(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00]), 13);
    tls.close(20);
    assert.deepEqual(tls.records, []);
    assert.deepEqual([tls.counters.parseErrors, tls.pgsql.pgsqlEncryptedConns], [0, 1]);

    const gss = new Conversation();
    gss.frontend(fe.gssencRequest(), 10);
    gss.backend(Buffer.from('G'), 11);
    gss.frontend(Buffer.from([0, 0, 0, 40, 1, 2, 3]), 12);
    assert.deepEqual([gss.counters.parseErrors, gss.pgsql.pgsqlEncryptedConns], [0, 1]);

    // Direct TLS (PostgreSQL 17): the handshake comes first.
    const direct = new Conversation();
    direct.frontend(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10]), 10);
    assert.deepEqual([direct.counters.parseErrors, direct.pgsql.pgsqlEncryptedConns], [0, 1]);
  });

  it('records a request its FATAL error answered when the connection closes without ReadyForQuery', () => {
    const c = new Conversation();
    c.frontend(fe.query('SELECT pg_sleep(100)'), 10);
    c.backend(be.error('57P01', 'terminating connection due to administrator command', 'FATAL'), 15);
    c.frontend(fe.query('SELECT 2'), 16);
    c.close(20);
    assert.deepEqual(c.records.map(summary), [
      [
        'Query',
        'SELECT pg_sleep(100)',
        [],
        '',
        'FATAL 57P01: terminating connection due to administrator command',
      ],
    ]);
    assert.deepEqual(c.records.map(timing), [[15, 5]]);
    assert.equal(c.counters.unpairedRequests, 1);
  });

  it('bounds statements, parameters and pending requests, counting what it turns away', () => {
    const c = new Conversation({ pgsql: { maxStatements: 2, maxParams: 2, maxParamBytes: 4 } });
    c.frontend(
      Buffer.concat([
        fe.parse('a', 'SELECT 1'),
        fe.parse('b', 'SELECT 2'),
        fe.parse('c', 'SELECT 3'),
        fe.sync(),
      ]),
      10,
    );
    c.backend(Buffer.concat([be.parseComplete(), be.parseComplete(), be.parseComplete(), be.ready()]), 11);
    c.frontend(
      Buffer.concat([
        fe.bind('', 'a', ['123456', 'x', 'y']),
        fe.execute(''),
        fe.bind('', 'c', []),
        fe.execute(''),
        fe.sync(),
      ]),
      20,
    );
    c.backend(
      Buffer.concat([
        be.bindComplete(),
        be.commandComplete('SELECT 1'),
        be.bindComplete(),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
      21,
    );
    assert.deepEqual(c.records.map(summary), [
      ['Execute', '', ['1234…', 'x'], 'SELECT 1', ''],
      ['Execute', 'SELECT 3', [], 'SELECT 1', ''],
    ]);
    assert.equal(c.counters.evictedStatements, 1);
    assert.equal(c.pgsql.pgsqlTruncatedFields, 2);
    assertCleanPairing(c);

    // Four requests wait at most: a fifth is turned away, and its answer pairs with nothing.
    const q = new Conversation({ pgsql: { maxPendingRequests: 4 } });
    const numbers = [10, 11, 12, 13, 14];
    q.frontend(Buffer.concat(numbers.map((n) => fe.query(`SELECT ${n}`))), 30);
    assert.equal(q.counters.unpairedRequests, 1);
    q.backend(Buffer.concat(numbers.flatMap((n) => [be.commandComplete(`SELECT ${n}`), be.ready()])), 31);
    assert.deepEqual(
      q.records.map((r) => [r.req, r.resp]),
      [
        ['SELECT 10', 'SELECT 10'],
        ['SELECT 11', 'SELECT 11'],
        ['SELECT 12', 'SELECT 12'],
        ['SELECT 13', 'SELECT 13'],
      ],
    );
    // Its CommandComplete and its ReadyForQuery.
    assert.equal(q.counters.unpairedResponses, 2);
  });

  it("counts into the tracker's counters when they carry the PostgreSQL ones", () => {
    const counters = newPgsqlCounters();
    const factory = pgsqlSessionFactory(() => undefined);
    const tracker = new ConnectionTracker({
      processName: () => 'psql',
      onHttp: () => undefined,
      onConnStats: () => undefined,
      sessions: { pgsql: factory },
    });
    Object.assign(tracker.counters, counters);
    const garbage = Buffer.from('\x00\x00\x99\x99junk!');
    tracker.handleEvent({
      kind: 'data',
      connKey: KEY,
      tgid: 1,
      fd: 3,
      tsNs: 5,
      direction: 'egress',
      pos: 0,
      size: garbage.length,
      data: garbage,
      protocol: 'pgsql',
      role: 'client',
    });
    // The bad startup header's first byte went with the parse error; the scan skipped the rest.
    assert.equal((tracker.counters as unknown as PgsqlCounters).pgsqlSkippedBytes, garbage.length - 1);
    assert.equal(tracker.counters.parseErrors, 1);
    assert.deepEqual(factory.counters, newPgsqlCounters());
  });
});
