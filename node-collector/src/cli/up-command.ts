import type { BrokerExtension } from '@loupe/query-engine/dist/src/broker/broker-service.js';
import { runNodeService } from './node-service.js';

/**
 * `loupe up`: everything on this one machine — the collector, the query engine and the web UI on one port.
 * `extensions` are the broker's extra route groups (HAR export), given by the CLI entry.
 */
export function runUpCommand(argv: string[], extensions: BrokerExtension[] = []): Promise<number> {
  return runNodeService(
    {
      command: 'up',
      summary: "Captures this machine's HTTP and SQL traffic; serves the web UI and the query API.",
      defaultPort: 7070,
      withBroker: { extensions },
    },
    argv,
  );
}
