import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { my, pg, SqlHarness } from './support/sql-wire.js';

const summary = (
  records: { reqCmd: string; req: string; reqParams: string[]; resp: string; error: string }[],
) => records.map((r) => [r.reqCmd, r.req, r.reqParams, r.resp, r.error]);

/** One PostgreSQL conversation: startup, password, a simple query, an extended-protocol pipeline, an error. */
function pgConversation(h: SqlHarness, splitEvery?: number): void {
  h.client(Buffer.concat([pg.startup('app'), pg.password('hunter2')]), splitEvery);
  h.server(Buffer.concat([pg.authOk(), pg.ready()]), splitEvery);
  h.client(pg.query('SELECT 1; SELECT 2'), splitEvery);
  h.server(
    Buffer.concat([
      pg.dataRow('1'),
      pg.commandComplete('SELECT 1'),
      pg.dataRow('2'),
      pg.commandComplete('SELECT 1'),
      pg.ready(),
    ]),
    splitEvery,
  );
  h.client(
    Buffer.concat([
      pg.parse('byId', 'SELECT name FROM t WHERE id = $1'),
      pg.bind('', 'byId', ['7']),
      pg.execute(''),
      pg.bind('', 'byId', [null]),
      pg.execute(''),
      pg.sync(),
    ]),
    splitEvery,
  );
  h.server(
    Buffer.concat([
      pg.message('1'),
      pg.message('2'),
      pg.dataRow('x'),
      pg.commandComplete('SELECT 1'),
      pg.message('2'),
      pg.commandComplete('SELECT 0'),
      pg.ready(),
    ]),
    splitEvery,
  );
  h.client(pg.query('INSERT INTO t VALUES (1)'), splitEvery);
  h.server(Buffer.concat([pg.error('23505', 'duplicate key value'), pg.ready()]), splitEvery);
}

const PG_EXPECTED = [
  ['Query', 'SELECT 1; SELECT 2', [], 'SELECT 1; SELECT 1', ''],
  ['Execute', 'SELECT name FROM t WHERE id = $1', ['7'], 'SELECT 1', ''],
  ['Execute', 'SELECT name FROM t WHERE id = $1', ['NULL'], 'SELECT 0', ''],
  ['Query', 'INSERT INTO t VALUES (1)', [], '', 'ERROR 23505: duplicate key value'],
];

describe('PostgreSQL session', () => {
  it('pairs simple and extended exchanges, and never keeps the password', () => {
    const h = new SqlHarness('pgsql');
    pgConversation(h);
    assert.deepEqual(summary(h.pgsql), PG_EXPECTED);
    assert.equal(h.pgsql[1]?.reqNormalized, 'SELECT name FROM t WHERE id = $1');
    assert.ok(h.pgsql.every((r) => r.role === 'server' && r.latencyNs > 0));
    assert.ok(!JSON.stringify(h.pgsql).includes('hunter2'));
  });

  it('gives the same records whatever the chunk boundaries', () => {
    for (const split of [1, 2, 3, 5, 7, 13]) {
      const h = new SqlHarness('pgsql');
      pgConversation(h, split);
      assert.deepEqual(summary(h.pgsql), PG_EXPECTED, `split every ${split} bytes`);
    }
  });

  it('skips lost bytes inside a result set and still pairs the exchange', () => {
    const h = new SqlHarness('pgsql', true);
    h.client(pg.query('SELECT big'));
    const row = pg.dataRow('y'.repeat(5000));
    h.server(row.subarray(0, 100));
    h.gap('egress', row.length - 100);
    h.server(Buffer.concat([pg.commandComplete('SELECT 1'), pg.ready()]));
    assert.deepEqual(summary(h.pgsql), [['Query', 'SELECT big', [], 'SELECT 1', '']]);
  });

  it('survives garbage: counts it, resynchronises, and parses what follows', () => {
    const h = new SqlHarness('pgsql');
    h.client(Buffer.concat([pg.startup('app'), pg.password('hunter2')]));
    h.server(Buffer.concat([pg.authOk(), pg.ready()]));
    // Bytes that are no frontend message: 0xFE is no tag, and no run of them is a plausible length.
    h.client(Buffer.alloc(4096, 0xfe));
    h.client(pg.query('SELECT after_garbage'));
    h.server(Buffer.concat([pg.commandComplete('SELECT 1'), pg.ready()]));
    assert.ok(h.tracker.counters.parseErrors > 0);
    assert.deepEqual(summary(h.pgsql).at(-1), ['Query', 'SELECT after_garbage', [], 'SELECT 1', '']);
  });
});

/** One MySQL conversation: handshake with credentials, a query with a result set, a prepared statement, an error. */
function mysqlConversation(h: SqlHarness, deprecateEof: boolean, splitEvery?: number): void {
  h.server(my.greeting(), splitEvery);
  h.client(my.handshakeResponse('app', 'secret-auth-data', deprecateEof), splitEvery);
  h.server(my.ok(2), splitEvery);
  h.client(my.command(0x03, 'SELECT v FROM t'), splitEvery);
  h.server(my.resultSet(['a', 'b', 'c'], deprecateEof), splitEvery);
  h.client(my.command(0x16, 'SELECT v FROM t WHERE id = ? AND k = ?'), splitEvery);
  const defs = [my.columnDef(2, 'id'), my.columnDef(3, 'k')];
  if (!deprecateEof) defs.push(my.eof(4));
  h.server(Buffer.concat([my.prepareOk(9, 2, 0), ...defs]), splitEvery);
  h.client(my.executeLongAndText(9, 42n, 'xyz'), splitEvery);
  h.server(my.resultSet(['v1'], deprecateEof), splitEvery);
  h.client(my.command(0x03, "INSERT INTO t VALUES (1, 'a')"), splitEvery);
  h.server(my.err(1, 1062, '23000', "Duplicate entry '1' for key 'PRIMARY'"), splitEvery);
}

const MYSQL_EXPECTED = [
  ['COM_QUERY', 'SELECT v FROM t', [], 'columns=1 rows=3', ''],
  ['COM_STMT_PREPARE', 'SELECT v FROM t WHERE id = ? AND k = ?', [], 'statement_id=9 params=2 columns=0', ''],
  ['COM_STMT_EXECUTE', 'SELECT v FROM t WHERE id = ? AND k = ?', ['42', 'xyz'], 'columns=1 rows=1', ''],
  [
    'COM_QUERY',
    "INSERT INTO t VALUES (1, 'a')",
    [],
    '',
    "ERROR 1062 (23000): Duplicate entry '1' for key 'PRIMARY'",
  ],
];

describe('MySQL session', () => {
  for (const deprecateEof of [false, true]) {
    it(`pairs commands and answers ${deprecateEof ? 'with' : 'without'} CLIENT_DEPRECATE_EOF`, () => {
      const h = new SqlHarness('mysql');
      mysqlConversation(h, deprecateEof);
      assert.deepEqual(summary(h.mysql), MYSQL_EXPECTED);
      assert.deepEqual(
        h.mysql.map((r) => r.respStatus),
        ['RESULTSET', 'OK', 'RESULTSET', 'ERR'],
      );
      assert.ok(!JSON.stringify(h.mysql).includes('secret-auth-data'));
    });
  }

  it('gives the same records whatever the chunk boundaries', () => {
    for (const split of [1, 3, 4, 5, 11]) {
      const h = new SqlHarness('mysql');
      mysqlConversation(h, false, split);
      assert.deepEqual(summary(h.mysql), MYSQL_EXPECTED, `split every ${split} bytes`);
    }
  });

  it('joins a payload split over several 16 MiB packets and keeps only its start', () => {
    const h = new SqlHarness('mysql');
    h.server(my.greeting());
    h.client(my.handshakeResponse('app', 'secret-auth-data', false));
    h.server(my.ok(2));
    const text = `SELECT '${'z'.repeat(0xffffff + 100)}'`;
    const payload = Buffer.concat([Buffer.from([0x03]), Buffer.from(text)]);
    const first = payload.subarray(0, 0xffffff);
    const rest = payload.subarray(0xffffff);
    h.client(Buffer.concat([my.packet(0, first), my.packet(1, rest)]), 1 << 20);
    h.server(my.ok(1));
    assert.equal(h.mysql.length, 1);
    assert.equal(h.mysql[0]?.reqCmd, 'COM_QUERY');
    assert.ok(h.mysql[0]?.req.startsWith("SELECT 'zzz"));
    assert.ok((h.mysql[0]?.req.length ?? 0) < 100_000, 'the kept text is bounded');
  });

  it('after garbage and lost bytes, counts the error and resynchronises on the next command', () => {
    const h = new SqlHarness('mysql');
    h.server(my.greeting());
    h.client(my.handshakeResponse('app', 'secret-auth-data', false));
    h.server(my.ok(2));
    // Garbage framed as a packet of 8 MiB ('zzz'), then more bytes lost than that packet can hold.
    h.client(Buffer.alloc(2048, 'z'));
    h.gap('ingress', 10_000_000);
    h.client(my.command(0x0e, ''));
    h.server(my.ok(1));
    assert.ok(h.tracker.counters.parseErrors > 0);
    assert.equal(h.mysql.at(-1)?.reqCmd, 'COM_PING');
  });
});
