/* Wire in the existing SUME system's conventions ("SUME ABI"): the entry
 * function is the only function, in `.text`; r1 points at the 32-byte
 * metadata header in front of the Ethernet frame; r0 is the output port.
 * Packets leave on the neighbouring port: `in_port ^ 1`. */
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

u64 wire(struct sume_md *md)
{
	return md->in_port ^ 1;
}
