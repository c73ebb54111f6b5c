/**
 * Replay throughput: requests per second that `loupe replay` sends, receives and diffs (JSON, field by field)
 * against nginx serving a small fixed JSON reply, beside wrk's requests per second against the same nginx in the
 * same run. wrk only sends and counts; the ratio says what comparing every response costs on top of a plain
 * load generator. No eBPF involved: this measures the replay engine alone.
 *
 * Usage: node bench/replay-throughput.mjs [--entries 20000] [--connections 32] [--wrk-seconds 5]
 */
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { fmt, freePort, header, loupeBin, ratio, runCommand, startNginx, tempDir } from './lib.mjs';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '32' },
    'wrk-seconds': { type: 'string', default: '5' },
  },
});
const entries = Number(values.entries);
const connections = Number(values.connections);
const wrkSeconds = Number(values['wrk-seconds']);
const BODY = '{"ok":true,"items":[{"id":1,"name":"lens"},{"id":2,"name":"strap"}],"total":2}';

/** What a capture of that nginx would export: the requests spread over `connections` keep-alive connections. */
function recordedHar(port) {
  const entry = (i) => ({
    startedDateTime: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, i)).toISOString(),
    time: 0.1,
    request: {
      method: 'GET',
      url: `http://127.0.0.1:${port}/small?i=${i}`,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [{ name: 'host', value: `127.0.0.1:${port}` }],
      queryString: [{ name: 'i', value: String(i) }],
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [{ name: 'content-type', value: 'application/json' }],
      content: { size: BODY.length, mimeType: 'application/json', text: BODY },
      redirectURL: '',
      headersSize: -1,
      bodySize: BODY.length,
    },
    cache: {},
    timings: { send: 0, wait: 0.1, receive: 0 },
    connection: `bench/conn-${i % connections}`,
  });
  return {
    log: {
      version: '1.2',
      creator: { name: 'bench', version: '0' },
      entries: Array.from({ length: entries }, (_, i) => entry(i)),
    },
  };
}

async function wrkRate(port) {
  const out = await runCommand(
    'wrk',
    ['-t2', `-c${connections}`, `-d${wrkSeconds}s`, `http://127.0.0.1:${port}/small`],
    (wrkSeconds + 30) * 1000,
  );
  const rate = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(rate)) throw new Error(`cannot read wrk's output:\n${out}`);
  return rate;
}

/** Runs the real CLI; its summary line says how long sending and comparing took (startup and HAR parse excluded). */
async function replayRate(file, port) {
  const out = await runCommand(
    'node',
    [loupeBin, 'replay', file, '--target', `http://127.0.0.1:${port}`, '--concurrency', String(connections)],
    120_000,
  );
  const match = /replayed (\d+) requests .* in ([\d.]+) s\n\s+passed (\d+), failed (\d+)/.exec(out);
  if (!match) throw new Error(`cannot read loupe replay's summary:\n${out}`);
  const [, replayed, seconds, passed] = match.map(Number);
  if (passed !== replayed) throw new Error(`only ${passed} of ${replayed} responses matched:\n${out}`);
  return { rate: replayed / seconds, seconds };
}

if (!fs.existsSync(path.join(path.dirname(loupeBin), '../replay/dist/src/replay/replay-command.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
header(`replay throughput: ${entries} requests over ${connections} connections, JSON diff of each, vs wrk`);
const port = await freePort();
const nginx = await startNginx(
  port,
  `location = /small { default_type application/json; return 200 '${BODY}'; }`,
);
const work = tempDir('loupe-bench-replay-');
try {
  const file = path.join(work.dir, 'bench.har');
  fs.writeFileSync(file, JSON.stringify(recordedHar(port)));
  // Warm nginx and the page cache once, so neither side pays for a cold start.
  await runCommand('wrk', ['-t1', '-c4', '-d1s', `http://127.0.0.1:${port}/small`], 30_000);
  const replay = await replayRate(file, port);
  const wrk = await wrkRate(port);
  console.log(
    `loupe replay: ${fmt.n(replay.rate)} requests/s (${entries} in ${replay.seconds} s, every response diffed)`,
  );
  console.log(`wrk:          ${fmt.n(wrk)} requests/s (${wrkSeconds} s, 2 threads, no checking)`);
  console.log(`ratio replay/wrk: ${fmt.r(ratio(replay.rate, wrk))}`);
  console.log(
    `RESULT replay-throughput replay_rps=${fmt.n(replay.rate)} wrk_rps=${fmt.n(wrk)} ratio=${fmt.r(ratio(replay.rate, wrk))}`,
  );
} finally {
  work.remove();
  await nginx.stop();
}
