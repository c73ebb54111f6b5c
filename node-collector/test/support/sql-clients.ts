/**
 * Driver-based SQL clients for the capture tests, run as child processes (the collector never captures itself).
 * Usage: node sql-clients.js pg|mysql2 PORT — prints one JSON line with what the driver got back, then exits.
 */
import pg from 'pg';
import mysql from 'mysql2/promise';
import { DB_PASSWORD, DB_USER, postgresLogin } from './databases.js';

const [driver, portText] = process.argv.slice(2);
const port = Number(portText);

async function runPg(): Promise<unknown> {
  const client = new pg.Client(postgresLogin(port));
  await client.connect();
  // Unnamed statement (extended protocol), then one named statement executed twice.
  const sum = await client.query('SELECT $1::int + $2::int AS s', [20, 22]);
  const byId = { name: 'item-by-id', text: 'SELECT name FROM items WHERE id = $1' };
  const two = await client.query({ ...byId, values: [2] });
  const one = await client.query({ ...byId, values: [1] });
  await client.end();
  return [sum.rows[0], two.rows[0], one.rows[0]];
}

async function runMysql2(): Promise<unknown> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: DB_USER,
    password: DB_PASSWORD,
    database: 'shop',
  });
  const [rows] = await conn.execute('SELECT name FROM items WHERE id = ?', [2]);
  const [again] = await conn.execute('SELECT name FROM items WHERE id = ?', [1]);
  await conn.end();
  return [rows, again];
}

const result = driver === 'pg' ? await runPg() : await runMysql2();
console.log(JSON.stringify(result));
