import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView } from '../src/api/types.js';
import {
  clusterTotals,
  collectorHistorySql,
  describeDrops,
  historySeries,
} from '../src/domain/node-health.js';

const node = (name: string, state: 'up' | 'down', events: number): NodeView => ({
  name,
  url: `http://127.0.0.1:7071/${name}`,
  state,
  registeredAt: '2026-11-28T10:00:00.000Z',
  lastSeen: '2026-11-28T10:00:05.000Z',
  msSinceSeen: 100,
  status: { eventsPerSecond: events, drops: 2, parseErrors: 1, storeRows: 1000, storeBytes: 4096 },
});

test('cluster totals count the nodes that are up, and down nodes only by number', () => {
  const totals = clusterTotals([node('a', 'up', 10), node('b', 'up', 5.5), node('c', 'down', 100)]);
  assert.deepEqual(totals, {
    up: 2,
    down: 1,
    eventsPerSecond: 15.5,
    drops: 4,
    parseErrors: 2,
    storeRows: 2000,
    storeBytes: 8192,
  });
  assert.equal(clusterTotals([{ ...node('x', 'up', 1), status: null }]).eventsPerSecond, 0);
});

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
