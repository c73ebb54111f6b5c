/** A real nginx on loopback (IPv4 and IPv6) with a static file, a fixed reply and a proxy to an upstream. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, waitForPort, type Running } from './processes.js';

export interface Nginx {
  port: number;
  dir: string;
  staticBytes: number;
  process: Running;
  stop(): Promise<void>;
}

export async function startNginx(port: number, upstreamPort: number): Promise<Nginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-nginx-'));
  // nginx workers started by root run as nobody: they must be able to read the served file.
  fs.chmodSync(dir, 0o755);
  const staticBody = 'static file body\n'.repeat(64);
  fs.writeFileSync(path.join(dir, 'static.txt'), staticBody);
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  sendfile on;
  keepalive_requests 100000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 4; }
  server {
    listen 127.0.0.1:${port};
    listen [::1]:${port};
    root ${dir};
    location = /small { default_type text/plain; return 200 "small reply"; }
    location = /teapot { default_type text/plain; return 418 "i am a teapot"; }
    location /app/ {
      proxy_pass http://app/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proc = start('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir]);
  await waitForPort(port);
  return {
    port,
    dir,
    staticBytes: Buffer.byteLength(staticBody),
    process: proc,
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
