import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DifferenceList, describeDifference } from '../src/compare/difference.js';
import { diffJson } from '../src/compare/json-diff.js';
import { NoiseRuleSet } from '../src/compare/noise-rules.js';
import { formatPath } from '../src/compare/json-path.js';

const noRules = () => new NoiseRuleSet().forEndpoint('GET /x');

function diff(expected: unknown, actual: unknown) {
  const out = new DifferenceList();
  diffJson(expected, actual, noRules(), out);
  return out.items.map(({ path, kind, expected: e, actual: a }) => ({ path, kind, expected: e, actual: a }));
}

test('field-level differences carry JSON paths', () => {
  const recorded = {
    items: [
      { id: 1, price: 9.99 },
      { id: 2, price: 5 },
      { id: 3, price: 7 },
    ],
    total: 21.99,
  };
  const replayed = {
    items: [
      { id: 1, price: 9.99 },
      { id: 2, price: 5 },
      { id: 3, price: 8 },
    ],
    total: 22.99,
  };
  assert.deepEqual(diff(recorded, replayed), [
    { path: '$.items[2].price', kind: 'changed', expected: '7', actual: '8' },
    { path: '$.total', kind: 'changed', expected: '21.99', actual: '22.99' },
  ]);
});

test('added and removed members and elements', () => {
  assert.deepEqual(diff({ a: 1, gone: true, list: [1, 2] }, { a: 1, list: [1, 2, 3], extra: 'x' }), [
    { path: '$.gone', kind: 'removed', expected: 'true', actual: undefined },
    { path: '$.list[2]', kind: 'added', expected: undefined, actual: '3' },
    { path: '$.extra', kind: 'added', expected: undefined, actual: '"x"' },
  ]);
});

test('a type change is one difference at the node, with the types named', () => {
  const out = new DifferenceList();
  diffJson({ a: { b: 1 } }, { a: [1] }, noRules(), out);
  assert.equal(out.items.length, 1);
  assert.equal(out.items[0]?.path, '$.a');
  assert.equal(out.items[0]?.note, 'object → array');
  assert.match(describeDifference(out.items[0]!), /^\$\.a changed: \{"b":1\} → \[1\] \(object → array\)$/);
});

test('equal documents, including key order, have no differences', () => {
  assert.deepEqual(diff({ a: 1, b: [1, { c: null }] }, { a: 1, b: [1, { c: null }] }), []);
  assert.deepEqual(diff({ a: 1, b: 2 }, { b: 2, a: 1 }), []);
});

test('odd keys are quoted in paths', () => {
  assert.equal(formatPath(['odd key', 0, "it's", 'ok_1']), "$['odd key'][0]['it\\'s'].ok_1");
  assert.deepEqual(diff({ 'a-b': 1 }, { 'a-b': 2 })[0]?.path, "$['a-b']");
});

test('the list of differences is bounded and counts the rest', () => {
  const recorded = Array.from({ length: 500 }, (_, i) => i);
  const replayed = recorded.map((n) => n + 1);
  const out = new DifferenceList();
  diffJson(recorded, replayed, noRules(), out);
  assert.equal(out.items.length, 100);
  assert.equal(out.omitted, 400);
  assert.equal(out.count, 500);
});

test('deep nesting does not overflow', () => {
  let a: unknown = 1;
  let b: unknown = 2;
  for (let i = 0; i < 5000; i++) {
    a = [a];
    b = [b];
  }
  const out = new DifferenceList();
  diffJson(a, b, noRules(), out);
  assert.equal(out.items.length, 1);
});
