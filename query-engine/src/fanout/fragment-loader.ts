/**
 * Appends one node's answer to one fragment into the broker's temporary table for it, batch by batch as the
 * stream arrives. The broker table may have more columns than the wire: the node's name (filled in here, as
 * the broker addressed the node) and columns the query never reads (NULL), both as constant vectors.
 */

import duckdb from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { FragmentPlan } from '../planner/query-planner.js';
import { arrowTypeName, batchSliceToChunk, type ColumnSource } from './arrow-columns.js';
import { decodeStream, type DecodedFragment, type FragmentCaps } from './fragment-wire.js';

export class FragmentSchemaError extends Error {
  readonly code = 'FRAGMENT_SCHEMA_MISMATCH';
}

/** How each broker column is filled from a stream with this schema; throws if the node sent other columns. */
function columnSources(
  fragment: FragmentPlan,
  tableTypes: readonly DuckDBType[],
  schema: Schema,
  nodeName: string,
): ColumnSource[] {
  return fragment.columns.map((column, i): ColumnSource => {
    if (column.origin === 'node-name') return { from: 'constant', value: nodeName };
    if (column.origin === 'null') return { from: 'constant', value: null };
    const type = tableTypes[i] as DuckDBType;
    const index = schema.fields.findIndex((field) => field.name.toLowerCase() === column.name.toLowerCase());
    const field = schema.fields[index];
    if (!field) throw new FragmentSchemaError(`the node sent no column ${column.name}`);
    if (String(field.type) !== arrowTypeName(type)) {
      throw new FragmentSchemaError(
        `column ${column.name} came as ${String(field.type)}, expected ${arrowTypeName(type)}`,
      );
    }
    return { from: 'wire', index, type };
  });
}

/**
 * Streams `body` into the fragment's table. Appends are synchronous calls on the broker's one connection, so
 * answers of several nodes arriving at once never interleave inside DuckDB.
 */
export async function loadFragment(
  connection: DuckDBConnection,
  fragment: FragmentPlan,
  tableTypes: readonly DuckDBType[],
  nodeName: string,
  body: AsyncIterable<Uint8Array>,
  caps: FragmentCaps,
): Promise<DecodedFragment> {
  const appender = await connection.createAppender(fragment.table, null, 'temp');
  const vectorSize = duckdb.vector_size();
  let sources: ColumnSource[] | null = null;
  try {
    return await decodeStream(body, caps, (batch: RecordBatch, schema: Schema) => {
      sources ??= columnSources(fragment, tableTypes, schema, nodeName);
      for (let start = 0; start < batch.numRows; start += vectorSize) {
        const count = Math.min(vectorSize, batch.numRows - start);
        appender.appendDataChunk(batchSliceToChunk(tableTypes, sources, batch, start, count));
      }
    });
  } finally {
    appender.flushSync();
    appender.closeSync();
  }
}
