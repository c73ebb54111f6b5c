/**
 * The deployment files against the real CLI and the real formats: every argument a manifest or unit passes is a
 * flag the command's own --help lists, ports and probes match what the commands serve, the token comes from a
 * secret, and systemd accepts the units' syntax. (No cluster runs here: applying them is not tested.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const deployDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const repoRoot = path.resolve(deployDir, '..');
const loupeBin = path.join(repoRoot, 'bin/loupe');

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function readDocs(file: string): Doc[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(deployDir, 'kubernetes', file), 'utf8'));
  for (const doc of docs) assert.deepEqual(doc.errors, [], `${file} parses`);
  return docs.map((doc) => doc.toJSON() as Doc);
}

/** The flags `loupe <command> --help` lists. */
function flagsOf(command: string): Set<string> {
  const help = execFileSync('node', [loupeBin, command, '--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1] as string));
}

function assertKnownFlags(args: string[], where: string): void {
  const [command, ...rest] = args;
  assert.ok(command && ['up', 'collector', 'broker'].includes(command), `${where}: command ${command}`);
  const flags = flagsOf(command);
  for (const arg of rest)
    if (arg.startsWith('--')) assert.ok(flags.has(arg), `${where}: ${arg} is not a flag of loupe ${command}`);
}

const kustomization = readDocs('kustomization.yaml')[0] as Doc;
const resources = (kustomization.resources as string[]).flatMap((file) => readDocs(file));
const byKind = (kind: string, name: string) => {
  const found = resources.find((doc) => doc.kind === kind && doc.metadata?.name === name);
  assert.ok(found, `${kind}/${name} is in the kustomization`);
  return found;
};
const containerOf = (workload: Doc) => workload.spec.template.spec.containers[0] as Doc;
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('Kubernetes manifests', () => {
  it('list every file they need, in one namespace', () => {
    const files = fs
      .readdirSync(path.join(deployDir, 'kubernetes'))
      .filter((f) => f !== 'kustomization.yaml');
    assert.deepEqual([...(kustomization.resources as string[])].sort(), files.sort());
    assert.equal(kustomization.namespace, 'loupe');
    byKind('Namespace', 'loupe');
  });

  it('pass only flags the commands know, and every workload has limits and a token from a secret', () => {
    for (const [kind, name] of [
      ['Deployment', 'loupe-broker'],
      ['DaemonSet', 'loupe-collector'],
    ] as const) {
      const workload = byKind(kind, name);
      const container = containerOf(workload);
      assertKnownFlags(container.args, `${kind}/${name}`);
      assert.ok(container.resources?.limits?.memory, `${name} has a memory limit`);
      const token = (container.env as Doc[]).find((e) => e.name === 'LOUPE_TOKEN');
      assert.deepEqual(token?.valueFrom?.secretKeyRef, { name: 'loupe-token', key: 'token' });
      // Bound off loopback, the commands refuse to start without the token: it is always there.
      assert.equal(argAfter(container.args, '--host'), '0.0.0.0');
      assert.deepEqual(workload.spec.selector.matchLabels, {
        'app.kubernetes.io/name': workload.spec.template.metadata.labels['app.kubernetes.io/name'],
      });
    }
  });

  it('serve the broker on 7070 behind its Service, with probes on /healthz', () => {
    const broker = containerOf(byKind('Deployment', 'loupe-broker'));
    assert.equal(argAfter(broker.args, '--port'), '7070');
    assert.equal(broker.ports[0].containerPort, 7070);
    assert.equal(broker.readinessProbe.httpGet.path, '/healthz');
    assert.equal(broker.securityContext.runAsNonRoot, true);
    const service = byKind('Service', 'loupe-broker');
    assert.deepEqual(service.spec.selector, { 'app.kubernetes.io/name': 'loupe-broker' });
    assert.equal(service.spec.ports[0].port, 7070);
  });

  it('give the collector what eBPF capture needs and point it at the broker', () => {
    const daemonSet = byKind('DaemonSet', 'loupe-collector');
    const collector = containerOf(daemonSet);
    assert.equal(daemonSet.spec.template.spec.hostPID, true);
    for (const capability of ['BPF', 'PERFMON'])
      assert.ok(collector.securityContext.capabilities.add.includes(capability));
    const mounts = new Map((collector.volumeMounts as Doc[]).map((m) => [m.mountPath, m]));
    assert.equal(mounts.get('/sys/kernel/btf')?.readOnly, true);
    assert.ok(mounts.has('/sys/kernel/tracing'));
    assert.equal(argAfter(collector.args, '--data-dir'), '/var/lib/loupe');
    assert.ok(mounts.has('/var/lib/loupe'));
    const env = new Map((collector.env as Doc[]).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(env.get('NODE_NAME'), 'spec.nodeName');
    assert.equal(env.get('POD_IP'), 'status.podIP');
    assert.equal(argAfter(collector.args, '--name'), '$(NODE_NAME)');
    assert.equal(
      argAfter(collector.args, '--advertise-url'),
      `http://$(POD_IP):${argAfter(collector.args, '--port')}`,
    );
    assert.equal(argAfter(collector.args, '--broker'), 'http://loupe-broker:7070');
    assert.equal(collector.readinessProbe.httpGet.path, '/healthz');
  });
});

describe('systemd units', () => {
  const units = fs.readdirSync(path.join(deployDir, 'systemd'));

  it('start the commands with flags they know', () => {
    assert.deepEqual(units.sort(), ['loupe-broker.service', 'loupe-collector.service', 'loupe.service']);
    for (const unit of units) {
      const text = fs.readFileSync(path.join(deployDir, 'systemd', unit), 'utf8');
      const exec = /^ExecStart=\S+(?: --\S+)* \S+\/bin\/loupe (.+)$/m.exec(text);
      assert.ok(exec?.[1], `${unit} has an ExecStart running bin/loupe`);
      assertKnownFlags(exec[1].split(/\s+/), unit);
    }
  });

  it('run node with the flags npm start gives the collector, each one this node accepts', () => {
    const start = /^exec node((?: --\S+)*) bin\/loupe /m.exec(
      fs.readFileSync(path.join(repoRoot, 'scripts/start.sh'), 'utf8'),
    );
    const flags = start?.[1]?.trim().split(' ') ?? [];
    assert.ok(flags.length > 0, 'scripts/start.sh passes node flags');
    for (const unit of ['loupe.service', 'loupe-collector.service']) {
      const text = fs.readFileSync(path.join(deployDir, 'systemd', unit), 'utf8');
      const exec = /^ExecStart=\S+((?: --\S+)*) \S+\/bin\/loupe /m.exec(text);
      assert.deepEqual(exec?.[1]?.trim().split(' '), flags, unit);
    }
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(
      fs.readFileSync(path.join(deployDir, 'Dockerfile'), 'utf8'),
    );
    assert.deepEqual((JSON.parse(entrypoint?.[1] ?? '[]') as string[]).slice(1, -1), flags, 'Dockerfile');
    const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  });

  it('are units systemd accepts', { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 }, () => {
    // verify also checks that ExecStart's program exists: point a copy at this checkout's node and CLI.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-units-'));
    try {
      for (const unit of units) {
        const text = fs
          .readFileSync(path.join(deployDir, 'systemd', unit), 'utf8')
          .replace(/^EnvironmentFile=.*$/m, '')
          .replace('/usr/bin/node', process.execPath)
          .replace('/opt/loupe/bin/loupe', loupeBin);
        fs.writeFileSync(path.join(dir, unit), text);
      }
      const result = spawnSync('systemd-analyze', ['verify', ...units.map((u) => path.join(dir, u))], {
        encoding: 'utf8',
      });
      const problems = `${result.stdout}${result.stderr}`
        .split('\n')
        // verify also reports the host's own units and missing targets on machines without a full systemd.
        .filter((line) => line.includes(dir) && !/Failed to .* target|not found\.$/.test(line));
      assert.deepEqual(problems, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
