import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeQuery } from '../src/protocols/sql/normalize-query.js';

test('literals become placeholders and whitespace folds', () => {
  assert.equal(
    normalizeQuery("SELECT * FROM users  WHERE id = 42 AND name='O''Brien'", 'pgsql'),
    'SELECT * FROM users WHERE id = ? AND name = ?',
  );
  assert.equal(normalizeQuery('select a from t where x=1.5e3', 'pgsql'), 'select a from t where x = ?');
  assert.equal(
    normalizeQuery('UPDATE t SET v = -7 WHERE k = 0xFF', 'mysql'),
    'UPDATE t SET v = ? WHERE k = ?',
  );
});

test('a sign in front of a number belongs to the literal, a minus between operands stays', () => {
  const update = (delta: string) =>
    `UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = 7`;
  assert.equal(normalizeQuery(update('-4559'), 'pgsql'), normalizeQuery(update('4316'), 'pgsql'));
  assert.equal(
    normalizeQuery(update('-4559'), 'pgsql'),
    'UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?',
  );
  assert.equal(
    normalizeQuery('SELECT x - 5, y -2, -3, f(-1), "q" - 4', 'pgsql'),
    'SELECT x - ?, y - ?, ?, f (?), "q" - ?',
  );
  assert.equal(
    normalizeQuery('SELECT a FROM t WHERE b = -1 OR c < -2.5 LIMIT 10', 'mysql'),
    'SELECT a FROM t WHERE b = ? OR c < ? LIMIT ?',
  );
  assert.equal(normalizeQuery('SELECT (a) - 1, ? - 2', 'mysql'), 'SELECT (a) - ?, ? - ?');
});

test('identifiers with digits, positional parameters and quoted identifiers stay', () => {
  assert.equal(normalizeQuery('SELECT c1 FROM t2 WHERE id = $1', 'pgsql'), 'SELECT c1 FROM t2 WHERE id = $1');
  assert.equal(
    normalizeQuery('SELECT "Col" FROM "T" WHERE a = 3', 'pgsql'),
    'SELECT "Col" FROM "T" WHERE a = ?',
  );
  assert.equal(
    normalizeQuery('SELECT `c` FROM `t` WHERE a = "x"', 'mysql'),
    'SELECT `c` FROM `t` WHERE a = ?',
  );
});

test('dialect strings: E-strings and dollar quotes in PostgreSQL, double quotes in MySQL', () => {
  assert.equal(normalizeQuery("SELECT E'a\\'b', $$x;y$$, $t$z$t$", 'pgsql'), 'SELECT ?, ?, ?');
  assert.equal(normalizeQuery('SELECT "not an identifier"', 'mysql'), 'SELECT ?');
});

test('comments go; lists of values collapse; trailing semicolons go', () => {
  assert.equal(
    normalizeQuery('SELECT 1 -- why\n FROM t /* hint */ WHERE id IN (1, 2, 3);', 'pgsql'),
    'SELECT ? FROM t WHERE id IN (?)',
  );
  assert.equal(
    normalizeQuery("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", 'mysql'),
    'INSERT INTO t (a, b) VALUES (?)',
  );
  assert.equal(normalizeQuery('SELECT 1 # mysql comment\n', 'mysql'), 'SELECT ?');
});

test('function calls and casts keep a stable shape', () => {
  assert.equal(
    normalizeQuery('SELECT count(*), now()::date FROM t', 'pgsql'),
    'SELECT count (*), now ()::date FROM t',
  );
  assert.equal(normalizeQuery('SELECT s.a FROM s', 'pgsql'), 'SELECT s.a FROM s');
});

test('the same statement with other values normalises the same', () => {
  const a = normalizeQuery("SELECT * FROM orders WHERE customer = 'ann' AND total > 10", 'pgsql');
  const b = normalizeQuery("SELECT *   FROM orders WHERE customer='bob' AND total>99.5", 'pgsql');
  assert.equal(a, b);
});

test('unterminated strings and comments end the statement without throwing', () => {
  assert.equal(normalizeQuery("SELECT 'open", 'pgsql'), 'SELECT ?');
  assert.equal(normalizeQuery('SELECT 1 /* open', 'pgsql'), 'SELECT ?');
});
