/**
 * A small shop API for the replay end-to-end test, run as a child process so the collector captures it: products
 * and orders in PostgreSQL, and on every answer a fresh request id and timestamp, as real services have.
 *
 * Usage: node shop-service.js PORT [changed]. PostgreSQL comes from the PG* environment variables. The `changed`
 * build differs in exactly two ways: GET /products/:id reports another currency, POST /orders answers 200
 * instead of 201. Prints "listening" once it accepts connections.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';

const port = Number(process.argv[2]);
const changed = process.argv[3] === 'changed';
const pool = new pg.Pool({ host: '127.0.0.1', max: 4 });

async function setUp(): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS products (id integer PRIMARY KEY, name text NOT NULL, price numeric NOT NULL)`,
  );
  await pool.query(
    `INSERT INTO products VALUES (1, 'lens', 19.90), (2, 'tripod', 45.00), (3, 'strap', 7.50) ON CONFLICT DO NOTHING`,
  );
  await pool.query(`CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), product_id integer NOT NULL REFERENCES products(id),
    quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** What every answer carries and no two answers share. */
function freshness() {
  return { requestId: randomUUID(), servedAt: new Date().toISOString() };
}

async function handle(method: string, url: URL, body: string): Promise<[number, unknown]> {
  if (method === 'GET' && url.pathname === '/products') {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 10), 10);
    const { rows } = await pool.query('SELECT id, name, price FROM products ORDER BY id LIMIT $1', [limit]);
    return [200, { products: rows, count: rows.length, ...freshness() }];
  }
  const product = /^\/products\/(\d+)$/.exec(url.pathname);
  if (method === 'GET' && product) {
    const { rows } = await pool.query('SELECT id, name, price FROM products WHERE id = $1', [
      Number(product[1]),
    ]);
    if (rows.length === 0) return [404, { error: 'no such product', ...freshness() }];
    return [200, { ...rows[0], currency: changed ? 'USD' : 'EUR', ...freshness() }];
  }
  if (method === 'POST' && url.pathname === '/orders') {
    const { productId, quantity } = JSON.parse(body) as { productId: number; quantity: number };
    const { rows } = await pool.query(
      `INSERT INTO orders (product_id, quantity) SELECT id, $2 FROM products WHERE id = $1
       RETURNING id, quantity, created_at, (SELECT price FROM products WHERE id = $1) * $2 AS total`,
      [productId, quantity],
    );
    if (rows.length === 0) return [422, { error: 'unknown product', ...freshness() }];
    const order = rows[0] as { id: string; quantity: number; created_at: Date; total: string };
    const created = {
      orderId: order.id,
      productId,
      quantity: order.quantity,
      total: order.total,
      createdAt: order.created_at.toISOString(),
      ...freshness(),
    };
    return [changed ? 200 : 201, created];
  }
  if (method === 'GET' && url.pathname === '/health') return [200, { ok: true, ...freshness() }];
  return [404, { error: 'no route', ...freshness() }];
}

await setUp();
const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    handle(request.method ?? 'GET', new URL(request.url ?? '/', 'http://shop'), body)
      .then(([status, value]) => send(response, status, value))
      .catch((error: unknown) => send(response, 500, { error: String(error) }));
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.end().then(() => process.exit(0)));
});
