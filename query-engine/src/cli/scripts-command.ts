/**
 * `loupe scripts`: the client side of GET /api/v1/scripts. Lists the bundled scripts with their parameters;
 * `--format json` prints the API's answer as is.
 * Exit codes as for `loupe query`: 0 ok, 1 the broker could not answer, 2 bad usage.
 */

import { parseArgs } from 'node:util';
import type { Script } from '../scripts/script-library.js';
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

const HELP = `Usage: loupe scripts [--broker URL] [--format text|json]

Lists the bundled scripts and their parameters. Run one with: loupe query --script NAME [--param k=v ...]

Options:
  --broker URL     query engine to ask (default ${DEFAULT_BROKER_URL})
  --format FORMAT  text (default) or json
  -h, --help       show this help
`;

export function formatScripts(scripts: Script[]): string {
  return scripts
    .map((script) => {
      const params = script.params.map(
        (param) =>
          `    --param ${param.name}=${param.default ?? '<' + param.type + '>'}  ${param.description} (${param.type})`,
      );
      return [`${script.name}  ${script.title}`, `    ${script.description}`, ...params].join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`loupe scripts: ${message}\nRun "loupe scripts --help" for usage.\n`);
  return EXIT_USAGE;
}

export async function runScriptsCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        broker: { type: 'string' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') return usageError(io, `unknown format "${format}"`);
  const broker = values.broker ?? DEFAULT_BROKER_URL;
  if (!isValidBrokerUrl(broker)) return usageError(io, `not an http(s) URL: ${broker}`);
  let reply: BrokerReply;
  try {
    reply = await callBroker(io, broker, '/api/v1/scripts');
  } catch (error) {
    io.stderr(`loupe scripts: cannot reach ${broker}: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
  if (reply.status !== 200) {
    const { code, message } = describeBrokerError(reply);
    io.stderr(`loupe scripts: ${code}: ${message}\n`);
    return EXIT_FAILED;
  }
  const scripts = (reply.body as { scripts?: Script[] }).scripts;
  if (!Array.isArray(scripts)) {
    io.stderr(`loupe scripts: unexpected answer from ${broker}\n`);
    return EXIT_FAILED;
  }
  io.stdout(format === 'json' ? JSON.stringify(reply.body) + '\n' : formatScripts(scripts));
  return EXIT_OK;
}
