/** One way a replayed response differs from the recorded one, and the bounded list a comparison collects. */

import type { PathSegment } from './json-path.js';

export type DifferenceKind = 'added' | 'removed' | 'changed';

export interface Difference {
  where: 'status' | 'header' | 'body';
  /** `status`, the header's name, a JSON path (`$.items[2].price`) or `line N` of a text body. */
  path: string;
  kind: DifferenceKind;
  /** Recorded value, shown as JSON (absent for `added`). */
  expected?: string;
  /** Replayed value, shown as JSON (absent for `removed`). */
  actual?: string;
  /** The JSON path as segments, for learning a rule from it. */
  segments?: readonly PathSegment[];
  note?: string;
}

/** Longest value shown in a difference; reports are for people, the HAR has the full bodies. */
const MAX_SHOWN_VALUE = 300;
/** Differences kept per response; past this only a count, since one wrong type can differ in every element. */
export const MAX_DIFFERENCES = 100;

function serialized(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value);
  } catch {
    // Nested deeper than the call stack allows to serialise.
    return '[too deeply nested to show]';
  }
}

export function shownValue(value: unknown): string {
  const text = serialized(value);
  return text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE - 1)}…` : text;
}

export class DifferenceList {
  readonly items: Difference[] = [];
  /** Differences found beyond MAX_DIFFERENCES. */
  omitted = 0;

  constructor(private readonly cap = MAX_DIFFERENCES) {}

  add(difference: Difference): void {
    if (this.items.length < this.cap) this.items.push(difference);
    else this.omitted += 1;
  }

  get count(): number {
    return this.items.length + this.omitted;
  }
}

export function describeDifference(difference: Difference): string {
  const { where, path, kind, expected, actual } = difference;
  const subject = where === 'status' ? 'status' : where === 'header' ? `header ${path}` : path;
  const note = difference.note ? ` (${difference.note})` : '';
  switch (kind) {
    case 'added':
      return `${subject} added: ${actual}${note}`;
    case 'removed':
      return `${subject} removed (was ${expected})${note}`;
    case 'changed':
      return `${subject} changed: ${expected} → ${actual}${note}`;
  }
}
