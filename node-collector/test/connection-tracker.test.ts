import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import type {
  CaptureEvent,
  CloseEvent,
  ConnOpenEvent,
  DataEvent,
  Direction,
  Protocol,
  Role,
} from '../src/capture/events.js';
import {
  ConnectionTracker,
  type ConnectionTrackerOptions,
  type ProtocolSession,
} from '../src/conn/connection-tracker.js';
import { headerFields } from '../src/protocols/http/http-parser.js';
import { REDACTED } from '../src/protocols/http/redact.js';
import type { ConnStatsRecord, HttpRecord } from '../src/store/records.js';

const KEY = '100:7:1';

function openEvent(fields: Partial<ConnOpenEvent> = {}): ConnOpenEvent {
  return {
    kind: 'open',
    connKey: KEY,
    tgid: 100,
    fd: 7,
    tsNs: 1000,
    role: 'server',
    family: 4,
    localAddr: '10.0.0.1',
    localPort: 8080,
    remoteAddr: '10.0.0.2',
    remotePort: 51000,
    netns: 4026531840,
    preexisting: false,
    comm: 'api-server',
    ...fields,
  };
}

function dataEvent(
  direction: Direction,
  pos: number,
  bytes: string | Buffer,
  tsNs: number,
  fields: Partial<DataEvent> = {},
): DataEvent {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return {
    kind: 'data',
    connKey: KEY,
    tgid: 100,
    fd: 7,
    tsNs,
    direction,
    pos,
    size: data.length,
    data,
    protocol: 'http1',
    role: 'server',
    ...fields,
  };
}

function closeEvent(tsNs: number, fields: Partial<CloseEvent> = {}): CloseEvent {
  return {
    kind: 'close',
    connKey: KEY,
    tgid: 100,
    fd: 7,
    tsNs,
    bytesSent: 0,
    bytesRecv: 0,
    protocol: 'http1',
    role: 'server',
    ...fields,
  };
}

function setup(options: Partial<ConnectionTrackerOptions> = {}) {
  const http: HttpRecord[] = [];
  const stats: ConnStatsRecord[] = [];
  const tracker = new ConnectionTracker({
    processName: (tgid) => (tgid === 100 ? 'api-server' : `proc-${tgid}`),
    onHttp: (record) => http.push(record),
    onConnStats: (record) => stats.push(record),
    ...options,
  });
  return { tracker, http, stats };
}

function headers(fields: Record<string, string>): Record<string, string> {
  return headerFields(fields);
}

/** Feeds one direction's bytes as consecutive data events, tracking stream positions per direction. */
class Streams {
  private readonly pos: Record<Direction, number> = { egress: 0, ingress: 0 };
  readonly events: DataEvent[] = [];

  constructor(private readonly fields: Partial<DataEvent> = {}) {}

  add(
    direction: Direction,
    bytes: string | Buffer,
    tsNs: number,
    fields: Partial<DataEvent> = {},
  ): DataEvent {
    const event = dataEvent(direction, this.pos[direction], bytes, tsNs, { ...this.fields, ...fields });
    this.pos[direction] += event.size;
    this.events.push(event);
    return event;
  }

  /** Adds bytes cut into pieces of `size`, each with its own timestamp from `tsNs` on. */
  addPieces(direction: Direction, bytes: string, size: number, tsNs: number): number {
    let ts = tsNs;
    for (let at = 0; at < bytes.length; at += size) this.add(direction, bytes.slice(at, at + size), ts++);
    return ts;
  }

  /** Skips bytes as if their event was lost. */
  lose(direction: Direction, bytes: string): void {
    this.pos[direction] += bytes.length;
  }
}

/** The fields of a record that depend on parsing and pairing, for compact expectations. */
function summary(record: HttpRecord) {
  return [
    record.reqMethod,
    record.reqPath,
    record.respStatus,
    record.respBody,
    record.timeNs,
    record.latencyNs,
  ];
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GET_USER =
  'GET /users/42 HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer abc\r\n' +
  'X-Request-Id: r1\r\nX-Request-Id: r2\r\n\r\n';
const USER_RESPONSE =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: s=1\r\n' +
  'Content-Length: 9\r\n\r\n{"id":42}';

describe('ConnectionTracker', () => {
  it('emits one exact record per exchange and conn stats on open and close (server role)', () => {
    const { tracker, http, stats } = setup();
    tracker.handleEvent(openEvent());
    tracker.handleEvent(dataEvent('ingress', 0, GET_USER, 2000));
    tracker.handleEvent(dataEvent('egress', 0, USER_RESPONSE, 5000));
    tracker.handleEvent(closeEvent(9000, { bytesSent: USER_RESPONSE.length, bytesRecv: GET_USER.length }));
    const endpoint = {
      pid: 100,
      process: 'api-server',
      localAddr: '10.0.0.1',
      localPort: 8080,
      remoteAddr: '10.0.0.2',
      remotePort: 51000,
      role: 'server' as Role,
      encrypted: false,
    };
    assert.deepEqual(http, [
      {
        ...endpoint,
        timeNs: 5000,
        version: '1.1',
        reqMethod: 'GET',
        reqPath: '/users/42',
        reqHeaders: headers({ host: 'api', authorization: REDACTED, 'x-request-id': 'r1, r2' }),
        reqBody: '',
        reqBodySize: 0,
        reqBodyTruncated: false,
        respStatus: 200,
        respMessage: 'OK',
        respHeaders: headers({
          'content-type': 'application/json',
          'set-cookie': REDACTED,
          'content-length': '9',
        }),
        respBody: '{"id":42}',
        respBodySize: 9,
        respBodyTruncated: false,
        latencyNs: 3000,
      },
    ]);
    assert.deepEqual(stats, [
      {
        ...endpoint,
        timeNs: 1000,
        protocol: 'unknown',
        connOpen: true,
        connClose: false,
        bytesSent: 0,
        bytesRecv: 0,
      },
      {
        ...endpoint,
        timeNs: 9000,
        protocol: 'http1',
        connOpen: false,
        connClose: true,
        bytesSent: USER_RESPONSE.length,
        bytesRecv: GET_USER.length,
      },
    ]);
    assert.equal(tracker.connectionCount, 0);
    const c = tracker.counters;
    assert.deepEqual(
      [c.events, c.openEvents, c.dataEvents, c.closeEvents, c.bytes, c.httpRecords, c.parseErrors, c.gaps],
      [4, 1, 2, 1, GET_USER.length + USER_RESPONSE.length, 1, 0, 0],
    );
  });

  it('takes requests from egress for a client', () => {
    const { tracker, http } = setup();
    tracker.handleEvent(openEvent({ role: 'client' }));
    tracker.handleEvent(dataEvent('egress', 0, GET_USER, 2000, { role: 'client' }));
    tracker.handleEvent(dataEvent('ingress', 0, USER_RESPONSE, 2500, { role: 'client' }));
    assert.deepEqual(
      http.map((r) => [r.role, ...summary(r)]),
      [['client', 'GET', '/users/42', 200, '{"id":42}', 2500, 500]],
    );
  });

  for (const [requestDirection, role] of [
    ['egress', 'client'],
    ['ingress', 'server'],
  ] as const) {
    it(`infers role ${role} from the direction that carries requests, whichever arrives first`, () => {
      for (const responseFirst of [false, true]) {
        const { tracker, http } = setup();
        const responseDirection = requestDirection === 'egress' ? 'ingress' : 'egress';
        const streams = new Streams({ role: 'unknown' });
        // Tiny first pieces: "H" could start "HEAD " or "HTTP/".
        const request = 'HEAD /health HTTP/1.1\r\n\r\n';
        const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
        const requestEvents = [
          streams.add(requestDirection, 'H', 10),
          streams.add(requestDirection, request.slice(1), 11),
        ];
        const responseEvents = [
          streams.add(responseDirection, 'H', 20),
          streams.add(responseDirection, response.slice(1), 21),
        ];
        tracker.handleEvent(openEvent({ role: 'unknown' }));
        const ordered = responseFirst
          ? [...responseEvents, ...requestEvents]
          : [...requestEvents, ...responseEvents];
        for (const event of ordered) tracker.handleEvent(event);
        tracker.handleEvent(closeEvent(30, { role: 'unknown' }));
        assert.deepEqual(
          http.map((r) => [r.role, ...summary(r)]),
          [[role, 'HEAD', '/health', 200, '', 21, 11]],
          `response first: ${responseFirst}`,
        );
        assert.equal(tracker.counters.parseErrors, 0);
      }
    });
  }

  const PIPELINED_REQUESTS =
    'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' +
    'POST /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody' +
    'HEAD /3 HTTP/1.1\r\n\r\n' +
    'PUT /4 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n';
  const PIPELINED_RESPONSES =
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none' +
    'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n' +
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n';

  it('pairs pipelined requests and responses split at every byte boundary', () => {
    const requestEnds = [
      PIPELINED_REQUESTS.indexOf('POST'),
      PIPELINED_REQUESTS.indexOf('HEAD'),
      PIPELINED_REQUESTS.indexOf('PUT'),
      PIPELINED_REQUESTS.length,
    ];
    const requestStarts = [0, ...requestEnds.slice(0, 3)];
    const responseEnds = [
      PIPELINED_RESPONSES.indexOf('HTTP/1.1 201'),
      PIPELINED_RESPONSES.indexOf('HTTP/1.1 200 OK\r\nContent-Length: 500'),
      PIPELINED_RESPONSES.indexOf('HTTP/1.1 100'),
      PIPELINED_RESPONSES.length,
    ];
    for (let split = 1; split < PIPELINED_RESPONSES.length; split++) {
      const requestSplit = 1 + ((split * 7) % (PIPELINED_REQUESTS.length - 1));
      const { tracker, http } = setup();
      const streams = new Streams();
      tracker.handleEvent(openEvent());
      for (const event of [
        streams.add('ingress', PIPELINED_REQUESTS.slice(0, requestSplit), 10),
        streams.add('ingress', PIPELINED_REQUESTS.slice(requestSplit), 20),
        streams.add('egress', PIPELINED_RESPONSES.slice(0, split), 30),
        streams.add('egress', PIPELINED_RESPONSES.slice(split), 40),
      ]) {
        tracker.handleEvent(event);
      }
      const requestStart = (i: number) => (requestStarts[i]! < requestSplit ? 10 : 20);
      const responseEnd = (i: number) => (responseEnds[i]! - 1 < split ? 30 : 40);
      assert.deepEqual(
        http.map(summary),
        [
          ['GET', '/1', 200, 'one', responseEnd(0), responseEnd(0) - requestStart(0)],
          ['POST', '/2', 201, 'two', responseEnd(1), responseEnd(1) - requestStart(1)],
          ['HEAD', '/3', 200, '', responseEnd(2), responseEnd(2) - requestStart(2)],
          ['PUT', '/4', 204, '', responseEnd(3), responseEnd(3) - requestStart(3)],
        ],
        `request split ${requestSplit}, response split ${split}`,
      );
      assert.deepEqual(
        http.map((r) => [r.reqBody, r.reqBodySize, r.respBodySize]),
        [
          ['', 0, 3],
          ['body', 4, 3],
          ['', 0, 0],
          ['hi', 2, 0],
        ],
      );
      assert.equal(tracker.counters.parseErrors, 0);
    }
  });

  it('gives the same records when events arrive out of order, duplicated or overlapping', () => {
    const exchanges = [
      ['GET /a HTTP/1.1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalpha'],
      [
        'POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz',
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbeta\r\n0\r\n\r\n',
      ],
      ['GET /c HTTP/1.1\r\nAccept: */*\r\n\r\n', 'HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\ngamma'],
    ];
    const streams = new Streams();
    let ts = 100;
    for (const [request, response] of exchanges) {
      ts = streams.addPieces('ingress', request!, 6, ts);
      ts = streams.addPieces('egress', response!, 7, ts);
    }
    const run = (events: CaptureEvent[]) => {
      const { tracker, http } = setup();
      tracker.handleEvent(openEvent());
      for (const event of events) tracker.handleEvent(event);
      tracker.handleEvent(closeEvent(ts + 1));
      return { http, counters: tracker.counters };
    };
    const reference = run(streams.events);
    assert.deepEqual(
      reference.http.map((r) => [r.reqPath, r.reqBody, r.respStatus, r.respBody]),
      [
        ['/a', '', 200, 'alpha'],
        ['/b', 'xyz', 200, 'beta'],
        ['/c', '', 404, 'gamma'],
      ],
    );
    for (let seed = 1; seed <= 50; seed++) {
      const next = random(seed);
      const events: DataEvent[] = [...streams.events];
      for (let i = events.length - 1; i > 0; i--) {
        const j = Math.max(0, i - Math.floor(next() * 6));
        [events[i], events[j]] = [events[j]!, events[i]!];
      }
      // Replays and overlapping re-sends must change nothing either.
      for (let i = 0; i < 5; i++) {
        const original = events[Math.floor(next() * events.length)]!;
        const shift = Math.min(original.size, 1 + Math.floor(next() * 3));
        events.splice(Math.floor(next() * events.length), 0, original, {
          ...original,
          pos: original.pos + shift,
          size: original.size - shift,
          data: original.data.subarray(shift),
        });
      }
      const shuffled = run(events);
      assert.deepEqual(shuffled.http, reference.http, `seed ${seed}`);
      assert.equal(shuffled.counters.gaps, 0, `seed ${seed}`);
      assert.ok(shuffled.counters.droppedBytes > 0, `seed ${seed}`);
    }
  });

  it('keeps pairing right when a request is lost', () => {
    const { tracker, http } = setup();
    const streams = new Streams();
    tracker.handleEvent(openEvent());
    for (const event of [
      streams.add('ingress', 'GET /1 HTTP/1.1\r\n\r\n', 10),
      streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none', 20),
    ]) {
      tracker.handleEvent(event);
    }
    streams.lose('ingress', 'GET /2 HTTP/1.1\r\n\r\n');
    for (const event of [
      streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo', 40),
      streams.add('ingress', 'GET /3 HTTP/1.1\r\n\r\n', 50),
      streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree', 60),
    ]) {
      tracker.handleEvent(event);
    }
    assert.deepEqual(http.map(summary), [['GET', '/1', 200, 'one', 20, 10]]);
    tracker.handleEvent(closeEvent(70));
    assert.deepEqual(http.map(summary), [
      ['GET', '/1', 200, 'one', 20, 10],
      ['GET', '/3', 200, 'three', 60, 10],
    ]);
    const c = tracker.counters;
    assert.deepEqual(
      [c.gaps, c.holesSkipped, c.unpairedResponses, c.unpairedRequests, c.parseErrors],
      [1, 1, 1, 0, 0],
    );
  });

  it('keeps pairing right when a response is lost', () => {
    const { tracker, http } = setup();
    const streams = new Streams();
    tracker.handleEvent(openEvent());
    for (const event of [
      streams.add('ingress', 'GET /1 HTTP/1.1\r\n\r\n', 10),
      streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none', 20),
      streams.add('ingress', 'GET /2 HTTP/1.1\r\n\r\n', 30),
    ]) {
      tracker.handleEvent(event);
    }
    streams.lose('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo');
    for (const event of [
      streams.add('ingress', 'GET /3 HTTP/1.1\r\n\r\n', 50),
      streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree', 60),
    ]) {
      tracker.handleEvent(event);
    }
    // The hole in egress is given up on once the held chunk has waited long enough.
    tracker.expireIdle(60 + 1_000_000_001);
    assert.deepEqual(http.map(summary), [
      ['GET', '/1', 200, 'one', 20, 10],
      ['GET', '/3', 200, 'three', 60, 10],
    ]);
    const c = tracker.counters;
    assert.deepEqual([c.holesSkipped, c.unpairedRequests, c.unpairedResponses, c.resyncs], [1, 1, 0, 1]);
    assert.equal(tracker.connectionCount, 1);
  });

  it('skips the uncaptured part of a large body and goes on with the next exchange', () => {
    const { tracker, http } = setup();
    const streams = new Streams();
    const responseHead = 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n';
    const captured = Buffer.from(responseHead + 'a'.repeat(4096 - responseHead.length));
    tracker.handleEvent(openEvent());
    tracker.handleEvent(streams.add('ingress', 'GET /big HTTP/1.1\r\n\r\n', 10));
    tracker.handleEvent(streams.add('egress', captured, 20, { size: responseHead.length + 100_000 }));
    tracker.handleEvent(streams.add('ingress', 'GET /small HTTP/1.1\r\n\r\n', 30));
    tracker.handleEvent(streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 40));
    assert.deepEqual(
      http.map((r) => [r.reqPath, r.respBody.length, r.respBodySize, r.timeNs]),
      [
        ['/big', 4096 - responseHead.length, 100_000, 20],
        ['/small', 2, 2, 40],
      ],
    );
    const c = tracker.counters;
    assert.deepEqual(
      [c.gaps, c.gapBytes, c.truncatedBodies, c.parseErrors, c.resyncs],
      [1, 100_000 - (4096 - responseHead.length), 1, 0, 0],
    );
  });

  it('handles 100-continue, gzip and a close-delimited response', () => {
    const { tracker, http } = setup();
    const streams = new Streams({ role: 'client' });
    const json = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i })) });
    tracker.handleEvent(openEvent({ role: 'client' }));
    tracker.handleEvent(
      streams.add('egress', 'POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', 10),
    );
    tracker.handleEvent(streams.add('ingress', 'HTTP/1.1 100 Continue\r\n\r\n', 20));
    tracker.handleEvent(streams.add('egress', 'hello', 30));
    tracker.handleEvent(streams.add('ingress', 'HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\n', 40));
    tracker.handleEvent(streams.add('ingress', zlib.gzipSync(json), 45));
    assert.equal(http.length, 0);
    tracker.handleEvent(closeEvent(50, { role: 'client' }));
    assert.deepEqual(
      http.map((r) => [
        r.role,
        r.version,
        r.reqMethod,
        r.reqBody,
        r.respStatus,
        r.respBody,
        r.timeNs,
        r.latencyNs,
      ]),
      [['client', '1.1', 'POST', 'hello', 200, json, 45, 35]],
    );
  });

  it('ignores the other protocol after 101 Switching Protocols', () => {
    const { tracker, http } = setup();
    const streams = new Streams();
    tracker.handleEvent(openEvent());
    tracker.handleEvent(
      streams.add('ingress', 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 10),
    );
    tracker.handleEvent(
      streams.add('egress', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 20),
    );
    tracker.handleEvent(streams.add('ingress', Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 30));
    tracker.handleEvent(streams.add('egress', Buffer.from([0x81, 0x02, 0x68, 0x69]), 40));
    tracker.handleEvent(closeEvent(50));
    assert.deepEqual(http.map(summary), [['GET', '/ws', 101, '', 20, 10]]);
    assert.equal(tracker.counters.parseErrors, 0);
  });

  it('fills in the endpoint when data arrives before the open event', () => {
    const { tracker, http, stats } = setup();
    tracker.handleEvent(dataEvent('ingress', 0, GET_USER, 2000));
    tracker.handleEvent(openEvent({ tsNs: 1000 }));
    tracker.handleEvent(dataEvent('egress', 0, USER_RESPONSE, 3000));
    assert.deepEqual(
      http.map((r) => [r.localAddr, r.localPort, r.remoteAddr, r.remotePort, r.reqPath]),
      [['10.0.0.1', 8080, '10.0.0.2', 51000, '/users/42']],
    );
    assert.deepEqual(
      stats.map((s) => [s.connOpen, s.localAddr]),
      [[true, '10.0.0.1']],
    );
  });

  it('picks up a connection mid-stream without counting the partial message as an error', () => {
    const { tracker, http } = setup();
    tracker.handleEvent(openEvent({ preexisting: true }));
    tracker.handleEvent(dataEvent('ingress', 0, 'rest of an earlier body\r\n' + GET_USER, 10));
    tracker.handleEvent(dataEvent('egress', 0, 'tail of a response' + USER_RESPONSE, 20));
    assert.deepEqual(http.map(summary), [['GET', '/users/42', 200, '{"id":42}', 20, 10]]);
    assert.equal(tracker.counters.parseErrors, 0);
  });

  it('evicts the least recently used connection when full, its use known to a second', () => {
    const S = 1_000_000_000;
    const { tracker, stats } = setup({ maxConnections: 2 });
    tracker.handleEvent(openEvent({ connKey: 'a', tsNs: 1 * S, remotePort: 1 }));
    tracker.handleEvent(openEvent({ connKey: 'b', tsNs: 2 * S, remotePort: 2 }));
    tracker.handleEvent(dataEvent('ingress', 0, 'GET / HTTP/1.1\r\n', 3 * S, { connKey: 'a' }));
    tracker.handleEvent(openEvent({ connKey: 'c', tsNs: 4 * S, remotePort: 3 }));
    assert.equal(tracker.connectionCount, 2);
    assert.equal(tracker.counters.evictedConns, 1);
    assert.deepEqual(
      stats.map((s) => [s.remotePort, s.timeNs, s.connOpen, s.connClose]),
      [
        [1, 1 * S, true, false],
        [2, 2 * S, true, false],
        [2, 4 * S, false, false],
        [3, 4 * S, true, false],
      ],
    );
    tracker.endAll(5 * S);
    assert.deepEqual(
      stats.slice(4).map((s) => s.remotePort),
      [1, 3],
    );
  });

  it('expires idle connections, delivering what their parsers hold', () => {
    const { tracker, http, stats } = setup({ idleTimeoutNs: 1000 });
    const streams = new Streams();
    tracker.handleEvent(openEvent({ tsNs: 0 }));
    tracker.handleEvent(streams.add('ingress', 'GET /slow HTTP/1.1\r\n\r\n', 10));
    tracker.handleEvent(streams.add('egress', 'HTTP/1.1 200 OK\r\n\r\nstreamed', 20));
    tracker.expireIdle(1019);
    assert.equal(tracker.connectionCount, 1);
    tracker.expireIdle(1020);
    assert.equal(tracker.connectionCount, 0);
    assert.deepEqual(
      http.map((r) => [r.reqPath, r.respBody]),
      [['/slow', 'streamed']],
    );
    assert.equal(tracker.counters.truncatedBodies, 1);
    assert.deepEqual(stats[stats.length - 1], {
      ...stats[0],
      timeNs: 1020,
      protocol: 'http1',
      connOpen: false,
      connClose: false,
      bytesSent: streams.events[1]!.size,
      bytesRecv: streams.events[0]!.size,
    });
  });

  it('samples conn stats with the bytes moved so far, and ends everything on endAll', () => {
    const { tracker, stats } = setup();
    tracker.handleEvent(openEvent({ connKey: 'a' }));
    tracker.handleEvent(dataEvent('ingress', 0, 'GET / HTTP/1.1\r\n\r\n', 5, { connKey: 'a' }));
    tracker.handleEvent(
      dataEvent('egress', 0, Buffer.alloc(10), 6, { connKey: 'a', size: 300, protocol: 'unknown' }),
    );
    tracker.sampleConnStats(7);
    tracker.endAll(8);
    assert.deepEqual(
      stats.map((s) => [s.timeNs, s.connOpen, s.connClose, s.bytesSent, s.bytesRecv]),
      [
        [1000, true, false, 0, 0],
        [7, false, false, 300, 18],
        [8, false, false, 300, 18],
      ],
    );
    assert.equal(tracker.connectionCount, 0);
  });

  it('never throws on malformed events, and counts them', () => {
    const { tracker } = setup();
    const bad: unknown[] = [
      null,
      {},
      { kind: 'nonsense', connKey: KEY, tgid: 1, tsNs: 1 },
      { ...dataEvent('ingress', 0, 'x', 1), pos: Number.NaN },
      { ...dataEvent('ingress', 0, 'x', 1), size: -1 },
      { ...dataEvent('ingress', 0, 'x', 1), data: 'not a buffer' },
      { ...dataEvent('ingress', 0, 'x', 1), direction: 'sideways' },
      { ...dataEvent('ingress', 0, 'x', 1), tgid: 'x' },
    ];
    for (const event of bad) tracker.handleEvent(event as CaptureEvent);
    assert.equal(tracker.counters.badEvents, bad.length);
    assert.equal(tracker.connectionCount, 0);
    // Captured bytes beyond `size` are cut off, not trusted.
    tracker.handleEvent(dataEvent('ingress', 0, 'GET / HTTP/1.1\r\n\r\nEXTRA', 2, { size: 18 }));
    assert.equal(tracker.counters.badEvents, bad.length + 1);
    assert.equal(tracker.counters.capturedBytes, 18);
    tracker.handleEvent(
      dataEvent('ingress', 18, 'x', 3, { protocol: 'constructor' as Protocol, connKey: 'odd' }),
    );
    assert.equal(tracker.counters.unparsedBytes, 1);
  });

  it('counts failing callbacks instead of throwing, and keeps parsing', () => {
    const { tracker } = setup({
      onHttp: () => {
        throw new Error('store down');
      },
      onConnStats: () => {
        throw new Error('store down');
      },
      processName: () => {
        throw new Error('no /proc');
      },
    });
    const streams = new Streams();
    tracker.handleEvent(openEvent());
    for (let i = 0; i < 3; i++) {
      tracker.handleEvent(streams.add('ingress', 'GET / HTTP/1.1\r\n\r\n', 10 + i));
      tracker.handleEvent(streams.add('egress', 'HTTP/1.1 204 No Content\r\n\r\n', 20 + i));
    }
    assert.deepEqual([tracker.counters.emitErrors, tracker.counters.httpRecords], [4, 3]);
    assert.equal(tracker.counters.internalErrors, 0);
  });

  it('reports an empty process name when the lookup fails', () => {
    const { tracker, stats } = setup({
      processName: () => {
        throw new Error('gone');
      },
    });
    tracker.handleEvent(openEvent());
    assert.equal(stats[0]!.process, '');
  });

  it('hands other protocols to their own session, bytes in stream order', () => {
    const received: string[] = [];
    const session: ProtocolSession = {
      onData: (direction, data) => received.push(`${direction}:${data.toString()}`),
      onGap: (direction, length) => received.push(`${direction}:gap ${length}`),
      onEnd: (closed) => received.push(`end ${closed}`),
    };
    const { tracker } = setup({ sessions: { pgsql: () => session } });
    tracker.handleEvent(openEvent({ role: 'client' }));
    tracker.handleEvent(dataEvent('egress', 5, 'world', 2, { protocol: 'pgsql' }));
    tracker.handleEvent(dataEvent('egress', 0, 'hello', 1, { protocol: 'pgsql' }));
    tracker.handleEvent(dataEvent('ingress', 0, 'ok', 3, { protocol: 'pgsql', size: 4 }));
    tracker.handleEvent(closeEvent(4, { protocol: 'pgsql' }));
    assert.deepEqual(received, ['egress:hello', 'egress:world', 'ingress:ok', 'ingress:gap 2', 'end true']);

    tracker.handleEvent(dataEvent('egress', 0, 'COM_QUERY', 5, { connKey: 'm', protocol: 'mysql' }));
    assert.equal(tracker.counters.unparsedBytes, 9);
  });

  it('stops parsing a connection whose parser throws, and keeps going', () => {
    const session: ProtocolSession = {
      onData: () => {
        throw new Error('parser bug');
      },
      onGap: () => undefined,
      onEnd: () => undefined,
    };
    const { tracker, stats } = setup({ sessions: { pgsql: () => session } });
    tracker.handleEvent(dataEvent('egress', 0, 'a', 1, { protocol: 'pgsql' }));
    tracker.handleEvent(dataEvent('egress', 1, 'b', 2, { protocol: 'pgsql' }));
    tracker.handleEvent(closeEvent(3, { protocol: 'pgsql', bytesSent: 2 }));
    assert.equal(tracker.counters.internalErrors, 1);
    assert.equal(tracker.counters.unparsedBytes, 1);
    assert.deepEqual(
      stats.map((s) => [s.connClose, s.bytesSent]),
      [[true, 2]],
    );
  });

  it('survives a 10 MB header flood with bounded memory and one parse error', () => {
    const { tracker, http } = setup();
    const streams = new Streams();
    tracker.handleEvent(openEvent());
    const flood = Buffer.alloc(64 * 1024, 0x61);
    const before = process.memoryUsage().arrayBuffers;
    tracker.handleEvent(streams.add('ingress', 'GET /flood HTTP/1.1\r\nX-Flood: ', 1));
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += flood.length)
      tracker.handleEvent(streams.add('ingress', flood, 2));
    const grown = process.memoryUsage().arrayBuffers - before;
    tracker.handleEvent(streams.add('ingress', '\r\n\r\nGET /after HTTP/1.1\r\n\r\n', 3));
    tracker.handleEvent(streams.add('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 4));
    assert.ok(grown < 2 * 1024 * 1024, `grew ${grown} bytes`);
    assert.deepEqual(http.map(summary), [['GET', '/after', 200, '', 4, 1]]);
    const c = tracker.counters;
    assert.deepEqual([c.parseErrors, c.headerOverflows], [1, 1]);
  });

  it('survives random garbage, gaps and positions on both directions', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const next = random(seed);
      const { tracker } = setup({ streamLimits: { maxBufferedBytes: 4096, maxPendingChunks: 8 } });
      tracker.handleEvent(openEvent({ role: (['client', 'server', 'unknown'] as const)[seed % 3] }));
      const pos: Record<Direction, number> = { egress: 0, ingress: 0 };
      for (let i = 0; i < 300; i++) {
        const direction: Direction = next() < 0.5 ? 'egress' : 'ingress';
        const length = Math.floor(next() * 200);
        const data = Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)));
        const jump = next() < 0.1 ? Math.floor(next() * 500) - 250 : 0;
        const at = Math.max(0, pos[direction] + jump);
        const size = length + (next() < 0.1 ? Math.floor(next() * 1000) : 0);
        tracker.handleEvent(dataEvent(direction, at, data, i, { role: 'unknown' }));
        tracker.handleEvent(dataEvent(direction, at, data, i, { role: 'unknown', size }));
        pos[direction] = at + size;
      }
      tracker.expireIdle(1e12);
      assert.equal(tracker.counters.internalErrors, 0, `seed ${seed}`);
      assert.equal(tracker.connectionCount, 0, `seed ${seed}`);
    }
  });
});
