/**
 * Keeps the collector's CPU under a limit, so that capturing a saturated service does not take the cores the
 * service needs. The kernel side admits an exchange (a request and its answer) only against a token, and sheds
 * the others whole, before any copy, counted as `cpu_limit_client` and `cpu_limit_server` drops; the parsers are
 * told and go on at the next admitted exchange.
 *
 * Every window, the collector adds the tokens its budget pays for. How many that is comes from the last
 * MEASURED_WINDOWS windows in which the load took at least its refill: their exchanges, scaled by the budget over
 * the CPU they took with everything else the collector did meanwhile (its timers, commits, queries). So the
 * collector's own work is paid for first and what is left goes to exchanges. The refill grows by at most a
 * quarter a window, since part of what an exchange costs comes in later windows (its commit). Tokens left unused
 * are kept up to BURST_WINDOWS windows' worth, so that a short burst passes whole while a load the limit cannot
 * pay for is shed from its first window on.
 *
 * Two earlier forms fell short. Capture ran unlimited until a window went over the limit: each time load came
 * back after a pause, a whole window's traffic was taken in. Then the refill was the budget over a running
 * average of the CPU per exchange, measured every 20 exchanges: a costly start (the first queries, code being
 * compiled) set that average high, the refills stayed small, and 20 exchanges took seconds to pass, so at a
 * limit of 0.05 cores the collector used 0.01–0.04 and stored a tenth of what its budget paid for.
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
/** The CPU per exchange assumed until a window has measured one: on the high side, so that the first windows shed. */
const INITIAL_MICROS_PER_EXCHANGE = 50;
/** Windows over which the CPU per exchange is measured: a window's CPU comes in lumps (a commit, a collection). */
const MEASURED_WINDOWS = 20;
/** The most the refill grows or shrinks in one window. */
const MAX_GROWTH = 1.25;
const MAX_SHRINK = 2;
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
  /** Exchanges per ms of the window that the budget pays for. */
  private exchangesPerMs: number;
  /** Tokens the last window was given. */
  private lastRefill: number;
  /** Exchanges and CPU of the last MEASURED_WINDOWS windows whose load took its refill (rings). */
  private readonly measured = { passed: [] as number[], micros: [] as number[], next: 0 };
  private readonly counts: CpuLimitCounters = { windows: 0, shedWindows: 0 };

  constructor(options: CpuLimitOptions) {
    if (!(options.cores > 0)) throw new RangeError(`CPU limit ${options.cores}: must be more than 0 cores`);
    this.cores = options.cores;
    this.capture = options.capture;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.cpuMicros = options.cpuMicros ?? processCpuMicros;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.exchangesPerMs = (this.cores * 1000) / INITIAL_MICROS_PER_EXCHANGE;
    this.lastRefill = this.refillFor(this.windowMs);
  }

  /** Starts with a full burst's worth of tokens. */
  start(): void {
    this.last = this.sample();
    this.capture.setExchangeAllowance(this.burstTokens());
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
    const shed = now.shed > this.last.shed;
    if (shed) this.counts.shedWindows += 1;
    this.last = now;
    this.counts.windows += 1;
    if (passed >= this.lastRefill || shed) this.rescale(passed, usedMicros);
    // Tokens taken between this read and the write below are given back: a few exchanges at most.
    const held = Math.max(0, this.capture.exchangeTokens());
    this.lastRefill = this.refillFor(elapsedMs);
    this.capture.setExchangeAllowance(Math.min(this.burstTokens(), held + this.lastRefill));
  }

  stop(): void {
    clearInterval(this.timer);
    this.capture.setExchangeAllowance(UNLIMITED);
  }

  get counters(): CpuLimitCounters {
    return { ...this.counts };
  }

  /**
   * A window whose load took its whole refill shows what the budget pays for: its exchanges, times the budget over
   * the CPU they cost with the collector's other work. A lighter load says nothing of it: its CPU is mostly that
   * other work.
   */
  private rescale(passed: number, usedMicros: number): void {
    const m = this.measured;
    m.passed[m.next] = passed;
    m.micros[m.next] = usedMicros;
    m.next = (m.next + 1) % MEASURED_WINDOWS;
    const micros = m.micros.reduce((a, b) => a + b, 0);
    const exchanges = m.passed.reduce((a, b) => a + b, 0);
    const paysFor = micros > 0 ? (exchanges * this.cores * 1000) / micros : Infinity;
    const current = this.exchangesPerMs;
    const next = Math.min(current * MAX_GROWTH, Math.max(current / MAX_SHRINK, paysFor));
    // Never below one exchange a window: from lower, the refill would take long to grow back.
    this.exchangesPerMs = Math.max(1 / this.windowMs, next);
  }

  /** At least one a window, so that a load whose exchanges cost more than a window's budget is still sampled. */
  private refillFor(elapsedMs: number): number {
    return Math.max(1, Math.floor(this.exchangesPerMs * elapsedMs));
  }

  private burstTokens(): number {
    return Math.max(1, Math.floor(BURST_WINDOWS * this.windowMs * this.exchangesPerMs));
  }

  private sample(): Sample {
    const { admitted, shed } = this.capture.exchangeCounts();
    return { cpuMicros: this.cpuMicros(), atMs: this.nowMs(), passed: admitted, shed };
  }
}
