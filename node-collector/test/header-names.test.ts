import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashNameByte, NAME_HASH_SEED, wellKnownName } from '../src/protocols/http/header-names.js';

function lookup(name: string): string | undefined {
  const line = Buffer.from(`${name}: value`, 'latin1');
  let hash = NAME_HASH_SEED;
  for (let i = 0; i < name.length; i++) hash = hashNameByte(hash, line[i]!);
  return wellKnownName(line, 0, name.length, hash);
}

test('a well-known name in any case comes back lower-cased and interned', () => {
  assert.equal(lookup('Content-Length'), 'content-length');
  assert.equal(lookup('CONTENT-LENGTH'), 'content-length');
  assert.equal(lookup('x-request-id'), 'x-request-id');
  assert.equal(lookup('Authorization'), 'authorization');
});

test('names that are not in the table, or only share a prefix or a hash slot, are not matched', () => {
  assert.equal(lookup('Hos'), undefined);
  assert.equal(lookup('Hostx'), undefined);
  assert.equal(lookup('X-Custom-Header'), undefined);
  // Case folding applies to letters only: '[' (0x5b) is not a lower-cased '{'.
  assert.equal(lookup('Dn['), undefined);
});

test('a hash that is right for another name does not match different bytes', () => {
  const line = Buffer.from('Hostx', 'latin1');
  let hash = NAME_HASH_SEED;
  for (const byte of Buffer.from('host')) hash = hashNameByte(hash, byte);
  assert.equal(wellKnownName(line, 0, 4, hash), 'host');
  assert.equal(wellKnownName(line, 1, 5, hash), undefined);
});
