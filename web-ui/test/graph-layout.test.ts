import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { edgePath, layoutGraph, separatedPositions, type LayoutInput } from '../src/domain/graph-layout.js';

/** A deterministic random graph: callers mostly before callees, plus a few edges back (cycles). */
function randomGraph(nodeCount: number, edgeCount: number, seed = 7): LayoutInput {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    id: `svc-${i}:8080`,
    width: 140 + Math.floor(next() * 100),
    height: 44,
  }));
  const pairs = new Set<string>();
  while (pairs.size < edgeCount) {
    const a = Math.floor(next() * nodeCount);
    const b = Math.floor(next() * nodeCount);
    if (a === b) continue;
    // One edge in twenty runs against the flow.
    const [from, to] = next() < 0.05 ? [Math.max(a, b), Math.min(a, b)] : [Math.min(a, b), Math.max(a, b)];
    pairs.add(`${from},${to}`);
  }
  const edges = [...pairs].map((pair) => {
    const [a, b] = pair.split(',');
    return { id: `e${pair}`, source: `svc-${a}:8080`, target: `svc-${b}:8080` };
  });
  return { nodes, edges };
}

function overlaps(layout: ReturnType<typeof layoutGraph>): number {
  let count = 0;
  const nodes = layout.nodes;
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) count++;
    }
  }
  return count;
}

describe('layered graph layout', () => {
  it('places a chain left to right, straight', () => {
    const layout = layoutGraph({
      nodes: ['a', 'b', 'c'].map((id) => ({ id, width: 100, height: 40 })),
      edges: [
        { id: 'ab', source: 'a', target: 'b' },
        { id: 'bc', source: 'b', target: 'c' },
      ],
    });
    const [a, b, c] = layout.nodes;
    assert.ok(a!.x + a!.width < b!.x && b!.x + b!.width < c!.x);
    assert.equal(a!.y, b!.y);
    assert.equal(b!.y, c!.y);
    assert.deepEqual(
      layout.nodes.map((n) => n.layer),
      [0, 1, 2],
    );
    const ab = layout.edges.find((e) => e.id === 'ab')!;
    assert.deepEqual(ab.points[0], { x: a!.x + a!.width, y: a!.y + 20 });
    assert.deepEqual(ab.points.at(-1), { x: b!.x, y: b!.y + 20 });
  });

  it('breaks cycles and routes the closing edge backwards', () => {
    const layout = layoutGraph({
      nodes: ['a', 'b', 'c'].map((id) => ({ id, width: 100, height: 40 })),
      edges: [
        { id: 'ab', source: 'a', target: 'b' },
        { id: 'bc', source: 'b', target: 'c' },
        { id: 'ca', source: 'c', target: 'a' },
        { id: 'aa', source: 'a', target: 'a' },
      ],
    });
    const ca = layout.edges.find((e) => e.id === 'ca')!;
    assert.equal(ca.reversed, true);
    assert.ok(ca.points[0]!.x > ca.points.at(-1)!.x, 'drawn from c (right) to a (left)');
    assert.equal(layout.edges.find((e) => e.id === 'aa')!.selfLoop, true);
    assert.ok(edgePath(layout.edges.find((e) => e.id === 'aa')!).startsWith('M'));
  });

  it('keeps order and gaps while moving vertices as little as possible', () => {
    assert.deepEqual(separatedPositions([0, 0, 0], [10, 10]), [-10, 0, 10]);
    assert.deepEqual(separatedPositions([0, 50, 100], [10, 10]), [0, 50, 100]);
    assert.deepEqual(separatedPositions([5, 0], [10]), [-2.5, 7.5]);
  });

  it('lays out 200 services and 1,000 edges without overlaps, mostly forward, fast and deterministically', () => {
    const input = randomGraph(200, 1000);
    const started = performance.now();
    const layout = layoutGraph(input);
    const ms = performance.now() - started;
    assert.equal(layout.nodes.length, 200);
    assert.equal(layout.edges.length, 1000);
    assert.equal(overlaps(layout), 0);
    const forward = layout.edges.filter((e) => e.points[0]!.x < e.points.at(-1)!.x).length;
    assert.ok(forward >= 900, `${forward} of 1000 edges point forward`);
    for (const node of layout.nodes) {
      assert.ok(node.x >= 0 && node.y >= 0 && node.x + node.width <= layout.width);
      assert.ok(node.y + node.height <= layout.height);
    }
    assert.deepEqual(layoutGraph(input), layout, 'the same input gives the same layout');
    assert.ok(ms < 500, `layout took ${ms.toFixed(0)} ms`);
    console.log(`layout of 200 nodes / 1000 edges: ${ms.toFixed(1)} ms`);
  });

  it('lays out an empty graph', () => {
    assert.deepEqual(layoutGraph({ nodes: [], edges: [] }), { nodes: [], edges: [], width: 0, height: 0 });
  });
});
