/* A 32-bit x86 HTTP client without libc, for the capture tests: usage compat32-client PORT.
 * It sends one real request to 127.0.0.1:PORT, then makes two 32-bit syscalls whose numbers and registers read as
 * 64-bit ones: getpid (20) as writev(fd, iov, 1) of the same request, and brk (45) as recvfrom(fd, response) of a
 * made-up response. A tracer that took 32-bit syscalls for 64-bit ones would record a client-side exchange here.
 * Built at test time: gcc -m32 -nostdlib -static. */
	.data
addr:	.word 2				/* AF_INET */
port:	.word 0				/* network order, from argv[1] */
	.byte 127, 0, 0, 1
	.long 0, 0
request: .ascii "GET /hello?from=compat32 HTTP/1.1\r\nHost: x\r\n\r\n"
request_end:
iov:	.long request, 0, request_end - request, 0	/* a 64-bit struct iovec, as a 64-bit reader would see it */
response: .ascii "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
room:	.fill 20480, 1, 0		/* a misread copies up to the capture size from `response` */
pause:	.long 0, 100000000		/* 100 ms */

	.text
	.globl _start
_start:
	movl 8(%esp), %esi		/* argv[1]: the port in decimal */
	xorl %eax, %eax
digit:	movzbl (%esi), %ecx
	testl %ecx, %ecx
	jz parsed
	imull $10, %eax
	subl $48, %ecx
	addl %ecx, %eax
	incl %esi
	jmp digit
parsed:	xchgb %al, %ah
	movw %ax, port

	movl $room, %eax		/* fault the room's pages in: the tracer's reads do not fault */
	movl $5, %ecx
touch:	movb $0, (%eax)
	addl $4096, %eax
	loop touch

	movl $359, %eax			/* socket(AF_INET, SOCK_STREAM, 0) */
	movl $2, %ebx
	movl $1, %ecx
	xorl %edx, %edx
	int $0x80
	movl %eax, %ebp

	movl $362, %eax			/* connect(fd, &addr, 16) */
	movl %ebp, %ebx
	movl $addr, %ecx
	movl $16, %edx
	int $0x80

	movl $4, %eax			/* write(fd, request, length) */
	movl %ebp, %ebx
	movl $request, %ecx
	movl $(request_end - request), %edx
	int $0x80

	movl $20, %eax			/* getpid(), registers set as x86_64 writev(fd, iov, 1) */
	movl %ebp, %edi
	movl $iov, %esi
	movl $1, %edx
	int $0x80

	movl $45, %eax			/* brk(0), registers set as x86_64 recvfrom(fd, response, ...) */
	xorl %ebx, %ebx
	movl %ebp, %edi
	movl $response, %esi
	int $0x80

	movl $162, %eax			/* nanosleep: the server answers before the close */
	movl $pause, %ebx
	xorl %ecx, %ecx
	int $0x80

	movl $6, %eax			/* close(fd) */
	movl %ebp, %ebx
	int $0x80

	movl $1, %eax			/* exit(0) */
	xorl %ebx, %ebx
	int $0x80
