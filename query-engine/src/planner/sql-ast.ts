/**
 * Reading and rewriting DuckDB's parse tree (the JSON of json_serialize_sql). The planner never prints SQL by
 * itself: it edits trees and lets json_deserialize_sql print them, so quoting and precedence are DuckDB's.
 *
 * New nodes are made from trees DuckDB produced for template SQL (see `expressionTemplate`), never typed out
 * field by field, so they carry whatever fields this DuckDB version expects.
 */

import { QueryError, serializeSql } from '../sql-guard.js';

export type AstNode = { [key: string]: unknown };

export function isAstNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Calls `visit` on every node of the tree, parents before children. */
export function forEachNode(tree: unknown, visit: (node: AstNode) => void): void {
  if (Array.isArray(tree)) {
    for (const child of tree) forEachNode(child, visit);
    return;
  }
  if (!isAstNode(tree)) return;
  visit(tree);
  for (const value of Object.values(tree)) forEachNode(value, visit);
}

/**
 * A copy of the tree in which every node for which `replace` returns something is swapped for that (and not
 * descended into). `replace` sees the original nodes, so callers can match them by identity.
 */
export function replaceNodes(tree: unknown, replace: (node: AstNode) => AstNode | undefined): unknown {
  if (Array.isArray(tree)) return tree.map((child) => replaceNodes(child, replace));
  if (!isAstNode(tree)) return tree;
  const replaced = replace(tree);
  if (replaced) return replaced;
  const copy: AstNode = {};
  for (const [key, value] of Object.entries(tree)) copy[key] = replaceNodes(value, replace);
  return copy;
}

/** An expression's identity for matching (GROUP BY keys against the select list): source positions and
 * its own alias do not count, everything else does. */
export function expressionKey(expression: unknown): string {
  const top = isAstNode(expression) ? { ...expression, alias: '' } : expression;
  return JSON.stringify(top, (key, value) => (key === 'query_location' ? undefined : value));
}

export function isColumnRef(node: unknown): node is AstNode & { column_names: string[] } {
  return isAstNode(node) && node.class === 'COLUMN_REF' && Array.isArray(node.column_names);
}

export function functionName(node: AstNode): string | null {
  return node.class === 'FUNCTION' && typeof node.function_name === 'string'
    ? node.function_name.toLowerCase()
    : null;
}

/** The operands of a chain of ANDs (`a AND (b AND c)` → a, b, c); anything else is one conjunct. */
export function conjuncts(expression: unknown): AstNode[] {
  if (!isAstNode(expression)) return [];
  if (expression.class === 'CONJUNCTION' && expression.type === 'CONJUNCTION_AND') {
    return (expression.children as unknown[]).flatMap(conjuncts);
  }
  return [expression];
}

/** Integer value of a plain integer constant (`GROUP BY 2`, `ORDER BY 1`), else null. */
export function integerConstant(node: unknown): number | null {
  if (!isAstNode(node) || node.class !== 'CONSTANT' || !isAstNode(node.value)) return null;
  const value = node.value as { is_null?: boolean; value?: unknown; type?: { id?: string } };
  const integerTypes = ['INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT', 'HUGEINT'];
  if (value.is_null || !integerTypes.includes(value.type?.id ?? '')) return null;
  return typeof value.value === 'number' ? value.value : null;
}

/** The single statement's node of a parsed query. */
export function statementNode(parsed: AstNode): AstNode {
  const statements = parsed.statements;
  const first = Array.isArray(statements) ? statements[0] : undefined;
  if (!isAstNode(first) || !isAstNode(first.node)) {
    throw new QueryError('SQL_PARSE_ERROR', 'cannot plan: the statement has no query node');
  }
  return first.node;
}

const templates = new Map<string, AstNode>();

/**
 * The tree DuckDB makes for the first select item of `SELECT <sql>`, cached. `sql` must be fixed text (no
 * user input): values are put into the returned tree afterwards, as data.
 */
export async function expressionTemplate(sql: string): Promise<AstNode> {
  let template = templates.get(sql);
  if (!template) {
    const parsed = await serializeSql(`SELECT ${sql}`);
    if (parsed.error) throw new Error(`template ${sql} does not parse: ${String(parsed.error_message)}`);
    const node = statementNode(parsed);
    template = (node.select_list as AstNode[])[0] as AstNode;
    templates.set(sql, template);
  }
  return clone(template);
}

/** The statement tree DuckDB makes for fixed template SQL, cached like expressionTemplate. */
export async function statementTemplate(sql: string): Promise<AstNode> {
  let template = templates.get(`statement:${sql}`);
  if (!template) {
    template = await serializeSql(sql);
    if (template.error) throw new Error(`template ${sql} does not parse: ${String(template.error_message)}`);
    templates.set(`statement:${sql}`, template);
  }
  return clone(template);
}

/** Types a value may be cast to from text in a template; all of them parse back from their text form. */
const CASTABLE_TYPES = new Set([
  'VARCHAR',
  'BOOLEAN',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UBIGINT',
  'DOUBLE',
  'DATE',
  'TIME',
  'TIMETZ',
  'TIMESTAMP',
  'TIMESTAMPTZ',
  'TIMESTAMP_NS',
  'INTERVAL',
]);

/** `CAST('<text>' AS <type>)` as a tree; `text` goes in as a value, so it needs no quoting. */
export async function castFromText(text: string, type: string): Promise<AstNode> {
  const upper = type.toUpperCase();
  if (!CASTABLE_TYPES.has(upper)) throw new Error(`cannot build a literal of type ${type}`);
  const cast = await expressionTemplate(`CAST('' AS ${upper})`);
  const constant = cast.child as AstNode;
  (constant.value as AstNode).value = text;
  return cast;
}

/** A reference to one column by name, as DuckDB would parse `"name"`. */
export async function columnRef(...names: string[]): Promise<AstNode> {
  const ref = await expressionTemplate('x');
  ref.column_names = names;
  return ref;
}
