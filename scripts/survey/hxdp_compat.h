/* What the kernel's samples/bpf tree gave hXDP-Artifacts' xdp_progs (they
 * were built inside linux-5.6.4/samples/bpf): the kernel's short integer
 * types, swap(), and the legacy map definition of the old bpf_helpers.h.
 * Forced in with -include by scripts/survey/build.py. */
#include <linux/types.h>
#include <linux/udp.h>
#include <linux/tcp.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
/* The kernel's byte order helpers (BPF is little-endian here). */
#define htons(x) ((__u16)__builtin_bswap16(x))
#define ntohs(x) ((__u16)__builtin_bswap16(x))
#define htonl(x) ((__u32)__builtin_bswap32(x))
#define ntohl(x) ((__u32)__builtin_bswap32(x))
#define swap(a, b) do { typeof(a) __swap_tmp = (a); (a) = (b); (b) = __swap_tmp; } while (0)
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};
