/**
 * Bundled scripts: DuckDB SQL with named parameters (`$window`) next to a JSON spec of those parameters and of
 * the widgets that show the result. query-engine/scripts/NAME.sql + NAME.json make the script NAME.
 *
 * Parameter values arrive as text or JSON scalars (CLI `--param k=v`, API `params`), are checked against the
 * declared type here, and reach the SQL only as typed literals in the parse tree (planner/bind-values.ts).
 */

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedValue } from '../planner/bind-values.js';
import { QueryError } from '../sql-guard.js';

export type ParamType = 'string' | 'integer' | 'number' | 'interval' | 'timestamp' | 'boolean';

export interface ScriptParam {
  name: string;
  type: ParamType;
  default?: string | number | boolean;
  description: string;
}

export interface ScriptWidget {
  /** table, graph (nodes and edges), timeseries, bar. */
  type: string;
  title?: string;
  /** Which result columns the widget reads, by role (x, y, series, source, target, ...). */
  columns: Record<string, string | string[]>;
}

export interface ScriptSpec {
  name: string;
  title: string;
  description: string;
  params: ScriptParam[];
  widgets: ScriptWidget[];
}

export interface Script extends ScriptSpec {
  sql: string;
}

const DUCKDB_TYPES: Record<ParamType, string> = {
  string: 'VARCHAR',
  integer: 'BIGINT',
  number: 'DOUBLE',
  interval: 'INTERVAL',
  timestamp: 'TIMESTAMP',
  boolean: 'BOOLEAN',
};

/** What each type accepts as text; DuckDB's cast is the final judge, this gives the clearer error first. */
const VALUE_PATTERNS: Record<ParamType, RegExp> = {
  string: /^[^\0]{0,10000}$/,
  integer: /^-?\d{1,18}$/,
  number: /^-?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i,
  interval:
    /^\s*\d+(\.\d+)?\s*(microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?|months?|years?|[smhd])\s*$/i,
  timestamp: /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/,
  boolean: /^(true|false)$/i,
};

/** scripts/ of the query-engine package, from dist/src/scripts/ or src/scripts/. */
export function bundledScriptsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const packageRoot = here.includes(`${path.sep}dist${path.sep}`)
    ? path.resolve(here, '../../..')
    : path.resolve(here, '../..');
  return path.join(packageRoot, 'scripts');
}

const MAX_SCRIPTS = 200;

export class ScriptLibrary {
  private constructor(private readonly scripts: Map<string, Script>) {}

  static async load(dir: string): Promise<ScriptLibrary> {
    const names = (await readdir(dir)).filter((file) => file.endsWith('.json')).slice(0, MAX_SCRIPTS);
    const scripts = new Map<string, Script>();
    for (const file of names.sort()) {
      const spec = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as ScriptSpec;
      const sql = await readFile(path.join(dir, file.replace(/\.json$/, '.sql')), 'utf8');
      if (spec.name !== path.basename(file, '.json')) {
        throw new Error(`script ${file}: "name" is ${spec.name}, expected ${path.basename(file, '.json')}`);
      }
      scripts.set(spec.name, { ...spec, sql });
    }
    return new ScriptLibrary(scripts);
  }

  static loadBundled(): Promise<ScriptLibrary> {
    return ScriptLibrary.load(bundledScriptsDir());
  }

  list(): Script[] {
    return [...this.scripts.values()];
  }

  get(name: string): Script {
    const script = this.scripts.get(name);
    if (!script) {
      throw new QueryError(
        'UNKNOWN_SCRIPT',
        `no script ${name}; scripts: ${[...this.scripts.keys()].join(', ')}`,
        404,
      );
    }
    return script;
  }

  /** The script's SQL and its parameters as typed values: given ones checked, missing ones defaulted. */
  resolve(name: string, given: Record<string, unknown>): { sql: string; params: Record<string, TypedValue> } {
    const script = this.get(name);
    const declared = new Map(script.params.map((param) => [param.name, param]));
    for (const key of Object.keys(given)) {
      if (!declared.has(key)) {
        throw new QueryError(
          'SQL_PARAMETER',
          `script ${name} has no parameter ${key}; it has: ${[...declared.keys()].join(', ')}`,
        );
      }
    }
    const params: Record<string, TypedValue> = {};
    for (const param of script.params) {
      const raw = given[param.name] ?? param.default;
      if (raw === undefined || raw === null) {
        throw new QueryError('SQL_PARAMETER', `script ${name} needs parameter ${param.name} (${param.type})`);
      }
      const text = String(raw);
      if (!VALUE_PATTERNS[param.type].test(text)) {
        throw new QueryError(
          'SQL_PARAMETER',
          `parameter ${param.name}: '${text}' is not a valid ${param.type}`,
        );
      }
      params[param.name] = { text, type: DUCKDB_TYPES[param.type] };
    }
    return { sql: script.sql, params };
  }
}
