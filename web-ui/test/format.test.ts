import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  formatTime,
  parseStoreTime,
  toNumber,
} from '../src/domain/format.js';
import { sqlContains, sqlNumber, sqlString } from '../src/domain/sql-literal.js';

describe('formatting', () => {
  it('reads numbers as DuckDB sends them, and shows a dash for what is not a number', () => {
    assert.equal(toNumber('12345678901234567890'), 12345678901234567000);
    assert.equal(toNumber(7n), 7);
    assert.equal(toNumber('abc'), null);
    assert.equal(formatCount(null), '–');
    assert.equal(formatMs(undefined), '–');
    assert.equal(formatPercent(Number.NaN), '–');
  });

  it('keeps dashboard numbers short', () => {
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(12_345), '12.3k');
    assert.equal(formatCount(2_500_000), '2.5M');
    assert.equal(formatRate(0.005), '0.30/min');
    assert.equal(formatRate(3.14159), '3.14/s');
    assert.equal(formatRate(1234), '1234/s');
    assert.equal(formatMs(0.25), '250 µs');
    assert.equal(formatMs(4.5), '4.50 ms');
    assert.equal(formatMs(1500), '1.50 s');
    assert.equal(formatPercent(0.0004), '<0.1%');
    assert.equal(formatPercent(0.05), '5.0%');
    assert.equal(formatPercent(0.5), '50%');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(512), '512 B');
  });

  it('reads store timestamps as UTC, nanoseconds included', () => {
    assert.equal(parseStoreTime('2026-11-28 10:00:00.123456789')?.toISOString(), '2026-11-28T10:00:00.123Z');
    assert.equal(formatTime('2026-11-28 10:00:00'), '2026-11-28 10:00:00.000');
    assert.equal(parseStoreTime('yesterday'), null);
  });
});

describe('SQL literals', () => {
  it('quotes strings so that input cannot end them', () => {
    assert.equal(sqlString("o'brien"), "'o''brien'");
    assert.equal(sqlString("x'; DROP TABLE t; --"), "'x''; DROP TABLE t; --'");
  });

  it('takes LIKE wildcards typed by the user literally', () => {
    assert.equal(sqlContains('50%_off'), "'%50\\%\\_off%' ESCAPE '\\'");
  });

  it('refuses numbers that are not finite', () => {
    assert.equal(sqlNumber(42.5), '42.5');
    assert.throws(() => sqlNumber(Number.POSITIVE_INFINITY), RangeError);
  });
});
