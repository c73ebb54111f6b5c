/** `loupe export har` as a command: the broker is the real query runner behind a fetch the test injects. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CREATE_TABLE_STATEMENTS } from '@loupe/node-collector/dist/src/store/schema.js';
import { QueryRunner } from '@loupe/query-engine/dist/src/query-runner.js';
import { QueryError } from '@loupe/query-engine/dist/src/sql-guard.js';
import { runExportCommand } from '../src/export/export-command.js';
import { validateHar } from '../src/har/har-validator.js';
import { captureIo } from './support/har-fixtures.js';

let instance: DuckDBInstance;
let runner: QueryRunner;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-export-cmd-'));

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  const setup = await instance.connect();
  for (const statement of CREATE_TABLE_STATEMENTS) await setup.run(statement);
  await setup.run(`INSERT INTO http_events (time, node, process, local_addr, local_port, remote_addr, remote_port, role,
    version, req_method, req_path, req_headers, req_body, req_body_size, req_body_truncated, resp_status, resp_message,
    resp_headers, resp_body, resp_body_size, resp_body_truncated, latency_ns, encrypted)
    SELECT TIMESTAMP_NS '2025-03-01 10:00:00' + INTERVAL (i) SECOND, 'n1', 'api', '127.0.0.1', 8080, '127.0.0.1', 50000,
      'server', '1.1', 'GET', '/items/' || i, '{}'::JSON, '', 0, false, 200, 'OK', '{"content-type":"text/plain"}'::JSON,
      'item ' || i, 6, false, 1000000, false FROM range(25) t(i)`);
  setup.closeSync();
  runner = await QueryRunner.create({ connect: () => instance.connect() }, { maxRows: 10 });
});

after(() => {
  instance?.closeSync();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Answers POST /api/v1/query as the API does, from the in-process runner. */
const brokerFetch: typeof fetch = async (_input, init) => {
  const { sql } = JSON.parse(String(init?.body)) as { sql: string };
  try {
    const result = await runner.run(sql);
    return Response.json({ columns: [], rows: result.rows, nodes: [], truncated: result.truncated });
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return Response.json({ code: error.code, message: error.message }, { status: error.statusCode });
  }
};

function io() {
  const captured = captureIo();
  captured.fetch = brokerFetch;
  return captured;
}

test('writes a valid HAR of every matching row, paging past the row cap', async () => {
  const file = path.join(dir, 'api.har');
  const out = io();
  assert.equal(
    await runExportCommand(['har', '--service', 'api:8080', '--limit', '22', '-o', file], out),
    0,
    out.err,
  );
  assert.match(out.err, /exported 22 entries to .*api\.har/);
  const har = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  assert.deepEqual(validateHar(har), []);
  assert.equal((har as { log: { entries: unknown[] } }).log.entries.length, 22);
  assert.deepEqual(fs.readdirSync(dir), ['api.har']);
});

test('-o - writes to stdout; nothing matched is a warning, not an error', async () => {
  const out = io();
  assert.equal(await runExportCommand(['har', '--where', "req_path = '/items/3'", '-o', '-'], out), 0);
  assert.equal((JSON.parse(out.out) as { log: { entries: unknown[] } }).log.entries.length, 1);
  const none = io();
  assert.equal(await runExportCommand(['har', '--service', 'nobody', '-o', '-'], none), 0);
  assert.match(none.err, /exported 0 entries\nwarning: nothing matched/);
});

test('bad usage and a predicate the broker refuses exit 2; an unreachable broker exits 1', async () => {
  const cases: [string[], RegExp][] = [
    [['-o', 'x.har', '--service', 'a'], /expected the format "har"/],
    [['json', '--service', 'a', '-o', 'x'], /expected the format "har", got "json"/],
    [['har', '-o', 'x.har'], /say what to export: --service NAME or --where SQL/],
    [['har', '--service', 'a'], /no output file/],
    [['har', '--service', 'a', '-o', 'x', '--since', 'yesterday'], /--since: not a duration/],
    [['har', '--service', 'a', '-o', 'x', '--limit', '0'], /--limit must be a whole number from 1 to 100000/],
    [['har', '--service', 'a', '-o', 'x', '--role', 'both'], /--role must be server or client/],
    [['har', '--service', 'a', '-o', 'x', '--broker', 'ftp://x'], /not an http\(s\) URL/],
    [
      ['har', '--where', 'no_such_column = 1', '-o', path.join(dir, 'bad.har')],
      /QUERY_FAILED: .*no_such_column/,
    ],
    [['har', '--where', '1 = 1; DROP TABLE http_events', '-o', path.join(dir, 'bad.har')], /SQL_/],
  ];
  for (const [args, message] of cases) {
    const out = io();
    assert.equal(await runExportCommand(args, out), 2, args.join(' '));
    assert.match(out.err, message, args.join(' '));
  }
  const unreachable = captureIo();
  unreachable.fetch = async () => {
    throw new TypeError('fetch failed');
  };
  assert.equal(
    await runExportCommand(['har', '--service', 'a', '-o', path.join(dir, 'x.har')], unreachable),
    1,
  );
  assert.match(unreachable.err, /cannot reach http:\/\/127\.0\.0\.1:7070: fetch failed/);
  const help = io();
  assert.equal(await runExportCommand(['--help'], help), 0);
  assert.match(help.out, /Usage: loupe export har/);
});
