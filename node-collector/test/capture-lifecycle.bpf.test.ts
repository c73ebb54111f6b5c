/** Starting and stopping capture leaves no thread, descriptor or kernel program behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

test(
  'the programs load in a process that a sampling profiler signals every 50 µs',
  { timeout: 120_000 },
  () => {
    // The verifier gives up with EAGAIN when a signal interrupts it; the load must hold them off meanwhile.
    const profiles = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-prof-'));
    try {
      const captureModule = fileURLToPath(new URL('../src/capture/socket-capture.js', import.meta.url));
      const script = `
      const { SocketCapture } = await import(${JSON.stringify(captureModule)});
      const capture = new SocketCapture({ ringBytes: 1 << 20 });
      capture.start(() => undefined, () => undefined);
      capture.close();
      console.log('loaded');`;
      const run = spawnSync(
        process.execPath,
        [
          '--cpu-prof',
          '--cpu-prof-interval=50',
          `--cpu-prof-dir=${profiles}`,
          '--input-type=module',
          '-e',
          script,
        ],
        { encoding: 'utf8', timeout: 100_000 },
      );
      assert.equal(run.stdout.trim(), 'loaded', run.stderr.slice(0, 2000));
      assert.equal(run.status, 0);
      assert.equal(fs.readdirSync(profiles).length, 1, 'the profiler ran');
    } finally {
      fs.rmSync(profiles, { recursive: true, force: true });
    }
  },
);

test('the programs pass the verifier at every capture size the CLI allows', { timeout: 120_000 }, () => {
  // The capture size is a constant the verifier knows: the states it explores, and so whether a program is
  // within its limit, depend on it (iovec records once passed the limit at 1 KiB and not at 16 KiB).
  for (const captureBytes of [1, 1024, 8191, 8193, 16384]) {
    const capture = new SocketCapture({ ringBytes: 1 << 20, captureBytes, fullCaptureBytes: 64 * 1024 });
    capture.start(
      () => undefined,
      () => undefined,
    );
    capture.close();
  }
});
