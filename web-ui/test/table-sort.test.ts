import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSortOrder, sortedIndexes } from '../src/domain/table-sort.js';

const rows = [
  { name: 'b', ms: '10.5' },
  { name: 'a', ms: 2 },
  { name: null, ms: null },
  { name: 'c', ms: 100 },
];

test('numbers, including numeric strings, sort by value', () => {
  assert.deepEqual(sortedIndexes(rows, { key: 'ms', direction: 'asc' }), [1, 0, 3, 2]);
  assert.deepEqual(sortedIndexes(rows, { key: 'ms', direction: 'desc' }), [3, 0, 1, 2]);
});

test('text sorts as text and missing values stay last both ways', () => {
  assert.deepEqual(sortedIndexes(rows, { key: 'name', direction: 'asc' }), [1, 0, 3, 2]);
  assert.deepEqual(sortedIndexes(rows, { key: 'name', direction: 'desc' }), [3, 0, 1, 2]);
});

test('no order keeps the answer order; ties keep it too', () => {
  assert.deepEqual(sortedIndexes(rows, null), [0, 1, 2, 3]);
  const ties = [{ v: 1 }, { v: 1 }, { v: 0 }];
  assert.deepEqual(sortedIndexes(ties, { key: 'v', direction: 'desc' }), [0, 1, 2]);
});

test('a header click cycles ascending, descending, unsorted', () => {
  const asc = nextSortOrder(null, 'ms');
  assert.deepEqual(asc, { key: 'ms', direction: 'asc' });
  const desc = nextSortOrder(asc, 'ms');
  assert.deepEqual(desc, { key: 'ms', direction: 'desc' });
  assert.equal(nextSortOrder(desc, 'ms'), null);
  assert.deepEqual(nextSortOrder(desc, 'name'), { key: 'name', direction: 'asc' });
});
