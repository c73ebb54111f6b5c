/**
 * A client that keeps one connection and sends one kind of request in three steps, each after a line on stdin, so
 * that a test can change what the collector admits between them: once, then FIRST times, then SECOND times. For
 * the SQL drivers the request is a prepared statement, prepared by the first step. Requests of step S carry
 * S * 1000 + i (the path of an HTTP request, a SQL parameter).
 * Usage: node stepped-client.js http|pg|mysql2 PORT FIRST SECOND. Prints "step N" as each step is done.
 */
import readline from 'node:readline';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { DB_PASSWORD, DB_USER, postgresLogin } from './databases.js';

const [driver, portText, firstText, secondText] = process.argv.slice(2);
const port = Number(portText);
const counts = [1, Number(firstText), Number(secondText)];
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Runs `once` the counted number of times for each step, waiting for a line on stdin before all but the first. */
async function steps(once: (value: number) => Promise<void>): Promise<void> {
  for (const [step, count] of counts.entries()) {
    if (step > 0) await lines.next();
    for (let i = 0; i < count; i++) await once(step * 1000 + i);
    console.log(`step ${step + 1}`);
  }
}

if (driver === 'http') {
  // fetch keeps the connection alive between requests.
  await steps(async (value) => {
    const response = await fetch(`http://127.0.0.1:${port}/status/200?v=${value}`);
    await response.arrayBuffer();
  });
} else if (driver === 'pg') {
  const client = new pg.Client(postgresLogin(port));
  await client.connect();
  await steps(async (value) => {
    await client.query({ name: 'stepped', text: 'SELECT $1::int + 1 AS next', values: [value] });
  });
  await client.end();
} else {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: DB_USER,
    password: DB_PASSWORD,
  });
  await steps(async (value) => {
    await conn.execute('SELECT ? + 1 AS next', [value]);
  });
  await conn.end();
}
process.exit(0);
