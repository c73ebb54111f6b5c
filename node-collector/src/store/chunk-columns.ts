/**
 * Fills a DuckDB data chunk a whole column at a time: one native call per column, not one per value.
 *
 * @duckdb/node-api's vectors cost a native call per string and a BigInt per 64-bit number; with fifteen string
 * columns per HTTP row that was most of the store's CPU (about 7 µs of 10 per row, measured). Here each column is
 * laid out in a JavaScript buffer exactly as DuckDB holds it in memory, and copied into the vector at once:
 *
 * - numbers and booleans as little-endian values of their width; 64-bit ones from two 32-bit halves, since every
 *   value the collector stores is an integer below 2^53, exact in a double;
 * - strings as `duckdb_string_t` (duckdb.h): 16 bytes, the byte length first, then either the string itself when it
 *   is at most 12 bytes, or its first 4 bytes and a pointer. The pointed-to bytes must belong to the vector, so the
 *   longer strings of a column are written one after the other into a pool, the pool is handed to DuckDB as one
 *   string (which copies it into the vector's own string heap), and each row then points into that copy.
 */

import { Buffer } from 'node:buffer';
import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';

/** How a column's values are laid out in a vector, from the column's SQL type (schema.ts). */
export type ColumnKind = 'timestamp_ns' | 'varchar' | 'integer' | 'bigint' | 'boolean';

export function columnKind(sqlType: string): ColumnKind {
  const base = sqlType.split(' ')[0];
  switch (base) {
    case 'TIMESTAMP_NS':
      return 'timestamp_ns';
    case 'VARCHAR':
    case 'JSON':
      return 'varchar';
    case 'INTEGER':
      return 'integer';
    case 'BIGINT':
      return 'bigint';
    case 'BOOLEAN':
      return 'boolean';
    default:
      throw new Error(`no column writer for SQL type ${sqlType}`);
  }
}

/**
 * A column's value for one row: a string for varchar, a number for integer, bigint and timestamp_ns (CLOCK_MONOTONIC
 * ns, shifted to wall-clock by the writer), a boolean for boolean. Anything else, a malformed field included, is
 * stored as NULL: one bad value must not fail the chunk.
 */
export type ColumnValue<R> = (record: R) => string | number | boolean | null;

export interface ChunkColumn<R> {
  kind: ColumnKind;
  value: ColumnValue<R>;
}

/** DuckDB's vector size: the most rows one chunk holds. */
export const CHUNK_ROWS = duckdb.vector_size();
const STRING_T_BYTES = 16;
const INLINE_STRING_BYTES = 12;
const TWO_POW_32 = 2 ** 32;
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);
/** Long strings are handed to DuckDB in pools of about this size: the scratch memory a chunk may hold on to. */
const POOL_BYTES = 1024 * 1024;

/** The 16-byte `duckdb_string_t` slots of one column, built in JavaScript and copied into the vector at once. */
class StringSlots {
  readonly bytes = Buffer.alloc(CHUNK_ROWS * STRING_T_BYTES);
  readonly view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  /** Long strings waiting for their pool to be handed over: row, offset in the pool, byte length. */
  private readonly pendingRows = new Int32Array(CHUNK_ROWS);
  private readonly pendingOffsets = new Int32Array(CHUNK_ROWS);
  private readonly pendingLengths = new Int32Array(CHUNK_ROWS);
  private pendingCount = 0;
  private pool = Buffer.allocUnsafe(POOL_BYTES);
  private poolBytes = 0;
  /** The last long string pooled, so that a column repeating one value (node, process) pools it once. */
  private lastString = '';
  private lastOffset = 0;
  private lastLength = 0;

  /** Writes row `row`'s slot; `vector` receives the pool when it fills up. */
  set(vector: duckdb.Vector, row: number, value: string): void {
    const slot = row * STRING_T_BYTES;
    if (value.length <= INLINE_STRING_BYTES && this.setInlineAscii(slot, value)) return;
    if (value === this.lastString && this.pendingCount > 0) {
      this.addPending(row, this.lastOffset, this.lastLength);
      return;
    }
    const maxBytes = value.length * 3;
    if (this.poolBytes + maxBytes > this.pool.length) {
      this.handOver(vector);
      if (maxBytes > this.pool.length) this.pool = Buffer.allocUnsafe(maxBytes);
    }
    const length = this.pool.write(value, this.poolBytes, 'utf8');
    if (length <= INLINE_STRING_BYTES) {
      this.setInlineBytes(slot, this.pool, this.poolBytes, length);
      return;
    }
    this.lastString = value;
    this.lastOffset = this.poolBytes;
    this.lastLength = length;
    this.addPending(row, this.poolBytes, length);
    this.poolBytes += length;
  }

  setNull(row: number): void {
    this.bytes.fill(0, row * STRING_T_BYTES, (row + 1) * STRING_T_BYTES);
  }

  /** Hands the pooled strings to the vector and points their slots at DuckDB's copy of them. */
  handOver(vector: duckdb.Vector): void {
    if (this.pendingCount > 0) {
      // Row 0's slot is overwritten with its real value when the slots are copied in; the pool stays in the
      // vector's string heap for as long as the chunk lives.
      duckdb.vector_assign_string_element_len(vector, 0, this.pool.subarray(0, this.poolBytes));
      const assigned = duckdb.vector_get_data(vector, STRING_T_BYTES);
      const base = Number(
        new DataView(assigned.buffer, assigned.byteOffset, STRING_T_BYTES).getBigUint64(8, true),
      );
      const pool = this.pool;
      const bytes = this.bytes;
      for (let i = 0; i < this.pendingCount; i++) {
        const slot = this.pendingRows[i]! * STRING_T_BYTES;
        const offset = this.pendingOffsets[i]!;
        this.view.setUint32(slot, this.pendingLengths[i]!, true);
        // The string's first four bytes, byte by byte: Buffer.copy from an offset creates a typed array each time.
        bytes[slot + 4] = pool[offset]!;
        bytes[slot + 5] = pool[offset + 1]!;
        bytes[slot + 6] = pool[offset + 2]!;
        bytes[slot + 7] = pool[offset + 3]!;
        writeInt64(this.view, slot + 8, base + offset);
      }
    }
    this.pendingCount = 0;
    this.poolBytes = 0;
    this.lastString = '';
    if (this.pool.length > POOL_BYTES) this.pool = Buffer.allocUnsafe(POOL_BYTES);
  }

  private addPending(row: number, offset: number, length: number): void {
    this.pendingRows[this.pendingCount] = row;
    this.pendingOffsets[this.pendingCount] = offset;
    this.pendingLengths[this.pendingCount] = length;
    this.pendingCount += 1;
  }

  /** Short ASCII strings, most of them (methods, roles, addresses), go inline without being encoded. */
  private setInlineAscii(slot: number, value: string): boolean {
    for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
    this.view.setUint32(slot, value.length, true);
    for (let i = 0; i < INLINE_STRING_BYTES; i++) {
      this.bytes[slot + 4 + i] = i < value.length ? value.charCodeAt(i) : 0;
    }
    return true;
  }

  private setInlineBytes(slot: number, source: Buffer, start: number, length: number): void {
    this.view.setUint32(slot, length, true);
    this.bytes.fill(0, slot + 4, slot + STRING_T_BYTES);
    source.copy(this.bytes, slot + 4, start, start + length);
  }
}

/** Two's complement 64-bit from a double holding an integer of magnitude below 2^53. */
function writeInt64(view: DataView, offset: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setUint32(offset, value - high * TWO_POW_32, true);
  view.setInt32(offset + 4, high, true);
}

type FixedKind = Exclude<ColumnKind, 'varchar'>;

const FIXED_WIDTH: Record<FixedKind, number> = { boolean: 1, integer: 4, bigint: 8, timestamp_ns: 8 };

/** Writes a value at a byte offset if it is of the column's type; false when it is to be stored as NULL. */
type FixedWriter = (offset: number, value: unknown) => boolean;

/** Writes records into data chunks, reusing its scratch buffers from chunk to chunk. */
export class ChunkColumnWriter {
  private readonly fixed = Buffer.alloc(CHUNK_ROWS * 8);
  private readonly fixedView = new DataView(this.fixed.buffer, this.fixed.byteOffset, this.fixed.byteLength);
  private readonly validity = Buffer.alloc(CHUNK_ROWS / 8);
  private readonly strings = new StringSlots();
  /** The clock offset's two 32-bit halves, added to monotonic times with a carry. */
  private readonly offsetHigh: number;
  private readonly offsetLow: number;

  private readonly fixedWriters: Record<FixedKind, FixedWriter>;

  /** `clockOffsetNs`: wall-clock ns minus CLOCK_MONOTONIC ns, added to every timestamp_ns value. */
  constructor(clockOffsetNs: bigint) {
    this.offsetHigh = Number(clockOffsetNs >> 32n);
    this.offsetLow = Number(BigInt.asUintN(32, clockOffsetNs));
    const view = this.fixedView;
    this.fixedWriters = {
      boolean: (offset, value) => {
        if (typeof value !== 'boolean') return false;
        view.setUint8(offset, value ? 1 : 0);
        return true;
      },
      integer: (offset, value) => {
        if (!Number.isInteger(value) || (value as number) < INT32_MIN || (value as number) > INT32_MAX)
          return false;
        view.setInt32(offset, value as number, true);
        return true;
      },
      bigint: (offset, value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        writeInt64(view, offset, Math.trunc(value));
        return true;
      },
      timestamp_ns: (offset, value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        this.writeWallClock(offset, Math.trunc(value));
        return true;
      },
    };
  }

  /** Fills `chunk` (created with the columns' types, in order) with `rows`, at most CHUNK_ROWS of them. */
  write<R>(chunk: DuckDBDataChunk, columns: readonly ChunkColumn<R>[], rows: readonly R[]): void {
    if (rows.length > CHUNK_ROWS) throw new Error(`a data chunk holds at most ${CHUNK_ROWS} rows`);
    // A reused chunk must not keep the previous rows' NULLs or strings.
    chunk.reset();
    chunk.rowCount = rows.length;
    for (let index = 0; index < columns.length; index++) {
      const column = columns[index]!;
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
      this.validity.fill(0xff);
      const nulls =
        column.kind === 'varchar'
          ? this.writeStrings(vector, column.value, rows)
          : this.writeFixed(vector, column, rows);
      if (nulls > 0) {
        duckdb.vector_ensure_validity_writable(vector);
        duckdb.copy_data_to_vector_validity(
          vector,
          0,
          this.validity.buffer,
          this.validity.byteOffset,
          Math.ceil(rows.length / 64) * 8,
        );
      }
    }
  }

  private setNull(row: number): void {
    this.validity[row >> 3]! &= ~(1 << (row & 7));
  }

  private writeStrings<R>(vector: duckdb.Vector, valueOf: ColumnValue<R>, rows: readonly R[]): number {
    const strings = this.strings;
    let nulls = 0;
    for (let row = 0; row < rows.length; row++) {
      const value = valueOf(rows[row]!);
      if (typeof value === 'string') {
        strings.set(vector, row, value);
      } else {
        strings.setNull(row);
        this.setNull(row);
        nulls += 1;
      }
    }
    strings.handOver(vector);
    const bytes = rows.length * STRING_T_BYTES;
    duckdb.copy_data_to_vector(vector, 0, strings.bytes.buffer, strings.bytes.byteOffset, bytes);
    return nulls;
  }

  /** Numbers and booleans; returns how many rows were NULL. */
  private writeFixed<R>(vector: duckdb.Vector, column: ChunkColumn<R>, rows: readonly R[]): number {
    const kind = column.kind as FixedKind;
    const put = this.fixedWriters[kind];
    const width = FIXED_WIDTH[kind];
    const valueOf = column.value;
    let nulls = 0;
    for (let row = 0; row < rows.length; row++) {
      const offset = row * width;
      if (!put(offset, valueOf(rows[row]!))) {
        this.fixed.fill(0, offset, offset + width);
        this.setNull(row);
        nulls += 1;
      }
    }
    duckdb.copy_data_to_vector(vector, 0, this.fixed.buffer, this.fixed.byteOffset, rows.length * width);
    return nulls;
  }

  /** Monotonic ns plus the clock offset, which is beyond 2^53 and so added by halves. */
  private writeWallClock(offset: number, monotonicNs: number): void {
    const monotonicHigh = Math.floor(monotonicNs / TWO_POW_32);
    let low = this.offsetLow + (monotonicNs - monotonicHigh * TWO_POW_32);
    let high = this.offsetHigh + monotonicHigh;
    if (low >= TWO_POW_32) {
      low -= TWO_POW_32;
      high += 1;
    }
    this.fixedView.setUint32(offset, low, true);
    this.fixedView.setInt32(offset + 4, high, true);
  }
}
