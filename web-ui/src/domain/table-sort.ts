/**
 * Client-side ordering for DataTable: numbers (and DuckDB's numeric strings) by value, everything else as text,
 * missing values always last whichever way the column is sorted, and ties kept in their original order.
 */
import { toNumber } from './format.js';

export type SortDirection = 'asc' | 'desc';

export interface SortOrder {
  key: string;
  direction: SortDirection;
}

const isMissing = (value: unknown) => value === null || value === undefined || value === '';

function compareValues(a: unknown, b: unknown): number {
  const x = toNumber(a);
  const y = toNumber(b);
  if (x !== null && y !== null) return x - y;
  return String(a).localeCompare(String(b));
}

/** Indexes of `rows` in display order (the rows themselves are not copied or touched). */
export function sortedIndexes(rows: readonly Record<string, unknown>[], order: SortOrder | null): number[] {
  const indexes = rows.map((_, i) => i);
  if (!order) return indexes;
  const sign = order.direction === 'asc' ? 1 : -1;
  const values = rows.map((row) => row[order.key]);
  return indexes.sort((i, j) => {
    const a = values[i];
    const b = values[j];
    const aMissing = isMissing(a);
    const bMissing = isMissing(b);
    if (aMissing || bMissing) return aMissing === bMissing ? i - j : aMissing ? 1 : -1;
    return sign * compareValues(a, b) || i - j;
  });
}

/** Clicking a header: first ascending, then descending, then back to the answer's own order. */
export function nextSortOrder(current: SortOrder | null, key: string): SortOrder | null {
  if (!current || current.key !== key) return { key, direction: 'asc' };
  if (current.direction === 'asc') return { key, direction: 'desc' };
  return null;
}
