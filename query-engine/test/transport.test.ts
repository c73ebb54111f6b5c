import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { encodeResult, decodeStream, type FragmentCaps } from '../src/fanout/fragment-wire.js';
import { loadFragment } from '../src/fanout/fragment-loader.js';
import type { FragmentPlan } from '../src/planner/query-planner.js';

const COLUMNS = [
  ['t_ns', 'TIMESTAMP_NS'],
  ['t_us', 'TIMESTAMP'],
  ['t_tz', 'TIMESTAMPTZ'],
  ['d', 'DATE'],
  ['b', 'BOOLEAN'],
  ['i8', 'TINYINT'],
  ['i16', 'SMALLINT'],
  ['i32', 'INTEGER'],
  ['i64', 'BIGINT'],
  ['u64', 'UBIGINT'],
  ['f', 'FLOAT'],
  ['x', 'DOUBLE'],
  ['s', 'VARCHAR'],
  ['j', 'JSON'],
] as const;

const ROWS_SQL = `SELECT
    ('2024-05-01 12:' || lpad((i % 60)::VARCHAR, 2, '0') || ':00.' || lpad((i * 7919 % 1000000000)::VARCHAR, 9, '0'))::TIMESTAMP_NS AS t_ns,
    '2024-05-01 12:00:00'::TIMESTAMP + INTERVAL (i) SECOND AS t_us,
    '2024-05-01 12:00:00+00'::TIMESTAMPTZ + INTERVAL (i) MINUTE AS t_tz,
    '2024-05-01'::DATE + (i % 400)::INTEGER AS d,
    CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 = 0 END AS b,
    (i % 100 - 50)::TINYINT AS i8, (i % 30000)::SMALLINT AS i16,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i * 3 END::INTEGER AS i32,
    (i * 1000000007)::BIGINT AS i64, (i * 3)::UBIGINT AS u64,
    (i / 3)::FLOAT AS f, CASE WHEN i % 11 = 0 THEN NULL ELSE i / 7 END::DOUBLE AS x,
    CASE WHEN i % 13 = 0 THEN NULL WHEN i % 2 = 0 THEN 'short' || i ELSE 'a longer string, ünïcødé ✓ ' || i END AS s,
    ('{"k": ' || i || '}')::JSON AS j
  FROM range(5000) t(i)`;

async function* bytesOf(generator: AsyncGenerator<Uint8Array>, pieceSize = 1000): AsyncGenerator<Uint8Array> {
  for await (const bytes of generator) {
    // The network cuts messages anywhere: hand them over in small pieces.
    for (let i = 0; i < bytes.length; i += pieceSize) yield bytes.subarray(i, i + pieceSize);
  }
}

describe('fragment transport (Arrow IPC)', () => {
  let source: DuckDBInstance;
  let sink: DuckDBInstance;
  let from: DuckDBConnection;
  let to: DuckDBConnection;

  before(async () => {
    source = await DuckDBInstance.create(':memory:');
    sink = await DuckDBInstance.create(':memory:');
    from = await source.connect();
    to = await sink.connect();
    await from.run(`CREATE TABLE t AS ${ROWS_SQL}`);
  });
  after(() => {
    from.closeSync();
    to.closeSync();
    source.closeSync();
    sink.closeSync();
  });

  async function roundTrip(table: string, sql: string, caps: FragmentCaps, withNode = true) {
    const columns: FragmentPlan['columns'] = COLUMNS.map(([name, type]) => ({ name, type, origin: 'wire' }));
    if (withNode) columns.push({ name: 'node', type: 'VARCHAR', origin: 'node-name' });
    columns.push({ name: 'unused', type: 'BIGINT', origin: 'null' });
    await to.run(`CREATE TEMP TABLE ${table} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`);
    const types = (await to.run(`SELECT * FROM ${table} LIMIT 0`)).columnTypes();
    const fragment: FragmentPlan = { table, columns, sql, kind: 'scan' };
    const result = await from.stream(sql);
    return loadFragment(to, fragment, types, 'node-7', bytesOf(encodeResult(result, caps)), caps);
  }

  it('carries every column type, NULLs included, value for value', async () => {
    const loaded = await roundTrip('copy', 'SELECT * FROM t', { maxRows: 1_000_000, maxBytes: 1 << 30 });
    assert.deepEqual({ rows: loaded.rows, truncated: loaded.truncated }, { rows: 5000, truncated: false });
    assert.ok(loaded.bytes > 0);
    const expected = (await from.runAndReadAll('SELECT * FROM t ORDER BY i64')).getRowsJS();
    const actual = (
      await to.runAndReadAll(`SELECT ${COLUMNS.map(([name]) => name).join(', ')} FROM copy ORDER BY i64`)
    ).getRowsJS();
    assert.deepEqual(actual, expected);
    const extra = (await to.runAndReadAll('SELECT DISTINCT node, unused FROM copy')).getRowsJS();
    assert.deepEqual(extra, [['node-7', null]]);
  });

  it('keeps the row cap and flags the answer truncated', async () => {
    const loaded = await roundTrip('capped', 'SELECT * FROM t', { maxRows: 3000, maxBytes: 1 << 30 });
    assert.deepEqual({ rows: loaded.rows, truncated: loaded.truncated }, { rows: 3000, truncated: true });
    const count = (await to.runAndReadAll('SELECT count(*) FROM capped')).getRowsJS()[0]?.[0];
    assert.equal(count, 3000n);
  });

  it('an answer exactly at the row cap is not truncated', async () => {
    const loaded = await roundTrip('exact', 'SELECT * FROM t LIMIT 2048', {
      maxRows: 2048,
      maxBytes: 1 << 30,
    });
    assert.deepEqual({ rows: loaded.rows, truncated: loaded.truncated }, { rows: 2048, truncated: false });
  });

  it('keeps the byte cap and flags the answer truncated', async () => {
    const loaded = await roundTrip('small', 'SELECT * FROM t', { maxRows: 1_000_000, maxBytes: 100_000 });
    assert.equal(loaded.truncated, true);
    // The node stopped after the first batch that took it past the cap: one chunk of 2048 rows.
    assert.equal(loaded.rows, 2048);
    assert.ok(loaded.bytes > 100_000 && loaded.bytes < 400_000, `bytes ${loaded.bytes}`);
  });

  it('sends the schema even without rows', async () => {
    const loaded = await roundTrip('empty', 'SELECT * FROM t WHERE false', { maxRows: 10, maxBytes: 1000 });
    assert.deepEqual({ rows: loaded.rows, truncated: loaded.truncated }, { rows: 0, truncated: false });
  });

  it('refuses an answer whose columns are not the planned ones', async () => {
    await assert.rejects(
      roundTrip('wrong', 'SELECT i64 AS t_ns, * EXCLUDE (t_ns) FROM t', { maxRows: 10, maxBytes: 1 << 20 }),
      { code: 'FRAGMENT_SCHEMA_MISMATCH' },
    );
  });

  it('rejects a stream cut off before its end', async () => {
    const result = await from.stream('SELECT * FROM t');
    async function* cut(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      for await (const bytes of encodeResult(result, { maxRows: 1e6, maxBytes: 1 << 30 })) {
        yield bytes.subarray(0, Math.min(bytes.length, 50_000 - sent));
        sent += bytes.length;
        if (sent >= 50_000) throw new Error('connection reset');
      }
    }
    await assert.rejects(
      decodeStream(cut(), { maxRows: 1e6, maxBytes: 1 << 30 }, () => undefined),
      /connection reset/,
    );
  });
});
