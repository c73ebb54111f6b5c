/**
 * A mysql2 client for the capture tests of lost bytes, run as a child process (the collector never captures
 * itself). Usage: node mysql-gap-client.js PORT ROWS — on one connection: a text query whose answer is ROWS rows
 * of 300 bytes, then a prepared statement executed, a plain query and an error; prints one JSON line with what
 * came back, then exits.
 */
import mysql from 'mysql2/promise';
import { DB_PASSWORD, DB_USER } from './databases.js';

const [portText, rowsText] = process.argv.slice(2);
const conn = await mysql.createConnection({
  host: '127.0.0.1',
  port: Number(portText),
  user: DB_USER,
  password: DB_PASSWORD,
  database: 'shop',
});
const [big] = await conn.query(
  `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${Number(rowsText)})
   SELECT n, REPEAT('m', 300) AS filler FROM s`,
);
const [byId] = await conn.execute('SELECT name FROM items WHERE id = ?', [20]);
const [after] = await conn.query("SELECT 'after the mysql2 flood' AS t");
const error = await conn.query('SELEC mysql2_oops').then(
  () => '',
  (err: Error) => err.message,
);
await conn.end();
console.log(JSON.stringify({ rows: (big as unknown[]).length, byId, after, error }));
