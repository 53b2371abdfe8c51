/* DDoS mitigation (XDP ABI).
 *
 * Counts packets per IPv4 source address in a HASH map and drops a source's
 * packets once its count passes a threshold. The threshold is a read-only
 * global (`.rodata`, patchable before loading), the number of dropped
 * packets a `.bss` global, and the packet counter of the program a `.data`
 * global: the loader turns each section into a one-entry ARRAY map.
 */
#include "nf_common.h"

const volatile __u64 threshold = 1000;
__u64 dropped;
__u64 seen = 0x5eed;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} counters SEC(".maps");

SEC("xdp")
int ddos(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	__sync_fetch_and_add(&seen, 1);
	if (!NF_FITS(ip, sizeof(*ip), end))
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 src = ip->saddr;
	__u64 *count = bpf_map_lookup_elem(&counters, &src);
	if (!count) {
		__u64 one = 1;
		bpf_map_update_elem(&counters, &src, &one, BPF_NOEXIST);
		return XDP_PASS;
	}
	__sync_fetch_and_add(count, 1);
	if (*count > threshold) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
