// SPDX-License-Identifier: GPL-2.0
/* Socket tracer on syscall tracepoints (no kprobes): follows TCP connections per (process, fd), infers their
 * protocol from the first bytes, and streams the payload of known-protocol connections to user space through a ring
 * buffer as variable-length records that carry their stream position. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "socket_trace.h"
#include "protocol_infer.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115
#define IOV_SEGMENTS 16 /* iovec segments walked per syscall; the rest becomes a counted gap */
#define MMSG_MESSAGES 8 /* messages walked per sendmmsg/recvmmsg */
#define MMSG_SEGMENTS 4
#define INFER_ATTEMPTS 16 /* chunks a connection may show before we give up inferring its protocol */
#define SQL_SETUP_EXCHANGES 4 /* first exchanges of a SQL connection (startup, authentication), never shed */

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;
const volatile __u32 target_netns = 0; /* 0: every network namespace */
const volatile __u32 capture_bytes = 4096;
const volatile __u64 wakeup_bytes = 256 * 1024; /* wake the reader once a CPU has written this much since */
/* Bytes copied per syscall for processes in full_capture (in LOUPE_MAX_CAPTURE chunks); 0 turns the map off. */
const volatile __u32 full_capture_bytes = 0;

/* Set by user space through the mapped .bss while capture runs: under the collector's CPU limit, every exchange
 * that begins takes a token of `admission` or is shed whole (see shed_chunk). */
volatile __u32 admit_limited = 0;

char LICENSE[] SEC("license") = "GPL";

/* Records for user space; the size is set by user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

enum conn_flags {
	CONN_IGNORED = 1,
	CONN_SEEN_DATA = 2,    /* a data chunk was seen: CONN_LAST_INGRESS says which way it went */
	CONN_LAST_INGRESS = 4,
	CONN_SHEDDING = 8,     /* the exchange under way is shed */
	CONN_HEADER_HELD = 16, /* a MySQL exchange began with a lone packet header, held in split_header */
};

struct conn_state {
	__u64 generation;
	__u64 sent; /* egress stream position */
	__u64 recv; /* ingress stream position */
	__u8 role;
	__u8 protocol;
	__u8 infer_attempts;
	__u8 flags;
	/* A lone MySQL packet header read before the protocol was known: see loupe_mysql_header_payload. */
	__u8 split_header[4];
	__u32 split_payload;
	__u64 split_pos;
	__u8 exchanges; /* exchanges admitted, counted up to SQL_SETUP_EXCHANGES */
	__u8 _pad[7];
	/* By direction: the range shed since the last admitted exchange, reported when the next one is admitted. */
	__u64 shed_pos[2];
	__u64 shed_len[2];
};

/* key: tgid << 32 | fd; value: the connection's state. LRU so that connections whose close we never saw (process
 * exit, close_range) age out instead of filling the table; max_entries is set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn_state);
} conns SEC(".maps");

enum syscall_op {
	OP_BUF = 1,  /* read/write/recvfrom/sendto: ptr is the buffer */
	OP_IOV,      /* readv/writev: ptr is the iovec array, extra its length */
	OP_MSG,      /* recvmsg/sendmsg: ptr is the user_msghdr */
	OP_MMSG,     /* recvmmsg/sendmmsg: ptr is the mmsghdr array */
	OP_SENDFILE, /* byte count only */
	OP_CONNECT,
	OP_ACCEPT,
	OP_FD_CLOSE,
};

/* A finished syscall's arguments, as its exit program read them back from the saved user registers. */
struct syscall_args {
	__u64 ptr;
	__u64 extra;
	__s32 fd;
	__u8 direction;
};

struct scratch_buf {
	__u64 unannounced; /* bytes this CPU wrote to the ring since it last woke the reader; not sent */
	struct loupe_data_event ev; /* the record: ev and the payload in data right after it */
	__u8 data[LOUPE_MAX_CAPTURE];
};

/* key: 0; value: per-CPU room to assemble one data record (too large for the 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

/* key: tgid; value: unused (1). Processes whose payloads are copied up to full_capture_bytes per syscall instead of
 * capture_bytes, so that the services a user chose keep whole bodies. User space keeps it in step with the
 * processes of those services; max_entries is set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} full_capture SEC(".maps");

/* key: 0; value: exchanges that may still be admitted while admit_limited is set, one count for every CPU. User
 * space adds to it every window of its CPU limit (cpu-limit.ts). Shares per CPU would strand the tokens of CPUs
 * that a busy single-threaded server does not run on, while its own CPU sheds; one atomic decrement per admitted
 * exchange costs less than that, and only under the limit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} admission SEC(".maps");

/* key: enum loupe_exchange_counter; value: per-CPU count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOUPE_EXCH__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} exchanges SEC(".maps");

/* key: enum loupe_drop_reason; value: per-CPU count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOUPE_DROP__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);
	if (n)
		*n += 1;
}

/* Whether writing `bytes` more should wake the reader (which also drains on its own every poll interval). Counted
 * per CPU in the scratch buffer: asking the ring how much is pending reads positions the reader keeps writing, a
 * cache line that bounces between CPUs and cost about a quarter of the programs' time. */
static __always_inline __u64 wakeup_flag(struct scratch_buf *b, __u64 bytes)
{
	b->unannounced += bytes;
	if (b->unannounced < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	b->unannounced = 0;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline __u64 conn_key(__u32 tgid, __s32 fd)
{
	return ((__u64)tgid << 32) | (__u32)fd;
}

static __always_inline void fill_header(struct loupe_event_header *h, __u8 kind, __u32 tgid, __s32 fd,
					const struct conn_state *st)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->generation = st->generation;
	h->tgid = tgid;
	h->fd = fd;
	h->kind = kind;
	h->role = st->role;
	h->protocol = st->protocol;
	h->direction = 0;
	h->flags = 0;
}

/* The socket behind a descriptor of the current task, or NULL when it is not a TCP socket. */
static __always_inline struct sock *tcp_sock_of_fd(__s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	if (bpf_core_read(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* Starts tracking a connection: sends its addresses and returns its state, or NULL when it is not ours to follow
 * (not TCP, or in another network namespace, in which case an ignored entry saves repeating this walk). */
static __always_inline struct conn_state *open_conn(__u32 tgid, __s32 fd, __u8 role, __u8 preexisting)
{
	struct sock *sk = tcp_sock_of_fd(fd);
	if (!sk)
		return NULL;
	__u64 key = conn_key(tgid, fd);
	struct conn_state st = {};
	st.generation = bpf_ktime_get_ns();
	st.role = role;
	__u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (target_netns && netns != target_netns)
		st.flags = CONN_IGNORED;
	if (bpf_map_update_elem(&conns, &key, &st, BPF_ANY)) {
		count_drop(LOUPE_DROP_CONN_FULL);
		return NULL;
	}
	struct conn_state *stored = bpf_map_lookup_elem(&conns, &key);
	if (!stored || (stored->flags & CONN_IGNORED))
		return NULL;

	struct loupe_open_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_drop(LOUPE_DROP_RINGBUF_FULL);
		return stored;
	}
	fill_header(&ev->hdr, LOUPE_EV_OPEN, tgid, fd, stored);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ev->family = family;
	ev->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	ev->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ev->preexisting = preexisting;
	ev->_pad = 0;
	ev->netns = netns;
	ev->_pad2 = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	__builtin_memset(ev->local_addr, 0, sizeof(ev->local_addr));
	__builtin_memset(ev->remote_addr, 0, sizeof(ev->remote_addr));
	if (family == AF_INET) {
		bpf_core_read(ev->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(ev->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(ev->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(ev->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP); /* small and rare: the next poll takes it */
	return stored;
}

static __always_inline struct conn_state *lookup_or_open(__u32 tgid, __s32 fd)
{
	__u64 key = conn_key(tgid, fd);
	struct conn_state *st = bpf_map_lookup_elem(&conns, &key);
	if (st)
		return (st->flags & CONN_IGNORED) ? NULL : st;
	return open_conn(tgid, fd, LOUPE_ROLE_UNKNOWN, 1);
}

/* One piece of a long chunk, for bpf_loop: the callback is verified once, whatever the number of pieces. */
struct piece_ctx {
	struct loupe_event_header hdr;
	const void *ubuf;
	__u64 pos;
	__u64 size; /* bytes to send as pieces */
	__u64 done;
};

static long emit_piece(__u32 index, void *data)
{
	struct piece_ctx *c = data;
	if (c->done >= c->size)
		return 1;
	__u32 zero = 0;
	struct scratch_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return 1;
	__u64 left = c->size - c->done;
	__u32 n = left < LOUPE_MAX_CAPTURE ? left : LOUPE_MAX_CAPTURE;
	b->ev.hdr = c->hdr;
	b->ev.pos = c->pos + c->done;
	b->ev.size = n;
	if (bpf_probe_read_user(b->data, n, c->ubuf + c->done)) {
		count_drop(LOUPE_DROP_READ_FAULT);
		b->ev.captured = 0;
		n = 0;
	} else {
		b->ev.captured = n;
	}
	if (bpf_ringbuf_output(&events, &b->ev, sizeof(b->ev) + n, wakeup_flag(b, sizeof(b->ev) + n)))
		count_drop(LOUPE_DROP_RINGBUF_FULL);
	c->done += b->ev.size;
	return 0;
}

/* A record of `size` bytes at `pos` whose payload was not copied. */
static __always_inline void emit_gap(const struct loupe_event_header *hdr, __u64 pos, __u64 size)
{
	__u32 zero = 0;
	struct scratch_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return;
	b->ev.hdr = *hdr;
	b->ev.pos = pos;
	b->ev.size = size;
	b->ev.captured = 0;
	if (bpf_ringbuf_output(&events, &b->ev, sizeof(b->ev), wakeup_flag(b, sizeof(b->ev))))
		count_drop(LOUPE_DROP_RINGBUF_FULL);
}

/* Up to full_capture_bytes of a buffer as pieces of LOUPE_MAX_CAPTURE, each a record at its own position; the
 * rest of `size` as a gap. */
static __always_inline void emit_pieces(const struct loupe_event_header *hdr, __u64 pos, const void *ubuf,
					__u64 size)
{
	struct piece_ctx c = {};
	c.hdr = *hdr;
	c.ubuf = ubuf;
	c.pos = pos;
	c.size = size < full_capture_bytes ? size : full_capture_bytes;
	bpf_loop((c.size + LOUPE_MAX_CAPTURE - 1) / LOUPE_MAX_CAPTURE, emit_piece, &c, 0);
	if (c.done < size)
		emit_gap(hdr, pos + c.done, size - c.done);
}

static __always_inline int full_capture_of(__u32 tgid)
{
	return full_capture_bytes && bpf_map_lookup_elem(&full_capture, &tgid);
}

/* The segments of an iovec array of a process in full_capture, for bpf_loop. */
struct segments_ctx {
	struct loupe_event_header hdr;
	const struct iovec *iov;
	__u64 iovcnt;
	__u64 pos;
	__u64 bytes;
	__u64 done;
};

static long emit_segment(__u32 index, void *data)
{
	struct segments_ctx *c = data;
	if (index >= c->iovcnt || c->done >= c->bytes)
		return 1;
	struct iovec seg = {};
	if (bpf_probe_read_user(&seg, sizeof(seg), &c->iov[index]))
		return 1;
	__u64 len = seg.iov_len < c->bytes - c->done ? seg.iov_len : c->bytes - c->done;
	emit_pieces(&c->hdr, c->pos + c->done, seg.iov_base, len);
	c->done += len;
	return 0;
}

/* Sends the record assembled in the scratch buffer: `captured` bytes of payload, then the rest of `size` as a gap. */
static __always_inline void send_assembled(struct scratch_buf *b, __u64 captured, __u64 size)
{
	/* Never more in fact; the verifier cannot tell once a merged segment has been added (emit_iov). */
	barrier_var(captured);
	if (captured > LOUPE_MAX_CAPTURE)
		captured = LOUPE_MAX_CAPTURE;
	b->ev.size = size;
	b->ev.captured = captured;
	if (bpf_ringbuf_output(&events, &b->ev, sizeof(b->ev) + captured, wakeup_flag(b, sizeof(b->ev) + captured)))
		count_drop(LOUPE_DROP_RINGBUF_FULL);
}

/* Starts a record in the scratch buffer for a chunk at `pos`: its header and a prefix of up to capture_bytes of
 * payload (none when `ubuf` is NULL). Returns the payload bytes copied. */
static __always_inline __u64 start_record(struct scratch_buf *b, __u32 tgid, __s32 fd, const struct conn_state *st,
					  __u8 direction, __u64 pos, const void *ubuf, __u64 size)
{
	fill_header(&b->ev.hdr, LOUPE_EV_DATA, tgid, fd, st);
	b->ev.hdr.direction = direction;
	b->ev.pos = pos;
	__u64 n = size < capture_bytes ? size : capture_bytes;
	if (n > LOUPE_MAX_CAPTURE)
		n = LOUPE_MAX_CAPTURE;
	if (!ubuf)
		n = 0;
	if (n && bpf_probe_read_user(b->data, n, ubuf)) {
		count_drop(LOUPE_DROP_READ_FAULT);
		n = 0;
	}
	return n;
}

/* Sends one chunk: a prefix of up to capture_bytes of payload, the rest of its size as a gap. */
static __always_inline void emit_data(__u32 tgid, __s32 fd, const struct conn_state *st, __u8 direction, __u64 pos,
				      const void *ubuf, __u64 size)
{
	__u32 zero = 0;
	struct scratch_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return;
	send_assembled(b, start_record(b, tgid, fd, st, direction, pos, ubuf, size), size);
}

/* Sends the 4 header bytes remembered in the connection state as a record of their own, at their position. */
static __always_inline void emit_split_header(__u32 tgid, __s32 fd, const struct conn_state *st, __u8 direction)
{
	__u32 zero = 0;
	struct scratch_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return;
	fill_header(&b->ev.hdr, LOUPE_EV_DATA, tgid, fd, st);
	b->ev.hdr.direction = direction;
	b->ev.pos = st->split_pos;
	b->ev.size = sizeof(st->split_header);
	b->ev.captured = sizeof(st->split_header);
	__builtin_memcpy(b->data, st->split_header, sizeof(st->split_header));
	if (bpf_ringbuf_output(&events, &b->ev, sizeof(b->ev) + sizeof(st->split_header),
			       wakeup_flag(b, sizeof(b->ev) + sizeof(st->split_header))))
		count_drop(LOUPE_DROP_RINGBUF_FULL);
}

/* Infers the protocol on the connection's first chunks; once known, the role follows from which way requests go. */
/* `split` (a constant) enables the two-read MySQL header case: only plain reads need it, and leaving it out of the
 * iovec and mmsg loops keeps their verification within bounds. */
static __always_inline void infer(struct conn_state *st, __u32 tgid, __s32 fd, __u8 direction, const void *ubuf,
				  __u64 size, __u64 pos, const int split)
{
	if (st->protocol != LOUPE_PROTO_UNKNOWN || st->infer_attempts >= INFER_ATTEMPTS || !ubuf || !size)
		return;
	st->infer_attempts++;
	unsigned char head[LOUPE_INFER_BYTES] = {};
	__u32 n = size < LOUPE_INFER_BYTES ? size : LOUPE_INFER_BYTES;
	if (bpf_probe_read_user(head, n, ubuf))
		return;
	struct loupe_inference r = loupe_infer(head, n, size);
	__u32 split_payload = st->split_payload;
	st->split_payload = 0;
	if (split && r.protocol == LOUPE_PROTO_UNKNOWN && split_payload == size && st->split_pos + 4 == pos) {
		r = loupe_infer_mysql_payload(head, n, size);
		if (r.protocol != LOUPE_PROTO_UNKNOWN) {
			st->protocol = r.protocol;
			if (st->role == LOUPE_ROLE_UNKNOWN)
				st->role = (direction == LOUPE_DIR_INGRESS) ? LOUPE_ROLE_SERVER : LOUPE_ROLE_CLIENT;
			emit_split_header(tgid, fd, st, direction);
			return;
		}
	}
	if (split && r.protocol == LOUPE_PROTO_UNKNOWN && size == 4) {
		st->split_payload = loupe_mysql_header_payload(head);
		__builtin_memcpy(st->split_header, head, sizeof(st->split_header));
		st->split_pos = pos;
	}
	if (r.protocol == LOUPE_PROTO_UNKNOWN)
		return;
	st->protocol = r.protocol;
	if (st->role == LOUPE_ROLE_UNKNOWN)
		st->role = (r.is_request == (direction == LOUPE_DIR_INGRESS)) ? LOUPE_ROLE_SERVER : LOUPE_ROLE_CLIENT;
}

static __always_inline void count_exchange(__u32 counter)
{
	__u64 *v = bpf_map_lookup_elem(&exchanges, &counter);
	if (v)
		*v += 1;
}

/* Whether an exchange that begins with these bytes sets up state that later exchanges are stored with, and so is
 * never shed: a named prepared statement (PostgreSQL's Parse with a name, MySQL's COM_STMT_PREPARE), whose text
 * the records of its executions carry. Bytes that cannot be read are kept too. */
static __always_inline int sets_up_session(const struct conn_state *st, const void *ptr, __u64 size,
					   const int indirect, const int after_header)
{
	if (st->protocol != LOUPE_PROTO_PGSQL && st->protocol != LOUPE_PROTO_MYSQL)
		return 0;
	const void *head = ptr;
	if (indirect) {
		struct iovec first = {};
		if (!ptr || bpf_probe_read_user(&first, sizeof(first), ptr))
			return 1;
		head = first.iov_base;
		if (first.iov_len < size)
			size = first.iov_len;
	}
	unsigned char b[6] = {};
	if (after_header) {
		/* The payload after a held MySQL packet header: the command is its first byte. */
		if (!head || !size || bpf_probe_read_user(b, 1, head))
			return 1;
		return b[0] == 0x16;
	}
	if (!head || size < sizeof(b) || bpf_probe_read_user(b, sizeof(b), head))
		return 1;
	if (st->protocol == LOUPE_PROTO_PGSQL)
		return b[0] == 'P' && b[5] != 0; /* tag, length, then the statement's name: empty when unnamed */
	return b[4] == 0x16; /* after the 4-byte packet header */
}

static __always_inline int admit_exchange(const struct conn_state *st, const void *ptr, __u64 size,
					  const int indirect, const int after_header)
{
	if (!admit_limited)
		return 1;
	if (st->protocol != LOUPE_PROTO_HTTP1 && st->exchanges < SQL_SETUP_EXCHANGES)
		return 1;
	if (sets_up_session(st, ptr, size, indirect, after_header))
		return 1;
	__u32 zero = 0;
	__s64 *tokens = bpf_map_lookup_elem(&admission, &zero);
	/* Read first: while shedding, no CPU writes the shared line. */
	if (!tokens || *tokens <= 0)
		return 0;
	return __sync_fetch_and_add(tokens, -1) > 0;
}

/* Reports the ranges shed since the last admitted exchange, one record per direction, so that user space knows the
 * holes for what they are: whole exchanges left out, not bytes lost mid-message. */
static __always_inline void report_shed(__u32 tgid, __s32 fd, struct conn_state *st)
{
	for (__u8 dir = 0; dir < 2; dir++) {
		if (!st->shed_len[dir])
			continue;
		struct loupe_event_header hdr = {};
		fill_header(&hdr, LOUPE_EV_DATA, tgid, fd, st);
		hdr.direction = dir;
		hdr.flags = LOUPE_FLAG_SHED;
		/* A range past 4 GiB is reported up to there; user space takes the rest as an ordinary hole. */
		emit_gap(&hdr, st->shed_pos[dir], st->shed_len[dir] < 0xffffffff ? st->shed_len[dir] : 0xffffffff);
		st->shed_len[dir] = 0;
	}
}

/* Decides an exchange that begins: admitted (the shed ranges before it are reported first) or shed. */
static __always_inline void begin_exchange(__u32 tgid, __s32 fd, struct conn_state *st, const void *ptr,
					   __u64 size, const int indirect, const int after_header)
{
	if (admit_exchange(st, ptr, size, indirect, after_header)) {
		st->flags &= ~CONN_SHEDDING;
		report_shed(tgid, fd, st);
		if (st->exchanges < SQL_SETUP_EXCHANGES)
			st->exchanges++;
		count_exchange(LOUPE_EXCH_ADMITTED);
	} else {
		st->flags |= CONN_SHEDDING;
		count_exchange(st->role == LOUPE_ROLE_CLIENT ? LOUPE_EXCH_SHED_CLIENT : LOUPE_EXCH_SHED_SERVER);
	}
}

static __always_inline void extend_shed(struct conn_state *st, __u8 dir, __u64 pos, __u64 size)
{
	__u8 d = dir & 1;
	if (!st->shed_len[d])
		st->shed_pos[d] = pos;
	st->shed_len[d] += size;
}

/* Load shedding under the collector's CPU limit, decided per exchange: when a request-direction chunk follows an
 * answer (or comes first), an exchange begins and is admitted or shed whole, so that user space never sees half a
 * request. Returns whether this chunk is left out (shed, or held); a shed chunk's bytes extend the direction's
 * shed range. `ptr` is the chunk in user memory (NULL when it comes from a file), or with `indirect` (a constant)
 * its iovec array. MySQL servers read a packet's 4-byte header apart from its payload: an exchange that begins
 * with a lone header is held until the payload shows the command (a COM_STMT_PREPARE is never shed). */
static __always_inline int shed_chunk(__u32 tgid, __s32 fd, struct conn_state *st, __u8 dir, __u64 pos,
				      __u64 size, const void *ptr, const int indirect)
{
	if (st->role == LOUPE_ROLE_UNKNOWN)
		return 0;
	__u8 request_dir = st->role == LOUPE_ROLE_CLIENT ? LOUPE_DIR_EGRESS : LOUPE_DIR_INGRESS;
	__u8 last_dir = (st->flags & CONN_LAST_INGRESS) ? LOUPE_DIR_INGRESS : LOUPE_DIR_EGRESS;
	int begins = dir == request_dir && (!(st->flags & CONN_SEEN_DATA) || last_dir != request_dir);
	st->flags = (st->flags & ~CONN_LAST_INGRESS) | CONN_SEEN_DATA |
		    (dir == LOUPE_DIR_INGRESS ? CONN_LAST_INGRESS : 0);
	if (st->flags & CONN_HEADER_HELD) {
		st->flags &= ~CONN_HEADER_HELD;
		if (dir == request_dir && pos == st->split_pos + sizeof(st->split_header))
			begin_exchange(tgid, fd, st, ptr, size, indirect, 1);
		else
			begin_exchange(tgid, fd, st, NULL, 0, 0, 0); /* cannot tell: a SQL exchange is then kept */
		if (st->flags & CONN_SHEDDING)
			extend_shed(st, request_dir, st->split_pos, sizeof(st->split_header));
		else
			emit_split_header(tgid, fd, st, request_dir);
	} else if (begins) {
		if (!indirect && ptr && size == sizeof(st->split_header) && st->protocol == LOUPE_PROTO_MYSQL &&
		    admit_limited && st->exchanges >= SQL_SETUP_EXCHANGES &&
		    !bpf_probe_read_user(st->split_header, sizeof(st->split_header), ptr)) {
			st->split_pos = pos;
			st->flags |= CONN_HEADER_HELD;
			return 1;
		}
		begin_exchange(tgid, fd, st, ptr, size, indirect, 0);
	}
	if (!(st->flags & CONN_SHEDDING))
		return 0;
	extend_shed(st, dir, pos, size);
	return 1;
}

static __always_inline __u64 advance(struct conn_state *st, __u8 direction, __u64 bytes)
{
	if (direction == LOUPE_DIR_EGRESS)
		return __sync_fetch_and_add(&st->sent, bytes);
	return __sync_fetch_and_add(&st->recv, bytes);
}

/* An iovec write's second segment joins the first one's record while that holds less than this and the segment
 * fits whole: the offset and the length of the copy are each below half the scratch buffer, which is how the
 * verifier knows it stays inside. */
#define MERGE_BYTES (LOUPE_MAX_CAPTURE / 2)

/* Walks an iovec array. The second segment joins the first one's record when both are copied whole (a server's
 * head and a short body written together make one record, as from a single write); every other segment starts a
 * record of its own at its stream position, with a prefix of up to capture_bytes. Merging only there keeps the
 * states the verifier explores to twice those of one record per segment: merging any segment multiplied them past
 * its limit for some capture sizes. The first segment is used for protocol inference only where `may_infer` (a
 * constant) says so: inside the mmsg loop it would multiply the states the verifier explores. */
static __always_inline void emit_iov(__u32 tgid, __s32 fd, struct conn_state *st, __u8 direction, __u64 pos,
				     const struct iovec *iov, __u64 iovcnt, __u64 bytes, int max_segments,
				     const int may_infer)
{
	if (may_infer && full_capture_of(tgid)) {
		struct iovec first = {};
		if (iovcnt > 0 && !bpf_probe_read_user(&first, sizeof(first), &iov[0]))
			infer(st, tgid, fd, direction, first.iov_base, first.iov_len < bytes ? first.iov_len : bytes, pos,
			      0);
		if (st->protocol == LOUPE_PROTO_UNKNOWN)
			return;
		struct segments_ctx c = {};
		fill_header(&c.hdr, LOUPE_EV_DATA, tgid, fd, st);
		c.hdr.direction = direction;
		c.iov = iov;
		c.iovcnt = iovcnt;
		c.pos = pos;
		c.bytes = bytes;
		bpf_loop(iovcnt < 1024 ? iovcnt : 1024, emit_segment, &c, 0);
		if (c.done < bytes)
			emit_gap(&c.hdr, pos + c.done, bytes - c.done);
		return;
	}
	__u32 zero = 0;
	struct scratch_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return;
	__u64 done = 0;	     /* bytes of the call walked */
	__u64 start = 0;     /* where the record being assembled begins, from pos */
	__u64 captured = 0;  /* its payload bytes (64-bit, so that the verifier keeps the bounds it checks) */
	int assembling = 0;  /* a record is in the scratch buffer */
	int whole = 0;	     /* and it holds every byte of its segments: another may join */
	for (int i = 0; i < IOV_SEGMENTS; i++) {
		if (i >= max_segments || i >= iovcnt || done >= bytes)
			break;
		struct iovec seg = {};
		if (bpf_probe_read_user(&seg, sizeof(seg), &iov[i]))
			break;
		__u64 len = seg.iov_len < bytes - done ? seg.iov_len : bytes - done;
		if (may_infer && i == 0) {
			infer(st, tgid, fd, direction, seg.iov_base, len, pos, 0);
			if (st->protocol == LOUPE_PROTO_UNKNOWN)
				return;
		}
		if (i == 1 && whole && captured < MERGE_BYTES && len <= MERGE_BYTES && captured + len <= capture_bytes) {
			/* The compiler knows both bounds already and would drop the masks the verifier needs. */
			__u64 at = captured;
			__u64 n = len;
			barrier_var(at);
			barrier_var(n);
			at &= MERGE_BYTES - 1;
			n &= 2 * MERGE_BYTES - 1;
			if (n > MERGE_BYTES)
				n = MERGE_BYTES;
			if (bpf_probe_read_user(b->data + at, n, seg.iov_base)) {
				count_drop(LOUPE_DROP_READ_FAULT);
				whole = 0;
			} else {
				captured += n;
			}
		} else {
			if (assembling)
				send_assembled(b, captured, done - start);
			start = done;
			assembling = 1;
			captured = start_record(b, tgid, fd, st, direction, pos + done, seg.iov_base, len);
			whole = captured == len;
		}
		done += len;
	}
	if (assembling)
		send_assembled(b, captured, done - start);
	if (done < bytes) {
		count_drop(LOUPE_DROP_IOV_TRUNCATED);
		emit_data(tgid, fd, st, direction, pos + done, NULL, bytes - done);
	}
}

/* `op` is a constant in every caller, so each exit program keeps only its own branch: verifying the iovec and
 * mmsg loops once per program that needs them, not in every one, keeps the load time down. */
static __always_inline void handle_transfer(const struct syscall_args *a, const __u8 op, __u32 tgid, long ret)
{
	struct conn_state *st = lookup_or_open(tgid, a->fd);
	if (!st)
		return;
	__u64 bytes = ret;
	__u8 dir = a->direction;

	if (op == OP_MMSG) {
		/* ret counts messages; each mmsghdr says how many bytes its message moved. */
		struct mmsghdr *msgs = (struct mmsghdr *)a->ptr;
		struct mmsghdr first = {};
		struct iovec seg = {};
		if (!bpf_probe_read_user(&first, sizeof(first), &msgs[0]) && first.msg_hdr.msg_iovlen > 0 &&
		    !bpf_probe_read_user(&seg, sizeof(seg), first.msg_hdr.msg_iov))
			infer(st, tgid, a->fd, dir, seg.iov_base, seg.iov_len < first.msg_len ? seg.iov_len : first.msg_len,
			      0, 0);
		for (int m = 0; m < MMSG_MESSAGES; m++) {
			if (m >= ret)
				break;
			struct mmsghdr h = {};
			if (bpf_probe_read_user(&h, sizeof(h), &msgs[m]))
				break;
			__u64 pos = advance(st, dir, h.msg_len);
			emit_iov(tgid, a->fd, st, dir, pos, h.msg_hdr.msg_iov, h.msg_hdr.msg_iovlen, h.msg_len,
				 MMSG_SEGMENTS, 0);
		}
		return;
	}

	__u64 pos = advance(st, dir, bytes);
	if (op == OP_BUF) {
		infer(st, tgid, a->fd, dir, (const void *)a->ptr, bytes, pos, 1);
		if (st->protocol == LOUPE_PROTO_UNKNOWN)
			return;
		if (shed_chunk(tgid, a->fd, st, dir, pos, bytes, (const void *)a->ptr, 0))
			return;
		if (bytes > capture_bytes && full_capture_of(tgid)) {
			struct loupe_event_header hdr = {};
			fill_header(&hdr, LOUPE_EV_DATA, tgid, a->fd, st);
			hdr.direction = dir;
			emit_pieces(&hdr, pos, (const void *)a->ptr, bytes);
		} else {
			emit_data(tgid, a->fd, st, dir, pos, (const void *)a->ptr, bytes);
		}
	} else if (op == OP_IOV) {
		/* A connection whose protocol this chunk reveals is inferred in emit_iov: its first chunk is kept. */
		if (st->protocol != LOUPE_PROTO_UNKNOWN &&
		    shed_chunk(tgid, a->fd, st, dir, pos, bytes, (const void *)a->ptr, 1))
			return;
		emit_iov(tgid, a->fd, st, dir, pos, (const struct iovec *)a->ptr, a->extra, bytes, IOV_SEGMENTS, 1);
	} else if (op == OP_MSG) {
		struct user_msghdr h = {};
		if (bpf_probe_read_user(&h, sizeof(h), (const void *)a->ptr))
			return;
		if (st->protocol != LOUPE_PROTO_UNKNOWN && shed_chunk(tgid, a->fd, st, dir, pos, bytes, h.msg_iov, 1))
			return;
		emit_iov(tgid, a->fd, st, dir, pos, h.msg_iov, h.msg_iovlen, bytes, IOV_SEGMENTS, 1);
	} else if (op == OP_SENDFILE) {
		/* The payload comes from a file, not user memory: keep the stream position right with a gap. */
		if (st->protocol != LOUPE_PROTO_UNKNOWN && !shed_chunk(tgid, a->fd, st, dir, pos, bytes, NULL, 0))
			emit_data(tgid, a->fd, st, dir, pos, NULL, bytes);
	}
}

/* close: report the connection's totals and forget it. The descriptor is gone by now, but its number is still the
 * key of the state. */
static __always_inline void close_conn(__u32 tgid, __s32 fd)
{
	__u64 key = conn_key(tgid, fd);
	struct conn_state *st = bpf_map_lookup_elem(&conns, &key);
	if (!st)
		return;
	/* Another thread may already have a new socket under the number, and its state may be the one stored: leave
	 * it. An old state left behind is replaced when the new socket is seen (a close record is lost, not data). */
	if (tcp_sock_of_fd(fd))
		return;
	if (!(st->flags & CONN_IGNORED)) {
		struct loupe_close_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
		if (ev) {
			fill_header(&ev->hdr, LOUPE_EV_CLOSE, tgid, fd, st);
			ev->bytes_sent = st->sent;
			ev->bytes_recv = st->recv;
			bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP); /* small and rare: the next poll takes it */
		} else {
			count_drop(LOUPE_DROP_RINGBUF_FULL);
		}
	}
	bpf_map_delete_elem(&conns, &key);
}

/* Whether the syscall did what the tracer follows; `op` is a constant. */
static __always_inline int succeeded(const __u8 op, long ret)
{
	if (op == OP_CONNECT)
		return ret == 0 || ret == -EINPROGRESS;
	if (op == OP_ACCEPT)
		return ret >= 0;
	if (op == OP_FD_CLOSE)
		return ret == 0;
	return ret > 0;
}

/* Everything is done at the syscall's exit: the saved user registers still hold the syscall's arguments (libbpf's
 * PT_REGS_PARM*_SYSCALL know where each architecture keeps them), so no state has to be carried from entry to exit.
 * Watching entries too would double the programs run and add a hash map update and delete per syscall. Failed calls
 * (a non-blocking read's EAGAIN above all) return before anything is looked up. */
static __always_inline int exit_syscall(long ret, const __u8 op, const __u8 direction)
{
	if (!succeeded(op, ret))
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == self_tgid)
		return 0;
	if (op == OP_ACCEPT) {
		open_conn(tgid, ret, LOUPE_ROLE_SERVER, 0);
		return 0;
	}
	/* A typed pointer: its fields are plain loads, not a helper call each. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct syscall_args a = { .fd = PT_REGS_PARM1_SYSCALL(regs), .direction = direction };
	if (op == OP_CONNECT) {
		open_conn(tgid, a.fd, LOUPE_ROLE_CLIENT, 0);
	} else if (op == OP_FD_CLOSE) {
		close_conn(tgid, a.fd);
	} else {
		a.ptr = PT_REGS_PARM2_SYSCALL(regs);
		if (op == OP_IOV)
			a.extra = PT_REGS_PARM3_SYSCALL(regs);
		handle_transfer(&a, op, tgid, ret);
	}
	return 0;
}

/* One program per syscall exit: `op` is a constant in each, so each keeps only its own branch (verifying the iovec
 * and mmsg loops once per program that needs them keeps the load time down). */
#define EXIT_PROG(name, op, direction)                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                         \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                  \
		return exit_syscall(ctx->ret, op, direction);              \
	}

EXIT_PROG(read, OP_BUF, LOUPE_DIR_INGRESS)
EXIT_PROG(recvfrom, OP_BUF, LOUPE_DIR_INGRESS)
EXIT_PROG(write, OP_BUF, LOUPE_DIR_EGRESS)
EXIT_PROG(sendto, OP_BUF, LOUPE_DIR_EGRESS)
EXIT_PROG(readv, OP_IOV, LOUPE_DIR_INGRESS)
EXIT_PROG(writev, OP_IOV, LOUPE_DIR_EGRESS)
EXIT_PROG(recvmsg, OP_MSG, LOUPE_DIR_INGRESS)
EXIT_PROG(sendmsg, OP_MSG, LOUPE_DIR_EGRESS)
EXIT_PROG(recvmmsg, OP_MMSG, LOUPE_DIR_INGRESS)
EXIT_PROG(sendmmsg, OP_MMSG, LOUPE_DIR_EGRESS)
EXIT_PROG(sendfile64, OP_SENDFILE, LOUPE_DIR_EGRESS)
EXIT_PROG(connect, OP_CONNECT, 0)
EXIT_PROG(accept, OP_ACCEPT, 0)
EXIT_PROG(accept4, OP_ACCEPT, 0)
EXIT_PROG(close, OP_FD_CLOSE, 0)
