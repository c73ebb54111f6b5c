/** Starting and stopping capture leaves no thread, descriptor or kernel program behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SocketCapture } from '../src/capture/socket-capture.js';

const threads = () => fs.readdirSync('/proc/self/task').length;
const descriptors = () => fs.readdirSync('/proc/self/fd').length;

test('start/stop cycles leak no threads or handles', { timeout: 120_000 }, async () => {
  // A first cycle warms up libuv's thread pool and the addon's one-time state.
  const warm = new SocketCapture({ ringBytes: 1 << 20 });
  warm.start(
    () => undefined,
    () => undefined,
  );
  warm.close();
  await new Promise((r) => setTimeout(r, 100));
  const baseline = { threads: threads(), fds: descriptors() };

  for (let i = 0; i < 2; i++) {
    const capture = new SocketCapture({ ringBytes: 1 << 20 });
    let batches = 0;
    capture.start(
      () => undefined,
      () => batches++,
    );
    assert.ok(threads() > baseline.threads, 'the reader thread runs while capturing');
    capture.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual({ threads: threads(), fds: descriptors() }, baseline);
});
