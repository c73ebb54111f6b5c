/**
 * 32-bit processes make their syscalls with the 32-bit table's numbers and registers; read as 64-bit ones they would
 * be nonsense. The tracer must not record them: a 32-bit client that calls getpid and brk with registers that read
 * as writev and recvfrom of an HTTP exchange leaves no client-side row, while the 64-bit server it really talks to is
 * captured as usual.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, run, start, stopAll, waitForPort } from './support/processes.js';
import { repoRoot, startLoupeUp, supportDir, type LoupeUp } from './support/loupe.js';

let loupe: LoupeUp;
let port: number;
let workDir: string;
let client: string;
let runs32Bit = false;

/**
 * Whether this kernel runs 32-bit x86 programs at all: IA32 emulation can be left out of a kernel or switched off
 * at boot, and then no process can make the syscalls this test is about. (An exec that the kernel refuses as not
 * executable falls back to /bin/sh, so the probe checks its exit code, not whether it started.)
 */
function kernelRuns32BitPrograms(dir: string): boolean {
  const source = path.join(dir, 'exit42.S');
  const binary = path.join(dir, 'exit42');
  fs.writeFileSync(source, '.globl _start\n_start:\n  movl $1, %eax\n  movl $42, %ebx\n  int $0x80\n');
  execFileSync('gcc', ['-m32', '-nostdlib', '-static', '-o', binary, source]);
  return spawnSync(binary, { stdio: 'ignore' }).status === 42;
}

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-compat32-'));
  runs32Bit = kernelRuns32BitPrograms(workDir);
  if (!runs32Bit) return;
  client = path.join(workDir, 'compat32-client');
  await run('gcc', [
    '-m32',
    '-nostdlib',
    '-static',
    '-o',
    client,
    path.join(repoRoot, 'node-collector/test/support/compat32-client.S'),
  ]);
  port = await freePort();
  start('node', [path.join(supportDir, 'node-http-server.js'), String(port)]);
  await waitForPort(port);
  loupe = await startLoupeUp(await freePort());
});

after(async () => {
  await loupe?.stop();
  await stopAll();
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('32-bit syscalls are not read as 64-bit ones', { timeout: 60_000 }, async (t) => {
  if (!runs32Bit) {
    t.skip('this kernel does not run 32-bit programs (no IA32 emulation)');
    return;
  }
  await run(client, [String(port)]);
  // A 64-bit client afterwards: once its rows are in, the 32-bit client's would be too.
  await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/hello?from=curl`]);
  const rows = await loupe.waitForRows<{ role: string; req_path: string }>(
    `SELECT role, req_path FROM http_events WHERE starts_with(req_path, '/hello?from=') ORDER BY req_path, role`,
    (r) => r.filter((row) => row.req_path === '/hello?from=curl').length >= 2,
  );
  assert.deepEqual(rows, [
    { role: 'server', req_path: '/hello?from=compat32' },
    { role: 'client', req_path: '/hello?from=curl' },
    { role: 'server', req_path: '/hello?from=curl' },
  ]);
});
