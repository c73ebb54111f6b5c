import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryGovernor } from '../src/cli/memory-policy.js';

const MIB = 1024 * 1024;

describe('MemoryGovernor', () => {
  it('holds the heap tight near its RSS target and lets go well below it, trimming malloc only near it', () => {
    let trims = 0;
    const governor = new MemoryGovernor(100 * MIB, () => trims++);
    try {
      governor.check(70 * MIB);
      assert.deepEqual([governor.isTight, trims], [false, 0]);
      governor.check(81 * MIB); // tight above 80 %, trimming only above 85 %
      assert.deepEqual([governor.isTight, trims], [true, 0]);
      governor.check(86 * MIB);
      assert.deepEqual([governor.isTight, trims], [true, 1]);
      governor.check(75 * MIB); // between the two thresholds: stays tight
      assert.deepEqual([governor.isTight, trims], [true, 1]);
      governor.check(69 * MIB);
      assert.deepEqual([governor.isTight, trims], [false, 1]);
      governor.check(75 * MIB);
      assert.deepEqual([governor.isTight, trims], [false, 1]);
      governor.check(90 * MIB);
      assert.deepEqual([governor.isTight, trims], [true, 2]);
    } finally {
      governor.stop();
    }
  });
});
