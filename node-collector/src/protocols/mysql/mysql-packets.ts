/**
 * MySQL/MariaDB packets: incremental framing of one direction of a connection, and readers for the fields
 * inside payloads (length-encoded integers, OK/ERR/EOF, binary-protocol parameter values).
 *
 * Framing: every packet is a 3-byte little-endian payload length and a sequence id. A payload of exactly
 * 0xFFFFFF bytes continues in the next packet; the reader joins them into one logical packet but keeps at most
 * `maxPayloadBytes` of it, so a 100 MB row or statement costs a bounded buffer, not its size. Bytes lost inside
 * a payload are skipped (the length says where the next header is); bytes lost anywhere else lose the framing,
 * and the reader scans for a header whose packet ends exactly where the captured chunk ends (writes carry
 * whole packets) or is followed by a header with the next sequence id, and that its sink finds plausible.
 */

import { isUtf8 } from 'node:buffer';

/** A physical packet this long continues in the next one. */
export const MAX_PHYSICAL_PAYLOAD = 0xffffff;
const HEADER_BYTES = 4;
/** A copy buffer grown by one large packet is released after it rather than kept per connection. */
const MAX_RETAINED_BUFFER = 64 * 1024;
const MIN_BUFFER = 256;

export interface MysqlPacketCounters {
  /** Headers or payloads that could not be MySQL where a packet was expected (each one resynchronises). */
  parseErrors: number;
  /** Times a direction lost its packet boundaries (gap or garbage) and scanned for the next header. */
  mysqlResyncs: number;
  /** Stream bytes that belonged to no delivered packet: dropped partial packets, gaps and bytes scanned over. */
  mysqlSkippedBytes: number;
  /** Packets delivered with only part of their payload: cut at the keep cap, or bytes lost in a gap. */
  mysqlTruncatedPayloads: number;
}

export function newMysqlPacketCounters(): MysqlPacketCounters {
  return { parseErrors: 0, mysqlResyncs: 0, mysqlSkippedBytes: 0, mysqlTruncatedPayloads: 0 };
}

/** One logical packet. The reader reuses this object: it and its payload are valid only during the call. */
export interface MysqlPacket {
  /** Sequence ids of the first and the last physical packet (they differ when the payload spans packets). */
  seq: number;
  lastSeq: number;
  /** Payload length across continuation packets, lost bytes included. */
  length: number;
  /** The kept prefix of the payload: all of it unless cut at the cap or at a gap. */
  payload: Buffer;
  /** Stream bytes between the previous delivered packet and this one: non-zero after resynchronising. */
  skippedBefore: number;
  /** Times of the chunks that carried the first header byte and the last payload byte. */
  startNs: number;
  endNs: number;
}

export interface MysqlPacketSink {
  /** A header read in sync starts a packet: false rejects it as garbage (counted, then resynchronisation). */
  acceptHeader(seq: number, length: number): boolean;
  /**
   * While resynchronising: whether a candidate header starts a real packet. `available` is the part of its
   * payload in the current chunk; `confirmed` when the chunk's bytes agree (it ends there, or the next header
   * follows with the next sequence id).
   */
  isPlausibleStart(seq: number, length: number, available: Buffer, confirmed: boolean): boolean;
  onPacket(packet: MysqlPacket): void;
  /** Packet boundaries were lost: the packet being read is dropped and packets may be missing. */
  onDesync(): void;
}

type FrameState = 'header' | 'payload' | 'scan';

export class MysqlPacketReader {
  private state: FrameState;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private headerNs = 0;
  /** A logical packet is being read (possibly between two of its physical packets). */
  private inPacket = false;
  /** Payload bytes of the current physical packet still to come. */
  private remaining = 0;
  /** The current physical packet is full-size: the logical payload continues in the next one. */
  private continues = false;
  /** Stream bytes of the logical packet so far, headers and lost bytes included. */
  private packetBytes = 0;
  /** Payload bytes of the logical packet so far, captured or lost. */
  private consumed = 0;
  private buffer: Buffer | undefined;
  private kept = 0;
  /** A gap hit the payload: later bytes are not kept, so the kept bytes stay a contiguous prefix. */
  private keeping = true;
  /** Bytes since the last delivered packet that belong to no delivered packet. */
  private lost = 0;
  private readonly packet: MysqlPacket = {
    seq: 0,
    lastSeq: 0,
    length: 0,
    payload: Buffer.alloc(0),
    skippedBefore: 0,
    startNs: 0,
    endNs: 0,
  };

  /**
   * @param maxPayloadBytes payload bytes kept per logical packet; may be changed between packets.
   * @param inSync false when the stream may begin mid-packet: the reader scans for a first header.
   */
  constructor(
    private readonly sink: MysqlPacketSink,
    private readonly counters: MysqlPacketCounters,
    public maxPayloadBytes: number,
    inSync: boolean,
  ) {
    this.state = inSync ? 'header' : 'scan';
  }

  get synced(): boolean {
    return this.state !== 'scan';
  }

  onData(data: Buffer, tsNs: number): void {
    let off = 0;
    while (off < data.length) {
      if (this.state === 'scan') off = this.scan(data, off);
      else if (this.state === 'header') off = this.readHeader(data, off, tsNs);
      else off = this.readPayload(data, off, tsNs);
    }
  }

  onGap(length: number, tsNs: number): void {
    if (this.state === 'scan') {
      this.skip(length);
    } else if (this.state === 'payload' && length <= this.remaining) {
      // The header said how long the payload is: the packet survives, without the lost bytes.
      this.remaining -= length;
      this.consumed += length;
      this.packetBytes += length;
      this.keeping = false;
      if (this.remaining === 0) this.endPhysical(tsNs);
    } else {
      this.loseFraming(length);
      this.sink.onDesync();
    }
  }

  /** The sink found a delivered packet to be garbage: scan for the next plausible header from here on. */
  resync(): void {
    if (this.state === 'scan') return;
    this.loseFraming(0);
  }

  private readHeader(data: Buffer, off: number, tsNs: number): number {
    let length: number;
    let seq: number;
    let at = off;
    if (this.headerFill === 0 && off + HEADER_BYTES <= data.length) {
      length = data[off]! | (data[off + 1]! << 8) | (data[off + 2]! << 16);
      seq = data[off + 3]!;
      this.headerNs = tsNs;
      at = off + HEADER_BYTES;
    } else {
      if (this.headerFill === 0) this.headerNs = tsNs;
      const taken = Math.min(HEADER_BYTES - this.headerFill, data.length - off);
      data.copy(this.header, this.headerFill, off, off + taken);
      this.headerFill += taken;
      at = off + taken;
      if (this.headerFill < HEADER_BYTES) return at;
      this.headerFill = 0;
      length = this.header.readUIntLE(0, 3);
      seq = this.header[3]!;
    }
    this.packetBytes += HEADER_BYTES;
    if (!this.inPacket) {
      if (!this.sink.acceptHeader(seq, length)) return this.rejectHeader(data, off, at);
      this.inPacket = true;
      this.packet.seq = seq;
      this.packet.startNs = this.headerNs;
      this.packet.length = 0;
      this.consumed = 0;
      this.kept = 0;
      this.keeping = true;
    } else if (seq !== ((this.packet.lastSeq + 1) & 0xff)) {
      this.loseFraming(0);
      this.counters.parseErrors++;
      this.sink.onDesync();
      return at;
    }
    this.packet.lastSeq = seq;
    this.packet.length += length;
    this.remaining = length;
    this.continues = length === MAX_PHYSICAL_PAYLOAD;
    this.state = 'payload';
    if (length === 0) this.endPhysical(tsNs);
    return at;
  }

  /** Garbage where a header was expected: scanning resumes just after its first byte when still at hand. */
  private rejectHeader(data: Buffer, headerStart: number, after: number): number {
    this.counters.parseErrors++;
    const resumeAt = after - headerStart === HEADER_BYTES ? headerStart + 1 : after;
    this.packetBytes -= after - resumeAt;
    this.loseFraming(0);
    return resumeAt;
  }

  private readPayload(data: Buffer, off: number, tsNs: number): number {
    const n = Math.min(this.remaining, data.length - off);
    if (this.consumed === 0 && n === this.remaining && !this.continues) {
      // The whole payload is in this chunk: hand out a view, no copy.
      this.packet.payload = data.subarray(off, off + Math.min(n, this.maxPayloadBytes));
      this.consumed = n;
      this.packetBytes += n;
      this.remaining = 0;
      this.deliver(tsNs, n > this.maxPayloadBytes);
      return off + n;
    }
    if (this.keeping && this.kept < this.maxPayloadBytes) {
      const taken = Math.min(n, this.maxPayloadBytes - this.kept);
      const buffer = this.ensureCapacity(this.kept + taken);
      data.copy(buffer, this.kept, off, off + taken);
      this.kept += taken;
    }
    this.consumed += n;
    this.packetBytes += n;
    this.remaining -= n;
    if (this.remaining === 0) this.endPhysical(tsNs);
    return off + n;
  }

  private endPhysical(tsNs: number): void {
    if (this.continues) {
      this.state = 'header';
      return;
    }
    this.packet.payload = this.buffer === undefined ? EMPTY : this.buffer.subarray(0, this.kept);
    this.deliver(tsNs, this.kept < this.packet.length);
  }

  private deliver(tsNs: number, truncated: boolean): void {
    if (truncated) this.counters.mysqlTruncatedPayloads++;
    this.state = 'header';
    this.inPacket = false;
    this.packetBytes = 0;
    this.packet.endNs = tsNs;
    this.packet.skippedBefore = this.lost;
    this.lost = 0;
    this.sink.onPacket(this.packet);
    if (this.buffer !== undefined && this.buffer.length > MAX_RETAINED_BUFFER) this.buffer = undefined;
  }

  private ensureCapacity(needed: number): Buffer {
    const buffer = this.buffer;
    if (buffer !== undefined && buffer.length >= needed) return buffer;
    // Sized for the payload as far as it is declared, so a split packet is copied without regrowing.
    const size = Math.min(
      this.maxPayloadBytes,
      Math.max(needed, MIN_BUFFER, this.packet.length, 2 * (buffer?.length ?? 0)),
    );
    const grown = Buffer.allocUnsafe(size);
    if (buffer !== undefined) buffer.copy(grown, 0, 0, this.kept);
    this.buffer = grown;
    return grown;
  }

  /** Drops the packet being read and starts scanning; `extra` more bytes are lost beyond it. */
  private loseFraming(extra: number): void {
    this.counters.mysqlResyncs++;
    this.skip(this.packetBytes + this.headerFill + extra);
    this.packetBytes = 0;
    this.headerFill = 0;
    this.inPacket = false;
    this.remaining = 0;
    this.continues = false;
    this.state = 'scan';
  }

  private skip(bytes: number): void {
    this.lost += bytes;
    this.counters.mysqlSkippedBytes += bytes;
  }

  /**
   * Looks for a header in `data` from `from` on. Only headers whose first payload byte is in the chunk are
   * candidates (the sink judges by it); a header split across two chunks is missed, and the next one found.
   */
  private scan(data: Buffer, from: number): number {
    const end = data.length;
    for (let i = from; i + HEADER_BYTES < end; i++) {
      const length = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16);
      if (length === 0) continue;
      const seq = data[i + 3]!;
      const next = i + HEADER_BYTES + length;
      const confirmed = next === end || (next + HEADER_BYTES <= end && isFollowingSeq(data[next + 3]!, seq));
      // Unconfirmed, only a packet that starts the chunk (a write boundary) and runs beyond it is worth a try.
      if (!confirmed && (i !== 0 || next < end)) continue;
      if (
        !this.sink.isPlausibleStart(
          seq,
          length,
          data.subarray(i + HEADER_BYTES, Math.min(next, end)),
          confirmed,
        )
      )
        continue;
      this.skip(i - from);
      this.state = 'header';
      return i;
    }
    this.skip(end - from);
    return end;
  }
}

const EMPTY = Buffer.alloc(0);

/** The packet after one with `seq`: its continuation or the next of an exchange, or a new command. */
function isFollowingSeq(nextSeq: number, seq: number): boolean {
  return nextSeq === ((seq + 1) & 0xff) || nextSeq === 0;
}

/** Bounds-checked reads from a payload: a short or malformed payload yields undefined, never an exception. */
export class PayloadReader {
  constructor(
    readonly buf: Buffer,
    public off = 0,
  ) {}

  get left(): number {
    return this.buf.length - this.off;
  }

  u8(): number | undefined {
    return this.off < this.buf.length ? this.buf[this.off++] : undefined;
  }

  u16(): number | undefined {
    if (this.left < 2) return undefined;
    const value = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return value;
  }

  u32(): number | undefined {
    if (this.left < 4) return undefined;
    const value = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return value;
  }

  /** A length-encoded integer; undefined for NULL (0xfb), the invalid 0xff, or too few bytes. */
  lenenc(): number | undefined {
    const first = this.u8();
    if (first === undefined || first < 0xfb) return first;
    const size = first === 0xfc ? 2 : first === 0xfd ? 3 : first === 0xfe ? 8 : 0;
    if (size === 0 || this.left < size) return undefined;
    const value =
      size === 8
        ? this.buf.readUInt32LE(this.off) + this.buf.readUInt32LE(this.off + 4) * 2 ** 32
        : this.buf.readUIntLE(this.off, size);
    this.off += size;
    return value;
  }

  bytes(length: number): Buffer | undefined {
    if (length > this.left) return undefined;
    const bytes = this.buf.subarray(this.off, this.off + length);
    this.off += length;
    return bytes;
  }

  lenencBytes(): Buffer | undefined {
    const length = this.lenenc();
    return length === undefined ? undefined : this.bytes(length);
  }
}

export const OK_HEADER = 0x00;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
export const LOCAL_INFILE_HEADER = 0xfb;
/** An EOF packet's payload: header, warnings, status flags (protocol 4.1). */
export const EOF_PAYLOAD_LENGTH = 5;
export const SERVER_MORE_RESULTS_EXISTS = 0x0008;
export const SERVER_STATUS_CURSOR_EXISTS = 0x0040;
/** MariaDB progress reports travel as ERR packets with this code; they are no error. */
export const PROGRESS_REPORT_CODE = 0xffff;

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
}

/** An OK packet (header 0x00, or 0xfe where it ends a result set under CLIENT_DEPRECATE_EOF). */
export function readOk(payload: Buffer): OkPacket | undefined {
  const reader = new PayloadReader(payload, 1);
  const affectedRows = reader.lenenc();
  const lastInsertId = reader.lenenc();
  if (affectedRows === undefined || lastInsertId === undefined) return undefined;
  return { affectedRows, lastInsertId, status: reader.u16() ?? 0 };
}

/** Status flags of a packet ending a result set: an EOF (5 bytes), or an OK with header 0xfe. */
export function terminatorStatus(payload: Buffer, length: number): number {
  if (length === EOF_PAYLOAD_LENGTH) return payload.length >= 5 ? payload.readUInt16LE(3) : 0;
  return readOk(payload)?.status ?? 0;
}

export function errorCode(payload: Buffer): number | undefined {
  return payload.length >= 3 ? payload.readUInt16LE(1) : undefined;
}

/** 'ERROR 1062 (23000): Duplicate entry ...', as the mysql client prints it; without SQLSTATE before 4.1. */
export function formatError(payload: Buffer): string {
  const code = errorCode(payload) ?? 0;
  if (payload[3] === 0x23 && payload.length >= 9) {
    return `ERROR ${code} (${payload.toString('latin1', 4, 9)}): ${payload.toString('utf8', 9)}`;
  }
  return `ERROR ${code}: ${payload.toString('utf8', 3)}`;
}

/** The server greeting (protocol 10): its capability flags, or undefined when the payload is not one. */
export function readGreetingCapabilities(payload: Buffer): number | undefined {
  if (payload[0] !== 10) return undefined;
  const versionEnd = payload.indexOf(0, 1);
  if (versionEnd < 2 || versionEnd > 64) return undefined;
  for (let i = 1; i < versionEnd; i++) {
    const c = payload[i]!;
    if (c < 0x20 || c > 0x7e) return undefined;
  }
  // connection id (4), auth-plugin-data part 1 (8), filler (1), then the lower capability flags.
  const reader = new PayloadReader(payload, versionEnd + 1 + 4 + 8 + 1);
  const lower = reader.u16();
  if (lower === undefined) return undefined;
  // character set (1), status flags (2), then the upper capability flags when the server sends them.
  reader.off += 3;
  const upper = reader.u16() ?? 0;
  return lower + upper * 0x10000;
}

/** Column types of the binary protocol (the first byte of a parameter's two type bytes). */
const enum ColumnType {
  Decimal = 0x00,
  Tiny = 0x01,
  Short = 0x02,
  Long = 0x03,
  Float = 0x04,
  Double = 0x05,
  Null = 0x06,
  Timestamp = 0x07,
  LongLong = 0x08,
  Int24 = 0x09,
  Date = 0x0a,
  Time = 0x0b,
  DateTime = 0x0c,
  Year = 0x0d,
  NewDate = 0x0e,
  VarChar = 0x0f,
  Bit = 0x10,
  Json = 0xf5,
  NewDecimal = 0xf6,
  Enum = 0xf7,
  Set = 0xf8,
  TinyBlob = 0xf9,
  MediumBlob = 0xfa,
  LongBlob = 0xfb,
  Blob = 0xfc,
  VarString = 0xfd,
  String = 0xfe,
  Geometry = 0xff,
}

const UNSIGNED_FLAG = 0x80;
/** COM_STMT_EXECUTE flag (MySQL 8 query attributes): the parameter count is sent explicitly. */
const PARAMETER_COUNT_AVAILABLE = 0x08;
/** COM_STMT_EXECUTE: command, statement id (4), flags (1), iteration count (4). */
const EXECUTE_HEADER_BYTES = 10;
/** Parameter counts tried when a statement's count must be inferred from the execute packet alone. */
const MAX_INFERRED_PARAMS = 256;
export const LONG_DATA_PLACEHOLDER = '<long data>';
export const NULL_PARAM = 'NULL';

/** Types whose binary value is a length-encoded string (decimals, text, blobs, JSON, bits, geometry). */
const LENGTH_ENCODED_TYPES: ReadonlySet<number> = new Set([
  ColumnType.Decimal,
  ColumnType.NewDecimal,
  ColumnType.VarChar,
  ColumnType.Bit,
  ColumnType.Json,
  ColumnType.Enum,
  ColumnType.Set,
  ColumnType.TinyBlob,
  ColumnType.MediumBlob,
  ColumnType.LongBlob,
  ColumnType.Blob,
  ColumnType.VarString,
  ColumnType.String,
  ColumnType.Geometry,
]);

/** Bytes a binary-protocol value of `type` takes at `off`, or -1 when unknown or beyond the payload. */
function binaryValueSize(buf: Buffer, off: number, type: number): number {
  let size: number;
  switch (type) {
    case ColumnType.Null:
      size = 0;
      break;
    case ColumnType.Tiny:
      size = 1;
      break;
    case ColumnType.Short:
    case ColumnType.Year:
      size = 2;
      break;
    case ColumnType.Long:
    case ColumnType.Int24:
    case ColumnType.Float:
      size = 4;
      break;
    case ColumnType.LongLong:
    case ColumnType.Double:
      size = 8;
      break;
    case ColumnType.Date:
    case ColumnType.NewDate:
    case ColumnType.DateTime:
    case ColumnType.Timestamp:
    case ColumnType.Time:
      size = off < buf.length ? 1 + buf[off]! : -1;
      break;
    default: {
      if (!LENGTH_ENCODED_TYPES.has(type)) return -1;
      const reader = new PayloadReader(buf, off);
      const length = reader.lenenc();
      size = length === undefined ? -1 : reader.off - off + length;
    }
  }
  return size >= 0 && off + size <= buf.length ? size : -1;
}

/** Renders a fixed-layout value whose size binaryValueSize has checked. */
function renderFixedValue(buf: Buffer, off: number, type: number, unsigned: boolean): string {
  switch (type) {
    case ColumnType.Tiny:
      return String(unsigned ? buf.readUInt8(off) : buf.readInt8(off));
    case ColumnType.Short:
    case ColumnType.Year:
      return String(unsigned ? buf.readUInt16LE(off) : buf.readInt16LE(off));
    case ColumnType.Long:
    case ColumnType.Int24:
      return String(unsigned ? buf.readUInt32LE(off) : buf.readInt32LE(off));
    case ColumnType.LongLong:
      return (unsigned ? buf.readBigUInt64LE(off) : buf.readBigInt64LE(off)).toString();
    case ColumnType.Float:
      return formatFloat32(buf.readFloatLE(off));
    case ColumnType.Double:
      return String(buf.readDoubleLE(off));
    case ColumnType.Time:
      return formatTime(buf, off + 1, buf[off]!);
    case ColumnType.Date:
    case ColumnType.NewDate:
      return formatDateTime(buf, off + 1, buf[off]!, true);
    case ColumnType.DateTime:
    case ColumnType.Timestamp:
      return formatDateTime(buf, off + 1, buf[off]!, false);
    default:
      return NULL_PARAM;
  }
}

/** The shortest decimal that reads back as the same 32-bit float (what the client most likely sent). */
function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  for (let digits = 1; digits < 9; digits++) {
    const text = Number(value.toPrecision(digits));
    if (Math.fround(text) === value) return String(text);
  }
  return String(Number(value.toPrecision(9)));
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** DATE/DATETIME/TIMESTAMP: 0, 4, 7 or 11 bytes (date, time, microseconds), zero when absent. */
function formatDateTime(buf: Buffer, off: number, length: number, dateOnly: boolean): string {
  const part = (at: number, min: number) => (length >= min ? buf[off + at]! : 0);
  const year = length >= 4 ? buf.readUInt16LE(off) : 0;
  const date = `${pad(year, 4)}-${pad(part(2, 4), 2)}-${pad(part(3, 4), 2)}`;
  if (dateOnly) return date;
  const time = `${pad(part(4, 7), 2)}:${pad(part(5, 7), 2)}:${pad(part(6, 7), 2)}`;
  return length >= 11 ? `${date} ${time}.${pad(buf.readUInt32LE(off + 7), 6)}` : `${date} ${time}`;
}

/** TIME: 0, 8 or 12 bytes (sign, days, h, m, s, microseconds); days fold into hours as MySQL prints them. */
function formatTime(buf: Buffer, off: number, length: number): string {
  if (length < 8) return '00:00:00';
  const hours = buf.readUInt32LE(off + 1) * 24 + buf[off + 5]!;
  const text = `${buf[off] === 1 ? '-' : ''}${pad(hours, 2)}:${pad(buf[off + 6]!, 2)}:${pad(buf[off + 7]!, 2)}`;
  return length >= 12 ? `${text}.${pad(buf.readUInt32LE(off + 8), 6)}` : text;
}

/** Text as UTF-8 when it is, else 0x-prefixed hex (a MySQL hex literal); cut at `maxBytes` with '…'. */
export function bytesToText(bytes: Buffer, maxBytes: number): string {
  let kept = bytes;
  if (bytes.length > maxBytes) {
    let end = maxBytes;
    // Cut before a UTF-8 continuation byte so that text stays text.
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    kept = bytes.subarray(0, end);
  }
  const text = isUtf8(kept) ? kept.toString('utf8') : `0x${kept.toString('hex')}`;
  return kept === bytes ? text : `${text}…`;
}

export interface StatementParams {
  /** Rendered values, NULL as 'NULL'. */
  values: string[];
  /** Type bytes (2 per parameter) bound by this execute, a private copy; undefined when it bound none. */
  boundTypes: Buffer | undefined;
  /** How many parameters the packet carried: found in it, or inferred from its layout. */
  count: number;
  /** Values cut at the value cap. */
  cutValues: number;
}

export interface ParamLayout {
  /** From COM_STMT_PREPARE_OK when it was seen. */
  numParams: number | undefined;
  /** Types bound by an earlier execute of the statement. */
  types: Buffer | undefined;
  /** CLIENT_QUERY_ATTRIBUTES as negotiated, undefined when the handshake was not seen. */
  queryAttributes: boolean | undefined;
  /** Parameters sent by COM_STMT_SEND_LONG_DATA: their values are not in the execute packet. */
  longData: ReadonlySet<number> | undefined;
}

/** Decodes the parameters of a COM_STMT_EXECUTE payload; undefined when they cannot be (or are cut short). */
export function readExecuteParams(
  payload: Buffer,
  layout: ParamLayout,
  maxValueBytes: number,
): StatementParams | undefined {
  const flags = payload[5];
  if (flags === undefined || payload.length < EXECUTE_HEADER_BYTES) return undefined;
  const reader = new PayloadReader(payload, EXECUTE_HEADER_BYTES);
  // Without the handshake, the flag a query-attributes client always sets tells how the packet is laid out.
  const attributes = layout.queryAttributes ?? (flags & PARAMETER_COUNT_AVAILABLE) !== 0;
  let count = layout.numParams;
  if (attributes && (count !== 0 || (flags & PARAMETER_COUNT_AVAILABLE) !== 0)) count = reader.lenenc();
  count ??= inferParamCount(payload, reader.off, layout.longData);
  if (count === undefined) return undefined;
  if (count === 0) return { values: [], boundTypes: undefined, count, cutValues: 0 };
  return readParamValues(reader, count, layout, attributes, maxValueBytes);
}

/**
 * Null bitmap, new-params-bound flag, types (each followed by a name under query attributes) and values.
 * Leaves the reader just past the values.
 */
function readParamValues(
  reader: PayloadReader,
  count: number,
  layout: ParamLayout,
  attributes: boolean,
  maxValueBytes: number,
): StatementParams | undefined {
  const nullBitmap = reader.bytes((count + 7) >> 3);
  const bound = reader.u8();
  if (nullBitmap === undefined || bound === undefined) return undefined;
  let types = layout.types;
  let boundTypes: Buffer | undefined;
  if (bound === 1) {
    boundTypes = Buffer.allocUnsafe(2 * count);
    for (let i = 0; i < count; i++) {
      const type = reader.u16();
      if (type === undefined || (attributes && reader.lenencBytes() === undefined)) return undefined;
      boundTypes.writeUInt16LE(type, 2 * i);
    }
    types = boundTypes;
  }
  if (types === undefined || types.length < 2 * count) return undefined;
  const values: string[] = [];
  let cutValues = 0;
  for (let i = 0; i < count; i++) {
    if ((nullBitmap[i >> 3]! & (1 << (i & 7))) !== 0) {
      values.push(NULL_PARAM);
      continue;
    }
    if (layout.longData?.has(i) === true) {
      values.push(LONG_DATA_PLACEHOLDER);
      continue;
    }
    const type = types[2 * i]!;
    const size = binaryValueSize(reader.buf, reader.off, type);
    if (size < 0) return undefined;
    if (LENGTH_ENCODED_TYPES.has(type)) {
      const bytes = reader.lenencBytes()!;
      if (bytes.length > maxValueBytes) cutValues++;
      values.push(bytesToText(bytes, maxValueBytes));
    } else {
      values.push(renderFixedValue(reader.buf, reader.off, type, (types[2 * i + 1]! & UNSIGNED_FLAG) !== 0));
      reader.off += size;
    }
  }
  return { values, boundTypes, count, cutValues };
}

/**
 * The parameter count of an execute whose statement was prepared out of sight: the smallest count for which
 * the packet parses exactly (null bitmap with no stray bits, types bound, values filling the payload).
 */
function inferParamCount(
  payload: Buffer,
  start: number,
  longData: ReadonlySet<number> | undefined,
): number | undefined {
  if (start === payload.length) return 0;
  for (let count = 1; count <= MAX_INFERRED_PARAMS; count++) {
    const bitmapBytes = (count + 7) >> 3;
    const typesAt = start + bitmapBytes + 1;
    if (typesAt + 2 * count > payload.length) return undefined;
    if (payload[typesAt - 1] !== 1) continue;
    if (count % 8 !== 0 && payload[typesAt - 2]! >> (count % 8) !== 0) continue;
    let off = typesAt + 2 * count;
    for (let i = 0; i < count && off >= 0; i++) {
      const isNull = (payload[start + (i >> 3)]! & (1 << (i & 7))) !== 0;
      if (isNull || longData?.has(i) === true) continue;
      const size = binaryValueSize(payload, off, payload[typesAt + 2 * i]!);
      off = size < 0 ? -1 : off + size;
    }
    if (off === payload.length) return count;
  }
  return undefined;
}

/** Offset of the SQL text in a COM_QUERY payload, after query attributes if any; -1 when malformed. */
export function queryTextOffset(payload: Buffer, queryAttributes: boolean | undefined): number {
  // Unknown: attributes begin with a small count and a parameter-set count of 1, which SQL text never does.
  const attributes = queryAttributes ?? (payload.length >= 3 && payload[1]! < 0x20 && payload[2] === 1);
  if (!attributes) return 1;
  const reader = new PayloadReader(payload, 1);
  const count = reader.lenenc();
  if (count === undefined || reader.lenenc() === undefined) return -1;
  if (count === 0) return reader.off;
  const layout = { numParams: count, types: undefined, queryAttributes: true, longData: undefined };
  return readParamValues(reader, count, layout, true, 0) === undefined ? -1 : reader.off;
}
