import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import {
  headerFields,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  HttpParser,
  newHttpParserCounters,
  type HttpMessage,
  type HttpMessageKind,
  type HttpParserOptions,
} from '../src/protocols/http/http-parser.js';
import { HeadCache, MAX_CACHED_HEAD_BYTES, headersToJson } from '../src/protocols/http/head-cache.js';
import { HeaderRedactor, REDACTED } from '../src/protocols/http/redact.js';

interface Harness {
  parser: HttpParser;
  messages: HttpMessage[];
  counters: ReturnType<typeof newHttpParserCounters>;
  desyncs: number;
  switches: number;
}

/** A parser whose sink records everything; `methods` answer requestMethod() in turn. */
function harness(
  kind: HttpMessageKind,
  options: Partial<HttpParserOptions> = {},
  { methods = [] as (string | undefined)[], inSync = true } = {},
): Harness {
  const counters = newHttpParserCounters();
  const h: Harness = {
    parser: undefined as unknown as HttpParser,
    messages: [],
    counters,
    desyncs: 0,
    switches: 0,
  };
  let asked = 0;
  h.parser = new HttpParser(
    kind,
    {
      onMessage: (message) => h.messages.push(message),
      onDesync: () => h.desyncs++,
      requestMethod: () => methods[asked++],
      onProtocolSwitch: () => h.switches++,
    },
    counters,
    {
      maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      redactor: new HeaderRedactor(),
      ...options,
    },
    inSync,
  );
  return h;
}

function headers(fields: Record<string, string>): Record<string, string> {
  return headerFields(fields);
}

type Expected = Omit<HttpMessage, 'startNs' | 'endNs'>;

function request(fields: Partial<Expected>): Expected {
  return {
    kind: 'request',
    version: '1.1',
    method: 'GET',
    path: '/',
    status: 0,
    reason: '',
    headers: headers({}),
    body: '',
    bodySize: 0,
    bodyTruncated: false,
    ...fields,
  };
}

function response(fields: Partial<Expected>): Expected {
  return request({ kind: 'response', method: '', path: '', status: 200, reason: 'OK', ...fields });
}

/**
 * Wire bytes of a stream and, per message, its expected fields and the offsets of its first and last byte.
 */
class Wire {
  private readonly parts: Buffer[] = [];
  private length = 0;
  readonly expected: { message: Expected; first: number; last: number }[] = [];

  /** Bytes that do not form a message of their own (interim responses, garbage). */
  raw(bytes: string | Buffer): this {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    this.parts.push(buffer);
    this.length += buffer.length;
    return this;
  }

  message(bytes: string | Buffer, message: Expected): this {
    const first = this.length;
    this.raw(bytes);
    this.expected.push({ message, first, last: this.length - 1 });
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  /** Expected messages when the chunk holding byte i carries timestamp tsOf(i). */
  messages(tsOf: (offset: number) => number): HttpMessage[] {
    return this.expected.map(({ message, first, last }) => ({
      ...message,
      startNs: tsOf(first),
      endNs: tsOf(last),
    }));
  }
}

function head(startLine: string, fields: [string, string][] = []): string {
  return `${startLine}\r\n${fields.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

const gzipped = zlib.gzipSync(Buffer.from('{"ok":true,"items":[1,2,3]}'));

/** A 200 response with the gzipped body and its framing headers. */
function gzippedResponse(): Buffer {
  return Buffer.concat([
    Buffer.from(
      head('HTTP/1.1 200 OK', [
        ['Content-Encoding', 'gzip'],
        ['Content-Length', String(gzipped.length)],
      ]),
    ),
    gzipped,
  ]);
}

function requestWire(): Wire {
  return new Wire()
    .message(
      head('GET /a?x=1 HTTP/1.1', [
        ['Host', 'example.com'],
        ['Accept', '*/*'],
        ['accept', 'text/html'],
      ]),
      request({ path: '/a?x=1', headers: headers({ host: 'example.com', accept: '*/*, text/html' }) }),
    )
    .message(
      head('POST /submit HTTP/1.1', [
        ['Content-Length', '11'],
        ['Authorization', 'Bearer secret'],
      ]) + 'hello world',
      request({
        method: 'POST',
        path: '/submit',
        headers: headers({ 'content-length': '11', authorization: REDACTED }),
        body: 'hello world',
        bodySize: 11,
      }),
    )
    .message(
      head('PUT /chunked HTTP/1.1', [['Transfer-Encoding', 'chunked']]) +
        '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n',
      request({
        method: 'PUT',
        path: '/chunked',
        headers: headers({ 'transfer-encoding': 'chunked', 'x-checksum': 'abc' }),
        body: 'hello world',
        bodySize: 11,
      }),
    )
    .message(head('DELETE /old HTTP/1.0'), request({ method: 'DELETE', path: '/old', version: '1.0' }));
}

function responseWire(): Wire {
  return new Wire()
    .message(
      head('HTTP/1.1 200 OK', [
        ['Content-Length', '5'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ]) + 'first',
      response({
        headers: headers({ 'content-length': '5', 'set-cookie': REDACTED }),
        body: 'first',
        bodySize: 5,
      }),
    )
    .raw(head('HTTP/1.1 100 Continue'))
    .message(
      head('HTTP/1.1 201 Created', [['Transfer-Encoding', 'chunked']]) +
        '3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n',
      response({
        status: 201,
        reason: 'Created',
        headers: headers({ 'transfer-encoding': 'chunked' }),
        body: 'abc0123456789',
        bodySize: 13,
      }),
    )
    .message(head('HTTP/1.1 204 No Content'), response({ status: 204, reason: 'No Content' }))
    .message(
      head('HTTP/1.1 304 Not Modified', [['Content-Length', '99']]),
      response({ status: 304, reason: 'Not Modified', headers: headers({ 'content-length': '99' }) }),
    )
    .message(
      gzippedResponse(),
      response({
        headers: headers({ 'content-encoding': 'gzip', 'content-length': String(gzipped.length) }),
        body: '{"ok":true,"items":[1,2,3]}',
        bodySize: gzipped.length,
      }),
    )
    .message(
      head('HTTP/1.1 404', [['Content-Length', '0']]),
      response({ status: 404, reason: '', headers: headers({ 'content-length': '0' }) }),
    );
}

function feed(h: Harness, bytes: Buffer, boundaries: number[], tsOfChunk: (index: number) => number): void {
  let start = 0;
  [...boundaries, bytes.length].forEach((end, index) => {
    h.parser.onData(bytes.subarray(start, end), tsOfChunk(index));
    start = end;
  });
}

function assertClean(h: Harness): void {
  assert.deepEqual(
    { parseErrors: h.counters.parseErrors, resyncs: h.counters.resyncs, desyncs: h.desyncs },
    { parseErrors: 0, resyncs: 0, desyncs: 0 },
  );
}

describe('HttpParser', () => {
  for (const [kind, wire] of [
    ['request', requestWire()],
    ['response', responseWire()],
  ] as const) {
    const bytes = wire.bytes();

    it(`parses pipelined ${kind}s split at every byte boundary`, () => {
      for (let split = 1; split < bytes.length; split++) {
        const h = harness(kind);
        feed(h, bytes, [split], (index) => (index + 1) * 100);
        const expected = wire.messages((offset) => (offset < split ? 100 : 200));
        assert.deepEqual(h.messages, expected, `split at ${split}`);
        assertClean(h);
      }
    });

    it(`parses ${kind}s fed one byte at a time, timing each message by its first and last byte`, () => {
      const h = harness(kind);
      feed(
        h,
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
        (index) => 1000 + index,
      );
      assert.deepEqual(
        h.messages,
        wire.messages((offset) => 1000 + offset),
      );
      assertClean(h);
    });

    it(`parses ${kind}s split in three at random boundaries`, () => {
      let seed = 42;
      const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      for (let round = 0; round < 300; round++) {
        const a = 1 + Math.floor(next() * (bytes.length - 2));
        const b = a + 1 + Math.floor(next() * (bytes.length - a - 1));
        const h = harness(kind);
        feed(h, bytes, [a, b], (index) => index);
        assert.deepEqual(
          h.messages,
          wire.messages((offset) => (offset < a ? 0 : offset < b ? 1 : 2)),
          `splits ${a}, ${b}`,
        );
      }
    });
  }

  it('gives HEAD responses no body even with a Content-Length', () => {
    const h = harness('response', {}, { methods: ['HEAD', 'GET'] });
    h.parser.onData(
      Buffer.from(
        head('HTTP/1.1 200 OK', [['Content-Length', '1234']]) +
          head('HTTP/1.1 200 OK', [['Content-Length', '2']]) +
          'ok',
      ),
      7,
    );
    assert.deepEqual(h.messages, [
      { ...response({ headers: headers({ 'content-length': '1234' }) }), startNs: 7, endNs: 7 },
      {
        ...response({ headers: headers({ 'content-length': '2' }), body: 'ok', bodySize: 2 }),
        startNs: 7,
        endNs: 7,
      },
    ]);
  });

  it('delimits a response without length by the close', () => {
    const h = harness('response');
    h.parser.onData(Buffer.from(head('HTTP/1.0 200 OK', [['Server', 'old']]) + 'part one, '), 10);
    h.parser.onData(Buffer.from('part two'), 20);
    assert.equal(h.messages.length, 0);
    h.parser.end(true);
    assert.deepEqual(h.messages, [
      {
        ...response({
          version: '1.0',
          headers: headers({ server: 'old' }),
          body: 'part one, part two',
          bodySize: 18,
        }),
        startNs: 10,
        endNs: 20,
      },
    ]);
    h.parser.onData(Buffer.from('ignored after the end'), 30);
    assert.equal(h.messages.length, 1);
  });

  it('marks a close-delimited body truncated when state is dropped without a close', () => {
    const h = harness('response');
    h.parser.onData(Buffer.from(head('HTTP/1.1 200 OK') + 'some'), 10);
    h.parser.end(false);
    assert.deepEqual(h.messages, [
      { ...response({ body: 'some', bodySize: 4, bodyTruncated: true }), startNs: 10, endNs: 10 },
    ]);
  });

  it('delivers a message cut by the end as truncated, and drops a half head', () => {
    const h = harness('request');
    h.parser.onData(Buffer.from(head('POST /up HTTP/1.1', [['Content-Length', '10']]) + 'abc'), 5);
    h.parser.end(true);
    assert.deepEqual(h.messages, [
      {
        ...request({
          method: 'POST',
          path: '/up',
          headers: headers({ 'content-length': '10' }),
          body: 'abc',
          bodySize: 3,
          bodyTruncated: true,
        }),
        startNs: 5,
        endNs: 5,
      },
    ]);
    const half = harness('request');
    half.parser.onData(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), 1);
    half.parser.end(true);
    assert.deepEqual(half.messages, []);
  });

  it('keeps bodies up to the cap and the true size', () => {
    const body = 'x'.repeat(10_000);
    const h = harness('request');
    h.parser.onData(Buffer.from(head('POST / HTTP/1.1', [['Content-Length', '10000']]) + body), 1);
    assert.equal(h.messages.length, 1);
    assert.equal(h.messages[0]!.body, 'x'.repeat(DEFAULT_MAX_BODY_BYTES));
    assert.equal(h.messages[0]!.bodySize, 10_000);
    assert.equal(h.messages[0]!.bodyTruncated, true);
    assert.equal(h.counters.truncatedBodies, 1);

    const small = harness('response', { maxBodyBytes: 4 });
    small.parser.onData(
      Buffer.from(
        head('HTTP/1.1 200 OK', [['Transfer-Encoding', 'chunked']]) + '3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n',
      ),
      1,
    );
    assert.equal(small.messages[0]!.body, 'abcd');
    assert.equal(small.messages[0]!.bodySize, 6);
    assert.equal(small.messages[0]!.bodyTruncated, true);
  });

  it('decodes gzip, deflate (zlib and raw) and brotli bodies', () => {
    const text = 'decoded text '.repeat(20);
    for (const [encoding, encoded] of [
      ['gzip', zlib.gzipSync(text)],
      ['x-gzip', zlib.gzipSync(text)],
      ['deflate', zlib.deflateSync(text)],
      ['deflate', zlib.deflateRawSync(text)],
      ['br', zlib.brotliCompressSync(text)],
    ] as const) {
      const h = harness('response');
      h.parser.onData(
        Buffer.concat([
          Buffer.from(
            head('HTTP/1.1 200 OK', [
              ['Content-Encoding', encoding],
              ['Content-Length', String(encoded.length)],
            ]),
          ),
          encoded,
        ]),
        1,
      );
      assert.equal(h.messages[0]!.body, text, encoding);
      assert.equal(h.messages[0]!.bodySize, encoded.length);
      assert.equal(h.messages[0]!.bodyTruncated, false);
      assert.equal(h.counters.bodyDecodeErrors, 0);
    }
  });

  it('decodes what it kept of a gzip body cut at the cap, and cuts the output at the cap', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `line ${i * 7919}`).join('\n');
    const encoded = zlib.gzipSync(text);
    const h = harness('response', { maxBodyBytes: 1000 });
    h.parser.onData(
      Buffer.concat([
        Buffer.from(
          head('HTTP/1.1 200 OK', [
            ['Content-Encoding', 'gzip'],
            ['Content-Length', String(encoded.length)],
          ]),
        ),
        encoded,
      ]),
      1,
    );
    assert.ok(encoded.length > 1000);
    assert.equal(h.messages[0]!.body, text.slice(0, 1000));
    assert.equal(h.messages[0]!.bodySize, encoded.length);
    assert.equal(h.messages[0]!.bodyTruncated, true);
  });

  it('bounds the output of a compression bomb', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));
    const h = harness('response');
    const before = process.memoryUsage().arrayBuffers;
    h.parser.onData(
      Buffer.concat([
        Buffer.from(
          head('HTTP/1.1 200 OK', [
            ['Content-Encoding', 'gzip'],
            ['Content-Length', String(bomb.length)],
          ]),
        ),
        bomb,
      ]),
      1,
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024);
    assert.equal(h.messages[0]!.body, '\0'.repeat(DEFAULT_MAX_BODY_BYTES));
    assert.equal(h.messages[0]!.bodySize, bomb.length);
    assert.equal(h.messages[0]!.bodyTruncated, true);
    assert.equal(h.counters.bodyDecodeErrors, 0);
  });

  it('stores undecodable bodies empty and counts them', () => {
    const h = harness('response');
    for (const encoding of ['gzip', 'compress']) {
      h.parser.onData(
        Buffer.from(
          head('HTTP/1.1 200 OK', [
            ['Content-Encoding', encoding],
            ['Content-Length', '9'],
          ]) + 'not gzip!',
        ),
        1,
      );
    }
    assert.deepEqual(
      h.messages.map((m) => [m.body, m.bodySize]),
      [
        ['', 9],
        ['', 9],
      ],
    );
    assert.equal(h.counters.bodyDecodeErrors, 2);
  });

  it('skips a gap inside a body of known length and marks the body truncated', () => {
    const h = harness('request');
    h.parser.onData(Buffer.from(head('POST /a HTTP/1.1', [['Content-Length', '10']]) + 'abc'), 1);
    h.parser.onGap(4, 2);
    h.parser.onData(Buffer.from('hij' + head('GET /b HTTP/1.1')), 3);
    assert.deepEqual(h.messages, [
      {
        ...request({
          method: 'POST',
          path: '/a',
          headers: headers({ 'content-length': '10' }),
          body: 'abc',
          bodySize: 10,
          bodyTruncated: true,
        }),
        startNs: 1,
        endNs: 3,
      },
      { ...request({ path: '/b' }), startNs: 3, endNs: 3 },
    ]);
    assertClean(h);
  });

  it('ends a body at a gap that runs past it, then resynchronises', () => {
    const h = harness('request');
    h.parser.onData(Buffer.from(head('POST /a HTTP/1.1', [['Content-Length', '4']]) + 'ab'), 1);
    h.parser.onGap(10, 2); // 2 body bytes and 8 bytes of whatever followed
    h.parser.onData(Buffer.from('tail of a lost message\r\n' + head('GET /c HTTP/1.1')), 3);
    assert.deepEqual(
      h.messages.map((m) => [m.path, m.bodySize, m.bodyTruncated, m.endNs]),
      [
        ['/a', 4, true, 2],
        ['/c', 0, false, 3],
      ],
    );
    assert.deepEqual([h.counters.parseErrors, h.counters.resyncs, h.desyncs], [0, 1, 1]);
  });

  it('resynchronises after a gap inside headers', () => {
    const h = harness('response');
    h.parser.onData(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'), 1);
    h.parser.onGap(30, 2);
    h.parser.onData(
      Buffer.from('ngth: 5\r\n\r\nhello' + head('HTTP/1.1 404 Not Found', [['Content-Length', '0']])),
      3,
    );
    assert.deepEqual(h.messages, [
      {
        ...response({ status: 404, reason: 'Not Found', headers: headers({ 'content-length': '0' }) }),
        startNs: 3,
        endNs: 3,
      },
    ]);
    assert.deepEqual([h.counters.parseErrors, h.counters.resyncs, h.desyncs], [0, 1, 1]);
  });

  it('skips a gap inside one chunk, and resynchronises when a gap swallows chunk framing', () => {
    const h = harness('response');
    h.parser.onData(Buffer.from(head('HTTP/1.1 200 OK', [['Transfer-Encoding', 'chunked']]) + 'a\r\n01'), 1);
    h.parser.onGap(5, 2);
    h.parser.onData(Buffer.from('789\r\n3\r\nabc\r\n0\r\n\r\n'), 3);
    h.parser.onData(Buffer.from(head('HTTP/1.1 200 OK', [['Transfer-Encoding', 'chunked']]) + '4\r\nwx'), 4);
    h.parser.onGap(100, 5);
    h.parser.onData(Buffer.from(head('HTTP/1.1 202 Accepted')), 6);
    h.parser.end(true);
    assert.deepEqual(
      h.messages.map((m) => [m.status, m.body, m.bodySize, m.bodyTruncated, m.startNs, m.endNs]),
      [
        [200, '01', 13, true, 1, 3],
        [200, 'wx', 4, true, 4, 5],
        [202, '', 0, false, 6, 6],
      ],
    );
    assert.deepEqual([h.counters.parseErrors, h.counters.resyncs], [0, 1]);
  });

  it('counts garbage as one parse error and recovers at the next start line', () => {
    const h = harness('request');
    h.parser.onData(Buffer.from('\x16\x03\x01 binary junk\r\nmore junk HTTP/1.1 but not a request\r\n'), 1);
    h.parser.onData(Buffer.from('GET /ok HTTP/1.1\r\n\r\n'), 2);
    assert.deepEqual(h.messages, [{ ...request({ path: '/ok' }), startNs: 2, endNs: 2 }]);
    assert.deepEqual([h.counters.parseErrors, h.counters.resyncs, h.desyncs], [1, 1, 1]);
  });

  it('starts quietly mid-stream when told the stream may not begin at a message', () => {
    const h = harness('response', {}, { inSync: false });
    h.parser.onData(
      Buffer.from(
        'end of a body we never saw\r\n' + head('HTTP/1.1 200 OK', [['Content-Length', '1']]) + 'z',
      ),
      1,
    );
    assert.deepEqual(h.messages, [
      {
        ...response({ headers: headers({ 'content-length': '1' }), body: 'z', bodySize: 1 }),
        startNs: 1,
        endNs: 1,
      },
    ]);
    assert.equal(h.counters.parseErrors, 0);
  });

  it('finds a request that starts mid-line, right after a body that ran longer than announced', () => {
    const h = harness('request');
    h.parser.onData(
      Buffer.from(head('POST /a HTTP/1.1', [['Content-Length', '2']]) + '{}}' + head('DELETE /b HTTP/1.1')),
      1,
    );
    assert.deepEqual(
      h.messages.map((m) => [m.method, m.path, m.body]),
      [
        ['POST', '/a', '{}'],
        ['DELETE', '/b', ''],
      ],
    );
    assert.equal(h.counters.parseErrors, 1);

    const quiet = harness('request', {}, { inSync: false });
    quiet.parser.onData(Buffer.from('"tail": true}GET /c HTTP/1.1\r\nHost: x\r\n\r\n'), 1);
    assert.deepEqual(
      quiet.messages.map((m) => [m.path, m.headers['host']]),
      [['/c', 'x']],
    );
    assert.equal(quiet.counters.parseErrors, 0);
  });

  it('rejects malformed framing and recovers', () => {
    const cases = [
      head('POST / HTTP/1.1', [['Content-Length', '5, 6']]),
      head('POST / HTTP/1.1', [['Content-Length', '-1']]),
      head('POST / HTTP/1.1', [['Transfer-Encoding', 'gzip']]),
      head('POST / HTTP/1.1', [['Transfer-Encoding', 'chunked']]) + 'zz\r\n',
      head('POST / HTTP/1.1', [['Transfer-Encoding', 'chunked']]) + '2\r\nabX\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n',
      'GET / HTTP/1.1\r\nBad Name: a\r\n\r\n',
      'GET / HTTP/1.1\r\nno colon\r\n\r\n',
      'get / HTTP/1.1\r\n\r\n',
      'GET / HTTP/2.0\r\n\r\n',
    ];
    for (const bad of cases) {
      const h = harness('request');
      h.parser.onData(Buffer.from(bad + '\r\n' + head('GET /next HTTP/1.1')), 1);
      assert.deepEqual(
        h.messages.map((m) => m.path),
        ['/next'],
        JSON.stringify(bad),
      );
      assert.equal(h.counters.parseErrors, 1, JSON.stringify(bad));
    }
    const agreeing = harness('request');
    agreeing.parser.onData(Buffer.from(head('POST / HTTP/1.1', [['Content-Length', '2, 2']]) + 'ok'), 1);
    assert.equal(agreeing.messages[0]!.body, 'ok');
  });

  it('survives random garbage in random chunks and gaps, and recovers afterwards', () => {
    let seed = 9;
    const next = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const fragments = [
      ...requestWire().bytes().toString('latin1').split('\r\n'),
      'Content-Length: 99999999',
      '0\r\n',
    ];
    for (const kind of ['request', 'response'] as const) {
      for (let round = 0; round < 200; round++) {
        const h = harness(kind, { maxHeaderBytes: 4096 });
        for (let i = 0; i < 20; i++) {
          const roll = next();
          if (roll < 0.1) h.parser.onGap(1 + Math.floor(next() * 50), i);
          else if (roll < 0.4)
            h.parser.onData(Buffer.from(fragments[Math.floor(next() * fragments.length)]! + '\r\n'), i);
          else
            h.parser.onData(
              Buffer.from(Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256))),
              i,
            );
        }
        // Whatever state the garbage left, a gap longer than any body it could have announced resets framing.
        h.parser.onGap(Number.MAX_SAFE_INTEGER, 100);
        const valid =
          kind === 'request'
            ? head('GET /after HTTP/1.1')
            : head('HTTP/1.1 200 OK', [['Content-Length', '0']]);
        h.parser.onData(Buffer.from(valid), 101);
        const last = h.messages[h.messages.length - 1];
        assert.equal(last?.startNs, 101, `round ${round}`);
      }
    }
  });

  for (const [name, floodLine] of [
    ['one endless header line', (chunk: Buffer) => chunk.fill(0x61)],
    ['endless short header lines', (chunk: Buffer) => chunk.fill('X-Flood: yes\r\n')],
  ] as const) {
    it(`counts a 10 MB header flood (${name}) as one parse error without buffering it`, () => {
      const h = harness('request');
      const chunk = Buffer.alloc(64 * 1024);
      floodLine(chunk);
      const before = process.memoryUsage().arrayBuffers;
      h.parser.onData(Buffer.from('GET /flood HTTP/1.1\r\nX-Flood: '), 1);
      for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) h.parser.onData(chunk, 2);
      const grown = process.memoryUsage().arrayBuffers - before;
      h.parser.onData(Buffer.from('\r\n\r\n' + head('GET /after HTTP/1.1')), 3);
      assert.ok(grown < 2 * 1024 * 1024, `grew ${grown} bytes`);
      assert.deepEqual(h.messages, [{ ...request({ path: '/after' }), startNs: 3, endNs: 3 }]);
      assert.deepEqual([h.counters.parseErrors, h.counters.headerOverflows], [1, 1]);
    });
  }

  it('counts an endless start line as a header overflow', () => {
    const h = harness('response');
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    h.parser.onData(Buffer.from('HTTP/1.1 200 '), 1);
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) h.parser.onData(chunk, 2);
    h.parser.onData(Buffer.from('\r\n' + head('HTTP/1.1 204 No Content')), 3);
    assert.deepEqual(
      h.messages.map((m) => m.status),
      [204],
    );
    assert.deepEqual([h.counters.parseErrors, h.counters.headerOverflows], [1, 1]);
  });

  it('redacts sensitive headers, including configured ones, in any case', () => {
    const h = harness('request', { redactor: new HeaderRedactor(['X-Secret']) });
    h.parser.onData(
      Buffer.from(
        head('GET / HTTP/1.1', [
          ['Authorization', 'Basic dXNlcjpwYXNz'],
          ['Proxy-Authorization', 'Basic x'],
          ['Cookie', 'session=1'],
          ['COOKIE', 'other=2'],
          ['Set-Cookie', 'a=b'],
          ['X-API-Key', 'k1'],
          ['Api-Key', 'k2'],
          ['X-Auth-Token', 't'],
          ['x-secret', 's'],
          ['X-Request-Id', 'r-1'],
        ]),
      ),
      1,
    );
    assert.deepEqual(
      h.messages[0]!.headers,
      headers({
        authorization: REDACTED,
        'proxy-authorization': REDACTED,
        cookie: REDACTED,
        'set-cookie': REDACTED,
        'x-api-key': REDACTED,
        'api-key': REDACTED,
        'x-auth-token': REDACTED,
        'x-secret': REDACTED,
        'x-request-id': 'r-1',
      }),
    );
  });

  it('still frames and decodes a body by headers configured to be redacted', () => {
    const h = harness('response', {
      redactor: new HeaderRedactor(['Content-Length', 'Content-Encoding']),
    });
    h.parser.onData(gzippedResponse(), 1);
    assert.deepEqual(
      h.messages.map((m) => [m.headers, m.body]),
      [
        [
          headers({ 'content-encoding': REDACTED, 'content-length': REDACTED }),
          '{"ok":true,"items":[1,2,3]}',
        ],
      ],
    );
  });

  it('decodes header values and reason phrases the same when they repeat or are not ASCII', () => {
    const h = harness('response');
    const values = ['text/html', 'text/htmk', 'caf\u00e9 \u2615', 'text/html', '', 'x'.repeat(300)];
    for (const value of values) {
      const fields: [string, string][] = [
        ['Server', value],
        ['Content-Length', '0'],
      ];
      h.parser.onData(Buffer.from(head('HTTP/1.1 200 D\u00e9j\u00e0 vu', fields), 'utf8'), 1);
      h.parser.onData(Buffer.from(head('HTTP/1.1 200 OK', fields), 'utf8'), 1);
    }
    assert.deepEqual(
      h.messages.map((m) => [m.reason, m.headers['server']]),
      values.flatMap((value) => [
        ['D\u00e9j\u00e0 vu', value],
        ['OK', value],
      ]),
    );
  });

  it('keeps a header named __proto__ as data', () => {
    const h = harness('request');
    h.parser.onData(
      Buffer.from(
        head('GET / HTTP/1.1', [
          ['__proto__', 'polluted'],
          ['constructor', 'c'],
        ]),
      ),
      1,
    );
    const parsed = h.messages[0]!.headers;
    // Nothing inherited: an empty prototype without a prototype of its own.
    const prototype = Object.getPrototypeOf(parsed) as object;
    assert.deepEqual([Object.getOwnPropertyNames(prototype), Object.getPrototypeOf(prototype)], [[], null]);
    assert.equal('toString' in parsed, false);
    assert.deepEqual(Object.entries(parsed), [
      ['__proto__', 'polluted'],
      ['constructor', 'c'],
    ]);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('stops at 101 Switching Protocols and at a CONNECT tunnel', () => {
    const upgrade = harness('response');
    upgrade.parser.onData(
      Buffer.from(head('HTTP/1.1 101 Switching Protocols', [['Upgrade', 'websocket']]) + '\x81\x05hello'),
      1,
    );
    upgrade.parser.onData(Buffer.from('\x81\x05more frames'), 2);
    assert.deepEqual(
      upgrade.messages.map((m) => [m.status, m.headers['upgrade']]),
      [[101, 'websocket']],
    );
    assert.deepEqual([upgrade.switches, upgrade.counters.parseErrors], [1, 0]);

    const tunnel = harness('response', {}, { methods: ['CONNECT'] });
    tunnel.parser.onData(Buffer.from(head('HTTP/1.1 200 Connection established') + '\x16\x03\x01tls'), 1);
    assert.deepEqual(
      tunnel.messages.map((m) => [m.status, m.bodySize]),
      [[200, 0]],
    );
    assert.deepEqual([tunnel.switches, tunnel.counters.parseErrors], [1, 0]);
  });
});

describe('HttpParser with a head cache', () => {
  const head = (length: number) =>
    `POST /orders HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer s3cret\r\nContent-Length: ${length}\r\n\r\n`;

  it('takes a repeated head from the cache: same headers, framing from it, redaction kept', () => {
    const headCache = new HeadCache();
    const h = harness('request', { headCache });
    h.parser.onData(Buffer.from(head(5) + 'first' + head(5) + 'other'), 1);
    h.parser.onData(Buffer.from(head(5) + 'third'), 2);
    assert.deepEqual(
      h.messages.map((m) => m.body),
      ['first', 'other', 'third'],
    );
    const [a, b, c] = h.messages;
    assert.deepEqual(a!.headers, headers({ host: 'shop', authorization: REDACTED, 'content-length': '5' }));
    assert.equal(b!.headers, a!.headers, 'the second head came from the cache');
    assert.equal(c!.headers, a!.headers, 'in a later chunk too');
    assert.equal(headCache.size, 1);
    assert.equal(headersToJson(a!.headers), JSON.stringify(a!.headers));
    assert.equal(h.counters.parseErrors, 0);
  });

  it('parses as before what it does not cache: a head split across chunks, a chunked message with trailers', () => {
    const headCache = new HeadCache();
    const h = harness('response', { headCache });
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n';
    h.parser.onData(Buffer.from(chunked + chunked), 1);
    const split = 'HTTP/1.1 204 No Content\r\nServer: t\r\n\r\n';
    h.parser.onData(Buffer.from(split.slice(0, 30)), 2);
    h.parser.onData(Buffer.from(split.slice(30)), 3);
    assert.deepEqual(
      h.messages.map((m) => [m.status, m.body, m.headers]),
      [
        [200, 'ok', headers({ 'transfer-encoding': 'chunked', 'x-sum': '1' })],
        [200, 'ok', headers({ 'transfer-encoding': 'chunked', 'x-sum': '1' })],
        [204, '', headers({ server: 't' })],
      ],
    );
    assert.notEqual(h.messages[1]!.headers, h.messages[0]!.headers, 'trailers add to a head: never shared');
    assert.equal(headCache.size, 0);
  });

  it('tells apart heads of the same length that take turns, the last one seen and the others', () => {
    const headCache = new HeadCache();
    const h = harness('request', { headCache });
    const lengths = [5, 6, 5, 5, 6, 7, 6];
    for (const length of lengths) h.parser.onData(Buffer.from(head(length) + 'x'.repeat(length)), 1);
    assert.deepEqual(
      h.messages.map((m) => [m.headers['content-length'], m.body.length]),
      lengths.map((length) => [String(length), length]),
    );
    const byLength = (length: number) =>
      h.messages.filter((m) => m.headers['content-length'] === `${length}`);
    for (const length of [5, 6]) {
      assert.ok(byLength(length).every((m) => m.headers === byLength(length)[0]!.headers));
    }
    assert.equal(headCache.size, 3);
  });

  it('stays bounded: full, it is emptied and counts it', () => {
    const headCache = new HeadCache(2);
    const h = harness('request', { headCache });
    for (const length of [1, 2, 3]) h.parser.onData(Buffer.from(head(length) + 'x'.repeat(length)), length);
    assert.equal(h.messages.length, 3);
    assert.equal(headCache.clears, 1);
    assert.equal(headCache.size, 1);
  });
});

describe('HttpParser head cache, where heads do not repeat', () => {
  const unique = (i: number) => `GET /a HTTP/1.1\r\nHost: shop\r\nX-Request-Id: ${i}\r\n\r\n`;
  const repeated = 'GET /b HTTP/1.1\r\nHost: shop\r\n\r\n';
  const send = (h: ReturnType<typeof harness>, heads: string[]) =>
    h.parser.onData(Buffer.from(heads.join('')), 1);

  it('looks up one head in 16 of a kind that keeps missing, and all again once heads repeat', () => {
    const headCache = new HeadCache();
    const h = harness('request', { headCache });
    send(
      h,
      Array.from({ length: 256 }, (_, i) => unique(i)),
    );
    assert.equal(headCache.skipped, 0, 'every head is looked up until a window of 256 lookups has missed');
    send(
      h,
      Array.from({ length: 320 }, (_, i) => unique(1000 + i)),
    );
    assert.equal(headCache.skipped, 300, 'then one in 16');
    assert.equal(
      h.messages.at(-1)!.headers['x-request-id'],
      '1319',
      'heads not looked up are parsed as ever',
    );

    // 236 more sampled lookups close the window, hitting: from then on every head is looked up again.
    send(h, Array(236 * 16 + 100).fill(repeated));
    const skipped = headCache.skipped;
    send(h, Array(100).fill(repeated));
    assert.equal(headCache.skipped, skipped);
    const last = h.messages.slice(-200);
    assert.ok(
      last.every((m) => m.headers === last[0]!.headers),
      'repeated heads come from the cache',
    );
    assert.equal(h.messages.length, 256 + 320 + 236 * 16 + 200);
    assert.equal(h.counters.parseErrors, 0);
  });

  it('keeps requests and responses apart: unique requests do not stop repeated responses from being cached', () => {
    const headCache = new HeadCache();
    const requests = harness('request', { headCache });
    const responses = harness('response', { headCache });
    const response = 'HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 0\r\n\r\n';
    for (let i = 0; i < 600; i++) {
      send(requests, [unique(i)]);
      send(responses, [response]);
    }
    assert.ok(headCache.skipped > 0);
    assert.ok(responses.messages.every((m) => m.headers === responses.messages[0]!.headers));
  });
});

describe('HttpParser head cache keys', () => {
  it('finds where a head ends wherever it falls, and caches heads up to its size limit only', () => {
    const startLine = 'GET /p HTTP/1.1\r\n';
    // Header lines and their empty line: the key, 11 bytes plus the padding.
    const message = (pad: number) => `${startLine}X-Pad: ${'a'.repeat(pad)}\r\n\r\n`;
    for (const pad of [0, 1, 2, 3, 4, 5, 6, 7, MAX_CACHED_HEAD_BYTES - 11]) {
      const headCache = new HeadCache();
      const h = harness('request', { headCache });
      h.parser.onData(Buffer.from(message(pad) + message(pad)), 1);
      assert.equal(h.messages.length, 2, `padding ${pad}`);
      assert.equal(
        h.messages[1]!.headers,
        h.messages[0]!.headers,
        `padding ${pad}: the second head is cached`,
      );
    }
    const tooLong = new HeadCache();
    const h = harness('request', { headCache: tooLong });
    h.parser.onData(Buffer.from(message(MAX_CACHED_HEAD_BYTES - 10).repeat(2)), 1);
    assert.equal(h.messages.length, 2);
    assert.equal(tooLong.size, 0, 'one byte over the limit: parsed line by line, never cached');
    // No header lines: the empty line follows the start line's CRLF.
    const bare = new HeadCache();
    const b = harness('request', { headCache: bare });
    b.parser.onData(Buffer.from(`${startLine}\r\n`.repeat(3)), 1);
    assert.equal(b.messages.length, 3);
    assert.equal(bare.size, 1);
  });

  it('never caches a head whose empty line is a bare LF before a later CRLF CRLF', () => {
    const headCache = new HeadCache();
    const h = harness('request', { headCache });
    // The head ends at "\n\n"; the body happens to hold CRLF CRLF. Cached under the longer key, a repeat of these
    // bytes would skip the body.
    const message = 'POST /a HTTP/1.1\r\nContent-Length: 8\n\nab\r\n\r\ncd';
    h.parser.onData(Buffer.from(message + message), 1);
    assert.deepEqual(
      h.messages.map((m) => m.body),
      ['ab\r\n\r\ncd', 'ab\r\n\r\ncd'],
    );
    assert.equal(headCache.size, 0);
    assert.equal(h.counters.parseErrors, 0);
  });
});
