/*
 * Flow-counting router: the three map kinds in one XDP function.
 *
 * - `config` ARRAY[1] {enabled, default_port}: when disabled, every packet
 *   passes to the host;
 * - `counters` HASH source address -> packets (atomic add in place);
 * - `routes` LPM_TRIE {prefixlen, daddr} -> output port.
 * IPv4 packets are counted per source, then redirected to the route's port,
 * or to default_port when no prefix matches. Everything else passes.
 *
 * Built with BTF-defined maps (`.maps`, needs -g); flow_router_legacy.c is
 * the same function with the legacy `maps` section.
 */
#include "nf_common.h"

struct config {
	__u32 enabled;
	__u32 default_port;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr;
};

#ifdef FLOW_ROUTER_LEGACY
struct legacy_map_def config SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct config),
	.max_entries = 1,
};
struct legacy_map_def counters SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
};
struct legacy_map_def routes SEC("maps") = {
	.type = BPF_MAP_TYPE_LPM_TRIE,
	.key_size = sizeof(struct lpm_v4_key),
	.value_size = sizeof(__u32),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};
#else
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct config);
	__uint(max_entries, 1);
} config SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} counters SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");
#endif

SEC("xdp")
int flow_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 zero = 0;

	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->enabled)
		return XDP_PASS;
	if (!NF_FITS(ip, sizeof(*ip), end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 src = ip->saddr;
	__u64 *n = bpf_map_lookup_elem(&counters, &src);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&counters, &src, &one, BPF_NOEXIST);
	}

	struct lpm_v4_key key = { .prefixlen = 32, .addr = ip->daddr };
	__u32 *port = bpf_map_lookup_elem(&routes, &key);
	return bpf_redirect(port ? *port : cfg->default_port, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
