/**
 * PostgreSQL frontend/backend protocol (version 3) on the wire: framing of one direction into messages, and the
 * decoders of the few message bodies a session reads.
 *
 * A typed message is a tag byte and an int32 length that counts itself; the frontend opens with untyped messages
 * (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest: an int32 length and an int32 code), and the backend
 * answers SSLRequest/GSSENCRequest with one bare byte. Bodies are kept only for the tags a session reads, up to a
 * cap; everything else (DataRow, CopyData, authentication) is counted and skipped as it streams by, so a 100 MB
 * result set costs no memory. Lost or impossible bytes make the reader scan for a plausible message start.
 */

/** Which end of the connection wrote the bytes a reader frames. */
export type PgsqlSide = 'frontend' | 'backend';

/** Tag bytes of the frontend's typed messages. */
export const FrontendTag = {
  Bind: 0x42, // B
  Close: 0x43, // C
  Describe: 0x44, // D
  Execute: 0x45, // E
  FunctionCall: 0x46, // F
  Flush: 0x48, // H
  Parse: 0x50, // P
  Query: 0x51, // Q
  Sync: 0x53, // S
  Terminate: 0x58, // X
  CopyDone: 0x63, // c
  CopyData: 0x64, // d
  CopyFail: 0x66, // f
  /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse: credentials, never kept. */
  AuthenticationResponse: 0x70, // p
} as const;

/** Tag bytes of the backend's typed messages. */
export const BackendTag = {
  ParseComplete: 0x31, // 1
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  NotificationResponse: 0x41, // A
  CommandComplete: 0x43, // C
  DataRow: 0x44, // D
  ErrorResponse: 0x45, // E
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  EmptyQueryResponse: 0x49, // I
  BackendKeyData: 0x4b, // K
  NoticeResponse: 0x4e, // N
  Authentication: 0x52, // R
  ParameterStatus: 0x53, // S
  RowDescription: 0x54, // T
  FunctionCallResponse: 0x56, // V
  CopyBothResponse: 0x57, // W
  ReadyForQuery: 0x5a, // Z
  CopyDone: 0x63, // c
  CopyData: 0x64, // d
  NoData: 0x6e, // n
  PortalSuspended: 0x73, // s
  ParameterDescription: 0x74, // t
  NegotiateProtocolVersion: 0x76, // v
} as const;

/** Codes of the frontend's untyped messages besides StartupMessage (whose code is the protocol version). */
export const StartupCode = {
  CancelRequest: 80877102,
  SslRequest: 80877103,
  GssEncRequest: 80877104,
} as const;

/** The backend's one-byte answers: 'S' (TLS follows), 'G' (GSS encryption follows), 'N' (go on in plaintext). */
export const EncryptionAnswer = { Accepted: 0x53, GssAccepted: 0x47, Refused: 0x4e } as const;

/** A StartupMessage code speaks protocol 3.x (3.0, or 3.2 since PostgreSQL 18) when its major half is 3. */
export function isProtocol3(code: number): boolean {
  return code >>> 16 === 3;
}

/** PostgreSQL refuses messages from 1 GB on, in both directions. */
const MAX_LENGTH = 0x40000000;
/** Bound of messages that only carry names, tags or a few fields. */
const SMALL = 0x10000;
/** While scanning for a message start, longer lengths are taken as noise rather than believed. */
const SCAN_MAX_LENGTH = 16 * 1024 * 1024;
/** A lone header at a chunk's start is believed up to this length: a false one must not swallow much. */
const WEAK_MAX_LENGTH = 1024 * 1024;
/** Headers checked one after the other before a scanned position is believed. */
const SCAN_CHAIN = 4;
/** The postmaster's limit for a startup-phase message. */
const MAX_STARTUP_LENGTH = 10_000;
/** First byte of a TLS handshake record: the client started TLS after 'S' (or directly, PostgreSQL 17+). */
const TLS_HANDSHAKE = 0x16;
const EMPTY = Buffer.alloc(0);

/** [tag, least length, greatest length, body kept for the session]; lengths count the int32 length itself. */
type TagRule = readonly [tag: string, min: number, max: number, keep: boolean];

/** What a valid message of one side looks like, indexed by tag byte. */
class MessageRules {
  private readonly min = new Uint32Array(256);
  private readonly max = new Uint32Array(256);
  private readonly keep = new Uint8Array(256);

  constructor(rules: readonly TagRule[]) {
    for (const [tag, min, max, keep] of rules) {
      const code = tag.charCodeAt(0);
      this.min[code] = min;
      this.max[code] = max;
      this.keep[code] = keep ? 1 : 0;
    }
  }

  isTag(tag: number): boolean {
    return this.min[tag] !== 0;
  }

  accepts(tag: number, length: number, cap: number): boolean {
    const min = this.min[tag]!;
    return min !== 0 && length >= min && length <= this.max[tag]! && length <= cap;
  }

  keeps(tag: number): boolean {
    return this.keep[tag] === 1;
  }
}

const FRONTEND_RULES = new MessageRules([
  ['B', 12, MAX_LENGTH, true],
  ['C', 6, SMALL, true],
  ['D', 6, SMALL, false],
  ['E', 9, SMALL, true],
  ['F', 14, MAX_LENGTH, true],
  ['H', 4, 4, false],
  ['P', 8, MAX_LENGTH, true],
  ['Q', 5, MAX_LENGTH, true],
  ['S', 4, 4, false],
  ['X', 4, 4, false],
  ['c', 4, 4, false],
  ['d', 4, MAX_LENGTH, false],
  ['f', 5, MAX_LENGTH, false],
  ['p', 4, MAX_LENGTH, false],
]);

const BACKEND_RULES = new MessageRules([
  ['1', 4, 4, false],
  ['2', 4, 4, false],
  ['3', 4, 4, false],
  ['A', 10, MAX_LENGTH, false],
  ['C', 5, SMALL, true],
  ['D', 6, MAX_LENGTH, false],
  ['E', 5, MAX_LENGTH, true],
  ['G', 7, SMALL, false],
  ['H', 7, SMALL, false],
  ['I', 4, 4, false],
  ['K', 12, 12 + 256, false],
  ['N', 5, MAX_LENGTH, false],
  ['R', 8, MAX_LENGTH, false],
  ['S', 6, MAX_LENGTH, false],
  ['T', 6, MAX_LENGTH, false],
  ['V', 8, MAX_LENGTH, false],
  ['W', 7, SMALL, false],
  ['Z', 5, 5, false],
  ['c', 4, 4, false],
  ['d', 4, MAX_LENGTH, false],
  ['n', 4, 4, false],
  ['s', 4, 4, false],
  ['t', 6, MAX_LENGTH, false],
  ['v', 12, SMALL, false],
]);

function rulesOf(side: PgsqlSide): MessageRules {
  return side === 'frontend' ? FRONTEND_RULES : BACKEND_RULES;
}

/** Is there a plausible startup-phase message (int32 length, int32 code) at `at`? */
function isStartupPacketAt(data: Buffer, at: number): boolean {
  if (data.length - at < 8) return false;
  return isStartupHeader(data.readUInt32BE(at), data.readUInt32BE(at + 4));
}

function isStartupHeader(length: number, code: number): boolean {
  if (length < 8 || length > MAX_STARTUP_LENGTH) return false;
  if (code === StartupCode.SslRequest || code === StartupCode.GssEncRequest) return length === 8;
  if (code === StartupCode.CancelRequest) return length >= 16 && length <= 12 + 256;
  return isProtocol3(code) && length > 8;
}

/**
 * Do the bytes from `at` read as a run of messages? Every header that lies in the chunk must be valid, and the
 * run must end exactly at the chunk's end or show at least two headers; one header whose message runs past the
 * chunk is believed only at the chunk's start, where writes usually begin a message.
 */
function isPlausibleRun(data: Buffer, at: number, rules: MessageRules): boolean {
  let pos = at;
  for (let headers = 0; headers < SCAN_CHAIN; headers++) {
    if (pos === data.length) return headers > 0;
    if (data.length - pos < 5) return headers > 0 && rules.isTag(data[pos]!);
    const length = data.readUInt32BE(pos + 1);
    if (!rules.accepts(data[pos]!, length, SCAN_MAX_LENGTH)) return false;
    pos += 1 + length;
    if (pos > data.length) return headers > 0 || (at === 0 && length <= WEAK_MAX_LENGTH);
  }
  return true;
}

/** Which side wrote a chunk, judged from its first bytes; undefined when they fit both or neither. */
export function classifyStart(data: Buffer): PgsqlSide | undefined {
  const first = data[0];
  if (first === undefined) return undefined;
  if (isStartupPacketAt(data, 0)) return 'frontend';
  if (data.length === 1 && (first === EncryptionAnswer.Refused || first === EncryptionAnswer.Accepted)) {
    return 'backend';
  }
  const frontend = isPlausibleRun(data, 0, FRONTEND_RULES);
  const backend = isPlausibleRun(data, 0, BACKEND_RULES);
  if (frontend === backend) return undefined;
  return frontend ? 'frontend' : 'backend';
}

/** Shared by all readers of a tracker. */
export interface PgsqlMessageCounters {
  /** Messages whose kept body is only a prefix: longer than the cap, or bytes of them were not captured. */
  pgsqlCutMessages: number;
  /** Bytes passed over while looking for a message start: garbage, or the rest of a message whose start was lost. */
  pgsqlSkippedBytes: number;
}

export function newPgsqlMessageCounters(): PgsqlMessageCounters {
  return { pgsqlCutMessages: 0, pgsqlSkippedBytes: 0 };
}

export interface PgsqlMessageSink {
  /**
   * One typed message. `body` is its kept prefix for the tags a session reads (a view valid during the call only)
   * and empty for the others; `length` is the real body length.
   */
  message(tag: number, body: Buffer, length: number, startNs: number, endNs: number): void;
  /** A frontend startup-phase message: StartupMessage (code = protocol version), SSLRequest, ... */
  startupPacket(code: number, startNs: number, endNs: number): void;
  /** The backend's bare answer to SSLRequest/GSSENCRequest. */
  encryptionAnswer(answer: number, tsNs: number): void;
  /** The frontend began a TLS handshake: the rest of the connection cannot be read here. */
  tlsStarted(): void;
  /** Message boundaries were lost, by `garbage` (bytes no message starts with) or by a gap; scanning follows. */
  lost(garbage: boolean): void;
}

/** Tag given to untyped (startup-phase) messages while their body streams by. */
const UNTYPED = -1;

/** Cuts one direction of a PostgreSQL connection into messages; bounded by `maxKeptBytes` per message. */
export class PgsqlMessageReader {
  private readonly rules: MessageRules;
  /** A header split across chunks: 5 bytes typed, 8 bytes untyped (length and code). */
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  /** Body bytes of the current message still to come; -1 between messages. */
  private remaining = -1;
  private tag = 0;
  private length = 0;
  private startNs = 0;
  /** The kept prefix of a body that spans chunks. */
  private kept: Buffer | undefined;
  private keptFill = 0;
  private keepLimit = 0;
  /** Frontend: the next message is a startup-phase one. */
  private untyped: boolean;
  private untypedCode = 0;
  /** Backend: the next byte may be a bare answer to SSLRequest/GSSENCRequest. */
  private bareAnswers: boolean;
  /** Message boundaries unknown: scanning for the next plausible start. */
  private scanning: boolean;
  private stopped = false;

  /**
   * @param fromStart the stream starts at the connection's first byte: the frontend with its startup phase, the
   *   backend possibly with bare answers. Otherwise the reader scans for a plausible message start.
   */
  constructor(
    private readonly side: PgsqlSide,
    private readonly sink: PgsqlMessageSink,
    private readonly counters: PgsqlMessageCounters,
    private readonly maxKeptBytes: number,
    fromStart: boolean,
  ) {
    this.rules = rulesOf(side);
    this.scanning = !fromStart;
    this.untyped = fromStart && side === 'frontend';
    this.bareAnswers = fromStart && side === 'backend';
  }

  /** Reads nothing more (the connection switched to encryption). */
  stop(): void {
    this.stopped = true;
    this.kept = undefined;
  }

  onData(data: Buffer, tsNs: number): void {
    let at = 0;
    while (at < data.length && !this.stopped) {
      if (this.remaining >= 0) at = this.readBody(data, at, tsNs);
      else if (this.scanning) at = this.scan(data, at);
      else at = this.readHeader(data, at, tsNs);
    }
  }

  /** Whether the reader stands between two messages, in sync: the next byte starts a message. */
  get betweenMessages(): boolean {
    return !this.stopped && !this.scanning && this.remaining < 0 && this.headerFill === 0;
  }

  /** `length` bytes are missing: skipped inside a body of known length, otherwise boundaries are lost. */
  onGap(length: number, tsNs: number): void {
    if (this.stopped || this.scanning) return;
    if (this.remaining >= 0) {
      const within = length <= this.remaining;
      this.remaining -= Math.min(length, this.remaining);
      // Kept bytes after the hole would not line up with the fields before it: the prefix is all there is.
      this.keepLimit = this.keptFill;
      if (this.remaining === 0) this.finishBody(tsNs);
      if (within) return;
    }
    this.loseSync(false);
  }

  private readHeader(data: Buffer, at: number, tsNs: number): number {
    if (this.headerFill === 0) {
      const first = data[at]!;
      if (this.untyped && first === TLS_HANDSHAKE) {
        this.stop();
        this.sink.tlsStarted();
        return data.length;
      }
      // The server writes a bare answer alone and waits for the client: it is a whole chunk of one byte.
      if (this.bareAnswers && data.length === 1 && isBareAnswer(first)) {
        this.sink.encryptionAnswer(first, tsNs);
        return at + 1;
      }
      // A startup-phase length begins with a zero byte, a tag never does: the startup was simply not seen.
      if (this.untyped && this.rules.isTag(first)) this.untyped = false;
      this.startNs = tsNs;
    }
    const size = this.untyped ? 8 : 5;
    let header = data;
    let offset = at;
    let next = at + size;
    if (this.headerFill > 0 || data.length - at < size) {
      const take = Math.min(size - this.headerFill, data.length - at);
      data.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      if (this.headerFill < size) return at + take;
      this.headerFill = 0;
      header = this.header;
      offset = 0;
      next = at + take;
    }
    const started = this.untyped
      ? this.startUntyped(header.readUInt32BE(offset), header.readUInt32BE(offset + 4))
      : this.startTyped(header[offset]!, header.readUInt32BE(offset + 1));
    if (!started) {
      this.loseSync(true);
      // Rescan from the byte after the bad header's first one (or from this chunk's start when it began before).
      return header === data ? at + 1 : at;
    }
    return this.remaining <= data.length - next
      ? this.readWholeBody(data, next, tsNs)
      : this.beginSpanningBody(data, next, tsNs);
  }

  private startTyped(tag: number, length: number): boolean {
    if (!this.rules.accepts(tag, length, MAX_LENGTH)) return false;
    this.bareAnswers = false;
    this.tag = tag;
    this.length = length - 4;
    this.remaining = this.length;
    return true;
  }

  private startUntyped(length: number, code: number): boolean {
    if (!isStartupHeader(length, code)) return false;
    // After SSLRequest/GSSENCRequest refused, the frontend sends another startup-phase message.
    this.untyped = code === StartupCode.SslRequest || code === StartupCode.GssEncRequest;
    this.tag = UNTYPED;
    this.untypedCode = code;
    this.length = length - 8;
    this.remaining = this.length;
    return true;
  }

  /** The common case: the body lies in this chunk, and a kept one is handed over as a view without copying. */
  private readWholeBody(data: Buffer, at: number, tsNs: number): number {
    const end = at + this.remaining;
    const keep = this.keepable();
    this.remaining = -1;
    if (this.tag === UNTYPED) {
      this.sink.startupPacket(this.untypedCode, this.startNs, tsNs);
    } else {
      if (keep < this.length && this.rules.keeps(this.tag)) this.counters.pgsqlCutMessages++;
      this.sink.message(
        this.tag,
        keep > 0 ? data.subarray(at, at + keep) : EMPTY,
        this.length,
        this.startNs,
        tsNs,
      );
    }
    return end;
  }

  private beginSpanningBody(data: Buffer, at: number, tsNs: number): number {
    this.keepLimit = this.keepable();
    this.keptFill = 0;
    // Copied: the chunk is a view into a capture batch that must not be kept alive.
    this.kept = this.keepLimit > 0 ? Buffer.allocUnsafe(this.keepLimit) : undefined;
    return this.readBody(data, at, tsNs);
  }

  private readBody(data: Buffer, at: number, tsNs: number): number {
    const take = Math.min(this.remaining, data.length - at);
    const copy = Math.min(take, this.keepLimit - this.keptFill);
    if (copy > 0 && this.kept !== undefined) {
      data.copy(this.kept, this.keptFill, at, at + copy);
      this.keptFill += copy;
    }
    this.remaining -= take;
    if (this.remaining === 0) this.finishBody(tsNs);
    return at + take;
  }

  private finishBody(tsNs: number): void {
    this.remaining = -1;
    if (this.tag === UNTYPED) {
      this.sink.startupPacket(this.untypedCode, this.startNs, tsNs);
      return;
    }
    const kept = this.kept;
    this.kept = undefined;
    const body = kept === undefined ? EMPTY : kept.subarray(0, this.keptFill);
    if (this.rules.keeps(this.tag) && body.length < this.length) this.counters.pgsqlCutMessages++;
    this.sink.message(this.tag, body, this.length, this.startNs, tsNs);
  }

  private keepable(): number {
    return this.tag !== UNTYPED && this.rules.keeps(this.tag) ? Math.min(this.length, this.maxKeptBytes) : 0;
  }

  private loseSync(garbage: boolean): void {
    this.remaining = -1;
    this.headerFill = 0;
    this.kept = undefined;
    this.untyped = false;
    this.bareAnswers = false;
    this.scanning = true;
    this.sink.lost(garbage);
  }

  /**
   * Looks for a plausible message start: a run of valid headers, or (frontend) a startup-phase message, as when a
   * connection accepted by the postmaster is first seen in the backend process it forked.
   */
  private scan(data: Buffer, at: number): number {
    for (let i = at; i < data.length; i++) {
      const startup = this.side === 'frontend' && isStartupPacketAt(data, i);
      if (startup || (this.rules.isTag(data[i]!) && isPlausibleRun(data, i, this.rules))) {
        this.counters.pgsqlSkippedBytes += i - at;
        this.scanning = false;
        this.untyped = startup;
        return i;
      }
    }
    this.counters.pgsqlSkippedBytes += data.length - at;
    return data.length;
  }
}

function isBareAnswer(byte: number): boolean {
  return (
    byte === EncryptionAnswer.Refused ||
    byte === EncryptionAnswer.Accepted ||
    byte === EncryptionAnswer.GssAccepted
  );
}

/** A NUL-terminated string of a body. `next` is the offset after its NUL; `cut` says the text is not whole. */
export interface CString {
  text: string;
  next: number;
  cut: boolean;
}

/** Reads a string of at most `maxBytes` (cut there, or where the kept body ends without its NUL). */
export function readCString(body: Buffer, at: number, maxBytes: number): CString {
  const nul = at < body.length ? body.indexOf(0, at) : -1;
  const end = nul < 0 ? body.length : nul;
  const stop = Math.min(end, at + maxBytes);
  return {
    text: body.toString('utf8', Math.min(at, stop), stop),
    next: nul < 0 ? body.length : nul + 1,
    cut: nul < 0 || stop < end,
  };
}

export interface ParameterValues {
  values: string[];
  /** Values cut at `maxParamBytes`, or dropped (past `maxParams`, or beyond the kept body). */
  truncated: number;
}

/**
 * Parameter values as Bind and FunctionCall carry them: format codes (none: all text; one: for all; else one per
 * value), then length-prefixed values. Text values as strings, binary ones hex-encoded as '\x…', NULL as 'NULL'.
 */
export function readParameters(
  body: Buffer,
  at: number,
  maxParams: number,
  maxParamBytes: number,
): ParameterValues {
  const values: string[] = [];
  if (at + 2 > body.length) return { values, truncated: 0 };
  const formatCount = body.readUInt16BE(at);
  const formatsAt = at + 2;
  let pos = formatsAt + 2 * formatCount;
  if (pos + 2 > body.length) return { values, truncated: 1 };
  const count = body.readUInt16BE(pos);
  pos += 2;
  let truncated = 0;
  for (let i = 0; i < count; i++) {
    if (i >= maxParams || pos + 4 > body.length) {
      truncated += count - i;
      break;
    }
    const length = body.readInt32BE(pos);
    pos += 4;
    if (length < 0) {
      values.push('NULL');
      continue;
    }
    const formatIndex = formatCount === 1 ? 0 : i;
    const binary = formatIndex < formatCount && body.readUInt16BE(formatsAt + 2 * formatIndex) === 1;
    const kept = Math.min(length, maxParamBytes, body.length - pos);
    let text = binary
      ? `\\x${body.toString('hex', pos, pos + kept)}`
      : body.toString('utf8', pos, pos + kept);
    if (kept < length) {
      text += '…';
      truncated++;
    }
    values.push(text);
    pos += length;
  }
  return { values, truncated };
}

const FIELD_SEVERITY = 0x56; // V: not localised, since PostgreSQL 9.6
const FIELD_LOCALIZED_SEVERITY = 0x53; // S
const FIELD_CODE = 0x43; // C: SQLSTATE
const FIELD_MESSAGE = 0x4d; // M

/** ErrorResponse as 'SEVERITY SQLSTATE: message' (e.g. 'ERROR 23505: duplicate key value violates ...'). */
export function describeError(body: Buffer, maxMessageBytes: number): string {
  let severity = '';
  let localized = '';
  let code = '';
  let message = '';
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const field = body[at]!;
    if (field === FIELD_MESSAGE) {
      const value = readCString(body, at + 1, maxMessageBytes);
      message = value.cut ? `${value.text}…` : value.text;
      at = value.next;
    } else if (field === FIELD_SEVERITY || field === FIELD_LOCALIZED_SEVERITY || field === FIELD_CODE) {
      const value = readCString(body, at + 1, 64);
      if (field === FIELD_SEVERITY) severity = value.text;
      else if (field === FIELD_LOCALIZED_SEVERITY) localized = value.text;
      else code = value.text;
      at = value.next;
    } else {
      const nul = body.indexOf(0, at + 1);
      at = nul < 0 ? body.length : nul + 1;
    }
  }
  return `${severity || localized || 'ERROR'} ${code || '?????'}: ${message}`;
}
