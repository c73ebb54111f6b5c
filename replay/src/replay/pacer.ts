/** --rate: spaces request starts evenly across all lanes, so the target sees at most R requests per second. */

import { setTimeout as sleep } from 'node:timers/promises';

export class Pacer {
  private nextSlot = 0;
  private readonly intervalMs: number;

  /** @param ratePerSecond undefined: no limit */
  constructor(ratePerSecond: number | undefined) {
    this.intervalMs = ratePerSecond === undefined ? 0 : 1000 / ratePerSecond;
  }

  /** Resolves when the caller may start its request. */
  async wait(): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = performance.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await sleep(slot - now);
  }
}
