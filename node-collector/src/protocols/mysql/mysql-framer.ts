/**
 * Cuts one direction of a MySQL connection into logical packets: a 3-byte little-endian length and a sequence id
 * before each payload; a payload of exactly 0xFFFFFF bytes continues in the next packet. Payloads are kept up to a
 * cap and the rest skipped as it streams by, so a 100 MB result set costs no memory.
 *
 * Boundaries are lost when a gap cannot be skipped inside a payload, or when the session refuses a header (it
 * knows which sequence id comes next). The framer then scans for a position the session judges to be a packet
 * start. A position that needs bytes of the next chunk to be judged is held and judged again with them: a header
 * alone (servers read a command's 4-byte header and its payload with two syscalls), or the first packet of an
 * answer cut by the chunk's end — a kilobyte at most.
 */
import { FULL_PACKET_LENGTH } from './mysql-protocol.js';
import { MAX_UNDECIDED_BYTES, type StartVerdict } from './mysql-resync.js';

export interface MysqlPacket {
  /** Sequence id of the first physical packet, and of the last one when the payload continued. */
  seq: number;
  lastSeq: number;
  /** The payload as kept (at most the cap); `length` is the real logical length. */
  payload: Buffer;
  length: number;
  startNs: number;
  endNs: number;
  /** The first packet after boundaries were found again. */
  resynced: boolean;
  /** Bytes inside the payload were not captured: `payload` is what came before them. */
  holed: boolean;
}

export interface MysqlFramerSink {
  /** The payload may be a view into the chunk being read: valid during this call only, so copy what is kept. */
  onPacket(packet: MysqlPacket): void;
  /**
   * Packet boundaries were lost: by a gap, or by `garbage` (a header the sink refused). `sinceNs` is the time of
   * the last bytes read before: what was lost came after them.
   */
  onLost(garbage: boolean, sinceNs: number): void;
  /** In sync: whether a logical packet may begin with this header here. */
  acceptsHeader(seq: number, length: number): boolean;
  /** Out of sync: whether a packet starts at `view[at]`, the bytes up to the view's end being all there is yet. */
  judgeStart(view: Buffer, at: number): StartVerdict;
}

/** Shared by every packet until its payload is set, and by every empty header: nothing writes into it. */
const NO_BYTES = Buffer.alloc(0);

export class MysqlFramer {
  private header = NO_BYTES;
  private parts: Buffer[] = [];
  private kept = 0;
  /** Payload bytes kept of the current packet: the cap, or what was kept before a hole in it. */
  private keepLimit = 0;
  /** Bytes of the current physical packet still to come. */
  private remaining = 0;
  private current: MysqlPacket | undefined;
  /** The physical packet being read is full-size: the logical packet continues after it. */
  private continues = false;
  private inSync: boolean;
  /** The next packet is the first after a resync: its header was judged already. */
  private resynced = false;
  /**
   * Out of sync: the bytes from a position that could not be judged yet, as the chunks they came in, each with its
   * time (a packet read from them starts when its header is complete, as in sync).
   */
  private held: { data: Buffer; tsNs: number }[] = [];
  private lastDataNs: number | undefined;

  constructor(
    private readonly sink: MysqlFramerSink,
    private readonly maxPayloadBytes: number,
    inSync: boolean,
  ) {
    this.inSync = inSync;
  }

  onData(data: Buffer, tsNs: number): void {
    this.lastDataNs = tsNs;
    let at = 0;
    if (!this.inSync && this.held.length > 0) {
      at = this.resumeHeld(data, tsNs);
      if (at < 0) return;
    }
    while (at < data.length) {
      if (this.remaining > 0) at = this.consumePayload(data, at, tsNs);
      else if (!this.inSync) at = this.resync(data, at, tsNs);
      else at = this.consumeHeader(data, at, tsNs);
    }
  }

  /** Whether the framer stands between two packets, in sync: the next byte starts a packet header. */
  get betweenPackets(): boolean {
    return this.inSync && this.current === undefined && this.remaining === 0 && this.header.length === 0;
  }

  onGap(length: number, tsNs: number): void {
    if (!this.inSync) {
      // Still scanning: held bytes no longer run on into what comes next.
      this.held = [];
      return;
    }
    if (this.current !== undefined && this.remaining > 0 && length <= this.remaining) {
      this.remaining -= length;
      // Kept bytes after the hole would not line up with those before it: the prefix is all there is.
      this.keepLimit = this.kept;
      this.current.holed = true;
      if (this.remaining === 0) this.endPhysical(tsNs);
      return;
    }
    if (length > 0) this.lose(false, this.lastDataNs ?? tsNs);
  }

  /** The sink found the packets it was given make no sense: boundaries are searched for again. */
  lose(garbage: boolean, sinceNs: number): void {
    this.current = undefined;
    this.header = NO_BYTES;
    this.parts = [];
    this.remaining = 0;
    this.inSync = false;
    this.resynced = false;
    this.held = [];
    this.sink.onLost(garbage, sinceNs);
  }

  private consumeHeader(data: Buffer, at: number, tsNs: number): number {
    // Read in place when the header is whole in this chunk: a view per packet costs more than reading it.
    let header = data;
    let from = at;
    let next = at + 4;
    const split = this.header.length > 0 || data.length - at < 4;
    if (split) {
      const take = Math.min(4 - this.header.length, data.length - at);
      this.header = Buffer.concat([this.header, data.subarray(at, at + take)]);
      if (this.header.length < 4) return at + take;
      header = this.header;
      from = 0;
      next = at + take;
      this.header = NO_BYTES;
    }
    const length = header.readUIntLE(from, 3);
    const seq = header[from + 3] ?? 0;
    const judged = this.resynced;
    this.resynced = false;
    if (this.current === undefined) {
      if (!judged && !this.sink.acceptsHeader(seq, length)) return this.refuse(split, at, tsNs);
      this.current = {
        seq,
        lastSeq: seq,
        payload: NO_BYTES,
        length: 0,
        startNs: tsNs,
        endNs: tsNs,
        resynced: judged,
        holed: false,
      };
      this.parts = [];
      this.kept = 0;
      this.keepLimit = this.maxPayloadBytes;
    } else {
      // The next part of a payload longer than 16 MiB: the sequence id goes on by one.
      if (seq !== ((this.current.lastSeq + 1) & 0xff)) return this.refuse(false, at, tsNs);
      this.current.lastSeq = seq;
    }
    this.current.length += length;
    this.continues = length === FULL_PACKET_LENGTH;
    this.remaining = length;
    if (length === 0) this.endPhysical(tsNs);
    return next;
  }

  /** A header that cannot be one: the scan starts again after its first byte, if that byte is in this chunk. */
  private refuse(split: boolean, at: number, tsNs: number): number {
    this.lose(true, tsNs);
    return split ? at : at + 1;
  }

  private consumePayload(data: Buffer, at: number, tsNs: number): number {
    const take = Math.min(this.remaining, data.length - at);
    const keep = Math.min(take, this.keepLimit - this.kept);
    if (keep > 0) {
      // A packet whole in this chunk reaches the sink before this call returns, as a view. Parts that wait for
      // the next chunk are copied: the chunk is a view into a capture batch that must not be kept alive.
      const whole = take === this.remaining && this.parts.length === 0 && !this.continues;
      this.parts.push(whole ? data.subarray(at, at + keep) : Buffer.from(data.subarray(at, at + keep)));
      this.kept += keep;
    }
    this.remaining -= take;
    if (this.remaining === 0) this.endPhysical(tsNs);
    return at + take;
  }

  private endPhysical(tsNs: number): void {
    const packet = this.current;
    if (packet === undefined || this.continues) return;
    this.current = undefined;
    packet.payload = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    packet.endNs = tsNs;
    this.parts = [];
    this.sink.onPacket(packet);
  }

  /** Scans `data` from `at` for a packet start; returns where reading goes on. */
  private resync(data: Buffer, at: number, tsNs: number): number {
    const found = this.scan(data, at);
    if (found === undefined) return data.length;
    if (found.verdict === 'more') {
      this.held = [{ data: Buffer.from(data.subarray(found.at)), tsNs }];
      return data.length;
    }
    this.inSync = true;
    this.resynced = true;
    return found.at;
  }

  /**
   * Judges the held bytes again, followed by this chunk. A start inside them is read chunk by chunk with their own
   * times, then this chunk from its beginning; returns where reading of `data` goes on, or -1 when all of it is used.
   */
  private resumeHeld(data: Buffer, tsNs: number): number {
    const held = this.held;
    this.held = [];
    held.push({ data, tsNs });
    const joined = Buffer.concat(held.map((h) => h.data));
    const found = this.scan(joined, 0);
    if (found === undefined) return -1;
    // Where each held chunk begins in `joined`, and the chunks from the one holding `found.at` on.
    let begin = 0;
    let first = 0;
    while (begin + held[first]!.data.length <= found.at) begin += held[first++]!.data.length;
    const rest = held.slice(first);
    rest[0] = { data: rest[0]!.data.subarray(found.at - begin), tsNs: rest[0]!.tsNs };
    if (found.verdict === 'more') {
      // Copied: the last chunk is a view into a capture batch.
      this.held = rest.map((h) => ({ data: Buffer.from(h.data), tsNs: h.tsNs }));
      return -1;
    }
    this.inSync = true;
    this.resynced = true;
    for (const chunk of rest.slice(0, -1)) {
      let at = 0;
      while (at < chunk.data.length && this.inSync) {
        at =
          this.remaining > 0
            ? this.consumePayload(chunk.data, at, chunk.tsNs)
            : this.consumeHeader(chunk.data, at, chunk.tsNs);
      }
      // Refused again inside the held bytes: the scan goes on over this chunk.
      if (!this.inSync) return 0;
    }
    return data.length - rest.at(-1)!.data.length;
  }

  /**
   * The first position judged a packet start; else the first that needs more bytes to be judged. A start found
   * past such a position is taken: it was judged on the headers that follow it, the other on its first bytes only.
   */
  private scan(view: Buffer, from: number): { at: number; verdict: 'yes' | 'more' } | undefined {
    let undecided: number | undefined;
    for (let i = from; i < view.length; i++) {
      const verdict = this.sink.judgeStart(view, i);
      if (verdict === 'yes') return { at: i, verdict };
      if (verdict === 'more' && undecided === undefined && view.length - i <= MAX_UNDECIDED_BYTES)
        undecided = i;
    }
    return undecided === undefined ? undefined : { at: undecided, verdict: 'more' };
  }
}
