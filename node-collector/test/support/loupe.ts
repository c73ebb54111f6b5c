/** Runs the real `loupe` CLI: `loupe up` as a child process, and `loupe query` against it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, start, type Running } from './processes.js';

/** dist/test/support → repository root */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const loupeBin = path.join(repoRoot, 'bin/loupe');
/** Compiled test helpers (node-http-server.js, raw-http-client.js) live beside this file. */
export const supportDir = path.dirname(fileURLToPath(import.meta.url));

export interface LoupeUp {
  url: string;
  dataDir: string;
  process: Running;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Polls `sql` until `done(rows)` holds, then returns the rows; fails with the last rows after the timeout. */
  waitForRows<T = Record<string, unknown>>(
    sql: string,
    done: (rows: T[]) => boolean,
    timeoutMs?: number,
  ): Promise<T[]>;
  /** The collector's own counters (GET /api/v1/status of the node behind loupe up's broker), read now. */
  collectorStatus(): Promise<CollectorStatusBody>;
  /** Stops `loupe up` (SIGTERM) and starts it again on the same data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface CollectorStatusBody {
  node: string;
  eventsPerSecond: number;
  drops: number;
  parseErrors: number;
  storeRows: number;
  storeBytes: number;
  dropsByReason?: Record<string, number>;
}

export async function startLoupeUp(port: number, extraArgs: string[] = []): Promise<LoupeUp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-data-'));
  const launch = async (): Promise<Running> => {
    const proc = start('node', [
      loupeBin,
      'up',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--name',
      'test-node',
      ...extraArgs,
    ]);
    await proc.waitForLine(/ready/, 30_000);
    return proc;
  };
  let proc = await launch();
  const url = `http://127.0.0.1:${port}`;
  const query = async <T>(sql: string): Promise<T[]> => {
    const out = await run('node', [loupeBin, 'query', '--broker', url, '--format', 'json', sql]);
    return (JSON.parse(out) as { rows: T[] }).rows;
  };
  return {
    url,
    dataDir,
    get process() {
      return proc;
    },
    query,
    async collectorStatus() {
      const listed = (await (await fetch(`${url}/api/v1/nodes`)).json()) as { nodes: { url: string }[] };
      const node = listed.nodes[0];
      if (!node) throw new Error('loupe up lists no node');
      return (await (await fetch(`${node.url}/api/v1/status`)).json()) as CollectorStatusBody;
    },
    async waitForRows<T>(sql: string, done: (rows: T[]) => boolean, timeoutMs = 15_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await query<T>(sql);
        if (done(rows)) return rows;
        if (Date.now() > deadline) return rows;
        await new Promise((r) => setTimeout(r, 300));
      }
    },
    async restart() {
      await proc.stop();
      proc = await launch();
    },
    async stop() {
      await proc.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
