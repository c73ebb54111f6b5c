import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBDataChunk, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CHUNK_ROWS, ChunkColumnWriter, columnKind, type ChunkColumn } from '../src/store/chunk-columns.js';

interface Row {
  text: unknown;
  int: unknown;
  big: unknown;
  flag: unknown;
  time: unknown;
}

const TABLE = `CREATE TABLE t (
  text VARCHAR, int INTEGER, big BIGINT, flag BOOLEAN, time TIMESTAMP_NS, doc JSON
)`;

const COLUMNS: ChunkColumn<Row>[] = [
  { kind: columnKind('VARCHAR'), value: (r) => r.text as string },
  { kind: columnKind('INTEGER'), value: (r) => r.int as number },
  { kind: columnKind('BIGINT'), value: (r) => r.big as number },
  { kind: columnKind('BOOLEAN'), value: (r) => r.flag as boolean },
  { kind: columnKind('TIMESTAMP_NS NOT NULL'), value: (r) => r.time as number },
  { kind: columnKind('JSON'), value: (r) => JSON.stringify({ text: r.text }) },
];

/** 2024-05-01T00:00:00Z minus a boot time: monotonic 0 is that instant minus 1000 s. */
const CLOCK_OFFSET_NS = 1_714_521_600_000_000_000n - 1_000_000_000_000n;

async function withTable(body: (connection: DuckDBConnection) => Promise<void>): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(TABLE);
    await body(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Appends `chunks` of rows through one reused data chunk, as the event store does. */
async function append(connection: DuckDBConnection, chunks: Row[][]): Promise<void> {
  const appender = await connection.createAppender('t');
  const types = COLUMNS.map((_column, index) => appender.columnType(index));
  const chunk = DuckDBDataChunk.create(types);
  const writer = new ChunkColumnWriter(CLOCK_OFFSET_NS);
  for (const rows of chunks) {
    writer.write(chunk, COLUMNS, rows);
    appender.appendDataChunk(chunk);
    appender.flushSync();
  }
  appender.closeSync();
}

async function rows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS();
}

function row(text: unknown, extra: Partial<Row> = {}): Row {
  return { text, int: 1, big: 1, flag: true, time: 0, ...extra };
}

describe('ChunkColumnWriter', () => {
  it('stores strings of every length and encoding exactly, and NULL apart from the empty string', async () => {
    const texts = [
      '',
      'GET',
      '123456789012', // 12 bytes: the longest inline string
      '1234567890123', // 13 bytes: the shortest pointed-to one
      'héllo', // short, but not ASCII
      'ünïcödé-ünïcödé', // long and multi-byte
      '日本語テキスト', // 21 bytes in UTF-8, 7 characters
      'emoji 🙂 in a longer string',
      '/api/v1/items/42?page=2&sort=name',
      '/api/v1/items/42?page=2&sort=name', // the same long string again, pooled once
      null,
      undefined,
      42,
      'tail after the odd values',
    ];
    await withTable(async (connection) => {
      await append(connection, [texts.map((text) => row(text))]);
      const stored = await rows(connection, 'SELECT text, doc FROM t');
      assert.deepEqual(
        stored.map((r) => r.text),
        texts.map((text) => (typeof text === 'string' ? text : null)),
      );
      assert.deepEqual(
        stored.map((r) => r.doc),
        texts.map((text) => JSON.stringify({ text })),
      );
      // Queries filter on them like on any other string.
      const [match] = await rows(
        connection,
        "SELECT count(*)::INTEGER AS n FROM t WHERE text = '/api/v1/items/42?page=2&sort=name'",
      );
      assert.equal(match?.n, 2);
      const [prefix] = await rows(connection, "SELECT count(*)::INTEGER AS n FROM t WHERE text LIKE 'ünï%'");
      assert.equal(prefix?.n, 1);
    });
  });

  it('spreads long strings over several pools when a chunk holds more than one pool of them', async () => {
    const big = 'x'.repeat(700 * 1024);
    const huge = 'y'.repeat(3 * 1024 * 1024); // larger than a pool on its own
    const texts = [big, 'short', big + 'a', huge, big + 'b', `${huge}é`];
    await withTable(async (connection) => {
      await append(connection, [texts.map((text) => row(text))]);
      const stored = await rows(
        connection,
        'SELECT length(text)::INTEGER AS n, right(text, 1) AS last FROM t',
      );
      assert.deepEqual(
        stored,
        texts.map((text) => ({ n: [...text].length, last: text.at(-1) })),
      );
    });
  });

  it('writes numbers and booleans of their full range, and anything else as NULL', async () => {
    const values: Partial<Row>[] = [
      { int: 2 ** 31 - 1, big: 2 ** 53 - 1, flag: false, time: 0 },
      { int: -(2 ** 31), big: -(2 ** 53 - 1), flag: true, time: 123_456_789 },
      { int: 2 ** 31, big: Number.NaN, flag: 1, time: Number.POSITIVE_INFINITY },
      { int: 1.5, big: -1.9, flag: 'yes', time: '5' },
      { int: '7', big: Number.POSITIVE_INFINITY, flag: null, time: 2 ** 40 + 0.5 },
    ];
    await withTable(async (connection) => {
      await append(connection, [values.map((value) => row('x', value))]);
      const stored = await rows(
        connection,
        'SELECT int, big, flag, time::VARCHAR AS time, epoch_ns(time) AS ns FROM t',
      );
      const wall = (monotonicNs: number) => CLOCK_OFFSET_NS + BigInt(monotonicNs);
      assert.deepEqual(stored, [
        { int: 2 ** 31 - 1, big: 2n ** 53n - 1n, flag: false, time: '2024-04-30 23:43:20', ns: wall(0) },
        {
          int: -(2 ** 31),
          big: -(2n ** 53n - 1n),
          flag: true,
          time: '2024-04-30 23:43:20.123456789',
          ns: wall(123_456_789),
        },
        { int: null, big: null, flag: null, time: null, ns: null },
        { int: null, big: -1n, flag: null, time: null, ns: null },
        { int: null, big: null, flag: null, time: '2024-05-01 00:01:39.511627776', ns: wall(2 ** 40) },
      ]);
    });
  });

  it('clears the NULLs and strings of the previous chunk when the chunk is reused', async () => {
    const first = Array.from({ length: CHUNK_ROWS }, (_, i) =>
      row(i % 2 ? null : `a long string number ${i}`, { int: i % 3 ? null : i }),
    );
    const second = Array.from({ length: 10 }, (_, i) => row(`s${i}`, { int: i }));
    await withTable(async (connection) => {
      await append(connection, [first, second]);
      const [counts] = await rows(
        connection,
        'SELECT count(*)::INTEGER AS n, count(text)::INTEGER AS texts, count(int)::INTEGER AS ints FROM t',
      );
      assert.deepEqual(counts, {
        n: CHUNK_ROWS + 10,
        texts: CHUNK_ROWS / 2 + 10,
        ints: Math.ceil(CHUNK_ROWS / 3) + 10,
      });
      const tail = await rows(connection, `SELECT text, int FROM t OFFSET ${CHUNK_ROWS}`);
      assert.deepEqual(
        tail,
        second.map((r) => ({ text: r.text, int: r.int })),
      );
    });
  });

  it('refuses more rows than a chunk holds, and SQL types it has no layout for', () => {
    const writer = new ChunkColumnWriter(0n);
    assert.throws(() => writer.write({} as DuckDBDataChunk, COLUMNS, new Array(CHUNK_ROWS + 1)), /at most/);
    assert.throws(() => columnKind('DOUBLE'), /no column writer for SQL type DOUBLE/);
  });
});
