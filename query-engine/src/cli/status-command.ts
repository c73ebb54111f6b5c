/**
 * `loupe status`: the client side of GET /api/v1/status. Prints what the node reports about itself.
 * Exit codes as for `loupe query`: 0 ok, 1 the broker could not answer, 2 bad usage.
 */

import { parseArgs } from 'node:util';
import type { CollectorStatus } from '../api.js';
import {
  DEFAULT_BROKER_URL,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  callBroker,
  describeBrokerError,
  isValidBrokerUrl,
  processIo,
  type BrokerReply,
  type CliIo,
} from './query-command.js';

type StatusResponse = CollectorStatus & { node: string };

/** What a broker answers: every node it knows, with its state and last reported counters. */
interface ClusterStatusResponse {
  nodes: { name: string; state: string; msSinceSeen: number; status: CollectorStatus | null }[];
  totals: CollectorStatus & { up: number; down: number };
}

const HELP = `Usage: loupe status [--broker URL]

Shows capture rate, drops, parse errors and store size: of the node, or of every node a broker knows
(up or down, last seen) with the totals over the nodes that are up.

Options:
  --broker URL  query engine to ask (default ${DEFAULT_BROKER_URL})
  -h, --help    show this help

Environment:
  LOUPE_TOKEN   sent as "Authorization: Bearer <token>"; needed when the broker is not on loopback

Exit codes: 0 ok, 1 the broker could not answer, 2 bad usage.
`;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function isStatusResponse(body: unknown): body is StatusResponse {
  if (typeof body !== 'object' || body === null) return false;
  const status = body as Partial<StatusResponse>;
  return (
    typeof status.node === 'string' &&
    ['eventsPerSecond', 'drops', 'parseErrors', 'storeRows', 'storeBytes'].every(
      (key) => typeof status[key as keyof CollectorStatus] === 'number',
    )
  );
}

export function formatStatus(status: StatusResponse): string {
  const lines: [string, string][] = [
    ['node', status.node],
    ['events/s', String(Math.round(status.eventsPerSecond * 10) / 10)],
    ['drops', String(status.drops)],
    ['parse errors', String(status.parseErrors)],
    ['store rows', String(status.storeRows)],
    ['store size', humanBytes(status.storeBytes)],
  ];
  if (status.heldBytes !== undefined) {
    const most = status.heldBytesMax === undefined ? '' : ` (at most ${humanBytes(status.heldBytesMax)})`;
    lines.push(['held unparsed', `${humanBytes(status.heldBytes)}${most}`]);
  }
  const shedClient = status.dropsByReason?.['cpu_limit_client'] ?? 0;
  const shedServer = status.dropsByReason?.['cpu_limit_server'] ?? 0;
  if (shedClient + shedServer > 0) {
    // Counted in drops too: whole requests the CPU limit left out, by the side they were seen on.
    lines.push(['shed (cpu limit)', `${shedServer} server, ${shedClient} client requests`]);
  }
  if (status.headCache !== undefined) {
    const { heads, limit, clears, skipped } = status.headCache;
    lines.push([
      'http head cache',
      `${heads} of ${limit} heads, emptied ${clears} times when full, ${skipped} heads not looked up (seldom repeated)`,
    ]);
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

function isClusterStatus(body: unknown): body is ClusterStatusResponse {
  if (typeof body !== 'object' || body === null) return false;
  const { nodes, totals } = body as Partial<ClusterStatusResponse>;
  return Array.isArray(nodes) && typeof totals === 'object' && totals !== null;
}

function seconds(ms: number): string {
  return ms < 1000 ? 'now' : `${Math.round(ms / 1000)} s ago`;
}

/** One line per node, then the totals over the nodes that are up. */
export function formatClusterStatus(cluster: ClusterStatusResponse): string {
  const header = [
    'node',
    'state',
    'last seen',
    'events/s',
    'drops',
    'parse errors',
    'store rows',
    'store size',
  ];
  const line = (node: string, state: string, seen: string, status: CollectorStatus | null) => [
    node,
    state,
    seen,
    status ? String(Math.round(status.eventsPerSecond * 10) / 10) : '-',
    status ? String(status.drops) : '-',
    status ? String(status.parseErrors) : '-',
    status ? String(status.storeRows) : '-',
    status ? humanBytes(status.storeBytes) : '-',
  ];
  const rows = [
    header,
    ...cluster.nodes.map((node) => line(node.name, node.state, seconds(node.msSinceSeen), node.status)),
    line('total', `${cluster.totals.up} up, ${cluster.totals.down} down`, '', cluster.totals),
  ];
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  const text = rows.map((row) =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return `${text.join('\n')}\n`;
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`loupe status: ${message}\nRun "loupe status --help" for usage.\n`);
  return EXIT_USAGE;
}

export async function runStatusCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: { broker: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return usageError(io, error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const broker = parsed.values.broker ?? DEFAULT_BROKER_URL;
  if (!isValidBrokerUrl(broker)) return usageError(io, `not an http(s) URL: ${broker}`);

  let reply: BrokerReply;
  try {
    reply = await callBroker(io, broker, '/api/v1/status');
  } catch (error) {
    io.stderr(
      `loupe status: cannot reach ${broker}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_FAILED;
  }
  if (reply.status !== 200) {
    const { code, message } = describeBrokerError(reply);
    io.stderr(`loupe status: ${code}: ${message}\n`);
    return EXIT_FAILED;
  }
  if (isClusterStatus(reply.body)) {
    io.stdout(formatClusterStatus(reply.body));
    return EXIT_OK;
  }
  if (!isStatusResponse(reply.body)) {
    io.stderr(`loupe status: unexpected answer from ${broker}\n`);
    return EXIT_FAILED;
  }
  io.stdout(formatStatus(reply.body));
  return EXIT_OK;
}
