/* In-kernel protocol inference from the first bytes of a chunk. Plain C with no BPF helpers, so the same code is
 * compiled into a user-space test (bpf/test/protocol_infer_test.c). */
#ifndef LOUPE_PROTOCOL_INFER_H
#define LOUPE_PROTOCOL_INFER_H

#define LOUPE_INFER_BYTES 8

/* BPF cannot call functions that return structs: everything here is inlined into its caller. */
#define LOUPE_INLINE static inline __attribute__((always_inline))

/* What the inference decided: the protocol and whether the chunk is a request (1) or a response (0). */
struct loupe_inference {
	unsigned char protocol; /* enum loupe_protocol */
	unsigned char is_request;
};

LOUPE_INLINE int loupe_prefix_is(const unsigned char *h, const char *word, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (h[i] != (unsigned char)word[i])
			return 0;
	return 1;
}

/* HTTP/1: a request line starts with a method and a space, a status line with "HTTP/1.". */
LOUPE_INLINE struct loupe_inference loupe_infer_http1(const unsigned char *h, unsigned len)
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

LOUPE_INLINE unsigned loupe_be32(const unsigned char *p)
{
	return ((unsigned)p[0] << 24) | ((unsigned)p[1] << 16) | ((unsigned)p[2] << 8) | (unsigned)p[3];
}

LOUPE_INLINE int loupe_printable(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t';
}

#define LOUPE_PG_PROTOCOL_3 0x00030000u
#define LOUPE_PG_SSL_REQUEST 80877103u
#define LOUPE_PG_GSSENC_REQUEST 80877104u
#define LOUPE_SQL_MAX_MESSAGE (1u << 24)

/* PostgreSQL: a startup or SSL/GSS request (length then code, the whole message in one chunk), a simple Query or a
 * Parse from a client, or ReadyForQuery from a server (seen first on connections that predate capture). `size` is
 * the whole chunk, of which `h` holds the first bytes. */
LOUPE_INLINE struct loupe_inference loupe_infer_pgsql(const unsigned char *h, unsigned len, unsigned long size)
{
	struct loupe_inference r = { 0, 0 };
	if (len < LOUPE_INFER_BYTES)
		return r;
	unsigned first = loupe_be32(h);
	unsigned code = loupe_be32(h + 4);
	if (first == size && first >= 8 && first < 10000 &&
	    (code == LOUPE_PG_PROTOCOL_3 || code == LOUPE_PG_SSL_REQUEST || code == LOUPE_PG_GSSENC_REQUEST)) {
		r.protocol = 2;
		r.is_request = 1;
		return r;
	}
	unsigned msg_len = loupe_be32(h + 1);
	if (msg_len < 4 || msg_len > LOUPE_SQL_MAX_MESSAGE || msg_len + 1 > size)
		return r;
	if (h[0] == 'Q' && msg_len > 5 && loupe_printable(h[5]) && loupe_printable(h[6]) && loupe_printable(h[7])) {
		r.protocol = 2;
		r.is_request = 1;
	} else if (h[0] == 'P' && msg_len > 7 && (h[5] == 0 || loupe_printable(h[5]))) {
		r.protocol = 2;
		r.is_request = 1;
	} else if (h[0] == 'Z' && msg_len == 5 && (h[5] == 'I' || h[5] == 'T' || h[5] == 'E')) {
		r.protocol = 2;
	}
	return r;
}

#define LOUPE_MYSQL_COM_QUIT 0x01
#define LOUPE_MYSQL_COM_INIT_DB 0x02
#define LOUPE_MYSQL_COM_QUERY 0x03
#define LOUPE_MYSQL_COM_PING 0x0e
#define LOUPE_MYSQL_COM_STMT_PREPARE 0x16
#define LOUPE_MYSQL_COM_STMT_EXECUTE 0x17

/* MySQL: packets are a 3-byte little-endian length and a sequence id. A server greets first (protocol 10 and a
 * version string); a client command is sequence 0 with a command byte. The packet must fill the chunk exactly, which
 * rules out most look-alikes. */
LOUPE_INLINE struct loupe_inference loupe_infer_mysql(const unsigned char *h, unsigned len, unsigned long size)
{
	struct loupe_inference r = { 0, 0 };
	if (len < LOUPE_INFER_BYTES)
		return r;
	unsigned payload = (unsigned)h[0] | ((unsigned)h[1] << 8) | ((unsigned)h[2] << 16);
	if (h[3] != 0 || payload == 0 || payload + 4 != size)
		return r;
	unsigned char command = h[4];
	if (command == 0x0a && h[5] >= '0' && h[5] <= '9' && h[6] == '.') {
		r.protocol = 3; /* server greeting */
		return r;
	}
	int text_follows = loupe_printable(h[5]) && loupe_printable(h[6]) && loupe_printable(h[7]);
	if (((command == LOUPE_MYSQL_COM_QUERY || command == LOUPE_MYSQL_COM_STMT_PREPARE ||
	      command == LOUPE_MYSQL_COM_INIT_DB) && payload > 3 && text_follows) ||
	    (command == LOUPE_MYSQL_COM_STMT_EXECUTE && payload >= 10) ||
	    ((command == LOUPE_MYSQL_COM_PING || command == LOUPE_MYSQL_COM_QUIT) && payload == 1)) {
		r.protocol = 3;
		r.is_request = 1;
	}
	return r;
}

/* MySQL servers often read a packet in two syscalls: the 4-byte header, then the payload. On a connection that
 * predates capture, the header alone is remembered (its payload length, sequence 0), and the next read is tested as
 * the payload of a command of exactly that length. */
LOUPE_INLINE unsigned loupe_mysql_header_payload(const unsigned char *h)
{
	unsigned payload = (unsigned)h[0] | ((unsigned)h[1] << 8) | ((unsigned)h[2] << 16);
	return h[3] == 0 && payload > 0 && payload < LOUPE_SQL_MAX_MESSAGE ? payload : 0;
}

LOUPE_INLINE struct loupe_inference loupe_infer_mysql_payload(const unsigned char *h, unsigned len,
								unsigned long size)
{
	struct loupe_inference r = { 0, 0 };
	if (len == 0)
		return r;
	unsigned char command = h[0];
	int text_follows = len >= 4 && loupe_printable(h[1]) && loupe_printable(h[2]) && loupe_printable(h[3]);
	if (((command == LOUPE_MYSQL_COM_QUERY || command == LOUPE_MYSQL_COM_STMT_PREPARE ||
	      command == LOUPE_MYSQL_COM_INIT_DB) && size > 3 && text_follows) ||
	    (command == LOUPE_MYSQL_COM_STMT_EXECUTE && size >= 10) ||
	    ((command == LOUPE_MYSQL_COM_PING || command == LOUPE_MYSQL_COM_QUIT) && size == 1)) {
		r.protocol = 3;
		r.is_request = 1;
	}
	return r;
}

/* Every protocol's inference, tried in turn; `size` is the whole chunk, `h` its first `len` bytes. */
LOUPE_INLINE struct loupe_inference loupe_infer(const unsigned char *h, unsigned len, unsigned long size)
{
	struct loupe_inference r = loupe_infer_http1(h, len);
	if (r.protocol == 0)
		r = loupe_infer_pgsql(h, len, size);
	if (r.protocol == 0)
		r = loupe_infer_mysql(h, len, size);
	return r;
}

#endif
