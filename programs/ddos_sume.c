/*
 * DDoS mitigation for the SUME ABI: UDP/TCP packets (20-byte IPv4 header,
 * no options) to a blocked destination
 * port are dropped; every IPv4 source has a packet counter, and a source
 * above THRESHOLD packets is dropped. Everything else is forwarded as Wire
 * does (in_port ^ 1). Keys and values go by value (helpers 1..3).
 *
 * blocked: destination port -> 1.   counters: source address -> packets.
 */
#include "sume.h"

#define THRESHOLD 1000

struct sume_map_def blocked SUME_SEC("maps") = {
	.type = SUME_MAP_HASH,
	.key_size = 2,
	.value_size = 1,
	.max_entries = 16,
};

struct sume_map_def counters SUME_SEC("maps") = {
	.type = SUME_MAP_HASH,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 64,
};

u64 ddos(struct sume_md *md)
{
	u8 *eth = (u8 *)md + SUME_MD_BYTES;
	u8 *ip = eth + 14;
	u64 out = md->in_port ^ 1;

	if (md->length < 38 || eth[12] != 0x08 || eth[13] != 0x00)
		return out;
	u8 proto = ip[9];
	if (proto == 6 || proto == 17) {
		u64 dport = (u64)ip[22] << 8 | ip[23];
		if (sume_map_lookup(&blocked, dport) != SUME_MISS)
			return SUME_DROP;
	}
	u64 src = (u64)ip[12] << 24 | (u64)ip[13] << 16 | (u64)ip[14] << 8 | ip[15];
	u64 n = sume_map_lookup(&counters, src);
	n = (n == SUME_MISS) ? 1 : n + 1;
	sume_map_update(&counters, src, n);
	if (n > THRESHOLD)
		return SUME_DROP;
	return out;
}
