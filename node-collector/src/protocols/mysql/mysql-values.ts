/** Values of the MySQL wire format: length-encoded integers and the binary protocol's typed parameters. */

const MAX_PARAMS = 64;
const MAX_PARAM_CHARS = 256;

/** A length-encoded integer at `at`: one byte below 0xFB, else 0xFC/0xFD/0xFE and 2, 3 or 8 bytes. */
export function lengthEncodedInt(buf: Buffer, at: number): { value: number; next: number } {
  const first = buf[at];
  if (first === undefined) return { value: 0, next: at };
  if (first < 0xfb) return { value: first, next: at + 1 };
  if (first === 0xfc && at + 3 <= buf.length) return { value: buf.readUInt16LE(at + 1), next: at + 3 };
  if (first === 0xfd && at + 4 <= buf.length) return { value: buf.readUIntLE(at + 1, 3), next: at + 4 };
  if (first === 0xfe && at + 9 <= buf.length)
    return { value: Number(buf.readBigUInt64LE(at + 1)), next: at + 9 };
  return { value: 0, next: buf.length };
}

const TYPE_TINY = 0x01;
const TYPE_SHORT = 0x02;
const TYPE_LONG = 0x03;
const TYPE_FLOAT = 0x04;
const TYPE_DOUBLE = 0x05;
const TYPE_NULL = 0x06;
const TYPE_TIMESTAMP = 0x07;
const TYPE_LONGLONG = 0x08;
const TYPE_INT24 = 0x09;
const TYPE_DATE = 0x0a;
const TYPE_TIME = 0x0b;
const TYPE_DATETIME = 0x0c;
const TYPE_YEAR = 0x0d;
const UNSIGNED_FLAG = 0x80;

function clip(text: string): string {
  return text.length > MAX_PARAM_CHARS ? `${text.slice(0, MAX_PARAM_CHARS)}…` : text;
}

/**
 * COM_STMT_EXECUTE's parameters: after the command byte, statement id (4), flags (1) and iteration count (4) come a
 * NULL bitmap, the new-params-bound flag, the types (2 bytes each) when bound, then the values. An execution that
 * does not bind types reuses those of the previous one, so they are returned for the caller to keep.
 */
export function decodeExecuteParams(
  payload: Buffer,
  paramCount: number,
  previousTypes: Buffer | undefined,
): { params: string[]; types: Buffer | undefined } {
  if (paramCount === 0) return { params: [], types: previousTypes };
  let at = 10;
  const bitmap = payload.subarray(at, at + Math.ceil(paramCount / 8));
  at += bitmap.length;
  const bound = payload[at] === 1;
  at += 1;
  let types = previousTypes;
  if (bound) {
    types = Buffer.from(payload.subarray(at, at + paramCount * 2));
    at += paramCount * 2;
  }
  if (types === undefined || types.length < paramCount * 2) return { params: [], types };
  const params: string[] = [];
  for (let i = 0; i < paramCount && i < MAX_PARAMS; i++) {
    if (((bitmap[i >> 3] ?? 0) >> (i & 7)) & 1) {
      params.push('NULL');
      continue;
    }
    const value = readValue(payload, at, types[i * 2] ?? 0, ((types[i * 2 + 1] ?? 0) & UNSIGNED_FLAG) !== 0);
    if (value === undefined) break; // truncated payload: what was decoded so far stands
    params.push(clip(value.text));
    at = value.next;
  }
  return { params, types };
}

function readValue(
  buf: Buffer,
  at: number,
  type: number,
  unsigned: boolean,
): { text: string; next: number } | undefined {
  const fixed = (size: number, read: () => number | bigint) =>
    at + size <= buf.length ? { text: String(read()), next: at + size } : undefined;
  switch (type) {
    case TYPE_NULL:
      return { text: 'NULL', next: at };
    case TYPE_TINY:
      return fixed(1, () => (unsigned ? buf.readUInt8(at) : buf.readInt8(at)));
    case TYPE_SHORT:
    case TYPE_YEAR:
      return fixed(2, () => (unsigned ? buf.readUInt16LE(at) : buf.readInt16LE(at)));
    case TYPE_LONG:
    case TYPE_INT24:
      return fixed(4, () => (unsigned ? buf.readUInt32LE(at) : buf.readInt32LE(at)));
    case TYPE_LONGLONG:
      return fixed(8, () => (unsigned ? buf.readBigUInt64LE(at) : buf.readBigInt64LE(at)));
    case TYPE_FLOAT:
      return fixed(4, () => buf.readFloatLE(at));
    case TYPE_DOUBLE:
      return fixed(8, () => buf.readDoubleLE(at));
    case TYPE_DATE:
    case TYPE_DATETIME:
    case TYPE_TIMESTAMP:
      return readDateTime(buf, at);
    case TYPE_TIME:
      return readTime(buf, at);
    default: {
      // Strings, blobs, decimals, JSON, bits: a length-encoded byte string.
      const length = lengthEncodedInt(buf, at);
      const end = length.next + length.value;
      if (end > buf.length) return undefined;
      return { text: buf.toString('utf8', length.next, end), next: end };
    }
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function readDateTime(buf: Buffer, at: number): { text: string; next: number } | undefined {
  const length = buf[at];
  if (length === undefined || at + 1 + length > buf.length) return undefined;
  const p = at + 1;
  if (length === 0) return { text: '0000-00-00 00:00:00', next: p };
  const date = `${pad(buf.readUInt16LE(p), 4)}-${pad(buf[p + 2] ?? 0)}-${pad(buf[p + 3] ?? 0)}`;
  if (length < 7) return { text: date, next: p + length };
  const time = `${pad(buf[p + 4] ?? 0)}:${pad(buf[p + 5] ?? 0)}:${pad(buf[p + 6] ?? 0)}`;
  const micros = length >= 11 ? `.${pad(buf.readUInt32LE(p + 7), 6)}` : '';
  return { text: `${date} ${time}${micros}`, next: p + length };
}

function readTime(buf: Buffer, at: number): { text: string; next: number } | undefined {
  const length = buf[at];
  if (length === undefined || at + 1 + length > buf.length) return undefined;
  const p = at + 1;
  if (length === 0) return { text: '00:00:00', next: p };
  const sign = buf[p] === 1 ? '-' : '';
  const hours = buf.readUInt32LE(p + 1) * 24 + (buf[p + 5] ?? 0);
  const time = `${sign}${pad(hours)}:${pad(buf[p + 6] ?? 0)}:${pad(buf[p + 7] ?? 0)}`;
  const micros = length >= 12 ? `.${pad(buf.readUInt32LE(p + 8), 6)}` : '';
  return { text: `${time}${micros}`, next: p + length };
}
