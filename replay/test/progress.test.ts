import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from '../src/replay/progress.js';

test('without a terminal: plain lines, at most one per tenth', () => {
  let text = '';
  const progress = createProgress((t) => (text += t), false);
  progress.begin('replay', 100);
  for (let i = 0; i < 100; i++) progress.advance(i % 10 !== 0);
  progress.end();
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'replay: 100 requests');
  assert.equal(lines.length, 11);
  assert.match(lines.at(-1) ?? '', /^replay: 100\/100 sent, 10 failed, \d+ req\/s$/);
  assert.doesNotMatch(text, /\r/);
});

test('on a terminal: one bar redrawn in place', () => {
  let text = '';
  const progress = createProgress((t) => (text += t), true);
  progress.begin('replay', 4);
  for (let i = 0; i < 4; i++) progress.advance(true);
  progress.end();
  assert.match(text, /^\rreplay \[-{30}\] 0\/4/);
  assert.match(text, /\rreplay \[#{30}\] 4\/4 {2}0 failed {2}\d+ req\/s/);
  assert.ok(text.endsWith('\u001b[K\n'), 'the line is cleared to its end, then ended');
  assert.equal(text.split('\n').length, 2);
});
