/**
 * Structural check of a HAR 1.2 document: every field the spec marks required is there with the right JSON type.
 * It answers with a list of problems, each with a path, instead of stopping at the first one, so that a user can
 * fix a hand-edited file in one go. Custom `_` fields and optional fields are not required, only type-checked
 * where the replayer relies on them.
 */

import type { Har } from './har.js';

export interface HarProblem {
  /** JSON path of the offending value, e.g. `$.log.entries[3].request.url`. */
  path: string;
  message: string;
}

/** Stop collecting once this many are found: a broken generator repeats one mistake in every entry. */
const MAX_PROBLEMS = 50;

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array';

function typeOf(value: unknown): JsonType | 'null' | 'undefined' | 'other' {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'object' ? type : 'other';
}

class ProblemList {
  readonly problems: HarProblem[] = [];

  get full(): boolean {
    return this.problems.length >= MAX_PROBLEMS;
  }

  add(path: string, message: string): void {
    if (!this.full) this.problems.push({ path, message });
  }

  /** Checks `owner[key]` has `type`; absent optional fields pass. Returns whether the value is usable. */
  field(owner: Record<string, unknown>, key: string, path: string, type: JsonType, required = true): boolean {
    const actual = typeOf(owner[key]);
    if (actual === 'undefined') {
      if (required) this.add(`${path}.${key}`, `required ${type} is missing`);
      return false;
    }
    if (actual !== type || (type === 'number' && !Number.isFinite(owner[key]))) {
      this.add(
        `${path}.${key}`,
        `expected ${type === 'number' ? 'a finite number' : `a ${type}`}, got ${actual}`,
      );
      return false;
    }
    return true;
  }
}

function checkNameValues(list: ProblemList, owner: Record<string, unknown>, key: string, path: string): void {
  if (!list.field(owner, key, path, 'array')) return;
  (owner[key] as unknown[]).forEach((item, i) => {
    const itemPath = `${path}.${key}[${i}]`;
    if (typeOf(item) !== 'object') {
      list.add(itemPath, 'expected an object with name and value');
      return;
    }
    list.field(item as Record<string, unknown>, 'name', itemPath, 'string');
    list.field(item as Record<string, unknown>, 'value', itemPath, 'string');
  });
}

function checkRequest(list: ProblemList, request: Record<string, unknown>, path: string): void {
  list.field(request, 'method', path, 'string');
  if (list.field(request, 'url', path, 'string') && !URL.canParse(request.url as string)) {
    list.add(`${path}.url`, `not an absolute URL: ${String(request.url).slice(0, 200)}`);
  }
  list.field(request, 'httpVersion', path, 'string');
  checkNameValues(list, request, 'cookies', path);
  checkNameValues(list, request, 'headers', path);
  checkNameValues(list, request, 'queryString', path);
  if (list.field(request, 'postData', path, 'object', false)) {
    const postData = request.postData as Record<string, unknown>;
    list.field(postData, 'mimeType', `${path}.postData`, 'string');
    list.field(postData, 'text', `${path}.postData`, 'string', false);
    if (postData.params !== undefined) checkNameValues(list, postData, 'params', `${path}.postData`);
  }
  list.field(request, 'headersSize', path, 'number');
  list.field(request, 'bodySize', path, 'number');
}

function checkResponse(list: ProblemList, response: Record<string, unknown>, path: string): void {
  if (list.field(response, 'status', path, 'number') && !Number.isInteger(response.status)) {
    list.add(`${path}.status`, 'expected an integer');
  }
  list.field(response, 'statusText', path, 'string');
  list.field(response, 'httpVersion', path, 'string');
  checkNameValues(list, response, 'cookies', path);
  checkNameValues(list, response, 'headers', path);
  if (list.field(response, 'content', path, 'object')) {
    const content = response.content as Record<string, unknown>;
    list.field(content, 'size', `${path}.content`, 'number');
    list.field(content, 'mimeType', `${path}.content`, 'string');
    list.field(content, 'text', `${path}.content`, 'string', false);
    list.field(content, 'encoding', `${path}.content`, 'string', false);
  }
  list.field(response, 'redirectURL', path, 'string');
  list.field(response, 'headersSize', path, 'number');
  list.field(response, 'bodySize', path, 'number');
}

function checkEntry(list: ProblemList, entry: Record<string, unknown>, path: string): void {
  if (list.field(entry, 'startedDateTime', path, 'string')) {
    if (Number.isNaN(Date.parse(entry.startedDateTime as string))) {
      list.add(`${path}.startedDateTime`, 'not an ISO 8601 date');
    }
  }
  if (list.field(entry, 'time', path, 'number') && (entry.time as number) < 0) {
    list.add(`${path}.time`, 'must not be negative');
  }
  if (list.field(entry, 'request', path, 'object')) {
    checkRequest(list, entry.request as Record<string, unknown>, `${path}.request`);
  }
  if (list.field(entry, 'response', path, 'object')) {
    checkResponse(list, entry.response as Record<string, unknown>, `${path}.response`);
  }
  list.field(entry, 'cache', path, 'object');
  if (list.field(entry, 'timings', path, 'object')) {
    const timings = entry.timings as Record<string, unknown>;
    for (const key of ['send', 'wait', 'receive']) list.field(timings, key, `${path}.timings`, 'number');
  }
  list.field(entry, 'connection', path, 'string', false);
}

/** Problems found in `value` as a HAR 1.2 document; empty when it is one. */
export function validateHar(value: unknown): HarProblem[] {
  const list = new ProblemList();
  if (typeOf(value) !== 'object') {
    list.add('$', 'a HAR file is a JSON object with a "log" member');
    return list.problems;
  }
  if (!list.field(value as Record<string, unknown>, 'log', '$', 'object')) return list.problems;
  const log = (value as { log: Record<string, unknown> }).log;
  if (list.field(log, 'version', '$.log', 'string') && log.version !== '1.2' && log.version !== '1.1') {
    list.add('$.log.version', `unsupported HAR version ${JSON.stringify(log.version)} (expected 1.2)`);
  }
  if (list.field(log, 'creator', '$.log', 'object')) {
    list.field(log.creator as Record<string, unknown>, 'name', '$.log.creator', 'string');
    list.field(log.creator as Record<string, unknown>, 'version', '$.log.creator', 'string');
  }
  if (list.field(log, 'entries', '$.log', 'array')) {
    const entries = log.entries as unknown[];
    for (let i = 0; i < entries.length && !list.full; i++) {
      const path = `$.log.entries[${i}]`;
      if (typeOf(entries[i]) !== 'object') list.add(path, 'expected an object');
      else checkEntry(list, entries[i] as Record<string, unknown>, path);
    }
  }
  return list.problems;
}

export function isHar(value: unknown): value is Har {
  return validateHar(value).length === 0;
}
