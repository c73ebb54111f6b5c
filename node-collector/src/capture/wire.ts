/**
 * Decoder of the kernel's wire records (bpf/socket_trace.h). The offsets below mirror the C structs; a test checks
 * them against the sizes and offsets the addon exports, so a changed struct cannot decode silently wrong.
 */
import type { CaptureEvent, Protocol, Role } from './events.js';
import { formatAddress } from './address.js';

export const WIRE = {
  header: {
    size: 32,
    ts_ns: 0,
    generation: 8,
    tgid: 16,
    fd: 20,
    kind: 24,
    role: 25,
    protocol: 26,
    direction: 27,
    flags: 28,
  },
  data: { size: 48, pos: 32, size_field: 40, captured: 44 },
  open: {
    size: 96,
    family: 32,
    local_port: 34,
    remote_port: 36,
    preexisting: 38,
    netns: 40,
    local_addr: 44,
    remote_addr: 60,
    comm: 80,
  },
  close: { size: 48, bytes_sent: 32, bytes_recv: 40 },
} as const;

/** Batch framing from the reader thread: [u32 size][u32 0][record][padding to 8]. */
const FRAME_HEADER = 8;

const KIND_OPEN = 1;
const KIND_DATA = 2;
const KIND_CLOSE = 3;
const AF_INET = 2;
/** enum loupe_record_flags */
const FLAG_SHED = 1;

const ROLES: readonly Role[] = ['unknown', 'client', 'server'];
const PROTOCOLS: readonly Protocol[] = ['unknown', 'http1', 'pgsql', 'mysql'];

export const DROP_REASONS = ['ringbuf_full', 'conn_table_full', 'read_fault', 'iov_truncated'] as const;

/** u64 fields that stay below 2^53 in practice (monotonic ns, stream offsets), read without BigInt. */
function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}

function readCString(b: Buffer, at: number, max: number): string {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 || end > at + max ? at + max : end);
}

/**
 * The connection keys decoded last, by a hash of tgid and fd: a batch holds runs of records of a few busy
 * connections, and reusing the key string they had (its hash already computed) spares building and hashing a new
 * one for every record.
 */
const KEY_CACHE_SLOTS = 64;
const keyCache: { tgid: number; fd: number; generation: number; key: string }[] = Array.from(
  { length: KEY_CACHE_SLOTS },
  () => ({ tgid: -1, fd: -1, generation: -1, key: '' }),
);

function connKeyOf(tgid: number, fd: number, generation: number): string {
  const slot = keyCache[(tgid ^ (fd * 31)) & (KEY_CACHE_SLOTS - 1)]!;
  if (slot.tgid !== tgid || slot.fd !== fd || slot.generation !== generation) {
    slot.tgid = tgid;
    slot.fd = fd;
    slot.generation = generation;
    slot.key = `${tgid}:${fd}:${generation}`;
  }
  return slot.key;
}

export interface DecodeCounters {
  records: number;
  malformed: number;
}

/** Decodes every record of a batch; a record too short for its kind is counted and skipped, never thrown. */
export function decodeBatch(
  batch: Buffer,
  onEvent: (ev: CaptureEvent) => void,
  counters: DecodeCounters,
): void {
  let off = 0;
  while (off + FRAME_HEADER <= batch.length) {
    const size = batch.readUInt32LE(off);
    const start = off + FRAME_HEADER;
    off = start + ((size + 7) & ~7);
    if (start + size > batch.length || size < WIRE.header.size) {
      counters.malformed++;
      break;
    }
    const ev = decodeRecord(batch, start, size);
    if (ev) {
      counters.records++;
      onEvent(ev);
    } else {
      counters.malformed++;
    }
  }
}

/** Records in a batch, read from its frame headers alone (for counting a batch that is dropped whole). */
export function countRecords(batch: Buffer): number {
  let records = 0;
  let off = 0;
  while (off + FRAME_HEADER <= batch.length) {
    off += FRAME_HEADER + ((batch.readUInt32LE(off) + 7) & ~7);
    records += 1;
  }
  return records;
}

function decodeRecord(b: Buffer, at: number, size: number): CaptureEvent | undefined {
  const h = WIRE.header;
  const tsNs = readU64(b, at + h.ts_ns);
  const generation = readU64(b, at + h.generation);
  const tgid = b.readUInt32LE(at + h.tgid);
  const fd = b.readInt32LE(at + h.fd);
  const kind = b[at + h.kind];
  const role = ROLES[b[at + h.role] ?? 0] ?? 'unknown';
  const protocol = PROTOCOLS[b[at + h.protocol] ?? 0] ?? 'unknown';
  const connKey = connKeyOf(tgid, fd, generation);

  if (kind === KIND_DATA && size >= WIRE.data.size) {
    const d = WIRE.data;
    const captured = b.readUInt32LE(at + d.captured);
    if (WIRE.data.size + captured > size) return undefined;
    return {
      kind: 'data',
      connKey,
      tgid,
      fd,
      tsNs,
      direction: b[at + h.direction] === 1 ? 'ingress' : 'egress',
      pos: readU64(b, at + d.pos),
      size: b.readUInt32LE(at + d.size_field),
      data: b.subarray(at + d.size, at + d.size + captured),
      protocol,
      role,
      shed: (b.readUInt32LE(at + h.flags) & FLAG_SHED) !== 0,
    };
  }
  if (kind === KIND_OPEN && size >= WIRE.open.size) {
    const o = WIRE.open;
    const family = b.readUInt16LE(at + o.family) === AF_INET ? 4 : 6;
    return {
      kind: 'open',
      connKey,
      tgid,
      fd,
      tsNs,
      role,
      family,
      localAddr: formatAddress(b, at + o.local_addr, family),
      localPort: b.readUInt16LE(at + o.local_port),
      remoteAddr: formatAddress(b, at + o.remote_addr, family),
      remotePort: b.readUInt16LE(at + o.remote_port),
      netns: b.readUInt32LE(at + o.netns),
      preexisting: b[at + o.preexisting] === 1,
      comm: readCString(b, at + o.comm, 16),
    };
  }
  if (kind === KIND_CLOSE && size >= WIRE.close.size) {
    const c = WIRE.close;
    return {
      kind: 'close',
      connKey,
      tgid,
      fd,
      tsNs,
      bytesSent: readU64(b, at + c.bytes_sent),
      bytesRecv: readU64(b, at + c.bytes_recv),
      protocol,
      role,
    };
  }
  return undefined;
}
