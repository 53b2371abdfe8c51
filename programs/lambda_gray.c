/* Image transformer lambda (XDP ABI): RGBA to grayscale.
 *
 * The request body is a chunk of an image, RGBA pixels of four bytes each
 * (at most GRAY_MAX_PIXELS); the response body has one gray byte per
 * pixel, in the same order:
 *
 *     gray = (77 * R + 150 * G + 29 * B) >> 8      (alpha is ignored)
 *
 * (integer weights summing to 256, close to ITU-R BT.601's 0.299, 0.587,
 * 0.114; white stays 255). Each gray byte is written over the pixels
 * already read (the frame first cut to the pixels, the loop ending where
 * the frame does), then the frame is cut to the answer. The chunk numbers and
 * the MORE flag of the request stay in the response, so the sender
 * reassembles the image from its chunks (docs/lambdas.md). A body that is
 * not whole pixels, or longer than GRAY_MAX_PIXELS, gets an error
 * response. Anything that is not a request for this lambda: XDP_PASS.
 */
#define LAMBDA_ID LAMBDA_ID_GRAY
#include "lambda.h"

/* Pixels of one chunk at most: 1,024 bytes of RGBA, one packet. */
#define GRAY_MAX_PIXELS 256

SEC("xdp")
int lambda_gray(struct xdp_md *ctx)
{
	struct lambda_req req;
	int rc = lambda_parse(ctx, &req);
	if (rc != LAMBDA_REQUEST)
		return lambda_refuse(ctx, rc);
	if (req.body_len % 4)
		return lambda_error(ctx, "body is not whole RGBA pixels");
	if (req.body_len > GRAY_MAX_PIXELS * 4)
		return lambda_error(ctx, "more than 256 pixels in one chunk");
	__u32 pixels = req.body_len / 4;

	/* Cut the frame to the pixels first (room and padding go), so that the
	 * loop ends where the packet does: one exit, whatever the count. */
	if (lambda_resize(ctx, req.body_len))
		return XDP_DROP;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *body = data + LAMBDA_BODY_OFF;
	for (__u32 i = 0; i < GRAY_MAX_PIXELS; i++) {
		__u8 *px = body + i * 4;
		if (!NF_FITS(px, 4, end))
			break;
		__u32 gray = (77 * px[0] + 150 * px[1] + 29 * px[2]) >> 8;
		if (!NF_FITS(body + i, 1, end))
			break;
		body[i] = gray;
	}
	if (lambda_resize(ctx, pixels))
		return XDP_DROP;
	return lambda_finish(ctx, pixels, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
