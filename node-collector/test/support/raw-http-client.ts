/**
 * A raw TCP HTTP client for the capture tests, run as a child process, for what curl and fetch cannot do on demand:
 * pipelining, and a keep-alive connection that outlives the start of the collector.
 *
 * Usage: node raw-http-client.js HOST PORT
 * Commands on stdin, one per line:
 *   send PATH [PATH ...]   writes one request per path in a single write (pipelined), waits for all responses
 *   close                  closes the connection and exits
 * Prints "connected" once connected and "done N" after each send, N = responses received so far.
 */
import net from 'node:net';
import readline from 'node:readline';

const [host = '127.0.0.1', portText = '0'] = process.argv.slice(2);
const socket = net.connect(Number(portText), host, () => console.log('connected'));
let received = Buffer.alloc(0);
let responses = 0;
let waitingFor = 0;

function countResponses(): void {
  // Every test response carries a content-length; count complete messages.
  for (;;) {
    const text = received.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = /content-length: (\d+)/i.exec(text.slice(0, end));
    const total = end + 4 + Number(length?.[1] ?? 0);
    if (received.length < total) return;
    received = received.subarray(total);
    responses++;
  }
}

socket.on('data', (chunk) => {
  received = Buffer.concat([received, chunk]);
  countResponses();
  if (waitingFor > 0 && responses >= waitingFor) {
    waitingFor = 0;
    console.log(`done ${responses}`);
  }
});
socket.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, ...paths] = line.trim().split(/\s+/);
  if (command === 'send') {
    waitingFor = responses + paths.length;
    socket.write(
      paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: raw-client\r\n\r\n`).join(''),
    );
  } else if (command === 'close') {
    socket.end(() => process.exit(0));
  }
});
