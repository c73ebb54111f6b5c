/* One thread, one loopback TCP connection, both ends: N times, the client writes a small HTTP request, the server
 * reads it and writes a small response, the client reads it (4 syscalls that move data per exchange). Prints the
 * wall time per exchange. With a collector running, every one of those syscalls runs its BPF program: the
 * difference is what capture costs a traced process per syscall, without a server's or load generator's noise.
 * Then 10 × N getppid calls, a syscall capture does not follow, for what tracing costs every other syscall.
 * Usage: syscall-pingpong N */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void read_exactly(int fd, char *buf, size_t size, size_t want)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf, size);
		if (n <= 0) {
			perror("read");
			exit(1);
		}
		got += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int exchanges = argc > 1 ? atoi(argv[1]) : 100000;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 1) ||
	    getsockname(listener, (struct sockaddr *)&addr, &len)) {
		perror("listen");
		return 1;
	}
	int client = socket(AF_INET, SOCK_STREAM, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("connect");
		return 1;
	}
	int server = accept(listener, NULL, NULL);
	int one = 1;
	setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	const char *request = "GET /pingpong HTTP/1.1\r\nHost: loopback\r\nUser-Agent: syscall-pingpong\r\n\r\n";
	const char *response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
	size_t request_len = strlen(request), response_len = strlen(response);
	char buf[4096];
	double start = now();
	for (int i = 0; i < exchanges; i++) {
		if (write(client, request, request_len) != (ssize_t)request_len)
			return 1;
		read_exactly(server, buf, sizeof(buf), request_len);
		if (write(server, response, response_len) != (ssize_t)response_len)
			return 1;
		read_exactly(client, buf, sizeof(buf), response_len);
	}
	printf("%.1f ns per exchange\n", (now() - start) / exchanges * 1e9);
	start = now();
	for (int i = 0; i < 10 * exchanges; i++)
		syscall(SYS_getppid);
	printf("%.1f ns per other syscall\n", (now() - start) / (10.0 * exchanges) * 1e9);
	return 0;
}
