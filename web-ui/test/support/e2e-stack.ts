/**
 * Everything an end-to-end UI test needs behind the browser: `loupe up` (collector, query engine and UI) on a
 * free port with its own data directory, the demo shop (frontend → api → PostgreSQL) and a bounded burst of its
 * traffic, waited for until the captured rows are queryable. One call to start, one to stop.
 */
import { startLoupeUp, type LoupeUp } from '@loupe/node-collector/dist/test/support/loupe.js';
import { freePort } from '@loupe/node-collector/dist/test/support/processes.js';
import { driveTraffic, startDemoServices, type DemoServices } from './demo-services.js';

export interface E2eStack {
  /** Where the UI and the API are served. */
  loupeUrl: string;
  loupe: LoupeUp;
  demo: DemoServices;
  /** Responses per status of the first traffic burst. */
  statuses: Record<number, number>;
  /** Another bounded burst of shop traffic (to keep events/s above zero while a page watches). */
  moreTraffic(rounds?: number): Promise<Record<number, number>>;
  stop(): Promise<void>;
}

export async function startE2eStack(options: { rounds?: number } = {}): Promise<E2eStack> {
  const loupe = await startLoupeUp(await freePort());
  let demo: DemoServices | undefined;
  const stop = async () => {
    await demo?.stop().catch(() => undefined);
    await loupe.stop();
  };
  try {
    demo = await startDemoServices();
    const statuses = await driveTraffic(demo.frontendUrl, options.rounds ?? 30);
    const services = demo;
    // Both hops, and the failing checkout at the api, seen from the server side, queryable through the broker.
    const seen = (rows: { port: number; errors: number }[]) =>
      rows.length === 2 && rows.every((r) => Number(r.errors) > 0);
    const rows = await loupe.waitForRows<{ port: number; errors: number }>(
      `SELECT local_port AS port, count(*) FILTER (WHERE resp_status >= 500) AS errors
         FROM http_events WHERE role = 'server' AND local_port IN (${services.frontendPort}, ${services.apiPort})
        GROUP BY local_port`,
      seen,
      30_000,
    );
    if (!seen(rows)) {
      throw new Error(
        `the demo traffic was not captured within 30 s; server rows seen: ${JSON.stringify(rows)}`,
      );
    }
    return {
      loupeUrl: loupe.url,
      loupe,
      demo: services,
      statuses,
      moreTraffic: (rounds = 10) => driveTraffic(services.frontendUrl, rounds),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
