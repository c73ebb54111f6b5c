/**
 * Keeps the collector's CPU under a limit, so that capturing a saturated service does not take the cores the
 * service needs. Every window, the process's CPU time (all threads: JavaScript, DuckDB, the reader) is compared
 * with the limit. Over it, the kernel side gets an allowance of exchanges (a request and its answer) for the next
 * window: as many as the limit, less the last window's excess, pays for at the CPU per exchange just measured.
 * Exchanges beyond the allowance are shed whole in the kernel, before any copy, and counted as `cpu_limit_client`
 * and `cpu_limit_server` drops; the parsers are told and go on at the next admitted exchange.
 * Once a window ends under the limit with nothing shed, the load fits and the allowance is lifted. (Under the
 * limit while still shedding is not enough: the collector may only be lagging, its CPU given to the traced
 * service, with the work of the exchanges it admitted still to come.)
 */

/** What the limit needs of the capture (SocketCapture). */
export interface LimitedCapture {
  setExchangeAllowance(exchanges: number): void;
  exchangesAdmitted(): number;
  /** Exchanges shed so far, on either side. */
  exchangesShed(): number;
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
  shed: number;
}

export class CpuLimit {
  private readonly cores: number;
  private readonly capture: LimitedCapture;
  private readonly windowMs: number;
  private readonly cpuMicros: () => number;
  private readonly nowMs: () => number;
  private timer: NodeJS.Timeout | undefined;
  private last: Sample = { cpuMicros: 0, atMs: 0, passed: 0, shed: 0 };
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
    const shed = now.shed - this.last.shed;
    this.last = now;
    this.counts.windows += 1;
    const over = usedMicros / 1000 / elapsedMs > this.cores;
    if (!over && shed === 0) {
      if (this.allowance !== UNLIMITED) this.setAllowance(UNLIMITED);
      return;
    }
    this.counts.limitedWindows += 1;
    const budgetMicros = this.cores * elapsedMs * 1000;
    const microsPerExchange = usedMicros / Math.max(1, passed);
    // The last window's excess is taken off the next one's budget: it is mostly work that lags the exchanges it
    // admitted (garbage collection, DuckDB's commits). A tenth of the budget always remains, so that exchanges
    // keep flowing and their cost keeps being measured.
    const excessMicros = Math.max(0, usedMicros - budgetMicros);
    const spendable = Math.max(budgetMicros / 10, budgetMicros - excessMicros);
    this.setAllowance(Math.floor(spendable / microsPerExchange));
  }

  stop(): void {
    clearInterval(this.timer);
    this.setAllowance(UNLIMITED);
  }

  get counters(): CpuLimitCounters {
    return { ...this.counts };
  }

  private setAllowance(exchanges: number): void {
    this.allowance = exchanges;
    this.capture.setExchangeAllowance(exchanges);
  }

  private sample(): Sample {
    return {
      cpuMicros: this.cpuMicros(),
      atMs: this.nowMs(),
      passed: this.capture.exchangesAdmitted(),
      shed: this.capture.exchangesShed(),
    };
  }
}
