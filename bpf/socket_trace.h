/* Wire structs shared by socket_trace.bpf.c (producer) and the native addon (consumer).
 * Fixed-width fields only, explicit padding, sizes asserted: the TypeScript decoder mirrors these layouts and a test
 * compares its offsets with the ones the addon exports, so a change here cannot decode silently wrong. */
#ifndef LOUPE_SOCKET_TRACE_H
#define LOUPE_SOCKET_TRACE_H

#ifdef __cplusplus
#define LOUPE_STATIC_ASSERT static_assert
#else
#define LOUPE_STATIC_ASSERT _Static_assert
#endif

/* Hard ceiling of bytes copied from one syscall (or one iovec segment). The configured cap may be lower. It is also
 * the size of the per-CPU scratch buffer, which per-CPU maps limit to 32 KiB. */
#define LOUPE_MAX_CAPTURE 16384

enum loupe_event_kind { LOUPE_EV_OPEN = 1, LOUPE_EV_DATA = 2, LOUPE_EV_CLOSE = 3 };
enum loupe_direction { LOUPE_DIR_EGRESS = 0, LOUPE_DIR_INGRESS = 1 };
enum loupe_role { LOUPE_ROLE_UNKNOWN = 0, LOUPE_ROLE_CLIENT = 1, LOUPE_ROLE_SERVER = 2 };
enum loupe_protocol { LOUPE_PROTO_UNKNOWN = 0, LOUPE_PROTO_HTTP1 = 1, LOUPE_PROTO_PGSQL = 2, LOUPE_PROTO_MYSQL = 3 };

/* Index into the per-CPU drop counters: every record the kernel side could not deliver is counted under a reason. */
enum loupe_drop_reason {
	LOUPE_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_output failed: user space is behind */
	LOUPE_DROP_CONN_FULL = 1,    /* connection table full */
	LOUPE_DROP_READ_FAULT = 2,   /* user memory could not be read: record sent without payload */
	LOUPE_DROP_IOV_TRUNCATED = 3, /* more iovec segments than we walk: the rest is sent as a gap */
	LOUPE_DROP__COUNT = 4,
};

/* Index into the per-CPU exchange counters. An exchange is a run of request-direction chunks and the answer that
 * follows; under a CPU limit each one is admitted or left out whole (shed). */
enum loupe_exchange_counter {
	LOUPE_EXCH_ADMITTED = 0,     /* exchanges begun on connections of a known protocol and role */
	LOUPE_EXCH_SHED_CLIENT = 1,  /* exchanges left out, on the client's side of a connection */
	LOUPE_EXCH_SHED_SERVER = 2,  /* and on the server's side */
	LOUPE_EXCH__COUNT = 3,
};

/* Every record starts with this header. */
struct loupe_event_header {
	__u64 ts_ns;      /* CLOCK_MONOTONIC */
	__u64 generation; /* distinguishes successive connections on the same (tgid, fd) */
	__u32 tgid;
	__s32 fd;
	__u8 kind;     /* enum loupe_event_kind */
	__u8 role;     /* enum loupe_role */
	__u8 protocol; /* enum loupe_protocol */
	__u8 direction; /* enum loupe_direction (data records) */
	__u32 flags;    /* enum loupe_record_flags */
};

enum loupe_record_flags {
	/* A data record without payload for a range the kernel left out whole under the collector's CPU limit: it
	 * begins where an exchange (a request and its answer) began and ends where the next admitted one begins. */
	LOUPE_FLAG_SHED = 1,
};

struct loupe_data_event {
	struct loupe_event_header hdr;
	__u64 pos;      /* stream offset of the chunk's first byte in its direction */
	__u32 size;     /* bytes the syscall moved */
	__u32 captured; /* bytes of payload right after this struct (a prefix of the chunk) */
};

struct loupe_open_event {
	struct loupe_event_header hdr;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 local_port;
	__u16 remote_port;
	__u8 preexisting; /* first seen mid-connection, not at connect/accept */
	__u8 _pad;
	__u32 netns;
	__u8 local_addr[16]; /* network order; the first 4 bytes for AF_INET */
	__u8 remote_addr[16];
	__u32 _pad2;
	char comm[16]; /* the process's name when the connection was seen: short-lived clients are gone by the time
			  * user space could read /proc */
};

struct loupe_close_event {
	struct loupe_event_header hdr;
	__u64 bytes_sent;
	__u64 bytes_recv;
};

LOUPE_STATIC_ASSERT(sizeof(struct loupe_event_header) == 32, "loupe_event_header layout");
LOUPE_STATIC_ASSERT(sizeof(struct loupe_data_event) == 48, "loupe_data_event layout");
LOUPE_STATIC_ASSERT(sizeof(struct loupe_open_event) == 96, "loupe_open_event layout");
LOUPE_STATIC_ASSERT(sizeof(struct loupe_close_event) == 48, "loupe_close_event layout");

#endif
