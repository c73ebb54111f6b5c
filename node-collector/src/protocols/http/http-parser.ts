/**
 * Incremental HTTP/1.x parser for one direction of a connection (requests on one, responses on the other).
 *
 * It is fed contiguous bytes and explicit gaps (see conn/byte-stream.ts) and emits one HttpMessage per
 * complete message. Every buffer it keeps is bounded: the partial line (by the header budget), the stored
 * body (by the body cap) and decoded output (by a multiple of the body cap). Input it cannot make sense of
 * is counted, the message at hand is dropped, and the parser scans forward for the next plausible start
 * line instead of buffering or throwing.
 */

import zlib from 'node:zlib';
import { MAX_CACHED_HEAD_BYTES, type HeadCache } from './head-cache.js';
import { hashNameByte, NAME_HASH_SEED, wellKnownName } from './header-names.js';
import { internedText } from './interned-text.js';
import { REDACTED, type HeaderRedactor } from './redact.js';

export type HttpMessageKind = 'request' | 'response';

export interface HttpMessage {
  readonly kind: HttpMessageKind;
  /** '1.0' or '1.1', from the start line. */
  readonly version: string;
  /** Request method and target; empty on responses. */
  readonly method: string;
  readonly path: string;
  /** Response status and reason phrase; 0 and empty on requests. */
  readonly status: number;
  readonly reason: string;
  /**
   * Lower-cased names, repeated headers joined with ", ", sensitive values redacted, chunked trailers
   * included. Nothing is inherited (see `HEADER_FIELDS`), so a header named `__proto__` is just a header.
   */
  readonly headers: Record<string, string>;
  /** De-chunked, decoded when gzip/deflate/br, cut at the body cap, as UTF-8 text. */
  readonly body: string;
  /** Body bytes as transferred (de-chunked, still encoded), including bytes lost in gaps. */
  readonly bodySize: number;
  /** `body` is not the whole body: cut at the cap, bytes lost in a gap, or the message ended early. */
  readonly bodyTruncated: boolean;
  /** Monotonic times of the chunks that carried the first and the last byte of the message. */
  readonly startNs: number;
  readonly endNs: number;
}

export interface HttpParserOptions {
  /** Start line, headers and trailers of one message; beyond this the message is a parse error. */
  readonly maxHeaderBytes: number;
  /** Body bytes kept for storage (after decoding); the true size is still counted. */
  readonly maxBodyBytes: number;
  readonly redactor: HeaderRedactor;
  /** Heads parsed before, shared by the parsers of one configuration (the redactor decides their headers). */
  readonly headCache?: HeadCache;
}

export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
export const DEFAULT_MAX_BODY_BYTES = 8192;

/** Shared by all parsers of a tracker. */
export interface HttpParserCounters {
  /** Bytes that could not be HTTP where a message was expected (each one resets the stream). */
  parseErrors: number;
  /** Parse errors caused by a message head longer than maxHeaderBytes, dropped without being buffered. */
  headerOverflows: number;
  /** Times a parser lost message boundaries (parse error or gap) and scanned for the next start line. */
  resyncs: number;
  /** Messages whose stored body is not the whole body. */
  truncatedBodies: number;
  /** Bodies in a content-encoding that could not be decoded (corrupt or unsupported), stored empty. */
  bodyDecodeErrors: number;
}

export function newHttpParserCounters(): HttpParserCounters {
  return { parseErrors: 0, headerOverflows: 0, resyncs: 0, truncatedBodies: 0, bodyDecodeErrors: 0 };
}

export interface HttpParserSink {
  onMessage(message: HttpMessage): void;
  /** Bytes were lost or unparseable where messages could have been: some messages may be missing. */
  onDesync(): void;
  /** Method of the request the response being parsed answers, if known: HEAD and CONNECT change framing. */
  requestMethod(): string | undefined;
  /** A response (already delivered) switched the connection away from HTTP: 101, or 2xx to CONNECT. */
  onProtocolSwitch(): void;
}

type State =
  | 'start'
  | 'headers'
  | 'body'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end'
  | 'trailers'
  | 'until-close'
  | 'opaque';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** While resynchronising, longer lines are not start lines worth waiting for: they are skipped unbuffered. */
const MAX_RESYNC_LINE_BYTES = 8 * 1024;
/** Chunk size with extensions; real ones are a few bytes. */
const MAX_CHUNK_SIZE_LINE_BYTES = 1024;
/** The CRLF that ends chunk data. */
const CHUNK_END_LINE_BYTES = 2;
/** A line buffer grown by one long head is released after its message rather than kept per connection. */
const MAX_RETAINED_LINE_BUFFER = 4 * 1024;
const EMPTY = Buffer.alloc(0);
/** The end of a head: the last header line's CRLF, then the empty line's. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const STATUS_LINE_PREFIX = Buffer.from('HTTP/1.', 'latin1');
/** Methods recognised where a request may start without a line break before it (resync, role sniffing). */
export const KNOWN_METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
];
const METHODS = KNOWN_METHODS.map((method) => Buffer.from(method, 'latin1'));

/** Value of each hex digit byte, 0xff for the others. */
const HEX_DIGITS = new Uint8Array(256).fill(0xff);
for (let digit = 0; digit < 16; digit++) {
  HEX_DIGITS[digit.toString(16).charCodeAt(0)] = digit;
  HEX_DIGITS[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;
}

/** RFC 9110 tchar: the bytes a header name may contain. */
const TOKEN_BYTES = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_BYTES[c.charCodeAt(0)] = 1;
}

/**
 * The prototype of every headers object: empty and itself without a prototype, so that nothing is inherited and a
 * header named `__proto__` or `constructor` is plain data. Unlike `Object.create(null)`, whose objects V8 keeps
 * as dictionaries, objects made from it stay in fast mode: about 3x cheaper to fill and a third cheaper for the
 * store's `JSON.stringify`.
 */
const HEADER_FIELDS: object = Object.create(null) as object;

/** A headers object as the parser makes them, holding `fields`. */
export function headerFields(fields: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.assign(Object.create(HEADER_FIELDS) as Record<string, string>, fields);
}

/** A message being assembled. */
class Draft {
  headers = headerFields();
  /** Raw framing header values, kept apart from `headers` so that redaction can never change framing. */
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer | undefined;
  kept = 0;
  size = 0;
  truncated = false;
  /** After a gap nothing more is kept, so the stored body stays a contiguous prefix. */
  keeping = true;

  constructor(
    readonly version: string,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly startNs: number,
    public endNs: number,
  ) {}
}

export class HttpParser {
  private state: State = 'start';
  /** Looking for a start line after lost or bad bytes: lines that are not one are skipped uncounted. */
  private desynced: boolean;
  private lineBuf: Buffer | undefined;
  /** Bytes of a line that started in an earlier chunk, held in lineBuf. */
  private lineLen = 0;
  private lineStartNs = 0;
  /** The line takeLine last found: bytes [lineStart, lineEnd) of lineSource, and its raw length. */
  private lineSource: Buffer = EMPTY;
  private lineStart = 0;
  private lineEnd = 0;
  private lineBytes = 0;
  /** The current line was given up on (too long); bytes up to its LF are ignored. */
  private skippingLine = false;
  /** Offset just past what takeLine consumed. */
  private cursor = 0;
  private headBytes = 0;
  private draft: Draft | undefined;
  /**
   * The raw header lines of the head being parsed, when it is to be cached once parsed: bytes [from, headKeyEnd)
   * of headKeySource, where the first CRLF CRLF after the start line ends. The head is cached only if parsing
   * line by line ends it there too (a bare-LF empty line may end it sooner).
   */
  private headKey: string | undefined;
  private headKeySource: Buffer = EMPTY;
  private headKeyEnd = 0;
  /** Body or chunk bytes still expected. */
  private remaining = 0;

  /** @param inSync false when the stream may begin mid-message: bytes before a first message are no error. */
  constructor(
    readonly kind: HttpMessageKind,
    private readonly sink: HttpParserSink,
    private readonly counters: HttpParserCounters,
    private readonly options: HttpParserOptions,
    inSync = true,
  ) {
    this.desynced = !inSync;
  }

  onData(data: Buffer, tsNs: number): void {
    let off = 0;
    while (off < data.length) {
      if (this.draft !== undefined) this.draft.endNs = tsNs;
      switch (this.state) {
        case 'start':
          off = this.readStartLine(data, off, tsNs);
          break;
        case 'headers':
        case 'trailers':
          off = this.readHeaderLine(data, off, tsNs);
          break;
        case 'chunk-size':
          off = this.readChunkSize(data, off, tsNs);
          break;
        case 'chunk-end':
          off = this.readChunkEnd(data, off, tsNs);
          break;
        case 'body':
        case 'chunk-data':
        case 'until-close':
          off = this.readBody(data, off);
          break;
        case 'opaque':
          return;
      }
    }
  }

  /** Whether the parser stands between two messages, in sync: the next byte starts a message. */
  get betweenMessages(): boolean {
    return this.state === 'start' && this.lineLen === 0 && !this.desynced && this.draft === undefined;
  }

  /** The next `length` bytes of the stream are missing. */
  onGap(length: number, tsNs: number): void {
    if (length <= 0 || this.state === 'opaque') return;
    // Whatever line was in progress cannot be completed; the bytes after the gap start afresh.
    this.lineLen = 0;
    this.skippingLine = false;
    const draft = this.draft;
    if (draft !== undefined) draft.endNs = tsNs;
    switch (this.state) {
      case 'start':
        if (!this.desynced) this.desync();
        return;
      case 'headers':
        this.desync();
        return;
      case 'until-close':
        this.skipBody(draft!, length);
        return;
      case 'body': {
        const skipped = Math.min(length, this.remaining);
        this.skipBody(draft!, skipped);
        this.remaining -= skipped;
        if (this.remaining > 0) return;
        this.complete();
        if (length > skipped) this.onGap(length - skipped, tsNs);
        return;
      }
      case 'chunk-data':
        if (length <= this.remaining) {
          this.skipBody(draft!, length);
          this.remaining -= length;
          if (this.remaining === 0) this.state = 'chunk-end';
          return;
        }
        this.skipBody(draft!, this.remaining);
        break;
      case 'chunk-size':
      case 'chunk-end':
        draft!.truncated = true;
        break;
      case 'trailers':
        // The body is whole; only trailers may be missing.
        break;
    }
    // The gap swallowed chunk framing: the message ends here, and where the next one starts is unknown.
    this.complete();
    this.desync();
  }

  /**
   * No more bytes will come. A response delimited by the close is complete when `closed`; any other message
   * whose head was parsed is delivered as truncated. The parser ignores input afterwards.
   */
  end(closed: boolean): void {
    const draft = this.draft;
    if (draft !== undefined && this.state !== 'headers') {
      const bodyWhole = this.state === 'trailers' || (this.state === 'until-close' && closed);
      if (!bodyWhole) draft.truncated = true;
      this.complete();
    }
    this.stop();
  }

  /** Ignore all further input: the connection no longer speaks HTTP (an upgrade or a tunnel). */
  stop(): void {
    this.reset();
    this.lineLen = 0;
    this.state = 'opaque';
  }

  private readStartLine(data: Buffer, off: number, tsNs: number): number {
    const limit = this.desynced
      ? Math.min(MAX_RESYNC_LINE_BYTES, this.options.maxHeaderBytes)
      : this.options.maxHeaderBytes;
    const found = this.takeLine(data, off, limit, tsNs);
    // Empty lines between messages are tolerated (RFC 9112 2.2).
    if (found === 'line' && this.lineEnd > this.lineStart) {
      const { lineSource: line, lineStart: start, lineEnd: end } = this;
      if (!this.begin(line, start, end, tsNs)) {
        if (!this.desynced) this.fail();
        // After lost or miscounted bytes, the next message often starts right where a body ended: mid-line.
        const embedded = this.embeddedStart(line, start, end);
        if (embedded < 0 || !this.begin(line, embedded, end, tsNs)) return this.cursor;
      }
      this.desynced = false;
      this.headBytes = this.lineBytes;
      this.state = 'headers';
      if (this.options.headCache !== undefined && line === data) this.takeCachedHead(data);
    } else if (found === 'too-long' && !this.desynced) {
      this.overflow();
    }
    return this.cursor;
  }

  /**
   * Takes the head's header lines from the cache when they are all in this chunk and were seen before; otherwise
   * remembers them, so that the head is cached once parsed line by line.
   */
  private takeCachedHead(data: Buffer): void {
    const cache = this.options.headCache!;
    if (!cache.worthLookingUp(this.kind)) return;
    const from = this.cursor;
    // From the start line's CRLF: a head without header lines ends right after it.
    const at = data.indexOf(HEAD_END, from - 2);
    const end = at + HEAD_END.length;
    if (
      at < 0 ||
      end - from > MAX_CACHED_HEAD_BYTES ||
      this.headBytes + end - from > this.options.maxHeaderBytes
    ) {
      return;
    }
    const cached = cache.find(data, from, end, this.kind);
    if (typeof cached === 'string') {
      this.headKey = cached;
      this.headKeySource = data;
      this.headKeyEnd = end;
      return;
    }
    const draft = this.draft!;
    draft.headers = cached.headers;
    draft.contentLength = cached.contentLength;
    draft.contentEncoding = cached.contentEncoding;
    this.headBytes += end - from;
    this.cursor = end;
    this.endOfHead();
  }

  /** Offset of a start line that begins after `start` inside the line, or -1. */
  private embeddedStart(line: Buffer, start: number, end: number): number {
    if (this.kind === 'response') {
      const at = line.subarray(start + 1, end).indexOf(STATUS_LINE_PREFIX);
      return at < 0 ? -1 : start + 1 + at;
    }
    const targetEnd = lastIndexIn(line, SP, start, end);
    if (!isHttp1Version(line, targetEnd + 1, end)) return -1;
    // Bytes before the method may contain spaces, the target may not.
    const methodEnd = lastIndexIn(line, SP, start, targetEnd);
    for (const method of METHODS) {
      const at = methodEnd - method.length;
      if (at > start && line.compare(method, 0, method.length, at, methodEnd) === 0) return at;
    }
    return -1;
  }

  private readHeaderLine(data: Buffer, off: number, tsNs: number): number {
    const found = this.takeLine(data, off, this.options.maxHeaderBytes - this.headBytes, tsNs);
    if (found === 'line') {
      this.headBytes += this.lineBytes;
      if (this.lineEnd > this.lineStart) {
        if (!this.addHeader(this.draft!, this.lineSource, this.lineStart, this.lineEnd)) this.fail();
      } else if (this.state === 'headers') {
        this.cacheHead();
        this.endOfHead();
      } else {
        this.complete();
      }
    } else if (found === 'too-long') {
      this.overflow();
    }
    return this.cursor;
  }

  private readChunkSize(data: Buffer, off: number, tsNs: number): number {
    const found = this.takeLine(data, off, MAX_CHUNK_SIZE_LINE_BYTES, tsNs);
    if (found === 'line') {
      const size = parseChunkSize(this.lineSource, this.lineStart, this.lineEnd);
      if (size === undefined) {
        this.fail();
      } else if (size === 0) {
        this.state = 'trailers';
      } else {
        this.remaining = size;
        this.state = 'chunk-data';
      }
    } else if (found === 'too-long') {
      this.fail();
    }
    return this.cursor;
  }

  private readChunkEnd(data: Buffer, off: number, tsNs: number): number {
    const found = this.takeLine(data, off, CHUNK_END_LINE_BYTES, tsNs);
    if (found === 'too-long' || (found === 'line' && this.lineEnd > this.lineStart)) this.fail();
    else if (found === 'line') this.state = 'chunk-size';
    return this.cursor;
  }

  private readBody(data: Buffer, off: number): number {
    const draft = this.draft!;
    const available = data.length - off;
    const taken = this.state === 'until-close' ? available : Math.min(this.remaining, available);
    this.keepBody(draft, data, off, off + taken);
    draft.size += taken;
    if (this.state !== 'until-close') {
      this.remaining -= taken;
      if (this.remaining === 0) {
        if (this.state === 'body') this.complete();
        else this.state = 'chunk-end';
      }
    }
    return off + taken;
  }

  /**
   * Reads the line at `off`, joined with the part held from earlier chunks, and sets `cursor` past what it
   * consumed. 'line': the line, without its ending, is bytes [lineStart, lineEnd) of lineSource (valid until
   * the next call). 'partial': it goes on past this chunk and its start is held, or it was being skipped.
   * 'too-long': it exceeds `limit` raw bytes, and is skipped up to its end instead of being buffered.
   */
  private takeLine(data: Buffer, off: number, limit: number, tsNs: number): 'line' | 'partial' | 'too-long' {
    const lf = data.indexOf(LF, off);
    if (this.skippingLine) {
      this.skippingLine = lf < 0;
      this.cursor = lf < 0 ? data.length : lf + 1;
      return 'partial';
    }
    if (this.lineLen === 0) this.lineStartNs = tsNs;
    const end = lf < 0 ? data.length : lf + 1;
    const raw = this.lineLen + end - off;
    this.cursor = end;
    if (raw > limit) {
      this.lineLen = 0;
      this.skippingLine = lf < 0;
      return 'too-long';
    }
    if (lf < 0) {
      this.holdLinePart(data, off, end);
      return 'partial';
    }
    this.lineBytes = raw;
    if (this.lineLen === 0) {
      this.lineSource = data;
      this.lineStart = off;
      this.lineEnd = lf;
    } else {
      this.holdLinePart(data, off, lf);
      this.lineSource = this.lineBuf!;
      this.lineStart = 0;
      this.lineEnd = this.lineLen;
      this.lineLen = 0;
    }
    if (this.lineEnd > this.lineStart && this.lineSource[this.lineEnd - 1] === CR) this.lineEnd--;
    return 'line';
  }

  private holdLinePart(data: Buffer, from: number, to: number): void {
    const needed = this.lineLen + to - from;
    const held = this.lineBuf;
    if (held === undefined || held.length < needed) {
      const grown = Buffer.allocUnsafe(
        Math.max(needed, Math.min((held?.length ?? 0) * 2, this.options.maxHeaderBytes), 256),
      );
      if (held !== undefined) held.copy(grown, 0, 0, this.lineLen);
      this.lineBuf = grown;
    }
    data.copy(this.lineBuf!, this.lineLen, from, to);
    this.lineLen = needed;
  }

  private begin(line: Buffer, start: number, end: number, tsNs: number): boolean {
    return this.kind === 'request'
      ? this.beginRequest(line, start, end, tsNs)
      : this.beginResponse(line, start, end, tsNs);
  }

  /** `METHOD SP target SP HTTP/1.x` */
  private beginRequest(line: Buffer, start: number, end: number, tsNs: number): boolean {
    const methodEnd = indexIn(line, SP, start, end);
    const targetEnd = lastIndexIn(line, SP, start, end);
    if (methodEnd <= start || targetEnd <= methodEnd + 1 || !isHttp1Version(line, targetEnd + 1, end)) {
      return false;
    }
    for (let i = start; i < methodEnd; i++) {
      const c = line[i]!;
      if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return false;
    }
    this.draft = new Draft(
      versionAt(line, targetEnd + 1),
      internedText(line, start, methodEnd),
      line.toString('utf8', methodEnd + 1, targetEnd),
      0,
      '',
      this.lineStartNs,
      tsNs,
    );
    return true;
  }

  /** `HTTP/1.x SP 3DIGIT [SP reason]` */
  private beginResponse(line: Buffer, start: number, end: number, tsNs: number): boolean {
    const length = end - start;
    if (length < 12 || !isHttp1Version(line, start, start + 8) || line[start + 8] !== SP) return false;
    if (length > 12 && line[start + 12] !== SP) return false;
    const hundreds = line[start + 9]! - 0x30;
    const tens = line[start + 10]! - 0x30;
    const units = line[start + 11]! - 0x30;
    if (hundreds < 1 || hundreds > 5 || tens < 0 || tens > 9 || units < 0 || units > 9) return false;
    this.draft = new Draft(
      versionAt(line, start),
      '',
      '',
      hundreds * 100 + tens * 10 + units,
      length > 13 ? internedText(line, start + 13, end) : '',
      this.lineStartNs,
      tsNs,
    );
    return true;
  }

  private addHeader(draft: Draft, line: Buffer, start: number, end: number): boolean {
    // Only token bytes before the colon: this also rejects whitespace before it and obsolete line folding
    // (RFC 9112 5.1, 5.2).
    let colon = start;
    let hash = NAME_HASH_SEED;
    while (colon < end && line[colon] !== COLON) {
      const byte = line[colon]!;
      if (TOKEN_BYTES[byte] === 0) return false;
      hash = hashNameByte(hash, byte);
      colon++;
    }
    if (colon === start || colon === end) return false;
    const name =
      wellKnownName(line, start, colon, hash) ?? line.toString('latin1', start, colon).toLowerCase();
    let valueStart = colon + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && (line[valueStart] === SP || line[valueStart] === HT)) valueStart++;
    while (valueEnd > valueStart && (line[valueEnd - 1] === SP || line[valueEnd - 1] === HT)) valueEnd--;
    const framing = this.state === 'headers' && isFramingName(name);
    if (this.options.redactor.isSensitive(name)) {
      // The value is not decoded just to be replaced, unless framing needs it.
      if (framing) noteFraming(draft, name, internedText(line, valueStart, valueEnd));
      draft.headers[name] = REDACTED;
      return true;
    }
    const value = internedText(line, valueStart, valueEnd);
    if (framing) noteFraming(draft, name, value);
    draft.headers[name] = joinValues(draft.headers[name], value);
    return true;
  }

  /** Caches the head just parsed line by line, unless trailers may still add to its headers. */
  private cacheHead(): void {
    const key = this.headKey;
    const draft = this.draft!;
    this.headKey = undefined;
    const endsThere = this.lineSource === this.headKeySource && this.cursor === this.headKeyEnd;
    this.headKeySource = EMPTY;
    if (key === undefined || !endsThere || draft.transferEncoding !== undefined) return;
    this.options.headCache!.set(
      key,
      { headers: draft.headers, contentLength: draft.contentLength, contentEncoding: draft.contentEncoding },
      this.kind,
    );
  }

  /** Decides how the body is delimited (RFC 9112 6.3). */
  private endOfHead(): void {
    const draft = this.draft!;
    if (this.kind === 'response') {
      const status = draft.status;
      if (status < 200 && status !== 101) {
        // Interim response (100 Continue, 103 Early Hints): the final response follows on the same request.
        this.reset();
        return;
      }
      const method = this.sink.requestMethod();
      if (status === 101 || (method === 'CONNECT' && status < 300)) {
        this.complete();
        this.state = 'opaque';
        this.sink.onProtocolSwitch();
        return;
      }
      if (method === 'HEAD' || status === 204 || status === 304) {
        this.complete();
        return;
      }
    }
    if (draft.transferEncoding !== undefined) {
      if (isChunked(draft.transferEncoding)) this.state = 'chunk-size';
      else if (this.kind === 'response') this.state = 'until-close';
      // A request body of unknown length cannot be delimited.
      else this.fail();
      return;
    }
    if (draft.contentLength !== undefined) {
      const length = parseContentLength(draft.contentLength);
      if (length === undefined) {
        this.fail();
      } else if (length === 0) {
        this.complete();
      } else {
        this.remaining = length;
        this.state = 'body';
      }
      return;
    }
    if (this.kind === 'request') this.complete();
    else this.state = 'until-close';
  }

  private keepBody(draft: Draft, data: Buffer, from: number, to: number): void {
    if (!draft.keeping) return;
    const kept = Math.min(this.options.maxBodyBytes - draft.kept, to - from);
    if (kept < to - from) draft.truncated = true;
    if (kept <= 0) return;
    const needed = draft.kept + kept;
    const held = draft.body;
    if (held === undefined && this.state === 'body' && to - from === this.remaining) {
      // The whole body is in this chunk and the message completes within this call: a view of the chunk will do.
      draft.body = data.subarray(from, from + kept);
      draft.kept = kept;
      return;
    }
    if (held === undefined || held.length < needed) {
      // Size for the whole body when it is known, else grow by doubling: both bounded by the cap.
      const expected = this.state === 'body' ? draft.kept + this.remaining : (held?.length ?? 512) * 2;
      const grown = Buffer.allocUnsafe(Math.min(this.options.maxBodyBytes, Math.max(needed, expected)));
      if (held !== undefined) held.copy(grown, 0, 0, draft.kept);
      draft.body = grown;
    }
    data.copy(draft.body!, draft.kept, from, from + kept);
    draft.kept = needed;
  }

  private skipBody(draft: Draft, length: number): void {
    draft.size += length;
    draft.truncated = true;
    draft.keeping = false;
  }

  private complete(): void {
    const draft = this.draft!;
    this.reset();
    let body =
      draft.body === undefined
        ? EMPTY
        : draft.body.length === draft.kept
          ? draft.body
          : draft.body.subarray(0, draft.kept);
    let truncated = draft.truncated;
    const encoding = draft.contentEncoding?.trim().toLowerCase() ?? '';
    if (body.length > 0 && encoding !== '' && encoding !== 'identity') {
      const decoded = decodeBody(body, encoding, this.options.maxBodyBytes);
      if (decoded === undefined) this.counters.bodyDecodeErrors++;
      body = decoded ?? EMPTY;
      if (body.length > this.options.maxBodyBytes) {
        body = body.subarray(0, this.options.maxBodyBytes);
        truncated = true;
      }
    }
    if (truncated) this.counters.truncatedBodies++;
    this.sink.onMessage({
      kind: this.kind,
      version: draft.version,
      method: draft.method,
      path: draft.path,
      status: draft.status,
      reason: draft.reason,
      headers: draft.headers,
      body: body.toString('utf8'),
      bodySize: draft.size,
      bodyTruncated: truncated,
      startNs: draft.startNs,
      endNs: draft.endNs,
    });
  }

  private reset(): void {
    this.draft = undefined;
    this.headKey = undefined;
    this.headKeySource = EMPTY;
    this.state = 'start';
    this.headBytes = 0;
    this.remaining = 0;
    if (this.lineBuf !== undefined && this.lineBuf.length > MAX_RETAINED_LINE_BUFFER)
      this.lineBuf = undefined;
  }

  private overflow(): void {
    this.counters.headerOverflows++;
    this.fail();
  }

  private fail(): void {
    this.counters.parseErrors++;
    this.desync();
  }

  /** Drops the message at hand and scans for the next start line. */
  private desync(): void {
    this.reset();
    this.lineLen = 0;
    this.desynced = true;
    this.counters.resyncs++;
    this.sink.onDesync();
  }
}

function isHttp1Version(line: Buffer, from: number, to: number): boolean {
  return (
    to - from === 8 &&
    line[from] === 0x48 && // H
    line[from + 1] === 0x54 && // T
    line[from + 2] === 0x54 && // T
    line[from + 3] === 0x50 && // P
    line[from + 4] === 0x2f && // /
    line[from + 5] === 0x31 && // 1
    line[from + 6] === 0x2e && // .
    (line[from + 7] === 0x30 || line[from + 7] === 0x31)
  );
}

function versionAt(line: Buffer, from: number): string {
  return line[from + 7] === 0x31 ? '1.1' : '1.0';
}

function joinValues(previous: string | undefined, value: string): string {
  return previous === undefined ? value : `${previous}, ${value}`;
}

/** The headers that delimit a message body, or say how to decode it. */
function isFramingName(lowerCaseName: string): boolean {
  return (
    lowerCaseName === 'content-length' ||
    lowerCaseName === 'transfer-encoding' ||
    lowerCaseName === 'content-encoding'
  );
}

function noteFraming(draft: Draft, lowerCaseName: string, value: string): void {
  if (lowerCaseName === 'content-length') draft.contentLength = joinValues(draft.contentLength, value);
  else if (lowerCaseName === 'transfer-encoding')
    draft.transferEncoding = joinValues(draft.transferEncoding, value);
  else draft.contentEncoding = joinValues(draft.contentEncoding, value);
}

const DECIMAL = /^[0-9]{1,15}$/;

/** Repeated or comma-joined Content-Length values are accepted only when they agree (RFC 9110 8.6). */
function parseContentLength(value: string): number | undefined {
  if (DECIMAL.test(value)) return Number(value);
  let length: number | undefined;
  for (const part of value.split(',')) {
    const digits = part.trim();
    if (!DECIMAL.test(digits)) return undefined;
    const parsed = Number(digits);
    if (length !== undefined && parsed !== length) return undefined;
    length = parsed;
  }
  return length;
}

function isChunked(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',');
  return codings[codings.length - 1]!.trim().toLowerCase() === 'chunked';
}

/** Hex size before any `;extension`; at most 13 hex digits so that it stays an exact number. */
function parseChunkSize(line: Buffer, start: number, end: number): number | undefined {
  let size = 0;
  let i = start;
  for (; i < end; i++) {
    const digit = HEX_DIGITS[line[i]!]!;
    if (digit === 0xff) break;
    size = size * 16 + digit;
  }
  if (i === start || i - start > 13) return undefined;
  while (i < end && (line[i] === SP || line[i] === HT)) i++;
  return i === end || line[i] === 0x3b ? size : undefined;
}

/** Bounded to the line, unlike Buffer#indexOf, so that scanning many short lines stays linear. */
function indexIn(line: Buffer, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (line[i] === byte) return i;
  return -1;
}

function lastIndexIn(line: Buffer, byte: number, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (line[i] === byte) return i;
  return -1;
}

/** Largest expansion deflate can produce, so decoding limit/1032 input bytes cannot exceed the limit. */
const MAX_DEFLATE_RATIO = 1032;
/** Decoded output allowed per body, as a multiple of the cap: enough for compressed text to fill the cap. */
const DECODE_LIMIT_FACTOR = 64;

type Decoder = (input: Buffer, maxOutputLength: number) => Buffer;

// Stored bodies are often cut short: decoders flush what they have instead of requiring the stream's end.
const gunzip: Decoder = (input, maxOutputLength) =>
  zlib.gunzipSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength });

const inflate: Decoder = (input, maxOutputLength) => {
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength };
  try {
    return zlib.inflateSync(input, options);
  } catch (error) {
    if (error instanceof RangeError) throw error;
    // "deflate" should be zlib-wrapped, but some servers send a raw deflate stream.
    return zlib.inflateRawSync(input, options);
  }
};

const unbrotli: Decoder = (input, maxOutputLength) =>
  zlib.brotliDecompressSync(input, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, maxOutputLength });

const DECODERS = new Map<string, Decoder>([
  ['gzip', gunzip],
  ['x-gzip', gunzip],
  ['deflate', inflate],
  ['br', unbrotli],
]);

/** Decodes a body, possibly cut, with bounded output; undefined when unsupported or corrupt. */
function decodeBody(encoded: Buffer, encoding: string, maxBodyBytes: number): Buffer | undefined {
  const decode = DECODERS.get(encoding);
  if (decode === undefined) return undefined;
  const limit = Math.max(maxBodyBytes * DECODE_LIMIT_FACTOR, 64 * 1024);
  try {
    return decode(encoded, limit);
  } catch (error) {
    if (!(error instanceof RangeError)) return undefined;
  }
  // A compression bomb: a prefix this short cannot expand past the limit (brotli still might: then give up).
  try {
    return decode(encoded.subarray(0, Math.floor(limit / MAX_DEFLATE_RATIO)), limit);
  } catch {
    return undefined;
  }
}
