/** Runs the kernel tracer and turns its batches into CaptureEvents for the connection tracker. */
import type { CaptureEvent } from './events.js';
import {
  loadCaptureAddon,
  type NativeCounters,
  type NativeTracer,
  type ProgramStats,
  type TracerOptions,
} from './native.js';
import { HeldBatches } from './held-batches.js';
import type { ExchangeCounts } from './cpu-limit.js';
import { checkCaptureFeatures, checkSyscallTracepoints, MissingFeatureError } from './preflight.js';
import { decodeBatch, DROP_REASONS, type DecodeCounters } from './wire.js';

export interface CaptureOptions {
  targetNetns?: number;
  captureBytes?: number;
  ringBytes?: number;
  maxConns?: number;
  queueBatches?: number;
  /** Bytes copied per syscall for processes marked with setFullCapture (0: none are). */
  fullCaptureBytes?: number;
  /** Raw batch bytes held while the consumer is busy. */
  heldBytes?: number;
}

export const CAPTURE_DEFAULTS = {
  captureBytes: 16384,
  // The reader thread empties the ring at least every pollMs whatever JavaScript is doing (the queue towards
  // JavaScript and the held batches absorb its pauses), and whenever a CPU has written wakeupBytes since its last
  // wake-up, so 4 MiB, about a quarter second of records at 20k requests/s captured on both ends, is ample. The
  // kernel maps the ring twice: it counts double in RSS.
  ringBytes: 4 * 1024 * 1024,
  // Below the rate at which wakeupBytes fill up, every poll timeout is a batch, and each batch wakes the reader
  // thread and then the JavaScript thread, which finds its caches cold: at 2,000 requests/s a 20 ms poll cost
  // 24.5-29.5 µs per request, 100 ms 20.9-21.3 (collector-cpu.mjs --client-node, alternating runs). A wake-up costs
  // a thread 100-200 µs of CPU on a virtual machine, work or none: 250 ms took two collectors capturing the same
  // traffic side by side 5 % less CPU than 100 ms, and less idle. Records reach JavaScript within this time.
  pollMs: 250,
  maxConns: 65536,
  queueBatches: 64,
  // Raw batches held while the consumer is busy (see HeldBatches): about two seconds of records at 20k requests/s
  // captured on both ends.
  heldBytes: 32 * 1024 * 1024,
  /** Processes that can be marked for full capture at once. */
  fullCaptureProcesses: 1024,
} as const;

export interface CaptureCounters {
  records: number;
  bytes: number;
  malformed: number;
  /**
   * What capture turned away, by reason: records the kernel or the reader could not deliver, and exchanges
   * (requests with their answers) shed whole under the CPU limit, as `cpu_limit_client` and `cpu_limit_server`.
   */
  drops: Record<string, number>;
  dropsTotal: number;
  /** Batch bytes held unparsed while the consumer is busy, now and at most. */
  heldBytes: number;
  heldBytesMax: number;
}

export class SocketCapture {
  private readonly tracer: NativeTracer;
  private readonly decoded: DecodeCounters = { records: 0, malformed: 0 };
  /** The tracer's counters as they stood at close: the kernel maps they come from are gone after it. */
  private finalNative: NativeCounters | undefined;
  private held: HeldBatches | null = null;
  private readonly heldBytes: number;

  constructor(options: CaptureOptions = {}) {
    checkCaptureFeatures();
    const captureBytes = options.captureBytes ?? CAPTURE_DEFAULTS.captureBytes;
    const ringBytes = options.ringBytes ?? CAPTURE_DEFAULTS.ringBytes;
    if (ringBytes < 4096 || (ringBytes & (ringBytes - 1)) !== 0) {
      throw new RangeError(`ring buffer size ${ringBytes} must be a power of two of at least 4096`);
    }
    const nativeOptions: TracerOptions = {
      selfTgid: process.pid,
      targetNetns: options.targetNetns ?? 0,
      captureBytes,
      ringBytes,
      maxConns: options.maxConns ?? CAPTURE_DEFAULTS.maxConns,
      wakeupBytes: Math.min(256 * 1024, ringBytes / 8),
      pollMs: CAPTURE_DEFAULTS.pollMs,
      queueBatches: options.queueBatches ?? CAPTURE_DEFAULTS.queueBatches,
      fullCaptureBytes: options.fullCaptureBytes ?? 0,
      fullCaptureProcesses: CAPTURE_DEFAULTS.fullCaptureProcesses,
    };
    this.heldBytes = options.heldBytes ?? CAPTURE_DEFAULTS.heldBytes;
    const addon = loadCaptureAddon();
    try {
      this.tracer = new addon.Tracer(nativeOptions);
    } catch (err) {
      checkSyscallTracepoints();
      throw err;
    }
  }

  /**
   * onEvent runs for every record; onBatchEnd after each batch, so consumers can hand on work in bulk. While
   * isBusy says the consumer is behind, batches are held unparsed (in order, up to heldBytes).
   */
  start(
    onEvent: (ev: CaptureEvent) => void,
    onBatchEnd: () => void,
    isBusy: () => boolean = () => false,
  ): void {
    const held = new HeldBatches({
      maxBytes: this.heldBytes,
      isBusy,
      deliver: (batch) => {
        decodeBatch(batch, onEvent, this.decoded);
        onBatchEnd();
      },
    });
    this.held = held;
    this.tracer.start((batch) => held.offer(batch));
  }

  /** Stops the tracer and parses what it still held: nothing captured before close is lost here. */
  close(): void {
    this.finalNative ??= this.tracer.counters();
    this.tracer.close();
    this.held?.releaseAll();
  }

  counters(): CaptureCounters {
    const native: NativeCounters = this.finalNative ?? this.tracer.counters();
    const drops: Record<string, number> = {};
    native.kernelDrops.forEach((n, i) => {
      drops[DROP_REASONS[i] ?? `reason_${i}`] = n;
    });
    drops['reader_queue_full'] = native.recordsDropped;
    const held = this.held?.counters ?? { heldBytes: 0, maxHeldBytes: 0, droppedRecords: 0 };
    const heldDropped = held.droppedRecords;
    drops['held_full'] = heldDropped;
    const [, shedClient = 0, shedServer = 0] = native.exchanges;
    drops['cpu_limit_client'] = shedClient;
    drops['cpu_limit_server'] = shedServer;
    // read_fault and iov_truncated still deliver the record (without all of its payload): not lost rows.
    const dropsTotal =
      (drops['ringbuf_full'] ?? 0) +
      (drops['conn_table_full'] ?? 0) +
      native.recordsDropped +
      heldDropped +
      shedClient +
      shedServer;
    return {
      records: native.records,
      bytes: native.bytes,
      malformed: this.decoded.malformed,
      drops,
      dropsTotal,
      heldBytes: held.heldBytes,
      heldBytesMax: held.maxHeldBytes,
    };
  }

  programs(): ProgramStats[] {
    return this.tracer.programs();
  }

  /**
   * Exchanges the kernel side may still admit (negative: no limit). The rest are shed whole, before any copy,
   * and counted as cpu_limit_client and cpu_limit_server drops.
   */
  setExchangeAllowance(exchanges: number): void {
    this.tracer.setExchangeAllowance(exchanges);
  }

  /** Exchanges the kernel side may still admit under the allowance last set. */
  exchangeTokens(): number {
    return this.tracer.exchangeTokens();
  }

  /** Exchanges admitted, and shed under the CPU limit on either side, so far. */
  exchangeCounts(): ExchangeCounts {
    const exchanges = this.tracer.counters().exchanges;
    return { admitted: exchanges[0] ?? 0, shed: (exchanges[1] ?? 0) + (exchanges[2] ?? 0) };
  }

  /** Copies up to fullCaptureBytes per syscall of this process from now on (or stops); false when full. */
  setFullCapture(tgid: number, on: boolean): boolean {
    return this.tracer.setFullCapture(tgid, on);
  }
}

export { MissingFeatureError };
