/** Compares query answers the way a person would: floats to 1e-9 relative, row order only where it is defined. */
import assert from 'node:assert/strict';

type Row = Record<string, unknown>;

function close(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => close((a as Row)[key], (b as Row)[key]));
  }
  return a === b;
}

export function assertSameRows(actual: Row[], expected: Row[], ordered: boolean, label: string): void {
  const sort = (rows: Row[]) =>
    ordered ? rows : [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
  const [a, e] = [sort(actual), sort(expected)];
  assert.equal(a.length, e.length, `${label}: ${a.length} rows, expected ${e.length}`);
  a.forEach((row, i) => {
    if (!close(row, e[i])) assert.deepEqual(row, e[i], `${label}: row ${i} differs`);
  });
}
