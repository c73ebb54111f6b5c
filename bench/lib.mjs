/**
 * Shared helpers of the benchmarks: child processes stopped by pid (never by name), nginx with its own temp
 * config, `loupe up`, the node API, /proc readings (CPU, RSS) and the kernel's BPF program statistics.
 *
 * Node's globals are imported from their modules so that eslint's recommended rules (no-undef) hold for .mjs.
 * Other benchmarks (replay-throughput, pgbench-overhead) import these helpers too: keep the exports stable.
 */
import { Buffer } from 'node:buffer';
import { spawn, execFileSync } from 'node:child_process';
import console from 'node:console';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export { sleep };

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(benchDir, '..');
export const loupeBin = path.join(repoRoot, 'bin/loupe');

// ---------------------------------------------------------------------------------------------------------
// Child processes

const children = new Set();
const cleanups = new Set();

/** Kills what is still running (by pid) and removes temp dirs: on normal exit, on signals, on crashes. */
function cleanupNow() {
  for (const proc of children) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
}

process.on('exit', cleanupNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, stopping children`);
    cleanupNow();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error(err);
  cleanupNow();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  cleanupNow();
  process.exit(1);
});

/** Runs `fn` at exit unless removed first (temp dirs, sysctl restore). Returns the remover. */
export function atExit(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function startProcess(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const lines = [];
  const stderr = [];
  const waiters = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.filter((x) => x.pattern.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  child.stderr.on('data', (d) => {
    if (stderr.length < 200) stderr.push(d.toString());
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  /** stdout and stderr fully read (after exit): every line is in `lines`. */
  const closed = new Promise((resolve) => child.once('close', () => resolve()));
  const proc = {
    command,
    closed,
    child,
    pid: child.pid,
    lines,
    stderr,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    waitForLine(pattern, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const fail = (why) =>
          reject(
            new Error(`${command}: ${why} before a line matching ${pattern}; stderr: ${stderr.join('')}`),
          );
        const timer = setTimeout(() => fail(`nothing in ${timeoutMs} ms`), timeoutMs);
        exited.then(({ code }) => {
          clearTimeout(timer);
          fail(`exited with ${code}`);
        });
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    /** SIGTERM by pid, SIGKILL after `graceMs`. */
    async stop(graceMs = 10_000) {
      if (proc.running()) {
        try {
          process.kill(proc.pid, 'SIGTERM');
        } catch {
          // gone meanwhile
        }
        const timer = setTimeout(() => {
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(proc);
    },
  };
  children.add(proc);
  return proc;
}

/** Runs a command to completion (bounded) and returns its stdout. */
export function runCommand(command, args, timeoutMs = 60_000) {
  const proc = startProcess(command, args);
  const timer = setTimeout(() => void proc.stop(1000), timeoutMs);
  return Promise.all([proc.exited, proc.closed]).then(([{ code }]) => {
    clearTimeout(timer);
    children.delete(proc);
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${proc.stderr.join('')}`);
    return proc.lines.join('\n');
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(50);
  }
}

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  const unregister = atExit(remove);
  return {
    dir,
    remove() {
      unregister();
      remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Another node, and nginx

/**
 * A network namespace of this benchmark's, deleted at exit if not before (with the links inside it). Returns its
 * path for `--netns` and the remover.
 */
export async function createNetns(name) {
  const remove = () => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // not created, or gone already
    }
  };
  const unregister = atExit(remove);
  try {
    await runCommand('ip', ['netns', 'add', name]);
  } catch (err) {
    unregister();
    throw err;
  }
  return {
    path: `/run/netns/${name}`,
    remove() {
      remove();
      unregister();
    },
  };
}

/**
 * Another node on this machine: a network namespace of its own, linked to this one by a veth pair. A client run
 * there (`command`) reaches a server of this namespace at `serverAddress`; a collector scoped to this namespace
 * (`--netns` `hostNetns`) then sees only the server's end of each connection, as on a server's node, while the
 * client still shares the cores. Removed at exit if not before; deleting the namespace deletes the pair.
 */
export async function startClientNode() {
  const namespace = `loupe-bench-client-${process.pid}`;
  const hostLink = `lbc${process.pid}`.slice(0, 15);
  const network = { host: '10.213.0.1', client: '10.213.0.2', prefix: 30, cidr: '10.213.0.0/30' };
  const netns = await createNetns(namespace);
  const inClient = (...args) => runCommand('ip', ['netns', 'exec', namespace, ...args]);
  try {
    await runCommand('ip', `link add ${hostLink} type veth peer name eth0 netns ${namespace}`.split(' '));
    await runCommand('ip', ['addr', 'add', `${network.host}/${network.prefix}`, 'dev', hostLink]);
    await runCommand('ip', ['link', 'set', hostLink, 'up']);
    await inClient('ip', 'addr', 'add', `${network.client}/${network.prefix}`, 'dev', 'eth0');
    await inClient('ip', 'link', 'set', 'eth0', 'up');
    await inClient('ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    netns.remove();
    throw err;
  }
  return {
    serverAddress: network.host,
    clientNetwork: network.cidr,
    hostNetns: `/proc/${process.pid}/ns/net`,
    /** The command line that runs `command args` on the client node. */
    command: (command, args) => ['ip', ['netns', 'exec', namespace, command, ...args]],
    remove: netns.remove,
  };
}

/**
 * nginx on 127.0.0.1:port, one worker, no access log. `locations` is extra config inside the server block;
 * the default is the fixed reply the benchmarks hit. `alsoOn`: another local address to listen on (a client
 * node's way in, see startClientNode).
 */
export async function startNginx(
  port,
  locations = 'location = /small { return 200 "ok"; }',
  alsoOn = undefined,
) {
  const tmp = tempDir('loupe-bench-nginx-');
  fs.chmodSync(tmp.dir, 0o755);
  const conf = `
worker_processes 1;
daemon off;
master_process on;
pid ${tmp.dir}/nginx.pid;
error_log ${tmp.dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp.dir}/body;
  proxy_temp_path ${tmp.dir}/proxy;
  fastcgi_temp_path ${tmp.dir}/fastcgi;
  uwsgi_temp_path ${tmp.dir}/uwsgi;
  scgi_temp_path ${tmp.dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    ${alsoOn === undefined ? '' : `listen ${alsoOn}:${port} backlog=4096;`}
    ${locations}
  }
}
`;
  fs.writeFileSync(path.join(tmp.dir, 'nginx.conf'), conf);
  const proc = startProcess('nginx', ['-c', path.join(tmp.dir, 'nginx.conf'), '-p', tmp.dir]);
  try {
    await waitForPort(port);
  } catch (err) {
    await proc.stop(1000);
    tmp.remove();
    throw new Error(`nginx did not start: ${err.message}; stderr: ${proc.stderr.join('')}`);
  }
  const workerPid = childPids(proc.pid)[0];
  // A master killed with SIGKILL (crash cleanup) leaves its worker behind: kill that one by pid too.
  const unregisterWorker = atExit(() => {
    if (workerPid !== undefined && pidAlive(workerPid)) process.kill(workerPid, 'SIGKILL');
  });
  return {
    port,
    pid: proc.pid,
    workerPid,
    async stop() {
      // SIGTERM to the master is nginx's fast shutdown; it stops its worker. Check the worker by pid anyway.
      await proc.stop(5_000);
      if (workerPid !== undefined && pidAlive(workerPid)) {
        try {
          process.kill(workerPid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      unregisterWorker();
      tmp.remove();
    },
  };
}

/** The pids of a process's children. */
export function childPids(pid) {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// loupe up and its API

/** The node flags `npm start` (scripts/start.sh) and the deploy units run the collector with. */
const LOUPE_NODE_FLAGS = ['--max-semi-space-size=8', '--single-threaded', '--no-allocation-site-pretenuring'];

/**
 * `loupe up` on free ports and a fresh data directory; `extraArgs` are more of its options (e.g. --cpu-limit).
 * `bin`: another build's `bin/loupe` (side-by-side.mjs compares two).
 */
export async function startLoupe(name = 'bench', extraArgs = [], { bin = loupeBin } = {}) {
  const port = await freePort();
  const data = tempDir('loupe-bench-data-');
  // LOUPE_BENCH_NODE_FLAGS: extra flags for the collector's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to see
  // where its time goes under the benchmark's load (NODE_OPTIONS refuses --cpu-prof).
  const nodeFlags = (process.env.LOUPE_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const proc = startProcess('node', [
    ...LOUPE_NODE_FLAGS,
    ...nodeFlags,
    bin,
    'up',
    '--port',
    String(port),
    '--data-dir',
    data.dir,
    '--name',
    name,
    ...extraArgs,
  ]);
  try {
    await proc.waitForLine(/ready/, 60_000);
  } catch (err) {
    await proc.stop(2_000);
    data.remove();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: proc.pid,
    proc,
    query: (sql) => apiQuery(url, sql),
    // The collector's own API (loupe up lists it as its one node): fresh counters, not the last heartbeat's.
    async status() {
      const [node] = (await httpJson('GET', `${url}/api/v1/nodes`)).nodes;
      return httpJson('GET', `${node.url}/api/v1/status`);
    },
    /** The collector's data directory, which holds its store file. */
    dataDir: data.dir,
    /** Stops the collector and deletes its data directory, unless `keepData` (then removeData() does, or exit). */
    async stop({ keepData = false } = {}) {
      await proc.stop(20_000);
      if (!keepData) data.remove();
    },
    removeData: () => data.remove(),
  };
}

export function httpJson(method, url, body, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: timeoutMs,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function apiQuery(url, sql) {
  const answer = await httpJson('POST', `${url}/api/v1/query`, { sql });
  return answer.rows;
}

/**
 * Polls `SELECT count(*) ...` (`countSql`, one column `n`) every `everyMs` until it reaches `expected` or stops
 * changing for `quietMs`. The store flushes every second, so rows show up in steps. Polling costs the collector
 * a little CPU (and the bench's own API calls are captured: the bench is not the collector's process), so the
 * CPU benchmark polls at the same cadence while measuring the idle baseline.
 */
export async function waitForCount(
  loupe,
  countSql,
  expected,
  { quietMs = 3_000, timeoutMs = 30_000, everyMs = 500 } = {},
) {
  const started = Date.now();
  let last = -1;
  let since = Date.now();
  // queries: how many were asked, for benchmarks that take each query's CPU off the collector's.
  for (let queries = 1; ; queries++) {
    const rows = await loupe.query(countSql);
    const n = Number(rows[0]?.n ?? 0);
    if (n >= expected) return { n, waitedMs: Date.now() - started, timedOut: false, queries };
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return { n, waitedMs: Date.now() - started, timedOut: false, queries };
    }
    if (Date.now() - started > timeoutMs) {
      return { n, waitedMs: Date.now() - started, timedOut: true, queries };
    }
    await sleep(everyMs);
  }
}

/** Polls `countSql` for `ms` at waitForCount's cadence: the idle baseline of the same polling. */
export async function pollFor(loupe, countSql, ms, everyMs = 500) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await loupe.query(countSql);
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
  }
}

// ---------------------------------------------------------------------------------------------------------
// /proc

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user and system CPU seconds of a process, all its threads included. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = ticksPerSecond();
  return { user: Number(fields[11]) / hz, system: Number(fields[12]) / hz };
}

/**
 * CPU time (ns, from schedstat: exact, where /proc/PID/stat counts clock ticks) and minor page faults of each of a
 * process's threads, by thread id, with the thread's name. Threads that ended between two calls are not counted.
 */
export function threadStats(pid) {
  const threads = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const [cpuNs] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // minflt is field 10; the fields after ") " start at field 3.
      const minorFaults = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
      threads.set(tid, { name, cpuNs: Number(cpuNs), minorFaults });
    } catch {
      // The thread ended while it was being read.
    }
  }
  return threads;
}

/**
 * CPU seconds and page faults between two threadStats of `pid`, in three parts: its JavaScript thread (the one
 * whose id is the pid), the threads named `namedThread`, and the rest (libuv's pool, where DuckDB commits; V8's).
 */
export function threadDelta(pid, before, after, namedThread) {
  const parts = { javascript: 0, named: 0, other: 0, faults: 0 };
  for (const [tid, now] of after) {
    const then = before.get(tid) ?? { cpuNs: 0, minorFaults: 0 };
    const seconds = (now.cpuNs - then.cpuNs) / 1e9;
    if (tid === String(pid)) parts.javascript += seconds;
    else if (now.name === namedThread) parts.named += seconds;
    else parts.other += seconds;
    parts.faults += now.minorFaults - then.minorFaults;
  }
  return parts;
}

export function cpuDelta(before, after) {
  const user = after.user - before.user;
  const system = after.system - before.system;
  return { user, system, total: user + system };
}

export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** VmRSS and its parts (RssAnon: heaps; RssFile: mapped code such as node and libduckdb, shared with other
 * processes; the BPF ring buffer's pages count in VmRSS too, twice, as the kernel maps them twice). Bytes. */
export function rssParts(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Samples VmRSS (and RssAnon) every `everyMs`; `max`/`maxAnon` since start or the last `reset()`. */
export function sampleRss(pid, everyMs = 200) {
  const state = { max: 0, maxAnon: 0, last: 0, samples: 0 };
  const take = () => {
    try {
      const parts = rssParts(pid);
      state.last = parts.rss;
      state.max = Math.max(state.max, parts.rss);
      state.maxAnon = Math.max(state.maxAnon, parts.anon);
      state.samples += 1;
    } catch {
      // process gone
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    get max() {
      return state.max;
    },
    get maxAnon() {
      return state.maxAnon;
    },
    get last() {
      return state.last;
    },
    reset() {
      state.max = 0;
      state.maxAnon = 0;
      take();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// BPF program statistics

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Turns on run-time accounting of BPF programs; the previous value is restored by the returned function. */
export function enableBpfStats() {
  const previous = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
  execFileSync('sysctl', ['-q', '-w', 'kernel.bpf_stats_enabled=1']);
  const restore = () => execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${previous}`]);
  const unregister = atExit(restore);
  return {
    previous,
    restore() {
      unregister();
      restore();
    },
  };
}

/** Ids of the BPF programs a process holds open (its fds that are bpf-prog anon inodes). */
export function bpfProgIdsOf(pid) {
  const ids = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:bpf-prog') continue;
    try {
      const m = /^prog_id:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return ids;
}

const LOUPE_PROG = /^exit_/;

/** Every loaded program named like loupe's (exit_*), from `bpftool prog show -j`. */
export function loupeLikePrograms() {
  const progs = JSON.parse(
    execFileSync('bpftool', ['prog', 'show', '-j'], { maxBuffer: 64 << 20 }).toString(),
  );
  return progs.filter((p) => LOUPE_PROG.test(p.name ?? ''));
}

/** run_time_ns and run_cnt summed over the loupe programs held by `pid`, and per program name. */
export function bpfRunTime(pid) {
  const ids = bpfProgIdsOf(pid);
  let runTimeNs = 0;
  let runCount = 0;
  let programs = 0;
  const byName = {};
  for (const p of loupeLikePrograms()) {
    if (!ids.has(p.id)) continue;
    programs += 1;
    runTimeNs += p.run_time_ns ?? 0;
    runCount += p.run_cnt ?? 0;
    byName[p.name] = { runTimeNs: p.run_time_ns ?? 0, runCount: p.run_cnt ?? 0 };
  }
  return { runTimeNs, runCount, programs, byName };
}

/** The programs that took the most time between two bpfRunTime readings, as "name N µs/run × runs". */
export function topPrograms(before, after, n = 4) {
  return Object.entries(after.byName)
    .map(([name, a]) => {
      const b = before.byName[name] ?? { runTimeNs: 0, runCount: 0 };
      return { name, ns: a.runTimeNs - b.runTimeNs, runs: a.runCount - b.runCount };
    })
    .sort((x, y) => y.ns - x.ns)
    .slice(0, n)
    .map(
      (p) =>
        `${p.name} ${(p.ns / 1e6).toFixed(1)} ms/${p.runs} runs (${(p.ns / Math.max(1, p.runs)).toFixed(0)} ns)`,
    )
    .join(', ');
}

/** Programs named like loupe's that `ourPids` do not hold: another collector (a test run?) on this kernel. */
export function foreignCollectorPrograms(ourPids = []) {
  const ours = new Set();
  for (const pid of ourPids) for (const id of bpfProgIdsOf(pid)) ours.add(id);
  return loupeLikePrograms().filter((p) => !ours.has(p.id)).length;
}

/** Set when anything seen during a run makes its figures suspect; RESULT lines carry it as `noisy=`. */
export const noise = { noisy: false, reasons: [] };
function markNoisy(reason) {
  noise.noisy = true;
  if (!noise.reasons.includes(reason)) noise.reasons.push(reason);
}

export function warnIfForeignCollectors(ourPids = []) {
  const n = foreignCollectorPrograms(ourPids);
  if (n > 0) {
    markNoisy('another collector');
    console.log(
      `WARNING: ${n} loupe-like BPF programs (exit_*) belong to another process: another collector ` +
        'is running on this kernel (tests?); it taxes every syscall here and skews these figures',
    );
  }
  return n;
}

/**
 * Waits (bounded) until the machine is quiet: under `maxBusy` of all CPUs busy over a second and no other
 * collector loaded. Other workloads may share this machine; a figure taken beside them is noise. Returns what
 * it saw, and says so when it gave up waiting.
 */
export async function waitForQuietMachine({ ourPids = [], maxBusy = 0.15, maxWaitMs = 15_000 } = {}) {
  const started = Date.now();
  for (;;) {
    const busy = await busyCpuFraction(1000);
    const foreign = foreignCollectorPrograms(ourPids);
    if (busy <= maxBusy && foreign === 0) return { busy, foreign, quiet: true };
    if (Date.now() - started >= maxWaitMs) {
      markNoisy(foreign ? 'another collector' : 'busy machine');
      console.log(
        `WARNING: machine not quiet after ${Math.round(maxWaitMs / 1000)} s: ${(busy * 100).toFixed(0)}% CPU busy` +
          `${foreign ? `, ${foreign} BPF programs of another collector loaded` : ''}; measuring anyway, expect noise`,
      );
      return { busy, foreign, quiet: false };
    }
  }
}

/** CPU seconds of every user process now, with its parent, from /proc/PID/stat. */
function processCpuTable() {
  const hz = ticksPerSecond();
  const table = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      // Kernel threads (children of kthreadd, pid 2) carry softirq work our own load causes: not "others".
      if (Number(entry) === 2 || ppid === 2) continue;
      table.set(Number(entry), { ppid, cpu: (Number(f[11]) + Number(f[12])) / hz });
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/**
 * Measures the CPU that processes other than this benchmark and its descendants use while it runs: other
 * other workloads on a shared machine. Processes that start and end between the two readings are missed.
 * `stop()` returns the average number of cores they used and marks the run noisy above `maxCores`.
 */
export function foreignCpuMeter(label, maxCores = 0.15) {
  const before = processCpuTable();
  const t0 = Date.now();
  return {
    stop() {
      const after = processCpuTable();
      const ours = (pid) => {
        for (let p = pid, hops = 0; p > 1 && hops < 32; hops++) {
          if (p === process.pid) return true;
          p = after.get(p)?.ppid ?? before.get(p)?.ppid ?? 0;
        }
        return false;
      };
      let seconds = 0;
      for (const [pid, { cpu }] of after) {
        if (ours(pid)) continue;
        seconds += cpu - (before.get(pid)?.cpu ?? 0);
      }
      const cores = seconds / Math.max(0.001, (Date.now() - t0) / 1000);
      if (cores > maxCores) {
        markNoisy('other processes busy');
        console.log(`WARNING: other processes used ${cores.toFixed(2)} cores during ${label}; expect noise`);
      }
      return cores;
    },
  };
}

/** Fraction of all CPUs busy over `ms` (our processes included), to flag a noisy machine. */
export function busyCpuFraction(ms = 500) {
  const read = () => {
    const parts = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = parts[3] + (parts[4] ?? 0);
    return { idle, total: parts.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  return sleep(ms).then(() => {
    const b = read();
    return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Paced load

/**
 * Runs bench/load-client.mjs: `rate` requests/s over `connections` keep-alive connections for `durationMs`.
 * Resolves with its JSON summary.
 */
export async function pacedLoad({ port, path: urlPath, rate, durationMs, connections, clientNode }) {
  const args = [
    path.join(benchDir, 'load-client.mjs'),
    '--port',
    String(port),
    '--path',
    urlPath,
    '--rate',
    String(rate),
    '--duration-ms',
    String(durationMs),
    '--connections',
    String(connections),
    '--host',
    clientNode?.serverAddress ?? '127.0.0.1',
  ];
  // On a client node (startClientNode), the load comes from its own network namespace.
  const proc = startProcess(...(clientNode?.command('node', args) ?? ['node', args]));
  const timer = setTimeout(() => void proc.stop(1_000), durationMs + 30_000);
  const [{ code }] = await Promise.all([proc.exited, proc.closed]);
  clearTimeout(timer);
  children.delete(proc);
  const last = proc.lines.filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || last === undefined) {
    throw new Error(`load client exited ${code}: ${proc.stderr.join('')}`);
  }
  return { ...JSON.parse(last), pid: proc.pid };
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function ratio(a, b) {
  return b === 0 ? NaN : a / b;
}

export const fmt = {
  n: (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : String(x)),
  mib: (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`,
  us: (seconds) => `${(seconds * 1e6).toFixed(2)} µs`,
  r: (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a'),
};

export function machineLine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${os.cpus().length} CPUs (${cpu}), kernel ${os.release()}, ${fmt.mib(os.totalmem())} RAM, node ${process.version}`;
}

/** The commit measured, and whether the work tree differs from it (the build is of the work tree). */
export function commitLine() {
  try {
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'])
      .toString()
      .trim();
    return `${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function header(title) {
  console.log(`\n=== ${title} ===`);
  console.log(`machine: ${machineLine()}`);
  console.log(`date: ${new Date().toISOString()}, commit ${commitLine()}`);
}

/**
 * The ping-pong of bench/syscall-pingpong.c, built with gcc into a temporary directory, with the exchanges and
 * rounds given by --exchanges (default 100,000) and --rounds (default 3); checks for root and prints the header
 * `title(exchanges, rounds)`. `run()` returns the ns per exchange and per other syscall the program printed;
 * `remove()` deletes the build.
 */
export async function pingpongBench(title) {
  const { values } = parseArgs({
    options: {
      exchanges: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const exchanges = Number(values.exchanges);
  const rounds = Number(values.rounds);
  requireRoot();
  header(title(exchanges, rounds));
  const build = tempDir('loupe-bench-pingpong-');
  const binary = path.join(build.dir, 'syscall-pingpong');
  await runCommand('gcc', ['-O2', '-o', binary, path.join(benchDir, 'syscall-pingpong.c')]);
  return {
    exchanges,
    rounds,
    async run() {
      const out = await runCommand(binary, [String(exchanges)]);
      return {
        exchange: Number(/([\d.]+) ns per exchange/.exec(out)?.[1]),
        other: Number(/([\d.]+) ns per other syscall/.exec(out)?.[1]),
      };
    },
    remove: () => build.remove(),
  };
}

export function requireRoot() {
  if (process.getuid?.() !== 0) {
    console.error('this benchmark needs root (eBPF capture)');
    process.exit(2);
  }
}
