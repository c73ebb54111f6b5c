/**
 * A bundled script's parameters as the Scripts view handles them: values kept in the URL as `p.<name>`, the
 * `window` defaulting to the shell's time range, checked as the broker will check them, and inlined as SQL
 * literals when a script is opened in the ad-hoc editor (which binds no `$name` parameters).
 */
import type { ScriptInfo, ScriptParam } from '../api/types.js';
import { sqlString } from './sql-literal.js';
import { scriptWindow, type TimeRange } from './time-range.js';

/** URL keys of parameter values: `p.window`, `p.limit`, ... */
export const PARAM_PREFIX = 'p.';

/** The script parameter every bundled script has: how far back to look. */
const WINDOW_PARAM = 'window';

/** What each type accepts as text; the broker applies the same rules and DuckDB's cast is the final judge. */
const VALUE_PATTERNS: Record<ScriptParam['type'], RegExp> = {
  string: /^[^\0]{0,10000}$/,
  integer: /^-?\d{1,18}$/,
  number: /^-?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i,
  interval:
    /^\s*\d+(\.\d+)?\s*(microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?|months?|years?|[smhd])\s*$/i,
  timestamp: /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/,
  boolean: /^(true|false)$/i,
};

const EXAMPLES: Record<ScriptParam['type'], string> = {
  string: 'any text',
  integer: 'a whole number',
  number: 'a number',
  interval: "e.g. '15 minutes' or '1 hour'",
  timestamp: 'e.g. 2026-11-28 10:00:00',
  boolean: 'true or false',
};

/** The value each parameter starts with: from the URL, else the window of the time range, else the default. */
export function paramValues(
  script: ScriptInfo,
  urlParams: Record<string, string>,
  range: TimeRange,
  now: Date = new Date(),
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const param of script.params) {
    const fromUrl = urlParams[PARAM_PREFIX + param.name];
    if (fromUrl !== undefined) values[param.name] = fromUrl;
    else if (param.name === WINDOW_PARAM && param.type === 'interval')
      values[param.name] = scriptWindow(range, now);
    else values[param.name] = param.default === undefined ? '' : String(param.default);
  }
  return values;
}

/** Why a value would be refused, or null when it is fine. */
export function paramProblem(param: ScriptParam, text: string): string | null {
  if (text === '' && param.type !== 'string') return `${param.name} needs ${EXAMPLES[param.type]}`;
  return VALUE_PATTERNS[param.type].test(text) ? null : `${param.name}: ${EXAMPLES[param.type]}`;
}

/** The problems of all values, by parameter name; empty when the script can run. */
export function paramProblems(script: ScriptInfo, values: Record<string, string>): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const param of script.params) {
    const problem = paramProblem(param, values[param.name] ?? '');
    if (problem) problems[param.name] = problem;
  }
  return problems;
}

/** The URL params of a script with these values; values equal to what the form would start with are left out. */
export function paramsToUrl(
  script: ScriptInfo,
  values: Record<string, string>,
  range: TimeRange,
): Record<string, string> {
  const starting = paramValues(script, {}, range);
  const out: Record<string, string> = {};
  for (const param of script.params) {
    const value = values[param.name];
    if (value !== undefined && value !== starting[param.name]) out[PARAM_PREFIX + param.name] = value;
  }
  return out;
}

/** A value as a typed SQL literal, spelled the way a person would write it. */
export function paramLiteral(param: ScriptParam, text: string): string {
  switch (param.type) {
    // A malformed number stays a cast, so DuckDB's own message says what is wrong with it.
    case 'integer':
      return VALUE_PATTERNS.integer.test(text) ? text : `CAST(${sqlString(text)} AS BIGINT)`;
    case 'number':
      return VALUE_PATTERNS.number.test(text) ? text : `CAST(${sqlString(text)} AS DOUBLE)`;
    case 'boolean':
      return /^true$/i.test(text) ? 'true' : 'false';
    case 'interval':
      return `INTERVAL ${sqlString(text.trim())}`;
    case 'timestamp':
      return `TIMESTAMP ${sqlString(text)}`;
    case 'string':
      return sqlString(text);
  }
}

/** Comments, quoted strings and names (taken whole, so nothing inside them is touched), and `$name`. */
const SQL_TOKENS =
  /--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The script's SQL with every `$name` parameter replaced by its value as a literal, so that it runs as an ad-hoc
 * query. Text inside quotes and comments is left alone: a `$word` there is not a parameter.
 */
export function inlineParams(script: ScriptInfo, values: Record<string, string>): string {
  const params = new Map(script.params.map((p) => [p.name.toLowerCase(), p]));
  return script.sql
    .replace(SQL_TOKENS, (match: string, name: string | undefined) => {
      const param = name === undefined ? undefined : params.get(name.toLowerCase());
      return param ? paramLiteral(param, values[param.name] ?? '') : match;
    })
    .trim();
}

/**
 * A script as ad-hoc SQL: its parameters written in, and a first comment line saying which values they had, so
 * that the editor's text explains itself (and stays a shareable link).
 */
export function scriptAsAdHoc(script: ScriptInfo, values: Record<string, string>): string {
  // JSON quoting keeps a value with a line break inside the comment.
  const given = script.params.map((p) => `$${p.name} = ${JSON.stringify(values[p.name] ?? '')}`).join(', ');
  const header = given ? `-- ${script.name}, parameters written in: ${given}` : `-- ${script.name}`;
  return `${header}\n${inlineParams(script, values)}`;
}
