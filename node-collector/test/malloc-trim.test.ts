/**
 * Near its RSS target, the collector hands malloc's free memory back to the system on a timer (MemoryGovernor),
 * instead of giving every large allocation a mapping of its own. This checks the native half on a real heap:
 * memory freed in the middle of an arena, which glibc keeps, goes back to the system when trimmed; and the
 * governor's timer on this process's real RSS.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { addonPath } from '../src/capture/native.js';
import { MemoryGovernor } from '../src/cli/memory-policy.js';

const MIB = 1024 * 1024;

/**
 * In a node of its own (for --expose-gc and a clean heap): 2,000 buffers of 64 KiB, below glibc's mmap threshold
 * so that they come from an arena; every other one is freed, so that the free memory lies between live buffers
 * and cannot go back by shrinking the heap's top. RSS after the collection, then after trimMalloc().
 */
const CHILD = `
const addon = require(${JSON.stringify(addonPath)});
const rssKb = () => Number(/^VmRSS:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
let buffers = Array.from({ length: 2000 }, () => Buffer.alloc(64 * 1024, 1));
buffers = buffers.filter((_, i) => i % 2 === 0);
globalThis.gc();
globalThis.gc();
const before = rssKb();
const released = addon.trimMalloc();
const after = rssKb();
console.log(JSON.stringify({ before, after, released, kept: buffers.length }));
`;

describe('malloc trimming', () => {
  it('gives freed arena memory back to the system, which glibc alone keeps', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', CHILD], { encoding: 'utf8' });
    const { before, after, released, kept } = JSON.parse(out) as {
      before: number;
      after: number;
      released: boolean;
      kept: number;
    };
    assert.equal(kept, 1000);
    assert.equal(released, true);
    // 1,000 freed buffers of 64 KiB: about 62 MiB, all of it still resident before the trim.
    assert.ok((before - after) * 1024 > 40 * MIB, `RSS ${before} kB before the trim, ${after} kB after`);
  });

  it('trims on the timer of the governor while RSS is near its target, and not far below it', async () => {
    const trimsIn1100Ms = async (targetBytes: number): Promise<number> => {
      let trims = 0;
      const governor = new MemoryGovernor(targetBytes, () => (trims += 1));
      governor.start();
      try {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        return trims;
      } finally {
        governor.stop();
      }
    };
    const rss = process.memoryUsage.rss();
    const near = await trimsIn1100Ms(rss); // RSS is above TRIM_ABOVE of a target this size
    // The first check trims; the second may be put off if that trim handed little back.
    assert.ok(near >= 1, `${near} trims in 1.1 s at RSS ${rss} against a target of the same size`);
    const far = await trimsIn1100Ms(rss * 100);
    assert.equal(far, 0, `RSS ${rss} is far below a target of ${rss * 100}`);
  });
});
