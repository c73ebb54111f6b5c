import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CpuLimit, type LimitedCapture } from '../src/capture/cpu-limit.js';
import { parseCores } from '../src/cli/units.js';

/** A capture whose exchanges cost `microsPerExchange` each, with the kernel side's token count. */
class SimulatedCapture implements LimitedCapture {
  tokens = -1;
  passed = 0;
  shed = 0;
  cpuMicros = 0;
  constructor(private readonly microsPerExchange: number) {}

  /**
   * One window of traffic: the kernel admits what its tokens let through, and each costs CPU. `otherMicros`: CPU
   * the collector spent on something else meanwhile (a query).
   */
  offer(exchanges: number, otherMicros = 0): void {
    const passing = this.tokens < 0 ? exchanges : Math.min(exchanges, this.tokens);
    if (this.tokens >= 0) this.tokens -= passing;
    this.passed += passing;
    this.shed += exchanges - passing;
    this.cpuMicros += passing * this.microsPerExchange + otherMicros;
  }

  setExchangeAllowance(exchanges: number): void {
    this.tokens = exchanges;
  }

  exchangeTokens(): number {
    return this.tokens;
  }

  exchangeCounts() {
    return { admitted: this.passed, shed: this.shed };
  }
}

/** A limit driven window by window; `window(n)` offers n exchanges and returns the cores they took. */
function limitOver(capture: SimulatedCapture, cores: number) {
  let nowMs = 0;
  const limit = new CpuLimit({
    cores,
    capture,
    windowMs: 100,
    cpuMicros: () => capture.cpuMicros,
    nowMs: () => nowMs,
  });
  limit.start();
  return {
    limit,
    window(exchanges: number, otherMicros = 0): number {
      const before = capture.cpuMicros;
      capture.offer(exchanges, otherMicros);
      nowMs += 100;
      limit.check();
      return (capture.cpuMicros - before) / 1000 / 100;
    },
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('CpuLimit', () => {
  it('never sheds a load the limit pays for', () => {
    const capture = new SimulatedCapture(20); // 0.5 cores pay for 2,500 exchanges per 100 ms
    const { limit, window } = limitOver(capture, 0.5);
    for (let i = 0; i < 30; i++) assert.ok(window(i % 3 === 0 ? 2_400 : 1_000) <= 0.5);
    assert.equal(capture.shed, 0);
    assert.deepEqual(limit.counters, { windows: 30, shedWindows: 0 });
    limit.stop();
    assert.equal(capture.tokens, -1, 'stopped: every exchange is admitted again');
  });

  it('sheds a load over the limit and settles on what the limit pays for', () => {
    const capture = new SimulatedCapture(20);
    const { limit, window } = limitOver(capture, 0.5);
    // Four times what the limit pays for: the first windows spend the starting tokens (a second's budget at a
    // pessimistic cost per exchange), then the measured cost sets the refills.
    const cores = Array.from({ length: 40 }, () => window(10_000));
    assert.ok(cores[0]! <= 2, 'the first window takes at most the starting tokens');
    for (const c of cores.slice(20)) assert.ok(c > 0.45 && c <= 0.5 + 1e-9, `settled at the limit: ${c}`);
    assert.ok(mean(cores) <= 0.55, `on average within the limit, burst included: ${mean(cores)}`);
    assert.equal(
      limit.counters.shedWindows,
      39,
      'every window after the first, which the starting tokens paid for',
    );
    assert.equal(capture.passed + capture.shed, 400_000, 'every exchange admitted or counted as shed');
  });

  it('bounds what load that comes back after a pause takes at once', () => {
    const capture = new SimulatedCapture(20);
    const { window } = limitOver(capture, 0.5);
    for (let i = 0; i < 30; i++) window(10_000);
    for (let i = 0; i < 50; i++) window(0); // tokens pile up, up to a second's budget
    const after = Array.from({ length: 10 }, () => window(100_000));
    // Ten windows of budget at 0.5 cores, plus at most one second's budget saved during the pause.
    assert.ok(mean(after) <= 1.0 + 1e-9, `a burst of one second's budget at most: ${mean(after)}`);
    assert.ok(after[0]! <= 5 + 1e-9, 'the first window after the pause takes at most the saved tokens');
    for (const c of after.slice(5)) assert.ok(c <= 0.5 + 1e-9, `back at the limit: ${c}`);
  });

  it('pays back a window that spent its CPU on something else, then is back at the limit', () => {
    const capture = new SimulatedCapture(20); // 0.1 cores pay for 500 exchanges per 100 ms
    const { window } = limitOver(capture, 0.1);
    for (let i = 0; i < 30; i++) window(2_000);
    // A query takes 2 s of CPU within one window: twenty seconds of the budget.
    window(2_000, 2_000_000);
    const after = Array.from({ length: 80 }, () => window(2_000));
    for (const c of after.slice(0, 20))
      assert.ok(c <= 0.05, `the windows after it pay some of it back: ${c}`);
    for (const c of after.slice(50)) assert.ok(c > 0.09 && c <= 0.1 + 1e-9, `back at the limit: ${c}`);
  });

  it('grows back within seconds after a long run of costly windows', () => {
    const capture = new SimulatedCapture(20); // 0.1 cores pay for 500 exchanges per 100 ms
    const { window } = limitOver(capture, 0.1);
    // Five seconds of heavy queries under an overload: every window costs ten times the budget on its own.
    for (let i = 0; i < 50; i++) window(2_000, 1_000_000);
    const after = Array.from({ length: 60 }, () => window(2_000));
    for (const c of after.slice(50)) assert.ok(c > 0.09 && c <= 0.1 + 1e-9, `back at the limit: ${c}`);
  });

  it('pays for its own work first and gives exchanges the rest of the budget', () => {
    const capture = new SimulatedCapture(25);
    const { window } = limitOver(capture, 0.1);
    // Starting up (the store opening, the first queries) takes a whole core while a few exchanges pass.
    for (let i = 0; i < 5; i++) window(10, 100_000);
    // Then timers, commits and queries take 60 % of the 0.1-core budget whatever the load: the other 4 ms of a
    // window pay for 160 exchanges at 25 µs. (A refill at a running average of the CPU per exchange stayed at
    // one exchange a window here: 0.06 cores.)
    const cores = Array.from({ length: 80 }, () => window(5_000, 6_000));
    assert.ok(
      cores.slice(2).every((c) => c > 0.095),
      'the budget is used from the second window on',
    );
    assert.ok(
      mean(cores.slice(1, 40)) <= 0.13,
      `the first seconds stay near the limit: ${mean(cores.slice(1, 40))}`,
    );
    for (const c of cores.slice(60)) assert.ok(c > 0.095 && c <= 0.105, `settled at the limit: ${c}`);
    assert.equal(capture.passed + capture.shed, 400_050, 'every exchange admitted or counted as shed');
  });

  it('refuses a limit that is not a positive number of cores', () => {
    const capture = new SimulatedCapture(1);
    assert.throws(() => new CpuLimit({ cores: 0, capture }), /more than 0 cores/);
    assert.equal(parseCores('0.25', '--cpu-limit'), 0.25);
    assert.throws(() => parseCores('half', '--cpu-limit'), /--cpu-limit: 'half' is not a number of cores/);
    assert.throws(() => parseCores('0', '--cpu-limit'), /not a number of cores/);
  });
});
