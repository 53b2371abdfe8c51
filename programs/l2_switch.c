/* L2 learning switch (XDP ABI).
 *
 * Learns source MAC -> ingress port in a HASH map, then looks the
 * destination MAC up: a known destination is redirected to its port, an
 * unknown one (or broadcast) goes to the host stack (XDP_PASS stands in for
 * flooding, which XDP cannot express). MACs are keyed as u64 (6 bytes,
 * zero-extended) by a static, non-inlined subprogram, so the object also
 * exercises bpf-to-bpf calls (R_BPF_64_32).
 */
#include "nf_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, 64);
} mac_table SEC(".maps");

static __attribute__((noinline)) __u64 mac_key(const __u8 *m)
{
	return (__u64)m[0] << 40 | (__u64)m[1] << 32 | (__u64)m[2] << 24 |
	       (__u64)m[3] << 16 | (__u64)m[4] << 8 | (__u64)m[5];
}

SEC("xdp")
int l2_switch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (!NF_FITS(eth, sizeof(*eth), end))
		return XDP_DROP;

	__u64 src = mac_key(eth->h_source);
	__u32 port = ctx->ingress_ifindex;
	bpf_map_update_elem(&mac_table, &src, &port, BPF_ANY);

	__u64 dst = mac_key(eth->h_dest);
	__u32 *out = bpf_map_lookup_elem(&mac_table, &dst);
	if (!out || *out == port)
		return XDP_PASS;
	return bpf_redirect(*out, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
