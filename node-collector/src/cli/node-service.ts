/**
 * What `loupe up` and `loupe collector` share: parse the collector's flags, start capture and the store, serve the
 * node's query API, and shut everything down cleanly on SIGINT/SIGTERM.
 *
 * `loupe up` also runs a broker (the query engine and the web UI) on the public port, with this collector as its
 * one node: the node API then listens on an ephemeral loopback port that only the broker calls.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildApi, listenApi } from '@loupe/query-engine/dist/src/api.js';
import { QueryRunner } from '@loupe/query-engine/dist/src/query-runner.js';
import { BrokerRegistration } from '@loupe/query-engine/dist/src/registry/broker-registration.js';
import {
  startBroker,
  type BrokerExtension,
  type BrokerService,
} from '@loupe/query-engine/dist/src/broker/broker-service.js';
import { DEFAULT_DOWN_AFTER_MS } from '@loupe/query-engine/dist/src/registry/node-registry.js';
import { STORE_TABLES } from '../store/schema.js';
import { STORE_MEMORY_LIMIT } from '../store/event-store.js';
import { Collector, COLLECTOR_DEFAULTS, type CollectorOptions } from '../collector.js';
import { MissingFeatureError } from '../capture/preflight.js';
import { MemoryGovernor } from './memory-policy.js';
import { lowerPriority, parseNice } from './priority.js';
import { parseBytes, parseCores, parseDurationMs, parsePort, UsageError } from './units.js';
import { parseServiceSelectors, type ServiceSelector } from '../metadata/service-selector.js';

export interface ServiceSpec {
  command: string;
  summary: string;
  defaultPort: number;
  /** Run a broker with the web UI on the public port, this collector being its node (`loupe up`). */
  withBroker?: { extensions: BrokerExtension[] };
}

function helpText(spec: ServiceSpec): string {
  const brokerFlags = spec.withBroker
    ? ''
    : `  --broker URL          register with this broker and heartbeat to it (every 5 s); it then queries this node
  --advertise-url URL   this node's API as the broker should call it (default http://HOST:PORT)
`;
  return `usage: loupe ${spec.command} [options]

${spec.summary}

options:
  --port N              ${spec.withBroker ? 'port of the web UI and the API' : 'API port'} (default ${spec.defaultPort})
  --host ADDR           address to bind (default 127.0.0.1; any other needs --token or LOUPE_TOKEN)
  --token TOKEN         bearer token required by the API (default: $LOUPE_TOKEN)
${brokerFlags}  --data-dir DIR        where the node's DuckDB file lives (default /var/lib/loupe)
  --name NAME           node name stored in every row (default: the host name)
  --netns PATH          capture only sockets of this network namespace (e.g. /run/netns/NAME)
  --capture-bytes N     payload bytes copied per syscall, at most 16384 (default 16384)
  --body-bytes N        bytes of each HTTP body stored (default ${COLLECTOR_DEFAULTS.bodyBytes})
  --full-bodies LIST    services whose bodies are kept whole, up to --full-body-bytes: process names, each
                        optionally with the port it serves on (e.g. api:8080,billing), for faithful replays
  --full-body-bytes N   body size kept for --full-bodies services (default 1MiB, at most 16MiB)
  --cpu-limit CORES     cores the collector may use on average (e.g. 0.5): the kernel side admits the exchanges
                        (a request and its answer) this pays for, bursts of up to a second's worth whole, and
                        sheds the rest, counted as cpu_limit_client and cpu_limit_server drops (default: no limit)
  --nice N              run the collector at this nice value, 0-19 (default 0): above 0 it yields the CPU to
                        the services it watches and counts as drops what it cannot take in meanwhile
  --retention-age D     delete rows older than this (default 24h)
  --retention-size S    keep the store under this size (default 1GiB)
  -h, --help            this text`;
}

/** The API's URL for the broker: the bound address, or the host name when bound to every address. */
function advertisedUrl(host: string, app: { server: { address(): unknown } }): string {
  const address = app.server.address() as { port: number } | null;
  const reachable = host === '0.0.0.0' || host === '::' ? os.hostname() : host;
  const bracketed = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `http://${bracketed}:${address?.port ?? 0}`;
}

export async function runNodeService(spec: ServiceSpec, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        token: { type: 'string' },
        broker: { type: 'string' },
        'advertise-url': { type: 'string' },
        'data-dir': { type: 'string' },
        name: { type: 'string' },
        netns: { type: 'string' },
        'capture-bytes': { type: 'string' },
        'body-bytes': { type: 'string' },
        'full-bodies': { type: 'string' },
        'full-body-bytes': { type: 'string' },
        'cpu-limit': { type: 'string' },
        nice: { type: 'string' },
        'retention-age': { type: 'string' },
        'retention-size': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`loupe ${spec.command}: ${(err as Error).message}\n\n${helpText(spec)}`);
    return 2;
  }
  if (parsed.help) {
    console.log(helpText(spec));
    return 0;
  }

  let options: CollectorOptions;
  let port: number;
  let nice = 0;
  try {
    if (parsed.nice !== undefined) nice = parseNice(parsed.nice, '--nice');
    port = parsed.port !== undefined ? parsePort(parsed.port, '--port') : spec.defaultPort;
    options = {
      node: parsed.name ?? os.hostname(),
      dataDir: parsed['data-dir'] ?? '/var/lib/loupe',
      retentionMaxAgeMs: parseDurationMs(parsed['retention-age'] ?? '24h', '--retention-age'),
      retentionMaxBytes: parseBytes(parsed['retention-size'] ?? '1GiB', '--retention-size'),
    };
    if (parsed.netns !== undefined) options.netnsPath = parsed.netns;
    if (parsed['cpu-limit'] !== undefined)
      options.cpuLimitCores = parseCores(parsed['cpu-limit'], '--cpu-limit');
    if (parsed['capture-bytes'] !== undefined) {
      options.captureBytes = parseBytes(parsed['capture-bytes'], '--capture-bytes');
      if (options.captureBytes > 16384) throw new UsageError('--capture-bytes: at most 16384');
    }
    if (parsed['body-bytes'] !== undefined)
      options.bodyBytes = parseBytes(parsed['body-bytes'], '--body-bytes');
    if (parsed['full-body-bytes'] !== undefined && parsed['full-bodies'] === undefined)
      throw new UsageError('--full-body-bytes goes with --full-bodies');
    if (parsed['full-bodies'] !== undefined) {
      let services: ServiceSelector[];
      try {
        services = parseServiceSelectors(parsed['full-bodies']);
      } catch (err) {
        throw new UsageError(`--full-bodies: ${(err as Error).message}`);
      }
      const bodyBytes = parseBytes(parsed['full-body-bytes'] ?? '1MiB', '--full-body-bytes');
      if (bodyBytes > COLLECTOR_DEFAULTS.maxFullBodyBytes)
        throw new UsageError('--full-body-bytes: at most 16MiB');
      options.fullBodies = { services, bodyBytes };
    }
    if (spec.withBroker && (parsed.broker !== undefined || parsed['advertise-url'] !== undefined)) {
      throw new UsageError(
        `--broker and --advertise-url are for 'loupe collector'; 'loupe ${spec.command}' is its own broker`,
      );
    }
    for (const flag of ['broker', 'advertise-url'] as const) {
      const value = parsed[flag];
      if (value !== undefined && !/^https?:\/\/[^/]+/.test(value)) {
        throw new UsageError(`--${flag}: '${value}' is not an http(s) URL`);
      }
    }
  } catch (err) {
    console.error(`loupe ${spec.command}: ${(err as Error).message}`);
    return 2;
  }

  // Before the store and the tracer start their threads, so that those inherit it.
  if (nice > 0) lowerPriority(nice);
  let collector: Collector;
  try {
    collector = await Collector.start(options);
  } catch (err) {
    if (err instanceof MissingFeatureError) {
      console.error(`loupe ${spec.command}: cannot capture: ${err.message} (missing: ${err.feature})`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && options.netnsPath !== undefined) {
      console.error(`loupe ${spec.command}: --netns: no such namespace file ${options.netnsPath}`);
      return 2;
    }
    console.error(`loupe ${spec.command}: cannot start the collector: ${(err as Error).message}`);
    return 1;
  }

  const publicHost = parsed.host ?? '127.0.0.1';
  const token = parsed.token ?? process.env['LOUPE_TOKEN'];
  // With a broker in front, the node API is an internal detail on loopback.
  const host = spec.withBroker ? '127.0.0.1' : publicHost;
  let url: string;
  let app;
  let broker: BrokerService | null = null;
  try {
    const queries = await QueryRunner.create(collector.store, { memoryLimit: STORE_MEMORY_LIMIT });
    // A broker sends one fragment per table a script reads, all at once: room for a few queries' worth.
    const fragments = await QueryRunner.create(collector.store, {
      maxConcurrent: 12,
      memoryLimit: STORE_MEMORY_LIMIT,
    });
    app = buildApi({
      nodeName: options.node,
      queries,
      fragments,
      status: () => collector.status(),
      host,
      ...(token ? { token } : {}),
    });
    url = await listenApi(app, spec.withBroker ? 0 : port);
    if (spec.withBroker) {
      broker = await startBroker({
        port,
        host: publicHost,
        downAfterMs: DEFAULT_DOWN_AFTER_MS,
        extensions: spec.withBroker.extensions,
        ...(token ? { token } : {}),
      });
    }
  } catch (err) {
    await app?.close();
    await collector.close();
    console.error(`loupe ${spec.command}: cannot serve the API: ${(err as Error).message}`);
    return (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 2 : 1;
  }
  const tables = Object.fromEntries(
    Object.entries(STORE_TABLES).map(([table, columns]) => [
      table,
      columns.map(({ name, type }) => ({ name, type })),
    ]),
  );
  let localHeartbeat: NodeJS.Timeout | null = null;
  if (broker) {
    // Same process: register directly, and report status on a timer well inside the down timeout.
    const registry = broker.registry;
    registry.register({ name: options.node, url, tables, ...(token ? { token } : {}) });
    const beat = async () => registry.heartbeat(options.node, await collector.status());
    await beat();
    localHeartbeat = setInterval(() => void beat().catch(() => undefined), 2_000);
    localHeartbeat.unref();
  }
  const registration = parsed.broker
    ? new BrokerRegistration({
        brokerUrl: parsed.broker,
        ...(token ? { token } : {}),
        name: options.node,
        url: parsed['advertise-url'] ?? advertisedUrl(host, app),
        tables,
        status: () => collector.status(),
      })
    : null;
  registration?.start();
  console.log(
    broker
      ? `loupe ${spec.command} ready: node '${options.node}' capturing, store ${collector.store.path}, UI and API ${broker.url}`
      : `loupe ${spec.command} ready: node '${options.node}' capturing, store ${collector.store.path}, API ${url}` +
          (parsed.broker ? `, registering with ${parsed.broker}` : ''),
  );

  const governor = new MemoryGovernor();
  governor.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  governor.stop();
  registration?.stop();
  if (localHeartbeat) clearInterval(localHeartbeat);
  await broker?.close();
  await app.close();
  await collector.close();
  return 0;
}
