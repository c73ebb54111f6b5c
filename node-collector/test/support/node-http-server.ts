/**
 * A real Node.js HTTP server for the capture tests, run as a child process (the collector never captures its own
 * process). Usage: node node-http-server.js PORT [HOST]. Prints "listening" once it accepts connections.
 */
import http from 'node:http';
import zlib from 'node:zlib';

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';

/** Replies with an explicit content-length (writeHead alone would make Node choose chunked encoding). */
function send(
  res: http.ServerResponse,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: string | Buffer,
): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    switch (url.pathname) {
      case '/hello':
        send(res, 200, { 'content-type': 'text/plain' }, 'hello');
        return;
      case '/echo':
        send(res, 201, { 'content-type': 'application/octet-stream' }, body);
        return;
      case '/chunked':
        // No content-length: Node sends it chunked.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part-one;');
        setTimeout(() => res.end('part-two'), 5);
        return;
      case '/gzip':
        send(
          res,
          200,
          { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          zlib.gzipSync(JSON.stringify({ compressed: true, n: 42 })),
        );
        return;
      case '/big': {
        const n = Number(url.searchParams.get('n') ?? 100000);
        send(res, 200, { 'content-type': 'text/plain' }, Buffer.alloc(n, 'x'));
        return;
      }
      case '/segments': {
        // Corked writes leave in one writev, a segment each: the head, and with chunked encoding each chunk's
        // size line, data and CRLF. One segment is longer than the collector merges into a record.
        const parts = ['first;', 'y'.repeat(9000), ';last'];
        const chunked = url.searchParams.get('chunked') === '1';
        const length = chunked ? {} : { 'content-length': parts.join('').length };
        res.writeHead(200, { 'content-type': 'text/plain', ...length });
        res.cork();
        for (const part of parts) res.write(part);
        res.uncork();
        res.end();
        return;
      }
      case '/cookie':
        send(res, 200, { 'set-cookie': 'session=s3cr3t', 'content-type': 'text/plain' }, 'ok');
        return;
      default: {
        const status = /^\/status\/(\d{3})$/.exec(url.pathname);
        if (status?.[1]) {
          send(res, Number(status[1]), { 'content-type': 'text/plain' }, `status ${status[1]}`);
          return;
        }
        send(res, 404, { 'content-type': 'text/plain' }, 'not found');
      }
    }
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
