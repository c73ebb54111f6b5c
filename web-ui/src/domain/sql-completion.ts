/**
 * The node tables and their columns as the SQL editor completes them: a table name completes with its column
 * count, `table.` completes that table's columns, and a bare column name completes from every table that has
 * it (the usual case: one table in FROM), each with its type.
 */
import type { TableSchema } from '../api/types.js';

export interface CompletionItem {
  label: string;
  type: 'table' | 'column';
  detail: string;
}

/** The shape @codemirror/lang-sql's `schema` option reads: tables with a `self` entry and their children. */
export type CompletionSchema = Record<string, { self: CompletionItem; children: CompletionItem[] }>;

export function completionSchema(tables: TableSchema): CompletionSchema {
  const schema: CompletionSchema = {};
  for (const name of Object.keys(tables).sort()) {
    const columns = tables[name] ?? [];
    schema[name] = {
      self: { label: name, type: 'table', detail: `${columns.length} columns` },
      children: columns.map((c) => ({ label: c.name, type: 'column', detail: shortType(c.type) })),
    };
  }
  return schema;
}

/** Every column of every table once, for completion without a table prefix; the detail names the tables. */
export function allColumns(tables: TableSchema): CompletionItem[] {
  const owners = new Map<string, string[]>();
  for (const name of Object.keys(tables).sort()) {
    for (const column of tables[name] ?? []) {
      owners.set(column.name, [...(owners.get(column.name) ?? []), name]);
    }
  }
  return [...owners.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, in_]) => ({
      label,
      type: 'column',
      detail: in_.length > 3 ? `${in_.length} tables` : in_.join(', '),
    }));
}

/** "TIMESTAMP_NS NOT NULL" → "TIMESTAMP_NS": the constraint is noise in a completion list. */
export function shortType(type: string): string {
  return type.replace(/\s+NOT NULL$/i, '');
}
