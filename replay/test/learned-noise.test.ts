import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoiseRuleSet } from '../src/compare/noise-rules.js';
import { compareResponses, type ComparableResponse } from '../src/compare/response-comparison.js';
import { learnFromPair, volatileTextPatterns } from '../src/replay/learned-noise.js';

const endpoint = 'GET /orders/:id';
const origin = 'learned: differed between two replays of GET /orders/7';

function json(value: unknown, headers: Record<string, string> = {}): ComparableResponse {
  return {
    status: 200,
    headers: Object.entries({ 'content-type': 'application/json', ...headers }).map(([name, value]) => ({
      name,
      value,
    })),
    body: JSON.stringify(value),
    bodyTruncated: false,
  };
}

test('fields that differ between two replays become rules for that endpoint, indices generalised', () => {
  const first = json({
    id: 7,
    servedAt: '2025-01-01T00:00:00.001Z',
    items: [
      { sku: 'a', traceId: 'u1' },
      { sku: 'b', traceId: 'u2' },
    ],
  });
  const second = json({
    id: 7,
    servedAt: '2025-01-01T00:00:01.002Z',
    items: [
      { sku: 'a', traceId: 'u3' },
      { sku: 'b', traceId: 'u4' },
    ],
  });
  const rules = learnFromPair(endpoint, first, second, ['content-type'], origin);
  assert.deepEqual(
    [...new NoiseRuleSet(rules).all].map((rule) => [
      rule.kind,
      'path' in rule ? rule.path : '',
      rule.endpoint,
      rule.origin,
    ]),
    [
      ['ignore-path', '$.servedAt', endpoint, origin],
      ['ignore-path', '$.items[*].traceId', endpoint, origin],
    ],
  );
});

test('learned rules let the noise through and still catch a real change', () => {
  const first = json({ id: 7, price: 10, at: 'x1' });
  const second = json({ id: 7, price: 10, at: 'x2' });
  const rules = new NoiseRuleSet(learnFromPair(endpoint, first, second, [], origin));
  const recorded = json({ id: 7, price: 10, at: 'x0' });
  const changed = json({ id: 7, price: 12, at: 'x9' });
  const found = compareResponses(recorded, changed, {
    compareHeaders: [],
    noise: rules.forEndpoint(endpoint),
  });
  assert.deepEqual(
    found.items.map((d) => d.path),
    ['$.price'],
  );
  assert.equal(rules.usesOf(rules.all[0]!), 1);
});

test('a header that differs between replays is learned when it is compared', () => {
  const rules = learnFromPair(
    endpoint,
    json({}, { etag: '"a"' }),
    json({}, { etag: '"b"' }),
    ['content-type', 'etag'],
    origin,
  );
  assert.deepEqual(
    rules.map((rule) => rule.kind === 'ignore-header' && rule.header),
    ['etag'],
  );
});

test('a status change or a list that grew is not noise', () => {
  const a = json({ items: [1, 2] });
  const b = { ...json({ items: [1, 2, 3] }), status: 500 };
  assert.deepEqual(learnFromPair(endpoint, a, b, [], origin), []);
});

test('text bodies: volatile values become regex rules, other changes teach nothing', () => {
  const first = 'order 3f1e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 2025-01-01T10:00:00Z\nstatus ok';
  const second = 'order 9a8b7c6d-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 2025-01-01T10:00:02Z\nstatus ok';
  assert.equal(volatileTextPatterns(first, second).length, 2);
  assert.deepEqual(volatileTextPatterns('status ok', 'status failed'), []);
  const text = (body: string): ComparableResponse => ({
    status: 200,
    headers: [],
    body,
    bodyTruncated: false,
  });
  const rules = new NoiseRuleSet(learnFromPair(endpoint, text(first), text(second), [], origin));
  assert.equal(rules.all.length, 2);
  const recorded = text('order 00000000-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 2024-05-05T05:05:05Z\nstatus ok');
  const noise = rules.forEndpoint(endpoint);
  assert.equal(compareResponses(recorded, text(second), { compareHeaders: [], noise }).count, 0);
  assert.equal(
    compareResponses(recorded, text(second.replace('ok', 'bad')), { compareHeaders: [], noise }).count,
    1,
  );
});
