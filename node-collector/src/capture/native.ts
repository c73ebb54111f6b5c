/** Typed access to the capture addon (native/src/addon.cc). */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface TracerOptions {
  selfTgid: number;
  /** Network namespace inode to scope capture to; 0 captures every namespace. */
  targetNetns: number;
  /** Bytes of payload copied per syscall (or per iovec segment), at most the kernel side's ceiling. */
  captureBytes: number;
  /** Ring buffer size: a power of two, a multiple of the page size. */
  ringBytes: number;
  maxConns: number;
  /** Bytes pending in the ring buffer before the kernel wakes the reader. */
  wakeupBytes: number;
  pollMs: number;
  /** Batches that may wait for the JavaScript thread before further ones are dropped (and counted). */
  queueBatches: number;
  /** Bytes copied per syscall for processes marked by setFullCapture; 0 turns marking off. */
  fullCaptureBytes: number;
  /** How many processes may be marked at once. */
  fullCaptureProcesses: number;
}

export interface NativeCounters {
  kernelDrops: number[];
  records: number;
  bytes: number;
  batches: number;
  batchesDropped: number;
  recordsDropped: number;
  /** By enum loupe_exchange_counter: exchanges admitted, shed on the client side, and on the server side. */
  exchanges: number[];
}

export interface ProgramStats {
  name: string;
  runTimeNs: number;
  runCount: number;
}

export interface NativeTracer {
  start(onBatch: (batch: Buffer) => void): void;
  close(): void;
  counters(): NativeCounters;
  programs(): ProgramStats[];
  /** Marks or unmarks a process for full capture; false when the kernel map is full. */
  setFullCapture(tgid: number, on: boolean): boolean;
  /** Exchanges the kernel side may still admit (negative: no limit); it sheds and counts the rest. */
  setExchangeAllowance(exchanges: number): void;
  /** Exchanges the kernel side may still admit under the allowance last set. */
  exchangeTokens(): number;
}

export interface CaptureAddon {
  Tracer: new (options: TracerOptions) => NativeTracer;
  layout(): Record<string, number>;
  /** Hands the free memory of every malloc arena back to the system (glibc's malloc_trim); true if any was. */
  trimMalloc(): boolean;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/src/capture → native/build/Release */
export const addonPath = path.resolve(here, '../../../native/build/Release/loupe_capture.node');

let loaded: CaptureAddon | undefined;

export function loadCaptureAddon(): CaptureAddon {
  loaded ??= createRequire(import.meta.url)(addonPath) as CaptureAddon;
  return loaded;
}
