import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ByteStream,
  DEFAULT_STREAM_LIMITS,
  newByteStreamCounters,
  type ByteStreamLimits,
  type StreamSink,
} from '../src/conn/byte-stream.js';

type Op = { data: string; tsNs: number } | { gap: number; tsNs: number } | { shed: number; tsNs: number };

/** Records what the stream delivers, merging adjacent data of one timestamp so expectations stay readable. */
class RecordingSink implements StreamSink {
  readonly ops: Op[] = [];
  readonly buffers: Buffer[] = [];

  onData(data: Buffer, tsNs: number): void {
    this.buffers.push(data);
    const last = this.ops[this.ops.length - 1];
    if (last !== undefined && 'data' in last && last.tsNs === tsNs) last.data += data.toString('latin1');
    else this.ops.push({ data: data.toString('latin1'), tsNs });
  }

  onGap(length: number, tsNs: number): void {
    this.ops.push({ gap: length, tsNs });
  }

  onShed(length: number, tsNs: number): void {
    this.ops.push({ shed: length, tsNs });
  }

  /** The stream as delivered, with each gap byte shown as '_' and each shed byte as '~'. */
  text(): string {
    return this.ops
      .map((op) => ('data' in op ? op.data : 'gap' in op ? '_'.repeat(op.gap) : '~'.repeat(op.shed)))
      .join('');
  }
}

function setup(limits: Partial<ByteStreamLimits> = {}, origin: 'zero' | 'first-chunk' = 'zero') {
  const sink = new RecordingSink();
  const counters = newByteStreamCounters();
  const startPos = origin === 'zero' ? 0 : undefined;
  const stream = new ByteStream(sink, counters, { ...DEFAULT_STREAM_LIMITS, ...limits }, startPos);
  return { sink, counters, stream };
}

function push(stream: ByteStream, pos: number, text: string, tsNs: number, size = text.length): void {
  stream.push(pos, size, Buffer.from(text, 'latin1'), tsNs);
}

/** Deterministic PRNG (mulberry32) so that a failing shuffle can be replayed. */
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

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function streamText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[(i * 7 + (i >> 3)) % ALPHABET.length];
  return text;
}

describe('ByteStream', () => {
  it('passes in-order chunks through without copying', () => {
    const { sink, counters, stream } = setup();
    const first = Buffer.from('hello ');
    const second = Buffer.from('world');
    stream.push(0, first.length, first, 1);
    stream.push(6, second.length, second, 2);
    assert.deepEqual(sink.ops, [
      { data: 'hello ', tsNs: 1 },
      { data: 'world', tsNs: 2 },
    ]);
    assert.equal(sink.buffers[0], first);
    assert.equal(sink.buffers[1], second);
    assert.equal(stream.nextPos, 11);
    assert.deepEqual(counters, { droppedBytes: 0, gaps: 0, gapBytes: 0, holesSkipped: 0, shedBytes: 0 });
  });

  it('reports the uncaptured tail of a chunk as a gap', () => {
    const { sink, counters, stream } = setup();
    push(stream, 0, 'HEAD', 5, 10);
    push(stream, 10, 'tail', 6);
    assert.deepEqual(sink.ops, [
      { data: 'HEAD', tsNs: 5 },
      { gap: 6, tsNs: 5 },
      { data: 'tail', tsNs: 6 },
    ]);
    assert.deepEqual(counters, { droppedBytes: 0, gaps: 1, gapBytes: 6, holesSkipped: 0, shedBytes: 0 });
  });

  it('reports a chunk with nothing captured as one gap', () => {
    const { sink, stream } = setup();
    stream.push(0, 4096, Buffer.alloc(0), 9);
    assert.deepEqual(sink.ops, [{ gap: 4096, tsNs: 9 }]);
    assert.equal(stream.nextPos, 4096);
  });

  it('reports a shed range as such, not as a gap, in order or after the chunk that follows it', () => {
    const { sink, counters, stream } = setup();
    push(stream, 0, 'GET /a', 1);
    stream.push(6, 20, Buffer.alloc(0), 2, true);
    push(stream, 26, 'GET /b', 3);
    push(stream, 40, 'GET /c', 5);
    stream.push(32, 8, Buffer.alloc(0), 4, true);
    assert.equal(sink.text(), 'GET /a' + '~'.repeat(20) + 'GET /b' + '~'.repeat(8) + 'GET /c');
    assert.deepEqual(counters, { droppedBytes: 0, gaps: 0, gapBytes: 0, holesSkipped: 0, shedBytes: 28 });
  });

  it('reorders chunks that arrive out of order', () => {
    const { sink, counters, stream } = setup();
    push(stream, 6, 'world', 2);
    push(stream, 11, '!', 3);
    assert.deepEqual(sink.ops, []);
    assert.equal(stream.bufferedBytes, 6);
    assert.equal(stream.pendingChunks, 2);
    push(stream, 0, 'hello ', 1);
    assert.deepEqual(sink.ops, [
      { data: 'hello ', tsNs: 1 },
      { data: 'world', tsNs: 2 },
      { data: '!', tsNs: 3 },
    ]);
    assert.equal(stream.bufferedBytes, 0);
    assert.deepEqual(counters, { droppedBytes: 0, gaps: 0, gapBytes: 0, holesSkipped: 0, shedBytes: 0 });
  });

  it('drops duplicates and trims overlaps, counting the bytes', () => {
    const { sink, counters, stream } = setup();
    push(stream, 0, 'abcdef', 1);
    push(stream, 0, 'abcdef', 2); // duplicate
    push(stream, 4, 'efghij', 3); // overlaps 2 bytes
    push(stream, 12, 'mn', 4); // ahead
    push(stream, 12, 'mn', 5); // duplicate of a held chunk
    push(stream, 8, 'ijkl', 6); // fills the hole, overlapping 2 delivered bytes
    assert.equal(sink.text(), 'abcdefghijklmn');
    assert.deepEqual(counters, {
      droppedBytes: 6 + 2 + 2 + 2,
      gaps: 0,
      gapBytes: 0,
      holesSkipped: 0,
      shedBytes: 0,
    });
  });

  it('delivers every byte exactly once for random overlapping chunks in random order', () => {
    const text = streamText(3000);
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      const chunks: [number, number][] = [];
      let pos = 0;
      while (pos < text.length) {
        const size = 1 + Math.floor(next() * 80);
        const start = Math.max(0, pos - Math.floor(next() * 10)); // overlap the previous chunk a little
        chunks.push([start, Math.min(text.length, pos + size) - start]);
        pos += size;
      }
      // Swap neighbours within a window of 8 so reordering stays inside the default pending limits.
      for (let i = chunks.length - 1; i > 0; i--) {
        const j = Math.max(0, i - Math.floor(next() * 8));
        [chunks[i], chunks[j]] = [chunks[j]!, chunks[i]!];
      }
      const { sink, counters, stream } = setup({ maxPendingChunks: 1000, maxBufferedBytes: 1 << 20 });
      chunks.forEach(([start, size], i) => push(stream, start, text.slice(start, start + size), i));
      stream.flush();
      assert.equal(sink.text(), text, `seed ${seed}`);
      assert.equal(counters.gaps, 0, `seed ${seed}`);
      const received = chunks.reduce((sum, [, size]) => sum + size, 0);
      assert.equal(counters.droppedBytes, received - text.length, `seed ${seed}`);
    }
  });

  it('gives up on a hole when held bytes would exceed the limit', () => {
    const { sink, counters, stream } = setup({ maxBufferedBytes: 10 });
    push(stream, 0, 'aaaaa', 1);
    // bytes 5..10 are lost
    push(stream, 10, 'ccccc', 2);
    push(stream, 15, 'ddddd', 3);
    assert.deepEqual(sink.ops, [{ data: 'aaaaa', tsNs: 1 }]);
    push(stream, 20, 'eeeee', 4); // would hold 15 bytes: the hole becomes a gap
    assert.deepEqual(sink.ops, [
      { data: 'aaaaa', tsNs: 1 },
      { gap: 5, tsNs: 2 },
      { data: 'ccccc', tsNs: 2 },
      { data: 'ddddd', tsNs: 3 },
      { data: 'eeeee', tsNs: 4 },
    ]);
    assert.equal(stream.bufferedBytes, 0);
    push(stream, 5, 'bbbbb', 5); // too late
    assert.deepEqual(counters, { droppedBytes: 5, gaps: 1, gapBytes: 5, holesSkipped: 1, shedBytes: 0 });
  });

  it('never holds more than the limits, whatever arrives', () => {
    const { sink, counters, stream } = setup({ maxBufferedBytes: 1000, maxPendingChunks: 4 });
    const next = random(7);
    let maxHeld = 0;
    let maxChunks = 0;
    for (let i = 0; i < 2000; i++) {
      const pos = Math.floor(next() * 100_000);
      const size = 1 + Math.floor(next() * 300);
      stream.push(pos, size, Buffer.alloc(Math.min(size, Math.floor(next() * 400)), 0x61), i);
      maxHeld = Math.max(maxHeld, stream.bufferedBytes);
      maxChunks = Math.max(maxChunks, stream.pendingChunks);
    }
    assert.ok(maxHeld <= 1000, `held ${maxHeld}`);
    assert.ok(maxChunks <= 4, `held ${maxChunks} chunks`);
    assert.ok(counters.holesSkipped > 0);
    assert.ok(sink.ops.length > 0);
  });

  it('gives up on a hole when the pending chunk count is reached', () => {
    const { sink, counters, stream } = setup({ maxPendingChunks: 2 });
    push(stream, 1, 'b', 1);
    push(stream, 2, 'c', 2);
    push(stream, 3, 'd', 3);
    assert.deepEqual(sink.ops, [
      { gap: 1, tsNs: 1 },
      { data: 'b', tsNs: 1 },
      { data: 'c', tsNs: 2 },
      { data: 'd', tsNs: 3 },
    ]);
    assert.equal(counters.holesSkipped, 1);
  });

  it('gives up on a hole that waited too long, on push or when asked', () => {
    const { sink, stream } = setup({ maxHoleWaitNs: 100 });
    push(stream, 5, 'later', 1000);
    push(stream, 12, 'x', 1050);
    assert.deepEqual(sink.ops, []);
    stream.skipStaleHoles(1100);
    assert.deepEqual(sink.ops, []);
    stream.skipStaleHoles(1101);
    assert.deepEqual(sink.ops, [
      { gap: 5, tsNs: 1000 },
      { data: 'later', tsNs: 1000 },
    ]);
    push(stream, 20, 'y', 1200); // the hole at 10..12 has waited 150 ns by now
    assert.deepEqual(sink.ops.slice(2), [
      { gap: 2, tsNs: 1050 },
      { data: 'x', tsNs: 1050 },
    ]);
    assert.equal(stream.pendingChunks, 1);
  });

  it('flushes held chunks with their holes as gaps', () => {
    const { sink, counters, stream } = setup();
    push(stream, 3, 'def', 1);
    push(stream, 9, 'jk', 2);
    stream.flush();
    assert.equal(sink.text(), '___def___jk');
    assert.deepEqual(counters, { droppedBytes: 0, gaps: 2, gapBytes: 6, holesSkipped: 2, shedBytes: 0 });
    assert.equal(stream.bufferedBytes, 0);
  });

  it('takes the origin from the first chunk when it is unknown', () => {
    const { sink, counters, stream } = setup({}, 'first-chunk');
    assert.equal(stream.nextPos, undefined);
    push(stream, 1000, 'mid', 1);
    push(stream, 990, 'earlier', 2);
    push(stream, 1003, 'dle', 3);
    assert.equal(sink.text(), 'middle');
    assert.equal(counters.droppedBytes, 7);
  });

  it('copies held chunks so the capture batch they came from is not pinned', () => {
    const { sink, stream } = setup();
    const batch = Buffer.from('xxworld');
    stream.push(2, 5, batch.subarray(2), 1);
    batch.fill(0x2d);
    push(stream, 0, 'hi', 2);
    assert.equal(sink.text(), 'hiworld');
  });
});
