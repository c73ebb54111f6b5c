import { formatCount } from '../../domain/format';
import type { Bar } from '../../domain/widget-data';
import './BarChart.css';

/**
 * Horizontal bars, one per label, longest first: the shape of "which service has the most errors". Labels and
 * values are HTML (they wrap and never stretch); each bar is an SVG scaled to its share of the largest value.
 * The numbers are written beside the bars so nothing depends on hovering.
 */
export function BarChart({ title, bars }: { title?: string; bars: Bar[] }) {
  const max = Math.max(...bars.map((b) => b.value), 0);
  return (
    <figure className="bar-chart" data-testid="bar-chart">
      {title && <figcaption>{title}</figcaption>}
      {bars.length === 0 ? (
        <p className="muted-note">Nothing to draw.</p>
      ) : (
        <ul aria-label={title ?? 'Bar chart'}>
          {bars.map((bar) => (
            <li key={bar.label} className="bar-row">
              <span className="bar-label" title={bar.label}>
                {bar.label}
              </span>
              <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden>
                <rect
                  className="bar"
                  x={0}
                  y={0}
                  width={max > 0 ? Math.max((100 * bar.value) / max, 0.5) : 0}
                  height={10}
                  rx={0.5}
                />
              </svg>
              <span className="bar-value">{formatCount(bar.value)}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
