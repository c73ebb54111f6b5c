/**
 * The "frontend" of the demo shop: each request calls the demo api over loopback and answers from what it
 * got, so the capture sees a chain frontend → api → PostgreSQL. Usage: node demo-frontend-server.js PORT
 * API_PORT. Prints "listening" once it accepts connections.
 */
import http from 'node:http';

process.title = 'demo-frontend';
const [portText, apiPortText] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function callApi(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(apiPortText),
        method,
        path,
        agent,
        headers: { accept: 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo-frontend');
  const order = /^\/orders\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/') {
    const answer = await callApi('GET', '/api/orders');
    const orders = (JSON.parse(answer.body) as { orders: { item: string }[] }).orders;
    send(res, 200, 'text/html', `<ul>${orders.map((o) => `<li>${o.item}</li>`).join('')}</ul>`);
  } else if (req.method === 'GET' && order) {
    const answer = await callApi('GET', `/api/orders/${order[1]}`);
    send(res, answer.status, 'application/json', answer.body);
  } else if (req.method === 'POST' && url.pathname === '/checkout') {
    // The api's error goes back to the browser as it came: status and JSON body.
    const answer = await callApi('POST', '/api/checkout');
    send(res, answer.status, 'application/json', answer.body);
  } else {
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  }
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    handle(req, res).catch((error: Error) =>
      send(res, 502, 'application/json', JSON.stringify({ error: error.message })),
    );
  });
});
server.listen(Number(portText), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
