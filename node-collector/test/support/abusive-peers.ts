/**
 * Hostile traffic on real sockets, run as a child process: what a parser must survive without growing or dying.
 * Usage: node abusive-peers.js HTTP_PORT — sends every case to the HTTP server at HTTP_PORT, plus one against a
 * garbage-speaking server of its own, then prints "abuse done".
 */
import crypto from 'node:crypto';
import net from 'node:net';

const port = Number(process.argv[2]);

function connect(target = port): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(target, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function settle(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A request line, then random bytes where headers should be. */
async function randomHeaders(): Promise<void> {
  const s = await connect();
  s.write(`GET /abuse/random HTTP/1.1\r\n`);
  s.write(crypto.randomBytes(64 * 1024));
  await settle();
  s.destroy();
}

/** A body announced at 100 kB, 1 kB of it sent, then a TCP reset. */
async function resetMidBody(): Promise<void> {
  const s = await connect();
  s.write(`POST /abuse/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`);
  s.write(Buffer.alloc(1000, 'b'));
  await settle();
  s.resetAndDestroy();
}

/** One header line of 10 MB, written as fast as the server reads it (or until it gives up and closes). */
async function headerFlood(): Promise<void> {
  const s = await connect();
  s.on('error', () => undefined);
  s.write(`GET /abuse/flood HTTP/1.1\r\nHost: x\r\nX-Flood: `);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < 10 * 1024 * 1024 && !s.destroyed; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r).once('close', r));
  }
  await settle();
  s.destroy();
}

/** A message cut off in the middle of its headers. */
async function truncated(): Promise<void> {
  const s = await connect();
  s.write(`GET /abuse/truncated HTTP/1.1\r\nHost: x\r\nContent-Le`);
  await settle();
  s.end();
}

/** A server that answers every request with a status line and then noise; we are its client. */
async function garbageResponses(): Promise<void> {
  const server = net.createServer((c) => {
    c.once('data', () => {
      c.write('HTTP/1.1 200 OK\r\n');
      c.end(crypto.randomBytes(32 * 1024));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const garbagePort = typeof address === 'object' && address ? address.port : 0;
  const s = await connect(garbagePort);
  s.write(`GET /abuse/garbage-response HTTP/1.1\r\nHost: x\r\n\r\n`);
  s.resume();
  await new Promise((r) => s.on('close', r).on('end', r));
  s.destroy();
  server.close();
}

await randomHeaders();
await resetMidBody();
await headerFlood();
await truncated();
await garbageResponses();
console.log('abuse done');
