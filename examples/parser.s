# Ethernet / IPv4 / UDP parser: checks ethertype, version, IHL and protocol,
# verifies the IPv4 header checksum (10 half-words, folded), then classifies
# on the UDP destination port: r0 = 1 not IPv4/UDP or bad checksum, 2 DNS (53),
# 4 below 1024, 3 otherwise.
# Run: nfbpf trace examples/parser.s --mem "$(cat examples/udp64.hex)" --stats
mov %r0, 1
ldxh %r2, [%r1+12]
be16 %r2
jne %r2, 0x800, out
ldxb %r3, [%r1+14]
mov %r4, %r3
rsh %r4, 4
jne %r4, 4, out
and %r3, 15
jlt %r3, 5, out
lsh %r3, 2
mov %r5, 0
mov %r6, %r1
add %r6, 14
mov %r7, 0
sum:
ldxh %r8, [%r6+0]
be16 %r8
add %r5, %r8
add %r6, 2
add %r7, 2
jlt %r7, %r3, sum
mov %r8, %r5
rsh %r8, 16
and %r5, 0xffff
add %r5, %r8
mov %r8, %r5
rsh %r8, 16
add %r5, %r8
and %r5, 0xffff
jne %r5, 0xffff, out
ldxb %r4, [%r1+23]
jne %r4, 17, out
mov %r6, %r1
add %r6, 14
add %r6, %r3
ldxh %r7, [%r6+2]
be16 %r7
mov %r0, 2
jeq %r7, 53, out
jlt %r7, 1024, drop
mov %r0, 3
ja out
drop:
mov %r0, 4
out:
exit
