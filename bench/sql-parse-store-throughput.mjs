/**
 * SQL parse + store throughput per core, from a recorded batch, without the kernel: the PostgreSQL and MySQL
 * counterpart of parse-store-throughput.mjs (HTTP), on the same harness (recorded-batch.mjs).
 *
 * Two recorded batches, one per protocol, each of CONNS server-side connections (64 active at a time, their events
 * interleaved) with STATEMENTS statements each, encoded in the kernel's wire format and cut into reader batches of
 * up to 256 KiB. Every connection is seen from its accept on, as the kernel reports it: the open record has role
 * server and no protocol yet, and every data and close record carries the protocol the kernel inferred from the
 * first bytes (the startup message, the server's greeting). The handshake is part of the recording because the
 * sessions need it: a MySQL session seen from the start takes every packet for the handshake until the server's
 * OK after authentication (PostgreSQL would do without its startup message, and gets one anyway, as pgbench sends).
 *
 * PostgreSQL, pgbench's TPC-B-like transaction (BEGIN, UPDATE accounts, SELECT abalance, UPDATE tellers, UPDATE
 * branches, INSERT history, END; scale 10):
 *   - three connections in four speak the extended protocol as `pgbench -M prepared` does: each statement is
 *     prepared on first use (Parse, Sync → ParseComplete, ReadyForQuery), then run as Bind (text parameters),
 *     Describe portal, Execute, Sync → BindComplete, RowDescription or NoData, DataRow, CommandComplete,
 *     ReadyForQuery;
 *   - the fourth sends each statement as a simple Query with its values inlined, as `pgbench -M simple` does;
 *   - one transaction in 50 fails at the accounts UPDATE (ErrorResponse 40001, serialization failure) and is rolled
 *     back with a simple Query.
 * MySQL, a sysbench-like read/write transaction, the client asking for CLIENT_DEPRECATE_EOF as current connectors do:
 *   - COM_QUERY BEGIN; two point SELECTs, UPDATE, DELETE and INSERT (4 parameters) as COM_STMT_EXECUTE against
 *     statements prepared on first use (COM_STMT_PREPARE, itself a statement), the parameter types bound on each
 *     statement's first execution only, as libmysqlclient does; a range SELECT as COM_QUERY (a 5-row text result
 *     set); COM_QUERY COMMIT;
 *   - point SELECTs answer a binary 1-row result set, the others an OK packet;
 *   - one transaction in 50 fails at the UPDATE (ERR 1213, deadlock) and is rolled back with COM_QUERY ROLLBACK;
 *   - one connection in two reads each command in two syscalls, its 4-byte header and then its payload, as some
 *     servers do (bpf/protocol_infer.h infers the protocol across the two for that reason).
 * A statement is one request the session makes a record of; connections end after their last statement without
 * Terminate or COM_QUIT, whose records would not be statements. Every run checks that each measurement stored
 * exactly one row per statement, with the texts of prepared statements and the errors where they belong, and
 * fails otherwise.
 *
 * Measured per protocol, as parse-store-throughput.mjs measures HTTP (see recorded-batch.mjs): decode; decode +
 * parse; pipeline decode + parse + EventStore; EventStore alone; DuckDB's appender alone on the same records; DuckDB alone copying them (no JavaScript per row),
 * schema and conversions. Per CPU-second of this process (user+sys, all threads), the median of REPS rounds.
 *
 * Usage: node bench/sql-parse-store-throughput.mjs [--conns 250] [--statements 60] [--reps 4]
 *   --conns is per protocol; --statements per connection.
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { parseArgs } from 'node:util';
import { fmt, header, noise } from './lib.mjs';
import {
  DIR,
  PROTOCOL,
  buildWireBatches,
  importCollector,
  measureRounds,
  parseStoreMeasurements,
  printRounds,
  seededRandom,
} from './recorded-batch.mjs';

const { ConnectionTracker } = await importCollector('conn/connection-tracker.js');
const { pgsqlSessionFactory } = await importCollector('protocols/pgsql/pgsql-session.js');
const { mysqlSessionFactory } = await importCollector('protocols/mysql/mysql-session.js');

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '250' },
    statements: { type: 'string', default: '60' },
    reps: { type: 'string', default: '4' },
  },
});
const CONNS = Number(values.conns);
const STATEMENTS = Number(values.statements);
const REPS = Math.max(1, Number(values.reps));
const ACTIVE = 64;
const BATCH_BYTES = 256 * 1024;
if (!(CONNS >= 1 && STATEMENTS >= 1)) throw new Error('--conns and --statements must be at least 1');

header(
  `SQL parse + store throughput: PostgreSQL and MySQL, ${CONNS} connections × ${STATEMENTS} statements each, ` +
    `wire batches of ≤ ${BATCH_BYTES >> 10} KiB`,
);

/** A buffer of `size` bytes filled by `write`: the integers of both protocols' headers. */
const bytes = (size, write) => {
  const b = Buffer.alloc(size);
  write(b);
  return b;
};
const ingress = (payload) => ({ direction: DIR.ingress, payload });
const egress = (payload) => ({ direction: DIR.egress, payload });
const digits = (rand, n) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
/** sysbench's CHAR columns: groups of 11 digits joined by '-'. */
const sysbenchChars = (rand, groups) => Array.from({ length: groups }, () => digits(rand, 11)).join('-');

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

const pg = {
  message(tag, ...parts) {
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(5);
    head.write(tag, 0, 'latin1');
    head.writeUInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  },
  cstr: (s) => Buffer.from(`${s}\0`, 'utf8'),
  int16: (n) => bytes(2, (b) => b.writeInt16BE(n)),
  int32: (n) => bytes(4, (b) => b.writeInt32BE(n)),
  text: (s) => Buffer.concat([pg.int32(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]),
  ready: (status) => pg.message('Z', Buffer.from(status, 'latin1')),
  commandComplete: (tag) => pg.message('C', pg.cstr(tag)),
};

const PG_PARAMETER_STATUS = [
  ['application_name', 'pgbench'],
  ['client_encoding', 'UTF8'],
  ['DateStyle', 'ISO, MDY'],
  ['default_transaction_read_only', 'off'],
  ['in_hot_standby', 'off'],
  ['integer_datetimes', 'on'],
  ['IntervalStyle', 'postgres'],
  ['is_superuser', 'off'],
  ['server_encoding', 'UTF8'],
  ['server_version', '15.8 (Debian 15.8-0+deb12u1)'],
  ['session_authorization', 'bench'],
  ['standard_conforming_strings', 'on'],
  ['TimeZone', 'Etc/UTC'],
];

function pgStartup(c) {
  const params = { user: 'bench', database: 'pgbench', application_name: 'pgbench', client_encoding: 'UTF8' };
  const body = Buffer.concat([
    pg.int32(196608),
    ...Object.entries(params).flat().map(pg.cstr),
    Buffer.from([0]),
  ]);
  const answer = [
    pg.message('R', pg.int32(0)), // AuthenticationOk: the password exchange before it is never looked at
    ...PG_PARAMETER_STATUS.map(([k, v]) => pg.message('S', pg.cstr(k), pg.cstr(v))),
    pg.message('K', pg.int32(50000 + c.id), pg.int32(0x5eed0000 + c.id)),
    pg.ready('I'),
  ];
  return [ingress(Buffer.concat([pg.int32(body.length + 4), body])), egress(Buffer.concat(answer))];
}

const ABALANCE = pg.message(
  'T',
  pg.int16(1),
  pg.cstr('abalance'),
  pg.int32(16398), // table oid
  pg.int16(3), // column number
  pg.int32(23), // int4
  pg.int16(4),
  pg.int32(-1),
  pg.int16(0),
);

/** pgbench's tpcb-like script: SQL with $n placeholders, the parameters' values, the CommandComplete tag. */
function pgTransaction(rand) {
  const aid = 1 + Math.floor(rand() * 1_000_000);
  const bid = 1 + Math.floor(rand() * 10);
  const tid = 1 + Math.floor(rand() * 100);
  const delta = Math.floor(rand() * 10_001) - 5_000;
  const abalance = String(Math.floor(rand() * 200_001) - 100_000);
  return [
    { name: 'P0_7', sql: 'BEGIN', params: [], tag: 'BEGIN', after: 'T' },
    {
      name: 'P0_8',
      sql: 'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
      params: [delta, aid],
      tag: 'UPDATE 1',
      mayFail: true,
    },
    {
      name: 'P0_9',
      sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
      params: [aid],
      tag: 'SELECT 1',
      row: abalance,
    },
    {
      name: 'P0_10',
      sql: 'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2',
      params: [delta, tid],
      tag: 'UPDATE 1',
    },
    {
      name: 'P0_11',
      sql: 'UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2',
      params: [delta, bid],
      tag: 'UPDATE 1',
    },
    {
      name: 'P0_12',
      sql: 'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)',
      params: [tid, bid, aid, delta],
      tag: 'INSERT 0 1',
    },
    { name: 'P0_13', sql: 'END', params: [], tag: 'COMMIT', after: 'I' },
  ];
}

const PG_SERIALIZATION_FAILURE = pg.message(
  'E',
  Buffer.from(
    'SERROR\0VERROR\0C40001\0Mcould not serialize access due to concurrent update\0' +
      'FnodeModifyTable.c\0L2856\0RExecUpdate\0\0',
    'latin1',
  ),
);

/** What a statement's success looks like after its Bind/Describe or Query: rows, the tag, ReadyForQuery. */
function pgResult(s, status, extended) {
  const parts = [];
  if (s.row !== undefined) parts.push(ABALANCE, pg.message('D', pg.int16(1), pg.text(s.row)));
  else if (extended) parts.push(pg.message('n')); // NoData answers the Describe
  parts.push(pg.commandComplete(s.tag), pg.ready(status));
  return parts;
}

function pgTurns(c, rand) {
  const simple = c.id % 4 === 3;
  const fails = rand() < 0.02;
  const turns = [];
  let status = 'I';
  for (const s of pgTransaction(rand)) {
    const failing = fails && s.mayFail === true;
    const before = status;
    if (s.after !== undefined) status = s.after;
    if (simple) {
      const text = s.sql.replace(/\$(\d+)/g, (_m, n) => String(s.params[Number(n) - 1]));
      const answer = failing ? [PG_SERIALIZATION_FAILURE, pg.ready('E')] : pgResult(s, status, false);
      const chunks = [ingress(pg.message('Q', pg.cstr(text))), egress(Buffer.concat(answer))];
      turns.push({ chunks, statement: true, sql: text, failed: failing });
    } else {
      if (!c.prepared.has(s.name)) {
        c.prepared.add(s.name);
        const parse = pg.message('P', pg.cstr(s.name), pg.cstr(s.sql), pg.int16(0));
        const answer = Buffer.concat([pg.message('1'), pg.ready(before)]);
        turns.push({ chunks: [ingress(Buffer.concat([parse, pg.message('S')])), egress(answer)] });
      }
      const request = Buffer.concat([
        pg.message(
          'B',
          pg.cstr(''),
          pg.cstr(s.name),
          pg.int16(0), // all parameters in text
          pg.int16(s.params.length),
          ...s.params.map((v) => pg.text(String(v))),
          pg.int16(1),
          pg.int16(0), // results in text
        ),
        pg.message('D', Buffer.from('P\0', 'latin1')),
        pg.message('E', pg.cstr(''), pg.int32(0)),
        pg.message('S'),
      ]);
      const answer = failing
        ? [pg.message('2'), pg.message('n'), PG_SERIALIZATION_FAILURE, pg.ready('E')]
        : [pg.message('2'), ...pgResult(s, status, true)];
      const chunks = [ingress(request), egress(Buffer.concat(answer))];
      turns.push({ chunks, statement: true, sql: s.sql, failed: failing });
    }
    if (failing) {
      // As pgbench does after a failed transaction: ROLLBACK as a simple Query.
      const answer = Buffer.concat([pg.commandComplete('ROLLBACK'), pg.ready('I')]);
      const chunks = [ingress(pg.message('Q', pg.cstr('ROLLBACK'))), egress(answer)];
      turns.push({ chunks, statement: true, sql: 'ROLLBACK' });
      break;
    }
  }
  return turns;
}

// ---------------------------------------------------------------------------------------------------------
// MySQL

const my = {
  /** A packet's header: the payload's length (3 bytes, little-endian) and the sequence id. */
  header: (length, seq) => bytes(4, (b) => (b.writeUIntLE(length, 0, 3), (b[3] = seq))),
  packet(seq, ...parts) {
    const payload = Buffer.concat(parts);
    return Buffer.concat([my.header(payload.length, seq), payload]);
  },
  lenencString(s) {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([lenencInt(b.length), b]);
  },
  u16: (n) => bytes(2, (b) => b.writeUInt16LE(n)),
  u32: (n) => bytes(4, (b) => b.writeUInt32LE(n)),
  /** OK packet: affected rows and insert id (below 251: one byte each), status flags, warnings, info. */
  ok(seq, affected, insertId, status, info = '') {
    return my.packet(
      seq,
      Buffer.from([0x00]),
      lenencInt(affected),
      lenencInt(insertId),
      my.u16(status),
      my.u16(0),
      Buffer.from(info, 'utf8'),
    );
  },
  /** The OK with an 0xFE header that ends a result set under CLIENT_DEPRECATE_EOF. */
  endOfRows: (seq, status) => my.packet(seq, Buffer.from([0xfe, 0, 0]), my.u16(status), my.u16(0)),
  err: (seq, code, state, message) =>
    my.packet(seq, Buffer.from([0xff]), my.u16(code), Buffer.from(`#${state}${message}`, 'utf8')),
  /** Protocol::ColumnDefinition41 of a sbtest1 column. */
  column(seq, name, type, length) {
    return my.packet(
      seq,
      ...['def', 'sbtest', 'sbtest1', 'sbtest1', name, name].map(my.lenencString),
      Buffer.from([0x0c]),
      my.u16(type === MYSQL_TYPE.string ? 255 : 63), // utf8mb4, or binary for numbers
      my.u32(length),
      Buffer.from([type]),
      my.u16(type === MYSQL_TYPE.string ? 0x0001 : 0x1003), // NOT NULL (+ PRI_KEY, PART_KEY for numbers)
      Buffer.from([0, 0, 0]),
    );
  },
};

/** A length-encoded integer, below 2^16 here. */
function lenencInt(n) {
  return n < 251 ? Buffer.from([n]) : bytes(3, (b) => ((b[0] = 0xfc), b.writeUInt16LE(n, 1)));
}

const MYSQL_TYPE = { long: 0x03, string: 0xfe };
const SERVER_STATUS = { inTransaction: 0x0001, autocommit: 0x0002 };
const CAPABILITIES =
  0x00000001 | // CLIENT_LONG_PASSWORD
  0x00000004 | // CLIENT_LONG_FLAG
  0x00000008 | // CLIENT_CONNECT_WITH_DB
  0x00000200 | // CLIENT_PROTOCOL_41
  0x00002000 | // CLIENT_TRANSACTIONS
  0x00008000 | // CLIENT_SECURE_CONNECTION
  0x00020000 | // CLIENT_MULTI_RESULTS
  0x00040000 | // CLIENT_PS_MULTI_RESULTS
  0x00080000 | // CLIENT_PLUGIN_AUTH
  0x00100000 | // CLIENT_CONNECT_ATTRS
  0x00200000 | // CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
  0x01000000; // CLIENT_DEPRECATE_EOF

function myHandshake(c, rand) {
  const scramble = () => Buffer.from(Array.from({ length: 20 }, () => 1 + Math.floor(rand() * 126)));
  const seed = scramble();
  const greeting = my.packet(
    0,
    Buffer.from([0x0a]),
    Buffer.from('8.0.40\0', 'latin1'),
    my.u32(1000 + c.id),
    seed.subarray(0, 8),
    Buffer.from([0]),
    my.u16(0xffff),
    Buffer.from([255]),
    my.u16(SERVER_STATUS.autocommit),
    my.u16(0xdfff),
    Buffer.from([21]),
    Buffer.alloc(10),
    seed.subarray(8),
    Buffer.from('\0caching_sha2_password\0', 'latin1'),
  );
  const attrs = {
    _client_name: 'libmysql',
    _client_version: '8.0.40',
    _os: 'Linux',
    _pid: String(7000 + c.id),
  };
  const attrBytes = Buffer.concat(Object.entries(attrs).flat().map(my.lenencString));
  const response = my.packet(
    1,
    my.u32(CAPABILITIES),
    my.u32(16 * 1024 * 1024),
    Buffer.from([255]),
    Buffer.alloc(23),
    Buffer.from('sbtest\0', 'latin1'),
    Buffer.from([32]),
    Buffer.concat([scramble(), scramble()]).subarray(0, 32), // the scrambled password: never looked at
    Buffer.from('sbtest\0caching_sha2_password\0', 'latin1'),
    lenencInt(attrBytes.length),
    attrBytes,
  );
  // caching_sha2_password's fast path: AuthMoreData (fast auth success), then OK.
  const accepted = Buffer.concat([
    my.packet(2, Buffer.from([0x01, 0x03])),
    my.ok(3, 0, 0, SERVER_STATUS.autocommit),
  ]);
  return [egress(greeting), ingress(response), egress(accepted)];
}

/** sysbench's prepared statements: parameter types, result columns. */
const MY_STATEMENTS = {
  point: {
    sql: 'SELECT c FROM sbtest1 WHERE id=?',
    types: [MYSQL_TYPE.long],
    columns: [['c', MYSQL_TYPE.string, 480]],
  },
  update: { sql: 'UPDATE sbtest1 SET k=k+1 WHERE id=?', types: [MYSQL_TYPE.long], columns: [] },
  delete: { sql: 'DELETE FROM sbtest1 WHERE id=?', types: [MYSQL_TYPE.long], columns: [] },
  insert: {
    sql: 'INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)',
    types: [MYSQL_TYPE.long, MYSQL_TYPE.long, MYSQL_TYPE.string, MYSQL_TYPE.string],
    columns: [],
  },
};
const MY_TABLE_SIZE = 1_000_000;

/** One command: its payload (command byte first) and the server's packets answering it. */
function myCommand(c, payload, answer) {
  const head = my.header(payload.length, 0); // sequence id 0: a command starts an exchange
  // Servers that read the header and the payload with two syscalls show two chunks of the request.
  const request = c.splitReads
    ? [ingress(head), ingress(payload)]
    : [ingress(Buffer.concat([head, payload]))];
  return [...request, egress(Buffer.concat(answer))];
}

function myQuery(c, sql, answer) {
  return myCommand(c, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]), answer);
}

function myPrepare(c, key) {
  const s = MY_STATEMENTS[key];
  const id = c.statementIds.size + 1;
  c.statementIds.set(key, id);
  let seq = 1;
  const answer = [
    my.packet(
      seq++,
      Buffer.from([0x00]),
      my.u32(id),
      my.u16(s.columns.length),
      my.u16(s.types.length),
      Buffer.from([0]),
      my.u16(0),
    ),
  ];
  for (const type of s.types) answer.push(my.column(seq++, '?', type, type === MYSQL_TYPE.long ? 11 : 1020));
  for (const [name, type, length] of s.columns) answer.push(my.column(seq++, name, type, length));
  return myCommand(c, Buffer.concat([Buffer.from([0x16]), Buffer.from(s.sql, 'utf8')]), answer);
}

/** COM_STMT_EXECUTE with the binary parameters; types are sent on a statement's first execution only. */
function myExecute(c, key, params, answer) {
  const s = MY_STATEMENTS[key];
  const bind = !c.typesSent.has(key);
  c.typesSent.add(key);
  const values = params.map((v, i) =>
    s.types[i] === MYSQL_TYPE.long ? bytes(4, (b) => b.writeInt32LE(v)) : my.lenencString(v),
  );
  const payload = Buffer.concat([
    Buffer.from([0x17]),
    my.u32(c.statementIds.get(key)),
    Buffer.from([0]), // CURSOR_TYPE_NO_CURSOR
    my.u32(1), // iteration count
    Buffer.alloc(Math.ceil(s.types.length / 8)), // NULL bitmap: none
    Buffer.from([bind ? 1 : 0]),
    ...(bind ? s.types.map((t) => Buffer.from([t, 0])) : []),
    ...values,
  ]);
  return myCommand(c, payload, answer);
}

function myTransaction(c, rand) {
  const inTx = SERVER_STATUS.inTransaction | SERVER_STATUS.autocommit;
  const fails = rand() < 0.02;
  const turns = [];
  const statement = (chunks, extra = {}) => turns.push({ chunks, statement: true, ...extra });
  const prepared = (key) => {
    if (!c.statementIds.has(key)) statement(myPrepare(c, key), { sql: MY_STATEMENTS[key].sql });
  };
  const id = () => 1 + Math.floor(rand() * MY_TABLE_SIZE);

  statement(myQuery(c, 'BEGIN', [my.ok(1, 0, 0, inTx)]), { sql: 'BEGIN' });
  prepared('point');
  for (let i = 0; i < 2; i++) {
    const answer = [
      my.packet(1, Buffer.from([1])),
      my.column(2, 'c', MYSQL_TYPE.string, 480),
      // Binary row: header 0x00, NULL bitmap (columns + 2 bits), the value.
      my.packet(3, Buffer.from([0x00, 0x00]), my.lenencString(sysbenchChars(rand, 10))),
      my.endOfRows(4, inTx),
    ];
    statement(myExecute(c, 'point', [id()], answer), { sql: MY_STATEMENTS.point.sql });
  }
  const from = id();
  const range = `SELECT id, k, c FROM sbtest1 WHERE id BETWEEN ${from} AND ${from + 4} ORDER BY c`;
  const rows = Array.from({ length: 5 }, (_, i) =>
    my.packet(
      5 + i,
      my.lenencString(String(from + i)),
      my.lenencString(String(id())),
      my.lenencString(sysbenchChars(rand, 10)),
    ),
  );
  statement(
    myQuery(c, range, [
      my.packet(1, Buffer.from([3])),
      my.column(2, 'id', MYSQL_TYPE.long, 11),
      my.column(3, 'k', MYSQL_TYPE.long, 11),
      my.column(4, 'c', MYSQL_TYPE.string, 480),
      ...rows,
      my.endOfRows(10, inTx),
    ]),
    { sql: range },
  );
  prepared('update');
  if (fails) {
    const deadlock = my.err(
      1,
      1213,
      '40001',
      'Deadlock found when trying to get lock; try restarting transaction',
    );
    statement(myExecute(c, 'update', [id()], [deadlock]), { sql: MY_STATEMENTS.update.sql, failed: true });
    statement(myQuery(c, 'ROLLBACK', [my.ok(1, 0, 0, SERVER_STATUS.autocommit)]), { sql: 'ROLLBACK' });
    return turns;
  }
  const matched = my.ok(1, 1, 0, inTx, 'Rows matched: 1  Changed: 1  Warnings: 0');
  statement(myExecute(c, 'update', [id()], [matched]), { sql: MY_STATEMENTS.update.sql });
  prepared('delete');
  const gone = id();
  statement(myExecute(c, 'delete', [gone], [my.ok(1, 1, 0, inTx)]), { sql: MY_STATEMENTS.delete.sql });
  prepared('insert');
  const insert = [gone, id(), sysbenchChars(rand, 10), sysbenchChars(rand, 5)];
  statement(myExecute(c, 'insert', insert, [my.ok(1, 1, 0, inTx)]), { sql: MY_STATEMENTS.insert.sql });
  statement(myQuery(c, 'COMMIT', [my.ok(1, 0, 0, SERVER_STATUS.autocommit)]), { sql: 'COMMIT' });
  return turns;
}

// ---------------------------------------------------------------------------------------------------------
// The recorded batches

/**
 * Encodes one protocol's connections: `opening(c)` is a connection's first turn, `transaction(c)` the turns of its
 * next transaction. A connection closes after its STATEMENTS-th statement, mid-transaction if need be.
 */
function recordProtocol({ protocol, localPort, comm, seed, setup, opening, transaction }) {
  const rand = seededRandom(seed);
  const expected = { statements: 0, failed: 0, texts: new Map() };
  const recorded = buildWireBatches({
    conns: CONNS,
    active: ACTIVE,
    batchBytes: BATCH_BYTES,
    rand,
    protocol,
    openProtocol: PROTOCOL.unknown,
    localPort,
    comm,
    turn(c) {
      if (c.queue === undefined) {
        setup(c);
        c.queue = [];
        c.statements = 0;
        return { chunks: opening(c, rand), last: false };
      }
      if (c.queue.length === 0) c.queue = transaction(c, rand);
      const t = c.queue.shift();
      if (t.statement) {
        c.statements += 1;
        expected.statements += 1;
        if (t.failed) expected.failed += 1;
        expected.texts.set(t.sql, (expected.texts.get(t.sql) ?? 0) + 1);
      }
      return { chunks: t.chunks, last: c.statements === STATEMENTS };
    },
  });
  return { ...recorded, comm, expected };
}

const PROTOCOLS = [
  {
    key: 'pgsql',
    label: 'PostgreSQL',
    ...recordProtocol({
      protocol: PROTOCOL.pgsql,
      localPort: 5432,
      comm: 'postgres',
      seed: 5432,
      setup: (c) => (c.prepared = new Set()),
      opening: pgStartup,
      transaction: pgTurns,
    }),
  },
  {
    key: 'mysql',
    label: 'MySQL',
    ...recordProtocol({
      protocol: PROTOCOL.mysql,
      localPort: 3306,
      comm: 'mysqld',
      seed: 3306,
      setup: (c) => {
        c.splitReads = c.id % 2 === 1;
        c.statementIds = new Map();
        c.typesSent = new Set();
      },
      opening: myHandshake,
      transaction: myTransaction,
    }),
  },
];

// ---------------------------------------------------------------------------------------------------------
// Runs

/** Both SQL kinds in every run: the other protocol's table must stay empty, as verify() checks. */
const KINDS = {
  pgsql: { table: 'pgsql_events', append: 'appendPgsql', subject: true },
  mysql: { table: 'mysql_events', append: 'appendMysql', subject: true },
  conns: { table: 'conn_stats', append: 'appendConnStats', subject: false },
};

/** The collector's tracker with both SQL sessions; HTTP records here would be a misparse, counted as such. */
function newTracker(sinks, comm, unexpected) {
  return new ConnectionTracker({
    processName: () => comm,
    onHttp: () => (unexpected.http += 1),
    onConnStats: sinks.conns,
    sessions: { pgsql: pgsqlSessionFactory(sinks.pgsql), mysql: mysqlSessionFactory(sinks.mysql) },
  });
}

/** Throws unless every measurement of every round stored one row per statement of the batch, and nothing else. */
function verify(proto, result, unexpected, records) {
  const { key, expected } = proto;
  const other = key === 'pgsql' ? 'mysql' : 'pgsql';
  const problems = [];
  const want = (what, got, wanted) => {
    if (got !== wanted) problems.push(`${what}: ${got}, expected ${wanted}`);
  };
  const tc = result.p.tracker;
  want('tracker records', result.p.counts[key], expected.statements);
  want(`tracker ${other} records`, result.p.counts[other], 0);
  want('HTTP records', unexpected.http, 0);
  for (const counter of [
    'parseErrors',
    'unpairedRequests',
    'unpairedResponses',
    'internalErrors',
    'badEvents',
  ])
    want(`tracker ${counter}`, tc[counter], 0);
  for (const [stage, runs] of [
    ['pipeline', result.runs.pl],
    ['EventStore', result.runs.st],
    ['baseline', result.runs.base],
  ]) {
    runs.forEach((r, i) => {
      want(`${stage} round ${i + 1} ${KINDS[key].table} rows`, r.storedByKind[key], expected.statements);
      want(`${stage} round ${i + 1} ${KINDS[other].table} rows`, r.storedByKind[other], 0);
      if (r.store !== undefined) want(`${stage} round ${i + 1} rows dropped`, r.store.rowsDropped, 0);
    });
  }
  // The records must say what was sent: each statement's text (prepared ones resolved), and the failures.
  want('records with an error', records.filter((r) => r.error !== '').length, expected.failed);
  const texts = new Map();
  for (const r of records) texts.set(r.req, (texts.get(r.req) ?? 0) + 1);
  for (const [sql, n] of expected.texts) want(`records of "${sql.slice(0, 40)}"`, texts.get(sql) ?? 0, n);
  if (problems.length > 0) {
    throw new Error(`${proto.label}: the batch was not parsed and stored whole:\n  ${problems.join('\n  ')}`);
  }
}

const results = {};
for (const proto of PROTOCOLS) {
  console.log(
    `\n--- ${proto.label}: ${proto.records} wire records (${proto.expected.statements} statements, ` +
      `${proto.expected.failed} failed; ${(proto.payloadBytes / 1048576).toFixed(1)} MiB payload) in ` +
      `${proto.batches.length} batches of ${(proto.bytes / proto.batches.length / 1024).toFixed(0)} KiB on average`,
  );
  const unexpected = { http: 0 };
  const measurements = parseStoreMeasurements({
    batches: proto.batches,
    kinds: KINDS,
    newTracker: (sinks) => newTracker(sinks, proto.comm, unexpected),
  });
  const r = await measureRounds(measurements, REPS, `loupe-bench-sql-${proto.key}-`);
  results[proto.key] = r;
  const statements = proto.expected.statements;
  printRounds(r, { reps: REPS, table: KINDS[proto.key].table, subject: 'statements', unit: 'stmts' });
  verify(proto, r, unexpected, measurements.parsedRecords()[proto.key]);
  console.log(`verified: ${statements} rows per measurement and round, one per statement`);
}

// ---------------------------------------------------------------------------------------------------------
// Summary

const perCpu = (r, n) => n / r.cpuS;
const us = (r, n) => ((r.cpuS / n) * 1e6).toFixed(2);
const summary = {};
console.log('\nCPU per statement (µs)                 PostgreSQL      MySQL');
const stages = [
  ['decode (wire → events)', 'd'],
  ['decode + parse', 'p'],
  ['pipeline: decode + parse + store', 'pl'],
  ['EventStore alone', 'st'],
  ['baseline: DuckDB appender alone', 'base'],
  ['DuckDB alone, no JS per row', 'duck'],
];
for (const [label, k] of stages) {
  const cells = PROTOCOLS.map((proto) => us(results[proto.key][k], proto.expected.statements).padStart(10));
  console.log(`  ${label.padEnd(36)} ${cells.join(' ')}`);
}
for (const proto of PROTOCOLS) {
  const { p, pl, st, base, duck } = results[proto.key];
  const n = proto.expected.statements;
  summary[proto.key] = {
    pipeline: perCpu(pl, n),
    parse: perCpu(p, n),
    baseline: perCpu(base, n),
    duckdbAlone: perCpu(duck, n),
    ratio: perCpu(pl, n) / perCpu(base, n),
    storeRatio: perCpu(st, n) / perCpu(base, n),
    parseShare: p.cpuS / pl.cpuS,
  };
  const s = summary[proto.key];
  console.log(
    `${proto.label}: RATIO pipeline / appender-alone (statements per CPU-s): ${fmt.r(s.ratio)}; ` +
      `EventStore / appender-alone: ${fmt.r(s.storeRatio)}; parsing is ${(s.parseShare * 100).toFixed(0)}% of ` +
      `the pipeline's CPU`,
  );
}
const field = (key, name, value) => `${key}_${name}=${value}`;
const resultFields = PROTOCOLS.flatMap(({ key }) => {
  const s = summary[key];
  return [
    field(key, 'statements_per_cpu_s', fmt.n(s.pipeline)),
    field(key, 'parse_only_statements_per_cpu_s', fmt.n(s.parse)),
    field(key, 'baseline_statements_per_cpu_s', fmt.n(s.baseline)),
    field(key, 'duckdb_alone_statements_per_cpu_s', fmt.n(s.duckdbAlone)),
    field(key, 'ratio', fmt.r(s.ratio)),
    field(key, 'store_ratio', fmt.r(s.storeRatio)),
  ];
});
const stored = PROTOCOLS.reduce((n, { key }) => n + results[key].pl.storedByKind[key], 0);
console.log(
  `RESULT sql-parse-store-throughput ${resultFields.join(' ')} stored=${stored} noisy=${noise.noisy}`,
);
