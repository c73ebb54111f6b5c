import { useEffect, useRef } from 'react';
import { formatCount, formatMs, formatPercent, formatRate } from '../../domain/format';
import {
  PROTOCOL_LABELS,
  type ServiceEdge,
  type ServiceGraph,
  type ServiceNode,
} from '../../domain/service-graph';
import { isFailing, kindLabel } from '../../domain/service-map-view';
import './MapDetails.css';

interface DetailsActions {
  onClose: () => void;
  onSelectNode: (id: string) => void;
  onSelectEdge: (id: string) => void;
  onOpenService: (node: ServiceNode) => void;
  onNodeRequests: (node: ServiceNode) => void;
  onEdgeRequests: (edge: ServiceEdge) => void;
}

function ErrorCell({ rate }: { rate: number }) {
  return <td className={`num${isFailing(rate) ? ' status-error' : ''}`}>{formatPercent(rate)}</td>;
}

function EdgeTable({
  title,
  edges,
  peer,
  onSelectEdge,
}: {
  title: string;
  edges: ServiceEdge[];
  peer: (edge: ServiceEdge) => string;
  onSelectEdge: (id: string) => void;
}) {
  if (edges.length === 0) return null;
  return (
    <section>
      <h3>
        {title} ({edges.length})
      </h3>
      <table className="data">
        <thead>
          <tr>
            <th>service</th>
            <th>protocol</th>
            <th className="num">req/s</th>
            <th className="num">errors</th>
            <th className="num">p50</th>
            <th className="num">p99</th>
          </tr>
        </thead>
        <tbody>
          {[...edges]
            .sort((a, b) => b.requestsPerSecond - a.requestsPerSecond)
            .map((edge) => (
              <tr key={edge.id}>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() => onSelectEdge(edge.id)}
                    title={edge.id}
                  >
                    {peer(edge)}
                  </button>
                </td>
                <td>{PROTOCOL_LABELS[edge.protocol]}</td>
                <td className="num">{formatRate(edge.requestsPerSecond)}</td>
                <ErrorCell rate={edge.errorRate} />
                <td className="num">{formatMs(edge.p50Ms)}</td>
                <td className="num">{formatMs(edge.p99Ms)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}

function NodeDetails({
  node,
  graph,
  actions,
}: {
  node: ServiceNode;
  graph: ServiceGraph;
  actions: DetailsActions;
}) {
  const inbound = graph.edges.filter((e) => e.target === node.id);
  const outbound = graph.edges.filter((e) => e.source === node.id);
  return (
    <>
      <header>
        <h2 className="mono">{node.id}</h2>
        <p className="muted">{kindLabel(node)}</p>
      </header>
      <dl className="figures">
        <dt>Inbound</dt>
        <dd>{formatRate(node.inboundPerSecond)}</dd>
        <dt>Errors</dt>
        <dd className={isFailing(node.inboundErrorRate) ? 'status-error' : undefined}>
          {formatPercent(node.inboundErrorRate)}
        </dd>
        <dt>Worst p99</dt>
        <dd>{formatMs(node.worstP99Ms)}</dd>
        <dt>Outbound</dt>
        <dd>{formatRate(node.outboundPerSecond)}</dd>
      </dl>
      <div className="actions">
        <button type="button" className="primary" onClick={() => actions.onOpenService(node)}>
          Open service
        </button>
        <button type="button" onClick={() => actions.onNodeRequests(node)}>
          Requests
        </button>
      </div>
      <EdgeTable
        title="Called by"
        edges={inbound}
        peer={(e) => e.source}
        onSelectEdge={actions.onSelectEdge}
      />
      <EdgeTable title="Calls" edges={outbound} peer={(e) => e.target} onSelectEdge={actions.onSelectEdge} />
    </>
  );
}

function EdgeDetails({ edge, actions }: { edge: ServiceEdge; actions: DetailsActions }) {
  const errors = Math.round(edge.requests * edge.errorRate);
  return (
    <>
      <header>
        <h2>
          <button type="button" className="link mono" onClick={() => actions.onSelectNode(edge.source)}>
            {edge.source}
          </button>{' '}
          →{' '}
          <button type="button" className="link mono" onClick={() => actions.onSelectNode(edge.target)}>
            {edge.target}
          </button>
        </h2>
        <p className="muted">{PROTOCOL_LABELS[edge.protocol]}</p>
      </header>
      <dl className="figures">
        <dt>Rate</dt>
        <dd>{formatRate(edge.requestsPerSecond)}</dd>
        <dt>Requests</dt>
        <dd>{formatCount(edge.requests)}</dd>
        <dt>Errors</dt>
        <dd className={isFailing(edge.errorRate) ? 'status-error' : undefined}>
          {formatCount(errors)} ({formatPercent(edge.errorRate)})
        </dd>
        <dt>p50</dt>
        <dd>{formatMs(edge.p50Ms)}</dd>
        <dt>p90</dt>
        <dd>{formatMs(edge.p90Ms)}</dd>
        <dt>p99</dt>
        <dd>{formatMs(edge.p99Ms)}</dd>
      </dl>
      <div className="actions">
        <button type="button" className="primary" onClick={() => actions.onEdgeRequests(edge)}>
          Show requests
        </button>
      </div>
    </>
  );
}

/** The side panel of the selected node or edge: its numbers, its neighbours, and where to go next. */
export function MapDetails({
  graph,
  node,
  edge,
  ...actions
}: { graph: ServiceGraph; node: ServiceNode | null; edge: ServiceEdge | null } & DetailsActions) {
  const panel = useRef<HTMLElement>(null);
  const shown = node?.id ?? edge?.id;
  useEffect(() => {
    // Keyboard users land in the panel they just opened.
    if (shown) panel.current?.focus({ preventScroll: true });
  }, [shown]);
  if (!node && !edge) return null;
  return (
    <aside
      ref={panel}
      className="map-details panel"
      data-testid="map-details"
      aria-label={node ? `Service ${node.id}` : 'Call details'}
      tabIndex={-1}
    >
      <button type="button" className="close" aria-label="Close details (Escape)" onClick={actions.onClose}>
        ×
      </button>
      {node ? (
        <NodeDetails node={node} graph={graph} actions={actions} />
      ) : (
        edge && <EdgeDetails edge={edge} actions={actions} />
      )}
    </aside>
  );
}
