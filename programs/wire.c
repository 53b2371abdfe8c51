/* Wire (XDP ABI): every packet leaves on the neighbouring port, the XDP
 * spelling of the published system's `return in_port ^ 1`. */
#include "nf_common.h"

SEC("xdp")
int wire(struct xdp_md *ctx)
{
	return bpf_redirect(ctx->ingress_ifindex ^ 1, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
