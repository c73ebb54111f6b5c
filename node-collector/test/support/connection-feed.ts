import type { Direction, Protocol, Role } from '../../src/capture/events.js';
import type { ConnectionTracker } from '../../src/conn/connection-tracker.js';

export interface FedConnection {
  connKey: string;
  tgid: number;
  fd: number;
  protocol: Protocol;
  role: Role;
}

/** One connection of a tracker fed as capture does: each data event at its direction's stream position. */
export class ConnectionFeed {
  private readonly pos: Record<Direction, number> = { egress: 0, ingress: 0 };

  constructor(
    private readonly tracker: ConnectionTracker,
    private readonly conn: FedConnection,
  ) {}

  /** Bytes of the stream so far in one direction, whether sent as events or skipped. */
  position(direction: Direction): number {
    return this.pos[direction];
  }

  /** A syscall of `size` bytes of which `data` was captured (all of it, a prefix, or none for a gap). */
  send(direction: Direction, data: Buffer, size: number, tsNs: number): void {
    const { connKey, tgid, fd, protocol, role } = this.conn;
    const pos = this.pos[direction];
    this.pos[direction] += size;
    this.tracker.handleEvent({
      kind: 'data',
      connKey,
      tgid,
      fd,
      tsNs,
      direction,
      pos,
      size,
      data,
      protocol,
      role,
    });
  }

  /** Bytes whose event never arrives: the stream waits for them as a hole. */
  skip(direction: Direction, size: number): void {
    this.pos[direction] += size;
  }
}
