import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectorHistorySql, describeDrops, historySeries } from '../src/domain/node-health.js';

test('drop reasons: non-zero ones, largest first', () => {
  assert.equal(
    describeDrops({ store_rejected: 3, ring_full: 12, reader_queue: 0 }),
    'ring_full 12, store_rejected 3',
  );
  assert.equal(describeDrops(undefined), '');
});

test('the history query buckets collector_stats over the range and turns event counts into rates', () => {
  const sql = collectorHistorySql({ kind: 'relative', seconds: 3600 });
  assert.match(sql, /FROM collector_stats/);
  assert.match(sql, /time_bucket\(INTERVAL '60 seconds', time::TIMESTAMP\) AS step_start/);
  assert.match(sql, /sum\(events\) \/ 60 AS events_per_s/);
  assert.match(sql, /time >= \(now\(\) AT TIME ZONE 'UTC'\) - INTERVAL '3600 seconds'/);
});

test('history series: one line per node on the shared steps, missing samples as gaps', () => {
  const rows = [
    { node: 'b', step_start: '2026-11-28T10:00:00.000000Z', events_per_s: 3, drops: 0 },
    { node: 'a', step_start: '2026-11-28T10:01:00.000000Z', events_per_s: '2.5', drops: 1 },
    { node: 'a', step_start: '2026-11-28T10:00:00.000000Z', events_per_s: 1, drops: 0 },
  ];
  const t0 = Date.parse('2026-11-28T10:00:00Z') / 1000;
  assert.deepEqual(historySeries(rows, 'events_per_s'), [
    {
      label: 'a',
      points: [
        [t0, 1],
        [t0 + 60, 2.5],
      ],
    },
    {
      label: 'b',
      points: [
        [t0, 3],
        [t0 + 60, null],
      ],
    },
  ]);
  assert.deepEqual(historySeries(rows, 'drops')[0]?.points, [
    [t0, 0],
    [t0 + 60, 1],
  ]);
});
