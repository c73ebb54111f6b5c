/** The reader's data allowance, which the CPU limit sets: records beyond it are discarded and counted. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { CaptureEvent } from '../src/capture/events.js';
import { SocketCapture } from '../src/capture/socket-capture.js';
import { freePort, run, start, stopAll, waitForPort } from './support/processes.js';

const serverScript = fileURLToPath(new URL('./support/node-http-server.js', import.meta.url));

after(stopAll);

test(
  'data records beyond the allowance are shed and counted, connection records still pass',
  { timeout: 60_000 },
  async () => {
    const port = await freePort();
    const server = start(process.execPath, [serverScript, String(port)]);
    await waitForPort(port);
    const capture = new SocketCapture({ ringBytes: 1 << 20 });
    const seen = { data: 0, open: 0 };
    capture.start(
      (event: CaptureEvent) => {
        if (event.kind === 'data' && event.tgid === server.pid) seen.data += 1;
        if (event.kind === 'open' && event.tgid === server.pid) seen.open += 1;
      },
      () => undefined,
    );
    try {
      const settle = () => new Promise((r) => setTimeout(r, 300));
      const curl = () => run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/hello`]);

      capture.setDataAllowance(0);
      await curl();
      await settle();
      assert.equal(seen.data, 0, 'no data record of the server passes an allowance of 0');
      assert.ok(seen.open >= 1, 'its connection is still reported');
      const shed = capture.counters().drops['cpu_limit'] ?? 0;
      assert.ok(shed >= 4, `the exchange's data records are counted (${shed})`);
      const passedBefore = capture.dataRecordsPassed();

      capture.setDataAllowance(-1);
      await curl();
      await settle();
      assert.ok(seen.data >= 2, 'without a limit the server side is captured again');
      assert.equal(capture.counters().drops['cpu_limit'], shed, 'and nothing more is shed');
      assert.ok(capture.dataRecordsPassed() >= passedBefore + 4, 'the reader counts what it passes');
    } finally {
      capture.close();
      await server.stop();
    }
  },
);
