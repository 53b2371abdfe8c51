/* Key-value store lambda (XDP ABI): memcached's text commands.
 *
 * The request body is one command of memcached's text protocol, lines
 * ending in "\r\n"; the answer body is memcached's reply:
 *
 *     get KEY\r\n                      VALUE KEY FLAGS N\r\nDATA\r\nEND\r\n
 *                                      (or END\r\n when KEY is absent)
 *     set KEY FLAGS 0 N\r\nDATA\r\n    STORED\r\n
 *     delete KEY\r\n                   DELETED\r\n, or NOT_FOUND\r\n
 *
 * Bounds: a key is 1 to KV_KEY_BYTES bytes of printable ASCII (no space),
 * a value at most KV_VALUE_BYTES bytes, FLAGS a 32-bit decimal, one key per
 * get. Errors, as memcached words them: an unknown command "ERROR\r\n"; a
 * line that does not parse (key missing, too long or not printable, a
 * number that is not one, tokens missing or extra, no "\r\n")
 * "CLIENT_ERROR bad command line format\r\n"; a set whose data is not N
 * bytes and "\r\n" "CLIENT_ERROR bad data chunk\r\n"; a value over the
 * bound "SERVER_ERROR object too large for cache\r\n"; a full map
 * "SERVER_ERROR out of memory storing object\r\n". Items never expire:
 * an expiration time other than 0 is refused with
 * "CLIENT_ERROR expiration not supported\r\n". `noreply` and the other
 * commands are not supported (ERROR or the line-format error). Anything
 * that is not a request for this lambda: XDP_PASS.
 */
#define LAMBDA_ID LAMBDA_ID_KV
#include "lambda.h"

#define KV_KEY_BYTES 32
#define KV_VALUE_BYTES 56

struct kv_key {
	char key[KV_KEY_BYTES]; /* zero-padded */
};

struct kv_value {
	__u32 flags;
	__u32 len;
	__u8 data[KV_VALUE_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct kv_key);
	__type(value, struct kv_value);
	__uint(max_entries, 32);
} kv SEC(".maps");

#define KV_BAD_LINE "CLIENT_ERROR bad command line format\r\n"

/* The key at body offset `at`: printable bytes up to a space or '\r'.
 * Returns its length (the terminator at `at + length`), 0 when there is
 * none, or more than KV_KEY_BYTES when it is too long or not printable. */
static __always_inline __u32 kv_key_at(__u8 *body, __u32 at, __u32 n, void *end,
				       struct kv_key *key)
{
	for (__u32 i = 0; i < KV_KEY_BYTES + 1; i++) {
		if (at + i >= n)
			return KV_KEY_BYTES + 1;
		__u8 *p = lambda_byte(body, at + i, end);
		if (!p)
			return KV_KEY_BYTES + 1;
		__u8 c = *p;
		if (c == ' ' || c == '\r')
			return i;
		if (c < 0x21 || c > 0x7e)
			return KV_KEY_BYTES + 1;
		if (i < KV_KEY_BYTES)
			key->key[i] = c;
	}
	return KV_KEY_BYTES + 1;
}

/* The decimal number at body offset `*at`, ended by `stop`: at most 10
 * digits, at most 0xffffffff. Moves `*at` past the terminator. 0, or -1. */
static __always_inline int kv_number_at(__u8 *body, __u32 *at, __u32 n, void *end, __u8 stop,
					__u64 *value)
{
	__u64 v = 0;
	__u32 a = *at;
	for (__u32 i = 0; i < 11; i++) {
		if (a + i >= n)
			return -1;
		__u8 *p = lambda_byte(body, a + i, end);
		if (!p)
			return -1;
		__u8 c = *p;
		if (c == stop) {
			if (i == 0 || v > 0xffffffffULL)
				return -1;
			*value = v;
			*at = a + i + 1;
			return 0;
		}
		if (c < '0' || c > '9' || i == 10)
			return -1;
		v = v * 10 + (c - '0');
	}
	return -1;
}

/* Decimal digits of v (1 to 10). */
static __always_inline __u32 kv_digits(__u32 v)
{
	__u32 d = 1;
#pragma unroll
	for (int i = 0; i < 9; i++) {
		if (v < 10)
			break;
		v /= 10;
		d++;
	}
	return d;
}

/* Write `digits` decimal digits of v at body offset `at`. 0, or -1. */
static __always_inline int kv_put_number(__u8 *body, __u32 at, __u32 v, __u32 digits, void *end)
{
	/* Unrolled: clang would otherwise drop the constant bound (digits is
	 * at most 10), and the load-time check needs one. */
#pragma unroll
	for (__u32 k = 0; k < 10; k++) {
		if (k >= digits)
			break;
		__u8 *p = lambda_byte(body, at + digits - 1 - k, end);
		if (!p)
			return -1;
		*p = '0' + v % 10;
		v /= 10;
	}
	return 0;
}

/* get KEY\r\n, the key of `klen` bytes at body offset 4. */
static __always_inline int kv_get(struct xdp_md *ctx, struct kv_key *key, __u32 klen)
{
	struct kv_value *val = bpf_map_lookup_elem(&kv, key);
	if (!val)
		return lambda_text(ctx, "END\r\n");
	__u32 vlen = val->len;
	__u32 flags = val->flags;
	if (vlen > KV_VALUE_BYTES)
		return lambda_text(ctx, "SERVER_ERROR bad value in the map\r\n");
	/* The value is copied out of the map first: the answer is written in
	 * place of the request, after the frame is resized. */
	struct kv_value copy;
	__builtin_memcpy(&copy, val, sizeof(copy));
	__u32 fd = kv_digits(flags);
	__u32 ld = vlen >= 10 ? 2 : 1;
	/* "VALUE " key " " flags " " len "\r\n" data "\r\n" "END\r\n" */
	__u32 len = 6 + klen + 1 + fd + 1 + ld + 2 + vlen + 2 + 5;
	if (lambda_resize(ctx, len))
		return lambda_no_room(ctx);
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *body = data + LAMBDA_BODY_OFF;
	if (!NF_FITS(body, 6, end))
		return XDP_DROP;
	__builtin_memcpy(body, "VALUE ", 6);
	__u32 at = 6;
	for (__u32 j = 0; j < KV_KEY_BYTES; j++) {
		if (j >= klen)
			break;
		__u8 *p = lambda_byte(body, at + j, end);
		if (!p)
			return XDP_DROP;
		*p = key->key[j];
	}
	at += klen;
	__u8 *p = lambda_at(body, at);
	if (!NF_FITS(p, 1, end))
		return XDP_DROP;
	*p = ' ';
	at += 1;
	if (kv_put_number(body, at, flags, fd, end))
		return XDP_DROP;
	at += fd;
	p = lambda_at(body, at);
	if (!NF_FITS(p, 1, end))
		return XDP_DROP;
	*p = ' ';
	at += 1;
	if (kv_put_number(body, at, vlen, ld, end))
		return XDP_DROP;
	at += ld;
	p = lambda_at(body, at);
	if (!NF_FITS(p, 2, end))
		return XDP_DROP;
	p[0] = '\r';
	p[1] = '\n';
	at += 2;
	if (lambda_copy(body + at, copy.data, vlen, KV_VALUE_BYTES, end))
		return XDP_DROP;
	at += vlen;
	p = lambda_at(body, at);
	if (!NF_FITS(p, 7, end))
		return XDP_DROP;
	__builtin_memcpy(p, "\r\nEND\r\n", 7);
	return lambda_finish(ctx, len, 0);
}

SEC("xdp")
int lambda_kv(struct xdp_md *ctx)
{
	struct lambda_req req;
	int rc = lambda_parse(ctx, &req);
	if (rc != LAMBDA_REQUEST)
		return lambda_refuse(ctx, rc);
	if (req.chunk_count != 1)
		return lambda_error(ctx, "a key-value request is one chunk");

	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *body = data + LAMBDA_BODY_OFF;
	__u32 n = req.body_len;
	if (n < 4 || !NF_FITS(body, 4, end))
		return lambda_text(ctx, "ERROR\r\n");

	struct kv_key key = {};
	__u32 at;
	int cmd;
	if (body[0] == 'g' && body[1] == 'e' && body[2] == 't' && body[3] == ' ') {
		cmd = 'g';
		at = 4;
	} else if (body[0] == 's' && body[1] == 'e' && body[2] == 't' && body[3] == ' ') {
		cmd = 's';
		at = 4;
	} else if (n >= 7 && NF_FITS(body, 7, end) && body[0] == 'd' && body[1] == 'e' && body[2] == 'l' && body[3] == 'e' &&
		   body[4] == 't' && body[5] == 'e' && body[6] == ' ') {
		cmd = 'd';
		at = 7;
	} else {
		return lambda_text(ctx, "ERROR\r\n");
	}

	__u32 klen = kv_key_at(body, at, n, end, &key);
	if (klen == 0 || klen > KV_KEY_BYTES)
		return lambda_text(ctx, KV_BAD_LINE);
	at = lambda_forget(data, end, at + klen, 0x7ff);
	klen = lambda_forget(data, end, klen, 0x3f);
	if (klen > KV_KEY_BYTES)
		return XDP_DROP;

	if (cmd != 's') {
		/* KEY\r\n and the end of the body. */
		__u8 *p = lambda_at(body, at);
		if (at + 2 != n || !NF_FITS(p, 2, end) || p[0] != '\r' || p[1] != '\n')
			return lambda_text(ctx, KV_BAD_LINE);
		if (cmd == 'g')
			return kv_get(ctx, &key, klen);
		if (bpf_map_delete_elem(&kv, &key))
			return lambda_text(ctx, "NOT_FOUND\r\n");
		return lambda_text(ctx, "DELETED\r\n");
	}

	/* set KEY FLAGS EXPTIME BYTES\r\nDATA\r\n */
	__u64 flags, exptime, bytes;
	__u8 *p = lambda_at(body, at);
	if (!NF_FITS(p, 1, end) || *p != ' ')
		return lambda_text(ctx, KV_BAD_LINE);
	at += 1;
	if (kv_number_at(body, &at, n, end, ' ', &flags))
		return lambda_text(ctx, KV_BAD_LINE);
	at = lambda_forget(data, end, at, 0x7ff);
	if (kv_number_at(body, &at, n, end, ' ', &exptime))
		return lambda_text(ctx, KV_BAD_LINE);
	at = lambda_forget(data, end, at, 0x7ff);
	if (kv_number_at(body, &at, n, end, '\r', &bytes))
		return lambda_text(ctx, KV_BAD_LINE);
	at = lambda_forget(data, end, at, 0x7ff);
	p = lambda_at(body, at);
	if (at >= n || !NF_FITS(p, 1, end) || *p != '\n')
		return lambda_text(ctx, KV_BAD_LINE);
	at += 1;
	if (exptime != 0)
		return lambda_text(ctx, "CLIENT_ERROR expiration not supported\r\n");
	if (bytes > KV_VALUE_BYTES)
		return lambda_text(ctx, "SERVER_ERROR object too large for cache\r\n");
	if (at + bytes + 2 != n)
		return lambda_text(ctx, "CLIENT_ERROR bad data chunk\r\n");

	struct kv_value val = {.flags = flags, .len = bytes};
	for (__u32 j = 0; j < KV_VALUE_BYTES; j++) {
		if (j >= bytes)
			break;
		__u8 *q = lambda_byte(body, at + j, end);
		if (!q)
			return XDP_DROP;
		val.data[j] = *q;
	}
	p = lambda_at(body, at + bytes);
	if (!NF_FITS(p, 2, end) || p[0] != '\r' || p[1] != '\n')
		return lambda_text(ctx, "CLIENT_ERROR bad data chunk\r\n");
	if (bpf_map_update_elem(&kv, &key, &val, BPF_ANY))
		return lambda_text(ctx, "SERVER_ERROR out of memory storing object\r\n");
	return lambda_text(ctx, "STORED\r\n");
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
