import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  endpointsSql,
  failingSql,
  parseServiceTarget,
  pathPatternSql,
  protocolProbeSql,
  statementsSql,
  targetPredicate,
  timelineSql,
} from '../src/domain/service-queries.js';
import { serviceCharts } from '../src/domain/service-timeline.js';

const range = { kind: 'relative', seconds: 900 } as const;

describe('service view queries', () => {
  it('reads the service parameter', () => {
    assert.deepEqual(parseServiceTarget('api:8080'), {
      name: 'api:8080',
      process: 'api',
      address: null,
      port: 8080,
    });
    assert.deepEqual(parseServiceTarget('10.0.0.5:5432'), {
      name: '10.0.0.5:5432',
      process: null,
      address: '10.0.0.5',
      port: 5432,
    });
    assert.deepEqual(parseServiceTarget('curl'), {
      name: 'curl',
      process: 'curl',
      address: null,
      port: null,
    });
  });

  it('picks the side that saw the target, with names quoted', () => {
    assert.equal(
      targetPredicate(parseServiceTarget("o'neil:80")),
      "role = 'server' AND process = 'o''neil' AND local_port = 80",
    );
    assert.equal(
      targetPredicate(parseServiceTarget('10.0.0.5:5432')),
      "role = 'client' AND remote_addr = '10.0.0.5' AND remote_port = 5432",
    );
    assert.equal(targetPredicate(parseServiceTarget('curl')), "role = 'client' AND process = 'curl'");
  });

  it('builds SELECTs over unqualified node tables within the time range', () => {
    const target = parseServiceTarget('api:8080');
    for (const sql of [
      protocolProbeSql(target, range),
      timelineSql(target, range, 'http'),
      endpointsSql(target, range),
      statementsSql(target, range, 'pgsql'),
      failingSql(target, range, 'mysql'),
    ]) {
      assert.match(sql, /^SELECT /);
      assert.ok(sql.includes("time >= (now() AT TIME ZONE 'UTC') - INTERVAL '900 seconds'"));
      assert.ok(!/main\./.test(sql));
    }
    assert.ok(timelineSql(target, range, 'http').includes("time_bucket(INTERVAL '15 seconds'"));
    assert.ok(statementsSql(target, range, 'pgsql').includes('FROM pgsql_events'));
    assert.ok(failingSql(target, range, 'http').includes('resp_status >= 500'));
    assert.ok(failingSql(target, range, 'pgsql').includes("coalesce(error, '') <> ''"));
  });

  it('folds ids in paths and drops the query string', () => {
    const sql = pathPatternSql();
    assert.ok(sql.startsWith('regexp_replace(regexp_replace(split_part(req_path, '));
    assert.ok(sql.includes("'/{id}\\2'"));
  });

  it('turns timeline rows into rate, error rate and latency series', () => {
    const charts = serviceCharts(
      [
        { step_start: '2026-11-28 10:00:00', requests: 30, errors: 3, p50_ms: 2, p99_ms: 9 },
        { step_start: '2026-11-28 10:00:15', requests: 0, errors: 0, p50_ms: null, p99_ms: null },
      ],
      15,
    );
    const t0 = Date.UTC(2026, 10, 28, 10) / 1000;
    assert.deepEqual(charts.rate[0]!.points, [
      [t0, 2],
      [t0 + 15, 0],
    ]);
    assert.deepEqual(charts.errorRate[0]!.points, [
      [t0, 0.1],
      [t0 + 15, null],
    ]);
    assert.deepEqual(
      charts.latency.map((s) => s.label),
      ['p50', 'p99'],
    );
  });
});
