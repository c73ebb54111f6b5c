/**
 * Learned noise: whatever differs between two responses to the same request, when nothing changed in between
 * but time, is not something a new build did. Two replays of one request (or two identical recorded requests)
 * are compared with no rules; each difference becomes a rule scoped to the request's endpoint, with an origin
 * that says where it was learned.
 */

import { compareResponses, type ComparableResponse } from '../compare/response-comparison.js';
import { wildcardIndices } from '../compare/json-path.js';
import { NoiseRuleSet, type NoiseRule } from '../compare/noise-rules.js';

/** Kinds of values that change on every call. Tried in order; the first ones are the most specific. */
const VOLATILE_TEXT = [
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
  '\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?',
  '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d\\d [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT',
  '\\b[0-9a-fA-F]{16,}\\b',
  '[A-Za-z0-9_-]{20,}(?:\\.[A-Za-z0-9_-]{4,}){0,2}',
  '\\d+(?:\\.\\d+)?',
];

/** Enough to see every field of a large list; the generalised rules are deduplicated. */
const LEARNING_DIFFERENCE_CAP = 10_000;

/**
 * The volatile-value patterns that make two texts equal once masked, or none when masking them all still
 * leaves a difference: then the texts differ in something other than ids and clocks, and nothing is learned.
 */
export function volatileTextPatterns(first: string, second: string): string[] {
  const used: string[] = [];
  let a = first;
  let b = second;
  for (const pattern of VOLATILE_TEXT) {
    if (a === b) break;
    const regex = new RegExp(pattern, 'g');
    const nextA = a.replace(regex, '\u0000');
    const nextB = b.replace(regex, '\u0000');
    if (nextA !== a || nextB !== b) used.push(pattern);
    a = nextA;
    b = nextB;
  }
  return a === b ? used : [];
}

/**
 * Rules under which `first` and `second` compare equal, as far as ids, clocks and tokens explain the
 * difference. A different status, or a list that grew, is not noise and teaches nothing.
 */
export function learnFromPair(
  endpoint: string,
  first: ComparableResponse,
  second: ComparableResponse,
  compareHeaders: readonly string[],
  origin: string,
): NoiseRule[] {
  const noise = new NoiseRuleSet().forEndpoint(endpoint);
  const differences = compareResponses(first, second, {
    compareHeaders,
    noise,
    maxDifferences: LEARNING_DIFFERENCE_CAP,
  });
  const rules: NoiseRule[] = [];
  for (const difference of differences.items) {
    if (difference.where === 'header') {
      rules.push({ kind: 'ignore-header', header: difference.path, endpoint, origin });
    } else if (difference.where === 'body' && difference.segments !== undefined) {
      const last = difference.segments[difference.segments.length - 1];
      if (difference.kind !== 'changed' && typeof last === 'number') continue;
      rules.push({ kind: 'ignore-path', path: wildcardIndices(difference.segments), endpoint, origin });
    }
  }
  const textChanged = differences.items.some((d) => d.where === 'body' && d.segments === undefined);
  if (textChanged) {
    for (const regex of volatileTextPatterns(first.body, second.body)) {
      rules.push({ kind: 'ignore-regex', regex, endpoint, origin });
    }
  }
  return rules;
}
