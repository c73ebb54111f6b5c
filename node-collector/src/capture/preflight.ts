/**
 * Checks, before loading anything, that this process and kernel can capture; each failure names what is missing
 * so that the CLI can say it and exit 2 instead of surfacing a libbpf errno.
 */
import fs from 'node:fs';
import os from 'node:os';

export class MissingFeatureError extends Error {
  constructor(
    readonly feature: string,
    message: string,
  ) {
    super(message);
    this.name = 'MissingFeatureError';
  }
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function effectiveCapabilities(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match?.[1] ? BigInt(`0x${match[1]}`) : 0n;
}

function hasCapability(caps: bigint, cap: bigint): boolean {
  return ((caps >> cap) & 1n) === 1n;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [maj = 0, min = 0] = os.release().split(/[.-]/).map(Number);
  return maj > major || (maj === major && min >= minor);
}

export function checkCaptureFeatures(): void {
  if (os.platform() !== 'linux') throw new MissingFeatureError('linux', 'capture needs Linux');
  const caps = effectiveCapabilities();
  const privileged =
    hasCapability(caps, CAP_SYS_ADMIN) || (hasCapability(caps, CAP_BPF) && hasCapability(caps, CAP_PERFMON));
  if (!privileged) {
    throw new MissingFeatureError(
      'privileges',
      'capture needs root (or CAP_BPF and CAP_PERFMON): run as root, or give the process those capabilities',
    );
  }
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) {
    throw new MissingFeatureError(
      'btf',
      'the kernel exposes no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF): CO-RE socket lookup needs it',
    );
  }
  // 5.8 brought BPF ring buffers, 5.15 the helper that hands a syscall's saved registers to its exit program.
  if (!kernelAtLeast(5, 15)) {
    throw new MissingFeatureError(
      'kernel-version',
      `kernel ${os.release()} is too old: capture needs 5.15 or later (BPF ring buffers, bpf_task_pt_regs)`,
    );
  }
}

/** Run after tracefs is mounted (the addon mounts it): syscall tracepoints are a kernel build option. */
export function checkSyscallTracepoints(): void {
  const dir = '/sys/kernel/tracing/events/syscalls/sys_exit_read';
  if (fs.existsSync('/sys/kernel/tracing/events') && !fs.existsSync(dir)) {
    throw new MissingFeatureError(
      'syscall-tracepoints',
      'the kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS): capture is built on them',
    );
  }
}
