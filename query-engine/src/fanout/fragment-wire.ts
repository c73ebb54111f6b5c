/**
 * The fragment wire format: an Arrow IPC stream (schema, one record batch per DuckDB chunk, end-of-stream),
 * produced as DuckDB yields chunks and consumed as it arrives, so neither side holds a whole answer.
 *
 * Caps: a node sends at most `maxRows + 1` rows and stops after the batch that takes it past `maxBytes`. The
 * broker keeps at most `maxRows` rows, and flags the node's answer truncated when it got more rows than that
 * or more bytes than `maxBytes` (the one extra row, or batch, is how "exactly at the cap" is told from "more
 * than the cap"). A node that does not stop is cut off `BATCH_SLACK_BYTES` past the cap.
 */

import { RecordBatchReader, RecordBatchStreamWriter, type RecordBatch, type Schema } from 'apache-arrow';
import type { DuckDBResult } from '@duckdb/node-api';
import { arrowSchemaFor, chunkToBatch } from './arrow-columns.js';

export const ARROW_STREAM_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

export interface FragmentCaps {
  maxRows: number;
  maxBytes: number;
}

export const DEFAULT_FRAGMENT_CAPS: FragmentCaps = { maxRows: 5_000_000, maxBytes: 512 * 1024 * 1024 };

/** Room for the one batch a node sends past its byte cap (a DuckDB chunk of 2048 rows of wide strings). */
const BATCH_SLACK_BYTES = 64 * 1024 * 1024;

/** Bytes of the end-of-stream marker: continuation 0xFFFFFFFF, then a zero metadata length. */
const END_OF_STREAM_BYTES = 8;

/** The schema message alone: what a stream with this schema and no batches holds before its end marker. */
function schemaMessage(schema: Schema): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  writer.finish();
  const stream = writer.toUint8Array(true);
  return stream.subarray(0, stream.length - END_OF_STREAM_BYTES);
}

/** One record batch message, cut from a one-batch stream (schema message first, end marker last). */
function batchMessage(batch: RecordBatch, schemaBytes: number): Uint8Array {
  const stream = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
  return stream.subarray(schemaBytes, stream.length - END_OF_STREAM_BYTES);
}

/** A DuckDB streaming result as Arrow IPC stream bytes, within the caps. */
export async function* encodeResult(result: DuckDBResult, caps: FragmentCaps): AsyncGenerator<Uint8Array> {
  const names = result.deduplicatedColumnNames();
  const types = result.columnTypes();
  const schema = arrowSchemaFor(names, types);
  const header = schemaMessage(schema);
  yield header;
  let rows = 0;
  let bytes = header.length;
  while (rows <= caps.maxRows && bytes <= caps.maxBytes) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const count = Math.min(chunk.rowCount, caps.maxRows + 1 - rows);
    const message = batchMessage(chunkToBatch(schema, types, chunk, count), header.length);
    rows += count;
    bytes += message.length;
    yield message;
  }
  yield new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
}

export interface DecodedFragment {
  rows: number;
  bytes: number;
  truncated: boolean;
}

/**
 * Reads an Arrow IPC stream, handing each batch (cut to the row cap) to `onBatch` together with the stream's
 * schema. Rejects on a malformed stream or one that ends before its end marker.
 */
export async function decodeStream(
  body: AsyncIterable<Uint8Array>,
  caps: FragmentCaps,
  onBatch: (batch: RecordBatch, schema: Schema) => Promise<void> | void,
): Promise<DecodedFragment> {
  let bytes = 0;
  let overBytes = false;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of body) {
      bytes += piece.length;
      yield piece;
      // The node stops by itself after the batch that passes maxBytes; stop reading if it does not.
      if (bytes > caps.maxBytes + BATCH_SLACK_BYTES) {
        overBytes = true;
        return;
      }
    }
  }
  const reader = await RecordBatchReader.from(counted());
  await reader.open();
  if (!reader.schema) throw new Error('fragment stream carries no schema');
  let rows = 0;
  let overRows = false;
  try {
    for await (const batch of reader) {
      const room = caps.maxRows - rows;
      if (batch.numRows > room) {
        overRows = true;
        if (room > 0) await onBatch(batch.slice(0, room), reader.schema);
        rows += Math.max(0, room);
        break;
      }
      await onBatch(batch, reader.schema);
      rows += batch.numRows;
    }
  } catch (error) {
    // A stream cut at the byte cap ends inside a message; what came before it stands.
    if (!overBytes) throw error;
  }
  return { rows, bytes, truncated: overRows || overBytes || bytes > caps.maxBytes };
}
