/**
 * Keeps the collector's CPU under a limit, so that capturing a saturated service does not take the cores the
 * service needs. The kernel side admits an exchange (a request and its answer) only against a token, and sheds
 * the others whole, before any copy, counted as `cpu_limit_client` and `cpu_limit_server` drops; the parsers are
 * told and go on at the next admitted exchange.
 *
 * Every window, the collector adds the tokens its budget pays for: the limit's CPU time, less the last window's
 * excess, at the CPU per exchange measured so far (all threads: JavaScript, DuckDB, the reader). Tokens left
 * unused are kept up to BURST_WINDOWS windows' worth, so that a short burst passes whole while a load the limit
 * cannot pay for is shed from its first window on. (Capture used to run unlimited until a window went over the
 * limit: each time load came back after a pause, a whole window's traffic was taken in, and working through it
 * held the collector over its limit for the next second or so.)
 */

/** What the limit needs of the capture (SocketCapture). */
export interface LimitedCapture {
  /** Sets the tokens the kernel side holds (negative: admits every exchange). */
  setExchangeAllowance(exchanges: number): void;
  /** Tokens the kernel side still holds. */
  exchangeTokens(): number;
  /** Exchanges admitted and shed (on either side) so far: one read of the kernel's counters. */
  exchangeCounts(): ExchangeCounts;
}

export interface ExchangeCounts {
  admitted: number;
  shed: number;
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
  /** Windows in which exchanges were shed. */
  shedWindows: number;
}

const DEFAULT_WINDOW_MS = 100;
/** Unused tokens kept, in windows' worth of the budget: a burst of up to a second's budget passes whole. */
const BURST_WINDOWS = 10;
/** The CPU per exchange assumed until one is measured: on the high side, so that the first windows shed. */
const INITIAL_MICROS_PER_EXCHANGE = 50;
/**
 * The CPU per exchange is measured over as many windows as it takes this many exchanges to pass (windows that
 * admitted none are left out: idle, their CPU is the collector's fixed cost). Over fewer exchanges, the fixed
 * costs (timers, a query) pass for the exchanges'. Measuring only single windows that admitted this many could
 * stick: after a costly window, the refills stay below it and the cost is never measured again.
 */
const MIN_MEASURED_EXCHANGES = 20;
/** Weight of a measurement in the running CPU per exchange (the work of one window spills into the next: garbage
 * collection, DuckDB's commits). */
const MEASUREMENT_WEIGHT = 0.3;
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
  private microsPerExchange = INITIAL_MICROS_PER_EXCHANGE;
  /** CPU and exchanges since the last measurement of the CPU per exchange. */
  private measuring = { micros: 0, exchanges: 0 };
  private readonly counts: CpuLimitCounters = { windows: 0, shedWindows: 0 };

  constructor(options: CpuLimitOptions) {
    if (!(options.cores > 0)) throw new RangeError(`CPU limit ${options.cores}: must be more than 0 cores`);
    this.cores = options.cores;
    this.capture = options.capture;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.cpuMicros = options.cpuMicros ?? processCpuMicros;
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Starts with a full burst's worth of tokens. */
  start(): void {
    this.last = this.sample();
    this.capture.setExchangeAllowance(this.burstTokens(this.windowMs));
    this.timer = setInterval(() => this.check(), this.windowMs);
    this.timer.unref();
  }

  /** Ends a window and adds the next one's tokens. */
  check(): void {
    const now = this.sample();
    const elapsedMs = now.atMs - this.last.atMs;
    if (elapsedMs <= 0) return;
    const usedMicros = now.cpuMicros - this.last.cpuMicros;
    const passed = now.passed - this.last.passed;
    if (now.shed > this.last.shed) this.counts.shedWindows += 1;
    this.last = now;
    this.counts.windows += 1;
    this.measure(usedMicros, passed);
    // The last window's excess comes off the next one's budget. A tenth of the budget always remains, so that
    // exchanges keep flowing and their cost keeps being measured.
    const budgetMicros = this.cores * elapsedMs * 1000;
    const spendable = Math.max(budgetMicros / 10, budgetMicros - Math.max(0, usedMicros - budgetMicros));
    // Tokens taken between this read and the write below are given back: a few exchanges at most.
    const held = Math.max(0, this.capture.exchangeTokens());
    // At least one a window, so that the cost per exchange keeps being measured however high it was.
    const refill = Math.max(1, Math.floor(spendable / this.microsPerExchange));
    this.capture.setExchangeAllowance(Math.min(this.burstTokens(elapsedMs), held + refill));
  }

  stop(): void {
    clearInterval(this.timer);
    this.capture.setExchangeAllowance(UNLIMITED);
  }

  get counters(): CpuLimitCounters {
    return { ...this.counts };
  }

  private measure(usedMicros: number, passed: number): void {
    if (passed === 0) return;
    const m = this.measuring;
    m.micros += usedMicros;
    m.exchanges += passed;
    if (m.exchanges < MIN_MEASURED_EXCHANGES) return;
    this.microsPerExchange += MEASUREMENT_WEIGHT * (m.micros / m.exchanges - this.microsPerExchange);
    m.micros = 0;
    m.exchanges = 0;
  }

  private burstTokens(windowMs: number): number {
    return Math.max(1, Math.floor((BURST_WINDOWS * this.cores * windowMs * 1000) / this.microsPerExchange));
  }

  private sample(): Sample {
    const { admitted, shed } = this.capture.exchangeCounts();
    return { cpuMicros: this.cpuMicros(), atMs: this.nowMs(), passed: admitted, shed };
  }
}
