/**
 * Capture batches kept as they came from the kernel while the store is behind.
 *
 * Parsing is faster than storing: under a load the collector cannot keep up with, parsed rows used to pile up in
 * the store's pending queue as JavaScript objects, several times the size of the records they came from, and
 * V8's heap grew by a hundred MiB. Holding the raw batches instead keeps the backlog compact, and a parsed row
 * waits only for the store's next chunk. The held bytes are bounded: a batch that does not fit is dropped and
 * its records counted.
 */
import { countRecords } from './wire.js';

export interface HeldBatchesOptions {
  /** Raw bytes held at most; batches beyond are dropped and counted. */
  maxBytes: number;
  /** True while the consumer has more work queued than it should take on. */
  isBusy: () => boolean;
  /** Parses one batch. */
  deliver: (batch: Buffer) => void;
  /** How often a busy consumer is asked again. */
  retryMs?: number;
}

export class HeldBatches {
  private readonly queue: Buffer[] = [];
  private heldBytes = 0;
  private retry: NodeJS.Timeout | null = null;
  private maxHeldBytes = 0;
  /** Records in batches dropped for want of room. */
  private droppedRecords = 0;

  constructor(private readonly options: HeldBatchesOptions) {}

  /** Delivers the batch now, or holds it behind earlier ones while the consumer is busy. */
  offer(batch: Buffer): void {
    if (this.queue.length === 0 && !this.options.isBusy()) {
      this.options.deliver(batch);
      return;
    }
    if (this.heldBytes + batch.length > this.options.maxBytes) {
      this.droppedRecords += countRecords(batch);
      return;
    }
    this.queue.push(batch);
    this.heldBytes += batch.length;
    this.maxHeldBytes = Math.max(this.maxHeldBytes, this.heldBytes);
    this.scheduleRetry();
  }

  /** Delivers everything held, busy or not (at shutdown: nothing held is lost). */
  releaseAll(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.release(() => false);
  }

  get counters(): { heldBytes: number; maxHeldBytes: number; droppedRecords: number } {
    return {
      heldBytes: this.heldBytes,
      maxHeldBytes: this.maxHeldBytes,
      droppedRecords: this.droppedRecords,
    };
  }

  private scheduleRetry(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.release(this.options.isBusy);
      if (this.queue.length > 0) this.scheduleRetry();
    }, this.options.retryMs ?? 5);
    // Held batches alone do not keep a process alive: capture's own handles do, and close releases them.
    this.retry.unref();
  }

  /** Delivers held batches in order until the consumer says it is busy. */
  private release(isBusy: () => boolean): void {
    let next = 0;
    while (next < this.queue.length && !isBusy()) {
      const batch = this.queue[next]!;
      next += 1;
      this.heldBytes -= batch.length;
      this.options.deliver(batch);
    }
    this.queue.splice(0, next);
  }
}
