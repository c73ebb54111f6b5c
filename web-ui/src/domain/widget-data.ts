/**
 * A script's widget spec applied to its rows: which columns a table shows, the lines of a time series, the bars
 * of a bar chart, the edges of a graph. Also which ad-hoc results can be drawn as a chart at all.
 */
import type { Row, ScriptWidget } from '../api/types.js';
import { parseStoreTime, toNumber } from './format.js';

export type ChartUnit = 'ms' | 'rate' | 'count' | 'percent';

export interface Series {
  label: string;
  points: [number, number | null][];
}

export interface Bar {
  label: string;
  value: number;
}

export interface Edge {
  source: string;
  target: string;
  weight: number;
}

/** A role of a widget's `columns` as a list, whatever the spec wrote (one name or several). */
export function columnsOf(widget: ScriptWidget, role: string): string[] {
  const value = widget.columns[role];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '–';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The columns a table widget shows, in the spec's order; all the result's columns when the spec names none. */
export function tableColumns(widget: ScriptWidget, resultColumns: string[]): string[] {
  const wanted = columnsOf(widget, 'rows').filter((c) => resultColumns.includes(c));
  return wanted.length > 0 ? wanted : resultColumns;
}

/** Epoch seconds of a time value from the store, or null. */
export function epochSeconds(value: unknown): number | null {
  const date = parseStoreTime(value);
  return date ? date.getTime() / 1000 : null;
}

/**
 * One line per y column and value of the series column, sorted by time. Steps where a line has no row stay
 * empty (null), so a service that went quiet shows a gap rather than a line drawn across it.
 */
export function timeSeries(widget: ScriptWidget, rows: Row[]): Series[] {
  const [x] = columnsOf(widget, 'x');
  const ys = columnsOf(widget, 'y');
  const [split] = columnsOf(widget, 'series');
  if (x === undefined || ys.length === 0) return [];
  const times = new Set<number>();
  const lines = new Map<string, Map<number, number | null>>();
  for (const row of rows) {
    const t = epochSeconds(row[x]);
    if (t === null) continue;
    times.add(t);
    for (const y of ys) {
      const group = split === undefined ? '' : text(row[split]);
      const label = [group, ys.length > 1 || group === '' ? y : ''].filter(Boolean).join(' ');
      let line = lines.get(label);
      if (!line) lines.set(label, (line = new Map()));
      line.set(t, toNumber(row[y]));
    }
  }
  const axis = [...times].sort((a, b) => a - b);
  return [...lines.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, line]) => ({ label, points: axis.map((t) => [t, line.get(t) ?? null]) }));
}

/** The unit a chart of these columns reads in, from the naming conventions of the bundled scripts. */
export function unitOf(columns: string[]): ChartUnit {
  if (columns.length > 0 && columns.every((c) => /(^|_)ms$/.test(c))) return 'ms';
  if (columns.length > 0 && columns.every((c) => /_per_s$|_rate_s$|per_second/.test(c))) return 'rate';
  if (columns.length > 0 && columns.every((c) => /(^|_)(rate|ratio|fraction)$/.test(c))) return 'percent';
  return 'count';
}

/** Bars by x, summing y over rows that share an x (errors of one service over several paths), largest first. */
export function bars(widget: ScriptWidget, rows: Row[], max = 20): Bar[] {
  const [x] = columnsOf(widget, 'x');
  const [y] = columnsOf(widget, 'y');
  if (x === undefined || y === undefined) return [];
  const sums = new Map<string, number>();
  for (const row of rows) {
    const value = toNumber(row[y]);
    if (value === null) continue;
    const label = text(row[x]);
    sums.set(label, (sums.get(label) ?? 0) + value);
  }
  return [...sums.entries()]
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label))
    .slice(0, max);
}

/** source → target edges, weights summed over rows of the same pair, heaviest first. */
export function edges(widget: ScriptWidget, rows: Row[]): Edge[] {
  const [source] = columnsOf(widget, 'source');
  const [target] = columnsOf(widget, 'target');
  const [weight] = columnsOf(widget, 'weight');
  if (source === undefined || target === undefined) return [];
  const sums = new Map<string, Edge>();
  for (const row of rows) {
    const edge = { source: text(row[source]), target: text(row[target]), weight: 0 };
    const key = JSON.stringify([edge.source, edge.target]);
    const known = sums.get(key) ?? edge;
    known.weight += weight === undefined ? 1 : (toNumber(row[weight]) ?? 0);
    sums.set(key, known);
  }
  return [...sums.values()].sort((a, b) => b.weight - a.weight || a.source.localeCompare(b.source));
}

const TIME_NAME = /(^|_)(time|start|at|bucket|ts|minute|hour|day|sample)$/i;
/** Columns that hold numbers but are names, not measurements. */
const ID_NAME = /(^|_)(pid|port|id|status)$/i;
const MAX_AUTO_SERIES = 4;

/**
 * A timeseries widget for an ad-hoc result that has a time column and numeric columns, or null. The time column
 * is one named like a time axis whose values all read as store times; the numeric columns are those
 * whose values are all numbers, except identifiers such as ports and pids.
 */
export function autoChart(columns: string[], rows: Row[]): ScriptWidget | null {
  if (rows.length < 2) return null;
  const sample = rows.slice(0, 200);
  const all = (column: string, test: (v: unknown) => boolean) =>
    sample.every((row) => row[column] === null || row[column] === undefined || test(row[column]));
  const isTime = (v: unknown) =>
    typeof v === 'string' && /^\d{4}-\d\d-\d\d[ T]\d\d:/.test(v) && !!parseStoreTime(v);
  const timeColumns = columns.filter((c) => sample.some((r) => r[c] != null) && all(c, isTime));
  // Only a column named as a time axis: a `last_seen` beside grouped counts is an attribute, not an axis.
  const x = timeColumns.find((c) => TIME_NAME.test(c));
  if (x === undefined) return null;
  const ys = columns
    .filter((c) => c !== x && !ID_NAME.test(c) && sample.some((r) => r[c] != null))
    .filter((c) => all(c, (v) => typeof v !== 'boolean' && toNumber(v) !== null))
    .slice(0, MAX_AUTO_SERIES);
  if (ys.length === 0) return null;
  return { type: 'timeseries', title: ys.join(', '), columns: { x, y: ys } };
}
