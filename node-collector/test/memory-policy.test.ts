import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryGovernor } from '../src/cli/memory-policy.js';

const MIB = 1024 * 1024;

describe('MemoryGovernor', () => {
  it('holds the heap tight near its RSS target and lets go well below it, without flapping in between', () => {
    const governor = new MemoryGovernor(100 * MIB);
    try {
      governor.check(70 * MIB);
      assert.equal(governor.isTight, false);
      governor.check(81 * MIB);
      assert.equal(governor.isTight, true);
      governor.check(75 * MIB); // between the two thresholds: stays as it is
      assert.equal(governor.isTight, true);
      governor.check(69 * MIB);
      assert.equal(governor.isTight, false);
      governor.check(75 * MIB);
      assert.equal(governor.isTight, false);
    } finally {
      governor.stop();
    }
  });
});
