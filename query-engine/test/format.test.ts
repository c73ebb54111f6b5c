import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { buildApi, listenApi, type QueryResponse } from '../src/api.js';
import { QueryRunner } from '../src/query-runner.js';
import { formatCsv, formatJson, formatTable, runQueryCommand, type CliIo } from '../src/cli/query-command.js';
import { formatStatus, humanBytes, runStatusCommand } from '../src/cli/status-command.js';

function response(columns: string[], rows: QueryResponse['rows'], truncated = false): QueryResponse {
  return {
    columns,
    rows,
    nodes: [{ name: 'n1', ok: true, rows: rows.length, ms: 1.5, error: null }],
    truncated,
  };
}

describe('formatTable', () => {
  it('aligns columns: text to the left, numbers to the right', () => {
    const text = formatTable(
      response(
        ['path', 'status', 'latency_ms'],
        [
          { path: '/a', status: 200, latency_ms: 1.5 },
          { path: '/longer/path', status: 404, latency_ms: 120 },
        ],
      ),
    );
    assert.equal(
      text,
      [
        'path          status  latency_ms',
        '------------  ------  ----------',
        '/a               200         1.5',
        '/longer/path     404         120',
        '(2 rows)',
        '',
      ].join('\n'),
    );
  });

  it('shows NULL, objects as JSON, control characters escaped, long cells cut', () => {
    const text = formatTable(
      response(['a', 'b', 'c'], [{ a: null, b: { x: [1] }, c: `line1\nline2\t${'z'.repeat(100)}` }]),
    );
    const row = text.split('\n')[2] ?? '';
    assert.ok(row.startsWith('NULL  {"x":[1]}  line1\\nline2\\tzzz'), row);
    assert.ok(row.endsWith('…'), row);
    assert.equal(row.length, 'NULL  {"x":[1]}  '.length + 60);
  });

  it('says when the result was cut and handles no rows', () => {
    assert.match(
      formatTable(response(['a'], [{ a: 1 }], true)),
      /\(1 row, cut at the broker's row limit\)\n$/,
    );
    assert.equal(formatTable(response(['a'], [])), 'a\n-\n(0 rows)\n');
  });
});

describe('formatCsv', () => {
  it('follows RFC 4180: CRLF, quoting only where needed, quotes doubled', () => {
    const text = formatCsv(
      response(
        ['plain', 'comma', 'quote', 'newline', 'nothing', 'object'],
        [
          {
            plain: 'a b',
            comma: 'x,y',
            quote: 'say "hi"',
            newline: 'l1\nl2',
            nothing: null,
            object: { k: 'v,w' },
          },
        ],
      ),
    );
    assert.equal(
      text,
      'plain,comma,quote,newline,nothing,object\r\n' +
        'a b,"x,y","say ""hi""","l1\nl2",,"{""k"":""v,w""}"\r\n',
    );
  });

  it('writes numbers and booleans as they are', () => {
    assert.equal(formatCsv(response(['n', 'b'], [{ n: 1.5, b: false }])), 'n,b\r\n1.5,false\r\n');
  });
});

describe('formatJson', () => {
  it('prints the API object as one line', () => {
    const answer = response(['a'], [{ a: 'x\ny' }]);
    const text = formatJson(answer);
    assert.equal(text.split('\n').length, 2);
    assert.deepEqual(JSON.parse(text), answer);
  });
});

describe('status formatting', () => {
  it('prints sizes for people', () => {
    assert.equal(humanBytes(512), '512 B');
    assert.equal(humanBytes(1536), '1.5 KiB');
    assert.equal(humanBytes(5 * 1024 ** 3), '5.0 GiB');
  });

  it('aligns labels', () => {
    const text = formatStatus({
      node: 'n1',
      eventsPerSecond: 12.345,
      drops: 2,
      parseErrors: 0,
      storeRows: 10,
      storeBytes: 2048,
    });
    assert.equal(
      text,
      [
        'node          n1',
        'events/s      12.3',
        'drops         2',
        'parse errors  0',
        'store rows    10',
        'store size    2.0 KiB',
        '',
      ].join('\n'),
    );
  });

  it('says how much capture waits unparsed behind the store when the node reports it', () => {
    const text = formatStatus({
      node: 'n1',
      eventsPerSecond: 0,
      drops: 0,
      parseErrors: 0,
      storeRows: 0,
      storeBytes: 0,
      heldBytes: 0,
      heldBytesMax: 3 * 1024 * 1024,
    });
    assert.match(text, /^held unparsed {2}0 B \(at most 3\.0 MiB\)$/m);
  });

  it('says what the HTTP head cache holds and turned away when the node reports it', () => {
    const base = { node: 'n1', eventsPerSecond: 0, drops: 0, parseErrors: 0, storeRows: 0, storeBytes: 0 };
    const text = formatStatus({ ...base, headCache: { heads: 12, limit: 1024, clears: 2, skipped: 480 } });
    assert.match(
      text,
      /^http head cache {2}12 of 1024 heads, emptied 2 times when full, 480 heads not looked up \(seldom repeated\)$/m,
    );
    assert.doesNotMatch(formatStatus(base), /head cache/);
  });

  it('says how many requests the CPU limit shed, by side, and only when it shed some', () => {
    const base = { node: 'n1', eventsPerSecond: 0, drops: 7, parseErrors: 0, storeRows: 0, storeBytes: 0 };
    const text = formatStatus({ ...base, dropsByReason: { cpu_limit_client: 3, cpu_limit_server: 4 } });
    assert.match(text, /^shed \(cpu limit\) {2}4 server, 3 client requests$/m);
    const none = formatStatus({ ...base, dropsByReason: { cpu_limit_client: 0, cpu_limit_server: 0 } });
    assert.doesNotMatch(none, /shed/);
  });
});

/** Captures what a command prints. */
function capture(env: Record<string, string | undefined> = {}): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    fetch: (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => fetch(input, init),
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
  };
  return io;
}

describe('loupe query and loupe status against a running API', () => {
  let instance: DuckDBInstance;
  let open: FastifyInstance;
  let guarded: FastifyInstance;
  let openUrl: string;
  let guardedUrl: string;

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    const runner = await QueryRunner.create(instance, { timeoutMs: 300 });
    const status = () => ({ eventsPerSecond: 1, drops: 0, parseErrors: 0, storeRows: 2, storeBytes: 4096 });
    open = buildApi({ nodeName: 'local', queries: runner, status });
    openUrl = await listenApi(open, 0);
    // Off-loopback rules apply whenever a token is set, so a loopback listener can test them.
    guarded = buildApi({ nodeName: 'local', queries: runner, status, token: 't0ken' });
    guardedUrl = await listenApi(guarded, 0);
  });

  after(async () => {
    await open.close();
    await guarded.close();
    instance.closeSync();
  });

  it('prints a table by default and exits 0', async () => {
    const io = capture();
    const code = await runQueryCommand(['--broker', openUrl, "SELECT 1 AS n, 'x' AS s"], io);
    assert.equal(code, 0, io.err);
    assert.equal(io.out, 'n  s\n-  -\n1  x\n(1 row)\n');
  });

  it('joins unquoted SQL words and prints json or csv', async () => {
    const json = capture();
    assert.equal(
      await runQueryCommand(['--broker', openUrl, '--format', 'json', 'SELECT', '2', 'AS', 'n'], json),
      0,
    );
    const body = JSON.parse(json.out);
    assert.deepEqual(body.columns, ['n']);
    assert.deepEqual(body.rows, [{ n: 2 }]);
    assert.equal(body.nodes[0].name, 'local');
    const csv = capture();
    assert.equal(await runQueryCommand([`--broker=${openUrl}`, '--format=csv', "SELECT 'a,b' AS v"], csv), 0);
    assert.equal(csv.out, 'v\r\n"a,b"\r\n');
  });

  it('exits 2 for refused SQL, 1 for a failed or timed-out query', async () => {
    const refused = capture();
    assert.equal(await runQueryCommand(['--broker', openUrl, 'DROP TABLE x'], refused), 2);
    assert.match(refused.err, /SQL_NOT_SELECT/);
    const failed = capture();
    assert.equal(await runQueryCommand(['--broker', openUrl, 'SELECT * FROM missing_table'], failed), 1);
    assert.match(failed.err, /QUERY_FAILED/);
    const slow = capture();
    assert.equal(
      await runQueryCommand(['--broker', openUrl, 'SELECT count(*) FROM range(1e13::BIGINT)'], slow),
      1,
    );
    assert.match(slow.err, /QUERY_TIMEOUT/);
  });

  it('exits 2 for bad usage', async () => {
    for (const argv of [
      [],
      ['--nope', 'SELECT 1'],
      ['--format', 'xml', 'SELECT 1'],
      ['--broker', 'ftp://x', 'SELECT 1'],
    ]) {
      const io = capture();
      assert.equal(await runQueryCommand(argv, io), 2, argv.join(' '));
      assert.match(io.err, /--help/);
      assert.equal(io.out, '');
    }
    const io = capture();
    assert.equal(await runStatusCommand(['extra'], io), 2);
  });

  it('prints help and exits 0', async () => {
    const query = capture();
    assert.equal(await runQueryCommand(['--help'], query), 0);
    assert.match(query.out, /^Usage: loupe query/);
    const status = capture();
    assert.equal(await runStatusCommand(['-h'], status), 0);
    assert.match(status.out, /^Usage: loupe status/);
  });

  it('exits 1 when the broker cannot be reached', async () => {
    const io = capture();
    assert.equal(await runQueryCommand(['--broker', 'http://127.0.0.1:1', 'SELECT 1'], io), 1);
    assert.match(io.err, /cannot reach/);
  });

  it('sends LOUPE_TOKEN as a bearer token', async () => {
    const without = capture();
    assert.equal(await runQueryCommand(['--broker', guardedUrl, 'SELECT 1'], without), 1);
    assert.match(without.err, /UNAUTHORIZED/);
    const withToken = capture({ LOUPE_TOKEN: 't0ken' });
    assert.equal(
      await runQueryCommand(['--broker', guardedUrl, 'SELECT 1 AS one'], withToken),
      0,
      withToken.err,
    );
    const status = capture({ LOUPE_TOKEN: 't0ken' });
    assert.equal(await runStatusCommand(['--broker', guardedUrl], status), 0, status.err);
    assert.match(status.out, /^node {10}local$/m);
    assert.match(status.out, /^store size {4}4\.0 KiB$/m);
  });
});
