/**
 * Runs the collector below the services it watches. On a busy node the collector's bursts (a store commit, a
 * garbage collection) otherwise take a core at the moment a traced service wanted it, which the service feels in
 * its tail latency; at a higher nice value the collector waits instead, and what it cannot take in meanwhile is
 * counted as dropped.
 */
import fs from 'node:fs';
import os from 'node:os';
import { UsageError } from './units.js';

/** Parses a nice value of 0 (the default priority) to 19 (the lowest). */
export function parseNice(text: string, flag: string): number {
  const nice = /^\d{1,2}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(nice >= 0 && nice <= 19)) throw new UsageError(`${flag}: '${text}' is not a nice value from 0 to 19`);
  return nice;
}

/**
 * Sets the nice value of every thread of this process. Linux keeps it per thread, and a thread inherits its
 * creator's: threads started afterwards (DuckDB's, the capture reader) get it too.
 */
export function lowerPriority(nice: number): void {
  for (const tid of fs.readdirSync('/proc/self/task')) os.setPriority(Number(tid), nice);
}
