/**
 * Column-by-column conversion between DuckDB data chunks and Arrow record batches, the fragments' wire format.
 *
 * Fixed-width columns are copied as raw bytes in both directions (DuckDB and Arrow lay out integers, floats,
 * dates and timestamps the same way, and both use an LSB-first validity bitmap where a set bit means "valid"),
 * so no value is turned into a JavaScript object on the way. Strings are copied as UTF-8 bytes with offsets,
 * booleans are repacked (DuckDB keeps one byte per value, Arrow one bit).
 *
 * Types without a codec here (HUGEINT, DECIMAL, INTERVAL, LIST, STRUCT, ...) never reach this module: the
 * planner has the node cast such a column to VARCHAR and the broker casts it back (see planner/plan.ts).
 */

import duckdb from '@duckdb/node-bindings';
import {
  Bool,
  DateDay,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  RecordBatch,
  Schema,
  Struct,
  TimeUnit,
  Timestamp,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import { DuckDBDataChunk, DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';

type Kind = 'fixed' | 'bool' | 'utf8';

interface ColumnCodec {
  kind: Kind;
  /** Bytes per value for 'fixed'. */
  width: number;
  arrowType: () => DataType;
}

const fixed = (width: number, arrowType: () => DataType): ColumnCodec => ({
  kind: 'fixed',
  width,
  arrowType,
});

const CODECS: Partial<Record<DuckDBTypeId, ColumnCodec>> = {
  [DuckDBTypeId.BOOLEAN]: { kind: 'bool', width: 1, arrowType: () => new Bool() },
  [DuckDBTypeId.TINYINT]: fixed(1, () => new Int8()),
  [DuckDBTypeId.SMALLINT]: fixed(2, () => new Int16()),
  [DuckDBTypeId.INTEGER]: fixed(4, () => new Int32()),
  [DuckDBTypeId.BIGINT]: fixed(8, () => new Int64()),
  [DuckDBTypeId.UTINYINT]: fixed(1, () => new Uint8()),
  [DuckDBTypeId.USMALLINT]: fixed(2, () => new Uint16()),
  [DuckDBTypeId.UINTEGER]: fixed(4, () => new Uint32()),
  [DuckDBTypeId.UBIGINT]: fixed(8, () => new Uint64()),
  [DuckDBTypeId.FLOAT]: fixed(4, () => new Float32()),
  [DuckDBTypeId.DOUBLE]: fixed(8, () => new Float64()),
  [DuckDBTypeId.DATE]: fixed(4, () => new DateDay()),
  [DuckDBTypeId.TIMESTAMP_S]: fixed(8, () => new Timestamp(TimeUnit.SECOND)),
  [DuckDBTypeId.TIMESTAMP_MS]: fixed(8, () => new Timestamp(TimeUnit.MILLISECOND)),
  [DuckDBTypeId.TIMESTAMP]: fixed(8, () => new Timestamp(TimeUnit.MICROSECOND)),
  [DuckDBTypeId.TIMESTAMP_TZ]: fixed(8, () => new Timestamp(TimeUnit.MICROSECOND, 'UTC')),
  [DuckDBTypeId.TIMESTAMP_NS]: fixed(8, () => new Timestamp(TimeUnit.NANOSECOND)),
  [DuckDBTypeId.VARCHAR]: { kind: 'utf8', width: 0, arrowType: () => new Utf8() },
};

/** True when a column of this type can travel as is; otherwise it travels as VARCHAR. */
export function isTransportable(typeId: DuckDBTypeId): boolean {
  return CODECS[typeId] !== undefined;
}

function codecFor(type: DuckDBType): ColumnCodec {
  const codec = CODECS[type.typeId];
  if (!codec) throw new Error(`column type ${type.toString()} has no wire codec`);
  return codec;
}

export function arrowSchemaFor(names: readonly string[], types: readonly DuckDBType[]): Schema {
  return new Schema(
    names.map((name, i) => new Field(name, codecFor(types[i] as DuckDBType).arrowType(), true)),
  );
}

/** Arrow's type as a string, to check that a node sent the columns the broker planned for. */
export function arrowTypeName(type: DuckDBType): string {
  return String(codecFor(type).arrowType());
}

function popcount(bits: Uint8Array, count: number): number {
  let ones = 0;
  for (let i = 0; i < count; i++) ones += (bits[i >> 3]! >> (i & 7)) & 1;
  return ones;
}

const utf8 = new TextEncoder();

/** One DuckDB column of `count` rows as Arrow data; every buffer is copied out of DuckDB's memory. */
function columnData(chunk: DuckDBDataChunk, column: number, type: DuckDBType, count: number): Data {
  const codec = codecFor(type);
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
  const validityBytes = Math.ceil(count / 64) * 8;
  const validity = duckdb.vector_get_validity(vector, validityBytes);
  const nullBitmap = validity ? new Uint8Array(validity.subarray(0, validityBytes)) : undefined;
  const nullCount = nullBitmap ? count - popcount(nullBitmap, count) : 0;
  const arrowType = codec.arrowType();
  if (codec.kind === 'fixed') {
    const data = new Uint8Array(
      duckdb.vector_get_data(vector, count * codec.width).subarray(0, count * codec.width),
    );
    return makeData({ type: arrowType, length: count, nullCount, nullBitmap, data } as never);
  }
  if (codec.kind === 'bool') {
    const bytes = duckdb.vector_get_data(vector, count);
    const bits = new Uint8Array(Math.ceil(count / 8));
    for (let i = 0; i < count; i++) if (bytes[i]) bits[i >> 3]! |= 1 << (i & 7);
    return makeData({ type: arrowType, length: count, nullCount, nullBitmap, data: bits } as never);
  }
  const strings = chunk.getColumnVector(column);
  const valueOffsets = new Int32Array(count + 1);
  let buffer = new Uint8Array(Math.max(64, count * 16));
  let used = 0;
  for (let i = 0; i < count; i++) {
    const value = strings.getItem(i);
    if (typeof value === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (used + value.length * 3 > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, used + value.length * 3));
        grown.set(buffer.subarray(0, used));
        buffer = grown;
      }
      used += utf8.encodeInto(value, buffer.subarray(used)).written;
    }
    valueOffsets[i + 1] = used;
  }
  return makeData({
    type: arrowType,
    length: count,
    nullCount,
    nullBitmap,
    valueOffsets,
    data: buffer.subarray(0, used),
  } as never);
}

/** The first `count` rows of a DuckDB chunk as an Arrow record batch. */
export function chunkToBatch(
  schema: Schema,
  types: readonly DuckDBType[],
  chunk: DuckDBDataChunk,
  count: number,
): RecordBatch {
  const children = types.map((type, i) => columnData(chunk, i, type, count));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: count, children }));
}

/** Where each column of a broker table comes from when a batch is appended. */
export type ColumnSource =
  { from: 'wire'; index: number; type: DuckDBType } | { from: 'constant'; value: string | null };

function bitRange(bitmap: Uint8Array, start: number, count: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(count / 64) * 8);
  for (let i = 0; i < count; i++) {
    const bit = start + i;
    if ((bitmap[bit >> 3]! >> (bit & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** Writes rows [start, start+count) of one Arrow column into a DuckDB vector. */
function fillVector(vector: duckdb.Vector, data: Data, type: DuckDBType, start: number, count: number): void {
  const codec = codecFor(type);
  const first = data.offset + start;
  if (data.nullCount > 0 && data.nullBitmap) {
    duckdb.vector_ensure_validity_writable(vector);
    const bits = bitRange(data.nullBitmap, first, count);
    duckdb.copy_data_to_vector_validity(vector, 0, bits.buffer as ArrayBuffer, 0, bits.byteLength);
  }
  if (codec.kind === 'fixed') {
    const values = data.values as ArrayBufferView;
    const offset = values.byteOffset + first * codec.width;
    duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, offset, count * codec.width);
    return;
  }
  if (codec.kind === 'bool') {
    const bits = data.values as Uint8Array;
    const bytes = new Uint8Array(count);
    for (let i = 0; i < count; i++) bytes[i] = (bits[(first + i) >> 3]! >> ((first + i) & 7)) & 1;
    duckdb.copy_data_to_vector(vector, 0, bytes.buffer as ArrayBuffer, 0, count);
    return;
  }
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  for (let i = 0; i < count; i++) {
    const row = first + i;
    if (bitmap && !((bitmap[row >> 3]! >> (row & 7)) & 1)) continue;
    duckdb.vector_assign_string_element_len(vector, i, bytes.subarray(offsets[row], offsets[row + 1]));
  }
}

/**
 * Rows [start, start+count) of an Arrow batch as a DuckDB chunk shaped like the broker table (`tableTypes` and
 * `sources`, one per table column, in table order). Constant columns (the node name, columns the query never
 * reads) become DuckDB constant vectors, which cost nothing per row. `count` is at most DuckDB's vector size.
 */
export function batchSliceToChunk(
  tableTypes: readonly DuckDBType[],
  sources: readonly ColumnSource[],
  batch: RecordBatch,
  start: number,
  count: number,
): DuckDBDataChunk {
  // A fresh chunk each time: a reused one would keep the previous slice's validity masks and constants.
  const chunk = DuckDBDataChunk.create(tableTypes, count);
  sources.forEach((source, column) => {
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
    if (source.from === 'constant') {
      duckdb.vector_reference_value(
        vector,
        source.value === null ? duckdb.create_null_value() : duckdb.create_varchar(source.value),
      );
      return;
    }
    const data = batch.getChildAt(source.index)?.data[0];
    if (!data) throw new Error(`batch has no column ${source.index}`);
    fillVector(vector, data, source.type, start, count);
  });
  return chunk;
}
