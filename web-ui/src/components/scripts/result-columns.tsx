import type { Row } from '../../api/types';
import { formatTime, toNumber } from '../../domain/format';
import type { DataColumn } from '../DataTable';

const STORE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * DataTable columns for a query result: numbers right-aligned and shown as the engine sent them (a SQL result
 * is read for its exact values), store times shortened to milliseconds in UTC.
 */
export function resultColumns(columns: string[], rows: Row[]): DataColumn[] {
  const sample = rows.slice(0, 100);
  const every = (key: string, test: (v: unknown) => boolean) =>
    sample.some((r) => r[key] != null) && sample.every((r) => r[key] == null || test(r[key]));
  return columns.map((key) => {
    if (every(key, (v) => typeof v === 'number' || typeof v === 'bigint')) return { key, align: 'right' };
    if (every(key, (v) => typeof v === 'string' && STORE_TIME.test(v))) {
      return { key, width: 200, format: (value) => formatTime(value) };
    }
    if (every(key, (v) => typeof v === 'string' && toNumber(v) !== null)) return { key, align: 'right' };
    return { key };
  });
}

/** Tall enough for the rows (up to a screenful), so a short result does not leave a tall empty box. */
export function tableHeight(rowCount: number): number {
  return Math.min(480, 34 + Math.max(rowCount, 1) * 28);
}
