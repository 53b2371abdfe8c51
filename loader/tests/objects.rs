//! Real-world objects: the shapes of published XDP and tc programs. Several
//! programs in one object (`Options::program`), libbpf's section names
//! (`xdp1`, `xdp_prog`, `xdp.frags`; tc and tracing sections refused by
//! type), maps only another program uses, maps without `max_entries`
//! (`Options::map_sizes`), legacy map definitions of libbpf (20 bytes),
//! iproute2 (28) and eBPFlow (32), and kfuncs. C objects are built with
//! clang (`-O2 -g -target bpf`; skipped with a notice when clang is absent,
//! a failure with `NFBPF_REQUIRE_CLANG=1`), the rest are hand-made ELF.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use nfbpf_loader::{Abi, MapOrigin, MapType, Options, SectionKind, load, section_kind};
use nfbpf_vm::abi::{Abi as VmAbi, RxMeta, Verdict, execute_plain};
use nfbpf_vm::contract::map_handle;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use nfbpf_vm::{Insn, Program};
use std::collections::BTreeMap;

/// Declarations the C sources below share (no system headers needed).
const PRELUDE: &str = r#"
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long long uint64_t;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
struct __sk_buff { u32 len; };
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
char _license[] SEC("license") = "GPL";
"#;

/// Compile `src` (after the prelude) to object bytes; `None` without clang.
fn object(src: &str) -> Option<Vec<u8>> {
    let clang = clang()?;
    let tmp = scratch();
    let dir = tmp.path();
    let c = dir.join("obj.c");
    let o = dir.join("obj.o");
    std::fs::write(&c, format!("{PRELUDE}\n{src}")).unwrap();
    if let Err(e) = nfbpf_loader::compile::compile(&clang, &c, &o, Default::default(), &[]) {
        panic!("{e}");
    }
    let bytes = std::fs::read(&o).unwrap();
    Some(bytes)
}

fn err_with(bytes: &[u8], opts: &Options) -> String {
    match load(bytes, opts) {
        Ok(img) => panic!("loaded, expected an error:\n{}", img.listing()),
        Err(e) => e.to_string(),
    }
}

fn has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

fn program(name: &str) -> Options {
    Options {
        program: Some(name.into()),
        ..Options::default()
    }
}

const TWO_PROGRAMS: &str = r#"
SEC("xdp") int pass_all(struct xdp_md *ctx) { return 2; }
SEC("xdp/drop") int drop_all(struct xdp_md *ctx) { return 1; }
"#;

#[test]
fn several_programs_need_program_by_function_or_section() {
    let Some(bytes) = object(TWO_PROGRAMS) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "several programs",
            "pass_all (section xdp)",
            "drop_all (section xdp/drop)",
            "choose one with --program NAME",
        ],
    );
    // By function name.
    let img = load(&bytes, &program("drop_all")).unwrap();
    assert_eq!(
        (img.function.as_str(), img.section.as_str()),
        ("drop_all", "xdp/drop")
    );
    assert_eq!(img.abi, Abi::Xdp);
    // By section name.
    let img = load(&bytes, &program("xdp/drop")).unwrap();
    assert_eq!(img.function, "drop_all");
    let img = load(&bytes, &program("xdp")).unwrap();
    assert_eq!(img.function, "pass_all");
    // A name that is neither lists the programs.
    has(
        &err_with(&bytes, &program("nope")),
        &[
            "--program nope",
            "no function or code section of that name",
            "pass_all (section xdp), drop_all (section xdp/drop)",
        ],
    );
}

#[test]
fn old_xdp_section_names_are_xdp() {
    for sec in ["xdp1", "xdp_prog", "xdp.frags", "xdp/redirect"] {
        assert_eq!(section_kind(sec), SectionKind::Xdp, "{sec}");
    }
    let Some(bytes) = object(
        r#"
SEC("xdp1") int one(struct xdp_md *ctx) { return 2; }
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    assert_eq!((img.section.as_str(), img.abi), ("xdp1", Abi::Xdp));
    let bytes = object(
        r#"
SEC("xdp_prog") int main_prog(struct xdp_md *ctx) { return 1; }
"#,
    )
    .unwrap();
    let img = load(&bytes, &Options::default()).unwrap();
    assert_eq!(
        (img.function.as_str(), img.section.as_str(), img.abi),
        ("main_prog", "xdp_prog", Abi::Xdp)
    );
    // --program names the section or the function.
    assert_eq!(
        load(&bytes, &program("xdp_prog")).unwrap().function,
        "main_prog"
    );
    assert_eq!(
        load(&bytes, &program("main_prog")).unwrap().section,
        "xdp_prog"
    );
}

#[test]
fn tc_sections_select_the_tc_abi() {
    // libbpf's sched_cls section names (and `classifier...`, which older
    // libbpf took with any continuation).
    for sec in [
        "tc",
        "tc/ingress",
        "tc/egress",
        "tcx/ingress",
        "tcx/egress",
        "netkit/primary",
        "netkit/peer",
        "classifier",
        "classifier/x",
    ] {
        assert_eq!(section_kind(sec), SectionKind::Tc, "{sec}");
    }
    // Not libbpf sched_cls names: the user says what they are.
    for sec in ["tc/other", "tcx", "sched_cls", "tcp_filter", "prog"] {
        assert_eq!(section_kind(sec), SectionKind::Other, "{sec}");
    }
    let Some(bytes) = object(
        r#"
SEC("tc") int cls(struct __sk_buff *skb) { return 0; }
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    assert_eq!((img.function.as_str(), img.abi), ("cls", Abi::Tc));
    // The device does not run it, and says why, before any register write.
    let e = nfbpf_loader::device::check_abi(&img)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cls is a tc program") && e.contains("no tc mode"),
        "{e}"
    );
    // The user's ABI overrides the section's type.
    let opts = Options {
        abi: Some(Abi::Xdp),
        ..program("cls")
    };
    assert_eq!(load(&bytes, &opts).unwrap().abi, Abi::Xdp);
}

#[test]
fn tc_helpers_are_checked_with_the_reason() {
    let Some(bytes) = object(
        r#"
static long (*bpf_clone_redirect)(struct __sk_buff *skb, u32 ifindex, u64 flags) = (void *) 13;
SEC("tc") int cls(struct __sk_buff *skb) { return bpf_clone_redirect(skb, 1, 0); }
"#,
    ) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "helper 13 (clone_redirect) is not supported by the tc ABI",
            "two outputs",
            "9 skb_store_bytes",
        ],
    );
    let Some(bytes) = object(
        r#"
static u32 (*bpf_get_hash_recalc)(struct __sk_buff *skb) = (void *) 34;
SEC("tc") int cls(struct __sk_buff *skb) { return bpf_get_hash_recalc(skb) & 1; }
"#,
    ) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &["helper 34 (get_hash_recalc)", "random per-boot secret"],
    );
}

#[test]
fn tracing_sections_are_named_by_type() {
    for (sec, what) in [
        ("action", "a tc action (sched_act) program"),
        ("socket1", "a socket filter (socket_filter) program"),
        ("cgroup/skb", "a cgroup_skb program"),
        ("kprobe/sys_open", "a kprobe program"),
        ("tracepoint/syscalls/x", "a tracepoint program"),
    ] {
        assert_eq!(section_kind(sec), SectionKind::Unsupported(what), "{sec}");
    }
    let Some(bytes) = object(
        r#"
SEC("socket") int sock(struct __sk_buff *skb) { return 0; }
"#,
    ) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "section socket: a socket filter (socket_filter) program; nfbpf runs XDP, tc and SUME programs",
        ],
    );
    // Chosen by name: the same, with the function.
    has(
        &err_with(&bytes, &program("sock")),
        &[
            "section socket: a socket filter (socket_filter) program",
            "function sock",
            "--abi xdp, --abi tc or --abi sume",
        ],
    );
}

#[test]
fn other_sections_need_program_and_abi() {
    let mut b = ElfBuilder::new();
    b.code("prog", &[mov(0, 2), exit()])
        .func("entry", "prog", 0, 2);
    let bytes = b.build();
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "no XDP program",
            "entry (section prog)",
            "--program NAME",
            "--abi xdp, --abi tc or --abi sume",
        ],
    );
    has(
        &err_with(&bytes, &program("entry")),
        &[
            "section prog, function entry",
            "--abi xdp, --abi tc or --abi sume",
        ],
    );
    let opts = Options {
        abi: Some(Abi::Sume),
        ..program("prog")
    };
    let img = load(&bytes, &opts).unwrap();
    assert_eq!((img.function.as_str(), img.abi), ("entry", Abi::Sume));
}

#[test]
fn unused_percpu_map_does_not_block() {
    let Some(bytes) = object(
        r#"
struct { __uint(type, 6); __type(key, u32); __type(value, u64); __uint(max_entries, 4); } stats SEC(".maps");
struct { __uint(type, 7); __type(key, u32); __type(value, u64); __uint(max_entries, 4096); } events SEC(".maps");
struct { __uint(type, 1); __type(key, u32); __type(value, u32); __uint(max_entries, 8); } allow SEC(".maps");
SEC("xdp") int filter(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    return bpf_map_lookup_elem(&allow, &k) ? 2 : 1;
}
SEC("xdp/stats") int count(struct xdp_md *ctx) {
    u32 k = 0;
    u64 *v = bpf_map_lookup_elem(&stats, &k);
    if (v) *v += 1;
    return 2;
}
SEC("xdp/events") int events_prog(struct xdp_md *ctx) {
    u32 k = 0;
    return bpf_map_lookup_elem(&events, &k) ? 2 : 1;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &program("filter")).unwrap();
    let names: Vec<&str> = img.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["allow"]);
    assert_eq!(img.dropped_maps, ["stats", "events"]);
    img.program().unwrap();
    // A map the program references still needs a supported type.
    has(
        &err_with(&bytes, &program("events_prog")),
        &[
            "map events (section .maps)",
            "unsupported map type 7 (STACK_TRACE)",
        ],
    );
}

#[test]
fn unused_map_in_map_does_not_block() {
    let Some(bytes) = object(
        r#"
#define __array(name, val) typeof(val) *name[]
struct inner_t { __uint(type, 2); __type(key, u32); __type(value, u32); __uint(max_entries, 1); };
struct inner_t inner_map SEC(".maps");
struct {
    __uint(type, 12); __type(key, u32); __uint(max_entries, 1);
    __array(values, struct inner_t);
} outer SEC(".maps") = { .values = { &inner_map } };
struct { __uint(type, 1); __type(key, u32); __type(value, u32); __uint(max_entries, 8); } allow SEC(".maps");
SEC("xdp") int filter(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    return bpf_map_lookup_elem(&allow, &k) ? 2 : 1;
}
SEC("xdp/outer") int by_outer(struct xdp_md *ctx) {
    u32 k = 0;
    return bpf_map_lookup_elem(&outer, &k) ? 2 : 1;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &program("filter")).unwrap();
    assert_eq!(img.maps.len(), 1);
    assert_eq!(img.dropped_maps, ["inner_map", "outer"]);
    // The program that uses the outer map gets its inner map and the slot
    // `.values` fills.
    let img = load(&bytes, &program("by_outer")).unwrap();
    let (inner, _) = img.map("inner_map").unwrap();
    let (_, outer) = img.map("outer").unwrap();
    assert_eq!(outer.kind, nfbpf_loader::MapType::ArrayOfMaps);
    assert_eq!(
        outer.slots,
        [(0, nfbpf_loader::maps::SlotTarget::Map(inner))]
    );
    let t = outer.inner.as_ref().unwrap();
    assert_eq!(
        (t.kind, t.key_size, t.value_size, t.max_entries),
        (nfbpf_loader::MapType::Array, 4, 4, 1)
    );
}

#[test]
fn map_size_for_maps_without_max_entries() {
    let Some(bytes) = object(
        r#"
struct { __uint(type, 1); __type(key, u32); __type(value, u64); } flows SEC(".maps");
SEC("xdp") int count(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    return bpf_map_lookup_elem(&flows, &k) ? 2 : 1;
}
"#,
    ) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "map flows (section .maps)",
            "declared without max_entries",
            "pass --map-size flows=N",
        ],
    );
    let opts = Options {
        map_sizes: BTreeMap::from([("flows".to_string(), 128)]),
        ..Options::default()
    };
    let img = load(&bytes, &opts).unwrap();
    assert_eq!(img.maps[0].max_entries, 128);
    // A name the object does not have.
    let opts = Options {
        map_sizes: BTreeMap::from([("flow".to_string(), 128)]),
        ..Options::default()
    };
    has(
        &err_with(&bytes, &opts),
        &[
            "--map-size flow",
            "the object has no map flow",
            "its maps: flows",
        ],
    );
}

#[test]
fn map_size_for_legacy_defs_and_overrides() {
    let [l0, l1] = lddw(1);
    let build = |max: u32| {
        let mut b = ElfBuilder::new();
        b.code("xdp", &[l0, l1, exit()])
            .func("prog", "xdp", 0, 3)
            .reloc("xdp", 0, 1, "m");
        b.legacy_maps(&[("m", [1, 4, 4, max, 0])]);
        b.build()
    };
    has(
        &err_with(&build(0), &Options::default()),
        &["map m (section maps)", "pass --map-size m=N"],
    );
    let opts = Options {
        map_sizes: BTreeMap::from([("m".to_string(), 32)]),
        ..Options::default()
    };
    assert_eq!(load(&build(0), &opts).unwrap().maps[0].max_entries, 32);
    // Overrides a declared size.
    assert_eq!(load(&build(8), &opts).unwrap().maps[0].max_entries, 32);
    assert_eq!(
        load(&build(8), &Options::default()).unwrap().maps[0].max_entries,
        8
    );
}

/// An Ethernet + IPv4 frame from `src` to `dst`.
fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&50u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f
}

#[test]
fn ebpflow_32_byte_defs_load_and_run() {
    let Some(bytes) = object(
        r#"
struct bpf_map_def { unsigned int type; uint64_t key_size; uint64_t value_size; unsigned int max_entries; unsigned int map_flags; };
struct bpf_map_def SEC("maps") routes = { .type = 11, .key_size = 8, .value_size = 4, .max_entries = 64, .map_flags = 1 };
struct bpf_map_def SEC("maps") blocked = { .type = 1, .key_size = 4, .value_size = 4, .max_entries = 16 };
struct lpm_key { u32 prefixlen; u32 addr; };
SEC("xdp") int filter(struct xdp_md *ctx) {
    u8 *data = (u8 *)(long)ctx->data, *end = (u8 *)(long)ctx->data_end;
    if (data + 34 > end) return 2;
    u32 src, dst;
    __builtin_memcpy(&src, data + 26, 4);
    __builtin_memcpy(&dst, data + 30, 4);
    if (bpf_map_lookup_elem(&blocked, &src)) return 1;
    struct lpm_key k = { 32, dst };
    if (bpf_map_lookup_elem(&routes, &k)) return 3;
    return 2;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    let defs: Vec<_> = img
        .maps
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.kind,
                m.key_size,
                m.value_size,
                m.max_entries,
                m.flags,
                m.origin.clone(),
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("routes", MapType::LpmTrie, 8, 4, 64, 1, MapOrigin::Legacy),
            ("blocked", MapType::Hash, 4, 4, 16, 0, MapOrigin::Legacy),
        ]
    );
    // Run it: 10.0.0.0/8 routed (XDP_TX), 192.168.0.9 blocked (XDP_DROP).
    let prog: Program = img.program().unwrap();
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| nfbpf_loader::install::configure_maps(&img, &mut d.maps))
        .unwrap();
    let mut route = 8u32.to_le_bytes().to_vec();
    route.extend_from_slice(&[10, 0, 0, 0]);
    dev.with(|d| {
        d.maps
            .update(map_handle(0), &route, &7u32.to_le_bytes(), 0)
            .value
    })
    .unwrap();
    dev.with(|d| {
        d.maps
            .update(map_handle(1), &[192, 168, 0, 9], &1u32.to_le_bytes(), 0)
            .value
    })
    .unwrap();
    let run = |f: Vec<u8>| {
        let ex = execute_plain(VmAbi::Xdp, &prog, &dev, 0, &f, &RxMeta::default()).unwrap();
        assert_eq!(ex.fault, None);
        (ex.r0, ex.verdict)
    };
    assert_eq!(run(ipv4([1, 2, 3, 4], [10, 1, 2, 3])).0, 3);
    assert!(matches!(
        run(ipv4([1, 2, 3, 4], [10, 1, 2, 3])).1,
        Verdict::Tx(_)
    ));
    assert_eq!(
        run(ipv4([192, 168, 0, 9], [10, 1, 2, 3])),
        (1, Verdict::Drop)
    );
    assert_eq!(run(ipv4([1, 2, 3, 4], [11, 0, 0, 1])), (2, Verdict::Pass));
}

/// eBPFlow's own programs (SUME ABI), in the shapes of its published
/// `lpm_forwarding` and `statefulfirewall`: its headers' type numbers
/// (`#define BPF_MAP_TYPE_HASH 2`), an LPM_TRIE whose `key_size` counts the
/// address alone, helpers that pass `*(uint64_t *)keyptr`, a 1-byte HASH key
/// read from a 1-byte stack variable, its rules file's `KEY MASK VALUE`
/// lines. They load, take the rules and forward as eBPFlow means them; the
/// device refuses the LPM map, naming the reason.
#[test]
fn ebpflow_programs_in_their_own_abi() {
    let Some(bytes) = object(
        r#"
struct bpf_map_def { unsigned int type; uint64_t key_size; uint64_t value_size; unsigned int max_entries; unsigned int map_flags; };
#define BPF_MAP_TYPE_HASH 2
#define BPF_MAP_TYPE_LPM_TRIE 11
struct bpf_map_def SEC("maps") route = { .type = BPF_MAP_TYPE_LPM_TRIE, .key_size = 4, .value_size = 4, .max_entries = 16 };
struct bpf_map_def SEC("maps") inports = { .type = BPF_MAP_TYPE_HASH, .key_size = 1, .value_size = 1, .max_entries = 256 };
static uint64_t (*__map_lookup)(void *map, uint64_t key) = (void *) 1;
static int (*__map_update)(void *map, uint64_t key, uint64_t value, unsigned long long flags) = (void *) 2;
static inline uint64_t ef_lookup(void *map, void *keyptr) { return __map_lookup(map, *(uint64_t *)keyptr); }
static inline int ef_update(void *map, void *keyptr, void *valueptr) {
    return __map_update(map, *(uint64_t *)keyptr, *(uint64_t *)valueptr, 0);
}
struct packet { u8 in_port, src_queue, dst_queue; u8 ts[8]; unsigned short length; u8 headroom[19]; u8 eth[14]; } __attribute__((packed));
uint64_t prog(struct packet *pkt)
{
    u8 port_0 = 0, port_1 = 1;
    if (ef_lookup(&inports, &port_1) == 0xFFFFFFFF) {
        if (pkt->in_port == port_1)
            ef_update(&inports, &port_1, &port_0);
        return 0xfff0;
    }
    if (pkt->eth[12] != 0x08 || pkt->eth[13] != 0)
        return 0xfff0;
    uint64_t out = ef_lookup(&route, pkt->eth + 14 + 16);
    return out == 0xFFFFFFFF ? 0xfff1 : out;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    assert_eq!(img.abi, Abi::Sume);
    let defs: Vec<_> = img
        .maps
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.kind,
                m.key_size,
                m.value_size,
                m.data_key,
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("route", MapType::LpmTrie, 8, 4, true),
            ("inports", MapType::Hash, 1, 1, false),
        ]
    );
    // eBPFlow's lpmf.rules: 192.168.0.0/25 to port 1, 192.168.0.128/26 to 0.
    let rules = "route 0x000000000000a8c0 0x0000000001FFFFFF 0x0000000000000001\n\
                 route 0x000000008000a8c0 0x0000000003FFFFFF 0x0000000000000000\n";
    let entries = nfbpf_loader::rules::parse(rules, &img.maps).unwrap();
    assert_eq!(entries[0].key, [25, 0, 0, 0, 192, 168, 0, 0]);
    assert_eq!(entries[1].key, [26, 0, 0, 0, 192, 168, 0, 128]);
    let bad = nfbpf_loader::rules::parse("route 0xa8c0 0xff00ff 1\n", &img.maps)
        .unwrap_err()
        .to_string();
    has(&bad, &["mask 0xff00ff", "route", "low N bits"]);

    let prog: Program = img.program().unwrap();
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| nfbpf_loader::install::configure_maps(&img, &mut d.maps))
        .unwrap();
    for e in &entries {
        dev.with(|d| d.maps.update(map_handle(e.map), &e.key, &e.value, 0).value)
            .unwrap();
    }
    let run = |in_port: u8, dst: [u8; 4]| {
        let rx = RxMeta {
            in_port: in_port.into(),
            ..RxMeta::default()
        };
        let ex =
            execute_plain(VmAbi::Sume, &prog, &dev, 0, &ipv4([10, 9, 9, 9], dst), &rx).unwrap();
        assert_eq!(ex.fault, None);
        ex.r0
    };
    // Stateful: dropped until a packet arrives on port 1, which opens it.
    assert_eq!(run(0, [192, 168, 0, 5]), 0xfff0);
    assert_eq!(run(1, [192, 168, 0, 5]), 0xfff0);
    assert_eq!(run(0, [192, 168, 0, 5]), 1, "/25 to port 1");
    assert_eq!(run(0, [192, 168, 0, 130]), 0, "/26 to port 0");
    assert_eq!(run(0, [192, 168, 0, 200]), 0xfff1, "no route");
    assert_eq!(run(0, [10, 0, 0, 1]), 0xfff1, "no route");

    // The same definitions in the XDP ABI are Linux's: type 2 is ARRAY,
    // and an LPM_TRIE key starts with the prefix length.
    let xdp = err_with(
        &bytes,
        &Options {
            abi: Some(Abi::Xdp),
            ..Options::default()
        },
    );
    has(&xdp, &["map inports", "ARRAY maps need a 4-byte key"]);

    // The device's TCAM takes Linux's key layout: refused with the reason.
    let mut device = nfbpf_vm::device::Device::new(Default::default()).unwrap();
    let e = nfbpf_loader::device::load_rows(&mut device, &img)
        .unwrap_err()
        .to_string();
    has(
        &e,
        &["route", "eBPFlow's form", "interpreter and the pipeline"],
    );
}

#[test]
fn iproute2_28_byte_defs() {
    let Some(bytes) = object(
        r#"
struct bpf_elf_map { u32 type, size_key, size_value, max_elem, flags, id, pinning; };
struct bpf_elf_map SEC("maps") ports = { .type = 2, .size_key = 4, .size_value = 8, .max_elem = 4, .id = 1, .pinning = 2 };
struct bpf_elf_map SEC("maps") hosts = { .type = 1, .size_key = 4, .size_value = 4, .max_elem = 32, .pinning = 2 };
SEC("xdp") int prog(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    if (bpf_map_lookup_elem(&hosts, &k)) return 1;
    return bpf_map_lookup_elem(&ports, &k) ? 2 : 1;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    let defs: Vec<_> = img
        .maps
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.kind,
                m.key_size,
                m.value_size,
                m.max_entries,
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("ports", MapType::Array, 4, 8, 4),
            ("hosts", MapType::Hash, 4, 4, 32),
        ]
    );
}

/// iproute2's `struct bpf_elf_map` of today (36 bytes, as bpf-examples'
/// traffic-pacing-edt declares it): read by the definition's size, from the
/// symbol or (no symbol size) the section's size over the number of maps.
#[test]
fn iproute2_36_byte_defs() {
    let Some(bytes) = object(
        r#"
struct bpf_elf_map { u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx; };
struct bpf_elf_map SEC("maps") delay = { .type = 1, .size_key = 4, .size_value = 16, .max_elem = 16384, .pinning = 2 };
struct bpf_elf_map SEC("maps") rates = { .type = 2, .size_key = 4, .size_value = 8, .max_elem = 8, .inner_idx = 3 };
SEC("tc") int prog(struct __sk_buff *skb) {
    u32 k = skb->len;
    if (bpf_map_lookup_elem(&delay, &k)) return 2;
    return bpf_map_lookup_elem(&rates, &k) ? 0 : 2;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    let defs: Vec<_> = img
        .maps
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.kind,
                m.key_size,
                m.value_size,
                m.max_entries,
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("delay", MapType::Hash, 4, 16, 16384),
            ("rates", MapType::Array, 4, 8, 8),
        ]
    );
    // Without a symbol size: 36 bytes from the section.
    let img = load(
        &legacy_object(&words(&[1, 8, 24, 64, 0, 0, 2, 0, 0]), 0),
        &Options::default(),
    )
    .unwrap();
    let m = &img.maps[0];
    assert_eq!(
        (m.kind, m.key_size, m.value_size, m.max_entries),
        (MapType::Hash, 8, 24, 64)
    );
}

/// Maps libbpf creates with sizes the BTF leaves out: a QUEUE without a
/// key, a RINGBUF without key or value, a PERF_EVENT_ARRAY without key,
/// value or max_entries (one event per CPU: the device's four engines).
#[test]
fn btf_event_and_queue_maps_take_libbpf_defaults() {
    let Some(bytes) = object(
        r#"
struct { __uint(type, 22); __type(value, u32); __uint(max_entries, 8); } q SEC(".maps");
struct { __uint(type, 27); __uint(max_entries, 8192); } rb SEC(".maps");
struct { __uint(type, 4); } pe SEC(".maps");
static long (*push)(void *map, const void *value, u64 flags) = (void *) 87;
static long (*out)(void *ring, void *data, u64 size, u64 flags) = (void *) 130;
static long (*perf)(void *ctx, void *map, u64 flags, void *data, u64 size) = (void *) 25;
SEC("xdp") int prog(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    push(&q, &k, 0);
    out(&rb, &k, 4, 0);
    return perf(ctx, &pe, 0xffffffffULL, &k, 4) ? 1 : 2;
}
"#,
    ) else {
        return;
    };
    let img = load(&bytes, &Options::default()).unwrap();
    let defs: Vec<_> = img
        .maps
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.kind,
                m.key_size,
                m.value_size,
                m.max_entries,
            )
        })
        .collect();
    assert_eq!(
        defs,
        [
            ("q", MapType::Queue, 0, 4, 8),
            ("rb", MapType::Ringbuf, 0, 0, 8192),
            ("pe", MapType::PerfEventArray, 4, 4, 4),
        ]
    );
    img.program().unwrap();
}

/// An XDP program referencing map `m`, defined by `def` in section `maps`
/// with a symbol of `sym_size` bytes (0: no size, the layout comes from
/// the section).
fn legacy_object(def: &[u8], sym_size: u64) -> Vec<u8> {
    let [l0, l1] = lddw(1);
    let mut b = ElfBuilder::new();
    b.code("xdp", &[l0, l1, exit()])
        .func("prog", "xdp", 0, 3)
        .reloc("xdp", 0, 1, "m")
        .section("maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, def.to_vec())
        .object("m", "maps", 0, sym_size);
    b.build()
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn legacy_def_sizes_from_symbol_or_section() {
    // 32 bytes without a symbol size: eBPFlow's layout from the section.
    let ebpflow = words(&[1, 0, 4, 0, 8, 0, 16, 0]);
    let img = load(&legacy_object(&ebpflow, 0), &Options::default()).unwrap();
    let m = &img.maps[0];
    assert_eq!((m.key_size, m.value_size, m.max_entries), (4, 8, 16));
    // A 20-byte libbpf definition.
    let img = load(
        &legacy_object(&words(&[1, 4, 8, 16, 0]), 20),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(img.maps[0].value_size, 8);
    // eBPFlow's padding must be zero: another 32-byte layout is refused.
    let not_ebpflow = words(&[1, 4, 8, 16, 0, 0, 0, 0]);
    has(
        &err_with(&legacy_object(&not_ebpflow, 32), &Options::default()),
        &[
            "map m (section maps)",
            "eBPFlow's layout",
            "padding at offset 4 is 0x4",
        ],
    );
}

#[test]
fn bad_legacy_def_size() {
    let bytes = legacy_object(&words(&[1, 4, 4, 8, 0, 0]), 24);
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "map m (section maps)",
            "a legacy map definition of 24 bytes",
            "20 (libbpf",
            "28 (iproute2",
            "36 (iproute2",
            "32 (eBPFlow",
        ],
    );
}

#[test]
fn kfuncs_are_refused_by_name() {
    // As clang emits them: a local call relocated against an extern.
    let Some(bytes) = object(
        r#"
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, u64 *ts) __attribute__((section(".ksyms")));
SEC("xdp") int stamp(struct xdp_md *ctx) {
    u64 ts = 0;
    bpf_xdp_metadata_rx_timestamp(ctx, &ts);
    return ts ? 1 : 2;
}
"#,
    ) else {
        return;
    };
    has(
        &err_with(&bytes, &Options::default()),
        &[
            "section xdp, function stamp, instruction",
            "call to kfunc bpf_xdp_metadata_rx_timestamp",
            "kfuncs are not supported",
        ],
    );
    // src = 2 (BPF_PSEUDO_KFUNC_CALL), as libbpf leaves it.
    let mut b = ElfBuilder::new();
    b.code("xdp", &[kfunc_call(0), exit()])
        .func("prog", "xdp", 0, 2)
        .sym("bpf_kfunc", None, 0, 0, STT_FUNC, STB_GLOBAL)
        .reloc("xdp", 0, 10, "bpf_kfunc");
    has(
        &err_with(&b.build(), &Options::default()),
        &[
            "section xdp, function prog, instruction 0",
            "call to kfunc bpf_kfunc (src = 2",
        ],
    );
    let mut b = ElfBuilder::new();
    b.code("xdp", &[kfunc_call(77), exit()])
        .func("prog", "xdp", 0, 2);
    has(
        &err_with(&b.build(), &Options::default()),
        &["instruction 0", "call to kfunc id 77 (src = 2"],
    );
}

/// A kfunc call as an object carries it: the helper call's opcode with
/// `src` = 2 (`BPF_PSEUDO_KFUNC_CALL`), which no ISA row has.
fn kfunc_call(id: i32) -> Insn {
    Insn { src: 2, ..call(id) }
}
