/**
 * Keeps the collector's CPU under a limit, so that capturing a saturated service does not take the cores the
 * service needs. Every window, the process's CPU time (all threads: JavaScript, DuckDB, the reader) is compared
 * with the limit. Over it, the reader gets an allowance of data records for the next window: as many as the limit,
 * less the last window's excess, pays for at the CPU per record just measured. Records beyond the allowance are
 * discarded before any parsing, counted as `cpu_limit` drops; the parsers see the gap in the stream positions and
 * pick up at the next message.
 * Once the collector stays under the limit without using its whole allowance, the allowance is lifted.
 */

/** What the limit needs of the capture (SocketCapture). */
export interface LimitedCapture {
  setDataAllowance(records: number): void;
  setDiscardQueued(on: boolean): void;
  dataRecordsPassed(): number;
}

export interface CpuLimitOptions {
  /** Cores the collector may use on average, e.g. 0.5. */
  cores: number;
  capture: LimitedCapture;
  /** Length of a measuring window (default 100 ms). */
  windowMs?: number;
  /** The process's CPU time in µs, user + system (default process.cpuUsage). */
  cpuMicros?: () => number;
  /** A monotonic clock in ms (default performance.now). */
  nowMs?: () => number;
}

export interface CpuLimitCounters {
  windows: number;
  /** Windows that ran under an allowance. */
  limitedWindows: number;
}

const DEFAULT_WINDOW_MS = 100;
const UNLIMITED = -1;

function processCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

interface Sample {
  cpuMicros: number;
  atMs: number;
  passed: number;
}

export class CpuLimit {
  private readonly cores: number;
  private readonly capture: LimitedCapture;
  private readonly windowMs: number;
  private readonly cpuMicros: () => number;
  private readonly nowMs: () => number;
  private timer: NodeJS.Timeout | undefined;
  private last: Sample = { cpuMicros: 0, atMs: 0, passed: 0 };
  private allowance = UNLIMITED;
  private readonly counts: CpuLimitCounters = { windows: 0, limitedWindows: 0 };

  constructor(options: CpuLimitOptions) {
    if (!(options.cores > 0)) throw new RangeError(`CPU limit ${options.cores}: must be more than 0 cores`);
    this.cores = options.cores;
    this.capture = options.capture;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.cpuMicros = options.cpuMicros ?? processCpuMicros;
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  start(): void {
    this.last = this.sample();
    this.timer = setInterval(() => this.check(), this.windowMs);
    this.timer.unref();
  }

  /** Ends a window and sets the allowance for the next one. */
  check(): void {
    const now = this.sample();
    const elapsedMs = now.atMs - this.last.atMs;
    if (elapsedMs <= 0) return;
    const usedMicros = now.cpuMicros - this.last.cpuMicros;
    const passed = now.passed - this.last.passed;
    this.last = now;
    this.counts.windows += 1;
    const over = usedMicros / 1000 / elapsedMs > this.cores;
    // What is already queued when the limit is passed would be parsed at full cost: let it go unparsed.
    this.capture.setDiscardQueued(over);
    const limited = this.allowance !== UNLIMITED;
    if (!over && (!limited || passed < this.allowance)) {
      if (limited) this.setAllowance(UNLIMITED);
      return;
    }
    this.counts.limitedWindows += 1;
    const budgetMicros = this.cores * elapsedMs * 1000;
    const microsPerRecord = usedMicros / Math.max(1, passed);
    // The last window's excess is taken off the next one's budget: it is mostly work that lags the records it
    // admitted (garbage collection, DuckDB's commits). A tenth of the budget always remains, so that records keep
    // flowing and their cost keeps being measured.
    const excessMicros = Math.max(0, usedMicros - budgetMicros);
    const spendable = Math.max(budgetMicros / 10, budgetMicros - excessMicros);
    this.setAllowance(Math.floor(spendable / microsPerRecord));
  }

  stop(): void {
    clearInterval(this.timer);
    this.capture.setDiscardQueued(false);
    this.setAllowance(UNLIMITED);
  }

  get counters(): CpuLimitCounters {
    return { ...this.counts };
  }

  private setAllowance(records: number): void {
    this.allowance = records;
    this.capture.setDataAllowance(records);
  }

  private sample(): Sample {
    return { cpuMicros: this.cpuMicros(), atMs: this.nowMs(), passed: this.capture.dataRecordsPassed() };
  }
}
