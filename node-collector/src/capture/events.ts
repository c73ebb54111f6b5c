/**
 * Events the capture layer hands to the connection tracker, decoded from the kernel's wire records.
 *
 * Timestamps are CLOCK_MONOTONIC nanoseconds as plain numbers: exact below 2^53 ns (104 days of uptime), which
 * keeps latency arithmetic cheap on the hot path. They become wall-clock TIMESTAMP_NS only when stored.
 */

export type Role = 'client' | 'server' | 'unknown';
export type Protocol = 'unknown' | 'http1' | 'pgsql' | 'mysql';
export type Direction = 'egress' | 'ingress';

/** Identity of one connection: the process, its descriptor and a generation that changes when the fd is reused. */
export interface ConnIdentity {
  /** `${tgid}:${fd}:${generation}` — stable for the connection's lifetime, unique across fd reuse. */
  readonly connKey: string;
  readonly tgid: number;
  readonly fd: number;
}

export interface ConnOpenEvent extends ConnIdentity {
  readonly kind: 'open';
  readonly tsNs: number;
  readonly role: Role;
  readonly family: 4 | 6;
  readonly localAddr: string;
  readonly localPort: number;
  readonly remoteAddr: string;
  readonly remotePort: number;
  /** Network namespace inode of the socket. */
  readonly netns: number;
  /** True when the kernel first saw this connection mid-life (opened before capture started). */
  readonly preexisting: boolean;
  /** The process's name (comm) as the kernel saw it then: short-lived clients are gone before /proc is read. */
  readonly comm: string;
}

export interface DataEvent extends ConnIdentity {
  readonly kind: 'data';
  readonly tsNs: number;
  readonly direction: Direction;
  /** Stream offset of the first byte of this chunk, in this direction. */
  readonly pos: number;
  /** Bytes the syscall really moved. */
  readonly size: number;
  /** Bytes captured, a prefix of the chunk: `data.length <= size`; the rest is a gap the parser must skip. */
  readonly data: Buffer;
  readonly protocol: Protocol;
  readonly role: Role;
  /**
   * The kernel left these `size` bytes out whole under the collector's CPU limit (`data` is empty): they run
   * from the start of an exchange to the start of the next admitted one.
   */
  readonly shed?: boolean;
}

export interface CloseEvent extends ConnIdentity {
  readonly kind: 'close';
  readonly tsNs: number;
  readonly bytesSent: number;
  readonly bytesRecv: number;
  readonly protocol: Protocol;
  readonly role: Role;
}

export type CaptureEvent = ConnOpenEvent | DataEvent | CloseEvent;
