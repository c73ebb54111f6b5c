/**
 * One direction of a connection as an ordered byte stream.
 *
 * The kernel tags every captured chunk with its stream offset, but chunks can arrive out of order (several
 * CPUs feed the ring buffer), twice, overlapping, cut short (only a prefix of a large syscall is copied) or
 * not at all (ring buffer full). This class turns that into what a parser can consume: contiguous bytes in
 * stream order, with every missing range reported as an explicit gap of known length. Memory is bounded:
 * chunks waiting for a missing range are held up to a limit, after which the missing range is given up as a
 * gap rather than waited for.
 */

export interface StreamSink {
  /** Next bytes of the stream; may be a view into the capture batch: copy what must outlive the call. */
  onData(data: Buffer, tsNs: number): void;
  /** The next `length` bytes of the stream will never be seen (not captured, or lost). */
  onGap(length: number, tsNs: number): void;
  /** The next `length` bytes were left out whole by the kernel's load shedding: exchanges, not cut messages. */
  onShed(length: number, tsNs: number): void;
}

/** Shared by all streams of a tracker, so the caller reads totals without walking connections. */
export interface ByteStreamCounters {
  /** Captured bytes not delivered: duplicates, overlaps, or late after their range became a gap. */
  droppedBytes: number;
  /** Gaps reported to sinks, and the bytes they covered. */
  gaps: number;
  gapBytes: number;
  /** Missing ranges given up on because the reorder buffer was full or the waiting chunks were too old. */
  holesSkipped: number;
  /** Bytes of exchanges the kernel shed under the CPU limit, reported to sinks as such (not as gaps). */
  shedBytes: number;
}

export interface ByteStreamLimits {
  /** Captured bytes held while waiting for a missing range. */
  maxBufferedBytes: number;
  /** Chunks held while waiting for a missing range (bounds per-chunk overhead when chunks are tiny). */
  maxPendingChunks: number;
  /** How long a missing range may hold back later chunks before it is declared a gap. */
  maxHoleWaitNs: number;
}

export const DEFAULT_STREAM_LIMITS: ByteStreamLimits = {
  maxBufferedBytes: 256 * 1024,
  maxPendingChunks: 64,
  maxHoleWaitNs: 1_000_000_000,
};

export function newByteStreamCounters(): ByteStreamCounters {
  return { droppedBytes: 0, gaps: 0, gapBytes: 0, holesSkipped: 0, shedBytes: 0 };
}

interface PendingChunk {
  readonly pos: number;
  readonly size: number;
  /** A private copy: the capture batch it came from must not be pinned while the chunk waits. */
  readonly data: Buffer;
  readonly tsNs: number;
  readonly shed: boolean;
}

export class ByteStream {
  /** Stream offset of the next byte the sink expects; undefined until the origin is known. */
  private next: number | undefined;
  /** Chunks beyond `next`, sorted by position. */
  private readonly pending: PendingChunk[] = [];
  private buffered = 0;

  /**
   * @param startPos offset of the stream's first byte when known (0 for a connection seen from its start).
   *   When undefined, the first chunk received defines it, and earlier bytes arriving later are dropped.
   */
  constructor(
    private readonly sink: StreamSink,
    private readonly counters: ByteStreamCounters,
    private readonly limits: ByteStreamLimits = DEFAULT_STREAM_LIMITS,
    startPos?: number,
  ) {
    this.next = startPos;
  }

  /** Offset of the next byte to deliver, or undefined before the origin is known. */
  get nextPos(): number | undefined {
    return this.next;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  get pendingChunks(): number {
    return this.pending.length;
  }

  /**
   * Accepts one captured chunk: `size` bytes at `pos` of which `data` is the captured prefix; with `shed`, a
   * range the kernel left out whole (no data). Callers guarantee `data.length <= size` and non-negative
   * integer positions.
   */
  push(pos: number, size: number, data: Buffer, tsNs: number, shed = false): void {
    if (size <= 0) return;
    if (this.next === undefined) this.next = pos;
    if (pos > this.next) {
      this.skipStaleHoles(tsNs);
      while (pos > this.next && !this.canHold(data.length)) {
        const first = this.pending[0];
        if (first !== undefined && first.pos < pos) this.skipHoleTo(first.pos, first.tsNs);
        else this.skipHoleTo(pos, tsNs);
      }
      if (pos > this.next) {
        this.hold(pos, size, data, tsNs, shed);
        return;
      }
    }
    this.deliver(pos, size, data, tsNs, shed);
    this.drainPending();
  }

  /** Gives up on missing ranges whose later chunks have waited longer than the limit. */
  skipStaleHoles(nowNs: number): void {
    let first = this.pending[0];
    while (first !== undefined && nowNs - first.tsNs > this.limits.maxHoleWaitNs) {
      this.skipHoleTo(first.pos, first.tsNs);
      first = this.pending[0];
    }
  }

  /** Delivers everything held, reporting the missing ranges as gaps: no more chunks will fill them. */
  flush(): void {
    let first = this.pending[0];
    while (first !== undefined) {
      this.skipHoleTo(first.pos, first.tsNs);
      first = this.pending[0];
    }
  }

  private canHold(length: number): boolean {
    return (
      this.pending.length < this.limits.maxPendingChunks &&
      this.buffered + length <= this.limits.maxBufferedBytes
    );
  }

  private hold(pos: number, size: number, data: Buffer, tsNs: number, shed: boolean): void {
    let at = this.pending.length;
    while (at > 0 && this.pending[at - 1]!.pos > pos) at--;
    const previous = this.pending[at - 1];
    if (
      previous !== undefined &&
      previous.pos === pos &&
      previous.size >= size &&
      previous.data.length >= data.length
    ) {
      this.counters.droppedBytes += data.length;
      return;
    }
    this.pending.splice(at, 0, { pos, size, data: Buffer.from(data), tsNs, shed });
    this.buffered += data.length;
  }

  private skipHoleTo(target: number, tsNs: number): void {
    const next = this.next!;
    if (target > next) {
      this.counters.holesSkipped++;
      this.next = target;
      this.reportGap(target - next, tsNs);
    }
    this.drainPending();
  }

  private drainPending(): void {
    let first = this.pending[0];
    while (first !== undefined && first.pos <= this.next!) {
      this.pending.shift();
      this.buffered -= first.data.length;
      this.deliver(first.pos, first.size, first.data, first.tsNs, first.shed);
      first = this.pending[0];
    }
  }

  /** Hands over the part of a chunk at or beyond `next`; the chunk must start at or before `next`. */
  private deliver(pos: number, size: number, data: Buffer, tsNs: number, shed: boolean): void {
    const next = this.next!;
    const end = pos + size;
    if (end <= next) {
      this.counters.droppedBytes += data.length;
      return;
    }
    const skip = next - pos;
    this.next = end;
    if (skip < data.length) {
      this.counters.droppedBytes += skip;
      this.sink.onData(skip === 0 ? data : data.subarray(skip), tsNs);
    } else {
      this.counters.droppedBytes += data.length;
    }
    const uncaptured = size - Math.max(skip, data.length);
    if (uncaptured <= 0) return;
    if (shed) {
      this.counters.shedBytes += uncaptured;
      this.sink.onShed(uncaptured, tsNs);
    } else {
      this.reportGap(uncaptured, tsNs);
    }
  }

  private reportGap(length: number, tsNs: number): void {
    this.counters.gaps++;
    this.counters.gapBytes += length;
    this.sink.onGap(length, tsNs);
  }
}
