/**
 * End to end on a real kernel: a real MariaDB server answers result sets far bigger than the bytes the collector
 * copies of each syscall (--capture-bytes), so the capture loses bytes in the middle of those answers. The
 * statements that follow on the same connection must be recorded with their own answers, by the mariadb CLI
 * (text protocol) and by mysql2 (prepared statements too).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, run, stopAll } from './support/processes.js';
import { mariadbArgs, startMariadb, type DatabaseServer } from './support/databases.js';
import { startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

/** Far below the 16 KiB MariaDB writes a result set in: most of each such write is never seen. */
const CAPTURE_BYTES = 1024;
const ROWS = 1000;

interface Row {
  role: string;
  req_cmd: string;
  req: string;
  req_params: string[];
  resp_status: string;
  resp: string;
  error: string | null;
  latency_ns: number;
}

const COLUMNS = 'role, req_cmd, req, req_params, resp_status, resp, error, latency_ns';

/** 300-byte rows by the thousand: the answer spans dozens of writes. */
const bigSelect = (filler: string) =>
  `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${ROWS}) SELECT n, REPEAT('${filler}', 300) AS filler FROM s`;

/** The big answer is either not recorded, or recorded with the rows seen before its middle was lost. */
function assertCutShort(rows: Row[], label: string): void {
  assert.ok(rows.length <= 1, label);
  for (const r of rows) {
    const seen = /^columns=2 rows>=(\d+)$/.exec(r.resp);
    assert.ok(seen !== null && Number(seen[1]) < ROWS, `${label}: ${r.resp} (were bytes lost at all?)`);
  }
}

describe('MySQL capture after bytes lost in the middle of answers', { timeout: 120_000 }, () => {
  let mariadb: DatabaseServer;
  let loupe: LoupeUp;

  before(async () => {
    mariadb = await startMariadb(await freePort());
    await run('mariadb', [
      ...mariadbArgs(mariadb.port),
      'shop',
      '-e',
      "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO items VALUES (20, 'twenty')",
    ]);
    loupe = await startLoupeUp(await freePort(), ['--capture-bytes', String(CAPTURE_BYTES)]);
  });

  after(async () => {
    await loupe?.stop();
    await mariadb?.stop();
    await stopAll();
  });

  test('mariadb CLI: the statements after a result set that lost bytes keep their own answers', async () => {
    const before = await loupe.collectorStatus();
    const statements = [
      bigSelect('c'),
      "SELECT 'after the flood' AS t",
      "INSERT INTO items VALUES (21, 'twenty-one')",
      'SELECT name FROM items WHERE id = 21',
      // The CLI stops at the first error: it goes last.
      'SELEC oops',
    ];
    await assert.rejects(run('mariadb', [...mariadbArgs(mariadb.port), 'shop', '-e', statements.join('; ')]));
    const rows = await loupe.waitForRows<Row>(
      `SELECT ${COLUMNS} FROM mysql_events WHERE role = 'server' AND req_cmd = 'COM_QUERY'
         AND (contains(req, 'after the flood') OR contains(req, 'twenty-one') OR contains(req, 'id = 21')
              OR contains(req, 'oops')) ORDER BY time`,
      (r) => r.length >= 4,
    );
    assert.deepEqual(
      rows.map((r) => [r.req, r.resp_status, r.resp]),
      [
        ["SELECT 'after the flood' AS t", 'RESULTSET', 'columns=1 rows=1'],
        ["INSERT INTO items VALUES (21, 'twenty-one')", 'OK', 'affected_rows=1 last_insert_id=0'],
        ['SELECT name FROM items WHERE id = 21', 'RESULTSET', 'columns=1 rows=1'],
        ['SELEC oops', 'ERR', ''],
      ],
    );
    assert.match(rows[3]?.error ?? '', /^ERROR 1064 \(42000\): You have an error in your SQL syntax/);
    for (const r of rows) assert.ok(r.latency_ns > 0 && r.latency_ns < 5e9, `latency ${r.latency_ns}`);

    const big = await loupe.query<Row>(
      `SELECT ${COLUMNS} FROM mysql_events WHERE role = 'server' AND contains(req, 'REPEAT(''c''')`,
    );
    assertCutShort(big, 'the big answer');
    // Lost bytes are gaps, not garbage: nothing was taken for a packet that was not one.
    assert.equal((await loupe.collectorStatus()).parseErrors, before.parseErrors);
  });

  test('mysql2: a prepared statement and queries after a result set that lost bytes', async () => {
    const out = await run('node', [
      path.join(supportDir, 'mysql-gap-client.js'),
      String(mariadb.port),
      String(ROWS),
    ]);
    const result = JSON.parse(out) as { rows: number; error: string };
    assert.equal(result.rows, ROWS);
    assert.match(result.error, /You have an error in your SQL syntax/);
    const rows = await loupe.waitForRows<Row>(
      `SELECT ${COLUMNS} FROM mysql_events WHERE role = 'server'
         AND (req_cmd IN ('COM_STMT_PREPARE', 'COM_STMT_EXECUTE') OR contains(req, 'mysql2')) ORDER BY time`,
      (r) => r.length >= 4,
    );
    assert.deepEqual(
      rows.map((r) => [r.req_cmd, r.req, r.req_params, r.resp_status, r.resp]),
      [
        [
          'COM_STMT_PREPARE',
          'SELECT name FROM items WHERE id = ?',
          [],
          'OK',
          'statement_id=1 params=1 columns=1',
        ],
        ['COM_STMT_EXECUTE', 'SELECT name FROM items WHERE id = ?', ['20'], 'RESULTSET', 'columns=1 rows=1'],
        ['COM_QUERY', "SELECT 'after the mysql2 flood' AS t", [], 'RESULTSET', 'columns=1 rows=1'],
        ['COM_QUERY', 'SELEC mysql2_oops', [], 'ERR', ''],
      ],
    );
    const big = await loupe.query<Row>(
      `SELECT ${COLUMNS} FROM mysql_events WHERE role = 'server' AND contains(req, 'REPEAT(''m''')`,
    );
    assertCutShort(big, 'the big answer');
  });
});
