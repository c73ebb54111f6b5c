/**
 * Keeps the store inside its age and size budget, continuously (a timer), so it never outgrows the disk it was
 * given.
 *
 * How DuckDB gives space back (duckdb.org "Reclaiming Space" and CHECKPOINT pages, duckdb/duckdb PR #7824,
 * RowGroupCollection::Checkpoint in the DuckDB source, and measured here): DELETE only marks rows deleted. A full
 * CHECKPOINT then drops row groups (ROW_GROUP_ROWS each, see event-store.ts) whose rows are all deleted and
 * merges adjacent row groups whose remaining rows fit in fewer; rows deleted inside a row group that is neither
 * dropped nor merged keep their space. Freed blocks go on the file's free list and are reused before the file is
 * extended; the file only shrinks when free blocks sit at its end. A checkpoint writes new blocks before it frees
 * the old ones, so the file transiently needs room beyond the live data. VACUUM reclaims nothing.
 *
 * So the policy watches two measures: the bytes on disk (file + WAL), which the budget is about and which
 * triggers a clean-up at TRIGGER_FRACTION of it, and the used blocks after a checkpoint, which deleting rows
 * can lower. A clean-up deletes the oldest rows until the used blocks fit in TARGET_FRACTION of the budget.
 * The generous headroom is for copy-on-write checkpoints, the WAL and new rows until the next pass; with it
 * the file stops growing and its free blocks are reused, instead of it being shrunk and regrown.
 */

import { DuckDBTimestampNanosecondsValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { TABLE_NAMES } from './schema.js';

/** What the policy needs from the store (EventStore provides it). */
export interface RetentionTarget {
  /** A connection that sees the committed rows; rows not yet committed are new, and no business of the policy. */
  connectCommitted(): Promise<DuckDBConnection>;
  /** Database file plus WAL on disk. */
  diskBytes(): number;
  /** Folds the WAL into the file. Through the store: DuckDB refuses two checkpoints at once. */
  checkpoint(): Promise<void>;
}

export interface RetentionOptions {
  /** Rows whose `time` is older than this are deleted. */
  maxAgeMs: number;
  /** Budget for the database file plus WAL. */
  maxBytes: number;
  intervalMs?: number;
  /** Wall-clock now in ns; tests move time with it. */
  nowNs?: () => bigint;
  /** Told about failed passes (also counted); defaults to console.error. */
  onError?: (error: Error) => void;
}

export interface RetentionPassReport {
  rowsDeletedByAge: number;
  rowsDeletedBySize: number;
  diskBytesBefore: number;
  diskBytesAfter: number;
}

export interface RetentionCounters {
  passes: number;
  failedPasses: number;
  rowsDeletedByAge: number;
  rowsDeletedBySize: number;
}

/** A clean-up starts when the disk usage passes this share of the budget... */
const TRIGGER_FRACTION = 0.5;
/** ...and deletes the oldest rows until the live data fits in this share. */
const TARGET_FRACTION = 0.3;
/** Overshoot the first, estimated cut a little, so that rounding does not cost a whole extra step. */
const CUT_MARGIN = 0.05;
/** Share of the remaining rows each further step deletes while waiting for a row group to empty. */
const STEP_FRACTION = 0.1;
/** Bounds the work of one pass; whatever is left over is the next pass's job. */
const MAX_CUTS_PER_PASS = 10;
const DEFAULT_INTERVAL_MS = 10_000;
/**
 * Rows deleted by age free their blocks at the next checkpoint, which this policy then asks for, but not more
 * often than this: once data reaches its maximum age, every pass deletes some, and a checkpoint commits the
 * store's open transaction short of a row group (see IN_MEMORY_CHECKPOINT_BYTES in event-store.ts).
 */
const AGE_CHECKPOINT_EVERY_MS = 60_000;

function wallClockNowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

async function deleteOlderThan(
  connection: DuckDBConnection,
  cutoff: DuckDBValue,
  inclusive: boolean,
): Promise<number> {
  let deleted = 0;
  const comparison = inclusive ? '<=' : '<';
  for (const table of TABLE_NAMES) {
    const result = await connection.run(`DELETE FROM ${table} WHERE time ${comparison} $1`, [cutoff]);
    deleted += result.rowsChanged;
  }
  return deleted;
}

interface StorageUse {
  /** Bytes in blocks that hold data after a checkpoint: the part of the file deleting rows can free. */
  usedBytes: number;
  /** The rows still alive, as a share of the rows the tables physically hold (deleted ones included). */
  liveShare: number;
}

async function storageUse(connection: DuckDBConnection): Promise<StorageUse> {
  const liveRows = TABLE_NAMES.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ');
  // `estimated_size` counts the rows a table physically holds until a vacuum drops the deleted ones.
  const reader = await connection.runAndReadAll(
    `SELECT (SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = current_database()),
            (SELECT sum(estimated_size) FROM duckdb_tables() WHERE database_name = current_database()),
            ${liveRows}`,
  );
  const [usedBytes = 0, storedRows = 0, aliveRows = 0] = (reader.getRowsJS()[0] ?? []).map(Number);
  return { usedBytes, liveShare: storedRows > 0 ? Math.min(1, aliveRows / storedRows) : 0 };
}

/** The `time` below which `fraction` of all stored rows lie, across every table; null when the store is empty. */
async function timeQuantile(connection: DuckDBConnection, fraction: number): Promise<DuckDBValue> {
  const allTimes = TABLE_NAMES.map((table) => `SELECT time FROM ${table}`).join(' UNION ALL ');
  const reader = await connection.runAndReadAll(`SELECT quantile_disc(time, $1::DOUBLE) FROM (${allTimes})`, [
    fraction,
  ]);
  return reader.getRows()[0]?.[0] ?? null;
}

export class RetentionPolicy {
  private readonly target: RetentionTarget;
  private readonly maxAgeNs: bigint;
  private readonly maxBytes: number;
  private readonly intervalMs: number;
  private readonly nowNs: () => bigint;
  private readonly onError: (error: Error) => void;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionPassReport> | null = null;
  private lastAgeCheckpointMs = Number.NEGATIVE_INFINITY;
  private readonly totals: RetentionCounters = {
    passes: 0,
    failedPasses: 0,
    rowsDeletedByAge: 0,
    rowsDeletedBySize: 0,
  };

  constructor(target: RetentionTarget, options: RetentionOptions) {
    if (!(options.maxBytes > 0) || !(options.maxAgeMs > 0)) {
      throw new Error('retention needs a positive maxBytes and maxAgeMs');
    }
    this.target = target;
    this.maxAgeNs = BigInt(Math.trunc(options.maxAgeMs)) * 1_000_000n;
    this.maxBytes = options.maxBytes;
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.nowNs = options.nowNs ?? wallClockNowNs;
    this.onError = options.onError ?? ((error) => console.error(`retention: ${error.message}`));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.enforce().catch((error: unknown) =>
        this.onError(error instanceof Error ? error : new Error(String(error))),
      );
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  get counters(): RetentionCounters {
    return { ...this.totals };
  }

  /** One pass: age first, then size. A pass already running is joined rather than doubled. */
  enforce(): Promise<RetentionPassReport> {
    if (!this.running) {
      this.running = this.runPass().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async runPass(): Promise<RetentionPassReport> {
    const diskBytesBefore = this.target.diskBytes();
    const connection = await this.target.connectCommitted();
    try {
      const cutoff = new DuckDBTimestampNanosecondsValue(this.nowNs() - this.maxAgeNs);
      const rowsDeletedByAge = await deleteOlderThan(connection, cutoff, false);
      this.totals.rowsDeletedByAge += rowsDeletedByAge;

      let rowsDeletedBySize = 0;
      if (this.target.diskBytes() > this.maxBytes * TRIGGER_FRACTION) {
        rowsDeletedBySize = await this.deleteOldestDownToTarget(connection);
        this.totals.rowsDeletedBySize += rowsDeletedBySize;
      } else if (rowsDeletedByAge > 0 && Date.now() - this.lastAgeCheckpointMs >= AGE_CHECKPOINT_EVERY_MS) {
        this.lastAgeCheckpointMs = Date.now();
        await this.target.checkpoint();
      }
      this.totals.passes += 1;
      return {
        rowsDeletedByAge,
        rowsDeletedBySize,
        diskBytesBefore,
        diskBytesAfter: this.target.diskBytes(),
      };
    } catch (error) {
      this.totals.failedPasses += 1;
      throw error;
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Deletes the oldest rows until the used blocks fit in the target. DuckDB frees space a row group at a time
   * (up to 122,880 rows per table), so a cut only shows once it empties the oldest row group: the first cut is
   * sized from the live rows, then small steps follow until the used blocks drop, which keeps what is deleted
   * beyond that row-group boundary to one step.
   */
  private async deleteOldestDownToTarget(connection: DuckDBConnection): Promise<number> {
    const targetBytes = this.maxBytes * TARGET_FRACTION;
    let deleted = 0;
    // Checkpoint first: it folds the WAL in and drops row groups age retention emptied, so `use` is current.
    await this.target.checkpoint();
    let use = await storageUse(connection);
    for (let round = 0; round < MAX_CUTS_PER_PASS && use.usedBytes > targetBytes; round += 1) {
      const liveBytes = use.usedBytes * use.liveShare;
      const fraction = round === 0 ? 1 - targetBytes / liveBytes + CUT_MARGIN : STEP_FRACTION;
      const cutoff = await timeQuantile(connection, Math.min(1, Math.max(STEP_FRACTION, fraction)));
      if (cutoff === null) break;
      deleted += await deleteOlderThan(connection, cutoff, true);
      await this.target.checkpoint();
      use = await storageUse(connection);
    }
    return deleted;
  }
}
