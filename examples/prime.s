# Is r1 prime? Trial division, as in the conformance suite's prime.data,
# on a larger number: 1000003 is prime, so the loop runs ~1M times.
# Run: nfbpf run examples/prime.s --budget 20000000   (prints r0 = 1 and the counts;
# the default budget of 2^20 instructions per packet stops it as a runaway)
mov %r1, 1000003
mov %r0, 0x1
mov %r2, 0x2
jgt %r1, 0x2, check
ja done
next:
add %r2, 0x1
mov %r0, 0x1
jge %r2, %r1, done
check:
mov %r3, %r1
div %r3, %r2
mul %r3, %r2
mov %r4, %r1
sub %r4, %r3
mov %r0, 0x0
jne %r4, 0x0, next
done:
exit
