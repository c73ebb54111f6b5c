/**
 * Series as the chart library wants them: one shared, sorted time axis and one value column per series, with
 * null where a series has no point at that time (drawn as a gap, not a line across the silence).
 */
import { formatCount, formatMs, formatPercent, formatRate } from './format.js';
import type { ChartUnit, Series as ChartSeries } from './widget-data.js';

export type AlignedColumns = [number[], ...(number | null)[][]];

export function alignSeries(series: readonly ChartSeries[]): AlignedColumns {
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const [t, value] of s.points) {
      const i = index.get(t);
      if (i !== undefined) column[i] = value !== null && Number.isFinite(value) ? value : null;
    }
    return column;
  });
  return [times, ...columns];
}

export function hasPoints(series: readonly ChartSeries[]): boolean {
  return series.some((s) => s.points.some(([, value]) => value !== null));
}

/** How a value of the unit reads on an axis, in the legend and in tooltips. */
export function formatUnit(value: number | null | undefined, unit: ChartUnit): string {
  if (value === null || value === undefined) return '–';
  switch (unit) {
    case 'ms':
      return formatMs(value);
    case 'rate':
      return formatRate(value);
    case 'percent':
      return formatPercent(value);
    case 'count':
      return formatCount(value);
  }
}
