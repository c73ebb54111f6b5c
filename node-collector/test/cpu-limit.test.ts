import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CpuLimit, type LimitedCapture } from '../src/capture/cpu-limit.js';
import { parseCores } from '../src/cli/units.js';

/** A capture whose exchanges cost `microsPerExchange` each. */
class SimulatedCapture implements LimitedCapture {
  allowance = -1;
  passed = 0;
  shed = 0;
  cpuMicros = 0;
  constructor(private readonly microsPerExchange: number) {}

  /**
   * One window of traffic: the kernel admits what its allowance lets through, and each costs CPU. `workedShare`:
   * the share of that CPU spent within the window (less when the collector lags, its CPU given to others).
   */
  offer(exchanges: number, workedShare = 1): void {
    const passing = this.allowance < 0 ? exchanges : Math.min(exchanges, this.allowance);
    if (this.allowance >= 0) this.allowance -= passing;
    this.passed += passing;
    this.shed += exchanges - passing;
    this.cpuMicros += passing * this.microsPerExchange * workedShare;
  }

  setExchangeAllowance(exchanges: number): void {
    this.allowance = exchanges;
  }

  exchangesAdmitted(): number {
    return this.passed;
  }

  exchangesShed(): number {
    return this.shed;
  }
}

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
    window(exchanges: number, workedShare = 1): number {
      const before = capture.cpuMicros;
      capture.offer(exchanges, workedShare);
      nowMs += 100;
      limit.check();
      return (capture.cpuMicros - before) / 1000 / 100;
    },
  };
}

describe('CpuLimit', () => {
  it('leaves capture alone while the collector stays under the limit', () => {
    const capture = new SimulatedCapture(20);
    const { limit, window } = limitOver(capture, 0.5);
    for (let i = 0; i < 10; i++) assert.ok(window(1_000) <= 0.5);
    assert.equal(capture.allowance, -1);
    assert.deepEqual(limit.counters, { windows: 10, limitedWindows: 0 });
  });

  it('allows the exchanges the limit pays for once over it, and lifts the allowance when the load goes', () => {
    const capture = new SimulatedCapture(20); // 20 µs per exchange: 0.5 cores is 2,500 exchanges per 100 ms
    const { limit, window } = limitOver(capture, 0.5);
    assert.equal(window(10_000), 2, 'the first window takes two cores');
    assert.equal(capture.allowance, 250, 'its excess comes off the next budget, down to a tenth of it');
    assert.equal(window(10_000), 0.05);
    assert.equal(capture.allowance, 2_500, 'then the limit pays for 2,500 exchanges a window');
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(window(10_000) - 0.5) < 1e-9);
    window(1_000); // the load falls below what the allowance lets through
    assert.equal(capture.allowance, -1);
    limit.stop();
    assert.deepEqual(limit.counters, { windows: 8, limitedWindows: 7 });
  });

  it('keeps the allowance through a window under the limit while exchanges are still shed', () => {
    const capture = new SimulatedCapture(20);
    const { limit, window } = limitOver(capture, 0.5);
    window(10_000);
    window(10_000);
    assert.equal(capture.allowance, 2_500);
    // The collector lags: it spent only a fifth of what the exchanges it admitted will cost, and the load is
    // still four times what the limit pays for.
    assert.ok(window(10_000, 0.2) < 0.5);
    assert.notEqual(capture.allowance, -1, 'still limited: the load has not gone');
    window(1_000); // the load goes: nothing is shed, and the collector is under the limit
    assert.equal(capture.allowance, -1);
    assert.deepEqual(limit.counters, { windows: 4, limitedWindows: 3 });
  });

  it('refuses a limit that is not a positive number of cores', () => {
    const capture = new SimulatedCapture(1);
    assert.throws(() => new CpuLimit({ cores: 0, capture }), /more than 0 cores/);
    assert.equal(parseCores('0.25', '--cpu-limit'), 0.25);
    assert.throws(() => parseCores('half', '--cpu-limit'), /--cpu-limit: 'half' is not a number of cores/);
    assert.throws(() => parseCores('0', '--cpu-limit'), /not a number of cores/);
  });
});
