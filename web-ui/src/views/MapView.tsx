import { useCallback, useEffect, useMemo } from 'react';
import type { QueryRequest } from '../api/types';
import { NodeAnswers } from '../components/NodeAnswers';
import { MapDetails } from '../components/service-map/MapDetails';
import { MapToolbar } from '../components/service-map/MapToolbar';
import { ServiceMap } from '../components/service-map/ServiceMap';
import { useGraphLayout } from '../components/service-map/use-graph-layout';
import '../components/service-map/map-view.css';
import { Empty, ErrorMessage, Loading } from '../components/StateMessage';
import type { LayoutInput } from '../domain/graph-layout';
import {
  buildServiceGraph,
  filterGraph,
  searchNodes,
  type ServiceEdge,
  type ServiceNode,
} from '../domain/service-graph';
import {
  layoutInputFor,
  readMapSettings,
  writeMapSettings,
  type MapSettings,
} from '../domain/service-map-view';
import { scriptWindow } from '../domain/time-range';
import { navigate } from '../domain/url-state';
import { useNodes, useQueryAnswer } from '../hooks/queries';
import type { ViewProps } from './view-props';

/** Which requests the explorer shows for a node: its process, or its address when nothing else is known. */
function requestsOf(node: ServiceNode): Record<string, string> {
  if (node.process) return { service: node.process };
  return node.port !== null ? { server: node.id } : { client: node.id };
}

/**
 * The service map of the time range: every service and the calls between them, from the bundled service_map
 * script. The layout is computed in a worker and only when the graph's shape changes, so a live refresh
 * updates the numbers without moving anything.
 */
export function MapView({ state, push, replace }: ViewProps) {
  const settings = readMapSettings(state.params);
  const request = useMemo<QueryRequest>(
    () => ({
      script: 'service_map',
      params: { window: scriptWindow(state.range), node: settings.collector ?? '%' },
    }),
    [state.range, settings.collector],
  );
  const nodes = useNodes(false);
  const collectors = useMemo(() => (nodes.data ?? []).map((node) => node.name), [nodes.data]);
  const answer = useQueryAnswer(request, state.live, 'service-map');
  const graph = useMemo(() => (answer.data ? buildServiceGraph(answer.data.rows) : null), [answer.data]);
  const protocolKey = settings.protocols.join(',');
  const shown = useMemo(
    () =>
      graph
        ? filterGraph(graph, {
            protocols: protocolKey ? (protocolKey.split(',') as MapSettings['protocols']) : [],
          })
        : null,
    [graph, protocolKey],
  );
  // The same shape gives the same text, so the layout request (and the layout) only changes with the shape.
  const inputText = shown ? JSON.stringify(layoutInputFor(shown)) : null;
  const layoutInput = useMemo(() => (inputText ? (JSON.parse(inputText) as LayoutInput) : null), [inputText]);
  const { layout } = useGraphLayout(layoutInput);
  const matches = useMemo(() => (shown ? searchNodes(shown, settings.search) : []), [shown, settings.search]);

  const update = useCallback(
    (change: Partial<MapSettings>, history: 'push' | 'replace') => {
      const next = { ...readMapSettings(state.params), ...change };
      (history === 'push' ? push : replace)({ ...state, params: writeMapSettings(next) });
    },
    [state, push, replace],
  );
  const selectNode = useCallback((id: string) => update({ node: id, edge: null }, 'push'), [update]);
  const selectEdge = useCallback((id: string) => update({ node: null, edge: id }, 'push'), [update]);
  const clear = useCallback(() => {
    if (settings.node || settings.edge) update({ node: null, edge: null }, 'push');
  }, [settings.node, settings.edge, update]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) clear();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [clear]);

  const selectedNode = shown?.nodes.find((n) => n.id === settings.node) ?? null;
  const selectedEdge = shown?.edges.find((e) => e.id === settings.edge) ?? null;

  let body;
  if (answer.error && !answer.data) {
    body = <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />;
  } else if (!graph || !shown) {
    body = <Loading what="the service map" />;
  } else if (graph.edges.length === 0) {
    body = (
      <Empty
        title="No traffic captured in this range"
        hint="Loupe draws a service as soon as it sees one of its HTTP, PostgreSQL or MySQL requests. Widen the time range, or send some requests."
      />
    );
  } else if (shown.edges.length === 0) {
    body = (
      <Empty title="No calls over these protocols" hint="Press another protocol chip, or release them all." />
    );
  } else if (!layout) {
    body = <Loading what={`the layout of ${shown.nodes.length} services`} />;
  } else {
    body = (
      <div className="map-body">
        <ServiceMap
          graph={shown}
          layout={layout}
          selectedNode={selectedNode?.id ?? null}
          selectedEdge={selectedEdge?.id ?? null}
          matches={matches}
          onSelectNode={selectNode}
          onSelectEdge={selectEdge}
          onClear={clear}
        />
        <MapDetails
          graph={shown}
          node={selectedNode}
          edge={selectedEdge}
          onClose={clear}
          onSelectNode={selectNode}
          onSelectEdge={selectEdge}
          onOpenService={(node) => push(navigate(state, 'service', { service: node.id }))}
          onNodeRequests={(node) => push(navigate(state, 'requests', requestsOf(node)))}
          onEdgeRequests={(edge: ServiceEdge) =>
            push(
              navigate(state, 'requests', {
                client: edge.client,
                server: edge.server,
                protocol: edge.protocol,
              }),
            )
          }
        />
      </div>
    );
  }

  return (
    <section className="view map-view" aria-label="Service map">
      <MapToolbar
        search={settings.search}
        matchCount={matches.length}
        protocols={settings.protocols}
        onSearch={(search) => update({ search }, 'replace')}
        onProtocols={(protocols) => update({ protocols }, 'replace')}
        collectors={collectors}
        collector={settings.collector}
        onCollector={(collector) => update({ collector, node: null, edge: null }, 'push')}
      />
      {answer.data && <NodeAnswers nodes={answer.data.nodes} truncated={answer.data.truncated} />}
      {answer.error && answer.data && (
        <ErrorMessage error={answer.error} onRetry={() => void answer.refetch()} />
      )}
      {body}
    </section>
  );
}
