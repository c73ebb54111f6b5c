/* In-kernel protocol inference from the first bytes of a chunk. Plain C with no BPF helpers, so the same code is
 * compiled into a user-space test (bpf/test/protocol_infer_test.c). */
#ifndef LOUPE_PROTOCOL_INFER_H
#define LOUPE_PROTOCOL_INFER_H

#define LOUPE_INFER_BYTES 8

/* What the inference decided: the protocol and whether the chunk is a request (1) or a response (0). */
struct loupe_inference {
	unsigned char protocol; /* enum loupe_protocol */
	unsigned char is_request;
};

static inline int loupe_prefix_is(const unsigned char *h, const char *word, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (h[i] != (unsigned char)word[i])
			return 0;
	return 1;
}

/* HTTP/1: a request line starts with a method and a space, a status line with "HTTP/1.". */
static inline struct loupe_inference loupe_infer_http1(const unsigned char *h, unsigned len)
{
	struct loupe_inference r = { 0, 0 };
	if (len < LOUPE_INFER_BYTES)
		return r;
	if (loupe_prefix_is(h, "HTTP/1.", 7)) {
		r.protocol = 1;
		return r;
	}
	if (loupe_prefix_is(h, "GET ", 4) || loupe_prefix_is(h, "POST ", 5) || loupe_prefix_is(h, "PUT ", 4) ||
	    loupe_prefix_is(h, "HEAD ", 5) || loupe_prefix_is(h, "DELETE ", 7) || loupe_prefix_is(h, "PATCH ", 6) ||
	    loupe_prefix_is(h, "OPTIONS ", 8) || loupe_prefix_is(h, "TRACE ", 6) || loupe_prefix_is(h, "CONNECT ", 8)) {
		r.protocol = 1;
		r.is_request = 1;
	}
	return r;
}

/* The hook every protocol plugs into: the SQL protocols add their own loupe_infer_* and are tried here in turn. */
static inline struct loupe_inference loupe_infer(const unsigned char *h, unsigned len)
{
	return loupe_infer_http1(h, len);
}

#endif
