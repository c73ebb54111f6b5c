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

const HELP = `Usage: loupe status [--broker URL]

Shows the node's name, capture rate, drops, parse errors and store size.

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
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
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
  if (!isStatusResponse(reply.body)) {
    io.stderr(`loupe status: unexpected answer from ${broker}\n`);
    return EXIT_FAILED;
  }
  io.stdout(formatStatus(reply.body));
  return EXIT_OK;
}
