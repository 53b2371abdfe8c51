/* XDP_DROP: drop every packet (the hXDP baseline). */
#include "nf_common.h"

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
