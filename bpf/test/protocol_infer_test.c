/* User-space test of the in-kernel protocol inference (protocol_infer.h), run by
 * node-collector/test/protocol-infer.test.ts. Prints one line per failed case and exits non-zero if any failed. */
#include <stdio.h>
#include <string.h>

#include "../protocol_infer.h"

static int failures;

/* `bytes` holds the chunk's first `n` bytes; `size` is the whole chunk. */
static void expect_bytes(const char *name, const void *bytes, unsigned n, unsigned long size,
			 unsigned char protocol, unsigned char is_request)
{
	unsigned char head[LOUPE_INFER_BYTES] = { 0 };
	unsigned len = n < sizeof(head) ? n : sizeof(head);
	memcpy(head, bytes, len);
	struct loupe_inference r = loupe_infer(head, len, size);
	if (r.protocol != protocol || r.is_request != is_request) {
		printf("FAIL %s: got protocol %d request %d, want %d %d\n", name, r.protocol, r.is_request, protocol,
		       is_request);
		failures++;
	}
}

static void expect_text(const char *text, unsigned char protocol, unsigned char is_request)
{
	expect_bytes(text, text, strlen(text), strlen(text), protocol, is_request);
}

int main(void)
{
	const char *methods[] = { "GET /", "POST /x", "PUT /x", "HEAD /", "DELETE /x", "PATCH /x", "OPTIONS *",
				  "TRACE /", "CONNECT h:1" };
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s HTTP/1.1\r\n", methods[i]);
		expect_text(line, 1, 1);
	}
	expect_text("HTTP/1.1 200 OK\r\n", 1, 0);
	expect_text("HTTP/1.0 404 Not", 1, 0);
	/* Not HTTP/1: HTTP/2 preface, lower-case methods, a method without its space, short chunks, TLS. */
	expect_text("PRI * HTTP/2.0\r\n", 0, 0);
	expect_text("get / HTTP/1.1\r\n", 0, 0);
	expect_text("GETX / HTTP/1.1", 0, 0);
	expect_text("GET /", 0, 0);
	expect_text("HTTP/2 200", 0, 0);
	const unsigned char tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01 };
	expect_bytes("TLS ClientHello", tls, sizeof(tls), 517, 0, 0);

	/* PostgreSQL */
	const unsigned char startup[] = { 0, 0, 0, 41, 0, 3, 0, 0, 'u', 's', 'e', 'r' };
	expect_bytes("pg startup", startup, sizeof(startup), 41, 2, 1);
	expect_bytes("pg startup, length not the chunk", startup, sizeof(startup), 40, 0, 0);
	const unsigned char ssl[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	expect_bytes("pg SSLRequest", ssl, sizeof(ssl), 8, 2, 1);
	const unsigned char query[] = { 'Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0 };
	expect_bytes("pg Query", query, sizeof(query), sizeof(query), 2, 1);
	expect_bytes("pg Query longer than the chunk", query, sizeof(query), 9, 0, 0);
	const unsigned char parse[] = { 'P', 0, 0, 0, 20, 0, 'S', 'E' };
	expect_bytes("pg Parse batch", parse, sizeof(parse), 60, 2, 1);
	const unsigned char ready[] = { 'Z', 0, 0, 0, 5, 'I', 'C', 0 };
	expect_bytes("pg ReadyForQuery", ready, sizeof(ready), 6 + 20, 2, 0);
	const unsigned char ready_bad[] = { 'Z', 0, 0, 0, 5, 'x', 0, 0 };
	expect_bytes("pg ReadyForQuery, bad status", ready_bad, sizeof(ready_bad), 6, 0, 0);

	/* MySQL */
	const unsigned char greeting[] = { 78, 0, 0, 0, 0x0a, '5', '.', '5' };
	expect_bytes("mysql greeting", greeting, sizeof(greeting), 82, 3, 0);
	const unsigned char com_query[] = { 9, 0, 0, 0, 0x03, 'S', 'E', 'L' };
	expect_bytes("mysql COM_QUERY", com_query, sizeof(com_query), 13, 3, 1);
	expect_bytes("mysql COM_QUERY, length not the chunk", com_query, sizeof(com_query), 14, 0, 0);
	const unsigned char seq1[] = { 9, 0, 0, 1, 0x03, 'S', 'E', 'L' };
	expect_bytes("mysql COM_QUERY with sequence 1", seq1, sizeof(seq1), 13, 0, 0);
	const unsigned char ping[] = { 1, 0, 0, 0, 0x0e, 0, 0, 0 };
	expect_bytes("mysql COM_PING", ping, sizeof(ping), 5, 3, 1);
	const unsigned char execute[] = { 12, 0, 0, 0, 0x17, 1, 0, 0 };
	expect_bytes("mysql COM_STMT_EXECUTE", execute, sizeof(execute), 16, 3, 1);

	if (failures == 0)
		printf("ok\n");
	return failures != 0;
}
