/**
 * Real database servers for the SQL capture tests, each in its own temporary directory on a loopback port, with a
 * password-protected user so that the tests can check that credentials never reach the store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, start, waitForPort, type Running } from './processes.js';

export const DB_USER = 'loupe';
export const DB_PASSWORD = 'loupe-s3cret-pw';

export interface DatabaseServer {
  port: number;
  dir: string;
  process: Running;
  stop(): Promise<void>;
}

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const candidate = path.join(root, v, 'bin', name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`PostgreSQL's ${name} is not installed (run scripts/setup.sh)`);
}

/** Another address for a server to listen on, and the network whose clients may log in through it. */
export interface ExtraListen {
  address: string;
  clients: string;
}

/**
 * PostgreSQL refuses to run as root: the cluster belongs to the `postgres` system user. It listens on 127.0.0.1,
 * and on `extra.address` for clients of `extra.clients` (a CIDR) when given.
 */
export async function startPostgres(port: number, extra?: ExtraListen): Promise<DatabaseServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-pg-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${DB_PASSWORD}\n`);
  await run('chown', ['-R', 'postgres:postgres', dir]);
  await run('runuser', [
    '-u',
    'postgres',
    '--',
    postgresBin('initdb'),
    '-D',
    data,
    '-U',
    DB_USER,
    `--pwfile=${pwfile}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--no-sync',
  ]);
  if (extra !== undefined) {
    fs.appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${extra.clients} scram-sha-256\n`);
  }
  const proc = start('runuser', [
    '-u',
    'postgres',
    '--',
    postgresBin('postgres'),
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    `listen_addresses=127.0.0.1${extra === undefined ? '' : `,${extra.address}`}`,
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    '-c',
    'max_connections=50',
  ]);
  await waitForPort(port, '127.0.0.1', 30_000);
  return {
    port,
    dir,
    process: proc,
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGPASSWORD: DB_PASSWORD,
    PGUSER: DB_USER,
    PGDATABASE: 'postgres',
    PGSSLMODE: 'disable',
  };
}

/** What a driver needs to log in to the test PostgreSQL on `port` (node-postgres' client options). */
export function postgresLogin(port: number) {
  return { host: '127.0.0.1', port, user: DB_USER, password: DB_PASSWORD, database: 'postgres' };
}

export async function startMariadb(port: number): Promise<DatabaseServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysql.sock');
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    '--user=root',
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
  ]);
  const proc = start('mariadbd', [
    '--no-defaults',
    `--datadir=${data}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socket}`,
    '--user=root',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--max-connections=50',
  ]);
  await waitForPort(port, '127.0.0.1', 30_000);
  await run('mariadb', [
    '--no-defaults',
    '-uroot',
    `--socket=${socket}`,
    '-e',
    `CREATE USER '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${DB_PASSWORD}';
     GRANT ALL ON *.* TO '${DB_USER}'@'127.0.0.1'; CREATE DATABASE shop;`,
  ]);
  return {
    port,
    dir,
    process: proc,
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function mariadbArgs(port: number): string[] {
  return ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), `-u${DB_USER}`, `-p${DB_PASSWORD}`];
}
