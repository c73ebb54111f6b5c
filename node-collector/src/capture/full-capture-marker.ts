/**
 * Keeps the kernel's full-capture set in step with the processes of the selected services: it scans /proc for
 * processes whose name matches, marks new ones and unmarks those that are gone or renamed. A process started
 * between scans is captured at the normal size until the next scan (every two seconds by default).
 */
import fs from 'node:fs';
import { processNameMatches, type ServiceSelector } from '../metadata/service-selector.js';

export interface FullCaptureTarget {
  setFullCapture(tgid: number, on: boolean): boolean;
}

export interface FullCaptureCounters {
  /** Processes marked now. */
  marked: number;
  /** Marks the kernel map had no room for. */
  refused: number;
}

export class FullCaptureMarker {
  readonly counters: FullCaptureCounters = { marked: 0, refused: 0 };
  private readonly marked = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: FullCaptureTarget,
    private readonly selectors: readonly ServiceSelector[],
    private readonly procRoot = '/proc',
  ) {}

  /** Scans once now (so traffic right after start is covered), then every `everyMs`. */
  start(everyMs = 2_000): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  scan(): void {
    const wanted = new Set<number>();
    let entries: string[];
    try {
      entries = fs.readdirSync(this.procRoot);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      let name: string;
      try {
        name = fs.readFileSync(`${this.procRoot}/${entry}/comm`, 'utf8').trim();
      } catch {
        continue; // gone since readdir
      }
      if (this.selectors.some((selector) => processNameMatches(selector, name))) wanted.add(Number(entry));
    }
    for (const tgid of this.marked) {
      if (!wanted.has(tgid)) {
        this.target.setFullCapture(tgid, false);
        this.marked.delete(tgid);
      }
    }
    for (const tgid of wanted) {
      if (this.marked.has(tgid)) continue;
      if (this.target.setFullCapture(tgid, true)) this.marked.add(tgid);
      else this.counters.refused++;
    }
    this.counters.marked = this.marked.size;
  }
}
