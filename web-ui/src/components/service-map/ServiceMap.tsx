import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { edgePath, type GraphLayout, type PositionedNode, type RoutedEdge } from '../../domain/graph-layout';
import {
  HIGH_ERROR_RATE,
  neighbourhood,
  type ServiceEdge,
  type ServiceGraph,
  type ServiceNode,
} from '../../domain/service-graph';
import {
  ALWAYS_LABELLED_EDGES,
  edgeSummary,
  edgeWidth,
  isFailing,
  nodeSummary,
  shortName,
} from '../../domain/service-map-view';
import { usePanZoom } from './use-pan-zoom';
import './ServiceMap.css';

export interface ServiceMapProps {
  graph: ServiceGraph;
  layout: GraphLayout;
  selectedNode: string | null;
  selectedEdge: string | null;
  /** Nodes matching the search text, highlighted; the first one is brought into view. */
  matches: readonly string[];
  onSelectNode: (id: string) => void;
  onSelectEdge: (id: string) => void;
  onClear: () => void;
}

/** Where an edge's label goes: the middle of its route (exact on our curves, by their symmetry). */
function midpoint(route: RoutedEdge): { x: number; y: number } {
  const points = route.points;
  if (route.selfLoop) return { x: (points[0]!.x + points[1]!.x) / 2, y: points[0]!.y - 30 };
  const half = (points.length - 1) / 2;
  const a = points[Math.floor(half)]!;
  const b = points[Math.ceil(half)]!;
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

function EdgeLabel({ edge, route, dim }: { edge: ServiceEdge; route: RoutedEdge; dim: boolean }) {
  const [first, second] = edgeSummary(edge);
  const { x, y } = midpoint(route);
  const width = Math.max(first.length, second.length) * 6.2 + 12;
  return (
    <g
      className={`edge-label${isFailing(edge.errorRate) ? ' failing' : ''}${dim ? ' dim' : ''}`}
      transform={`translate(${x} ${y})`}
    >
      <rect x={-width / 2} y={-16} width={width} height={32} rx={4} />
      <text textAnchor="middle" y={-3}>
        {first}
      </text>
      <text textAnchor="middle" y={11} className="secondary">
        {second}
      </text>
    </g>
  );
}

interface EdgesLayerProps {
  edges: ServiceEdge[];
  routes: Map<string, RoutedEdge>;
  busiest: number;
  lit: Set<string> | null;
  selected: string | null;
  markers: { normal: string; failing: string };
  onSelect: (id: string) => void;
  onHover: (id: string | null) => void;
}

/** Every edge, failing ones drawn last so they are never hidden under busy healthy ones. Memoised: hovering or
 * panning does not redraw a thousand paths. */
const EdgesLayer = memo(function EdgesLayer(props: EdgesLayerProps) {
  const { edges, routes, busiest, lit, selected, markers, onSelect, onHover } = props;
  const ordered = useMemo(
    () => [...edges].sort((a, b) => Number(isFailing(a.errorRate)) - Number(isFailing(b.errorRate))),
    [edges],
  );
  return (
    <g className="edges">
      {ordered.map((edge) => {
        const route = routes.get(edge.id);
        if (!route) return null;
        const failing = isFailing(edge.errorRate);
        const d = edgePath(route);
        const classes = ['edge', failing ? 'failing' : '', edge.id === selected ? 'selected' : ''];
        if (lit && !lit.has(edge.id)) classes.push('dim');
        return (
          <g
            key={edge.id}
            className={classes.join(' ')}
            data-testid="map-edge"
            data-source={edge.source}
            data-target={edge.target}
            data-rate={edge.requestsPerSecond}
            data-protocol={edge.protocol}
            onClick={(event) => {
              event.stopPropagation();
              onSelect(edge.id);
            }}
            onPointerEnter={() => onHover(edge.id)}
            onPointerLeave={() => onHover(null)}
          >
            <path className="hit" d={d} />
            <path
              className="line"
              d={d}
              strokeWidth={edgeWidth(edge.requestsPerSecond, busiest)}
              markerEnd={`url(#${failing ? markers.failing : markers.normal})`}
            />
          </g>
        );
      })}
    </g>
  );
});

interface NodesLayerProps {
  nodes: ServiceNode[];
  boxes: Map<string, PositionedNode>;
  lit: Set<string> | null;
  matches: Set<string>;
  selected: string | null;
  onSelect: (id: string) => void;
  onFocusNode: (id: string) => void;
}

const NodesLayer = memo(function NodesLayer(props: NodesLayerProps) {
  const { nodes, boxes, lit, matches, selected, onSelect, onFocusNode } = props;
  return (
    <g className="nodes">
      {nodes.map((node) => {
        const box = boxes.get(node.id);
        if (!box) return null;
        const summary = nodeSummary(node);
        const classes = ['node', `kind-${node.kind}`];
        if (isFailing(node.inboundErrorRate)) classes.push('failing');
        if (node.id === selected) classes.push('selected');
        if (matches.has(node.id)) classes.push('match');
        if (lit && !lit.has(node.id)) classes.push('dim');
        const onKeyDown = (event: KeyboardEvent) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            onSelect(node.id);
          }
        };
        return (
          <g
            key={node.id}
            className={classes.join(' ')}
            transform={`translate(${box.x} ${box.y})`}
            tabIndex={0}
            role="button"
            aria-label={`${node.id}: ${summary}`}
            aria-pressed={node.id === selected}
            data-testid="map-node"
            data-name={node.id}
            data-kind={node.kind}
            onClick={(event) => {
              event.stopPropagation();
              onSelect(node.id);
            }}
            onKeyDown={onKeyDown}
            onFocus={() => onFocusNode(node.id)}
          >
            <title>{`${node.id}\n${summary}`}</title>
            <rect className="box" width={box.width} height={box.height} rx={6} />
            <rect className="stripe" width={5} height={box.height} rx={2} />
            <text className="name" x={13} y={19}>
              {shortName(node.id)}
            </text>
            <text className="summary" x={13} y={36}>
              {summary}
            </text>
          </g>
        );
      })}
    </g>
  );
});

/**
 * The service map drawn from a computed layout: boxes for services, curves with arrowheads for calls (wider for
 * more requests/s, red when failing), labels when the graph is small or on hover, pan and zoom, and the
 * neighbourhood of the selected node lit while the rest fades.
 */
export function ServiceMap(props: ServiceMapProps) {
  const { graph, layout, selectedNode, selectedEdge, matches, onSelectNode, onSelectEdge, onClear } = props;
  const svg = useRef<SVGSVGElement>(null);
  const viewport = useRef<SVGGElement>(null);
  const drawing = useMemo(() => ({ width: layout.width, height: layout.height }), [layout]);
  const view = usePanZoom(svg, viewport, drawing);
  const [hovered, setHovered] = useState<string | null>(null);
  const markerId = useId().replace(/:/g, '');
  const markers = useMemo(
    () => ({ normal: `${markerId}-arrow`, failing: `${markerId}-arrow-failing` }),
    [markerId],
  );

  const boxes = useMemo(() => new Map(layout.nodes.map((n) => [n.id, n])), [layout]);
  const routes = useMemo(() => new Map(layout.edges.map((e) => [e.id, e])), [layout]);
  const busiest = useMemo(() => Math.max(0, ...graph.edges.map((e) => e.requestsPerSecond)), [graph]);
  const lit = useMemo(() => {
    if (selectedNode) {
      const around = neighbourhood(graph, selectedNode);
      return around.nodes.size > 0 ? new Set([...around.nodes, ...around.edges]) : null;
    }
    if (selectedEdge) {
      const edge = graph.edges.find((e) => e.id === selectedEdge);
      return edge ? new Set([edge.id, edge.source, edge.target]) : null;
    }
    return null;
  }, [graph, selectedNode, selectedEdge]);
  const matchSet = useMemo(() => new Set(matches), [matches]);

  // A new layout is shown whole, or around the selected node when the page opened on one.
  useEffect(() => {
    const box = selectedNode ? boxes.get(selectedNode) : undefined;
    if (box) view.centreOn(box);
    else view.fit();
    // Only a new layout re-frames the view; selecting a node later must not jump the map.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout, view]);

  useEffect(() => {
    // The time the first laid-out graph reached the screen (after this frame is painted), for benchmarks.
    const frame = requestAnimationFrame(() =>
      setTimeout(() => (document.body.dataset.mapRendered = String(Date.now())), 0),
    );
    return () => cancelAnimationFrame(frame);
  }, [layout]);

  const firstMatch = matches[0];
  useEffect(() => {
    const box = firstMatch ? boxes.get(firstMatch) : undefined;
    if (box) view.centreOn(box);
  }, [firstMatch, boxes, view]);

  const onFocusNode = useCallback(
    (id: string) => {
      const box = boxes.get(id);
      if (box && !view.isVisible(box)) view.centreOn(box);
    },
    [boxes, view],
  );

  // Every label when few; else the hovered edge's and those of the selection's neighbourhood.
  const labelled: ServiceEdge[] = useMemo(() => {
    if (graph.edges.length <= ALWAYS_LABELLED_EDGES) return graph.edges;
    return graph.edges.filter((e) => e.id === hovered || lit?.has(e.id));
  }, [graph, hovered, lit]);

  return (
    <div className="service-map">
      <svg
        ref={svg}
        data-testid="service-map"
        role="group"
        aria-label={`Service map: ${graph.nodes.length} services, ${graph.edges.length} calls. Tab through the services; Enter opens one.`}
        onClick={onClear}
      >
        <defs>
          {[
            [markers.normal, 'arrow'],
            [markers.failing, 'arrow failing'],
          ].map(([id, className]) => (
            <marker
              key={id}
              id={id}
              viewBox="0 0 10 10"
              refX={9}
              refY={5}
              markerWidth={9}
              markerHeight={9}
              markerUnits="userSpaceOnUse"
              orient="auto"
            >
              <path className={className} d="M0,0 L10,5 L0,10 z" />
            </marker>
          ))}
        </defs>
        <g ref={viewport}>
          <EdgesLayer
            edges={graph.edges}
            routes={routes}
            busiest={busiest}
            lit={lit}
            selected={selectedEdge}
            markers={markers}
            onSelect={onSelectEdge}
            onHover={setHovered}
          />
          <NodesLayer
            nodes={graph.nodes}
            boxes={boxes}
            lit={lit}
            matches={matchSet}
            selected={selectedNode}
            onSelect={onSelectNode}
            onFocusNode={onFocusNode}
          />
          <g className="labels" aria-hidden>
            {labelled.map((edge) => {
              const route = routes.get(edge.id);
              return route ? (
                <EdgeLabel key={edge.id} edge={edge} route={route} dim={lit !== null && !lit.has(edge.id)} />
              ) : null;
            })}
          </g>
        </g>
      </svg>
      <div className="map-legend" aria-hidden>
        <span>
          <span className="swatch kind-service" />
          HTTP service
        </span>
        <span>
          <span className="swatch kind-database" />
          database
        </span>
        <span>
          <span className="swatch kind-client" />
          client
        </span>
        <span>
          <span className="swatch kind-external" />
          external (address only)
        </span>
        <span>
          <span className="swatch failing" />≥ {HIGH_ERROR_RATE * 100}% errors
        </span>
      </div>
      <div className="map-zoom" role="toolbar" aria-label="Zoom">
        <button type="button" aria-label="Zoom in" title="Zoom in" onClick={() => view.zoomBy(1.3)}>
          +
        </button>
        <button type="button" aria-label="Zoom out" title="Zoom out" onClick={() => view.zoomBy(1 / 1.3)}>
          −
        </button>
        <button
          type="button"
          aria-label="Fit the map to the screen"
          title="Fit to screen"
          onClick={() => view.fit()}
        >
          Fit
        </button>
      </div>
    </div>
  );
}
