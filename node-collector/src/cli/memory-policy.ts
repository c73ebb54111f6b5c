/**
 * Process-wide memory settings for a collector, which parses and stores for as long as it runs.
 *
 * Measured at 20,000 requests/s (bench/capture-loss.mjs), these, the held capture batches and the node flag the
 * launchers pass (--max-semi-space-size=8) took peak RSS from about 340 MiB to 230-265.
 */
import v8 from 'node:v8';
import { loadCaptureAddon } from '../capture/native.js';

/** DuckDB's blocks are 256 KiB: from this size up, freed memory goes back to the system at once. */
const MMAP_THRESHOLD_BYTES = 128 * 1024;

/** RSS the collector aims to stay under, and where it starts to spend CPU on that (see MemoryGovernor). */
const RSS_TARGET_BYTES = 256 * 1024 * 1024;
const TIGHT_ABOVE = 0.8;
const RELAX_BELOW = 0.7;
const CHECK_EVERY_MS = 500;

export function applyCollectorMemoryPolicy(): void {
  // glibc raises its mmap threshold whenever a mapped block is freed; DuckDB's blocks then come from the arenas,
  // which kept about 60 MiB of freed memory under load. A fixed threshold keeps them mapped on their own.
  loadCaptureAddon().fixMmapThreshold(MMAP_THRESHOLD_BYTES);
}

/**
 * Under a heavy load, parsed rows reach V8's old space, where garbage piles up until the heap has grown to several
 * times what is live: about 100 MiB more at 20k requests/s. Letting the heap grow by only 30 % between full
 * collections bounds that, but costs about 15 % more CPU at that rate, so it is switched on only while RSS is
 * near the target (the way a soft memory limit works in Go). V8 reads the flag at every full collection.
 */
export class MemoryGovernor {
  private timer: NodeJS.Timeout | null = null;
  private tight = false;

  constructor(private readonly targetBytes: number = RSS_TARGET_BYTES) {}

  start(): void {
    this.timer = setInterval(() => this.check(process.memoryUsage.rss()), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.setTight(false);
  }

  /** Tightens above TIGHT_ABOVE of the target, relaxes below RELAX_BELOW (a gap, so it does not flap). */
  check(rssBytes: number): void {
    if (!this.tight && rssBytes > this.targetBytes * TIGHT_ABOVE) this.setTight(true);
    else if (this.tight && rssBytes < this.targetBytes * RELAX_BELOW) this.setTight(false);
  }

  get isTight(): boolean {
    return this.tight;
  }

  private setTight(on: boolean): void {
    if (on === this.tight) return;
    this.tight = on;
    v8.setFlagsFromString(`--heap-growing-percent=${on ? 30 : 0}`);
  }
}
