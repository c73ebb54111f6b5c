/**
 * Lanes: the unit of ordering. Entries recorded on one connection are one lane, replayed in their order on one
 * connection of their own, since a server may rely on that order (HTTP/1.x answers in request order anyway).
 * Entries without a connection are lanes of one. Lanes run side by side up to the concurrency limit.
 */

import type { HarEntry } from '../har/har.js';

export interface Lane {
  /** The recorded connection, or undefined for an independent entry. */
  connection?: string;
  /** Indexes into the HAR's entries, in HAR order. */
  entries: number[];
}

export function planLanes(entries: readonly HarEntry[], include: (index: number) => boolean): Lane[] {
  const lanes: Lane[] = [];
  const byConnection = new Map<string, Lane>();
  entries.forEach((entry, index) => {
    if (!include(index)) return;
    if (entry.connection === undefined) {
      lanes.push({ entries: [index] });
      return;
    }
    let lane = byConnection.get(entry.connection);
    if (!lane) {
      lane = { connection: entry.connection, entries: [] };
      byConnection.set(entry.connection, lane);
      lanes.push(lane);
    }
    lane.entries.push(index);
  });
  return lanes;
}

/** Runs `work` on every lane, at most `concurrency` at a time, taking lanes in order of their first entry. */
export async function runLanes(
  lanes: readonly Lane[],
  concurrency: number,
  work: (lane: Lane) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < lanes.length) {
      const lane = lanes[next++] as Lane;
      await work(lane);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, lanes.length) }, worker));
}
