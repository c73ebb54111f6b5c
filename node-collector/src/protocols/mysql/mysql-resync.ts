/**
 * Where a packet may start in bytes read after packet boundaries were lost (a gap in the capture, or garbage).
 *
 * A 4-byte header turns up by accident inside row data and statement text, so a position is taken only when the
 * packet there is what starts an exchange in that direction — a known command with a length that suits it, or the
 * first packet of an answer — and the headers after it in the same chunk chain on from it: another command after
 * a command (a pipelining client), sequence ids that go up by one inside an answer. A chunk that ends exactly
 * where the packet ends is taken as it is: clients write a command, and servers an answer, with one syscall.
 */
import { Com, FULL_PACKET_LENGTH, ServerStatus } from './mysql-protocol.js';
import { lengthEncodedInt } from './mysql-values.js';

/** `more`: the bytes end before the position can be judged; it is judged again with the next chunk. */
export type StartVerdict = 'yes' | 'no' | 'more';

/**
 * Largest first packet of an answer taken: an ERR is at most 521 bytes, an OK carries at most a short message or
 * some session state, a column count, an EOF and a prepare-OK are smaller still.
 */
const MAX_ANSWER_START = 1024;
/** Bytes a position may need beyond a chunk's end before it can be judged; the framer holds no more. */
export const MAX_UNDECIDED_BYTES = 4 + MAX_ANSWER_START;
/** Headers checked after the candidate: enough to make an accidental match vanishingly rare. */
const CHAIN_STEPS = 4;
/** Bytes of statement text checked for being text. */
const TEXT_CHECKED = 16;
/** Status flags a server defines end at ServerStatus.SessionStateChanged. */
const MAX_STATUS = 0x7fff;
const MAX_COLUMNS = 4096;
const ERRMSG_BYTES = 512;

interface CommandShape {
  min: number;
  max: number;
  /** Payload bytes `check` reads (fewer when the packet is shorter). */
  needs: number;
  check?: (view: Buffer, payload: number, end: number) => boolean;
}

const oneByte: CommandShape = { min: 1, max: 1, needs: 1 };
const statementText: CommandShape = {
  min: 2,
  max: FULL_PACKET_LENGTH,
  needs: 1 + 2 + TEXT_CHECKED,
  check: (view, payload, end) => isStatementText(view, payload + 1, end),
};

const COMMAND_SHAPES = new Map<number, CommandShape>([
  [Com.Quit, oneByte],
  [Com.Statistics, oneByte],
  [Com.Ping, oneByte],
  [Com.ResetConnection, oneByte],
  [Com.Query, statementText],
  [Com.StmtPrepare, statementText],
  [
    Com.InitDb,
    {
      min: 2,
      max: 1 + 256,
      needs: 1 + TEXT_CHECKED,
      check: (view, payload, end) => isText(view, payload + 1, end),
    },
  ],
  [
    // Table name, NUL, column wildcard.
    Com.FieldList,
    {
      min: 3,
      max: 1024,
      needs: 2,
      check: (view, payload, end) => isText(view, payload + 1, Math.min(end, payload + 2)),
    },
  ],
  [
    // Statement id, cursor flags, then an iteration count that is always 1.
    Com.StmtExecute,
    {
      min: 10,
      max: FULL_PACKET_LENGTH,
      needs: 10,
      check: (view, payload) => (view[payload + 5] ?? 0xff) <= 0x0f && view.readUInt32LE(payload + 6) === 1,
    },
  ],
  [Com.StmtClose, { min: 5, max: 5, needs: 5 }],
  [Com.StmtReset, { min: 5, max: 5, needs: 5 }],
  [
    Com.SetOption,
    { min: 3, max: 3, needs: 3, check: (view, payload) => view.readUInt16LE(payload + 1) <= 1 },
  ],
  [Com.StmtFetch, { min: 9, max: 9, needs: 9 }],
]);

/**
 * A client's packet that starts an exchange: sequence id 0, a command byte this collector knows with a length and
 * fields that suit it; then, while the chunk goes on, another such command.
 */
export function judgeCommandStart(view: Buffer, at: number, depth = 0): StartVerdict {
  const available = view.length - at;
  if (available >= 4 && view[at + 3] !== 0) return 'no';
  if (available < 5) return 'more';
  const length = view.readUIntLE(at, 3);
  const shape = COMMAND_SHAPES.get(view[at + 4]!);
  if (shape === undefined || length < shape.min || length > shape.max) return 'no';
  const payload = at + 4;
  const end = payload + length;
  if (view.length < payload + Math.min(length, shape.needs)) return 'more';
  if (shape.check !== undefined && !shape.check(view, payload, Math.min(end, view.length))) return 'no';
  if (end >= view.length || depth >= CHAIN_STEPS) return 'yes';
  if (length === FULL_PACKET_LENGTH) return view.length - end < 4 || view[end + 3] === 1 ? 'yes' : 'no';
  // A client writes whole commands: what follows one in the same chunk is another whole command.
  return judgeCommandStart(view, end, depth + 1) === 'yes' ? 'yes' : 'no';
}

/** What must follow a packet in the same answer. */
type Next = 'another-answer' | 'same-answer' | 'definition';

/**
 * The first packet of a server's answer, with sequence id 1: OK, ERR, an EOF, a prepare-OK or a column count. Then,
 * while the chunk goes on, the headers that follow chain on from it.
 *
 * `endOfAnswer`: an answer was being read when bytes were lost, and its last packet (an EOF, or the OK that
 * replaces it), whatever its sequence id, is a place to resume too.
 */
export function judgeAnswerStart(view: Buffer, at: number, endOfAnswer: boolean, depth = 0): StartVerdict {
  const available = view.length - at;
  if (available < 4) return 'more';
  const seq = view[at + 3]!;
  if (seq !== 1 && !endOfAnswer) return 'no';
  if (available < 5) return 'more';
  const length = view.readUIntLE(at, 3);
  if (!plausibleFirstByte(view[at + 4]!, length, seq, endOfAnswer)) return 'no';
  const payload = at + 4;
  const end = payload + length;
  const shapes = answerShapes(view.subarray(payload, Math.min(end, view.length)), length);
  // Not all there: taken up again with the next chunk, unless what is there already rules it out.
  if (end > view.length) return shapes === undefined || shapes.length > 0 ? 'more' : 'no';
  for (const next of shapes ?? []) {
    if (chainsOn(view, end, seq, next, depth)) return 'yes';
  }
  return 'no';
}

/** What the first byte and the length allow, before the payload is all there. */
function plausibleFirstByte(first: number, length: number, seq: number, endOfAnswer: boolean): boolean {
  if (first === 0xfe) return length === 5 || (endOfAnswer && length >= 7 && length < 9);
  if (seq !== 1) return false;
  if (first === 0x00) return length >= 7 && length <= MAX_ANSWER_START;
  if (first === 0xff) return length >= 9 && length <= 9 + ERRMSG_BYTES;
  // A column count, and MariaDB's metadata flag after it when the client caches metadata.
  if (first === 0xfc) return length === 3 || length === 4;
  return first > 0 && first < 0xfb && (length === 1 || length === 2);
}

/**
 * What the packet can be, as what must follow it; none when it is no answer's start (or end). `body` may be only
 * the start of the payload: undefined when it does not say yet.
 */
function answerShapes(body: Buffer, length: number): Next[] | undefined {
  const first = body[0];
  if (first === 0xff) {
    if (body.length < 9) return undefined;
    const code = body.readUInt16LE(1);
    const state = body.toString('latin1', 4, 9);
    const error = code >= 1000 && code < 0xffff && body[3] === 0x23 && /^[0-9A-Z]{5}$/.test(state);
    return error ? ['another-answer'] : [];
  }
  if (first === 0xfe) {
    // EOF: warnings, status. The OK that replaces it under CLIENT_DEPRECATE_EOF: affected rows, insert id, status.
    if (body.length < length) return undefined;
    return length === 5 ? afterStatus(body.readUInt16LE(3)) : okShapes(body, length);
  }
  if (first === 0x00) {
    const ok = okShapes(body, length);
    // A prepare-OK: statement id, columns, parameters, a zero filler, warnings (and a metadata flag in MySQL 8).
    if (length !== 12 && length !== 13) return ok;
    if (body.length < 10) return undefined;
    const shapes = [...(ok ?? [])];
    const columns = body.readUInt16LE(5);
    if (body[9] === 0 && columns <= MAX_COLUMNS) {
      shapes.push(columns + body.readUInt16LE(7) > 0 ? 'definition' : 'another-answer');
    }
    return shapes;
  }
  if (body.length < length) return undefined;
  const columns = lengthEncodedInt(body, 0);
  if (columns.value === 0 || columns.value > MAX_COLUMNS) return [];
  if (columns.next === length) return ['definition'];
  // MariaDB: whether the column definitions follow, or the client has them from an earlier execution.
  const metadata = body[columns.next];
  if (columns.next + 1 !== length || (metadata !== 0 && metadata !== 1)) return [];
  return [metadata === 1 ? 'definition' : 'same-answer'];
}

/**
 * An OK: affected rows, insert id, status, warnings, then a message for people ("Rows matched: 1  Changed: 1
 * Warnings: 0"), length-prefixed when the client tracks session state, or that state when the status says so.
 */
function okShapes(body: Buffer, length: number): Next[] | undefined {
  const affected = lengthEncodedInt(body, 1);
  const insertId = lengthEncodedInt(body, affected.next);
  const fields = insertId.next + 4;
  if (fields > body.length) return body.length < length ? undefined : [];
  const status = body.readUInt16LE(insertId.next);
  if (length > fields && (status & ServerStatus.SessionStateChanged) === 0) {
    const message = body[fields] === length - fields - 1 ? fields + 1 : fields;
    if (!isText(body, message, body.length)) return [];
  }
  return afterStatus(status);
}

/** After an OK or an EOF: another result of the same answer, or the next answer. */
function afterStatus(status: number): Next[] {
  if (status > MAX_STATUS) return [];
  return [(status & ServerStatus.MoreResultsExists) !== 0 ? 'same-answer' : 'another-answer'];
}

function chainsOn(view: Buffer, end: number, seq: number, next: Next, depth: number): boolean {
  if (view.length - end < 4) return true;
  if (next === 'another-answer') {
    if (depth >= CHAIN_STEPS) return true;
    return judgeAnswerStart(view, end, false, depth + 1) !== 'no';
  }
  if (view[end + 3] !== ((seq + 1) & 0xff)) return false;
  // A column definition begins with its catalog, always "def".
  if (next === 'definition' && view.length - end >= 8 && view.readUInt32BE(end + 4) !== 0x03646566)
    return false;
  let at = end;
  let previous = seq;
  for (let step = 0; step < CHAIN_STEPS; step++) {
    if (view.length - at < 4) return true;
    const s = view[at + 3]!;
    if (s !== ((previous + 1) & 0xff) && s !== 1) return false;
    at += 4 + view.readUIntLE(at, 3);
    previous = s;
  }
  return true;
}

/** Statement text: a letter, an opening parenthesis or a comment first (after spaces), then text. */
function isStatementText(view: Buffer, from: number, end: number): boolean {
  let at = from;
  // MySQL 8 clients with query attributes put a parameter count (0) and a set count (1) before the text.
  if (view[at] === 0x00 && view[at + 1] === 0x01) at += 2;
  const to = Math.min(end, at + TEXT_CHECKED);
  let i = at;
  while (i < to && isSpace(view[i]!)) i++;
  if (i < to) {
    const c = view[i]! | 0x20;
    const opening = (c >= 0x61 && c <= 0x7a) || c === 0x28 || c === 0x2f || c === 0x2d || c === 0x23;
    if (!opening) return false;
  }
  return isText(view, at, to);
}

function isText(view: Buffer, from: number, end: number): boolean {
  const to = Math.min(end, from + TEXT_CHECKED);
  for (let i = from; i < to; i++) {
    const c = view[i]!;
    if ((c < 0x20 && !isSpace(c)) || c === 0x7f) return false;
  }
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
