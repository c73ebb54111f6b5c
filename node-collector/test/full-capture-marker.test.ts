import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FullCaptureMarker } from '../src/capture/full-capture-marker.js';
import {
  endpointMatches,
  parseServiceSelectors,
  processNameMatches,
} from '../src/metadata/service-selector.js';
import type { Endpoint } from '../src/store/records.js';

const endpoint = (process: string, localPort: number): Endpoint => ({
  pid: 1,
  process,
  localAddr: '127.0.0.1',
  localPort,
  remoteAddr: '127.0.0.1',
  remotePort: 40000,
  role: 'server',
  encrypted: false,
});

describe('service selectors', () => {
  it('parses names with and without ports, and refuses what is not one', () => {
    assert.deepEqual(parseServiceSelectors('api:8080, billing ,node:3000'), [
      { process: 'api', port: 8080 },
      { process: 'billing' },
      { process: 'node', port: 3000 },
    ]);
    assert.throws(() => parseServiceSelectors(''), /no service/);
    assert.throws(() => parseServiceSelectors('api:70000'), /not a service/);
    assert.throws(() => parseServiceSelectors(':80'), /not a service/);
  });

  it('matches the kernel’s 15-byte process names against longer names given by the user', () => {
    const [selector] = parseServiceSelectors('payments-gateway-v2');
    assert.ok(selector);
    assert.equal(processNameMatches(selector, 'payments-gatewa'), true);
    assert.equal(processNameMatches(selector, 'payments'), false);
  });

  it('with a port, selects the connections the service answers on it; without, all of the process', () => {
    const withPort = parseServiceSelectors('node:3000');
    assert.equal(endpointMatches(withPort, endpoint('node', 3000)), true);
    assert.equal(endpointMatches(withPort, endpoint('node', 3001)), false);
    assert.equal(endpointMatches(withPort, endpoint('nginx', 3000)), false);
    assert.equal(endpointMatches(parseServiceSelectors('node'), endpoint('node', 45123)), true);
  });
});

describe('FullCaptureMarker', () => {
  it('marks the processes of the selected services and unmarks them when they go', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-proc-'));
    const task = (pid: number, comm: string) => {
      fs.mkdirSync(path.join(proc, String(pid)), { recursive: true });
      fs.writeFileSync(path.join(proc, String(pid), 'comm'), `${comm}\n`);
    };
    task(10, 'api');
    task(11, 'nginx');
    task(12, 'api');
    fs.mkdirSync(path.join(proc, 'self'));
    const calls: string[] = [];
    let room = 2;
    const marker = new FullCaptureMarker(
      {
        setFullCapture(tgid, on) {
          calls.push(`${on ? '+' : '-'}${tgid}`);
          if (!on) room++;
          else if (room === 0) return false;
          else room--;
          return true;
        },
      },
      parseServiceSelectors('api:8080'),
      proc,
    );
    try {
      marker.scan();
      assert.deepEqual(calls.sort(), ['+10', '+12']);
      assert.equal(marker.counters.marked, 2);
      task(13, 'api');
      marker.scan();
      assert.equal(marker.counters.refused, 1, 'the map was full');
      fs.rmSync(path.join(proc, '10'), { recursive: true });
      calls.length = 0;
      marker.scan();
      assert.deepEqual(calls, ['-10', '+13']);
      assert.equal(marker.counters.marked, 2);
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
  });
});
