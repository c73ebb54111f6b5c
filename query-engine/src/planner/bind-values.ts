/**
 * Values the broker fixes before any node sees the query: the current time (so that every node, and the
 * broker's own merge, filter on the same window) and a script's named parameters. Both become typed literals
 * in the parse tree, `CAST('<text>' AS <type>)`, never text pasted into SQL.
 */

import { QueryError } from '../sql-guard.js';
import { castFromText, functionName, isColumnRef, replaceNodes, type AstNode } from './sql-ast.js';

/** The broker's clock, read once per query, as text DuckDB casts back exactly (see BrokerClock). */
export interface QueryInstant {
  timestamptz: string;
  timestamp: string;
  date: string;
  timetz: string;
  time: string;
}

type InstantField = keyof QueryInstant;

/** Functions (and the bare keywords DuckDB parses as columns) that read the clock, and what they return. */
const CLOCK_FUNCTIONS: Record<string, [InstantField, string]> = {
  now: ['timestamptz', 'TIMESTAMPTZ'],
  get_current_timestamp: ['timestamptz', 'TIMESTAMPTZ'],
  current_timestamp: ['timestamptz', 'TIMESTAMPTZ'],
  transaction_timestamp: ['timestamptz', 'TIMESTAMPTZ'],
  current_localtimestamp: ['timestamp', 'TIMESTAMP'],
  localtimestamp: ['timestamp', 'TIMESTAMP'],
  today: ['date', 'DATE'],
  current_date: ['date', 'DATE'],
  get_current_time: ['timetz', 'TIMETZ'],
  current_time: ['timetz', 'TIMETZ'],
  current_localtime: ['time', 'TIME'],
  localtime: ['time', 'TIME'],
};

function clockCall(node: AstNode): [InstantField, string] | undefined {
  const name = functionName(node);
  if (name !== null && Array.isArray(node.children) && node.children.length === 0 && !node.schema) {
    return CLOCK_FUNCTIONS[name];
  }
  // `current_timestamp` without parentheses parses as a column; no node table has such a column.
  if (isColumnRef(node) && node.column_names.length === 1) {
    return CLOCK_FUNCTIONS[(node.column_names[0] ?? '').toLowerCase()];
  }
  return undefined;
}

/** Replaces every clock read with the instant's literal; says whether there was any. */
export async function bindClock(
  tree: AstNode,
  instant: QueryInstant,
): Promise<{ tree: AstNode; bound: number }> {
  const literals = new Map<InstantField, AstNode>();
  for (const [field, type] of Object.values(CLOCK_FUNCTIONS)) {
    if (!literals.has(field)) literals.set(field, await castFromText(instant[field], type));
  }
  let bound = 0;
  const result = replaceNodes(tree, (node) => {
    const call = clockCall(node);
    if (!call) return undefined;
    bound += 1;
    return structuredClone(literals.get(call[0]) as AstNode);
  }) as AstNode;
  return { tree: result, bound };
}

export interface TypedValue {
  /** The value as DuckDB reads it from text: '1 hour', '2024-05-01 12:00:00', '500'. */
  text: string;
  type: string;
}

/**
 * Replaces `$name` parameters with typed literals. A parameter without a value is refused (SQL_PARAMETER),
 * as is a value for a parameter the SQL does not have, so a typo in a name does not go unnoticed.
 */
export async function bindParameters(tree: AstNode, values: Record<string, TypedValue>): Promise<AstNode> {
  const literals = new Map<string, AstNode>();
  for (const [name, value] of Object.entries(values)) {
    literals.set(name.toLowerCase(), await castFromText(value.text, value.type));
  }
  const used = new Set<string>();
  const missing = new Set<string>();
  const result = replaceNodes(tree, (node) => {
    if (node.class !== 'PARAMETER' || typeof node.identifier !== 'string') return undefined;
    const name = node.identifier.toLowerCase();
    const literal = literals.get(name);
    if (!literal) {
      missing.add(node.identifier);
      return node;
    }
    used.add(name);
    return structuredClone(literal);
  }) as AstNode;
  if (missing.size > 0) {
    throw new QueryError(
      'SQL_PARAMETER',
      `no value for parameter ${[...missing].map((n) => `$${n}`).join(', ')}`,
    );
  }
  const unused = [...literals.keys()].filter((name) => !used.has(name));
  if (unused.length > 0) {
    throw new QueryError(
      'SQL_PARAMETER',
      `the SQL has no parameter ${unused.map((n) => `$${n}`).join(', ')}`,
    );
  }
  return result;
}
