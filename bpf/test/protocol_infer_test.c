/* User-space test of the in-kernel protocol inference (protocol_infer.h), run by
 * node-collector/test/protocol-infer.test.ts. Prints one line per failed case and exits non-zero if any failed. */
#include <stdio.h>
#include <string.h>

#include "../protocol_infer.h"

static int failures;

static void expect(const char *bytes, unsigned char protocol, unsigned char is_request)
{
	unsigned char head[LOUPE_INFER_BYTES] = { 0 };
	unsigned len = strlen(bytes) < sizeof(head) ? strlen(bytes) : sizeof(head);
	memcpy(head, bytes, len);
	struct loupe_inference r = loupe_infer(head, len);
	if (r.protocol != protocol || r.is_request != is_request) {
		printf("FAIL %-12s: got protocol %d request %d, want %d %d\n", bytes, r.protocol, r.is_request,
		       protocol, is_request);
		failures++;
	}
}

int main(void)
{
	const char *methods[] = { "GET /", "POST /x", "PUT /x", "HEAD /", "DELETE /x", "PATCH /x", "OPTIONS *",
				  "TRACE /", "CONNECT h:1" };
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s HTTP/1.1\r\n", methods[i]);
		expect(line, 1, 1);
	}
	expect("HTTP/1.1 200 OK\r\n", 1, 0);
	expect("HTTP/1.0 404 Not", 1, 0);
	/* Not HTTP/1: HTTP/2 preface, lower-case methods, a method without its space, short chunks, binary. */
	expect("PRI * HTTP/2.0\r\n", 0, 0);
	expect("get / HTTP/1.1\r\n", 0, 0);
	expect("GETX / HTTP/1.1", 0, 0);
	expect("GET /", 0, 0);
	expect("HTTP/2 200", 0, 0);
	expect("\x16\x03\x01\x02\x00\x01\x00\x01", 0, 0);
	if (failures == 0)
		printf("ok\n");
	return failures != 0;
}
