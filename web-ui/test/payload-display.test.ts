import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyView, headerLines, truncationNote } from '../src/domain/payload-display.js';

test('JSON bodies are indented; text and cut JSON stay as captured', () => {
  assert.deepEqual(bodyView('{"a":[1,2]}'), { kind: 'json', text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
  assert.deepEqual(bodyView('{"a":[1,'), { kind: 'text', text: '{"a":[1,' });
  assert.deepEqual(bodyView('hello'), { kind: 'text', text: 'hello' });
  assert.deepEqual(bodyView(null), { kind: 'empty', text: '' });
  assert.deepEqual(bodyView(''), { kind: 'empty', text: '' });
});

test('headers from an object or its JSON text; redacted values flagged', () => {
  const expected = [
    { name: 'content-type', value: 'application/json', redacted: false },
    { name: 'authorization', value: '[REDACTED]', redacted: true },
  ];
  const headers = { 'content-type': 'application/json', authorization: '[REDACTED]' };
  assert.deepEqual(headerLines(headers), expected);
  assert.deepEqual(headerLines(JSON.stringify(headers)), expected);
  assert.deepEqual(headerLines('not json'), []);
  assert.deepEqual(headerLines(null), []);
});

test('a truncated body says how much of it is stored, in UTF-8 bytes', () => {
  assert.equal(truncationNote('é'.repeat(4096), 59791, true), 'truncated at 8,192 of 59,791 bytes');
  assert.equal(truncationNote('abc', null, true), 'truncated at 3 of an unknown number of bytes');
  assert.equal(truncationNote('abc', 3, false), null);
  assert.equal(truncationNote('abc', 3, null), null);
});
