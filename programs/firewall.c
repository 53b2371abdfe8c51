/* Simple stateless firewall (XDP ABI), after hXDP's "simple firewall".
 *
 * IPv4 TCP/UDP packets are dropped when their destination port is in a
 * HASH map of blocked ports, or when their 5-tuple maps to verdict 1 in a
 * HASH map of flow verdicts; everything else passes. Both maps are declared
 * in the legacy `maps` section (five u32 per map), as older toolchains and
 * the published system's examples do.
 */
#include "nf_common.h"
#include <linux/tcp.h>
#include <linux/udp.h>

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct legacy_map_def flows SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(struct flow_key),
	.value_size = sizeof(__u32),
	.max_entries = 64,
};

struct legacy_map_def blocked_ports SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u16),
	.value_size = sizeof(__u8),
	.max_entries = 16,
};

SEC("xdp/firewall")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if (!NF_FITS(ip, sizeof(*ip), end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	struct flow_key key = {
		.saddr = ip->saddr,
		.daddr = ip->daddr,
		.proto = ip->protocol,
	};
	/* Fixed 20-byte IP header (no options), like hXDP's firewall. */
	void *l4 = (void *)ip + sizeof(*ip);
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if (!NF_FITS(tcp, sizeof(*tcp), end))
			return XDP_DROP;
		key.sport = tcp->source;
		key.dport = tcp->dest;
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if (!NF_FITS(udp, sizeof(*udp), end))
			return XDP_DROP;
		key.sport = udp->source;
		key.dport = udp->dest;
	} else {
		return XDP_PASS;
	}

	if (bpf_map_lookup_elem(&blocked_ports, &key.dport))
		return XDP_DROP;
	__u32 *verdict = bpf_map_lookup_elem(&flows, &key);
	if (verdict && *verdict == 1)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
