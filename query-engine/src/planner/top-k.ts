/**
 * ORDER BY … LIMIT pushed to the nodes: when a query only filters, sorts and cuts the rows of one node table,
 * each node needs to send no more than its own first LIMIT + OFFSET rows in that order; the broker sorts their
 * union and cuts again. "Newest 1,000 requests" then moves 1,000 rows per node, not every row in the window,
 * and cannot be cut short by a node's row cap.
 *
 * Safe only where the node's first rows are a superset of what the query keeps: a single SELECT over one node
 * table, every WHERE conjunct evaluated on the node, no aggregate, window, DISTINCT, GROUP BY, HAVING, QUALIFY,
 * SAMPLE or subquery, a constant LIMIT, and every sort key computable from the table's own columns. Anything
 * else keeps the plain scan.
 */

import { isLocalExpression } from './table-scans.js';
import {
  clone,
  conjuncts,
  forEachNode,
  functionName,
  integerConstant,
  isColumnRef,
  replaceNodes,
  type AstNode,
} from './sql-ast.js';

export interface TopK {
  table: string;
  /** ORDER BY entries whose expressions read the bare table's columns. */
  orders: AstNode[];
  /** LIMIT + OFFSET of the query: the rows each node sends at most. */
  rows: number;
}

const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : '');

function unqualified(expression: AstNode): AstNode {
  return replaceNodes(expression, (node) =>
    isColumnRef(node) && node.column_names.length === 2
      ? { ...node, column_names: [node.column_names[1] as string] }
      : undefined,
  ) as AstNode;
}

/** The expression a sort key stands for: a select item by position or alias, else itself. */
function sortExpression(expression: AstNode, selectList: AstNode[]): AstNode | null {
  const position = integerConstant(expression);
  if (position !== null) {
    const item = selectList[position - 1];
    return item && item.class !== 'STAR' ? item : null;
  }
  // DuckDB binds a bare name in ORDER BY to a select alias before a table column.
  if (isColumnRef(expression) && expression.column_names.length === 1) {
    const name = lower(expression.column_names[0]);
    const aliased = selectList.find((item) => lower(item.alias) === name);
    if (aliased) return aliased;
  }
  return expression;
}

/**
 * The top-k a statement allows, or null. `maxRows` bounds what is worth pushing (a node's row cap): beyond it
 * the scan is no worse.
 */
export function planTopK(
  statement: AstNode,
  table: string | null,
  columns: string[],
  aggregates: ReadonlySet<string>,
  maxRows: number,
): TopK | null {
  if (statement.type !== 'SELECT_NODE' || table === null) return null;
  const from = statement.from_table as AstNode;
  if (from?.type !== 'BASE_TABLE' || lower(from.table_name) !== table) return null;
  if (from.sample != null || (Array.isArray(from.column_name_alias) && from.column_name_alias.length > 0))
    return null;
  if ((statement.group_expressions as unknown[] | undefined)?.length) return null;
  if (statement.having != null || statement.qualify != null || statement.sample != null) return null;

  let simple = true;
  let selects = 0;
  forEachNode(statement, (node) => {
    if (node.type === 'SELECT_NODE') selects += 1;
    const name = functionName(node);
    if (node.class === 'SUBQUERY' || node.class === 'WINDOW' || (name !== null && aggregates.has(name)))
      simple = false;
  });
  if (!simple || selects !== 1) return null;

  const modifiers = (statement.modifiers as AstNode[] | undefined) ?? [];
  const [order, limit] = modifiers;
  if (modifiers.length !== 2 || order?.type !== 'ORDER_MODIFIER' || limit?.type !== 'LIMIT_MODIFIER')
    return null;
  const count = integerConstant(limit.limit);
  const offset = limit.offset == null ? 0 : integerConstant(limit.offset);
  if (count === null || offset === null || count < 0 || offset < 0 || count + offset > maxRows) return null;

  const name = lower(from.alias) || table;
  if (!conjuncts(statement.where_clause).every((conjunct) => isLocalExpression(conjunct, name, columns)))
    return null;

  const selectList = (statement.select_list as AstNode[]) ?? [];
  const orders: AstNode[] = [];
  for (const entry of (order.orders as AstNode[]) ?? []) {
    const expression = sortExpression(entry.expression as AstNode, selectList);
    if (!expression || !isLocalExpression(expression, name, columns)) return null;
    orders.push({ ...clone(entry), expression: unqualified({ ...clone(expression), alias: '' }) });
  }
  return orders.length > 0 ? { table, orders, rows: count + offset } : null;
}
