/* Wire in the existing SUME system's conventions ("SUME ABI", see
 * include/sume.h): the entry function is the only function, in `.text`; r1
 * points at the 32-byte metadata header in front of the Ethernet frame; r0
 * is the output port. Packets leave on the neighbouring port: `in_port ^ 1`.
 */
#include "sume.h"

u64 wire(struct sume_md *md)
{
	return md->in_port ^ 1;
}
