/**
 * A layered (Sugiyama-style) layout for directed graphs, left to right: callers in columns before the services
 * they call. Pure and deterministic (the same input gives the same picture), so it can run in a worker and be
 * tested. The steps:
 *
 *  1. cycle breaking: the edges against a greedy vertex order (Eades, Lin, Smyth) are reversed;
 *  2. layering: longest path from the sources, then sources pulled right next to their first callee so a client
 *     of one deep service does not get a long edge across the whole map; empty layers are dropped;
 *  3. long edges are split into chains of dummy vertices, one per layer crossed, which become bend points (for
 *     very long edges, only beside their ends);
 *  4. crossing reduction: barycentre sweeps down and up, keeping the order with the fewest crossings (counted
 *     exactly with a Fenwick tree, O(E log V) per pair of layers);
 *  5. coordinates: columns as wide as their widest node; within a column, each vertex is pulled towards the mean
 *     of its neighbours and overlaps are resolved by isotonic regression (pool adjacent violators), which keeps
 *     the order and the gaps while moving vertices as little as possible.
 */

export interface LayoutNodeInput {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdgeInput {
  id: string;
  source: string;
  target: string;
}

export interface LayoutInput {
  nodes: LayoutNodeInput[];
  edges: LayoutEdgeInput[];
  /** Room between columns, when the edges need more than LAYOUT_SPACING.layerGap (to carry labels, say). */
  layerGap?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface PositionedNode {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
}

export interface RoutedEdge {
  id: string;
  /** From the source's side to the target's side, through the bend points. */
  points: Point[];
  /** The edge runs right to left: it closes a cycle. */
  reversed: boolean;
  /** The edge leaves and enters the same node: points are the loop's two ends on the node's top side. */
  selfLoop: boolean;
}

export interface GraphLayout {
  nodes: PositionedNode[];
  edges: RoutedEdge[];
  width: number;
  height: number;
}

export const LAYOUT_SPACING = {
  margin: 24,
  /** Horizontal room between two columns, where the edges run. */
  layerGap: 110,
  /** Vertical room between two nodes of a column. */
  nodeGap: 18,
  /** Height of a bend point, and its gap to its neighbours in a column. */
  dummyHeight: 8,
  dummyGap: 4,
};

const SWEEPS = 16;
/**
 * Edges crossing more columns than this get bend points only in the first and last column they cross. A call
 * graph is rarely that deep; when one is (a long chain with shortcuts), a bend point in every column would
 * multiply the work and the ink by the depth without making the picture any clearer.
 */
const MAX_BENDS = 6;
const COORDINATE_ROUNDS = 6;

/** A vertex of the layered graph: a real node (index < node count) or a bend point of a long edge. */
interface Vertex {
  layer: number;
  width: number;
  height: number;
  /** Neighbours in the layer before and after (vertex indices). */
  up: number[];
  down: number[];
}

/**
 * Which edges to reverse to break every cycle: the greedy order of Eades, Lin and Smyth (sinks go last, sources
 * first, otherwise the vertex with the most outgoing minus incoming edges next), and the edges pointing backwards
 * in that order. It reverses few edges, and they are the ones against the main flow. O(V² + E), ties by index.
 */
function backEdges(count: number, out: number[][]): Set<string> {
  const into: number[][] = out.map(() => []);
  out.forEach((targets, a) => targets.forEach((b) => into[b]!.push(a)));
  const inLeft = into.map((l) => l.length);
  const outLeft = out.map((l) => l.length);
  const removed = new Uint8Array(count);
  const rank = new Int32Array(count);
  let head = 0;
  let tail = count - 1;
  const remove = (v: number, at: number) => {
    removed[v] = 1;
    rank[v] = at;
    for (const w of out[v]!) inLeft[w]! -= 1;
    for (const w of into[v]!) outLeft[w]! -= 1;
  };
  while (head <= tail) {
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (let v = 0; v < count; v++) {
        if (removed[v] || outLeft[v] !== 0) continue;
        remove(v, tail--);
        progressed = true;
      }
      for (let v = 0; v < count; v++) {
        if (removed[v] || inLeft[v] !== 0) continue;
        remove(v, head++);
        progressed = true;
      }
    }
    let best = -1;
    for (let v = 0; v < count; v++) {
      if (!removed[v] && (best < 0 || outLeft[v]! - inLeft[v]! > outLeft[best]! - inLeft[best]!)) best = v;
    }
    if (best >= 0) remove(best, head++);
  }
  const reversed = new Set<string>();
  out.forEach((targets, a) => targets.forEach((b) => rank[b]! < rank[a]! && reversed.add(`${a},${b}`)));
  return reversed;
}

/**
 * Moves vertices between their callers and callees to shorten the edges (fewer bend points, less to draw):
 * moving a vertex one layer right lengthens each of its incoming edges by one and shortens each outgoing one, so
 * a vertex with more callees than callers goes right as far as its nearest callee allows, and the other way
 * round. Sources therefore sit just before the first service they call. Repeated until nothing moves.
 */
function shortenEdges(order: number[], out: number[][], pairs: [number, number][], layer: number[]): void {
  const into: number[][] = out.map(() => []);
  for (const [a, b] of pairs) into[b]!.push(a);
  for (let round = 0; round < 8; round++) {
    let moved = false;
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i]!;
      const callees = out[v]!;
      const callers = into[v]!;
      let target = layer[v]!;
      if (callees.length > callers.length) {
        target = Infinity;
        for (const w of callees) target = Math.min(target, layer[w]! - 1);
      } else if (callers.length > callees.length) {
        target = -Infinity;
        for (const w of callers) target = Math.max(target, layer[w]! + 1);
      }
      if (target !== layer[v] && Number.isFinite(target)) {
        layer[v] = target;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

/** Longest-path layers of a DAG given as unique (from, to) pairs, then edges shortened and empty layers dropped. */
function assignLayers(count: number, pairs: [number, number][]): number[] {
  const out: number[][] = Array.from({ length: count }, () => []);
  const inDegree = new Array<number>(count).fill(0);
  for (const [a, b] of pairs) {
    out[a]!.push(b);
    inDegree[b]! += 1;
  }
  const layer = new Array<number>(count).fill(0);
  const order: number[] = [];
  const remaining = [...inDegree];
  const queue = [...Array(count).keys()].filter((v) => remaining[v] === 0);
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    order.push(u);
    for (const v of out[u]!) {
      layer[v] = Math.max(layer[v]!, layer[u]! + 1);
      remaining[v]! -= 1;
      if (remaining[v] === 0) queue.push(v);
    }
  }
  shortenEdges(order, out, pairs, layer);
  const used = [...new Set(layer)].sort((a, b) => a - b);
  const compact = new Map(used.map((l, i) => [l, i]));
  return layer.map((l) => compact.get(l)!);
}

/**
 * Crossings between two adjacent layers. Each segment is coded as upper · lowerSize + lower so one numeric sort
 * orders them by upper then lower end; then every segment crosses the earlier ones whose lower end lies right of
 * its own, counted with a Fenwick tree.
 */
function countCrossings(codes: Float64Array, lowerSize: number, tree: Int32Array): number {
  codes.sort();
  tree.fill(0, 0, lowerSize + 1);
  let crossings = 0;
  for (let i = 0; i < codes.length; i++) {
    const lower = codes[i]! % lowerSize;
    let atOrBefore = 0;
    for (let j = lower + 1; j > 0; j -= j & -j) atOrBefore += tree[j]!;
    crossings += i - atOrBefore;
    for (let j = lower + 1; j <= lowerSize; j += j & -j) tree[j]! += 1;
  }
  return crossings;
}

function totalCrossings(layers: number[][], vertices: Vertex[], position: Int32Array): number {
  let total = 0;
  const tree = new Int32Array(Math.max(1, ...layers.map((l) => l.length)) + 1);
  for (let l = 0; l + 1 < layers.length; l++) {
    const lowerSize = layers[l + 1]!.length;
    // Only segments between these two layers; a long edge's jump over several columns is not counted.
    let size = 0;
    for (const v of layers[l]!) for (const w of vertices[v]!.down) if (vertices[w]!.layer === l + 1) size++;
    const codes = new Float64Array(size);
    let k = 0;
    for (const v of layers[l]!) {
      for (const w of vertices[v]!.down) {
        if (vertices[w]!.layer === l + 1) codes[k++] = position[v]! * lowerSize + position[w]!;
      }
    }
    total += countCrossings(codes, lowerSize, tree);
  }
  return total;
}

/** Sorts a layer by the mean position of each vertex's neighbours on one side (barycentre). */
function reorder(
  layer: number[],
  neighbours: (v: number) => number[],
  position: Int32Array,
  key: Float64Array,
): void {
  for (const v of layer) {
    const list = neighbours(v);
    if (list.length === 0) {
      key[v] = position[v]!;
      continue;
    }
    let sum = 0;
    for (const w of list) sum += position[w]!;
    key[v] = sum / list.length;
  }
  layer.sort((a, b) => key[a]! - key[b]! || position[a]! - position[b]!);
  for (let i = 0; i < layer.length; i++) position[layer[i]!] = i;
}

function reduceCrossings(layers: number[][], vertices: Vertex[]): void {
  const position = new Int32Array(vertices.length);
  const key = new Float64Array(vertices.length);
  for (const layer of layers) layer.forEach((v, i) => (position[v] = i));
  let best = layers.map((l) => [...l]);
  let bestCrossings = totalCrossings(layers, vertices, position);
  let stale = 0;
  for (let sweep = 0; sweep < SWEEPS && bestCrossings > 0 && stale < 3; sweep++) {
    if (sweep % 2 === 0) {
      for (let l = 1; l < layers.length; l++) reorder(layers[l]!, (v) => vertices[v]!.up, position, key);
    } else {
      for (let l = layers.length - 2; l >= 0; l--)
        reorder(layers[l]!, (v) => vertices[v]!.down, position, key);
    }
    const crossings = totalCrossings(layers, vertices, position);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = layers.map((l) => [...l]);
      stale = 0;
    } else stale += 1;
  }
  best.forEach((layer, l) => (layers[l] = layer));
}

/**
 * Centres closest (least squares) to `wanted` that keep the order and at least `gaps[i]` between centre i and
 * i + 1: subtracting the running sum of gaps turns it into isotonic regression, solved by pooling adjacent
 * violators.
 */
export function separatedPositions(wanted: number[], gaps: number[]): number[] {
  const offsets: number[] = [0];
  for (let i = 1; i < wanted.length; i++) offsets.push(offsets[i - 1]! + gaps[i - 1]!);
  const blocks: { sum: number; count: number }[] = [];
  for (let i = 0; i < wanted.length; i++) {
    blocks.push({ sum: wanted[i]! - offsets[i]!, count: 1 });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1]!;
      const before = blocks[blocks.length - 2]!;
      if (before.sum / before.count <= last.sum / last.count) break;
      before.sum += last.sum;
      before.count += last.count;
      blocks.pop();
    }
  }
  const result: number[] = [];
  for (const block of blocks) {
    const mean = block.sum / block.count;
    for (let k = 0; k < block.count; k++) result.push(mean + offsets[result.length]!);
  }
  return result;
}

function assignCentres(layers: number[][], vertices: Vertex[], realCount: number): Float64Array {
  const { nodeGap, dummyGap } = LAYOUT_SPACING;
  const centre = new Float64Array(vertices.length);
  const gapsOf = (layer: number[]) =>
    layer.slice(1).map((v, i) => {
      const u = layer[i]!;
      const gap = u < realCount && v < realCount ? nodeGap : dummyGap;
      return (vertices[u]!.height + vertices[v]!.height) / 2 + gap;
    });
  const gaps = layers.map(gapsOf);
  for (let l = 0; l < layers.length; l++) {
    const placed = separatedPositions(new Array<number>(layers[l]!.length).fill(0), gaps[l]!);
    layers[l]!.forEach((v, i) => (centre[v] = placed[i]!));
  }
  /** Mean centre of the neighbours on the given sides; the vertex's own centre without any. */
  const meanOf = (v: number, up: boolean, down: boolean) => {
    let sum = 0;
    let n = 0;
    const lists =
      up && down ? [vertices[v]!.up, vertices[v]!.down] : [up ? vertices[v]!.up : vertices[v]!.down];
    for (const list of lists) {
      for (const w of list) sum += centre[w]!;
      n += list.length;
    }
    return n > 0 ? sum / n : centre[v]!;
  };
  const pull = (l: number, up: boolean, down: boolean) => {
    const layer = layers[l]!;
    const placed = separatedPositions(
      layer.map((v) => meanOf(v, up, down)),
      gaps[l]!,
    );
    layer.forEach((v, i) => (centre[v] = placed[i]!));
  };
  for (let round = 0; round < COORDINATE_ROUNDS; round++) {
    for (let l = 1; l < layers.length; l++) pull(l, true, false);
    for (let l = layers.length - 2; l >= 0; l--) pull(l, false, true);
  }
  // A last pass towards both sides, so a vertex sits between its callers and its callees.
  for (let l = 0; l < layers.length; l++) pull(l, true, true);
  return centre;
}

export function layoutGraph(input: LayoutInput): GraphLayout {
  const { margin, dummyHeight } = LAYOUT_SPACING;
  const layerGap = input.layerGap ?? LAYOUT_SPACING.layerGap;
  const nodes = input.nodes;
  const count = nodes.length;
  const index = new Map(nodes.map((n, i) => [n.id, i]));

  // Unique node pairs in input order; self-loops and edges to unknown nodes take no part in the layout.
  const out: number[][] = Array.from({ length: count }, () => []);
  const seenPair = new Set<string>();
  for (const edge of input.edges) {
    const a = index.get(edge.source);
    const b = index.get(edge.target);
    if (a === undefined || b === undefined || a === b || seenPair.has(`${a},${b}`)) continue;
    seenPair.add(`${a},${b}`);
    out[a]!.push(b);
  }
  for (const list of out) list.sort((x, y) => x - y);
  const reversed = backEdges(count, out);

  const dagPairs: [number, number][] = [];
  const dagSeen = new Set<string>();
  for (let a = 0; a < count; a++) {
    for (const b of out[a]!) {
      const [from, to] = reversed.has(`${a},${b}`) ? [b, a] : [a, b];
      if (dagSeen.has(`${from},${to}`)) continue;
      dagSeen.add(`${from},${to}`);
      dagPairs.push([from, to]);
    }
  }
  const layerOf = assignLayers(count, dagPairs);

  const vertices: Vertex[] = nodes.map((n, i) => ({
    layer: layerOf[i]!,
    width: n.width,
    height: n.height,
    up: [],
    down: [],
  }));
  /** The vertex chain of each DAG pair, from its upper to its lower layer. */
  const chains = new Map<string, number[]>();
  for (const [from, to] of dagPairs) {
    const chain = [from];
    const first = layerOf[from]! + 1;
    const last = layerOf[to]! - 1;
    for (let l = first; l <= last; l++) {
      // A very long edge bends only beside its ends, and crosses the columns between in one curve.
      if (last - first + 1 > MAX_BENDS && l !== first && l !== last) continue;
      vertices.push({ layer: l, width: 0, height: dummyHeight, up: [], down: [] });
      chain.push(vertices.length - 1);
    }
    chain.push(to);
    for (let k = 0; k + 1 < chain.length; k++) {
      vertices[chain[k]!]!.down.push(chain[k + 1]!);
      vertices[chain[k + 1]!]!.up.push(chain[k]!);
    }
    chains.set(`${from},${to}`, chain);
  }

  const layerCount = count === 0 ? 0 : Math.max(...layerOf) + 1;
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  vertices.forEach((v, i) => layers[v.layer]!.push(i));
  reduceCrossings(layers, vertices);
  const centre = assignCentres(layers, vertices, count);

  const columnWidth = layers.map((layer) => Math.max(0, ...layer.map((v) => vertices[v]!.width)));
  const columnX: number[] = [];
  let x = margin;
  for (const width of columnWidth) {
    columnX.push(x);
    x += width + layerGap;
  }
  let top = Infinity;
  let bottom = -Infinity;
  vertices.forEach((v, i) => {
    top = Math.min(top, centre[i]! - v.height / 2);
    bottom = Math.max(bottom, centre[i]! + v.height / 2);
  });
  const shift = count === 0 ? 0 : margin - top;
  const vertexX = (v: number) =>
    columnX[vertices[v]!.layer]! + (columnWidth[vertices[v]!.layer]! - vertices[v]!.width) / 2;
  const centreY = (v: number) => centre[v]! + shift;

  const positioned: PositionedNode[] = nodes.map((n, i) => ({
    id: n.id,
    x: vertexX(i),
    y: centreY(i) - n.height / 2,
    width: n.width,
    height: n.height,
    layer: layerOf[i]!,
  }));

  const edges: RoutedEdge[] = [];
  for (const edge of input.edges) {
    const a = index.get(edge.source);
    const b = index.get(edge.target);
    if (a === undefined || b === undefined) continue;
    if (a === b) {
      const node = positioned[a]!;
      edges.push({
        id: edge.id,
        points: [
          { x: node.x + node.width * 0.62, y: node.y },
          { x: node.x + node.width * 0.38, y: node.y },
        ],
        reversed: false,
        selfLoop: true,
      });
      continue;
    }
    const forward = chains.get(`${a},${b}`);
    const chain = forward ?? chains.get(`${b},${a}`)!;
    // Out of the upper end's right side, through the bend points (width 0: the column's middle), into the
    // lower end's left side.
    const points = chain.map((v, k): Point => ({
      x: vertexX(v) + (k === 0 ? vertices[v]!.width : 0),
      y: centreY(v),
    }));
    edges.push({
      id: edge.id,
      points: forward ? points : points.reverse(),
      reversed: !forward,
      selfLoop: false,
    });
  }

  return {
    nodes: positioned,
    edges,
    width: count === 0 ? 0 : x - layerGap + margin,
    height: count === 0 ? 0 : bottom - top + 2 * margin,
  };
}

/**
 * An SVG path through the points with horizontal tangents at each point: smooth, and it leaves and enters the
 * nodes' sides straight. A self-loop is an arc over the node's top side.
 */
export function edgePath(edge: Pick<RoutedEdge, 'points' | 'selfLoop'>): string {
  const [first, ...rest] = edge.points;
  if (!first) return '';
  const r = (n: number) => Math.round(n * 10) / 10;
  if (edge.selfLoop && rest[0]) {
    const end = rest[0];
    const lift = Math.max(26, Math.abs(first.x - end.x));
    return `M${r(first.x)},${r(first.y)} C${r(first.x)},${r(first.y - lift)} ${r(end.x)},${r(end.y - lift)} ${r(end.x)},${r(end.y)}`;
  }
  let path = `M${r(first.x)},${r(first.y)}`;
  let previous = first;
  for (const point of rest) {
    const half = (point.x - previous.x) / 2;
    path += ` C${r(previous.x + half)},${r(previous.y)} ${r(point.x - half)},${r(point.y)} ${r(point.x)},${r(point.y)}`;
    previous = point;
  }
  return path;
}
