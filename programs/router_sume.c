/*
 * IPv4 router for the SUME ABI: longest-prefix match of the destination on
 * the TCAM (LPM_TRIE with 8-byte keys passed by value: prefix length in the
 * low 32 bits, the address as it sits in the packet in the high 32), the
 * next hop's MAC written as destination, TTL decremented with an RFC 1624
 * checksum update, and the packet sent out of the route's port.
 *
 * routes: value = next-hop MAC << 16 | output port.
 * Not IPv4, too short, or no route: to the controller; TTL <= 1: dropped.
 */
#include "sume.h"

#define SUME_MAP_LPM_TRIE 11

struct sume_map_def routes SUME_SEC("maps") = {
	.type = SUME_MAP_LPM_TRIE,
	.key_size = 8,
	.value_size = 8,
	.max_entries = 64,
	.map_flags = 1, /* BPF_F_NO_PREALLOC, as Linux requires for LPM */
};

u64 router(struct sume_md *md)
{
	u8 *eth = (u8 *)md + SUME_MD_BYTES;
	u8 *ip = eth + 14;

	if (md->length < 34)
		return SUME_CONTROLLER;
	if (eth[12] != 0x08 || eth[13] != 0x00 || (ip[0] >> 4) != 4)
		return SUME_CONTROLLER;
	if (ip[8] <= 1)
		return SUME_DROP;

	u32 daddr = (u32)ip[16] | (u32)ip[17] << 8 | (u32)ip[18] << 16 | (u32)ip[19] << 24;
	u64 hop = sume_map_lookup(&routes, (u64)daddr << 32 | 32);
	if (hop == SUME_MISS)
		return SUME_CONTROLLER;

	/* TTL - 1: the checksum word holding TTL grows by 0x0100 (RFC 1624). */
	u32 sum = ((u32)ip[10] << 8 | ip[11]) + 0x0100;
	sum = (sum + (sum >> 16)) & 0xffff;
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
	ip[8] -= 1;
	for (int i = 0; i < 6; i++)
		eth[i] = hop >> (56 - 8 * i);
	return hop & 0xffff;
}
