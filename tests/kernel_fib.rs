//! `bpf_fib_lookup` against the Linux kernel: routers of this file's own
//! (XDP in the style of xdp-tutorial's `xdp_router`, IPv4 and IPv6; a tc
//! variant; the flags DIRECT, OUTPUT, SKIP_NEIGH and DIRECT|TBID) run on
//! the interpreter, the pipeline model and the kernel over seeded random
//! traffic, the kernel in a network namespace built from the same
//! forwarding table (`nfbpf_loader::kernel::FibNamespace`), the engines
//! with that table in their device state. Per packet the return value and
//! the output frame are identical (each program writes the helper's
//! return value and the whole `struct bpf_fib_lookup` as the helper left
//! it into the frame, so every output field is compared); at the end the
//! counters map is. The counters (one per return value) show that the
//! traffic reached every branch.
//!
//! Needs root (BPF and a network namespace): without it the tests print a
//! `SKIPPED` line, unless `NFBPF_REQUIRE_KERNEL` is set, when they fail.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::{Rng, clang, nfbpf};
use nfbpf_loader::image::Image;
use nfbpf_loader::kernel::{FibNamespace, KernelProgram};
use nfbpf_loader::{Cpu, Options, load_file};
use nfbpf_vm::abi::{EngineKind, RxMeta, execute_on};
use nfbpf_vm::contract::map_handle;
use nfbpf_vm::fib::Fib;
use nfbpf_vm::interp::Config;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::path::PathBuf;
use std::sync::Arc;

mod common;

/// The table every test uses: a gateway route, direct routes, locked
/// route MTUs, interfaces of several MTUs (one under IPv6's 1280, one not
/// forwarding), reject routes of each type, a second table, neighbours
/// present and missing.
const TABLE: &str = "\
dev 2 mac 02:00:00:00:00:02 mtu 1500
dev 3 mac 02:00:00:00:00:03 mtu 1400
dev 4 mac 02:00:00:00:00:04 mtu 1280 forwarding off
dev 5 mac 02:00:00:00:00:05 mtu 900
route 192.168.0.0/16 dev 2
route 10.0.0.0/8 via 192.168.1.1 dev 2 metric 5
route 10.1.0.0/16 dev 3
route 10.2.0.0/16 dev 5 mtu 700
route 10.3.0.0/16 via 192.168.3.3 dev 3
route blackhole 10.9.0.0/16
route unreachable 10.8.0.0/16
route prohibit 10.7.0.0/16
route 172.16.0.0/12 via 192.168.4.4 dev 4 table 100
route 2001:db8::/32 via fe80::1 dev 2
route 2001:db8:1::/48 dev 3 mtu 1300
route 2001:db8:2::/48 via fe80::3 dev 3 metric 7
route blackhole 2001:db8:9::/48
route unreachable 2001:db8:8::/48
route prohibit 2001:db8:7::/48
route 2001:db8:100::/48 dev 4 table 100
neigh 192.168.1.1 lladdr 02:aa:00:00:00:01 dev 2
neigh 10.1.2.3 lladdr 02:aa:00:00:00:02 dev 3
neigh 10.1.2.4 lladdr 02:aa:00:00:00:03 dev 3
neigh 10.2.0.1 lladdr 02:aa:00:00:00:04 dev 5
neigh 192.168.4.4 lladdr 02:aa:00:00:00:05 dev 4
neigh fe80::1 lladdr 02:aa:00:00:00:06 dev 2
neigh 2001:db8:1::5 lladdr 02:aa:00:00:00:07 dev 3
neigh 2001:db8:100::1 lladdr 02:aa:00:00:00:08 dev 4
";

/// Input ports: the table's interfaces and the loopback.
const PORTS: [u32; 5] = [1, 2, 3, 4, 5];

/// The router. `CTX` is the context type, `PASS`/`DROP` the ABI's
/// actions, `REDIRECT_OK` what `bpf_redirect` returns on it, `FLAGS` the
/// lookup's flags. Counter index: the return value 0..9, 10 -EINVAL, 11
/// -ENODEV, 12 other negative (-EAFNOSUPPORT), 13 not IP, 14 TTL expired.
/// Byte 60 of the frame steers the odd cases: an interface that does not
/// exist, a family that is neither IPv4 nor IPv6, a short params size, tc
/// without `tot_len`, and the table id.
const ROUTER_C: &str = r#"
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 k)
{
    __u64 *c = bpf_map_lookup_elem(&counters, &k);
    if (c)
        *c += 1;
}

static __always_inline void ip_decrease_ttl(struct iphdr *iph)
{
    __u32 check = iph->check;
    check += bpf_htons(0x0100);
    iph->check = (__u16)(check + (check >= 0xFFFF));
    iph->ttl--;
}

SEC(SECTION)
int fib_router(CTX *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct bpf_fib_lookup fib;
    __builtin_memset(&fib, 0, sizeof(fib));
    if (data + 132 > end)
        return DROP;
    unsigned char *p = data;
    struct iphdr *iph = data + sizeof(*eth);
    struct ipv6hdr *ip6h = data + sizeof(*eth);
    __u16 proto = eth->h_proto;
    if (proto == bpf_htons(ETH_P_IP)) {
        if (iph->ttl <= 1) {
            count(14);
            return PASS;
        }
        fib.family = AF_INET;
        fib.tos = iph->tos;
        fib.l4_protocol = iph->protocol;
        fib.tot_len = bpf_ntohs(iph->tot_len);
        fib.ipv4_src = iph->saddr;
        fib.ipv4_dst = iph->daddr;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        if (ip6h->hop_limit <= 1) {
            count(14);
            return PASS;
        }
        fib.family = AF_INET6;
        fib.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0FFFFFFF);
        fib.l4_protocol = ip6h->nexthdr;
        fib.tot_len = bpf_ntohs(ip6h->payload_len);
        __builtin_memcpy(fib.ipv6_src, &ip6h->saddr, 16);
        __builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, 16);
    } else {
        count(13);
        return PASS;
    }
    unsigned char k = p[60];
    fib.ifindex = (k & 15) == 15 ? 9 : ctx->ingress_ifindex;
    if ((k & 48) == 48)
        fib.tot_len = 0;
#ifdef TBID
    fib.tbid = (k >> 6) == 0 ? 100 : (k >> 6) == 1 ? 0 : (k >> 6) == 2 ? 254 : 77;
#endif
    if ((k & 15) == 13)
        fib.family = 7;
    int plen = (k & 15) == 14 ? 32 : sizeof(fib);
    long rc = bpf_fib_lookup(ctx, &fib, plen, FLAGS);
    /* The helper's answer and the struct as it left it, into the frame. */
    *(__s32 *)(p + 64) = rc;
    __builtin_memcpy(p + 68, &fib, 64);
    if (rc >= 0 && rc <= 9)
        count(rc);
    else if (rc == -22)
        count(10);
    else if (rc == -19)
        count(11);
    else
        count(12);
    if (rc != BPF_FIB_LKUP_RET_SUCCESS)
        return PASS;
    if (fib.family == AF_INET)
        ip_decrease_ttl(iph);
    else
        ip6h->hop_limit--;
    __builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
    if (bpf_redirect(fib.ifindex, 0) != REDIRECT_OK)
        return DROP;
    return REDIRECT_OK;
}

char LICENSE[] SEC("license") = "GPL";
"#;

const XDP_DEFS: &str = "#define SECTION \"xdp\"\n#define CTX struct xdp_md\n\
     #define PASS XDP_PASS\n#define DROP XDP_DROP\n#define REDIRECT_OK XDP_REDIRECT\n";
const TC_DEFS: &str = "#define SECTION \"tc\"\n#define CTX struct __sk_buff\n\
     #define PASS TC_ACT_OK\n#define DROP TC_ACT_SHOT\n#define REDIRECT_OK TC_ACT_REDIRECT\n\
     #include <linux/pkt_cls.h>\n";

fn image(name: &str, defs: &str, flags: &str, cpu: Cpu) -> Image {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kernel_fib");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.c", cpu.flag().trim_start_matches('-')));
    std::fs::write(&path, format!("{defs}#define FLAGS ({flags})\n{ROUTER_C}")).unwrap();
    let opts = Options {
        cpu,
        ..Options::default()
    };
    load_file(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Destinations hitting every route, neighbour present and missing, the
/// loopback's, and addresses no route holds.
const V4_DSTS: [[u8; 4]; 14] = [
    [10, 5, 0, 1],
    [10, 1, 2, 3],
    [10, 1, 2, 4],
    [10, 1, 9, 9],
    [10, 2, 0, 1],
    [10, 3, 0, 1],
    [10, 9, 1, 1],
    [10, 8, 1, 1],
    [10, 7, 1, 1],
    [11, 0, 0, 1],
    [172, 16, 5, 5],
    [192, 168, 4, 4],
    [192, 168, 1, 1],
    [127, 0, 0, 1],
];
const V6_DSTS: [&str; 11] = [
    "2001:db8:5::1",
    "2001:db8:1::5",
    "2001:db8:1::6",
    "2001:db8:2::1",
    "2001:db8:9::1",
    "2001:db8:8::1",
    "2001:db8:7::1",
    "2001:db9::1",
    "fe80::5",
    "2001:db8:100::1",
    "ff02::1",
];

/// One frame: IPv4 (60 %), IPv6 (35 %) or ARP, 132..=1514 bytes (a third
/// over 1000), TTL sometimes 1, `tot_len`/`payload_len` mostly true.
fn packet(r: &mut Rng) -> Vec<u8> {
    let len = if r.chance(35) {
        1000 + r.below(515) as usize
    } else {
        132 + r.below(300) as usize
    };
    let mut f: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0xbb, 0, 0, 0, 1]);
    let kind = r.below(100);
    let hdr_len = |r: &mut Rng, true_len: usize| -> u16 {
        if r.chance(85) {
            true_len as u16
        } else {
            r.below(1600) as u16
        }
    };
    if kind < 60 {
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        let tl = hdr_len(r, len - 14);
        f[16..18].copy_from_slice(&tl.to_be_bytes());
        f[22] = if r.chance(5) { 1 } else { 64 };
        f[26..30].copy_from_slice(&[10, 200, 0, 1]);
        let dst = if r.chance(8) {
            (r.next() as u32).to_be_bytes()
        } else {
            V4_DSTS[r.below(V4_DSTS.len() as u64) as usize]
        };
        f[30..34].copy_from_slice(&dst);
    } else if kind < 95 {
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60 | (f[14] & 15);
        let pl = hdr_len(r, len - 54);
        f[18..20].copy_from_slice(&pl.to_be_bytes());
        f[21] = if r.chance(5) { 1 } else { 64 };
        let src: std::net::Ipv6Addr = if r.chance(5) {
            "fe80::9".parse().unwrap()
        } else {
            "2001:db8:aaaa::1".parse().unwrap()
        };
        f[22..38].copy_from_slice(&src.octets());
        let dst: std::net::Ipv6Addr = V6_DSTS[r.below(V6_DSTS.len() as u64) as usize]
            .parse()
            .unwrap();
        f[38..54].copy_from_slice(&dst.octets());
    } else {
        f[12..14].copy_from_slice(&[0x08, 0x06]);
    }
    f
}

/// The engines' devices with the table, and the kernel program in its
/// namespace; `None` (after a SKIPPED line) without root.
struct Setup {
    image: Image,
    prog: nfbpf_vm::Program,
    devs: [SharedDeviceState; 2],
    kernel: KernelProgram,
    _ns: FibNamespace,
}

fn skip(why: String) -> Option<Setup> {
    assert!(
        std::env::var_os("NFBPF_REQUIRE_KERNEL").is_none(),
        "the kernel oracle is required (NFBPF_REQUIRE_KERNEL is set): {why}"
    );
    eprintln!("SKIPPED: kernel oracle unavailable: {why}");
    None
}

fn setup(image: Image, fib: &Fib) -> Option<Setup> {
    let kernel = match KernelProgram::load(&image) {
        Ok(k) => k,
        Err(e) if e.is_unavailable() => return skip(e.to_string()),
        Err(e) => panic!("{e}"),
    };
    let ns = match FibNamespace::enter(fib) {
        Ok(ns) => ns,
        Err(e) if e.is_unavailable() => return skip(e.to_string()),
        Err(e) => panic!("{e}"),
    };
    let prog = image.program().unwrap();
    let devs = [0, 1].map(|_| {
        let d = SharedDeviceState::new(UnitsConfig::default());
        d.with(|s| {
            nfbpf_loader::install::configure_maps(&image, &mut s.maps).unwrap();
            s.fib = Arc::new(fib.clone());
        });
        d
    });
    Some(Setup {
        image,
        prog,
        devs,
        kernel,
        _ns: ns,
    })
}

impl Setup {
    /// `n` random packets: interpreter, pipeline and kernel agree on each;
    /// the counters at the end (the same on all three).
    fn traffic(&self, name: &str, seed: u64, n: usize) -> Vec<u64> {
        let mut r = Rng(seed | 1);
        let cfg = Config::default();
        let abi = self.image.abi;
        for i in 0..n {
            let pkt = packet(&mut r);
            let in_port = PORTS[r.below(PORTS.len() as u64) as usize];
            let rx = RxMeta {
                in_port,
                ..RxMeta::default()
            };
            let run =
                |k, d| execute_on(k, abi, &self.prog, d, 0, &pkt, &rx, &cfg, &mut NoTrace).unwrap();
            let a = run(EngineKind::Interp, &self.devs[0]);
            let b = run(EngineKind::Pipeline, &self.devs[1]);
            let ctx = format!("{name} packet {i} (in {in_port}, {} bytes)", pkt.len());
            assert!(a.fault.is_none(), "{ctx}: fault {:?}", a.fault);
            assert_eq!(
                (a.r0, a.verdict, &a.frame),
                (b.r0, b.verdict, &b.frame),
                "{ctx}: engines differ"
            );
            let k = self
                .kernel
                .run(&pkt, in_port)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(
                u64::from(k.retval),
                a.r0 & 0xffff_ffff,
                "{ctx}: kernel retval vs r0"
            );
            assert_eq!(
                k.data_out, a.frame,
                "{ctx}: kernel output frame differs (helper's r0 at 64, the struct at 68)\nin {pkt:02x?}"
            );
        }
        let counts = |d: &SharedDeviceState| -> Vec<u64> {
            (0u32..16)
                .map(|k| {
                    let v = d
                        .with(|s| s.maps.lookup_value(map_handle(0), &k.to_le_bytes()))
                        .unwrap()
                        .unwrap();
                    u64::from_le_bytes(v.try_into().unwrap())
                })
                .collect()
        };
        let ours = counts(&self.devs[0]);
        assert_eq!(ours, counts(&self.devs[1]), "{name}: counters (engines)");
        let theirs: Vec<u64> = (0u32..16)
            .map(|k| {
                let v = self.kernel.lookup(0, &k.to_le_bytes()).unwrap().unwrap();
                u64::from_le_bytes(v.try_into().unwrap())
            })
            .collect();
        assert_eq!(theirs, ours, "{name}: counters (kernel vs engines)");
        eprintln!(
            "{name}: {n} packets identical on kernel, interpreter and pipeline; \
             r0 0..9, -EINVAL, -ENODEV, other, not IP, TTL: {ours:?}"
        );
        ours
    }
}

const PACKETS: usize = 3000;
const CPUS: [Cpu; 2] = [Cpu::V3, Cpu::V4];

fn table() -> Fib {
    Fib::parse(TABLE).unwrap()
}

/// Counter indices.
const SUCCESS: usize = 0;
const BLACKHOLE: usize = 1;
const UNREACHABLE: usize = 2;
const PROHIBIT: usize = 3;
const NOT_FWDED: usize = 4;
const FWD_DISABLED: usize = 5;
const NO_NEIGH: usize = 7;
const FRAG_NEEDED: usize = 8;
const EINVAL: usize = 10;
const ENODEV: usize = 11;
const OTHER: usize = 12;

fn run_router(name: &str, defs: &str, flags: &str, seed: u64) -> Option<Vec<Vec<u64>>> {
    if !clang() {
        return None;
    }
    let mut all = Vec::new();
    for cpu in CPUS {
        let img = image(name, defs, flags, cpu);
        let s = setup(img, &table())?;
        all.push(s.traffic(&format!("{name} ({})", cpu.flag()), seed, PACKETS));
    }
    Some(all)
}

/// The XDP router without flags: every return value the table can give.
#[test]
fn xdp_router_matches_the_kernel() {
    let Some(all) = run_router("fib_xdp", XDP_DEFS, "0", 0x5eed_f1b0) else {
        return;
    };
    for c in all {
        for (i, what) in [
            (SUCCESS, "success"),
            (BLACKHOLE, "blackhole"),
            (UNREACHABLE, "unreachable"),
            (PROHIBIT, "prohibit"),
            (NOT_FWDED, "not forwarded"),
            (FWD_DISABLED, "forwarding disabled"),
            (NO_NEIGH, "no neighbour"),
            (FRAG_NEEDED, "fragmentation needed"),
            (EINVAL, "-EINVAL (params size)"),
            (ENODEV, "-ENODEV (no interface)"),
            (OTHER, "-EAFNOSUPPORT (family)"),
        ] {
            assert!(c[i] > 0, "{what} never seen: {c:?}");
        }
    }
}

/// tc: the same router through `bpf_skb_fib_lookup` (MTU checked against
/// `tot_len` when given, else the packet against the output interface).
#[test]
fn tc_router_matches_the_kernel() {
    let Some(all) = run_router("fib_tc", TC_DEFS, "0", 0x5eed_f1b1) else {
        return;
    };
    for c in all {
        for i in [
            SUCCESS,
            BLACKHOLE,
            NOT_FWDED,
            FWD_DISABLED,
            NO_NEIGH,
            FRAG_NEEDED,
            EINVAL,
        ] {
            assert!(c[i] > 0, "counter {i} never seen: {c:?}");
        }
    }
}

/// SKIP_NEIGH: no neighbour lookup, so never NO_NEIGH; successes without
/// a destination MAC.
#[test]
fn skip_neigh_matches_the_kernel() {
    let Some(all) = run_router(
        "fib_skip",
        XDP_DEFS,
        "BPF_FIB_LOOKUP_SKIP_NEIGH",
        0x5eed_f1b2,
    ) else {
        return;
    };
    for c in all {
        assert!(c[SUCCESS] > 0 && c[NO_NEIGH] == 0, "{c:?}");
    }
}

/// OUTPUT: the lookup from the egress side of the input interface (IPv4
/// takes only routes out of it); DIRECT: the main table only, no rules.
#[test]
fn output_and_direct_match_the_kernel() {
    let Some(all) = run_router("fib_output", XDP_DEFS, "BPF_FIB_LOOKUP_OUTPUT", 0x5eed_f1b3) else {
        return;
    };
    for c in all {
        assert!(c[SUCCESS] > 0 && c[NOT_FWDED] > 0, "{c:?}");
    }
    let Some(all) = run_router("fib_direct", TC_DEFS, "BPF_FIB_LOOKUP_DIRECT", 0x5eed_f1b4) else {
        return;
    };
    for c in all {
        assert!(c[SUCCESS] > 0 && c[BLACKHOLE] > 0, "{c:?}");
    }
}

/// DIRECT|TBID: tables 100 (its own routes), 0 and 254 (main), 77 (none).
#[test]
fn table_ids_match_the_kernel() {
    let defs = format!("#define TBID 1\n{XDP_DEFS}");
    let Some(all) = run_router(
        "fib_tbid",
        &defs,
        "BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID",
        0x5eed_f1b5,
    ) else {
        return;
    };
    for c in all {
        assert!(
            c[SUCCESS] > 0 && c[NOT_FWDED] > 0 && c[BLACKHOLE] > 0,
            "{c:?}"
        );
    }
}

/// SRC: the loopback's addresses are the only ones: IPv6 gets ::1, IPv4
/// 0.0.0.0 (the struct written into the frame says which).
#[test]
fn src_flag_matches_the_kernel() {
    let Some(all) = run_router("fib_src", XDP_DEFS, "BPF_FIB_LOOKUP_SRC", 0x5eed_f1b6) else {
        return;
    };
    for c in all {
        assert!(c[SUCCESS] > 0, "{c:?}");
    }
}

/// `nfbpf run --fib`: a bad line is named with its file and line; the
/// device refuses the helper naming it and the reason; a table the kernel
/// would refuse is reported with the `ip` command and its line.
#[test]
fn fib_errors_name_what_and_where() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("router.c");
    std::fs::write(&src, format!("{XDP_DEFS}#define FLAGS 0\n{ROUTER_C}")).unwrap();
    let fib = dir.path().join("table.fib");
    std::fs::write(
        &fib,
        "dev 2 mac 02:00:00:00:00:02\n# a comment\nroute 10.0.0.0/8 via 10.0.0.1 dev 3\n",
    )
    .unwrap();
    let pcap = dir.path().join("in.pcap");
    std::fs::write(&pcap, one_packet_pcap()).unwrap();
    let (code, _, err) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--fib",
        fib.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains(
            "table.fib: fib line 3: `route 10.0.0.0/8 via 10.0.0.1 dev 3`: no interface 3"
        ),
        "{err}"
    );
    // A good table: the run goes through and the lookup answers.
    std::fs::write(&fib, TABLE).unwrap();
    let (code, out, err) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--fib",
        fib.to_str().unwrap(),
        "--in-port",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"redirect\"") && out.contains("\"port\":2"),
        "{out}"
    );
    // The device does not run the helper.
    let img = image("fib_dev", XDP_DEFS, "0", Cpu::V3);
    let e = nfbpf_loader::device::check_abi(&img)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("helper 69 fib_lookup") && e.contains("no forwarding table"),
        "{e}"
    );
    // The kernel, in a namespace of the same table, redirects it too.
    if KernelProgram::load(&img).is_ok() {
        let run = |port: &str| {
            nfbpf(&[
                "run",
                src.to_str().unwrap(),
                "--pcap",
                pcap.to_str().unwrap(),
                "--fib",
                fib.to_str().unwrap(),
                "--in-port",
                port,
                "--engine",
                "kernel",
                "--json",
            ])
        };
        let (code, out, err) = run("3");
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("\"redirect\""), "{out}");
        // An interface the table does not have is none of the namespace's.
        let (code, _, err) = run("9");
        assert_ne!(code, 0);
        assert!(err.contains("input port 9"), "{err}");
    }
}

/// A pcap of one IPv4 frame to 10.5.0.1 (the gateway route out of 2).
fn one_packet_pcap() -> Vec<u8> {
    let mut f = vec![0u8; 200];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 3]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&186u16.to_be_bytes());
    f[22] = 64;
    f[30..34].copy_from_slice(&[10, 5, 0, 1]);
    let mut p = Vec::new();
    p.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&4u16.to_le_bytes());
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(&(f.len() as u32).to_le_bytes());
    p.extend_from_slice(&(f.len() as u32).to_le_bytes());
    p.extend_from_slice(&f);
    p
}
