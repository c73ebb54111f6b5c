/**
 * Load shedding in the kernel under the CPU limit: with an allowance of 0 exchanges, whole requests and their
 * answers are left out before any copy and counted per side; the connection goes on being parsed cleanly when
 * admission resumes, and a prepared statement's text survives executions that were shed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { CaptureEvent } from '../src/capture/events.js';
import { SocketCapture } from '../src/capture/socket-capture.js';
import { ConnectionTracker } from '../src/conn/connection-tracker.js';
import { mysqlSessionFactory } from '../src/protocols/mysql/mysql-session.js';
import { pgsqlSessionFactory } from '../src/protocols/pgsql/pgsql-session.js';
import type { HttpRecord, MysqlRecord, PgsqlRecord } from '../src/store/records.js';
import { startMariadb, startPostgres, type DatabaseServer } from './support/databases.js';
import { supportDir } from './support/loupe.js';
import { freePort, start, stopAll, waitForPort, type Running } from './support/processes.js';

after(stopAll);

const FIRST = 6;
const SECOND = 4;

/** Capture feeding a tracker with the events `keep` selects. */
function captureOf(keep: (event: CaptureEvent) => boolean) {
  const capture = new SocketCapture({ ringBytes: 1 << 20 });
  const records = { http: [] as HttpRecord[], pgsql: [] as PgsqlRecord[], mysql: [] as MysqlRecord[] };
  const tracker = new ConnectionTracker({
    processName: () => 'server',
    onHttp: (r) => records.http.push(r),
    onConnStats: () => undefined,
    sessions: {
      pgsql: pgsqlSessionFactory((r) => records.pgsql.push(r)),
      mysql: mysqlSessionFactory((r) => records.mysql.push(r)),
    },
  });
  capture.start(
    (event: CaptureEvent) => {
      if (keep(event)) tracker.handleEvent(event);
    },
    () => undefined,
  );
  const shed = () => {
    const drops = capture.counters().drops;
    return { client: drops['cpu_limit_client'] ?? 0, server: drops['cpu_limit_server'] ?? 0 };
  };
  return { capture, tracker, records, shed };
}

const settle = () => new Promise((r) => setTimeout(r, 400));

/** Runs the stepped client's three steps: admitted, shed (allowance 0), admitted again. */
async function runSteps(
  capture: SocketCapture,
  driver: string,
  port: number,
  firstAllowance: number,
): Promise<Running> {
  capture.setExchangeAllowance(firstAllowance);
  const client = start('node', [
    path.join(supportDir, 'stepped-client.js'),
    driver,
    String(port),
    String(FIRST),
    String(SECOND),
  ]);
  await client.waitForLine(/step 1/, 20_000);
  capture.setExchangeAllowance(0);
  client.child.stdin!.write('go\n');
  await client.waitForLine(/step 2/, 20_000);
  capture.setExchangeAllowance(-1);
  client.child.stdin!.write('go\n');
  await client.waitForLine(/step 3/, 20_000);
  await settle();
  return client;
}

test(
  'HTTP: shed requests are counted on both sides and parsing goes on cleanly',
  { timeout: 60_000 },
  async () => {
    const port = await freePort();
    const server = start('node', [path.join(supportDir, 'node-http-server.js'), String(port)]);
    await waitForPort(port);
    // Only the server's events, so that the parse counters are its own.
    const { capture, tracker, records, shed } = captureOf((event) => event.tgid === server.pid);
    try {
      const before = shed();
      await runSteps(capture, 'http', port, -1);
      const after = shed();
      const paths = records.http.filter((r) => r.role === 'server').map((r) => r.reqPath);
      const expected = [
        '/status/200?v=0',
        ...Array.from({ length: SECOND }, (_, i) => `/status/200?v=${2000 + i}`),
      ];
      assert.deepEqual(
        paths,
        expected,
        'the first request and the last step are stored, the middle step is not',
      );
      assert.ok(records.http.every((r) => r.respStatus === 200));
      assert.equal(after.server - before.server, FIRST, 'every shed request is counted on the server side');
      // The counters are the machine's: another client's request in this window would be counted too.
      const shedClient = after.client - before.client;
      assert.ok(shedClient >= FIRST, `and on the client side (${shedClient})`);
      const c = tracker.counters;
      assert.equal(c.gaps, 0, 'shed ranges are not gaps');
      assert.equal(c.resyncs, 0, 'the parsers never lost their place');
      assert.ok(c.shedBytes > 0);
    } finally {
      capture.close();
      await server.stop();
    }
  },
);

/** The statement records of the server side: prepared statement executions with their text and parameter. */
async function sqlCase(
  driver: 'pg' | 'mysql2',
  startServer: (port: number) => Promise<DatabaseServer>,
  executions: (records: { pgsql: PgsqlRecord[]; mysql: MysqlRecord[] }) => { req: string; param: string }[],
  text: RegExp,
): Promise<void> {
  const server = await startServer(await freePort());
  // PostgreSQL serves each connection from a process of its own: records are told apart by the server's port.
  const { capture, records, shed } = captureOf(() => true);
  try {
    const before = shed();
    // Shedding from the start: the connection's setup and the statement's preparation are admitted anyway.
    await runSteps(capture, driver, server.port, 0);
    const after = shed();
    const done = executions({
      pgsql: records.pgsql.filter((r) => r.role === 'server' && r.localPort === server.port),
      mysql: records.mysql.filter((r) => r.role === 'server' && r.localPort === server.port),
    });
    const shedServer = after.server - before.server;
    assert.equal(
      done.length + shedServer,
      1 + FIRST + SECOND,
      'every execution is stored or counted as shed',
    );
    assert.ok(shedServer >= FIRST - 2, `the middle step was shed (${shedServer})`);
    const last = done.slice(-SECOND);
    assert.deepEqual(
      last.map((r) => r.param),
      Array.from({ length: SECOND }, (_, i) => String(2000 + i)),
      'the executions after the shed ones are stored in order',
    );
    for (const r of last) assert.match(r.req, text, 'with the text of the statement prepared before');
  } finally {
    capture.close();
    await server.stop();
  }
}

test(
  'PostgreSQL: a named statement prepared while shedding keeps its text for later executions',
  { timeout: 120_000 },
  async () => {
    await sqlCase(
      'pg',
      startPostgres,
      (r) =>
        r.pgsql
          .filter((x) => x.reqCmd === 'Execute')
          .map((x) => ({ req: x.req, param: x.reqParams[0] ?? '' })),
      /SELECT \$1::int \+ 1 AS next/,
    );
  },
);

test('MariaDB: COM_STMT_PREPARE is never shed, executions are', { timeout: 120_000 }, async () => {
  await sqlCase(
    'mysql2',
    startMariadb,
    (r) =>
      r.mysql
        .filter((x) => x.reqCmd === 'COM_STMT_EXECUTE')
        .map((x) => ({ req: x.req, param: x.reqParams[0] ?? '' })),
    /SELECT \? \+ 1 AS next/,
  );
});
