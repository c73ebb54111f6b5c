import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarInputError, parseHar, readHarFile } from '../src/har/har-file.js';
import { validateHar } from '../src/har/har-validator.js';
import { entry, har } from './support/har-fixtures.js';

const valid = () => har([entry({ url: 'http://a/x?y=1', responseBody: '{}' })]);

test('a complete HAR 1.2 document has no problems', () => {
  assert.deepEqual(validateHar(valid()), []);
});

test('missing required fields are reported with their paths', () => {
  const doc = valid() as unknown as { log: { entries: Record<string, Record<string, unknown>>[] } };
  const first = doc.log.entries[0]!;
  delete first.request!.cookies;
  delete first.response!.redirectURL;
  delete (first.response!.content as Record<string, unknown>).mimeType;
  delete first.timings!.wait;
  delete (first as Record<string, unknown>).cache;
  assert.deepEqual(
    validateHar(doc).map((p) => p.path),
    [
      '$.log.entries[0].request.cookies',
      '$.log.entries[0].response.content.mimeType',
      '$.log.entries[0].response.redirectURL',
      '$.log.entries[0].cache',
      '$.log.entries[0].timings.wait',
    ],
  );
});

test('wrong types, bad dates, relative URLs, other versions', () => {
  const doc = valid() as unknown as {
    log: Record<string, unknown> & { entries: Record<string, Record<string, unknown>>[] };
  };
  doc.log.version = '2.0';
  const first = doc.log.entries[0]!;
  (first as Record<string, unknown>).startedDateTime = 'yesterday';
  (first as Record<string, unknown>).time = -1;
  first.request!.url = '/relative';
  first.request!.headers = [{ name: 'a' }];
  first.response!.status = '200';
  const messages = validateHar(doc).map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(messages, [
    '$.log.version: unsupported HAR version "2.0" (expected 1.2)',
    '$.log.entries[0].startedDateTime: not an ISO 8601 date',
    '$.log.entries[0].time: must not be negative',
    '$.log.entries[0].request.url: not an absolute URL: /relative',
    '$.log.entries[0].request.headers[0].value: required string is missing',
    '$.log.entries[0].response.status: expected a finite number, got string',
  ]);
});

test('not a HAR at all', () => {
  assert.equal(validateHar(null)[0]?.path, '$');
  assert.equal(validateHar([])[0]?.path, '$');
  assert.deepEqual(validateHar({}), [{ path: '$.log', message: 'required object is missing' }]);
  assert.deepEqual(
    validateHar({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: {} } }),
    [{ path: '$.log.entries', message: 'expected a array, got object' }],
  );
});

test('problems are bounded', () => {
  const doc = {
    log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: Array(1000).fill({}) },
  };
  assert.equal(validateHar(doc).length, 50);
});

test('bad HAR input: unreadable, not JSON, invalid, too large, too many entries', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-har-'));
  try {
    const write = (name: string, text: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const expectError = async (promise: Promise<unknown>, message: RegExp) =>
      assert.rejects(
        promise,
        (error: unknown) => error instanceof HarInputError && message.test(error.message),
      );
    await expectError(readHarFile(path.join(dir, 'missing.har')), /cannot read .*missing\.har: ENOENT/);
    await expectError(readHarFile(dir), /is not a file/);
    await expectError(readHarFile(write('bad.har', '{"log": ')), /bad\.har is not JSON/);
    await expectError(
      readHarFile(write('empty.har', '{}')),
      /not a valid HAR 1\.2 file:\n {2}\$\.log: required object is missing/,
    );
    const big = write('big.har', JSON.stringify(valid()));
    await expectError(readHarFile(big, { maxBytes: 100, maxEntries: 10 }), /over the 0\.0 MiB limit/);
    const many = write(
      'many.har',
      JSON.stringify(har([entry({ url: 'http://a/' }), entry({ url: 'http://a/' })])),
    );
    await expectError(
      readHarFile(many, { maxBytes: 1e6, maxEntries: 1 }),
      /has 2 entries, more than the 1 one run takes/,
    );
    assert.equal((await readHarFile(big)).log.entries.length, 1);
    assert.throws(() => parseHar('[]', 'x.har'), /x\.har is not a valid HAR 1\.2 file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
