/**
 * A small shop of real services calling each other on loopback, for the end-to-end tests to capture:
 * demo-frontend (HTTP) → demo-api (HTTP, JSON) → PostgreSQL. `POST /checkout` fails with a 500 and a JSON error
 * body (the api's INSERT hits a missing table), so errors show in the captured data too.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DB_PASSWORD, DB_USER, startPostgres } from '@loupe/node-collector/dist/test/support/databases.js';
import { freePort, start, type Running } from '@loupe/node-collector/dist/test/support/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface DemoServices {
  frontendPort: number;
  apiPort: number;
  postgresPort: number;
  frontendUrl: string;
  /** The paths the traffic driver requests, and the one that fails. */
  failingPath: string;
  stop(): Promise<void>;
}

export async function startDemoServices(): Promise<DemoServices> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const postgresPort = await freePort();
    const postgres = await startPostgres(postgresPort);
    stops.push(() => postgres.stop());
    const apiPort = await freePort();
    const api = start('node', [
      path.join(here, 'demo-api-server.js'),
      String(apiPort),
      String(postgresPort),
      DB_USER,
      DB_PASSWORD,
    ]);
    stops.push(() => api.stop());
    await api.waitForLine(/listening/, 20_000);
    const frontendPort = await freePort();
    const frontend: Running = start('node', [
      path.join(here, 'demo-frontend-server.js'),
      String(frontendPort),
      String(apiPort),
    ]);
    stops.push(() => frontend.stop());
    await frontend.waitForLine(/listening/, 20_000);
    return {
      frontendPort,
      apiPort,
      postgresPort,
      frontendUrl: `http://127.0.0.1:${frontendPort}`,
      failingPath: '/checkout',
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function request(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends `rounds` rounds of shop traffic, one request at a time: the order list, one order, and every third round
 * a checkout that fails. Returns how many responses had each status.
 */
export async function driveTraffic(frontendUrl: string, rounds = 30): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const count = (status: number) => (statuses[status] = (statuses[status] ?? 0) + 1);
  for (let i = 0; i < rounds; i++) {
    count(await request(`${frontendUrl}/`, 'GET'));
    count(await request(`${frontendUrl}/orders/${(i % 6) + 1}`, 'GET'));
    if (i % 3 === 0) count(await request(`${frontendUrl}/checkout`, 'POST'));
  }
  return statuses;
}
