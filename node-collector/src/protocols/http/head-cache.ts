/**
 * Message heads seen before, by the raw bytes of their header lines. Traffic between services repeats its heads
 * byte for byte (the same client library sends the same headers, a server the same ones until its Date changes),
 * and parsing a head line by line, then serialising its headers for the store, is the largest part of an HTTP
 * message's cost. A head found here is taken whole: the same headers object (never changed once cached: heads
 * with trailers are not cached) and its JSON text, serialised once.
 */

/** What parsing a head's header lines produced, for the parser to take over. */
export interface CachedHead {
  readonly headers: Record<string, string>;
  readonly contentLength: string | undefined;
  readonly contentEncoding: string | undefined;
}

/** Longest block of header lines cached: longer ones are rarely repeated (cookies, tokens). */
export const MAX_CACHED_HEAD_BYTES = 2048;
const DEFAULT_MAX_HEADS = 1024;

/** JSON text of the headers objects of cached heads, for the store. */
const headersJson = new WeakMap<object, string>();

/** The headers as the store keeps them: JSON, serialised once per cached head. */
export function headersToJson(headers: Record<string, string>): string {
  return headersJson.get(headers) ?? JSON.stringify(headers);
}

export class HeadCache {
  private readonly heads = new Map<string, CachedHead>();
  /** Times the cache was full and emptied to make room. */
  clears = 0;

  constructor(private readonly maxHeads = DEFAULT_MAX_HEADS) {}

  get(key: string): CachedHead | undefined {
    return this.heads.get(key);
  }

  /** Bounded by emptying it when full: heads that are still repeated come back at their next sight. */
  set(key: string, head: CachedHead): void {
    if (this.heads.size >= this.maxHeads) {
      this.heads.clear();
      this.clears++;
    }
    headersJson.set(head.headers, JSON.stringify(head.headers));
    this.heads.set(key, head);
  }

  get size(): number {
    return this.heads.size;
  }
}
