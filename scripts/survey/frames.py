#!/usr/bin/env python3
"""The survey's varied frames, as a classic pcap (nanosecond timestamps).

    frames.py OUT.pcap [--count N] [--seed S]

`nfbpf traffic` makes well-formed IPv4 UDP, TCP and ICMP only; the survey
wants what published parsers branch on: Ethernet and 802.1Q (and QinQ);
IPv4 and IPv6 with TCP, UDP, ICMP/ICMPv6 and GRE; ARP; unknown EtherTypes;
headers cut short; 14 to 1,478 bytes. Addresses come from small pools that
include the survey's FIB routes (docs/fib.md) so lookups hit. The i-th
frame written arrives at i microseconds, so an output frame's timestamp names its input.
Deterministic for a seed (Python's random.Random).
"""

import argparse
import random
import struct

V4 = ["10.0.0.1", "10.0.1.2", "10.1.0.5", "10.1.2.3", "10.3.0.9",
      "192.168.1.1", "192.168.1.20", "172.16.0.5", "8.8.8.8", "127.0.0.1"]
V6 = ["fd00::1", "fd00::5", "fd00::1:7", "fd00::1:1", "fe80::1",
      "2001:db8::1", "2001:db8::2", "::1", "ff02::1"]
PORTS = [53, 80, 443, 22, 1234, 8080, 67, 68, 123, 4789]


def v4(s):
    return bytes(int(x) for x in s.split("."))


def v6(s):
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def mac(self):
        r = self.r
        k = r.randrange(10)
        if k == 0:
            return b"\xff" * 6
        if k == 1:
            return bytes([0x33, 0x33, 0, 0, 0, 1])
        if k == 2:
            return bytes(r.randrange(256) for _ in range(6))
        return bytes([2, 0, 0, 0, 0, r.choice([1, 2, 3])])

    def ip4(self):
        r = self.r
        return v4(r.choice(V4)) if r.random() < 0.9 else r.randbytes(4)

    def ip6(self):
        r = self.r
        return v6(r.choice(V6)) if r.random() < 0.9 else r.randbytes(16)

    def port(self):
        r = self.r
        return r.choice(PORTS) if r.random() < 0.85 else r.randrange(65536)

    def l4(self, proto, v6_, src, dst):
        r = self.r
        if proto == 17:
            payload = r.randbytes(r.choice([0, 8, 32]))
            h = struct.pack("!HHHH", self.port(), self.port(), 8 + len(payload), 0)
            return h + payload
        if proto == 6:
            flags = r.choice([0x02, 0x10, 0x12, 0x18, 0x11, 0x04, 0x01])
            opts = b""
            if flags == 0x02 and r.random() < 0.5:
                opts = bytes([2, 4, 5, 0xB4, 4, 2, 8, 10]) + r.randbytes(8) + bytes([1, 3, 3, 7])
            off = (20 + len(opts)) // 4
            return struct.pack("!HHIIBBHHH", self.port(), self.port(),
                               r.getrandbits(32), r.getrandbits(32),
                               off << 4, flags, 65535, 0, 0) + opts
        if proto in (1, 58):
            t = r.choice([8, 0, 3, 11] if proto == 1 else [128, 129, 135, 136, 1, 2])
            body = struct.pack("!BBHHH", t, 0, 0, r.randrange(65536), r.randrange(8)) + r.randbytes(16)
            if proto == 1:
                body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
            return body
        if proto == 47:
            inner = r.choice([0x0800, 0x86DD, 0x6558])
            return struct.pack("!HH", r.choice([0, 0x2000]), inner) + self.inner_ip4()
        return r.randbytes(r.randrange(0, 24))

    def inner_ip4(self):
        src, dst = self.ip4(), self.ip4()
        u = self.l4(17, False, src, dst)
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, src, dst)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:] + u

    def ipv4(self):
        r = self.r
        proto = r.choices([17, 6, 1, 47, r.randrange(256)], [35, 35, 12, 8, 10])[0]
        src, dst = self.ip4(), self.ip4()
        opts = bytes([1, 1, 1, 0]) if r.random() < 0.05 else b""
        l4 = self.l4(proto, False, src, dst)
        ttl = r.choice([0, 1, 2, 64, 64, 64, 128, 255])
        frag = r.choice([0x4000] * 8 + [0, 0x2000, 0x0010])
        tot = 20 + len(opts) + len(l4)
        h = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(opts) // 4), r.choice([0, 0, 0x10, 0xB8, 0x03]),
                        tot, r.randrange(65536), frag, ttl, proto, 0, src, dst) + opts
        c = csum(h) if r.random() < 0.95 else r.randrange(65536)
        h = h[:10] + struct.pack("!H", c) + h[12:]
        return 0x0800, h + l4

    def ipv6(self):
        r = self.r
        nh = r.choices([17, 6, 58, 47, 0, 44, r.randrange(256)], [30, 30, 15, 5, 5, 5, 10])[0]
        src, dst = self.ip6(), self.ip6()
        ext = b""
        proto = nh
        if nh in (0, 44):  # hop-by-hop or fragment header, then UDP
            proto = 17
            ext = bytes([17, 0]) + bytes(6)
        l4 = self.l4(proto, True, src, dst)
        hl = r.choice([0, 1, 2, 64, 64, 64, 255])
        h = struct.pack("!IHBB16s16s", 0x60000000 | (r.randrange(256) << 20), len(ext) + len(l4), nh, hl, src, dst)
        return 0x86DD, h + ext + l4

    def arp(self, smac):
        r = self.r
        op = r.choice([1, 2])
        return 0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, smac,
                                   self.ip4(), bytes(6) if op == 1 else self.mac(), self.ip4())

    def frame(self):
        r = self.r
        dmac, smac = self.mac(), self.mac()
        k = r.randrange(100)
        if k < 45:
            et, body = self.ipv4()
        elif k < 75:
            et, body = self.ipv6()
        elif k < 85:
            et, body = self.arp(smac)
        else:
            et = r.choice([0x88CC, 0x8847, 0x88A8, 0x0842, 0x9000, 0x0800, 0x86DD, r.randrange(65536)])
            body = r.randbytes(r.randrange(0, 64))
        tags = b""
        v = r.randrange(100)
        if v < 15:
            tags = struct.pack("!HH", 0x8100, r.choice([1, 2, 100, 4095]) | (r.randrange(8) << 13))
        elif v < 20:
            tags = struct.pack("!HHHH", 0x88A8, r.choice([10, 20]), 0x8100, r.choice([1, 100]))
        f = dmac + smac + tags + struct.pack("!H", et) + body
        # Mostly padded to Ethernet's minimum or a random larger size; some
        # cut inside the headers.
        c = r.randrange(100)
        if c < 8:
            n = 14 + r.randrange(max(1, len(f) - 14))
        elif c < 20:
            n = r.randrange(max(60, len(f)), 1479)
        else:
            n = max(60, len(f)) + r.randrange(0, 32)
        n = max(14, min(n, 1478))
        f = f + r.randbytes(max(0, n - len(f)))
        return f[:n]


def main():
    a = argparse.ArgumentParser()
    a.add_argument("out")
    a.add_argument("--count", type=int, default=500)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--tc", action="store_true",
                   help="leave out the IPv4 and IPv6 frames shorter than their IP header, "
                   "which the kernel's tc test run refuses (EINVAL)")
    o = a.parse_args()
    g = Gen(o.seed)
    with open(o.out, "wb") as f:
        # Classic pcap, nanosecond magic, Ethernet.
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        left = 0
        for i in range(o.count):
            fr = g.frame()
            et = struct.unpack("!H", fr[12:14])[0]
            if o.tc and (et == 0x0800 and len(fr) < 34 or et == 0x86DD and len(fr) < 54):
                left += 1
                continue
            t = (i - left + 1) * 1000
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(fr), len(fr)))
            f.write(fr)
    print(f"{o.out}: {o.count - left} frames, seed {o.seed}" + (f" ({left} left out)" if left else ""))


if __name__ == "__main__":
    main()
