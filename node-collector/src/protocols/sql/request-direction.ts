/** Which way a connection's requests flow, from its role and back: shared by the SQL sessions. */
import type { Direction, Role } from '../../capture/events.js';

/** A server receives requests (ingress), a client sends them (egress); unknown until the traffic says. */
export function requestDirection(role: Role): Direction | undefined {
  if (role === 'server') return 'ingress';
  if (role === 'client') return 'egress';
  return undefined;
}

export function roleOfRequestDirection(direction: Direction | undefined): Role {
  if (direction === undefined) return 'unknown';
  return direction === 'ingress' ? 'server' : 'client';
}
