import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddress } from '../src/capture/address.js';

function v6(hex: string): Buffer {
  return Buffer.from(hex.replace(/:/g, ''), 'hex');
}

test('IPv4 addresses print as dotted quads', () => {
  assert.equal(formatAddress(Buffer.from([127, 0, 0, 1]), 0, 4), '127.0.0.1');
  assert.equal(formatAddress(Buffer.from([0, 10, 1, 2, 3]), 1, 4), '10.1.2.3');
});

test('IPv6 addresses are compressed as RFC 5952 says', () => {
  assert.equal(formatAddress(v6('0000:0000:0000:0000:0000:0000:0000:0001'), 0, 6), '::1');
  assert.equal(formatAddress(v6('2001:0db8:0000:0000:0001:0000:0000:0001'), 0, 6), '2001:db8::1:0:0:1');
  assert.equal(
    formatAddress(v6('fe80:0000:0000:0000:0202:b3ff:fe1e:8329'), 0, 6),
    'fe80::202:b3ff:fe1e:8329',
  );
  assert.equal(formatAddress(v6('2001:0db8:0001:0002:0003:0004:0005:0006'), 0, 6), '2001:db8:1:2:3:4:5:6');
  assert.equal(formatAddress(v6('0000:0000:0000:0000:0000:0000:0000:0000'), 0, 6), '::');
});

test('IPv4-mapped IPv6 addresses show the IPv4 address', () => {
  assert.equal(formatAddress(v6('0000:0000:0000:0000:0000:ffff:7f00:0001'), 0, 6), '127.0.0.1');
});
