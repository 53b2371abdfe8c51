/* Lambda requests and responses over UDP (XDP ABI): the header, the
 * parsing of a request and the rewriting of a request into its response,
 * shared by the lambda programs (lambda_web.c, lambda_kv.c, lambda_gray.c).
 * The format is described in docs/lambdas.md; the numbers below are also
 * in vm/src/contract.rs (the LAMBDA_* constants), and tests/lambdas.rs
 * checks that both agree.
 *
 * A program defines LAMBDA_ID (its default lambda ID) before including
 * this file. Its answer path is always the same:
 *
 *     struct lambda_req req;
 *     int rc = lambda_parse(ctx, &req);
 *     if (rc != LAMBDA_REQUEST)
 *             return lambda_refuse(ctx, rc);
 *     ... read the body, compute the answer (nothing written yet, or
 *         written in place when the answer is no longer than the request)
 *     if (lambda_resize(ctx, answer_len))  (pointers are invalid after it)
 *             return lambda_no_room(ctx);
 *     ... write the answer body at LAMBDA_BODY_OFF
 *     return lambda_finish(ctx, answer_len, 0);
 *
 * Only IPv4 without options is taken (IHL 5, not a fragment); the UDP
 * checksum of a response is 0 ("no checksum", allowed for IPv4).
 */
#ifndef LAMBDA_H
#define LAMBDA_H

#include "nf_common.h"
#include <linux/udp.h>

#ifndef LAMBDA_ID
#error "define LAMBDA_ID (the program's default lambda ID) before including lambda.h"
#endif

/* Default UDP destination port of requests (contract::LAMBDA_DEFAULT_PORT). */
#define LAMBDA_DEFAULT_PORT 7380
/* First two bytes of every header, "LM" (contract::LAMBDA_MAGIC). */
#define LAMBDA_MAGIC 0x4c4d
/* Header version (contract::LAMBDA_VERSION). */
#define LAMBDA_VERSION 1
/* Flags (contract::LAMBDA_FLAG_*). */
#define LAMBDA_F_RESPONSE 0x01 /* set in responses only */
#define LAMBDA_F_MORE 0x02     /* more chunks of this request follow */
#define LAMBDA_F_ERROR 0x04    /* response: refused, the body says why */
/* Bytes of the header (contract::LAMBDA_HDR_BYTES). */
#define LAMBDA_HDR_BYTES 16
/* Frame offset of the body: Ethernet 14 + IPv4 20 + UDP 8 + header 16. */
#define LAMBDA_BODY_OFF 58
/* Largest body: a 1500-byte IPv4 datagram (contract::LAMBDA_MAX_BODY). */
#define LAMBDA_MAX_BODY 1456
/* Most bytes an answer may add to the request's frame: the headroom in
 * front of the frame that bpf_xdp_adjust_head can take, 256 bytes less the
 * 40 Linux keeps (contract::LAMBDA_MAX_GROW). A frame cannot grow at its
 * end on the device (its FIFO_MD slot is the words that arrived), so a
 * request whose answer is longer carries room for it after its body. */
#define LAMBDA_MAX_GROW 216

/* The lambda IDs of the published workloads (contract::LAMBDA_ID_*). */
#define LAMBDA_ID_WEB 1
#define LAMBDA_ID_KV 2
#define LAMBDA_ID_GRAY 3

/* The header, in network byte order, right after the UDP header. */
struct lambda_hdr {
	__be16 magic;
	__u8 version;
	__u8 flags;
	__be16 lambda_id;
	__be16 body_len;
	__be32 request_id;
	__be16 chunk_index;
	__be16 chunk_count;
};

_Static_assert(sizeof(struct lambda_hdr) == LAMBDA_HDR_BYTES, "lambda header");
_Static_assert(LAMBDA_BODY_OFF == sizeof(struct ethhdr) + sizeof(struct iphdr) +
		       sizeof(struct udphdr) + LAMBDA_HDR_BYTES,
	       "body offset");

/* The port and lambda ID this program answers: read-only globals
 * (`.rodata`, which the loader makes a one-entry ARRAY map), so a host can
 * set them before the program runs by writing that map's entry 0. */
const volatile __u16 lambda_port = LAMBDA_DEFAULT_PORT;
const volatile __u16 lambda_id = LAMBDA_ID;

/* What lambda_parse found out about a request (host byte order). */
struct lambda_req {
	__u32 body_len;
	__u16 chunk_index;
	__u16 chunk_count;
};

/* lambda_parse's answers other than an XDP action. */
#define LAMBDA_REQUEST 16   /* a request for this lambda: answer it */
#define LAMBDA_BAD_LENGTH 17 /* body_len past the end of the datagram */
#define LAMBDA_BAD_CHUNK 18 /* chunk_count 0, or chunk_index past it */

/* Is the packet a request for this lambda? LAMBDA_REQUEST (and `req`
 * filled) when it is; XDP_PASS for everything that is not a request to
 * this program (not IPv4/UDP to lambda_port, IPv4 options or fragments,
 * IP or UDP lengths that disagree with the frame, a wrong magic or
 * version, a response, another lambda ID): the host's stack gets it as
 * it would without the program; LAMBDA_BAD_LENGTH or LAMBDA_BAD_CHUNK
 * for a request to this lambda whose header is inconsistent
 * (lambda_refuse answers those with an error response). */
static __always_inline int lambda_parse(struct xdp_md *ctx, struct lambda_req *req)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct lambda_hdr *lh = (void *)(udp + 1);

	if (!NF_FITS(lh, sizeof(*lh), end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (ip->frag_off & bpf_htons(0x3fff)) /* more fragments, or an offset */
		return XDP_PASS;
	if (udp->dest != bpf_htons(lambda_port))
		return XDP_PASS;
	if (lh->magic != bpf_htons(LAMBDA_MAGIC) || lh->version != LAMBDA_VERSION)
		return XDP_PASS;
	if (lh->flags & LAMBDA_F_RESPONSE)
		return XDP_PASS;
	if (lh->lambda_id != bpf_htons(lambda_id))
		return XDP_PASS;

	/* The datagram: IP total length within the frame (Ethernet may pad
	 * short frames), UDP length = IP payload, room for the header. */
	__u32 ip_len = bpf_ntohs(ip->tot_len);
	__u32 udp_len = bpf_ntohs(udp->len);
	if (ip_len + sizeof(*eth) > (__u32)(end - data))
		return XDP_PASS;
	if (udp_len != ip_len - sizeof(*ip))
		return XDP_PASS;
	if (udp_len < sizeof(*udp) + sizeof(*lh))
		return XDP_PASS;

	/* The body, then (optionally) room for the answer. */
	__u32 body_len = bpf_ntohs(lh->body_len);
	if (body_len > udp_len - sizeof(*udp) - sizeof(*lh))
		return LAMBDA_BAD_LENGTH;
	__u16 index = bpf_ntohs(lh->chunk_index);
	__u16 count = bpf_ntohs(lh->chunk_count);
	if (count == 0 || index >= count)
		return LAMBDA_BAD_CHUNK;
	req->body_len = body_len;
	req->chunk_index = index;
	req->chunk_count = count;
	return LAMBDA_REQUEST;
}

/* lambda_resize and lambda_finish are functions of their own (bpf-to-bpf
 * calls), not inlined: every answer path calls them, and one copy each
 * keeps a program well inside an instruction bank. */

/* Make the frame end right after an answer body of `body_len` bytes
 * (the request's body, room and Ethernet padding go). A shorter frame is
 * cut at its end (bpf_xdp_adjust_tail); a longer one grows at its front
 * (bpf_xdp_adjust_head, at most LAMBDA_MAX_GROW bytes) and the 58 bytes of
 * headers move to the new front, so the body keeps its offset. 0, or -1
 * when the answer does not fit (lambda_error still fits: its text is
 * shorter than LAMBDA_MAX_GROW). Every packet pointer taken before it is
 * invalid after it. */
static __noinline int lambda_resize(struct xdp_md *ctx, __u32 body_len)
{
	__u32 frame = ctx->data_end - ctx->data;
	if (body_len > LAMBDA_MAX_BODY)
		return -1;
	__u32 want = LAMBDA_BODY_OFF + body_len;
	if (want <= frame)
		return bpf_xdp_adjust_tail(ctx, -(int)(frame - want)) ? -1 : 0;
	__u32 grow = want - frame;
	if (grow > LAMBDA_MAX_GROW || bpf_xdp_adjust_head(ctx, -(int)grow))
		return -1;
	__u8 *to = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *from = to + grow;
	if (!NF_FITS(to, LAMBDA_BODY_OFF, end) || !NF_FITS(from, LAMBDA_BODY_OFF, end))
		return -1;
	/* Upwards: every word is read before a store can reach it. */
#pragma unroll
	for (int i = 0; i < 56; i += 8)
		*(__u64 *)(to + i) = *(__u64 *)(from + i);
	*(__u16 *)(to + 56) = *(__u16 *)(from + 56);
	return 0;
}

/* The IPv4 header checksum of a 20-byte header whose checksum field is 0. */
static __always_inline __u16 lambda_ip_checksum(struct iphdr *ip)
{
	__u16 *w = (void *)ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	return (__u16)~sum;
}

/* Turn the request into its response, the body (`body_len` bytes at
 * LAMBDA_BODY_OFF, the frame already resized to it) written: swap the
 * MAC addresses, the IP addresses and the UDP ports; IPv4 total length,
 * TTL 64 and header checksum; UDP length, checksum 0; the header's
 * RESPONSE flag (and `flags`, e.g. LAMBDA_F_ERROR) set, MORE kept, body
 * length; lambda ID, request ID and chunk numbers stay. The response
 * leaves by the port the request came in on (XDP_TX). */
static __noinline int lambda_finish(struct xdp_md *ctx, __u32 body_len, __u32 flags)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct lambda_hdr *lh = (void *)(udp + 1);

	if (!NF_FITS(lh, sizeof(*lh), end))
		return XDP_DROP; /* not after lambda_resize */

	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	__be32 addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*udp) + sizeof(*lh) + body_len);
	ip->ttl = 64;
	ip->check = 0;
	ip->check = lambda_ip_checksum(ip);

	__be16 port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(sizeof(*udp) + sizeof(*lh) + body_len);
	udp->check = 0;

	lh->flags = (lh->flags & LAMBDA_F_MORE) | LAMBDA_F_RESPONSE | flags;
	lh->body_len = bpf_htons(body_len);
	return XDP_TX;
}

/* Answer with the ERROR flag and the text `msg` (a string literal, at most
 * LAMBDA_MAX_GROW bytes, so it always fits) as the body. */
#define lambda_error(ctx, msg) lambda_text_(ctx, msg, sizeof(msg) - 1, LAMBDA_F_ERROR)
/* Answer with the text `msg` (a string literal) as the body, no flag. */
#define lambda_text(ctx, msg) lambda_text_(ctx, msg, sizeof(msg) - 1, 0)

static __always_inline int lambda_text_(struct xdp_md *ctx, const char *msg, __u32 len,
					__u8 flags)
{
	if (lambda_resize(ctx, len))
		return XDP_DROP;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *body = data + LAMBDA_BODY_OFF;
	if (!NF_FITS(body, len, end))
		return XDP_DROP;
	__builtin_memcpy(body, msg, len);
	return lambda_finish(ctx, len, flags);
}

/* The error response of an answer that does not fit the request's frame. */
#define lambda_no_room(ctx) lambda_error(ctx, "no room for the answer: pad the request")

/* What to do with a packet lambda_parse did not call a request: pass it
 * on, or answer an inconsistent header with an error response. */
static __always_inline int lambda_refuse(struct xdp_md *ctx, int rc)
{
	if (rc == LAMBDA_BAD_LENGTH)
		return lambda_error(ctx, "body_len past the end of the datagram");
	if (rc == LAMBDA_BAD_CHUNK)
		return lambda_error(ctx, "chunk_index not below chunk_count");
	return XDP_PASS;
}

/* `base + off` as one register, which the caller checks and uses: the
 * empty asm stops clang from recomputing the pointer for the access from
 * other registers (the kernel's verifier only trusts the checked one). */
static __always_inline __u8 *lambda_at(__u8 *base, __u32 off)
{
	__u8 *p = base + off;
	asm volatile("" : "+r"(p));
	return p;
}

/* The packet byte at `base + off`, or 0 when the packet ends before it. */
static __always_inline __u8 *lambda_byte(__u8 *base, __u32 off, void *end)
{
	__u8 *p = lambda_at(base, off);
	if (!NF_FITS(p, 1, end))
		return 0;
	return p;
}

/* A value `v` the load-time check (loader/src/verify.rs) stops knowing:
 * `v & mask`, passed through the UDP checksum field of the request (which
 * lambda_finish rewrites). The check explores a program path by path with
 * exact values and reads packet bytes as any value: a position that a
 * data-dependent loop ended (a token's length) would otherwise multiply
 * the paths explored after it by the loop's trip count, and a few such
 * loops in a row exhaust the check. `data`/`end` as the caller has them. */
static __always_inline __u32 lambda_forget(void *data, void *end, __u32 v, __u32 mask)
{
	volatile __u16 *scratch = data + sizeof(struct ethhdr) + sizeof(struct iphdr) +
				  offsetof(struct udphdr, check);
	if (!NF_FITS(scratch, 2, end))
		return v & mask;
	*scratch = (__u16)v;
	return *scratch & mask;
}

/* Copy `n` bytes (at most `max`, a constant multiple of 8) from `src` (a
 * map value or the stack, `max` bytes long) to the packet at `dst`, 8 bytes
 * at a time, then the rest byte by byte. 0, or -1 when the packet ends
 * first. */
static __always_inline int lambda_copy(__u8 *dst, const __u8 *src, __u32 n, __u32 max, void *end)
{
	__u32 w;
	if (n > max)
		n = max;
	for (w = 0; w < max / 8; w++) {
		if (w * 8 + 8 > n)
			break;
		__u8 *p = lambda_at(dst, w * 8);
		if (!NF_FITS(p, 8, end))
			return -1;
		*(__u64 *)p = *(const __u64 *)(src + w * 8);
	}
	__u32 i = w * 8;
	for (__u32 j = 0; j < 7; j++) {
		if (i + j >= n)
			break;
		__u8 *p = lambda_byte(dst, i + j, end);
		if (!p)
			return -1;
		*p = src[i + j];
	}
	return 0;
}

#endif
