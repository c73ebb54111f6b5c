/**
 * Cuts one direction of a PostgreSQL connection into messages. Typed messages are a tag byte and an int32 length
 * that counts itself; the frontend's first message (startup, SSLRequest, GSSENCRequest, CancelRequest) has no tag.
 * Bodies are kept up to a cap and the rest is skipped as it streams by, so a 100 MB result set costs no memory:
 * DataRow and CopyData bodies are never kept at all.
 */

export interface PgMessage {
  /** The tag character, or '' for an untyped startup-phase message. */
  tag: string;
  /** The body as kept (at most the cap); `length` is the real body length. */
  body: Buffer;
  length: number;
  startNs: number;
  endNs: number;
}

export interface PgFramerSink {
  onMessage(message: PgMessage): void;
  /** The stream could not be followed (garbage or lost bytes inside a header); the framer is resynchronising. */
  onDesync(): void;
}

/** Upper bound of a plausible message: PostgreSQL itself refuses messages over 1 GB, real ones are far smaller. */
const MAX_PLAUSIBLE_LENGTH = 256 * 1024 * 1024;
const STARTUP_CODES = new Set([196608, 80877103, 80877104, 80877102]);
/** Tags whose bodies are only counted: rows and COPY data. */
const UNKEPT_TAGS = new Set(['D', 'd']);

export const FRONTEND_TAGS = new Set(['Q', 'P', 'B', 'E', 'D', 'C', 'H', 'S', 'X', 'F', 'p', 'd', 'c', 'f']);
export const BACKEND_TAGS = new Set([
  'R',
  'S',
  'K',
  'Z',
  'T',
  'D',
  'C',
  'E',
  'N',
  'I',
  '1',
  '2',
  '3',
  'n',
  's',
  't',
  'G',
  'H',
  'W',
  'd',
  'c',
  'A',
  'v',
  'V',
]);

/** Does `buf` at `at` start with a startup-phase message (int32 length, int32 protocol or request code)? */
export function looksLikeStartup(buf: Buffer, at = 0): boolean {
  if (buf.length - at < 8) return false;
  const length = buf.readUInt32BE(at);
  return length >= 8 && length <= 10_000 && STARTUP_CODES.has(buf.readUInt32BE(at + 4));
}

export class PgFramer {
  /** Bytes of a header (tag + length, or an untyped length) waiting for the rest. */
  private header = Buffer.alloc(0);
  private body: Buffer[] = [];
  private bodyKept = 0;
  private bodyRemaining = 0;
  private current: PgMessage | undefined;
  private untypedNext: boolean;
  /** After an SSLRequest the server answers with one bare byte. */
  private bareByteNext = false;
  private inSync: boolean;

  constructor(
    private readonly tags: ReadonlySet<string>,
    private readonly sink: PgFramerSink,
    private readonly maxBodyBytes: number,
    options: { startup: boolean; inSync: boolean },
  ) {
    this.untypedNext = options.startup;
    this.inSync = options.inSync;
  }

  expectUntyped(): void {
    this.untypedNext = true;
  }

  expectBareByte(): void {
    this.bareByteNext = true;
  }

  onData(data: Buffer, tsNs: number): void {
    let at = 0;
    while (at < data.length) {
      if (this.current !== undefined) {
        at = this.consumeBody(data, at, tsNs);
      } else if (!this.inSync) {
        at = this.resync(data, at);
      } else if (this.bareByteNext) {
        this.bareByteNext = false;
        this.sink.onMessage({
          tag: String.fromCharCode(data[at] ?? 0),
          body: Buffer.alloc(0),
          length: 0,
          startNs: tsNs,
          endNs: tsNs,
        });
        at++;
      } else {
        at = this.consumeHeader(data, at, tsNs);
      }
    }
  }

  /** Bytes lost: skipped inside a body of known length, otherwise the framer has to find its feet again. */
  onGap(length: number, tsNs: number): void {
    if (this.current !== undefined && length <= this.bodyRemaining) {
      this.bodyRemaining -= length;
      if (this.bodyRemaining === 0) this.finishMessage(tsNs);
      return;
    }
    this.desync();
  }

  private consumeHeader(data: Buffer, at: number, tsNs: number): number {
    const size = this.untypedNext ? 4 : 5;
    let header: Buffer;
    let next: number;
    if (this.header.length === 0 && data.length - at >= size) {
      header = data.subarray(at, at + size); // the common case: the whole header in this chunk
      next = at + size;
    } else {
      const take = Math.min(size - this.header.length, data.length - at);
      this.header = Buffer.concat([this.header, data.subarray(at, at + take)]);
      if (this.header.length < size) return at + take;
      header = this.header;
      next = at + take;
      this.header = Buffer.alloc(0);
    }
    const untyped = this.untypedNext;
    const tag = untyped ? '' : String.fromCharCode(header[0] ?? 0);
    const length = header.readUInt32BE(untyped ? 0 : 1);
    if ((!untyped && !this.tags.has(tag)) || length < 4 || length > MAX_PLAUSIBLE_LENGTH) {
      this.desync();
      return next;
    }
    this.untypedNext = false;
    this.current = { tag, body: Buffer.alloc(0), length: length - 4, startNs: tsNs, endNs: tsNs };
    this.body = [];
    this.bodyKept = 0;
    this.bodyRemaining = length - 4;
    if (this.bodyRemaining === 0) this.finishMessage(tsNs);
    return next;
  }

  private consumeBody(data: Buffer, at: number, tsNs: number): number {
    const message = this.current;
    if (message === undefined) return at;
    const take = Math.min(this.bodyRemaining, data.length - at);
    const keep = UNKEPT_TAGS.has(message.tag) ? 0 : Math.min(take, this.maxBodyBytes - this.bodyKept);
    if (keep > 0) {
      // Copied: the chunk is a view into a capture batch that must not be kept alive.
      this.body.push(Buffer.from(data.subarray(at, at + keep)));
      this.bodyKept += keep;
    }
    this.bodyRemaining -= take;
    if (this.bodyRemaining === 0) this.finishMessage(tsNs);
    return at + take;
  }

  private finishMessage(tsNs: number): void {
    const message = this.current;
    if (message === undefined) return;
    this.current = undefined;
    message.body = this.body.length === 1 ? (this.body[0] as Buffer) : Buffer.concat(this.body);
    message.endNs = tsNs;
    this.body = [];
    this.sink.onMessage(message);
  }

  private desync(): void {
    this.current = undefined;
    this.header = Buffer.alloc(0);
    this.body = [];
    this.bareByteNext = false;
    this.untypedNext = false;
    this.inSync = false;
    this.sink.onDesync();
  }

  /**
   * Looks for a plausible message start: a known tag followed by a sane length, or a startup message. Chunks mostly
   * begin at message boundaries (one syscall, whole messages), so this usually succeeds at the next chunk.
   */
  private resync(data: Buffer, at: number): number {
    for (let i = at; i + 5 <= data.length; i++) {
      if (looksLikeStartup(data, i)) {
        this.untypedNext = true;
        this.inSync = true;
        return i;
      }
      const length = data.readUInt32BE(i + 1);
      if (this.tags.has(String.fromCharCode(data[i] ?? 0)) && length >= 4 && length <= 1024 * 1024) {
        this.inSync = true;
        return i;
      }
    }
    return data.length;
  }
}
