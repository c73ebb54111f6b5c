/**
 * `loupe broker`: the cluster's query engine. Collectors register with it (`loupe collector --broker URL`),
 * users query it (`loupe query`, `loupe status`, `loupe scripts`).
 *
 * Exit codes: 0 stopped by a signal, 1 could not start, 2 bad usage (or the port is taken).
 */

import { parseArgs } from 'node:util';
import { DEFAULT_DOWN_AFTER_MS } from '../registry/node-registry.js';
import { DEFAULT_ENGINE_LIMITS } from './distributed-engine.js';
import { startBroker, type BrokerExtension, type BrokerService } from './broker-service.js';

const HELP = `usage: loupe broker [options]

Keeps the registry of collectors and answers queries over all of them.

options:
  --port N              API port (default 7070)
  --host ADDR           address to bind (default 127.0.0.1; any other needs --token or LOUPE_TOKEN)
  --token TOKEN         bearer token required by the API and sent to collectors (default: $LOUPE_TOKEN)
  --node-timeout D      a node silent this long is down (default ${DEFAULT_DOWN_AFTER_MS / 1000}s)
  --query-timeout D     answer with what arrived after this long (default ${DEFAULT_ENGINE_LIMITS.queryTimeoutMs / 1000}s)
  --memory-limit SIZE   DuckDB memory limit of the broker's merge database (default ${DEFAULT_ENGINE_LIMITS.memoryLimit})
  --ui-dir DIR          the built web UI served at / (default: web-ui/dist of this checkout; '' for none)
  -h, --help            this text`;

export class BrokerUsageError extends Error {}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match?.[1] || !match[2])
    throw new BrokerUsageError(`${flag}: '${text}' is not a duration like 500ms, 15s or 2m`);
  return Number(match[1]) * (DURATION_MS[match[2]] ?? 1);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new BrokerUsageError(`--port: '${text}' is not a port`);
  return port;
}

/** `extensions` are route groups of other workspaces (HAR export), given by the CLI entry. */
export async function runBrokerCommand(argv: string[], extensions: BrokerExtension[] = []): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        token: { type: 'string' },
        'node-timeout': { type: 'string' },
        'query-timeout': { type: 'string' },
        'memory-limit': { type: 'string' },
        'ui-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`loupe broker: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let port: number;
  let downAfterMs: number;
  let queryTimeoutMs: number;
  try {
    port = values.port !== undefined ? parsePort(values.port) : 7070;
    downAfterMs = parseDuration(values['node-timeout'] ?? `${DEFAULT_DOWN_AFTER_MS}ms`, '--node-timeout');
    queryTimeoutMs = parseDuration(
      values['query-timeout'] ?? `${DEFAULT_ENGINE_LIMITS.queryTimeoutMs}ms`,
      '--query-timeout',
    );
    const memory = values['memory-limit'];
    if (memory !== undefined && !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(memory)) {
      throw new BrokerUsageError(`--memory-limit: '${memory}' is not a size like 512MB or 2GB`);
    }
  } catch (error) {
    console.error(`loupe broker: ${(error as Error).message}`);
    return 2;
  }
  const token = values.token ?? process.env['LOUPE_TOKEN'];
  let broker: BrokerService;
  try {
    broker = await startBroker({
      port,
      downAfterMs,
      limits: {
        queryTimeoutMs,
        ...(values['memory-limit'] ? { memoryLimit: values['memory-limit'] } : {}),
      },
      extensions,
      ...(values['ui-dir'] !== undefined ? { uiDir: values['ui-dir'] === '' ? null : values['ui-dir'] } : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(token ? { token } : {}),
    });
  } catch (error) {
    console.error(`loupe broker: cannot start: ${(error as Error).message}`);
    return (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 2 : 1;
  }
  const url = broker.url;
  console.log(`loupe broker ready: API ${url}, nodes down after ${downAfterMs} ms of silence`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await broker.close();
  return 0;
}
