/* IPv4 router (XDP ABI).
 *
 * Longest-prefix match of the destination address in an LPM_TRIE (the
 * hardware's TCAM). A hit gives the next hop's MAC addresses and an output
 * slot; the router rewrites both MACs, decrements the TTL with an
 * incremental checksum update (RFC 1624) and redirects through a DEVMAP.
 * Misses and non-IPv4 frames go to the host (XDP_PASS); TTL <= 1 drops.
 */
#include "nf_common.h"

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct next_hop {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 port; /* DEVMAP slot */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4_key);
	__type(value, struct next_hop);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} tx_ports SEC(".maps");

static __always_inline void ttl_decrement(struct iphdr *ip)
{
	/* The TTL is the high byte of the 16-bit word it shares with the
	 * protocol: decrementing it adds 0x0100 to the checksum (RFC 1624). */
	__u32 sum = ip->check + bpf_htons(0x0100);
	ip->check = (__u16)(sum + (sum >> 16));
	ip->ttl--;
}

SEC("xdp")
int router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if (!NF_FITS(ip, sizeof(*ip), end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ttl <= 1)
		return XDP_DROP;

	struct lpm_v4_key key = { .prefixlen = 32, .addr = ip->daddr };
	struct next_hop *nh = bpf_map_lookup_elem(&routes, &key);
	if (!nh)
		return XDP_PASS;

	ttl_decrement(ip);
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return bpf_redirect_map(&tx_ports, nh->port, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
