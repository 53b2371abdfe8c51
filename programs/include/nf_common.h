/* Shared definitions for the nfbpf network functions (XDP ABI).
 *
 * Build: clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu \
 *        -Iprograms/include -c FILE.c -o FILE.o
 */
#ifndef NF_COMMON_H
#define NF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* A map in the legacy `maps` section: five u32, the layout the loader reads
 * (type, key_size, value_size, max_entries, flags). libbpf's headers no
 * longer ship this struct, so it is spelled out here. */
struct legacy_map_def {
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
};

/* Bounds check of `len` bytes at `p` against the end of the packet. */
#define NF_FITS(p, len, end) ((void *)(p) + (len) <= (void *)(end))

#endif
