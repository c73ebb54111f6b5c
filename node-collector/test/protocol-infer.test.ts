import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './support/loupe.js';

test('in-kernel protocol inference, compiled for user space, classifies first bytes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-infer-'));
  try {
    const binary = path.join(dir, 'protocol_infer_test');
    execFileSync('cc', [
      '-Wall',
      '-Werror',
      '-o',
      binary,
      path.join(repoRoot, 'bpf/test/protocol_infer_test.c'),
    ]);
    const out = execFileSync(binary, { encoding: 'utf8' });
    assert.equal(out.trim(), 'ok');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
