/**
 * "Which services" as users name them on the command line: a process name (as `process` shows it in the
 * tables), optionally with the port it serves on: `api`, `api:8080`, `node:3000`.
 */
import type { Endpoint } from '../store/records.js';

export interface ServiceSelector {
  process: string;
  port?: number;
}

/** The kernel keeps 15 bytes of a process name: a longer name given by the user matches its first 15. */
const COMM_LENGTH = 15;

export function parseServiceSelectors(text: string): ServiceSelector[] {
  const selectors: ServiceSelector[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(item);
    const port = match?.[2] === undefined ? undefined : Number(match[2]);
    if (!match?.[1] || (port !== undefined && (port < 1 || port > 65535))) {
      throw new RangeError(`'${item}' is not a service: give a process name, optionally with :PORT`);
    }
    selectors.push(port === undefined ? { process: match[1] } : { process: match[1], port });
  }
  if (selectors.length === 0) throw new RangeError('no service given');
  return selectors;
}

export function processNameMatches(selector: ServiceSelector, name: string): boolean {
  return name === selector.process || (name.length === COMM_LENGTH && selector.process.startsWith(name));
}

/**
 * Whether a connection belongs to a selected service: its process, and with a port, the connections that
 * service answers on that port (its local port). Without a port, every connection of the process, including
 * the calls it makes.
 */
export function endpointMatches(selectors: readonly ServiceSelector[], endpoint: Endpoint): boolean {
  return selectors.some(
    (selector) =>
      processNameMatches(selector, endpoint.process) &&
      (selector.port === undefined || selector.port === endpoint.localPort),
  );
}
