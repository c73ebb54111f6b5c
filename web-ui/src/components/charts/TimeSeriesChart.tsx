import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { alignSeries, formatUnit, hasPoints } from '../../domain/chart-data';
import type { ChartUnit, Series } from '../../domain/widget-data';
import { cssVariable, useDocumentTheme } from './use-document-theme';
import './TimeSeriesChart.css';

export interface TimeSeriesChartProps {
  title: string;
  /** Points are [epoch seconds, value]; null is a gap. */
  series: Series[];
  unit: ChartUnit;
  height?: number;
}

/** Distinct in both themes; the first is close to the accent so a single line looks like the rest of the UI. */
const PALETTE = ['#3b7cf0', '#e5534b', '#2da44e', '#d29922', '#8957e5', '#1b9aa5', '#d2479a', '#7d8590'];

/** The store's times are UTC and the rest of the UI prints UTC, so the axis does too. */
const utc = (seconds: number) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');

function chartOptions(series: Series[], unit: ChartUnit, width: number, height: number): uPlot.Options {
  const text = cssVariable('--muted') || '#5d6675';
  const grid = cssVariable('--border') || '#d6dae2';
  const axis = (values: uPlot.Axis['values']): uPlot.Axis => ({
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    values,
  });
  return {
    width,
    height,
    tzDate: utc,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [axis(undefined), { ...axis((_u, splits) => splits.map((v) => formatUnit(v, unit))), size: 64 }],
    series: [
      {
        label: 'time (UTC)',
        value: (_u, v) => (v === null ? '–' : uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}')(utc(v))),
      },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => formatUnit(v, unit),
      })),
    ],
  };
}

/**
 * Lines over time (the title is the figure's caption rather than uPlot's, which would sit inside the canvas) with a legend that shows the values under the cursor. Drawn on a canvas by uPlot, so it stays
 * fast with many points; it follows its container's width and the theme.
 */
export function TimeSeriesChart({ title, series, unit, height = 200 }: TimeSeriesChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const theme = useDocumentTheme();
  const data = useMemo(() => alignSeries(series), [series]);
  const drawable = hasPoints(series);

  useEffect(() => {
    const element = container.current;
    if (!element || !drawable) return;
    const chart = new uPlot(
      chartOptions(series, unit, element.clientWidth || 600, height),
      data as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() => {
      if (element.clientWidth > 0) chart.setSize({ width: element.clientWidth, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
    // The theme is read through CSS variables inside chartOptions; it is listed so a change redraws.
  }, [series, unit, height, data, drawable, theme]);

  return (
    <figure className="time-series-chart" data-testid="time-series-chart">
      <figcaption>{title}</figcaption>
      {drawable ? (
        <div ref={container} className="time-series-canvas" role="img" aria-label={`${title} over time`} />
      ) : (
        <p className="time-series-empty" style={{ height }}>
          No points in this range.
        </p>
      )}
    </figure>
  );
}
