import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScriptInfo } from '../src/api/types.js';
import {
  inlineParams,
  paramProblems,
  paramsToUrl,
  paramValues,
  scriptAsAdHoc,
} from '../src/domain/script-params.js';
import { allColumns, completionSchema, shortType } from '../src/domain/sql-completion.js';
import { autoChart, bars, edges, tableColumns, timeSeries, unitOf } from '../src/domain/widget-data.js';

const errors: ScriptInfo = {
  name: 'http_errors',
  title: 'HTTP errors',
  description: 'Failed HTTP requests',
  params: [
    { name: 'window', type: 'interval', default: '1 hour', description: 'how far back' },
    { name: 'min_status', type: 'integer', default: 500 },
    { name: 'path', type: 'string', default: '%' },
    { name: 'server_only', type: 'boolean', default: true },
  ],
  widgets: [],
  sql: `-- errors (status >= $min_status)
SELECT '$window' AS literal, "$path" AS odd_name, count(*) AS errors
  FROM http_events /* $path stays */
 WHERE time >= now() - $window AND resp_status >= $MIN_STATUS AND req_path LIKE $path AND $server_only
`,
};

const fifteenMinutes = { kind: 'relative', seconds: 900 } as const;

test('parameters start from the URL, then the time range for window, then the defaults', () => {
  assert.deepEqual(paramValues(errors, { 'p.min_status': '400' }, fifteenMinutes), {
    window: '900 seconds',
    min_status: '400',
    path: '%',
    server_only: 'true',
  });
  const absolute = {
    kind: 'absolute',
    from: new Date('2026-01-01T10:00:00Z'),
    to: new Date('2026-01-01T11:00:00Z'),
  };
  assert.equal(
    paramValues(errors, {}, absolute as never, new Date('2026-01-01T12:00:00Z')).window,
    '7200 seconds',
  );
});

test('values are checked as the broker checks them', () => {
  assert.deepEqual(
    paramProblems(errors, { window: '2 hours', min_status: '500', path: '', server_only: 'true' }),
    {},
  );
  const problems = paramProblems(errors, {
    window: 'soon',
    min_status: '5.5',
    path: 'x',
    server_only: 'yes',
  });
  assert.deepEqual(Object.keys(problems).sort(), ['min_status', 'server_only', 'window']);
  assert.match(
    paramProblems(errors, { window: '', min_status: '1', path: '', server_only: 'false' }).window ?? '',
    /needs/,
  );
});

test('only values that differ from what the form starts with go into the URL', () => {
  const values = { window: '900 seconds', min_status: '404', path: '%', server_only: 'true' };
  assert.deepEqual(paramsToUrl(errors, values, fifteenMinutes), { 'p.min_status': '404' });
});

test('inlining replaces $name with typed literals and leaves comments, strings and quoted names alone', () => {
  const sql = inlineParams(errors, {
    window: '15 minutes',
    min_status: '500',
    path: "/it's",
    server_only: 'false',
  });
  assert.match(sql, /^-- errors \(status >= \$min_status\)$/m);
  assert.match(sql, /SELECT '\$window' AS literal, "\$path" AS odd_name/);
  assert.match(sql, /\/\* \$path stays \*\//);
  assert.match(sql, /time >= now\(\) - INTERVAL '15 minutes'/);
  assert.match(sql, /resp_status >= 500 AND req_path LIKE '\/it''s' AND false$/);
  assert.doesNotMatch(sql.replace(/--.*|'[^']*'|"[^"]*"|\/\*.*?\*\//g, ''), /\$/);
});

test('a malformed number stays a cast so that DuckDB names the problem', () => {
  const sql = inlineParams(errors, { window: '1 hour', min_status: '5x', path: '%', server_only: 'true' });
  assert.match(sql, /resp_status >= CAST\('5x' AS BIGINT\)/);
});

test('a script opened in the editor says which values were written in, on one comment line', () => {
  const sql = scriptAsAdHoc(errors, {
    window: '1 hour',
    min_status: '500',
    path: 'a\nb',
    server_only: 'true',
  });
  const [first, second] = sql.split('\n');
  assert.equal(
    first,
    '-- http_errors, parameters written in: $window = "1 hour", $min_status = "500", $path = "a\\nb", $server_only = "true"',
  );
  assert.equal(second, '-- errors (status >= $min_status)');
});

test('table widgets keep the spec order and skip columns the result lacks', () => {
  const widget = { type: 'table', columns: { rows: ['service', 'errors', 'gone', 'req_path'] } };
  assert.deepEqual(tableColumns(widget, ['req_path', 'errors', 'service', 'extra']), [
    'service',
    'errors',
    'req_path',
  ]);
  assert.deepEqual(tableColumns({ type: 'table', columns: {} }, ['a', 'b']), ['a', 'b']);
});

test('time series: one line per series value and y column, on a shared time axis with gaps as null', () => {
  const widget = {
    type: 'timeseries',
    columns: { x: 'step_start', y: ['p50_ms', 'p99_ms'], series: 'service' },
  };
  const rows = [
    { step_start: '2026-11-28T10:01:00.000000Z', service: 'api:80', p50_ms: 2, p99_ms: 9 },
    { step_start: '2026-11-28T10:00:00.000000Z', service: 'api:80', p50_ms: 1, p99_ms: '8.5' },
    { step_start: '2026-11-28T10:00:00.000000Z', service: 'db:5432', p50_ms: 3, p99_ms: null },
  ];
  const t0 = Date.parse('2026-11-28T10:00:00Z') / 1000;
  assert.deepEqual(timeSeries(widget, rows), [
    {
      label: 'api:80 p50_ms',
      points: [
        [t0, 1],
        [t0 + 60, 2],
      ],
    },
    {
      label: 'api:80 p99_ms',
      points: [
        [t0, 8.5],
        [t0 + 60, 9],
      ],
    },
    {
      label: 'db:5432 p50_ms',
      points: [
        [t0, 3],
        [t0 + 60, null],
      ],
    },
    {
      label: 'db:5432 p99_ms',
      points: [
        [t0, null],
        [t0 + 60, null],
      ],
    },
  ]);
  const single = { type: 'timeseries', columns: { x: 'step_start', y: 'errors', series: 'service' } };
  assert.deepEqual(
    timeSeries(single, [{ step_start: '2026-11-28T10:00:00Z', service: 'api:80', errors: 4 }]).map(
      (s) => s.label,
    ),
    ['api:80'],
  );
  assert.deepEqual(
    timeSeries({ type: 'timeseries', columns: { x: 't', y: 'n' } }, [{ t: '2026-11-28T10:00:00Z', n: 1 }])[0]
      ?.label,
    'n',
  );
});

test('units follow the column names', () => {
  assert.equal(unitOf(['p50_ms', 'p99_ms']), 'ms');
  assert.equal(unitOf(['requests_per_s']), 'rate');
  assert.equal(unitOf(['error_rate']), 'percent');
  assert.equal(unitOf(['errors']), 'count');
  assert.equal(unitOf(['p50_ms', 'errors']), 'count');
});

test('bars sum rows of the same label, largest first', () => {
  const widget = { type: 'bar', columns: { x: 'service', y: 'errors' } };
  const rows = [
    { service: 'api:80', errors: 2 },
    { service: 'web:3000', errors: 5 },
    { service: 'api:80', errors: '4' },
    { service: 'db', errors: null },
  ];
  assert.deepEqual(bars(widget, rows), [
    { label: 'api:80', value: 6 },
    { label: 'web:3000', value: 5 },
  ]);
});

test('graph edges sum their weights per source and target', () => {
  const widget = { type: 'graph', columns: { source: 'client', target: 'server', weight: 'rps' } };
  const rows = [
    { client: 'web', server: 'api:80', rps: 1.5 },
    { client: 'web', server: 'api:80', rps: 2 },
    { client: 'api', server: 'db:5432', rps: 9 },
  ];
  assert.deepEqual(edges(widget, rows), [
    { source: 'api', target: 'db:5432', weight: 9 },
    { source: 'web', target: 'api:80', weight: 3.5 },
  ]);
});

test('an ad-hoc result is charted when it has a time column and measurements', () => {
  const rows = [
    { time: '2026-11-28T10:00:00.123456789Z', process: 'api', local_port: 80, ms: 1.5, n: '3' },
    { time: '2026-11-28T10:00:01.000000000Z', process: 'api', local_port: 80, ms: 2, n: '4' },
  ];
  assert.deepEqual(autoChart(['process', 'time', 'local_port', 'ms', 'n'], rows), {
    type: 'timeseries',
    title: 'ms, n',
    columns: { x: 'time', y: ['ms', 'n'] },
  });
  assert.equal(autoChart(['process', 'ms'], rows), null);
  const grouped = rows.map((r) => ({ last_seen: r.time, errors: r.ms }));
  assert.equal(autoChart(['last_seen', 'errors'], grouped), null);
  assert.equal(autoChart(['time', 'process'], rows), null);
  assert.equal(autoChart(['time', 'ms'], rows.slice(0, 1)), null);
});

test('the editor completes tables with their columns, and bare columns with the tables that have them', () => {
  const tables = {
    pgsql_events: [
      { name: 'time', type: 'TIMESTAMP_NS NOT NULL' },
      { name: 'req', type: 'VARCHAR' },
    ],
    http_events: [
      { name: 'time', type: 'TIMESTAMP_NS NOT NULL' },
      { name: 'req_path', type: 'VARCHAR' },
    ],
  };
  const schema = completionSchema(tables);
  assert.deepEqual(Object.keys(schema), ['http_events', 'pgsql_events']);
  assert.deepEqual(schema.http_events?.self, { label: 'http_events', type: 'table', detail: '2 columns' });
  assert.deepEqual(schema.http_events?.children[0], {
    label: 'time',
    type: 'column',
    detail: 'TIMESTAMP_NS',
  });
  assert.deepEqual(allColumns(tables), [
    { label: 'req', type: 'column', detail: 'pgsql_events' },
    { label: 'req_path', type: 'column', detail: 'http_events' },
    { label: 'time', type: 'column', detail: 'http_events, pgsql_events' },
  ]);
  assert.equal(shortType('INTEGER'), 'INTEGER');
});
