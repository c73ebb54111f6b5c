/**
 * The floor under any store built on DuckDB's tables: rows a store wrote, copied into a fresh file by DuckDB alone.
 *
 * The source file is attached read-only and the selected rows are loaded into memory and numbered into row groups,
 * untimed. Then, timed (wall clock and this process's CPU, all threads), each row group is one INSERT … SELECT in a
 * transaction of its own (whole groups go straight into the file, the cheapest way DuckDB takes rows in), into a
 * file attached as the store attaches a new one (the same tables, row group size, format and block size, one
 * thread), and a checkpoint ends it as closing the store does. No JavaScript runs per row.
 *
 * Used by parse-store-throughput.mjs and sql-parse-store-throughput.mjs (through recorded-batch.mjs) on the rows
 * of their recorded batches, and by collector-cpu.mjs on the rows the collector captured from real traffic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { DuckDBInstance } from '@duckdb/node-api';
import { repoRoot } from './lib.mjs';

const importCollector = (p) => import(path.join(repoRoot, 'node-collector/dist/src', p));
const { ROW_GROUP_ROWS, NEW_STORE_FILE_OPTIONS } = await importCollector('store/event-store.js');
const { CREATE_TABLE_STATEMENTS, STORE_TABLES } = await importCollector('store/schema.js');

/**
 * Copies `selections` ({ table, where? } each, `where` an SQL condition on the table's columns) from the store
 * file `sourceFile` into `dir`/copy.duckdb. Returns { wallS, cpuS, rows: { [table]: rows copied } }.
 */
export async function copyWithDuckDbAlone({ sourceFile, selections, dir }) {
  fs.mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run('SET threads = 1'); // as the store runs
    await connection.run(`ATTACH '${sourceFile}' AS src (READ_ONLY)`);
    await connection.run(
      `ATTACH '${path.join(dir, 'copy.duckdb')}' AS dst (ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, ${NEW_STORE_FILE_OPTIONS})`,
    );
    await connection.run('USE dst');
    for (const statement of CREATE_TABLE_STATEMENTS) await connection.run(statement);
    const groups = [];
    for (const [i, { table, where }] of selections.entries()) {
      await connection.run(
        `CREATE TEMP TABLE rows_${i} AS
           SELECT *, (row_number() OVER () - 1) // ${ROW_GROUP_ROWS} AS row_group
             FROM src.${table} ${where ? `WHERE ${where}` : ''}`,
      );
      const [[count]] = (await connection.runAndReadAll(`SELECT count(*) FROM rows_${i}`)).getRowsJS();
      groups.push(Math.ceil(Number(count) / ROW_GROUP_ROWS));
    }
    await connection.run('DETACH src');

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const [i, { table }] of selections.entries()) {
      const columns = STORE_TABLES[table].map((c) => c.name).join(', ');
      for (let g = 0; g < groups[i]; g++) {
        await connection.run(
          `INSERT INTO ${table} SELECT ${columns} FROM temp.rows_${i} WHERE row_group = ${g}`,
        );
      }
    }
    await connection.run('CHECKPOINT dst');
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);

    const tables = [...new Set(selections.map((s) => s.table))];
    const counts = tables.map((t) => `(SELECT count(*) FROM ${t})`).join(', ');
    const [row] = (await connection.runAndReadAll(`SELECT ${counts}`)).getRowsJS();
    const rows = Object.fromEntries(tables.map((t, i) => [t, Number(row[i])]));
    return { wallS, cpuS: (cpu.user + cpu.system) / 1e6, rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
