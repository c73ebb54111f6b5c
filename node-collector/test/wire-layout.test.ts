import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCaptureAddon } from '../src/capture/native.js';
import { WIRE } from '../src/capture/wire.js';
import { DROP_REASONS } from '../src/capture/wire.js';

test('TypeScript wire offsets match the C structs compiled into the addon', () => {
  const layout = loadCaptureAddon().layout();
  const mirrored: Record<string, number> = {};
  for (const [struct, fields] of Object.entries(WIRE)) {
    for (const [field, value] of Object.entries(fields)) mirrored[`${struct}.${field}`] = value;
  }
  const fromC = Object.fromEntries(Object.entries(layout).filter(([k]) => k.includes('.')));
  assert.deepEqual(mirrored, fromC);
  assert.equal(layout['drop_reasons'], DROP_REASONS.length);
});
