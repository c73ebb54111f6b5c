import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chartStepSeconds,
  describeTimeRange,
  formatTimeRange,
  parseTimeRange,
  rangeSeconds,
  scriptWindow,
  timePredicate,
} from '../src/domain/time-range.js';

describe('time ranges', () => {
  it('parses presets, custom windows and absolute ranges, and refuses the rest', () => {
    assert.deepEqual(parseTimeRange('5m'), { kind: 'relative', seconds: 300 });
    assert.deepEqual(parseTimeRange('90s'), { kind: 'relative', seconds: 90 });
    assert.deepEqual(parseTimeRange('2d'), { kind: 'relative', seconds: 172800 });
    for (const bad of [
      '',
      '0m',
      '15',
      'm',
      '99d',
      '1h; DROP',
      '2026-01-01T00:00:00Z~2025-01-01T00:00:00Z',
      'a~b',
    ])
      assert.equal(parseTimeRange(bad), null, bad);
    const absolute = parseTimeRange('2026-11-28T10:00:00Z~2026-11-28T10:30:00Z');
    assert.ok(absolute && absolute.kind === 'absolute');
    assert.equal(rangeSeconds(absolute), 1800);
  });

  it('formats to the shortest unit and describes presets by name', () => {
    assert.equal(formatTimeRange({ kind: 'relative', seconds: 3600 }), '1h');
    assert.equal(formatTimeRange({ kind: 'relative', seconds: 5400 }), '90m');
    assert.equal(formatTimeRange({ kind: 'relative', seconds: 86400 }), '1d');
    assert.equal(describeTimeRange({ kind: 'relative', seconds: 300 }), 'Last 5 minutes');
    assert.equal(describeTimeRange({ kind: 'relative', seconds: 7200 }), 'Last 2h');
  });

  it('gives SQL with literals only: a sliding window, or both ends of an absolute range', () => {
    assert.equal(
      timePredicate({ kind: 'relative', seconds: 900 }),
      "time >= (now() AT TIME ZONE 'UTC') - INTERVAL '900 seconds'",
    );
    const absolute = parseTimeRange('2026-11-28T10:00:00Z~2026-11-28T10:30:00Z');
    assert.ok(absolute);
    assert.equal(
      timePredicate(absolute, 't'),
      "t >= TIMESTAMP '2026-11-28 10:00:00.000' AND t < TIMESTAMP '2026-11-28 10:30:00.000'",
    );
  });

  it('widens an absolute range to reach back from now for the scripts', () => {
    const absolute = parseTimeRange('2026-11-28T10:00:00Z~2026-11-28T10:30:00Z');
    assert.ok(absolute);
    assert.equal(scriptWindow(absolute, new Date('2026-11-28T11:00:00Z')), '3600 seconds');
    assert.equal(scriptWindow({ kind: 'relative', seconds: 300 }), '300 seconds');
  });

  it('picks round chart steps of about 60 points', () => {
    assert.equal(chartStepSeconds({ kind: 'relative', seconds: 300 }), 5);
    assert.equal(chartStepSeconds({ kind: 'relative', seconds: 3600 }), 60);
    assert.equal(chartStepSeconds({ kind: 'relative', seconds: 86400 }), 1800);
  });
});
