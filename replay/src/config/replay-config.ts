/**
 * replay.yaml: which response headers to compare and the noise rules to apply. Unknown keys are errors, not
 * silently ignored: a misspelt rule that does nothing would let a CI run pass for the wrong reason.
 *
 *   compare:
 *     headers: [content-type, etag]
 *   noise:
 *     - ignore_header: date
 *     - ignore_path: $.items[*].id
 *       endpoint: GET /orders/:id        # optional scope, as endpoints are written in reports
 *     - ignore_regex: '\d{4}-\d\d-\d\dT[0-9:.]+Z'
 *     - tolerance: $.total
 *       absolute: 0.01                   # and/or relative: 0.001 (a fraction of the larger value)
 *     - type_only: $.createdAt
 */

import fs from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_COMPARED_HEADERS } from '../compare/response-comparison.js';
import type { NoiseRule } from '../compare/noise-rules.js';
import { PathPattern } from '../compare/json-path.js';

export interface ReplayConfig {
  compareHeaders: string[];
  noise: NoiseRule[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const RULE_KINDS = ['ignore_header', 'ignore_path', 'ignore_regex', 'tolerance', 'type_only'] as const;

export const DEFAULT_CONFIG: ReplayConfig = { compareHeaders: [...DEFAULT_COMPARED_HEADERS], noise: [] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(`${where}: unknown key ${unknown.join(', ')} (expected ${allowed.join(', ')})`);
  }
}

function nonEmptyString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigError(`${where}: expected a non-empty string`);
  return value.trim();
}

function jsonPath(value: unknown, where: string): string {
  const path = nonEmptyString(value, where);
  try {
    PathPattern.parse(path);
  } catch (error) {
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return path;
}

function bound(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${where}: expected a number ≥ 0`);
  }
  return value;
}

function parseRule(value: unknown, index: number, origin: string): NoiseRule {
  const where = `noise[${index}]`;
  if (!isPlainObject(value))
    throw new ConfigError(`${where}: expected a mapping such as {ignore_path: $.id}`);
  const kinds = RULE_KINDS.filter((kind) => kind in value);
  if (kinds.length !== 1) {
    throw new ConfigError(`${where}: needs exactly one of ${RULE_KINDS.join(', ')}`);
  }
  const kind = kinds[0] as (typeof RULE_KINDS)[number];
  checkKeys(
    value,
    kind === 'tolerance' ? [kind, 'absolute', 'relative', 'endpoint'] : [kind, 'endpoint'],
    where,
  );
  const scope =
    value.endpoint === undefined ? {} : { endpoint: nonEmptyString(value.endpoint, `${where}.endpoint`) };
  const base = { ...scope, origin };
  switch (kind) {
    case 'ignore_header':
      return {
        kind: 'ignore-header',
        header: nonEmptyString(value[kind], `${where}.${kind}`).toLowerCase(),
        ...base,
      };
    case 'ignore_path':
      return { kind: 'ignore-path', path: jsonPath(value[kind], `${where}.${kind}`), ...base };
    case 'type_only':
      return { kind: 'type-only', path: jsonPath(value[kind], `${where}.${kind}`), ...base };
    case 'ignore_regex': {
      const regex = nonEmptyString(value[kind], `${where}.${kind}`);
      try {
        new RegExp(regex, 'g');
      } catch (error) {
        throw new ConfigError(`${where}.${kind}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return { kind: 'ignore-regex', regex, ...base };
    }
    case 'tolerance': {
      const absolute = bound(value.absolute, `${where}.absolute`);
      const relative = bound(value.relative, `${where}.relative`);
      if (absolute === undefined && relative === undefined) {
        throw new ConfigError(`${where}: a tolerance needs absolute, relative or both`);
      }
      return {
        kind: 'tolerance',
        path: jsonPath(value[kind], `${where}.${kind}`),
        ...(absolute === undefined ? {} : { absolute }),
        ...(relative === undefined ? {} : { relative }),
        ...base,
      };
    }
  }
}

/** @param source named in errors and in each rule's origin */
export function parseReplayConfig(text: string, source: string): ReplayConfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (document === null || document === undefined)
    return { ...DEFAULT_CONFIG, compareHeaders: [...DEFAULT_COMPARED_HEADERS] };
  try {
    if (!isPlainObject(document)) throw new ConfigError('expected a mapping with compare and noise');
    checkKeys(document, ['compare', 'noise'], 'top level');
    let compareHeaders = [...DEFAULT_COMPARED_HEADERS];
    if (document.compare !== undefined) {
      if (!isPlainObject(document.compare)) throw new ConfigError('compare: expected a mapping with headers');
      checkKeys(document.compare, ['headers'], 'compare');
      const headers = document.compare.headers;
      if (headers !== undefined) {
        if (!Array.isArray(headers))
          throw new ConfigError('compare.headers: expected a list of header names');
        compareHeaders = headers.map((name, i) =>
          nonEmptyString(name, `compare.headers[${i}]`).toLowerCase(),
        );
      }
    }
    const noise = document.noise ?? [];
    if (!Array.isArray(noise)) throw new ConfigError('noise: expected a list of rules');
    return { compareHeaders, noise: noise.map((rule, i) => parseRule(rule, i, source)) };
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.message}`);
    throw error;
  }
}

export async function readReplayConfig(file: string): Promise<ReplayConfig> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_CONFIG_BYTES)
      throw new ConfigError(`${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseReplayConfig(text, file);
}
