/**
 * "Ship the filtered columns": for each node table a query reads, which columns it uses anywhere and which rows
 * can be left on the nodes. The broker re-runs the whole query over what the nodes send, so a fragment only
 * has to send a superset of the rows and columns the query needs; everything here errs towards sending more.
 *
 * Rows: a WHERE conjunct is pushed to a table reference when it is deterministic, reads only that reference's
 * columns, and the reference is not on the null-producing side of an outer join (there, dropping a row would
 * turn a match into a NULL-extended row). A table read in several places gets the OR of each place's filter,
 * and no filter at all if any place has none.
 *
 * Columns: every name that appears in a column reference anywhere (a superset: names are not resolved to
 * tables), all columns where a star, a whole-row reference or positional column aliases read a table.
 */

import {
  conjuncts,
  expressionTemplate,
  forEachNode,
  functionName,
  isAstNode,
  isColumnRef,
  replaceNodes,
  type AstNode,
} from './sql-ast.js';

/** Whether an expression is deterministic and reads only the columns of one table named `name`. */
export function isLocalExpression(expression: unknown, name: string, columns: string[]): boolean {
  if (!isAstNode(expression)) return false;
  const item: FromItem = { name, columns, ref: null, table: name, filterable: true };
  let local = true;
  forEachNode(expression, (node) => {
    if (!local || typeof node.class !== 'string') return;
    if (!isPushableNode(node)) local = false;
    if (isColumnRef(node)) {
      if (resolveColumn(node.column_names, [item]) !== item) local = false;
    }
  });
  return local;
}

/** Column names of each node table, lower case, in table order. */
export type Catalog = Map<string, string[]>;

export interface TableScan {
  table: string;
  /** Columns the query may read, in table order. */
  columns: string[];
  /** Rows the query may read; null means all of them. */
  filter: AstNode | null;
}

/** Functions whose result differs between calls or between machines: never evaluated on the nodes. */
const NOT_PUSHABLE_FUNCTIONS = new Set([
  'random',
  'setseed',
  'uuid',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'nextval',
  'currval',
  'current_setting',
  'current_database',
  'current_catalog',
  'current_schema',
  'current_schemas',
  'current_query',
  'current_user',
  'session_user',
  'user',
  'getenv',
  'txid_current',
  'version',
  'now',
  'get_current_timestamp',
  'current_timestamp',
  'transaction_timestamp',
  'today',
  'current_date',
  'current_time',
  'get_current_time',
  'localtimestamp',
  'localtime',
]);

/** Expression classes a pushed filter may contain; subqueries, windows, lambdas, parameters and stars may not. */
const PUSHABLE_CLASSES = new Set([
  'COLUMN_REF',
  'CONSTANT',
  'FUNCTION',
  'COMPARISON',
  'CONJUNCTION',
  'OPERATOR',
  'CAST',
  'CASE',
  'BETWEEN',
  'COLLATE',
]);

function isPushableNode(node: AstNode): boolean {
  if (!PUSHABLE_CLASSES.has(String(node.class))) return false;
  const name = functionName(node);
  // Built-ins may come qualified (AT TIME ZONE parses as main.timezone); anything else lives elsewhere.
  const builtIn = ['', 'main'].includes(lower(node.schema)) && ['', 'system'].includes(lower(node.catalog));
  return name === null || (!NOT_PUSHABLE_FUNCTIONS.has(name) && builtIn);
}

interface FromItem {
  /** Name the query uses for it: alias, else table name; lower case. */
  name: string;
  /** Known columns (node tables), or null when unknown (subqueries, CTEs, table functions). */
  columns: string[] | null;
  /** The BASE_TABLE node, for node tables. */
  ref: AstNode | null;
  table: string | null;
  /** False on the null-producing side of an outer join and under semi, anti, asof and positional joins. */
  filterable: boolean;
}

function lower(value: unknown): string {
  return typeof value === 'string' ? value.toLowerCase() : '';
}

/** Whether a BASE_TABLE names a node table (unqualified: nodes have no other schema). */
export function nodeTableOf(node: AstNode, catalog: Catalog): string | null {
  if (node.type !== 'BASE_TABLE') return null;
  const table = lower(node.table_name);
  if (!catalog.has(table) || node.schema_name || node.catalog_name) return null;
  return table;
}

function fromItems(ref: unknown, filterable: boolean, catalog: Catalog, out: FromItem[]): void {
  if (!isAstNode(ref)) return;
  if (ref.type === 'JOIN') {
    const inner = ref.join_type === 'INNER' && ['REGULAR', 'NATURAL', 'CROSS'].includes(String(ref.ref_type));
    const keepLeft = inner || (ref.join_type === 'LEFT' && ref.ref_type === 'REGULAR');
    const keepRight = inner || (ref.join_type === 'RIGHT' && ref.ref_type === 'REGULAR');
    fromItems(ref.left, filterable && keepLeft, catalog, out);
    fromItems(ref.right, filterable && keepRight, catalog, out);
    return;
  }
  if (ref.type === 'EMPTY') return;
  const table = nodeTableOf(ref, catalog);
  const name = lower(ref.alias) || lower(ref.table_name);
  const renamed = Array.isArray(ref.column_name_alias) && ref.column_name_alias.length > 0;
  out.push({
    name,
    columns: table && !renamed ? (catalog.get(table) ?? null) : null,
    ref: table ? ref : null,
    table,
    filterable: filterable && table !== null && !renamed && ref.sample == null && ref.at_clause == null,
  });
}

/** The FROM item a column reference reads, when that can be told for sure; null otherwise. */
function resolveColumn(names: string[], items: FromItem[]): FromItem | null {
  if (names.length === 1) {
    const column = lower(names[0]);
    const owners = items.filter((item) => item.columns === null || item.columns.includes(column));
    const owner = owners[0];
    return owners.length === 1 && owner?.columns ? owner : null;
  }
  if (names.length === 2) {
    const owner = items.find((item) => item.name === lower(names[0]));
    return owner?.columns?.includes(lower(names[1])) ? owner : null;
  }
  return null;
}

/** The one FROM item a conjunct reads, if it is deterministic and reads exactly one known table. */
function pushTarget(conjunct: AstNode, items: FromItem[]): FromItem | null {
  let target: FromItem | null = null;
  let pushable = true;
  let columns = 0;
  forEachNode(conjunct, (node) => {
    if (!pushable || typeof node.class !== 'string') return;
    if (!isPushableNode(node)) {
      pushable = false;
      return;
    }
    if (isColumnRef(node)) {
      columns += 1;
      const owner = resolveColumn(node.column_names, items);
      if (!owner || (target && target !== owner)) pushable = false;
      target = owner;
    }
  });
  return pushable && columns > 0 ? target : null;
}

/** The conjunct as the fragment needs it: its FROM has the bare table, so column qualifiers go. */
function unqualified(conjunct: AstNode): AstNode {
  return replaceNodes(conjunct, (node) =>
    isColumnRef(node) && node.column_names.length === 2
      ? { ...node, column_names: [node.column_names[1] as string] }
      : undefined,
  ) as AstNode;
}

function readsTime(conjunct: AstNode): boolean {
  let found = false;
  forEachNode(conjunct, (node) => {
    if (isColumnRef(node) && lower(node.column_names[node.column_names.length - 1]) === 'time') found = true;
  });
  return found;
}

async function combine(kind: 'AND' | 'OR', parts: AstNode[]): Promise<AstNode> {
  if (parts.length === 1) return parts[0] as AstNode;
  const node = await expressionTemplate(`a ${kind} b`);
  node.children = parts;
  return node;
}

interface TableUse {
  /** A star, NATURAL join or the like reads every column. */
  allColumns: boolean;
  /** One entry per reference: its filter, or null for "all rows". */
  filters: (AstNode | null)[];
}

/** Finds every node-table reference of a statement and what it needs shipped. */
export async function planTableScans(statement: AstNode, catalog: Catalog): Promise<TableScan[]> {
  const uses = new Map<string, TableUse>();
  const use = (table: string): TableUse => {
    let entry = uses.get(table);
    if (!entry) uses.set(table, (entry = { allColumns: false, filters: [] }));
    return entry;
  };
  const seenRefs = new Set<AstNode>();
  const refNames = new Map<string, Set<string>>();
  const selects: AstNode[] = [];
  forEachNode(statement, (node) => {
    if (node.type === 'SELECT_NODE') selects.push(node);
  });

  for (const select of selects) {
    const items: FromItem[] = [];
    fromItems(select.from_table, true, catalog, items);
    const pushed = new Map<FromItem, AstNode[]>();
    for (const conjunct of conjuncts(select.where_clause)) {
      const target = pushTarget(conjunct, items);
      if (target?.filterable) pushed.set(target, [...(pushed.get(target) ?? []), unqualified(conjunct)]);
    }
    for (const item of items) {
      if (!item.table || !item.ref) continue;
      seenRefs.add(item.ref);
      refNames.set(item.table, (refNames.get(item.table) ?? new Set()).add(item.name));
      const parts = pushed.get(item) ?? [];
      // Time windows first: the cheapest and most selective test on an append-only, time-ordered store.
      parts.sort((a, b) => Number(readsTime(b)) - Number(readsTime(a)));
      use(item.table).filters.push(parts.length > 0 ? await combine('AND', parts) : null);
    }
    markStars(select, items, use);
  }

  const columnNames = new Set<string>();
  const bareNames = new Set<string>();
  forEachNode(statement, (node) => {
    const table = nodeTableOf(node, catalog);
    // A node table met outside any FROM walked above: read it whole.
    if (table && !seenRefs.has(node)) use(table).filters.push(null);
    if (isColumnRef(node)) {
      for (const name of node.column_names) columnNames.add(lower(name));
      if (node.column_names.length === 1) bareNames.add(lower(node.column_names[0]));
    }
    if (node.type === 'JOIN' && Array.isArray(node.using_columns)) {
      for (const name of node.using_columns) columnNames.add(lower(name));
    }
  });

  const scans: TableScan[] = [];
  for (const [table, entry] of uses) {
    const all = catalog.get(table) ?? [];
    // `SELECT h FROM http_events h` reads the whole row as one struct.
    const wholeRow = [...(refNames.get(table) ?? [])].some((name) => bareNames.has(name));
    const columns = entry.allColumns || wholeRow ? all : all.filter((c) => columnNames.has(c));
    const filters = entry.filters;
    const filter = filters.includes(null) ? null : await combine('OR', dedupe(filters as AstNode[]));
    scans.push({ table, columns, filter });
  }
  return scans;
}

function dedupe(filters: AstNode[]): AstNode[] {
  const seen = new Map<string, AstNode>();
  for (const filter of filters) {
    seen.set(
      JSON.stringify(filter, (key, value) => (key === 'query_location' ? undefined : value)),
      filter,
    );
  }
  return [...seen.values()];
}

/** A star (or COLUMNS(...)) in a select reads every column of the node tables of its FROM it may cover. */
function markStars(select: AstNode, items: FromItem[], use: (table: string) => TableUse): void {
  const visit = (tree: unknown): void => {
    if (Array.isArray(tree)) return tree.forEach(visit);
    if (!isAstNode(tree)) return;
    // Subqueries are selects of their own, with their own FROM.
    if (tree.class === 'SUBQUERY' || tree.type === 'SELECT_NODE') return;
    if (tree.class === 'STAR') {
      const relation = lower(tree.relation_name);
      for (const item of items) {
        if (item.table && (relation === '' || relation === item.name)) use(item.table).allColumns = true;
      }
    }
    Object.values(tree).forEach(visit);
  };
  for (const key of ['select_list', 'where_clause', 'group_expressions', 'having', 'qualify', 'modifiers']) {
    visit(select[key]);
  }
  // NATURAL joins match on every shared column.
  forEachNode(select.from_table, (node) => {
    if (node.type === 'JOIN' && node.ref_type === 'NATURAL') {
      for (const item of items) if (item.table) use(item.table).allColumns = true;
    }
  });
}
