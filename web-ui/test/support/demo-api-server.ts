/**
 * The "api" of the demo shop the end-to-end tests capture: JSON over HTTP, backed by a real PostgreSQL.
 * Usage: node demo-api-server.js PORT PG_PORT PG_USER PG_PASSWORD. Prints "listening" once it accepts
 * connections. Run as its own process, named demo-api, so the captured rows name it.
 */
import http from 'node:http';
import pg from 'pg';

process.title = 'demo-api';
const [portText, pgPortText, user, password] = process.argv.slice(2);

const pool = new pg.Pool({
  host: '127.0.0.1',
  port: Number(pgPortText),
  user,
  password,
  database: 'postgres',
  max: 4,
});

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo-api');
  const byId = /^\/api\/orders\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/api/orders') {
    const result = await pool.query('SELECT id, item, quantity FROM orders ORDER BY id');
    sendJson(res, 200, { orders: result.rows });
  } else if (req.method === 'GET' && byId) {
    const result = await pool.query('SELECT id, item, quantity FROM orders WHERE id = $1', [Number(byId[1])]);
    if (result.rows.length === 0) sendJson(res, 404, { error: 'no such order' });
    else sendJson(res, 200, result.rows[0]);
  } else if (req.method === 'POST' && url.pathname === '/api/checkout') {
    // The payments table does not exist: every checkout fails in the database, and the API says so.
    try {
      await pool.query('INSERT INTO payments (order_id, amount) VALUES ($1, $2)', [1, 9.99]);
      sendJson(res, 201, { ok: true });
    } catch (error) {
      sendJson(res, 500, { error: 'checkout failed', detail: (error as Error).message });
    }
  } else {
    sendJson(res, 404, { error: 'not found' });
  }
}

await pool.query(`CREATE TABLE IF NOT EXISTS orders (id integer PRIMARY KEY, item text, quantity integer);
  INSERT INTO orders VALUES (1, 'lens', 2), (2, 'tripod', 1), (3, 'filter', 5), (4, 'strap', 1), (5, 'bag', 3)
  ON CONFLICT DO NOTHING`);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    handle(req, res).catch((error: Error) => sendJson(res, 500, { error: error.message }));
  });
});
server.listen(Number(portText), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
