/**
 * `loupe mock FILE.har --port P`: serves the recorded responses until stopped (SIGINT or SIGTERM), then prints
 * how often each recording was used. Exit codes: 0 stopped normally, 1 the port could not be bound, 2 bad usage
 * or input.
 */

import type http from 'node:http';
import { parseArgs } from 'node:util';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  errorMessage,
  replayProcessIo,
  type ReplayIo,
} from '../cli/cli-io.js';
import { HarInputError, readHarFile } from '../har/har-file.js';
import { HITS_PATH, createMockServer } from './mock-server.js';
import type { MockMatcher } from './mock-matcher.js';

const HELP = `Usage: loupe mock FILE.har --port P [--host 127.0.0.1]

Serves the responses recorded in FILE.har, for example a service's outbound calls exported with
\`loupe export har --role client\`, so the service can be tested without its dependencies.

A request gets the recorded response whose request matches it best: method, path, query and body first; then
method, path and query; then method and path. Several recordings that match alike are served in recorded
order, the last one repeating. Anything else gets a 404 JSON naming what was not matched.
GET ${HITS_PATH} lists how often each recording was served.

Options:
  --port P       port to listen on (0: any free port, printed)
  --host HOST    address to bind (default 127.0.0.1)
  -h, --help     show this help

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen, 2 bad usage or input.
`;

/** What stops the server; tests pass their own instead of process signals. */
export interface MockLifetime {
  onListening?: (address: string) => void;
  stopSignal?: Promise<void>;
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

function hitSummary(matcher: MockMatcher): string {
  const hits = matcher.hits();
  const used = hits.filter((hit) => hit.hits > 0);
  const served = used.reduce((sum, hit) => sum + hit.hits, 0);
  const lines = [
    `mock: served ${served} responses from ${used.length} of ${hits.length} recordings, ${matcher.misses} unmatched`,
  ];
  for (const hit of used.slice(0, 50))
    lines.push(`  ${String(hit.hits).padStart(6)}  ${hit.method} ${hit.url}`);
  return lines.join('\n') + '\n';
}

function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

export async function runMockCommand(
  argv: string[],
  io: ReplayIo = replayProcessIo,
  lifetime: MockLifetime = {},
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr(`loupe mock: ${errorMessage(error)}\nRun "loupe mock --help" for usage.\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const usage = (message: string) => {
    io.stderr(`loupe mock: ${message}\nRun "loupe mock --help" for usage.\n`);
    return EXIT_USAGE;
  };
  if (positionals.length !== 1)
    return usage(positionals.length === 0 ? 'no HAR file given' : 'give one HAR file');
  if (values.port === undefined) return usage('no --port given');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    return usage(`--port must be 0 to 65535, got ${values.port}`);
  const host = values.host ?? '127.0.0.1';

  let har;
  try {
    har = await readHarFile(positionals[0] as string);
  } catch (error) {
    if (!(error instanceof HarInputError)) throw error;
    io.stderr(`loupe mock: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const { server, matcher } = createMockServer(har);
  let address: string;
  try {
    address = await listen(server, port, host);
  } catch (error) {
    io.stderr(`loupe mock: cannot listen on ${host}:${port}: ${errorMessage(error)}\n`);
    return EXIT_FAILED;
  }
  io.stdout(`mock: serving ${har.log.entries.length} recorded responses, listening on ${address}\n`);
  lifetime.onListening?.(address);
  await (lifetime.stopSignal ?? signalled());
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  io.stdout(hitSummary(matcher));
  return EXIT_OK;
}
