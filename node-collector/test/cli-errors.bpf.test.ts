/** The CLI names what is missing and exits 2: no privileges, a bad flag, a namespace that does not exist. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loupeBin } from './support/loupe.js';

function loupe(args: string[], asUser?: number) {
  const command = asUser === undefined ? 'node' : 'setpriv';
  const prefix =
    asUser === undefined ? [] : [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', 'node'];
  return spawnSync(command, [...prefix, loupeBin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('without privileges, loupe up says what is missing and exits 2', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-noroot-'));
  fs.chmodSync(dataDir, 0o777);
  const r = loupe(['up', '--port', '0', '--data-dir', dataDir], 65534);
  fs.rmSync(dataDir, { recursive: true, force: true });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /needs root \(or CAP_BPF and CAP_PERFMON\)/);
  assert.match(r.stderr, /missing: privileges/);
});

test('an unknown flag or a bad value is a usage error', () => {
  const bad = loupe(['up', '--no-such-flag']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--no-such-flag'/);
  const size = loupe(['up', '--retention-size', 'lots']);
  assert.equal(size.status, 2);
  assert.match(size.stderr, /not a size/);
  assert.equal(loupe(['frobnicate']).status, 2);
});

test('a network namespace that does not exist is named', () => {
  const r = loupe(['up', '--port', '0', '--data-dir', os.tmpdir(), '--netns', '/run/netns/does-not-exist']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no such namespace file \/run\/netns\/does-not-exist/);
});
