/**
 * Cuts one direction of a MySQL connection into logical packets: a 3-byte little-endian length and a sequence id
 * before each payload; a payload of exactly 0xFFFFFF bytes continues in the next packet. Payloads are kept up to a
 * cap and the rest skipped as it streams by, so a 100 MB result set costs no memory.
 */

export interface MysqlPacket {
  seq: number;
  /** The payload as kept (at most the cap); `length` is the real logical length. */
  payload: Buffer;
  length: number;
  startNs: number;
  endNs: number;
}

export interface MysqlFramerSink {
  onPacket(packet: MysqlPacket): void;
  onDesync(): void;
}

const CONTINUED = 0xffffff;

export class MysqlFramer {
  private header = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private kept = 0;
  /** Bytes of the current physical packet still to come. */
  private remaining = 0;
  private current: MysqlPacket | undefined;
  /** The physical packet being read is full-size: the logical packet continues after it. */
  private continues = false;
  private inSync: boolean;

  constructor(
    private readonly sink: MysqlFramerSink,
    private readonly maxPayloadBytes: number,
    inSync: boolean,
    /** The sequence id an exchange starts with in this direction: 0 for commands, 1 for their answers. */
    private readonly firstSeq: number,
  ) {
    this.inSync = inSync;
  }

  onData(data: Buffer, tsNs: number): void {
    let at = 0;
    while (at < data.length) {
      if (this.remaining > 0) at = this.consumePayload(data, at, tsNs);
      else if (!this.inSync) at = this.resync(data, at);
      else at = this.consumeHeader(data, at, tsNs);
    }
  }

  onGap(length: number, tsNs: number): void {
    if (this.current !== undefined && length <= this.remaining) {
      this.remaining -= length;
      if (this.remaining === 0) this.endPhysical(tsNs);
      return;
    }
    this.current = undefined;
    this.header = Buffer.alloc(0);
    this.parts = [];
    this.remaining = 0;
    this.inSync = false;
    this.sink.onDesync();
  }

  private consumeHeader(data: Buffer, at: number, tsNs: number): number {
    let header: Buffer;
    let next: number;
    if (this.header.length === 0 && data.length - at >= 4) {
      header = data.subarray(at, at + 4);
      next = at + 4;
    } else {
      const take = Math.min(4 - this.header.length, data.length - at);
      this.header = Buffer.concat([this.header, data.subarray(at, at + take)]);
      if (this.header.length < 4) return at + take;
      header = this.header;
      next = at + take;
      this.header = Buffer.alloc(0);
    }
    const length = header.readUIntLE(0, 3);
    const seq = header[3] ?? 0;
    if (this.current === undefined) {
      this.current = { seq, payload: Buffer.alloc(0), length: 0, startNs: tsNs, endNs: tsNs };
      this.parts = [];
      this.kept = 0;
    }
    this.current.length += length;
    this.continues = length === CONTINUED;
    this.remaining = length;
    if (length === 0) this.endPhysical(tsNs);
    return next;
  }

  private consumePayload(data: Buffer, at: number, tsNs: number): number {
    const take = Math.min(this.remaining, data.length - at);
    const keep = Math.min(take, this.maxPayloadBytes - this.kept);
    if (keep > 0) {
      // Copied: the chunk is a view into a capture batch that must not be kept alive.
      this.parts.push(Buffer.from(data.subarray(at, at + keep)));
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

  /**
   * A plausible packet start: an exchange's first sequence id and a length that fits in the chunk — or a header
   * alone at the chunk's end, since servers often read the header and the payload with two syscalls.
   */
  private resync(data: Buffer, at: number): number {
    for (let i = at; i + 4 <= data.length; i++) {
      const length = data.readUIntLE(i, 3);
      const fits = i + 4 + length <= data.length || i + 4 === data.length;
      if (data[i + 3] === this.firstSeq && length > 0 && length < 1024 * 1024 && fits) {
        this.inSync = true;
        return i;
      }
    }
    return data.length;
  }
}
