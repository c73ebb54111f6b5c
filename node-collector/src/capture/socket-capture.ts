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
  // The reader thread empties the ring every 20 ms whatever JavaScript is doing (the queue towards JavaScript
  // and the held batches absorb its pauses), so 4 MiB, about a quarter second of records at 20k requests/s
  // captured on both ends, is ample. The kernel maps the ring twice: it counts double in RSS.
  ringBytes: 4 * 1024 * 1024,
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
  /** Records the kernel or the reader could not deliver, by reason. */
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
  private discardQueued = false;
  /** Data records already queued for JavaScript when the CPU limit was passed, discarded here unparsed. */
  private shedQueued = 0;
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
      pollMs: 20,
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
    const shedData = (event: CaptureEvent) => {
      if (event.kind === 'data') this.shedQueued += 1;
      else onEvent(event);
    };
    const held = new HeldBatches({
      maxBytes: this.heldBytes,
      isBusy,
      deliver: (batch) => {
        decodeBatch(batch, this.discardQueued ? shedData : onEvent, this.decoded);
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
    const shed = native.recordsShed + this.shedQueued;
    drops['cpu_limit'] = shed;
    // read_fault and iov_truncated still deliver the record (without all of its payload): not lost rows.
    const dropsTotal =
      (drops['ringbuf_full'] ?? 0) +
      (drops['conn_table_full'] ?? 0) +
      native.recordsDropped +
      heldDropped +
      shed;
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

  /** Data records the reader may still hand on (negative: no limit); the rest are counted as cpu_limit drops. */
  setDataAllowance(records: number): void {
    this.tracer.setDataAllowance(records);
  }

  /** While on, data records already queued for JavaScript are discarded unparsed (cpu_limit drops too). */
  setDiscardQueued(on: boolean): void {
    this.discardQueued = on;
  }

  /** Data records the reader has handed on so far. */
  dataRecordsPassed(): number {
    return this.tracer.counters().dataPassed;
  }

  /** Copies up to fullCaptureBytes per syscall of this process from now on (or stops); false when full. */
  setFullCapture(tgid: number, on: boolean): boolean {
    return this.tracer.setFullCapture(tgid, on);
  }
}

export { MissingFeatureError };
