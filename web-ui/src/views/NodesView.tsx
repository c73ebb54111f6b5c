import { useMemo } from 'react';
import type { NodeView } from '../api/types';
import { TimeSeriesChart } from '../components/charts/TimeSeriesChart';
import { NodeAnswers } from '../components/NodeAnswers';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import { formatBytes, formatCount, formatDurationMs, formatRate } from '../domain/format';
import { collectorHistorySql, describeDrops, historySeries } from '../domain/node-health';
import { useClusterStatus, useQueryAnswer } from '../hooks/queries';
import type { ViewProps } from './view-props';
import './NodesView.css';

function Retention({ node }: { node: NodeView }) {
  const age = node.status?.retentionMaxAgeMs;
  const size = node.status?.retentionMaxBytes;
  if (age === undefined && size === undefined) return <span className="muted">not reported</span>;
  return (
    <>
      {age !== undefined && formatDurationMs(age)}
      {age !== undefined && size !== undefined && ' / '}
      {size !== undefined && formatBytes(size)}
    </>
  );
}

function NodeRow({ node }: { node: NodeView }) {
  const status = node.status;
  const reasons = describeDrops(status?.dropsByReason);
  return (
    <tr data-testid="node-row" data-name={node.name} data-state={node.state}>
      <th scope="row" className="mono">
        {node.name}
        <div className="node-url">{node.url}</div>
      </th>
      <td>
        <span className={`node-state ${node.state}`}>{node.state}</span>
        <div className="node-seen" title={node.lastSeen}>
          seen {formatDurationMs(node.msSinceSeen)} ago
        </div>
      </td>
      <td className="num" data-testid="node-events">
        {status ? formatRate(status.eventsPerSecond) : '–'}
      </td>
      <td className={`num${status && status.drops > 0 ? ' status-warn' : ''}`}>
        {status ? formatCount(status.drops) : '–'}
        {reasons && <div className="node-reasons">{reasons}</div>}
      </td>
      <td className={`num${status && status.parseErrors > 0 ? ' status-warn' : ''}`}>
        {status ? formatCount(status.parseErrors) : '–'}
      </td>
      <td className="num">{status ? formatCount(status.storeRows) : '–'}</td>
      <td className="num">{status ? formatBytes(status.storeBytes) : '–'}</td>
      <td className="num">
        <Retention node={node} />
      </td>
    </tr>
  );
}

/** The history charts: events/s and drops per node over the time range, from collector_stats. */
function CollectorHistory({ state }: Pick<ViewProps, 'state'>) {
  const request = useMemo(() => ({ sql: collectorHistorySql(state.range) }), [state.range]);
  const history = useQueryAnswer(request, state.live, 'collector-history');
  if (history.error) return <ErrorMessage error={history.error} onRetry={() => void history.refetch()} />;
  if (!history.data) return <Loading what="the collectors' history" />;
  const rows = history.data.rows;
  const events = historySeries(rows, 'events_per_s');
  // A line needs two steps; a single sample would draw as an empty chart.
  const steps = events[0]?.points.length ?? 0;
  return (
    <div className="node-history">
      <NodeAnswers nodes={history.data.nodes} truncated={history.data.truncated} />
      {steps < 2 ? (
        <Empty
          title={rows.length === 0 ? 'No collector samples in this range' : 'Only one sample so far'}
          hint="Collectors write a sample every 10 seconds; widen the time range or wait a little."
        />
      ) : (
        <div className="node-charts">
          <TimeSeriesChart title="Events/s" series={events} unit="rate" height={180} />
          <TimeSeriesChart title="Drops" series={historySeries(rows, 'drops')} unit="count" height={180} />
        </div>
      )}
    </div>
  );
}

/** Every collector the broker knows: up or down, capture rate, losses, store size and retention, and totals. */
export function NodesView({ state }: ViewProps) {
  const nodes = useClusterStatus(state.live);
  const list = nodes.data?.nodes;
  const totals = nodes.data?.totals;

  let table;
  if (nodes.error) table = <ErrorMessage error={nodes.error} onRetry={() => void nodes.refetch()} />;
  else if (!list || !totals) table = <Loading what="the nodes" />;
  else if (list.length === 0)
    table = (
      <Empty
        title="No collector has registered"
        hint="Start `loupe up`, or `loupe collector --broker URL` on each node."
      />
    );
  else
    table = (
      <table className="data nodes-table" data-testid="nodes-table">
        <caption className="sr-only">Collectors</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col" className="num">
              Events/s
            </th>
            <th scope="col" className="num">
              Drops
            </th>
            <th scope="col" className="num">
              Parse errors
            </th>
            <th scope="col" className="num">
              Store rows
            </th>
            <th scope="col" className="num">
              Store size
            </th>
            <th scope="col" className="num">
              Retention (age / size)
            </th>
          </tr>
        </thead>
        <tbody>
          {[...list]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((node) => (
              <NodeRow key={node.name} node={node} />
            ))}
        </tbody>
        <tfoot>
          <tr data-testid="nodes-totals">
            <th scope="row">Cluster</th>
            <td>
              {totals.up} up{totals.down > 0 && <span className="status-error">, {totals.down} down</span>}
            </td>
            <td className="num">{formatRate(totals.eventsPerSecond)}</td>
            <td className="num">{formatCount(totals.drops)}</td>
            <td className="num">{formatCount(totals.parseErrors)}</td>
            <td className="num">{formatCount(totals.storeRows)}</td>
            <td className="num">{formatBytes(totals.storeBytes)}</td>
            <td />
          </tr>
        </tfoot>
      </table>
    );

  return (
    <section className="view nodes-view">
      <section className="panel">
        <h2>Collectors</h2>
        <p className="muted">Totals count the nodes that are up; a down node shows its last report.</p>
        {table}
      </section>
      <section className="panel">
        <h2>History</h2>
        <CollectorHistory state={state} />
      </section>
    </section>
  );
}
