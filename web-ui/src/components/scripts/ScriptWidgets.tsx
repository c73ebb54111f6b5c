import type { QueryAnswer, ScriptWidget } from '../../api/types';
import { bars, columnsOf, edges, tableColumns, timeSeries, unitOf } from '../../domain/widget-data';
import { formatCount } from '../../domain/format';

/** Weights are often small rates (0.04 requests/s): three significant digits, not a rounded zero. */
const formatWeight = (weight: number) =>
  Math.abs(weight) >= 100 ? formatCount(weight) : String(Number(weight.toPrecision(3)));
import { BarChart } from '../charts/BarChart';
import { TimeSeriesChart } from '../charts/TimeSeriesChart';
import { ResultTable } from './ResultTable';

/**
 * The source → target pairs of a 'graph' widget as a list: the service map view draws the real graph, here the
 * edges and their weights are what a reader needs.
 */
function EdgeTable({ widget, answer }: { widget: ScriptWidget; answer: QueryAnswer }) {
  const [weight] = columnsOf(widget, 'weight');
  const list = edges(widget, answer.rows);
  return (
    <div className="edge-table">
      <h3>{widget.title ?? 'Edges'}</h3>
      {list.length === 0 ? (
        <p className="muted-note">No edges in this window.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th>{columnsOf(widget, 'source')[0]}</th>
              <th aria-label="to" />
              <th>{columnsOf(widget, 'target')[0]}</th>
              <th className="num">{weight ?? 'rows'}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((edge) => (
              <tr key={`${edge.source}\u0000${edge.target}`}>
                <td className="mono">{edge.source}</td>
                <td aria-hidden>→</td>
                <td className="mono">{edge.target}</td>
                <td className="num">{formatWeight(edge.weight)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** One widget of a script's spec over the script's answer. */
export function WidgetView({ widget, answer }: { widget: ScriptWidget; answer: QueryAnswer }) {
  switch (widget.type) {
    case 'timeseries': {
      const ys = columnsOf(widget, 'y');
      return (
        <TimeSeriesChart
          title={widget.title ?? ys.join(', ')}
          series={timeSeries(widget, answer.rows)}
          unit={unitOf(ys)}
        />
      );
    }
    case 'bar':
      return (
        <BarChart
          title={widget.title ?? `${columnsOf(widget, 'y')[0] ?? ''} by ${columnsOf(widget, 'x')[0] ?? ''}`}
          bars={bars(widget, answer.rows)}
        />
      );
    case 'graph':
      return <EdgeTable widget={widget} answer={answer} />;
    case 'table':
      return (
        <ResultTable title={widget.title} columns={tableColumns(widget, answer.columns)} rows={answer.rows} />
      );
    default:
      // A spec from a newer broker: show the rows rather than nothing.
      return (
        <ResultTable
          title={`${widget.title ?? widget.type} (shown as a table)`}
          columns={answer.columns}
          rows={answer.rows}
        />
      );
  }
}
