import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statementExamplesSql, statementsSql } from '../src/domain/sql-statements.js';

const RANGE = { kind: 'relative' as const, seconds: 3600 };

test('statements are grouped per server over both SQL tables, counted once, filtered by literals', () => {
  const sql = statementsSql({ server: "pg'", text: '50%' }, RANGE);
  assert.match(sql, /FROM pgsql_events WHERE/);
  assert.match(sql, /FROM mysql_events WHERE/);
  assert.match(sql, /NOT EXISTS/);
  assert.match(sql, /server LIKE '%pg''%' ESCAPE '\\' AND statement LIKE '%50\\%%' ESCAPE '\\'/);
  assert.doesNotMatch(statementsSql({ server: '', text: '' }, RANGE), /server LIKE/);
});

test('examples of one statement come from its protocol’s table, the text a literal', () => {
  assert.match(
    statementExamplesSql('pgsql', "SELECT 'x'", RANGE) ?? '',
    /FROM pgsql_events[\s\S]*= 'SELECT ''x'''/,
  );
  assert.equal(statementExamplesSql('oracle', 'SELECT 1', RANGE), null);
});
