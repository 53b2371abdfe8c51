/* The existing SUME system's program conventions ("SUME ABI").
 *
 * r1 points at a 32-byte metadata header followed by the Ethernet frame;
 * r0 at exit is the output port, or SUME_DROP / SUME_CONTROLLER /
 * SUME_FLOOD. The entry function is the only function in `.text` (no SEC()).
 * Helpers 1..3 take the map and a 64-bit key (and value) by value; lookup
 * returns the value, SUME_MISS when the key is absent. Keys and values are
 * at most 8 bytes (the map table's masks cut them to the map's sizes).
 */
#ifndef SUME_H
#define SUME_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

struct sume_md {
	u8 in_port;
	u8 src_queue;
	u8 dst_queue;
	u32 timestamp_sec;
	u32 timestamp_nsec;
	u16 length;
	u8 headroom[19];
} __attribute__((packed));

#define SUME_MD_BYTES 32
#define SUME_DROP 0xfff0
#define SUME_CONTROLLER 0xfff1
#define SUME_FLOOD 0xffff
#define SUME_MISS 0xffffffffULL

/* A map in the legacy `maps` section: type, key_size, value_size,
 * max_entries, flags. */
struct sume_map_def {
	u32 type;
	u32 key_size;
	u32 value_size;
	u32 max_entries;
	u32 map_flags;
};

#define SUME_MAP_HASH 1
#define SUME_MAP_ARRAY 2
#define SUME_SEC(name) __attribute__((section(name), used))

static u64 (*const sume_map_lookup)(void *map, u64 key) = (void *)1;
static u64 (*const sume_map_update)(void *map, u64 key, u64 value) = (void *)2;
static u64 (*const sume_map_delete)(void *map, u64 key) = (void *)3;

#endif
