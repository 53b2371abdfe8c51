/* L2 learning switch in the SUME ABI (include/sume.h): the map helpers take
 * the key and value by value. Learns source MAC -> input port, forwards to
 * the learned port of the destination MAC, floods unknown destinations.
 * The map is a legacy `maps` definition with 8-byte key and value, the
 * widest the SUME ABI passes in registers.
 */
#include "sume.h"

struct sume_map_def mac_table SUME_SEC("maps") = {
	.type = SUME_MAP_HASH,
	.key_size = 8,
	.value_size = 8,
	.max_entries = 64,
};

static inline __attribute__((always_inline)) u64 mac48(const u8 *m)
{
	return (u64)m[0] << 40 | (u64)m[1] << 32 | (u64)m[2] << 24 |
	       (u64)m[3] << 16 | (u64)m[4] << 8 | (u64)m[5];
}

u64 l2_switch(struct sume_md *md)
{
	const u8 *eth = (const u8 *)md + SUME_MD_BYTES;
	u64 dst = mac48(eth);
	u64 src = mac48(eth + 6);

	sume_map_update(&mac_table, src, md->in_port);
	u64 port = sume_map_lookup(&mac_table, dst);
	if (port == SUME_MISS)
		return SUME_FLOOD;
	if (port == md->in_port)
		return SUME_DROP;
	return port;
}
