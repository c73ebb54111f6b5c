/**
 * Partial aggregates: a SELECT that aggregates one node table (GROUP BY, or a global aggregate) runs mostly on
 * the nodes. Each node groups its own rows and sends one row per group with mergeable partial states; the broker
 * merges them with a rewritten SELECT over those rows. This applies wherever such a SELECT appears: the whole
 * query, a CTE, a subquery in FROM.
 *
 * Partial state per aggregate (merge at the broker in brackets):
 *   count(*), count(x)          → count                       [sum, 0 when there are no rows]
 *   sum(x)                      → sum                         [sum]
 *   min(x), max(x)              → min, max                    [min, max]
 *   avg(x)                      → sum(x), count(x)            [sum / sum]
 *   bool_and(x), bool_or(x)     → bool_and, bool_or           [bool_and, bool_or]
 *   count/sum/avg(DISTINCT x)   → x becomes a grouping key, so each node sends its distinct values per group
 *                                 [count/sum/avg(DISTINCT x) over them]
 *   approx_quantile(x, q)       → a log-bucket sketch: bucket ceil(ln x / ln 1.02) becomes a grouping key and
 *                                 count(x) its weight [the bucket where the cumulative weight reaches q, as
 *                                 2·1.02^b / 2.02: within 1% of the exact quantile, for x ≥ 0; x ≤ 0 counts as 0]
 * Anything else (other aggregates, window functions, subqueries, ROLLUP, a WHERE that reads another table)
 * leaves the SELECT alone: the table is then shipped row by row and the broker aggregates it exactly.
 *
 * The rewrite is checked before it is used: the merged SELECT must have the original's column names and types
 * when both are bound against the node tables' schemas; if not, the SELECT is left alone too.
 */

import { deserializeSql } from '../sql-guard.js';
import { isTransportable } from '../fanout/arrow-columns.js';
import type { BrokerColumn, ColumnSchema, DescribedColumn, FragmentPlan } from './query-planner.js';
import {
  clone,
  columnRef,
  expressionKey,
  expressionTemplate,
  forEachNode,
  functionName,
  integerConstant,
  isAstNode,
  isColumnRef,
  replaceNodes,
  statementNode,
  statementTemplate,
  type AstNode,
} from './sql-ast.js';
import { isLocalExpression, nodeTableOf, type Catalog } from './table-scans.js';

export interface PartialContext {
  /** Names of DuckDB's aggregate functions, lower case. */
  aggregates: ReadonlySet<string>;
  describe: (sql: string) => Promise<DescribedColumn[]>;
}

/** Column of a partial table that says which node sent the row (the node tables' own `node` is a column). */
export const PARTIAL_NODE_COLUMN = '__loupe_node';

/** Thrown inside a rewrite to say "this SELECT stays as it is"; never leaves this module. */
class NotPushable extends Error {}

/** Sketch buckets grow by this factor: a bucket's midpoint is within (γ-1)/(γ+1) < 1% of any value in it. */
const SKETCH_GAMMA = 1.02;
/** Bucket of values ≤ 0 (whose logarithm does not exist); it stands for 0. */
const SKETCH_ZERO_BUCKET = -1_000_000;

/**
 * The broker-side quantile of a sketch: bucket keys and their weights as lists sorted by bucket (a bucket may
 * repeat, once per node and group of the partial rows), and q.
 */
export const SKETCH_MACRO_SQL = `CREATE TEMP MACRO __loupe_sketch_quantile(bs, ns, q) AS
  CASE WHEN list_sum(ns) > 0 THEN
    (SELECT CASE WHEN b = ${SKETCH_ZERO_BUCKET} THEN 0 ELSE 2 * pow(${SKETCH_GAMMA}, b) / ${1 + SKETCH_GAMMA} END
       FROM (SELECT bs[list_position(list_transform(range(1, len(ns) + 1),
                                     i -> list_sum(ns[1:i]) >= q * list_sum(ns)), true)] AS b))
  END;`;

/** Argument types a sketch can stand for, and how its (double) estimate is cast back to them. */
const SKETCH_TYPES: Record<string, string> = {
  TINYINT: 'CAST(round(%) AS TINYINT)',
  SMALLINT: 'CAST(round(%) AS SMALLINT)',
  INTEGER: 'CAST(round(%) AS INTEGER)',
  BIGINT: 'CAST(round(%) AS BIGINT)',
  UTINYINT: 'CAST(round(%) AS UTINYINT)',
  USMALLINT: 'CAST(round(%) AS USMALLINT)',
  UINTEGER: 'CAST(round(%) AS UINTEGER)',
  UBIGINT: 'CAST(round(%) AS UBIGINT)',
  FLOAT: 'CAST(% AS FLOAT)',
  DOUBLE: '%',
};

/** Types a value that travelled as text can be cast back to: plain names, no user-chosen parts. */
const CAST_BACK_TYPE = /^[A-Z_]+(\(\d+(,\d+)?\))?( WITH TIME ZONE)?$/;

interface FragmentColumn {
  /** Column name in the fragment's answer. */
  name: string;
  /** Expression the node computes (a key, or an aggregate giving a partial state). */
  expression: AstNode;
}

/** Everything one SELECT's rewrite collects. */
class Rewrite {
  readonly keys: FragmentColumn[] = [];
  readonly partials: FragmentColumn[] = [];
  private readonly mergeCache = new Map<string, AstNode>();
  /** Column name → type it must be cast back to at the broker, for columns that travel as text. */
  readonly castBack = new Map<string, string>();

  /** Types of the arguments of approx_quantile calls, by expression key (found before the rewrite). */
  readonly sketchTypes = new Map<string, string>();

  constructor(
    readonly table: string,
    readonly alias: string,
    readonly columns: string[],
    readonly aggregates: ReadonlySet<string>,
  ) {}

  local(expression: unknown): AstNode {
    if (!isLocalExpression(expression, this.alias, this.columns)) throw new NotPushable();
    return unqualified(expression as AstNode);
  }

  addKey(expression: AstNode): string {
    const key = expressionKey(this.local(expression));
    const found = this.keys.find((k) => expressionKey(k.expression) === key);
    if (found) return found.name;
    const name = `__loupe_g${this.keys.length}`;
    this.keys.push({ name, expression: this.local(expression) });
    return name;
  }

  addPartial(expression: AstNode): string {
    const key = expressionKey(expression);
    const found = this.partials.find((p) => expressionKey(p.expression) === key);
    if (found) return found.name;
    const name = `__loupe_p${this.partials.length}`;
    this.partials.push({ name, expression });
    return name;
  }

  /** A reference to a fragment column at the broker, cast back if it travels as text. */
  async ref(name: string): Promise<AstNode> {
    const type = this.castBack.get(name);
    const ref = await columnRef(name);
    if (!type) return ref;
    const cast = await expressionTemplate(`CAST(x AS ${type})`);
    cast.child = ref;
    return cast;
  }

  /** The broker-side merge of one aggregate call, registering the partial states it needs. */
  mergeOf(call: AstNode): AstNode {
    const cached = this.mergeCache.get(expressionKey(call));
    if (cached) return clone(cached);
    const merge = this.buildMerge(call);
    this.mergeCache.set(expressionKey(call), merge);
    return clone(merge);
  }

  private buildMerge(call: AstNode): AstNode {
    const name = functionName(call) ?? '';
    const args = (call.children as AstNode[]).map((arg) => this.local(arg));
    const orders = (call.order_bys as { orders?: unknown[] } | null)?.orders ?? [];
    if (orders.length > 0 || call.export_state) throw new NotPushable();
    const filter = call.filter ? this.local(call.filter) : null;
    const partialCall = (fn: string): AstNode => ({
      ...clone(call),
      function_name: fn,
      children: args,
      filter,
      distinct: false,
    });
    const distinct = call.distinct === true && ['count', 'sum', 'avg'].includes(name);
    if (distinct) {
      if (filter || args.length !== 1) throw new NotPushable();
      return placeholder(`${name}(DISTINCT a)`, { a: this.addKey(args[0] as AstNode) });
    }
    switch (name) {
      case 'count_star':
      case 'count':
        return placeholder('CAST(coalesce(sum(a), 0) AS BIGINT)', { a: this.addPartial(partialCall(name)) });
      case 'sum':
      case 'min':
      case 'max':
      case 'bool_and':
      case 'bool_or':
        return placeholder(`${name}(a)`, { a: this.addPartial(partialCall(name)) });
      case 'avg':
        return placeholder('CAST(sum(a) AS DOUBLE) / nullif(sum(b), 0)', {
          a: this.addPartial(partialCall('sum')),
          b: this.addPartial(partialCall('count')),
        });
      case 'approx_quantile':
        return sketchMergeOf(this, call, args, filter);
      default:
        throw new NotPushable();
    }
  }
}

/** The number a constant holds (0.99 parses as DECIMAL 99 with scale 2), or null. */
function numericConstant(node: unknown): number | null {
  if (!isAstNode(node) || node.class !== 'CONSTANT') return null;
  const constant = node.value as { value?: unknown; type?: { id?: string; type_info?: { scale?: number } } };
  if (typeof constant.value !== 'number') return null;
  const scale = constant.type?.id === 'DECIMAL' ? (constant.type.type_info?.scale ?? 0) : 0;
  return constant.value / 10 ** scale;
}

/** approx_quantile(x, q) as a bucket key, a weight, and the broker's quantile over them. */
function sketchMergeOf(rewrite: Rewrite, call: AstNode, args: AstNode[], filter: AstNode | null): AstNode {
  const [value, q] = args;
  const fraction = numericConstant(q);
  const castBack = SKETCH_TYPES[rewrite.sketchTypes.get(expressionKey(value)) ?? ''];
  if (!value || filter || fraction === null || fraction < 0 || fraction > 1 || !castBack) {
    throw new NotPushable();
  }
  const bucket = bucketOf(value);
  const weight: AstNode = {
    ...clone(call),
    function_name: 'count',
    children: [value],
    filter: null,
    distinct: false,
  };
  const estimate = `__loupe_sketch_quantile(list(a ORDER BY a), list(b ORDER BY a), ${fraction})`;
  return placeholder(castBack.replace('%', estimate), {
    a: rewrite.addKey(bucket),
    b: rewrite.addPartial(weight),
  });
}

const BUCKET_SQL = `CASE WHEN x > 0 THEN CAST(ceil(ln(x) / ln(${SKETCH_GAMMA})) AS INTEGER) ELSE ${SKETCH_ZERO_BUCKET} END`;
let bucketTemplate: AstNode | null = null;

/** The sketch bucket of `value` (a node-side expression), from the template parsed by prepareBucketTemplate. */
function bucketOf(value: AstNode): AstNode {
  if (!bucketTemplate) throw new Error('sketch bucket template not prepared');
  return replaceNodes(clone(bucketTemplate), (node) =>
    isColumnRef(node) && node.column_names.length === 1 && node.column_names[0] === 'x'
      ? clone(value)
      : undefined,
  ) as AstNode;
}

async function prepareBucketTemplate(): Promise<void> {
  bucketTemplate ??= await expressionTemplate(BUCKET_SQL);
}

/** Marks where a fragment column goes in a merge template; resolved by `resolvePlaceholders`. */
const PLACEHOLDER = '__loupe_placeholder';

function placeholder(template: string, columns: Record<string, string>): AstNode {
  return { class: PLACEHOLDER, template, columns };
}

async function resolvePlaceholders(tree: unknown, rewrite: Rewrite): Promise<unknown> {
  const pending: Promise<void>[] = [];
  const resolved = new Map<AstNode, AstNode>();
  forEachNode(tree, (node) => {
    if (node.class !== PLACEHOLDER) return;
    pending.push(
      (async () => {
        const expression = await expressionTemplate(String(node.template));
        const refs = new Map<string, AstNode>();
        for (const [letter, column] of Object.entries(node.columns as Record<string, string>)) {
          refs.set(letter, await rewrite.ref(column));
        }
        const merged = replaceNodes(expression, (inner) =>
          isColumnRef(inner) && inner.column_names.length === 1
            ? refs.get(String(inner.column_names[0]))
            : undefined,
        ) as AstNode;
        // A select item's name rides on its top node.
        resolved.set(node, { ...merged, alias: typeof node.alias === 'string' ? node.alias : merged.alias });
      })(),
    );
  });
  await Promise.all(pending);
  return replaceNodes(tree, (node) => resolved.get(node));
}

function unqualified(expression: AstNode): AstNode {
  return replaceNodes(expression, (node) =>
    isColumnRef(node) && node.column_names.length === 2
      ? { ...node, column_names: [node.column_names[1] as string] }
      : undefined,
  ) as AstNode;
}

function containsAggregate(expression: unknown, aggregates: ReadonlySet<string>): boolean {
  let found = false;
  forEachNode(expression, (node) => {
    const name = functionName(node);
    if (name !== null && aggregates.has(name)) found = true;
  });
  return found;
}

/** The GROUP BY keys of a SELECT as expressions: positions and select aliases resolved, GROUP BY ALL expanded. */
function groupKeys(select: AstNode, columns: string[], aggregates: ReadonlySet<string>): AstNode[] {
  const items = select.select_list as AstNode[];
  const groups = select.group_expressions as AstNode[];
  if (groups.length === 0) {
    if (select.aggregate_handling !== 'FORCE_AGGREGATES') return [];
    return items.filter((item) => !containsAggregate(item, aggregates));
  }
  return groups.map((group) => {
    const position = integerConstant(group);
    if (position !== null) {
      const item = items[position - 1];
      if (!item) throw new NotPushable();
      return item;
    }
    if (isColumnRef(group) && group.column_names.length === 1) {
      const name = String(group.column_names[0]).toLowerCase();
      const aliased = items.find((item) => String(item.alias).toLowerCase() === name);
      if (!columns.includes(name) && aliased) return aliased;
    }
    return group;
  });
}

/** The broker-side version of an expression: keys become key columns, aggregates become merges. */
function mergeExpression(
  expression: unknown,
  keyNames: Map<string, string>,
  rewrite: Rewrite,
  aliases: Set<string>,
): unknown {
  return replaceNodes(expression, (node) => {
    if (typeof node.class !== 'string' || node.class === 'CONSTANT') return undefined;
    const key = keyNames.get(expressionKey(unqualifiedIfLocal(node, rewrite)));
    if (key) return placeholder('a', { a: key });
    const name = functionName(node);
    if (name !== null && rewrite.aggregates.has(name)) return rewrite.mergeOf(node);
    if (isColumnRef(node)) {
      // Another select item's alias (DuckDB lets later items, HAVING and ORDER BY name earlier ones).
      if (node.column_names.length === 1 && aliases.has(String(node.column_names[0]).toLowerCase()))
        return node;
      throw new NotPushable();
    }
    if (['STAR', 'SUBQUERY', 'WINDOW', 'PARAMETER', 'LAMBDA', 'POSITIONAL_REFERENCE'].includes(node.class)) {
      throw new NotPushable();
    }
    return undefined;
  });
}

function unqualifiedIfLocal(node: AstNode, rewrite: Rewrite): AstNode {
  return isLocalExpression(node, rewrite.alias, rewrite.columns) ? unqualified(node) : node;
}

/** The type of each approx_quantile argument, which its sketch's estimate is cast back to. */
async function learnSketchTypes(select: AstNode, rewrite: Rewrite, context: PartialContext): Promise<void> {
  const values: AstNode[] = [];
  forEachNode([select.select_list, select.having, select.modifiers], (node) => {
    const value = functionName(node) === 'approx_quantile' ? (node.children as AstNode[])[0] : undefined;
    if (value && isLocalExpression(value, rewrite.alias, rewrite.columns)) values.push(unqualified(value));
  });
  if (values.length === 0) return;
  await prepareBucketTemplate();
  const probe = statementNode(await statementTemplate('SELECT x FROM t'));
  probe.select_list = values;
  (probe.from_table as AstNode).table_name = rewrite.table;
  const types = await context.describe(await standaloneSql(probe));
  values.forEach((value, i) => rewrite.sketchTypes.set(expressionKey(value), types[i]?.type ?? ''));
}

async function standaloneSql(select: AstNode): Promise<string> {
  const tree = await statementTemplate('SELECT 1');
  const statement = (tree.statements as AstNode[])[0] as AstNode;
  statement.node = select;
  return deserializeSql(tree);
}

async function fragmentSelect(rewrite: Rewrite, where: AstNode | null): Promise<AstNode> {
  const select = statementNode(await statementTemplate('SELECT x FROM t GROUP BY ALL'));
  const items: AstNode[] = [];
  for (const column of [...rewrite.keys, ...rewrite.partials]) {
    let expression: AstNode = { ...clone(column.expression), alias: column.name };
    if (rewrite.castBack.has(column.name)) {
      const cast = await expressionTemplate('CAST(x AS VARCHAR)');
      cast.child = { ...expression, alias: '' };
      expression = { ...cast, alias: column.name };
    }
    items.push(expression);
  }
  select.select_list = items;
  (select.from_table as AstNode).table_name = rewrite.table;
  select.where_clause = where;
  return select;
}

function sameColumns(a: readonly ColumnSchema[], b: readonly ColumnSchema[]): boolean {
  return (
    a.length === b.length && a.every((column, i) => column.name === b[i]?.name && column.type === b[i]?.type)
  );
}

/** The rewrite of one SELECT, or null when it stays as it is. */
async function rewriteSelect(
  select: AstNode,
  catalog: Catalog,
  context: PartialContext,
  table: string,
  partialTable: string,
): Promise<{ brokerSelect: AstNode; fragment: FragmentPlan } | null> {
  const from = select.from_table as AstNode;
  const columns = catalog.get(table) ?? [];
  const alias = String(from.alias || from.table_name).toLowerCase();
  const rewrite = new Rewrite(table, alias, columns, context.aggregates);
  const where = select.where_clause ? rewrite.local(select.where_clause) : null;
  const keys = groupKeys(select, columns, context.aggregates);
  const keyNames = new Map<string, string>();
  for (const key of keys) keyNames.set(expressionKey(rewrite.local(key)), rewrite.addKey(key));
  const explicitKeys = rewrite.keys.length;

  const original = await context.describe(await standaloneSql(select));
  await learnSketchTypes(select, rewrite, context);
  const items = select.select_list as AstNode[];
  const aliases = new Set(original.map((column) => column.name.toLowerCase()));
  const brokerSelect = clone(select);
  brokerSelect.select_list = items.map((item, i) => ({
    ...(mergeExpression({ ...item, alias: '' }, keyNames, rewrite, aliases) as AstNode),
    alias: original[i]?.name ?? item.alias,
  }));
  brokerSelect.having = select.having ? mergeExpression(select.having, keyNames, rewrite, aliases) : null;
  brokerSelect.modifiers = mergeExpression(select.modifiers, keyNames, rewrite, aliases);
  brokerSelect.where_clause = null;
  brokerSelect.aggregate_handling = 'STANDARD_HANDLING';
  brokerSelect.group_expressions = await Promise.all(
    rewrite.keys.slice(0, explicitKeys).map((key) => columnRef(key.name)),
  );
  brokerSelect.group_sets = explicitKeys > 0 ? [[...Array(explicitKeys).keys()]] : [];

  // Columns whose type has no wire codec travel as text and are cast back.
  const probeNode = await fragmentSelect(rewrite, where);
  const probe = await context.describe(await standaloneSql(probeNode));
  for (const column of probe) {
    if (isTransportable(column.typeId)) continue;
    if (!CAST_BACK_TYPE.test(column.type)) return null;
    rewrite.castBack.set(column.name, column.type);
  }
  const fragmentNode = rewrite.castBack.size > 0 ? await fragmentSelect(rewrite, where) : probeNode;
  const merged = (await resolvePlaceholders(brokerSelect, rewrite)) as AstNode;

  // Check: the merge over the fragment, bound against the schemas, gives the original's columns.
  const subquery = statementNode(await statementTemplate('SELECT * FROM (SELECT 1) AS s'));
  const fromFragment = subquery.from_table as AstNode;
  (fromFragment.subquery as AstNode).node = fragmentNode;
  fromFragment.alias = partialTable;
  if (
    !sameColumns(
      await context.describe(await standaloneSql({ ...merged, from_table: fromFragment })),
      original,
    )
  ) {
    return null;
  }

  // What travels: the probe's columns, text where a column is cast back.
  const brokerColumns: BrokerColumn[] = [
    ...probe.map((column) => ({
      name: column.name,
      type: rewrite.castBack.has(column.name) ? 'VARCHAR' : column.type,
      origin: 'wire' as const,
    })),
    { name: PARTIAL_NODE_COLUMN, type: 'VARCHAR', origin: 'node-name' },
  ];
  const partialRef = statementNode(await statementTemplate('SELECT * FROM t')).from_table as AstNode;
  partialRef.table_name = partialTable;
  return {
    brokerSelect: { ...merged, from_table: partialRef },
    fragment: {
      table: partialTable,
      columns: brokerColumns,
      sql: await standaloneSql(fragmentNode),
      kind: 'partial-aggregate',
    },
  };
}

function isCandidate(select: AstNode, catalog: Catalog, aggregates: ReadonlySet<string>): string | null {
  const from = select.from_table;
  if (!isAstNode(from)) return null;
  const table = nodeTableOf(from, catalog);
  if (!table || from.sample || from.at_clause || (from.column_name_alias as unknown[]).length > 0)
    return null;
  if (select.sample || select.qualify) return null;
  if (((select.cte_map as { map?: unknown[] })?.map ?? []).length > 0) return null;
  const groupSets = select.group_sets as unknown[];
  if (groupSets.length > 1) return null;
  const aggregated =
    (select.group_expressions as unknown[]).length > 0 ||
    select.aggregate_handling === 'FORCE_AGGREGATES' ||
    containsAggregate(select.select_list, aggregates);
  return aggregated ? table : null;
}

/** Rewrites every pushable aggregate SELECT of the tree; returns the new tree and one fragment per rewrite. */
export async function planPartialAggregates(
  tree: AstNode,
  catalog: Catalog,
  context: PartialContext,
): Promise<{ tree: AstNode; fragments: FragmentPlan[] }> {
  const selects: [AstNode, string][] = [];
  forEachNode(tree, (node) => {
    if (node.type !== 'SELECT_NODE') return;
    const table = isCandidate(node, catalog, context.aggregates);
    if (table) selects.push([node, table]);
  });
  const replacements = new Map<AstNode, AstNode>();
  const fragments: FragmentPlan[] = [];
  for (const [select, table] of selects) {
    try {
      const result = await rewriteSelect(
        select,
        catalog,
        context,
        table,
        `__loupe_partial_${fragments.length}`,
      );
      if (!result) continue;
      replacements.set(select, result.brokerSelect);
      fragments.push(result.fragment);
    } catch {
      // Not pushable (NotPushable), or DuckDB would not bind or print a step of the rewrite: either way the
      // table is shipped row by row instead, which is always correct.
    }
  }
  return { tree: replaceNodes(tree, (node) => replacements.get(node)) as AstNode, fragments };
}
