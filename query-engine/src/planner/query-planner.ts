/**
 * Turns one user SELECT into what the nodes run (fragments) and what the broker runs over their answers.
 *
 * Steps, all on DuckDB's own parse tree: bind a script's parameters and the clock to literals; push
 * single-table aggregates down as partial aggregates (partial-aggregates.ts); for every node table still read
 * directly, ship the columns the query uses and the rows its WHERE allows (table-scans.ts). The broker then
 * loads each fragment's answers into a temporary table of the same name and runs the (rewritten) query there.
 */

import { QueryError, deserializeSql, parseSelectOnly } from '../sql-guard.js';
import { bindClock, bindParameters, type QueryInstant, type TypedValue } from './bind-values.js';
import { planPartialAggregates } from './partial-aggregates.js';
import {
  columnRef,
  expressionTemplate,
  isAstNode,
  statementNode,
  statementTemplate,
  type AstNode,
} from './sql-ast.js';
import type { DuckDBTypeId } from '@duckdb/node-api';
import { nodeTableOf, planTableScans, type Catalog, type TableScan } from './table-scans.js';
import { planTopK, type TopK } from './top-k.js';

export interface ColumnSchema {
  name: string;
  type: string;
}

/** A result column as DuckDB binds it, with its type id (which decides how it travels). */
export interface DescribedColumn extends ColumnSchema {
  typeId: DuckDBTypeId;
}

/** Where a broker table column's values come from. */
export type ColumnOrigin = 'wire' | 'node-name' | 'null';

export interface BrokerColumn extends ColumnSchema {
  origin: ColumnOrigin;
}

export interface FragmentPlan {
  /** Temporary table at the broker that receives every node's answer to this fragment. */
  table: string;
  /** The broker table's columns in order: wire columns arrive in the same order in the fragment's answer. */
  columns: BrokerColumn[];
  sql: string;
  kind: 'scan' | 'top-k' | 'partial-aggregate';
}

export interface QueryPlan {
  fragments: FragmentPlan[];
  brokerSql: string;
}

export interface PlannerContext {
  /** The node tables and their columns (lower-case names, plain types). */
  tables: Map<string, ColumnSchema[]>;
  instant: QueryInstant;
  params?: Record<string, TypedValue>;
  /** Output columns of a SELECT over the node tables' schemas, without running it; rejects if it does not bind. */
  describe: (sql: string) => Promise<DescribedColumn[]>;
  /** Names of DuckDB's aggregate functions, lower case. */
  aggregates: ReadonlySet<string>;
}

const ROW_MARKER = '__loupe_row';
/** Most rows a node is asked for in a pushed ORDER BY … LIMIT; a larger LIMIT ships the filtered scan. */
const TOP_K_MAX_ROWS = 1_000_000;

export function catalogOf(tables: Map<string, ColumnSchema[]>): Catalog {
  return new Map([...tables].map(([table, columns]) => [table, columns.map((c) => c.name.toLowerCase())]));
}

async function scanSql(
  table: string,
  wire: string[],
  filter: AstNode | null,
  topK: TopK | null,
): Promise<string> {
  const tree = await statementTemplate(
    topK ? 'SELECT x FROM t WHERE true ORDER BY 1 LIMIT 1' : 'SELECT x FROM t WHERE true',
  );
  const select = statementNode(tree);
  if (topK) {
    const [order, limit] = select.modifiers as AstNode[];
    (order as AstNode).orders = topK.orders;
    (((limit as AstNode).limit as AstNode).value as AstNode).value = topK.rows;
  }
  // A query that reads no column (count(*)) still needs one row per row: a constant marks them.
  select.select_list =
    wire.length > 0
      ? await Promise.all(wire.map((name) => columnRef(name)))
      : [{ ...(await expressionTemplate('true')), alias: ROW_MARKER }];
  (select.from_table as AstNode).table_name = table;
  select.where_clause = filter;
  return deserializeSql(tree);
}

/**
 * A scan fragment, with its top-k when there is one. What DuckDB cannot print or bind is dropped, the top-k
 * first (it is only right with the whole filter), then the filter: correct either way, only more rows.
 */
async function scanFragment(
  scan: TableScan,
  context: PlannerContext,
  topK: TopK | null,
): Promise<FragmentPlan> {
  const schema = context.tables.get(scan.table) ?? [];
  const wire = scan.columns.filter((name) => name !== 'node');
  const attempts: [AstNode | null, TopK | null][] = [
    ...(topK ? [[scan.filter, topK] as [AstNode | null, TopK]] : []),
    [scan.filter, null],
  ];
  let sql = '';
  let pushed: TopK | null = null;
  for (const [filter, k] of attempts) {
    try {
      sql = await scanSql(scan.table, wire, filter, k);
      await context.describe(sql);
      pushed = k;
      break;
    } catch {
      sql = '';
    }
  }
  if (!sql) sql = await scanSql(scan.table, wire, null, null);
  const columns = schema.map((column): BrokerColumn => {
    const name = column.name.toLowerCase();
    const origin: ColumnOrigin = name === 'node' ? 'node-name' : wire.includes(name) ? 'wire' : 'null';
    return { ...column, origin };
  });
  return { table: scan.table, columns, sql, kind: pushed ? 'top-k' : 'scan' };
}

/** Whether binding changed a top-level select item that has no name of its own (its name would change). */
function unnamedItemsChanged(before: AstNode, after: AstNode): boolean {
  if (before.type !== 'SELECT_NODE' || after.type !== 'SELECT_NODE') return false;
  const items = after.select_list as AstNode[];
  return (before.select_list as AstNode[]).some(
    (item, i) => !item.alias && JSON.stringify(item) !== JSON.stringify(items[i]),
  );
}

/** Names the top-level select items after the original query's columns, where they had no name of their own. */
function keepColumnNames(tree: AstNode, original: ColumnSchema[]): void {
  const items = tree.type === 'SELECT_NODE' ? (tree.select_list as AstNode[]) : [];
  if (items.length !== original.length || items.some((item) => item.class === 'STAR')) return;
  items.forEach((item, i) => {
    if (!item.alias) item.alias = original[i]?.name ?? '';
  });
}

export async function planQuery(sql: string, context: PlannerContext): Promise<QueryPlan> {
  const parsed = await parseSelectOnly(sql);
  let tree = statementNode(parsed);
  let rewritten = false;
  if (context.params && Object.keys(context.params).length > 0) {
    tree = await bindParameters(tree, context.params);
    rewritten = true;
  } else if (JSON.stringify(tree).includes('"class":"PARAMETER"')) {
    throw new QueryError('SQL_PARAMETER', 'the SQL has $parameters: run it as a script with --param values');
  }
  const statement = (parsed.statements as AstNode[])[0] as AstNode;
  const printed = (node: AstNode) =>
    deserializeSql({ ...parsed, statements: [{ ...statement, node, named_param_map: [] }] });
  const clock = await bindClock(tree, context.instant);
  if (clock.bound > 0) {
    // A literal in place of now() would rename an unnamed column such as `now() - INTERVAL 1 HOUR`.
    if (unnamedItemsChanged(tree, clock.tree))
      keepColumnNames(clock.tree, await context.describe(await printed(tree)));
    tree = clock.tree;
    rewritten = true;
  }

  const catalog = catalogOf(context.tables);
  const partial = await planPartialAggregates(tree, catalog, context);
  tree = partial.tree;
  rewritten ||= partial.fragments.length > 0;

  const scans = await planTableScans(tree, catalog);
  const fragments = [...partial.fragments];
  // planTopK accepts only WHERE clauses whose every conjunct planTableScans pushed into the one scan.
  const table = isAstNode(tree.from_table) ? nodeTableOf(tree.from_table, catalog) : null;
  const topK =
    scans.length === 1 && partial.fragments.length === 0
      ? planTopK(tree, table, catalog.get(table ?? '') ?? [], context.aggregates, TOP_K_MAX_ROWS)
      : null;
  for (const scan of scans) fragments.push(await scanFragment(scan, context, topK));

  return { fragments, brokerSql: rewritten ? await printed(tree) : sql };
}
