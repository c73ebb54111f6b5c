import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeldBatches } from '../src/capture/held-batches.js';
import { countRecords } from '../src/capture/wire.js';

/** A batch as the reader thread frames it: per record [u32 size][u32 0][bytes][zero padding to 8]. */
function batch(tag: number, recordSizes: number[]): Buffer {
  const parts = recordSizes.map((size) => {
    const frame = Buffer.alloc(8 + ((size + 7) & ~7));
    frame.writeUInt32LE(size, 0);
    frame.fill(tag, 8, 8 + size);
    return frame;
  });
  return Buffer.concat(parts);
}

/** Batches are told apart by their first record's bytes; `afterDeliver` sees each delivery. */
function harness(maxBytes: number, afterDeliver: (delivered: number[]) => void = () => {}) {
  let busy = false;
  const delivered: number[] = [];
  const held = new HeldBatches({
    maxBytes,
    isBusy: () => busy,
    deliver: (b) => {
      delivered.push(b[8]!);
      afterDeliver(delivered);
    },
    retryMs: 1,
  });
  return {
    held,
    delivered,
    setBusy: (on: boolean) => {
      busy = on;
    },
  };
}

describe('HeldBatches', () => {
  it('counts the records of a batch from its frames', () => {
    assert.equal(countRecords(batch(1, [48, 1, 300, 8])), 4);
    assert.equal(countRecords(Buffer.alloc(0)), 0);
  });

  it('delivers at once while the consumer keeps up', () => {
    const { held, delivered } = harness(1 << 20);
    held.offer(batch(1, [64]));
    held.offer(batch(2, [64]));
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(held.counters.heldBytes, 0);
  });

  it('holds batches while the consumer is busy and delivers them in order once it is not', async () => {
    const { held, delivered, setBusy } = harness(1 << 20);
    held.offer(batch(1, [64]));
    setBusy(true);
    held.offer(batch(2, [64]));
    held.offer(batch(3, [64, 64]));
    assert.deepEqual(delivered, [1]);
    assert.equal(held.counters.heldBytes, 72 + 144);
    setBusy(false);
    // A batch arriving before the held ones are out waits behind them.
    held.offer(batch(4, [64]));
    assert.deepEqual(delivered, [1]);
    await sleep(20);
    assert.deepEqual(delivered, [1, 2, 3, 4]);
    assert.deepEqual(held.counters, { heldBytes: 0, maxHeldBytes: 72 + 144 + 72, droppedRecords: 0 });
  });

  it('stops delivering as soon as the consumer says it is busy again', async () => {
    // The consumer falls behind again after the second batch it takes.
    const { held, delivered, setBusy } = harness(1 << 20, (done) => setBusy(done.length >= 2));
    setBusy(true);
    for (let tag = 1; tag <= 4; tag++) held.offer(batch(tag, [64]));
    setBusy(false);
    await sleep(20);
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(held.counters.heldBytes, 2 * 72);
    held.releaseAll();
  });

  it('drops what does not fit, counting its records, and keeps what it holds', async () => {
    const { held, delivered, setBusy } = harness(200);
    setBusy(true);
    held.offer(batch(1, [64, 64])); // 144 bytes
    held.offer(batch(2, [64, 8, 8])); // 104 bytes: over 200 in all
    held.offer(batch(3, [32])); // 40 bytes: fits
    assert.equal(held.counters.droppedRecords, 3);
    held.releaseAll();
    assert.deepEqual(delivered, [1, 3]);
  });

  it('gives up everything it holds when released at shutdown, busy or not', () => {
    const { held, delivered, setBusy } = harness(1 << 20);
    setBusy(true);
    held.offer(batch(1, [64]));
    held.offer(batch(2, [64]));
    held.releaseAll();
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(held.counters.heldBytes, 0);
  });
});
