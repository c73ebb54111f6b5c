/* Syscall numbers and register layout of the architectures the exit dispatcher knows. The tracer sees every syscall
 * at one raw tracepoint and picks the ones it follows by number, so the numbers are per architecture. */
#ifndef LOUPE_SYSCALL_TABLE_H
#define LOUPE_SYSCALL_TABLE_H

#if defined(__TARGET_ARCH_x86)
/* arch/x86/entry/syscalls/syscall_64.tbl */
#define LOUPE_NR_read 0
#define LOUPE_NR_write 1
#define LOUPE_NR_close 3
#define LOUPE_NR_readv 19
#define LOUPE_NR_writev 20
#define LOUPE_NR_sendfile 40
#define LOUPE_NR_connect 42
#define LOUPE_NR_accept 43
#define LOUPE_NR_sendto 44
#define LOUPE_NR_recvfrom 45
#define LOUPE_NR_sendmsg 46
#define LOUPE_NR_recvmsg 47
#define LOUPE_NR_accept4 288
#define LOUPE_NR_recvmmsg 299
#define LOUPE_NR_sendmmsg 307
/* Above every number in the table; x32 syscalls (bit 30 set) land beyond it and are not followed. */
#define LOUPE_SYSCALL_SLOTS 512
#define LOUPE_SYSCALL_NR(regs) BPF_CORE_READ((regs), orig_ax)
/* The argument registers of a syscall, which it leaves as they were at entry; `regs` is a typed pointer. */
#define LOUPE_SYSCALL_ARG1(regs) ((regs)->di)
#define LOUPE_SYSCALL_ARG2(regs) ((regs)->si)
#define LOUPE_SYSCALL_ARG3(regs) ((regs)->dx)
/* thread_info.status bit of a 32-bit syscall in progress (arch/x86/include/asm/thread_info.h). */
#define LOUPE_TS_COMPAT 0x0002
#else
#error "the socket tracer knows the syscall table of x86_64 only"
#endif

#endif
