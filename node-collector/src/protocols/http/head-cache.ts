/**
 * Message heads seen before, by the raw bytes of their header lines. Traffic between services repeats its heads
 * byte for byte (the same client library sends the same headers, a server the same ones until its Date changes),
 * and parsing a head line by line, then serialising its headers for the store, is the largest part of an HTTP
 * message's cost. A head found here is taken whole: the same headers object (never changed once cached: heads
 * with trailers are not cached) and its JSON text, serialised once.
 *
 * Where heads do not repeat (a request id or a token in every request), looking them up only costs: building and
 * hashing the key, then caching a head that never comes back. So each kind of message (requests, responses) is
 * looked up only while enough of its lookups hit; below that, one head in SAMPLE_EVERY still is, so that the cache
 * notices when heads start repeating again.
 */

import { Buffer } from 'node:buffer';
import type { HttpMessageKind } from './http-parser.js';

/** What parsing a head's header lines produced, for the parser to take over. */
export interface CachedHead {
  readonly headers: Record<string, string>;
  readonly contentLength: string | undefined;
  readonly contentEncoding: string | undefined;
}

/** Longest block of header lines cached: longer ones are rarely repeated (cookies, tokens). */
export const MAX_CACHED_HEAD_BYTES = 2048;
const DEFAULT_MAX_HEADS = 1024;
/** Lookups of one kind over which its hits are counted. */
const WINDOW_LOOKUPS = 256;
/** A kind whose lookups hit less than this share of the time is looked up one head in SAMPLE_EVERY. A hit saves
 * several times what a miss costs (parsing the lines and serialising them against building and hashing a key). */
const MIN_HIT_SHARE = 0.25;
const SAMPLE_EVERY = 16;

/** Whether the heads of one kind repeat enough to be worth looking up (see the top of this file). */
class RepeatGate {
  private lookups = 0;
  private hits = 0;
  private sampling = false;
  private seen = 0;

  /** Whether to look up the head now beginning: always, or one in SAMPLE_EVERY while sampling. */
  admits(): boolean {
    if (!this.sampling) return true;
    this.seen = (this.seen + 1) % SAMPLE_EVERY;
    return this.seen === 0;
  }

  record(hit: boolean): void {
    this.lookups++;
    if (hit) this.hits++;
    if (this.lookups < WINDOW_LOOKUPS) return;
    this.sampling = this.hits < WINDOW_LOOKUPS * MIN_HIT_SHARE;
    this.lookups = 0;
    this.hits = 0;
  }
}

/**
 * The head of one kind found or cached last, by its bytes. Traffic that repeats heads mostly repeats the one just
 * seen (a client's requests; a server's responses until its Date changes): comparing the bytes with it costs less
 * than building a key string and hashing it, about a twentieth of an HTTP exchange's CPU in the collector.
 */
class LastHead {
  private readonly bytes = Buffer.alloc(MAX_CACHED_HEAD_BYTES);
  private length = -1;
  private head: CachedHead | undefined;

  matching(data: Buffer, from: number, end: number): CachedHead | undefined {
    if (end - from !== this.length || data.compare(this.bytes, 0, this.length, from, end) !== 0)
      return undefined;
    return this.head;
  }

  remember(key: string, head: CachedHead): void {
    // Keys come from heads of at most MAX_CACHED_HEAD_BYTES; a longer one would be cut short and match wrongly.
    this.length = key.length <= this.bytes.length ? this.bytes.write(key, 'latin1') : -1;
    this.head = head;
  }
}

/** JSON text of the headers objects of cached heads, for the store. */
const headersJson = new WeakMap<object, string>();

/** The headers as the store keeps them: JSON, serialised once per cached head. */
export function headersToJson(headers: Record<string, string>): string {
  return headersJson.get(headers) ?? JSON.stringify(headers);
}

export class HeadCache {
  private readonly heads = new Map<string, CachedHead>();
  private readonly gates: Record<HttpMessageKind, RepeatGate> = {
    request: new RepeatGate(),
    response: new RepeatGate(),
  };
  private readonly last: Record<HttpMessageKind, LastHead> = {
    request: new LastHead(),
    response: new LastHead(),
  };
  /** Times the cache was full and emptied to make room. */
  clears = 0;
  /** Heads not looked up, their kind seldom repeating lately. */
  skipped = 0;

  constructor(private readonly maxHeads = DEFAULT_MAX_HEADS) {}

  /** Whether a head of this kind is worth a lookup now (then `find` it, and `set` it if missing). */
  worthLookingUp(kind: HttpMessageKind): boolean {
    if (this.gates[kind].admits()) return true;
    this.skipped++;
    return false;
  }

  /**
   * The cached head whose header lines (up to MAX_CACHED_HEAD_BYTES, their empty line included) are
   * `data[from, end)`; when there is none, the key to `set` it under once parsed.
   */
  find(data: Buffer, from: number, end: number, kind: HttpMessageKind): CachedHead | string {
    const last = this.last[kind];
    const repeated = last.matching(data, from, end);
    if (repeated !== undefined) {
      this.gates[kind].record(true);
      return repeated;
    }
    const key = data.toString('latin1', from, end);
    const head = this.heads.get(key);
    this.gates[kind].record(head !== undefined);
    if (head === undefined) return key;
    last.remember(key, head);
    return head;
  }

  /** Bounded by emptying it when full: heads that are still repeated come back at their next sight. */
  set(key: string, head: CachedHead, kind: HttpMessageKind): void {
    if (this.heads.size >= this.maxHeads) {
      this.heads.clear();
      this.clears++;
    }
    headersJson.set(head.headers, JSON.stringify(head.headers));
    this.heads.set(key, head);
    this.last[kind].remember(key, head);
  }

  get size(): number {
    return this.heads.size;
  }

  get limit(): number {
    return this.maxHeads;
  }
}
