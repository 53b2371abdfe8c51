/* Web server lambda (XDP ABI): pages from maps, answered by HTTP/1.0.
 *
 * The request body is an HTTP request line, "GET /path HTTP/1.x", ending
 * with the body or followed by "\r\n" (anything after that, headers, is
 * ignored). The path (at most WEB_PATH_BYTES bytes of printable ASCII)
 * is looked up in `pages`, whose value gives the page's length and its
 * first 64-byte chunk in `page_chunks`; the page is chunks first,
 * first + 1, ... The answer body is
 *
 *     HTTP/1.0 200 OK\r\nContent-Length: N\r\n\r\n<the N bytes of the page>
 *
 * or, with "Content-Length: 0" and no page, "404 Not Found" for a path not
 * in `pages`, "400 Bad Request" for a body that is not such a line (and a
 * path that is not printable ASCII), "500 Internal Server Error" for a
 * page whose entry points past `page_chunks`. A page longer than the
 * request's frame plus LAMBDA_MAX_GROW needs room in the request (see
 * lambda.h); without it the answer is an error response. Anything that is
 * not a request for this lambda: XDP_PASS.
 */
#define LAMBDA_ID LAMBDA_ID_WEB
#include "lambda.h"

/* Longest path; keys are the path's bytes, zero-padded. */
#define WEB_PATH_BYTES 32
/* Bytes of one chunk of a page, chunks in `page_chunks`, longest page. */
#define WEB_CHUNK_BYTES 64
#define WEB_CHUNKS 64
#define WEB_MAX_PAGE_CHUNKS 16
#define WEB_MAX_PAGE (WEB_CHUNK_BYTES * WEB_MAX_PAGE_CHUNKS)

struct web_path {
	char path[WEB_PATH_BYTES];
};

struct web_page {
	__u32 len;         /* bytes, at most WEB_MAX_PAGE */
	__u32 first_chunk; /* index in page_chunks */
};

struct web_chunk {
	__u8 bytes[WEB_CHUNK_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct web_path);
	__type(value, struct web_page);
	__uint(max_entries, 16);
} pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct web_chunk);
	__uint(max_entries, WEB_CHUNKS);
} page_chunks SEC(".maps");

/* An answer without a page. */
#define web_status(ctx, line) lambda_text(ctx, line "\r\nContent-Length: 0\r\n\r\n")

/* "HTTP/1.0 200 OK\r\nContent-Length: " */
#define WEB_OK "HTTP/1.0 200 OK\r\nContent-Length: "
#define WEB_OK_BYTES (sizeof(WEB_OK) - 1)

SEC("xdp")
int lambda_web(struct xdp_md *ctx)
{
	struct lambda_req req;
	int rc = lambda_parse(ctx, &req);
	if (rc != LAMBDA_REQUEST)
		return lambda_refuse(ctx, rc);
	if (req.chunk_count != 1)
		return lambda_error(ctx, "a web request is one chunk");

	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *body = data + LAMBDA_BODY_OFF;
	__u32 n = req.body_len;
	if (n < 4 + 1 + 1 + 8 || !NF_FITS(body, 5, end))
		return web_status(ctx, "HTTP/1.0 400 Bad Request");
	if (body[0] != 'G' || body[1] != 'E' || body[2] != 'T' || body[3] != ' ' || body[4] != '/')
		return web_status(ctx, "HTTP/1.0 400 Bad Request");

	/* The path: from the '/' to the next space. */
	struct web_path key = {};
	__u32 len = WEB_PATH_BYTES + 1;
	for (__u32 i = 0; i < WEB_PATH_BYTES + 1; i++) {
		__u8 *p = lambda_byte(body, 4 + i, end);
		if (4 + i >= n || !p)
			return web_status(ctx, "HTTP/1.0 400 Bad Request");
		__u8 c = *p;
		if (c == ' ') {
			len = i;
			break;
		}
		if (c < 0x21 || c > 0x7e)
			return web_status(ctx, "HTTP/1.0 400 Bad Request");
		if (i < WEB_PATH_BYTES)
			key.path[i] = c;
	}
	if (len > WEB_PATH_BYTES)
		return web_status(ctx, "HTTP/1.0 404 Not Found"); /* no such key */

	/* " HTTP/1.x", then the end of the body or "\r\n" (the offset
	 * forgotten, so that the checks explore what follows once, not once
	 * per path length: see lambda_forget). */
	__u32 v = lambda_forget(data, end, 4 + len + 1, 0x7ff);
	__u8 *ver = lambda_at(body, v);
	if (v + 8 > n || !NF_FITS(ver, 8, end))
		return web_status(ctx, "HTTP/1.0 400 Bad Request");
	if (v + 8 < n &&
	    (v + 10 > n || !NF_FITS(ver, 10, end) || ver[8] != '\r' || ver[9] != '\n'))
		return web_status(ctx, "HTTP/1.0 400 Bad Request");
	if (ver[0] != 'H' || ver[1] != 'T' || ver[2] != 'T' || ver[3] != 'P' || ver[4] != '/' ||
	    ver[5] != '1' || ver[6] != '.' || ver[7] < '0' || ver[7] > '9')
		return web_status(ctx, "HTTP/1.0 400 Bad Request");

	struct web_page *page = bpf_map_lookup_elem(&pages, &key);
	if (!page)
		return web_status(ctx, "HTTP/1.0 404 Not Found");
	__u32 plen = page->len;
	__u32 first = page->first_chunk;
	__u32 chunks = (plen + WEB_CHUNK_BYTES - 1) / WEB_CHUNK_BYTES;
	if (plen > WEB_MAX_PAGE || first > WEB_CHUNKS || chunks > WEB_CHUNKS - first)
		return web_status(ctx, "HTTP/1.0 500 Internal Server Error");

	/* Content-Length in decimal: 1 to 4 digits. */
	__u32 digits = plen >= 1000 ? 4 : plen >= 100 ? 3 : plen >= 10 ? 2 : 1;
	__u32 head = WEB_OK_BYTES + digits + 4;
	if (lambda_resize(ctx, head + plen))
		return lambda_no_room(ctx);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	body = data + LAMBDA_BODY_OFF;
	if (digits > 4 || !NF_FITS(body, WEB_OK_BYTES + digits + 4, end))
		return XDP_DROP; /* not after lambda_resize */
	__builtin_memcpy(body, WEB_OK, WEB_OK_BYTES);
	__u8 *d = body + WEB_OK_BYTES;
	__u32 x = plen;
	for (int k = 3; k >= 0; k--) {
		if ((__u32)k < digits) {
			d[k] = '0' + x % 10;
			x /= 10;
		}
	}
	d += digits;
	d[0] = '\r';
	d[1] = '\n';
	d[2] = '\r';
	d[3] = '\n';
	d += 4;

	for (__u32 c = 0; c < WEB_MAX_PAGE_CHUNKS; c++) {
		if (c >= chunks)
			break;
		__u32 idx = first + c;
		struct web_chunk *chunk = bpf_map_lookup_elem(&page_chunks, &idx);
		if (!chunk)
			return XDP_DROP; /* not with the range checked */
		if (lambda_copy(d + c * WEB_CHUNK_BYTES, chunk->bytes, plen - c * WEB_CHUNK_BYTES,
				WEB_CHUNK_BYTES, end))
			return XDP_DROP;
	}
	return lambda_finish(ctx, head + plen, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
