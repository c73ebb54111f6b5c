/**
 * How a collector, which parses and stores for as long as it runs, keeps its memory near what it uses.
 *
 * Measured at 20,000 requests/s (bench/capture-loss.mjs), this, the held capture batches and the node flag the
 * launchers pass (--max-semi-space-size=8) took peak RSS from about 340 MiB to 210-235.
 */
import v8 from 'node:v8';
import { loadCaptureAddon } from '../capture/native.js';

/** RSS the collector aims to stay under, and where it starts to spend CPU on that (see MemoryGovernor). */
const RSS_TARGET_BYTES = 256 * 1024 * 1024;
const TIGHT_ABOVE = 0.8;
const RELAX_BELOW = 0.7;
/** Where malloc's free memory starts going back to the system (see check). */
const TRIM_ABOVE = 0.85;
/** A trim that hands back less than this doubles the checks until the next one, up to TRIM_EVERY_MAX. */
const TRIM_WORTH_BYTES = 4 * 1024 * 1024;
const TRIM_EVERY_MAX = 32;
const CHECK_EVERY_MS = 500;

/**
 * Under a heavy load, parsed rows reach V8's old space, where garbage piles up until the heap has grown to several
 * times what is live: about 100 MiB more at 20k requests/s. Letting the heap grow by only 30 % between full
 * collections bounds that, but costs about 15 % more CPU at that rate, so it is switched on only while RSS is
 * near the target (the way a soft memory limit works in Go). V8 reads the flag at every full collection.
 */
export class MemoryGovernor {
  private timer: NodeJS.Timeout | null = null;
  private tight = false;
  /** Checks above TRIM_ABOVE from one trim to the next, and how many are left before the next. */
  private trimEvery = 1;
  private checksToTrim = 0;
  private rssAfterTrim = 0;

  constructor(
    private readonly targetBytes: number = RSS_TARGET_BYTES,
    private readonly trimMalloc: () => void = () => loadCaptureAddon().trimMalloc(),
    private readonly readRss: () => number = () => process.memoryUsage.rss(),
  ) {}

  /** Checks RSS every CHECK_EVERY_MS (see check). */
  start(): void {
    this.timer = setInterval(() => this.check(this.readRss()), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.setTight(false);
  }

  /**
   * Tightens the heap above TIGHT_ABOVE of the target and relaxes it below RELAX_BELOW (a gap, so that the flag
   * does not flap).
   *
   * Above TRIM_ABOVE it also hands malloc's free memory back to the system. DuckDB frees its 256 KiB blocks and
   * larger buffers all the time under load, and glibc keeps what is freed in its arenas (about 60 MiB at 20,000
   * requests/s). Fixing glibc's mmap threshold at 128 KiB instead gave each of those allocations a mapping of its
   * own, faulted in and zeroed anew every time: a third more CPU in DuckDB alone on the recorded batch, and 10-25 %
   * more for the collector at 20,000 requests/s, for an RSS in the same range. It trims only above TRIM_ABOVE,
   * since a trim costs twice: malloc_trim walks every arena on this thread, and what goes back is faulted in
   * again, page by page, when malloc hands it out next. At 2,000 requests/s, with RSS at 206-213 MiB,
   * collector-cpu.mjs measured 16.4-17.4 µs per request trimming above 85 % and 22.2-24.0 above 80 %, while at
   * 20,000 requests/s RSS peaked at 228-231 MiB either way (docs/design-notes.md, "Memory near the RSS target").
   *
   * Above TRIM_ABOVE, what holds RSS there may not be malloc's: DuckDB allocates its blocks with an allocator of
   * its own, and its memory can fill to the store's limit (it did within two minutes at 2,000 requests/s before
   * the store checkpointed rows held in memory, see IN_MEMORY_CHECKPOINT_BYTES). A trim then hands back only the
   * little malloc freed since the last one, which is faulted in again: trimming at every check doubled the
   * collector's page faults. So a trim that gives back less than TRIM_WORTH_BYTES
   * doubles the checks until the next one (up to TRIM_EVERY_MAX: 16 s), and one that gives back more trims at
   * every check again. RSS grown by TRIM_WORTH_BYTES since the last trim brings the next one forward, so that a
   * burst of load after a quiet hour is trimmed from its first check.
   */
  check(rssBytes: number): void {
    if (!this.tight && rssBytes > this.targetBytes * TIGHT_ABOVE) this.setTight(true);
    else if (this.tight && rssBytes < this.targetBytes * RELAX_BELOW) this.setTight(false);
    if (rssBytes > this.targetBytes * TRIM_ABOVE) this.trimIfDue(rssBytes);
  }

  private trimIfDue(rssBytes: number): void {
    // Put off only while RSS stays where the last trim left it: growth since may be malloc's (a burst of load).
    if (this.checksToTrim > 0 && rssBytes < this.rssAfterTrim + TRIM_WORTH_BYTES) {
      this.checksToTrim -= 1;
      return;
    }
    this.trimMalloc();
    this.rssAfterTrim = this.readRss();
    const handedBack = rssBytes - this.rssAfterTrim;
    this.trimEvery = handedBack >= TRIM_WORTH_BYTES ? 1 : Math.min(this.trimEvery * 2, TRIM_EVERY_MAX);
    this.checksToTrim = this.trimEvery - 1;
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
