/**
 * Compares two HTTP responses to the same request: the status, the headers chosen in the config, and the body
 * (structurally when both sides are JSON, by line otherwise). Used for recorded-vs-replayed and, to learn noise,
 * for replayed-vs-replayed.
 */

import { DifferenceList, shownValue } from './difference.js';
import { diffJson } from './json-diff.js';
import type { EndpointNoise } from './noise-rules.js';
import { diffText } from './text-diff.js';

export interface ComparableHeader {
  name: string;
  value: string;
  /** The value was replaced at capture and says nothing about the response. */
  redacted?: boolean;
}

export interface ComparableResponse {
  status: number;
  headers: readonly ComparableHeader[];
  body: string;
  /** Only the start of the body is known (cut at capture, or past the replayer's read limit). */
  bodyTruncated: boolean;
}

export interface ComparisonOptions {
  /** Lower-case names of the headers compared; the rest are not looked at. */
  compareHeaders: readonly string[];
  noise: EndpointNoise;
  /** Differences listed before only a count is kept; default MAX_DIFFERENCES. */
  maxDifferences?: number;
}

export const DEFAULT_COMPARED_HEADERS: readonly string[] = ['content-type'];

function findHeader(headers: readonly ComparableHeader[], name: string): ComparableHeader | undefined {
  return headers.find((header) => header.name.toLowerCase() === name);
}

function compareHeaders(
  expected: ComparableResponse,
  actual: ComparableResponse,
  options: ComparisonOptions,
  out: DifferenceList,
): void {
  for (const name of options.compareHeaders) {
    const before = findHeader(expected.headers, name);
    const after = findHeader(actual.headers, name);
    if (before?.redacted || after?.redacted || before?.value === after?.value) continue;
    if (options.noise.ignoresHeader(name)) continue;
    const kind = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
    out.add({
      where: 'header',
      path: name,
      kind,
      ...(before ? { expected: shownValue(before.value) } : {}),
      ...(after ? { actual: shownValue(after.value) } : {}),
    });
  }
}

/** A body worth parsing as JSON: cheap test first, so text bodies are not parsed on every comparison. */
function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  const start = body.trimStart()[0];
  if (start !== '{' && start !== '[') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

/** A partly known body can only be compared on the part both sides have. */
function knownPrefixes(expected: ComparableResponse, actual: ComparableResponse): [string, string, string] {
  let limit = Infinity;
  // A body cut inside a multi-byte character ends in a replacement character that the other side lacks.
  const trimmed = (body: string) => body.replace(/\uFFFD+$/, '');
  const before = expected.bodyTruncated ? trimmed(expected.body) : expected.body;
  const after = actual.bodyTruncated ? trimmed(actual.body) : actual.body;
  if (expected.bodyTruncated) limit = Math.min(limit, before.length);
  if (actual.bodyTruncated) limit = Math.min(limit, after.length);
  const which = expected.bodyTruncated ? 'recorded' : 'replayed';
  return [
    before.slice(0, limit),
    after.slice(0, limit),
    `${which} body is cut; compared its first ${limit} characters`,
  ];
}

function compareBodies(
  expected: ComparableResponse,
  actual: ComparableResponse,
  options: ComparisonOptions,
  out: DifferenceList,
): void {
  if (expected.bodyTruncated || actual.bodyTruncated) {
    const [before, after, note] = knownPrefixes(expected, actual);
    const found = new DifferenceList(options.maxDifferences);
    diffText(before, after, options.noise, found);
    for (const difference of found.items) out.add({ ...difference, note });
    return;
  }
  if (expected.body === actual.body) return;
  const before = parseJson(expected.body);
  const after = parseJson(actual.body);
  if (before.ok && after.ok) diffJson(before.value, after.value, options.noise, out);
  else diffText(expected.body, actual.body, options.noise, out);
}

export function compareResponses(
  expected: ComparableResponse,
  actual: ComparableResponse,
  options: ComparisonOptions,
): DifferenceList {
  const out = new DifferenceList(options.maxDifferences);
  if (expected.status !== actual.status) {
    out.add({
      where: 'status',
      path: 'status',
      kind: 'changed',
      expected: String(expected.status),
      actual: String(actual.status),
    });
  }
  compareHeaders(expected, actual, options, out);
  compareBodies(expected, actual, options, out);
  return out;
}
