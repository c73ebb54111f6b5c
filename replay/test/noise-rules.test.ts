import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DifferenceList } from '../src/compare/difference.js';
import { diffJson } from '../src/compare/json-diff.js';
import { PathPattern } from '../src/compare/json-path.js';
import { NoiseRuleSet, type NoiseRule } from '../src/compare/noise-rules.js';
import { compareResponses, type ComparableResponse } from '../src/compare/response-comparison.js';
import { ConfigError, parseReplayConfig } from '../src/config/replay-config.js';

const origin = 'test';

function paths(
  rules: NoiseRule[],
  expected: unknown,
  actual: unknown,
  endpoint = 'GET /orders/:id',
): string[] {
  const out = new DifferenceList();
  diffJson(expected, actual, new NoiseRuleSet(rules).forEndpoint(endpoint), out);
  return out.items.map((d) => d.path);
}

function response(body: string, headers: Record<string, string> = {}, status = 200): ComparableResponse {
  return {
    status,
    headers: Object.entries(headers).map(([name, value]) => ({ name, value })),
    body,
    bodyTruncated: false,
  };
}

test('path patterns: wildcards, descent, quoted keys', () => {
  assert.ok(PathPattern.parse('$.items[*].id').matches(['items', 3, 'id']));
  assert.ok(!PathPattern.parse('$.items[*].id').matches(['items', 3, 'name']));
  assert.ok(PathPattern.parse('$.meta.*').matches(['meta', 'x']));
  assert.ok(PathPattern.parse('$..requestId').matches(['a', 0, 'b', 'requestId']));
  assert.ok(PathPattern.parse('$..requestId').matches(['requestId']));
  assert.ok(PathPattern.parse("$['odd key'][2]").matches(['odd key', 2]));
  assert.ok(PathPattern.parse('$.meta').covers(['meta', 'x', 0]));
  assert.ok(!PathPattern.parse('$.meta').matches(['meta', 'x']));
  for (const bad of ['items', '$.', '$[x]', '$.a[', '$..']) {
    assert.throws(() => PathPattern.parse(bad), /bad JSON path/, bad);
  }
});

test('ignore path, with wildcards, ignores the node and what is under it', () => {
  const rules: NoiseRule[] = [
    { kind: 'ignore-path', path: '$.items[*].id', origin },
    { kind: 'ignore-path', path: '$.meta', origin },
  ];
  const recorded = {
    items: [
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ],
    meta: { at: 1, extra: {} },
  };
  const replayed = {
    items: [
      { id: 'c', n: 1 },
      { id: 'd', n: 3 },
    ],
    meta: { at: 2 },
  };
  assert.deepEqual(paths(rules, recorded, replayed), ['$.items[1].n']);
});

test('numeric tolerance, absolute and relative', () => {
  const rules: NoiseRule[] = [
    { kind: 'tolerance', path: '$.total', absolute: 0.01, origin },
    { kind: 'tolerance', path: '$.ms', relative: 0.1, origin },
  ];
  assert.deepEqual(paths(rules, { total: 10, ms: 100 }, { total: 10.005, ms: 109 }), []);
  assert.deepEqual(paths(rules, { total: 10, ms: 100 }, { total: 10.02, ms: 120 }), ['$.total', '$.ms']);
});

test('type-only compares the JSON type, not the value', () => {
  const rules: NoiseRule[] = [{ kind: 'type-only', path: '$.createdAt', origin }];
  assert.deepEqual(paths(rules, { createdAt: '2024-01-01' }, { createdAt: '2025-06-01' }), []);
  assert.deepEqual(paths(rules, { createdAt: '2024-01-01' }, { createdAt: 1700000000 }), ['$.createdAt']);
});

test('regex rules mask text bodies and JSON strings', () => {
  const rules = new NoiseRuleSet([{ kind: 'ignore-regex', regex: 'req-[0-9a-f]+', origin }]);
  const noise = rules.forEndpoint('GET /');
  const text = compareResponses(response('hello req-abc1\nbye'), response('hello req-ff02\nbye'), {
    compareHeaders: [],
    noise,
  });
  assert.equal(text.count, 0);
  const changed = compareResponses(response('hello req-abc1\nbye'), response('hello req-ff02\nBYE'), {
    compareHeaders: [],
    noise,
  });
  assert.deepEqual(
    changed.items.map((d) => [d.path, d.expected, d.actual]),
    [['line 2', '"bye"', '"BYE"']],
  );
  assert.deepEqual(paths([...rules.all], { id: 'req-1' }, { id: 'req-2' }), []);
  assert.ok(rules.usesOf(rules.all[0]!) >= 1);
});

test('headers: only the chosen ones are compared, ignore_header and redacted values let through', () => {
  const recorded = response('{}', {
    'content-type': 'application/json',
    etag: '"1"',
    date: 'x',
    'x-token': 'a',
  });
  const replayed = response('{}', { 'content-type': 'text/html', etag: '"2"', date: 'y', 'x-token': 'b' });
  recorded.headers = recorded.headers.map((h) => (h.name === 'x-token' ? { ...h, redacted: true } : h));
  const noise = new NoiseRuleSet([{ kind: 'ignore-header', header: 'etag', origin }]).forEndpoint('GET /');
  const found = compareResponses(recorded, replayed, {
    compareHeaders: ['content-type', 'etag', 'x-token'],
    noise,
  });
  assert.deepEqual(
    found.items.map((d) => [d.where, d.path]),
    [['header', 'content-type']],
  );
});

test('a status difference is never noise', () => {
  const found = compareResponses(response('{}', {}, 201), response('{}', {}, 200), {
    compareHeaders: [],
    noise: new NoiseRuleSet([{ kind: 'ignore-path', path: '$', origin }]).forEndpoint('GET /'),
  });
  assert.deepEqual(
    found.items.map((d) => [d.where, d.expected, d.actual]),
    [['status', '201', '200']],
  );
});

test('a rule scoped to an endpoint does not apply elsewhere', () => {
  const rules: NoiseRule[] = [{ kind: 'ignore-path', path: '$.id', endpoint: 'GET /orders/:id', origin }];
  assert.deepEqual(paths(rules, { id: 1 }, { id: 2 }, 'GET /orders/:id'), []);
  assert.deepEqual(paths(rules, { id: 1 }, { id: 2 }, 'GET /users/:id'), ['$.id']);
});

test('a body cut at capture is compared on the part that was kept', () => {
  const recorded = { ...response('{"a": 1, "b": "lo'), bodyTruncated: true };
  const noise = new NoiseRuleSet().forEndpoint('GET /');
  assert.equal(
    compareResponses(recorded, response('{"a": 1, "b": "long text"}'), { compareHeaders: [], noise }).count,
    0,
  );
  const found = compareResponses(recorded, response('{"a": 2, "b": "long text"}'), {
    compareHeaders: [],
    noise,
  });
  assert.equal(found.count, 1);
  assert.match(found.items[0]?.note ?? '', /recorded body is cut; compared its first 17 characters/);
});

test('replay.yaml: every rule kind, scopes and compared headers', () => {
  const config = parseReplayConfig(
    `
compare:
  headers: [Content-Type, ETag]
noise:
  - ignore_header: Date
  - ignore_path: $.items[*].id
    endpoint: GET /orders/:id
  - ignore_regex: 'req-[0-9a-f]+'
  - tolerance: $.total
    absolute: 0.01
    relative: 0.001
  - type_only: $.createdAt
`,
    'replay.yaml',
  );
  assert.deepEqual(config.compareHeaders, ['content-type', 'etag']);
  assert.deepEqual(
    config.noise.map((rule) => rule.kind),
    ['ignore-header', 'ignore-path', 'ignore-regex', 'tolerance', 'type-only'],
  );
  assert.equal(config.noise[0]?.kind === 'ignore-header' && config.noise[0].header, 'date');
  assert.equal(config.noise[1]?.endpoint, 'GET /orders/:id');
  assert.equal(config.noise[0]?.origin, 'replay.yaml');
  assert.deepEqual(parseReplayConfig('', 'empty.yaml').compareHeaders, ['content-type']);
});

test('replay.yaml mistakes are errors that say where', () => {
  const cases: [string, RegExp][] = [
    ['noise:\n  - ignore_pth: $.id\n', /noise\[0\]: needs exactly one of/],
    ['noise:\n  - ignore_path: items.id\n', /noise\[0\]\.ignore_path: bad JSON path/],
    ['noise:\n  - ignore_regex: "("\n', /noise\[0\]\.ignore_regex: Invalid regular expression/],
    ['noise:\n  - tolerance: $.a\n', /a tolerance needs absolute, relative or both/],
    ['noise:\n  - tolerance: $.a\n    absolute: -1\n', /absolute: expected a number ≥ 0/],
    ['noise:\n  - ignore_path: $.a\n    note: x\n', /unknown key note/],
    ['comapre: {}\n', /top level: unknown key comapre/],
    ['noise: [\n', /bad\.yaml/],
    ['- just a list\n', /expected a mapping/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseReplayConfig(text, 'bad.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});
