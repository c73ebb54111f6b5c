/**
 * Short texts of message heads (header values, methods, reason phrases) decoded once and shared.
 *
 * Most of them repeat from message to message: hosts, user agents, content types, server names, dates within
 * the same second. Decoding each occurrence costs a native call and makes a fresh string that lives as long as
 * the record holding it, so the garbage collector copies it again while the store waits to write it. Instead,
 * short ASCII texts are hashed while checked and taken from a direct-mapped table of strings decoded earlier; a
 * miss decodes the bytes and replaces the entry of their slot. Strings are immutable, so one table serves every
 * parser, and it is bounded: at most SLOTS strings of at most MAX_INTERNED_BYTES.
 */

const SLOTS = 2048;
const SLOT_MASK = SLOTS - 1;
/** Longer texts are rarely repeated byte for byte (tokens, cookies) and would make a miss costlier. */
const MAX_INTERNED_BYTES = 192;
const HASH_SEED = 0x811c9dc5;
const HASH_PRIME = 0x01000193;

const slotHashes = new Int32Array(SLOTS);
const slotTexts: string[] = new Array<string>(SLOTS).fill('');

/** Bytes [start, end) of `line` decoded as UTF-8, as a shared string when they are short ASCII. */
export function internedText(line: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > MAX_INTERNED_BYTES) return line.toString('utf8', start, end);
  let hash = HASH_SEED;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const byte = line[i]!;
    bits |= byte;
    hash = Math.imul(hash ^ byte, HASH_PRIME);
  }
  if (bits >= 0x80) return line.toString('utf8', start, end);
  const slot = hash & SLOT_MASK;
  const cached = slotTexts[slot]!;
  if (slotHashes[slot] === hash && cached.length === length && equalsAscii(line, start, cached))
    return cached;
  // ASCII bytes: Latin-1 decodes them as UTF-8 does, without looking for multi-byte sequences.
  const text = line.toString('latin1', start, end);
  slotHashes[slot] = hash;
  slotTexts[slot] = text;
  return text;
}

function equalsAscii(line: Buffer, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (line[start + i] !== text.charCodeAt(i)) return false;
  return true;
}
