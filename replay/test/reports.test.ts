import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayReport } from '../src/replay/replay-run.js';
import { endpointOf, pathPattern } from '../src/report/endpoint-pattern.js';
import { htmlReport } from '../src/report/html-report.js';
import { junitReport } from '../src/report/junit-report.js';
import { latencyByEndpoint, percentile } from '../src/report/latency.js';
import { summaryText } from '../src/report/summary-text.js';

function sampleReport(): ReplayReport {
  const base = { differences: [], omittedDifferences: 0, recordedMs: 2 };
  return {
    target: 'http://127.0.0.1:9/',
    startedAt: '2025-03-01T10:00:00.000Z',
    durationMs: 1500,
    results: [
      {
        ...base,
        index: 0,
        method: 'GET',
        target: '/orders/1',
        endpoint: 'GET /orders/:id',
        verdict: 'passed',
        replayedMs: 3,
      },
      {
        ...base,
        index: 1,
        method: 'GET',
        target: '/orders/2?x=<&>',
        endpoint: 'GET /orders/:id',
        verdict: 'failed',
        replayedMs: 5,
        differences: [
          {
            where: 'body',
            path: '$.items[2].price',
            kind: 'changed',
            expected: '9.99',
            actual: '"<b>10</b>"',
          },
          { where: 'status', path: 'status', kind: 'changed', expected: '200', actual: '500' },
        ],
        omittedDifferences: 3,
      },
      {
        ...base,
        index: 2,
        method: 'POST',
        target: '/orders',
        endpoint: 'POST /orders',
        verdict: 'error',
        reason: 'timeout: no complete response in 100 ms',
      },
      {
        ...base,
        index: 3,
        method: 'POST',
        target: '/pay',
        endpoint: 'POST /pay',
        verdict: 'skipped',
        reason: 'POST is not safe to repeat (--exclude-unsafe)',
      },
    ],
    rules: [
      {
        rule: {
          kind: 'ignore-path',
          path: '$.servedAt',
          endpoint: 'GET /orders/:id',
          origin: 'learned: differed between two replays of GET /orders/1',
        },
        uses: 4,
      },
      { rule: { kind: 'ignore-header', header: 'date', origin: 'replay.yaml' }, uses: 0 },
    ],
  };
}

test('endpoint pattern replaces numeric and UUID segments and drops the query', () => {
  assert.equal(pathPattern('/orders/42/items/7?x=1'), '/orders/:id/items/:id');
  assert.equal(
    pathPattern('http://h:1/users/3f1e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6/cart#x'),
    '/users/:id/cart',
  );
  assert.equal(pathPattern('/v2/orders/abc'), '/v2/orders/abc');
  assert.equal(endpointOf('get', '/'), 'GET /');
});

test('latency percentiles per endpoint', () => {
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
  const changes = latencyByEndpoint(sampleReport().results);
  assert.deepEqual(changes, [
    { endpoint: 'GET /orders/:id', count: 2, recorded: { p50: 2, p99: 2 }, replayed: { p50: 3, p99: 5 } },
  ]);
});

test('JUnit XML: one testcase per request, failures with their diff, escaped', () => {
  const xml = junitReport(sampleReport());
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="loupe replay" tests="4" failures="1" errors="1" skipped="1"/,
  );
  assert.equal(xml.match(/<testcase /g)?.length, 4);
  assert.match(
    xml,
    /<testcase classname="GET \/orders\/:id" name="#2 GET \/orders\/2\?x=&lt;&amp;&gt;" time="0\.005">/,
  );
  assert.match(
    xml,
    /<failure type="ResponseMismatch" message="5 differences: \$\.items\[2\]\.price changed: 9\.99 → &quot;&lt;b&gt;10&lt;\/b&gt;&quot;">/,
  );
  assert.match(xml, /status changed: 200 → 500\n\.\.\. and 3 more differences<\/failure>/);
  assert.match(xml, /<error type="ReplayError" message="timeout: no complete response in 100 ms"\/>/);
  assert.match(xml, /<skipped message="POST is not safe to repeat \(--exclude-unsafe\)"\/>/);
  // Balanced: every opened element is closed.
  for (const tag of ['testsuites', 'testsuite', 'failure']) {
    assert.equal(xml.split(`<${tag} `).length, xml.split(`</${tag}>`).length, tag);
  }
  assert.ok(
    !junitReport({ ...sampleReport(), target: 'a\u0001b' }).includes('\u0001'),
    'no control characters',
  );
});

test('HTML report is self-contained and shows every failure field by field', () => {
  const html = htmlReport(sampleReport());
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<style>/);
  assert.doesNotMatch(html, /<script|<link|src=|href=|url\(/i);
  assert.match(html, /\$\.items\[2\]\.price/);
  assert.match(html, /&quot;&lt;b&gt;10&lt;\/b&gt;&quot;/);
  assert.doesNotMatch(html, /<b>10<\/b>/);
  assert.match(html, /… and 3 more differences/);
  assert.match(html, /learned: differed between two replays of GET \/orders\/1/);
  assert.match(html, /timeout: no complete response in 100 ms/);
});

test('stdout summary: counts, failures, learned noise, latency per endpoint', () => {
  const text = summaryText(sampleReport());
  assert.match(text, /replayed 4 requests against http:\/\/127\.0\.0\.1:9\/ in 1\.50 s/);
  assert.match(text, /passed 1, failed 1, errors 1, skipped 1/);
  assert.match(text, /noise: 2 rules \(1 learned\), 4 differences ignored by 1 of them/);
  assert.match(text, /#2 GET \/orders\/2\?x=<&>\n\s+\$\.items\[2\]\.price changed: 9\.99 → "<b>10<\/b>"/);
  assert.match(
    text,
    /ignore \$\.servedAt \(GET \/orders\/:id\): 4 ignored; learned: differed between two replays of GET \/orders\/1/,
  );
  assert.match(text, /GET \/orders\/:id\s+2\s+2\.00 → 3\.00 ms \(\+50%\)\s+2\.00 → 5\.00 ms \(\+150%\)/);
});
