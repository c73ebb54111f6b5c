/**
 * Which recorded response answers a request: the most specific recording that fits. First method, path, query
 * and body all equal; then method, path and query; then method and path. Several recordings of one key are
 * served in recorded order, the last one repeating, so a sequence (create, then read) plays back as it happened.
 */

import type { HarEntry } from '../har/har.js';

export type MatchLevel = 'method+path+query+body' | 'method+path+query' | 'method+path';

export const MATCH_LEVELS: readonly MatchLevel[] = [
  'method+path+query+body',
  'method+path+query',
  'method+path',
];

export interface MockMatch {
  index: number;
  entry: HarEntry;
  level: MatchLevel;
}

/** Query parameters in a fixed order: `?b=2&a=1` and `?a=1&b=2` ask for the same thing. */
function normalizedQuery(search: string): string {
  const params = [...new URLSearchParams(search)];
  params.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return new URLSearchParams(params).toString();
}

function keys(method: string, pathname: string, search: string, body: string): [string, string, string] {
  const byPath = `${method.toUpperCase()} ${pathname}`;
  const byQuery = `${byPath}?${normalizedQuery(search)}`;
  return [`${byQuery}\n${body}`, byQuery, byPath];
}

interface Slot {
  indexes: number[];
  served: number;
}

export class MockMatcher {
  private readonly levels: Map<string, Slot>[] = [new Map(), new Map(), new Map()];
  private readonly hitCounts: number[];
  private missCount = 0;

  constructor(private readonly entries: readonly HarEntry[]) {
    this.hitCounts = entries.map(() => 0);
    entries.forEach((entry, index) => {
      const url = new URL(entry.request.url);
      const recordedKeys = keys(
        entry.request.method,
        url.pathname,
        url.search,
        entry.request.postData?.text ?? '',
      );
      recordedKeys.forEach((key, level) => {
        const slots = this.levels[level] as Map<string, Slot>;
        const slot = slots.get(key) ?? { indexes: [], served: 0 };
        slot.indexes.push(index);
        slots.set(key, slot);
      });
    });
  }

  /** @param target path and query as on the request line */
  match(method: string, target: string, body: string): MockMatch | undefined {
    const url = new URL(target, 'http://mock');
    const requestKeys = keys(method, url.pathname, url.search, body);
    for (let level = 0; level < requestKeys.length; level++) {
      const slot = this.levels[level]?.get(requestKeys[level] as string);
      if (!slot) continue;
      const index = slot.indexes[Math.min(slot.served, slot.indexes.length - 1)] as number;
      slot.served += 1;
      this.hitCounts[index] = (this.hitCounts[index] ?? 0) + 1;
      return { index, entry: this.entries[index] as HarEntry, level: MATCH_LEVELS[level] as MatchLevel };
    }
    this.missCount += 1;
    return undefined;
  }

  /** Methods recorded for this path, to say in a miss what would have matched. */
  methodsFor(target: string): string[] {
    const pathname = new URL(target, 'http://mock').pathname;
    const methods = new Set<string>();
    for (const entry of this.entries) {
      if (new URL(entry.request.url).pathname === pathname) methods.add(entry.request.method.toUpperCase());
    }
    return [...methods];
  }

  hits(): { index: number; method: string; url: string; hits: number }[] {
    return this.entries.map((entry, index) => ({
      index,
      method: entry.request.method,
      url: entry.request.url,
      hits: this.hitCounts[index] ?? 0,
    }));
  }

  get misses(): number {
    return this.missCount;
  }
}
