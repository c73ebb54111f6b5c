import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryGovernor } from '../src/cli/memory-policy.js';

const MIB = 1024 * 1024;

describe('MemoryGovernor', () => {
  it('holds the heap tight near its RSS target and lets go well below it, trimming malloc only near it', () => {
    let trims = 0;
    // Every trim hands back all there is (RSS reads 0 after it), so none is put off.
    const governor = new MemoryGovernor(
      100 * MIB,
      () => trims++,
      () => 0,
    );
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

  it('trims ever less often while trims hand little back, and at every check again once one hands much back', () => {
    let rss = 90 * MIB;
    let handsBack = 1 * MIB;
    const trimmedAt: number[] = [];
    let check = 0;
    const governor = new MemoryGovernor(
      100 * MIB,
      () => {
        trimmedAt.push(check);
        rss -= handsBack;
      },
      () => rss,
    );
    const checks = (count: number, rssMib = 90): void => {
      for (let i = 0; i < count; i++) {
        check += 1;
        rss = rssMib * MIB;
        governor.check(rss);
      }
    };
    try {
      checks(130);
      // The gap doubles after every trim that handed back 1 MiB, up to 32 checks.
      assert.deepEqual(trimmedAt, [1, 3, 7, 15, 31, 63, 95, 127]);
      checks(5, 92); // 3 MiB above where the last trim left RSS (89): still put off
      assert.equal(trimmedAt.length, 8);
      checks(1, 93); // 4 MiB above it: trimmed at once, 27 checks before its turn
      assert.deepEqual(trimmedAt.slice(8), [136]);
      handsBack = 8 * MIB;
      checks(40); // the next trim is due at check 168; it hands back 8 MiB, so every check trims after it
      assert.deepEqual(trimmedAt.slice(9), [168, 169, 170, 171, 172, 173, 174, 175, 176]);
      governor.check(50 * MIB); // far below the target: no trim
      assert.equal(trimmedAt.length, 18);
    } finally {
      governor.stop();
    }
  });
});
