//! Real-world objects on the command line: `--program` on `run`, `disasm`,
//! `load`, `trace`, `cosim` and `fn create`; `--map-size`; `-v` naming the
//! maps left out; the errors for tc sections and objects with several
//! programs.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::nfbpf;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// `name` in the test's own temporary directory (removed with it).
fn tmp(d: &tempfile::TempDir, name: &str) -> PathBuf {
    d.path().join(name)
}

/// Two XDP programs and a SOCKMAP map (a type nfbpf does not run)
/// only `count_all` uses; `flows` has
/// no max_entries.
const TWO_XDP: &str = r#"
typedef unsigned int u32;
typedef unsigned long long u64;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
struct { __uint(type, 15); __type(key, u32); __type(value, u32); __uint(max_entries, 1); } stats SEC(".maps");
struct { __uint(type, 1); __type(key, u32); __type(value, u32); } flows SEC(".maps");
SEC("xdp") int pass_all(struct xdp_md *ctx) { return 2; }
SEC("xdp/drop") int drop_all(struct xdp_md *ctx) { return 1; }
SEC("xdp/count") int count_all(struct xdp_md *ctx) {
    u32 k = 0;
    u32 *v = bpf_map_lookup_elem(&stats, &k);
    if (v) *v += 1;
    return 2;
}
SEC("xdp/flows") int by_flow(struct xdp_md *ctx) {
    u32 k = ctx->ingress_ifindex;
    return bpf_map_lookup_elem(&flows, &k) ? 1 : 2;
}
char _license[] SEC("license") = "GPL";
"#;

fn two_xdp(d: &tempfile::TempDir) -> String {
    let p = tmp(d, "two_xdp.c");
    std::fs::write(&p, TWO_XDP).unwrap();
    p.display().to_string()
}

fn pcap(d: &tempfile::TempDir) -> String {
    let p = tmp(d, "in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&p).unwrap()).unwrap();
    for i in 0..2u64 {
        let f = common::ipv4_frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 53, 64);
        w.write_packet(&PcapPacket::new(Duration::from_micros(i), 64, &f))
            .unwrap();
    }
    p.display().to_string()
}

#[test]
fn run_needs_program_and_takes_it_by_function_or_section() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let (prog, pcap) = (two_xdp(&tmpdir), pcap(&tmpdir));
    let (code, _, err) = nfbpf(&["run", &prog, "--pcap", &pcap]);
    assert_eq!(code, 5);
    for p in [
        "several programs",
        "pass_all (section xdp)",
        "drop_all (section xdp/drop)",
        "--program NAME",
    ] {
        assert!(err.contains(p), "{err:?} lacks {p:?}");
    }
    // By function, by section.
    for (name, action) in [("drop_all", "drop"), ("xdp", "pass"), ("xdp/drop", "drop")] {
        let (code, out, err) = nfbpf(&["run", &prog, "--pcap", &pcap, "--program", name]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("2 packets: {action} 2")),
            "{name}: {out}"
        );
    }
    // -v names the program and the maps left out (the SOCKMAP only
    // count_all uses does not stop drop_all).
    let (code, _, err) = nfbpf(&["run", &prog, "--pcap", &pcap, "--program", "drop_all", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("program drop_all (section xdp/drop"), "{err}");
    assert!(
        err.contains("maps the program does not use, left out: stats, flows"),
        "{err}"
    );
    // count_all uses it: the map type is the error.
    let (code, _, err) = nfbpf(&["run", &prog, "--pcap", &pcap, "--program", "count_all"]);
    assert_eq!(code, 5);
    assert!(
        err.contains("map stats (section .maps)") && err.contains("SOCKMAP"),
        "{err}"
    );
}

#[test]
fn map_size_gives_max_entries() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let (prog, pcap) = (two_xdp(&tmpdir), pcap(&tmpdir));
    let (code, _, err) = nfbpf(&["run", &prog, "--pcap", &pcap, "--program", "by_flow"]);
    assert_eq!(code, 5);
    assert!(
        err.contains("map flows (section .maps)") && err.contains("pass --map-size flows=N"),
        "{err}"
    );
    let (code, out, err) = nfbpf(&[
        "run",
        &prog,
        "--pcap",
        &pcap,
        "--program",
        "by_flow",
        "--map-size",
        "flows=16",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 packets: pass 2"), "{out}");
    let (code, _, err) = nfbpf(&[
        "run",
        &prog,
        "--pcap",
        &pcap,
        "--program",
        "by_flow",
        "--map-size",
        "flows",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected NAME=N"), "{err}");
    let (code, _, err) = nfbpf(&[
        "run",
        &prog,
        "--pcap",
        &pcap,
        "--program",
        "by_flow",
        "--map-size",
        "flow=4",
    ]);
    assert_eq!(code, 5);
    assert!(
        err.contains("--map-size flow: the object has no map flow"),
        "{err}"
    );
}

#[test]
fn disasm_load_and_trace_take_program() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let prog = two_xdp(&tmpdir);
    let (code, out, err) = nfbpf(&["disasm", &prog, "--program", "drop_all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("drop_all"), "{out}");
    assert!(!out.contains("pass_all"), "{out}");
    let (code, _, err) = nfbpf(&["disasm", &prog]);
    assert_eq!(code, 5);
    assert!(err.contains("--program NAME"), "{err}");

    let (code, out, err) = nfbpf(&["load", &prog, "-n", "--program", "xdp/drop"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("swapped in"), "{out}");

    let frame: String = common::ipv4_frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 53, 64)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (code, out, err) = nfbpf(&["trace", &prog, "--program", "drop_all", "--mem", &frame]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("r0 = 0x1 (1) after"), "{out}");
}

#[test]
fn other_sections_and_tc_sections() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let p = tmp(&tmpdir, "sections.c");
    std::fs::write(
        &p,
        r#"
typedef unsigned long long u64;
struct __sk_buff { unsigned int len; };
__attribute__((section("tc"), used)) int cls(struct __sk_buff *skb) { return skb->len > 100 ? 2 : 0; }
__attribute__((section("socket"), used)) int sock(struct __sk_buff *skb) { return 0; }
"#,
    )
    .unwrap();
    // The tc program is the object's program; tc names its actions.
    let (code, out, err) = nfbpf(&[
        "run",
        p.to_str().unwrap(),
        "--pcap",
        &pcap(&tmpdir),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["abi"], "tc", "{out}");
    // Two 64-byte frames: len <= 100, TC_ACT_OK.
    assert_eq!(
        (&summary["ok"], &summary["packets"]),
        (&2.into(), &2.into()),
        "{out}"
    );
    // The device does not run it, and says so before writing a register.
    let (code, _, err) = nfbpf(&["load", p.to_str().unwrap(), "--program", "cls", "--dry-run"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cls is a tc program")
            && err.contains("interpreter, the pipeline model or the kernel"),
        "{err}"
    );
    // A socket filter is not run, and the message says what it is.
    let (code, _, err) = nfbpf(&[
        "run",
        p.to_str().unwrap(),
        "--pcap",
        &pcap(&tmpdir),
        "--program",
        "sock",
    ]);
    assert_eq!(code, 5);
    assert!(
        err.contains("section socket: a socket filter (socket_filter) program; nfbpf runs XDP, tc and SUME programs"),
        "{err}"
    );
    let p = tmp(&tmpdir, "other.c");
    std::fs::write(
        &p,
        r#"
typedef unsigned long long u64;
struct sume_md { unsigned char in_port; };
__attribute__((section("forward"), used)) u64 fwd(struct sume_md *md) { return md->in_port ^ 1; }
"#,
    )
    .unwrap();
    let p = p.to_str().unwrap();
    let (code, _, err) = nfbpf(&["disasm", p]);
    assert_eq!(code, 5);
    assert!(
        err.contains("fwd (section forward)") && err.contains("--abi"),
        "{err}"
    );
    let (code, _, err) = nfbpf(&["disasm", p, "--program", "fwd"]);
    assert_eq!(code, 5);
    assert!(
        err.contains("section forward, function fwd") && err.contains("--abi"),
        "{err}"
    );
    // Laid out as the loader would run it: the SUME prologue.
    let (code, out, err) = nfbpf(&["disasm", p, "--program", "forward", "--abi", "sume"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fwd"), "{out}");
    let (code, out, err) = nfbpf(&["cosim", p, "--pcap", &pcap(&tmpdir), "--program", "fwd"]);
    // cosim has no --abi: the section needs one, and the message says so.
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--abi"), "{err}");
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn fn_create_takes_program_and_map_sizes() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    // A SUME object with two functions in .text and a legacy map without
    // max_entries.
    let src = tmp(&tmpdir, "two_sume.c");
    std::fs::write(
        &src,
        r#"
typedef unsigned int u32;
typedef unsigned long long u64;
struct sume_md { unsigned char in_port; };
struct def { u32 type, key_size, value_size, max_entries, map_flags; };
struct def ports __attribute__((section("maps"), used)) = { 1, 4, 4, 0, 0 };
static u64 (*const lookup)(void *map, u64 key) = (void *)1;
u64 one(struct sume_md *md) { return 1; }
u64 by_port(struct sume_md *md) { return lookup(&ports, md->in_port) & 3; }
"#,
    )
    .unwrap();
    let obj = tmp(&tmpdir, "two_sume.o");
    let st = Command::new("clang-19")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let obj = obj.to_str().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let store = tmp(&tmpdir, "agent-store");
    let _ = std::fs::remove_dir_all(&store);
    let _agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_nfbpf"))
            .args(["agent", "serve", "--listen", &listen, "--store"])
            .arg(&store)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://{listen}");
    let f = |args: &[&str]| {
        let mut v = vec!["fn", "--agent", url.as_str()];
        v.extend_from_slice(args);
        nfbpf(&v)
    };
    let (code, out, err) = f(&["create", "two", obj]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("several programs") && err.contains("--program"),
        "{err}"
    );
    let (code, out, err) = f(&["create", "two", obj, "--program", "by_port"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("pass --map-size ports=N"), "{err}");
    let (code, out, err) = f(&[
        "create",
        "two",
        obj,
        "--program",
        "by_port",
        "--map-size",
        "ports=8",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = f(&["--json", "get", "two"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["program"], "by_port", "{v}");
    assert_eq!(v["map_sizes"]["ports"], 8, "{v}");
    assert_eq!(v["maps"][0]["max_entries"], 8, "{v}");
    // update keeps working with another program (no maps used).
    let (code, out, err) = f(&["update", "two", obj, "--program", "one"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = f(&["--json", "get", "two"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["program"].as_str(), v["version"].as_u64()),
        (Some("one"), Some(2))
    );
}

/// Is this stderr the kernel saying no BPF here (not root, no bpf(2))?
fn kernel_unavailable(err: &str) -> bool {
    let no = err.contains("need root / CAP_BPF") || err.contains("no BPF in this kernel");
    if no {
        eprintln!("SKIPPED: the kernel runs no BPF here: {err}");
    }
    no
}

#[test]
fn kernel_engine_explains_short_frames_and_verifier_refusals() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let prog = two_xdp(&tmpdir);
    let p = tmp(&tmpdir, "short.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&p).unwrap()).unwrap();
    for len in [64usize, 10] {
        let f = vec![0u8; len];
        w.write_packet(&PcapPacket::new(Duration::ZERO, len as u32, &f))
            .unwrap();
    }
    drop(w);
    let pcap = p.to_str().unwrap();
    let (code, out, err) = nfbpf(&[
        "run",
        &prog,
        "--pcap",
        pcap,
        "--engine",
        "kernel",
        "--program",
        "drop_all",
    ]);
    if kernel_unavailable(&err) {
        return;
    }
    assert_eq!(code, 5, "{out}{err}");
    assert!(out.contains("drop"), "{out}");
    assert!(
        err.contains("packet 1: kernel: a frame of 10 bytes")
            && err.contains("refuses XDP frames under 14 bytes"),
        "{err}"
    );
    // Reading the packet without a bounds check: the model runs it, the
    // verifier refuses it, and its log says why.
    let src = tmp(&tmpdir, "unchecked.c");
    std::fs::write(
        &src,
        r#"
typedef unsigned int u32;
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
__attribute__((section("xdp"), used)) int unchecked(struct xdp_md *ctx) {
    unsigned char *d = (void *)(long)ctx->data;
    return d[0] ? 1 : 2;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
"#,
    )
    .unwrap();
    let (code, out, err) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap,
        "--engine",
        "kernel",
    ]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(
        err.contains("kernel: the kernel verifier refused the program")
            && err.contains("the verifier's log:")
            && err.contains("invalid access to packet"),
        "{err}"
    );
}

#[test]
fn cosim_takes_program() {
    let tmpdir = tempfile::tempdir().unwrap();
    if !common::clang() {
        return;
    }
    let src = tmp(&tmpdir, "two_sume_cosim.c");
    std::fs::write(
        &src,
        r#"
typedef unsigned long long u64;
struct sume_md { unsigned char in_port; };
u64 one(struct sume_md *md) { return 1; }
u64 flip(struct sume_md *md) { return md->in_port ^ 1; }
"#,
    )
    .unwrap();
    let src = src.to_str().unwrap();
    let pcap = pcap(&tmpdir);
    let (code, _, err) = nfbpf(&["cosim", src, "--pcap", &pcap]);
    assert_ne!(code, 0);
    assert!(
        err.contains("one (section .text), flip (section .text)") && err.contains("--program"),
        "{err}"
    );
    let (code, out, err) = nfbpf(&["cosim", src, "--pcap", &pcap, "--program", "flip"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 packets") && out.contains("0 mismatches"),
        "{out}"
    );
}
