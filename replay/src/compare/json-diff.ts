/**
 * Structural diff of two JSON values: field by field, arrays index by index (a replay of the same request should
 * return items in the same order; an inserted element shows as changes from there on, which is what changed).
 * Noise rules are asked at every node before a difference is recorded.
 */

import { DifferenceList, shownValue } from './difference.js';
import { formatPath, type PathSegment } from './json-path.js';
import type { EndpointNoise } from './noise-rules.js';

/** Nodes deeper than this are compared whole: JSON.parse accepts nesting that would overflow a recursive walk. */
const MAX_DEPTH = 200;

type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonKind;
}

/** Iterative, so that nesting deeper than the call stack (JSON.parse accepts it) cannot overflow it. */
function deepEqual(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  while (pending.length > 0) {
    const [x, y] = pending.pop() as [unknown, unknown];
    if (x === y) continue;
    const kind = kindOf(x);
    if (kind !== kindOf(y)) return false;
    if (kind === 'array') {
      const xs = x as unknown[];
      const ys = y as unknown[];
      if (xs.length !== ys.length) return false;
      for (let i = 0; i < xs.length; i++) pending.push([xs[i], ys[i]]);
    } else if (kind === 'object') {
      const xo = x as Record<string, unknown>;
      const yo = y as Record<string, unknown>;
      const keys = Object.keys(xo);
      if (keys.length !== Object.keys(yo).length) return false;
      for (const key of keys) {
        if (!Object.hasOwn(yo, key)) return false;
        pending.push([xo[key], yo[key]]);
      }
    } else {
      return false;
    }
  }
  return true;
}

class JsonDiff {
  constructor(
    private readonly noise: EndpointNoise,
    private readonly out: DifferenceList,
  ) {}

  private record(
    path: PathSegment[],
    kind: 'added' | 'removed' | 'changed',
    expected: unknown,
    actual: unknown,
  ) {
    this.out.add({
      where: 'body',
      path: formatPath(path),
      kind,
      ...(kind === 'added' ? {} : { expected: shownValue(expected) }),
      ...(kind === 'removed' ? {} : { actual: shownValue(actual) }),
      segments: [...path],
      ...(kind === 'changed' && kindOf(expected) !== kindOf(actual)
        ? { note: `${kindOf(expected)} → ${kindOf(actual)}` }
        : {}),
    });
  }

  /** A member present on one side only: added or removed, unless a rule ignores that path. */
  private oneSided(path: PathSegment[], kind: 'added' | 'removed', value: unknown): void {
    if (this.noise.ignoresPath(path)) return;
    this.record(path, kind, kind === 'removed' ? value : undefined, kind === 'added' ? value : undefined);
  }

  walk(expected: unknown, actual: unknown, path: PathSegment[]): void {
    if (deepEqual(expected, actual)) return;
    if (this.noise.ignoresPath(path)) return;
    const kind = kindOf(expected);
    if (this.noise.typeOnlyAt(path)) {
      if (kind !== kindOf(actual)) this.record(path, 'changed', expected, actual);
      return;
    }
    if (kind !== kindOf(actual) || path.length >= MAX_DEPTH) {
      this.record(path, 'changed', expected, actual);
      return;
    }
    if (kind === 'object') {
      const before = expected as Record<string, unknown>;
      const after = actual as Record<string, unknown>;
      for (const key of Object.keys(before)) {
        path.push(key);
        if (Object.hasOwn(after, key)) this.walk(before[key], after[key], path);
        else this.oneSided(path, 'removed', before[key]);
        path.pop();
      }
      for (const key of Object.keys(after)) {
        if (Object.hasOwn(before, key)) continue;
        path.push(key);
        this.oneSided(path, 'added', after[key]);
        path.pop();
      }
      return;
    }
    if (kind === 'array') {
      const before = expected as unknown[];
      const after = actual as unknown[];
      for (let i = 0; i < Math.max(before.length, after.length); i++) {
        path.push(i);
        if (i >= after.length) this.oneSided(path, 'removed', before[i]);
        else if (i >= before.length) this.oneSided(path, 'added', after[i]);
        else this.walk(before[i], after[i], path);
        path.pop();
      }
      return;
    }
    if (kind === 'number' && this.noise.tolerates(path, expected as number, actual as number)) return;
    if (kind === 'string' && this.noise.hasRegexes) {
      const masked = this.noise.mask(expected as string, actual as string);
      if (masked.expected === masked.actual) {
        this.noise.credit(masked.rules);
        return;
      }
    }
    this.record(path, 'changed', expected, actual);
  }
}

/** Adds to `out` every difference between two parsed JSON bodies that no noise rule lets through. */
export function diffJson(
  expected: unknown,
  actual: unknown,
  noise: EndpointNoise,
  out: DifferenceList,
): void {
  new JsonDiff(noise, out).walk(expected, actual, []);
}
