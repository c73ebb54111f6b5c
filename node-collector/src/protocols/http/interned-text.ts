/**
 * Short texts of message heads (header values, methods, reason phrases) decoded once and shared.
 *
 * Most of them repeat from message to message: hosts, user agents, content types, server names, dates within
 * the same second. Decoding each occurrence costs a native call and makes a fresh string that lives as long as
 * the record holding it, so the garbage collector copies it again while the store waits to write it. Instead,
 * short ASCII texts are looked up in a direct-mapped table of strings decoded earlier, kept with a copy of their
 * bytes; a miss decodes the bytes and replaces the entry of their slot. Strings are immutable, so one table serves
 * every parser, and it is bounded: SLOTS entries of at most MAX_INTERNED_BYTES.
 */

const SLOTS = 2048;
const SLOT_MASK = SLOTS - 1;
/** Longer texts are rarely repeated byte for byte (tokens, cookies) and would make a miss costlier. */
const MAX_INTERNED_BYTES = 192;
/** Bytes hashed at each end of a text: a hit compares every byte anyway, so the hash need only spread slots. */
const HASHED_END_BYTES = 8;
const HASH_SEED = 0x811c9dc5;
const HASH_PRIME = 0x01000193;

/** The bytes of each slot's text (ASCII, so also its characters); length -1 marks an empty slot. */
const slotBytes = new Uint8Array(SLOTS * MAX_INTERNED_BYTES);
const slotLengths = new Int32Array(SLOTS).fill(-1);
const slotTexts: string[] = new Array<string>(SLOTS).fill('');

/** Bytes [start, end) of `line` decoded as UTF-8, as a shared string when they are short ASCII. */
export function internedText(line: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > MAX_INTERNED_BYTES) return line.toString('utf8', start, end);
  const slot = slotOf(line, start, end);
  const at = slot * MAX_INTERNED_BYTES;
  if (slotLengths[slot] === length && sameBytes(line, start, end, at)) return slotTexts[slot]!;
  if (!copyIfAscii(line, start, end, at)) {
    slotLengths[slot] = -1;
    return line.toString('utf8', start, end);
  }
  // ASCII bytes: Latin-1 decodes them as UTF-8 does, without looking for multi-byte sequences.
  const text = line.toString('latin1', start, end);
  slotLengths[slot] = length;
  slotTexts[slot] = text;
  return text;
}

/** Hashes the length and the bytes at both ends, where texts that differ mostly differ (ids, counters, times). */
function slotOf(line: Buffer, start: number, end: number): number {
  let hash = Math.imul(HASH_SEED ^ (end - start), HASH_PRIME);
  const headEnd = Math.min(end, start + HASHED_END_BYTES);
  for (let i = start; i < headEnd; i++) hash = Math.imul(hash ^ line[i]!, HASH_PRIME);
  for (let i = Math.max(headEnd, end - HASHED_END_BYTES); i < end; i++) {
    hash = Math.imul(hash ^ line[i]!, HASH_PRIME);
  }
  return (hash ^ (hash >>> 16)) & SLOT_MASK;
}

function sameBytes(line: Buffer, start: number, end: number, at: number): boolean {
  for (let i = start, j = at; i < end; i++, j++) if (line[i] !== slotBytes[j]) return false;
  return true;
}

/** Copies bytes [start, end) of `line` to the slot at `at`; false, leaving the slot unusable, when not ASCII. */
function copyIfAscii(line: Buffer, start: number, end: number, at: number): boolean {
  for (let i = start, j = at; i < end; i++, j++) {
    const byte = line[i]!;
    if (byte >= 0x80) return false;
    slotBytes[j] = byte;
  }
  return true;
}
