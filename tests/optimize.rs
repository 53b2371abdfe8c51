//! The loader's rewrite (`nfbpf_loader::optimize`, `--optimize`) keeps
//! every observable result: every program of `programs/` (XDP and SUME),
//! loaded with and without it, on the same seeded random traffic (IPv4
//! UDP/TCP/ICMP frames from small address and port pools so the maps hit,
//! ARP, truncated frames, random bytes) with the same map contents: per
//! packet the same r0, verdict, output frame, context and fault (or none),
//! the same events, and at the end the same entries in every map; and the
//! rewritten program written into the data plane model through its
//! registers sends what the original gives on the interpreter. The XDP
//! programs are also compared with the Linux kernel running the originals
//! (`tests/kernel_oracle.rs`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::abi::{EngineKind, Execution, RxMeta, Verdict, execute_on};
use nfbpf_vm::contract::map_handle;
use nfbpf_vm::device::{Device, DeviceConfig};
use nfbpf_vm::interp::Config;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};

use common::{Rng, arp, clang, ipv4_frame, nfbpf};

mod common;

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::program(""))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "c").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

fn load(name: &str, optimize: bool) -> Image {
    let opts = Options {
        optimize,
        ..Options::default()
    };
    load_file(&common::program(&format!("{name}.c")), &opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn state(img: &Image, name: &str) -> SharedDeviceState {
    let d = SharedDeviceState::new(UnitsConfig::default());
    d.with(|s| nfbpf_loader::install::configure_maps(img, &mut s.maps))
        .unwrap();
    for (m, k, v) in common::map_entries(name) {
        d.with(|s| s.maps.update(map_handle(m as usize), &k, &v, 0).value)
            .unwrap();
    }
    d
}

/// One random frame and its input port.
fn frame(r: &mut Rng) -> (u32, Vec<u8>) {
    let ips = [
        [10, 0, 0, 1],
        [10, 1, 2, 3],
        [192, 168, 7, 7],
        [10, 1, 9, 9],
        [172, 16, 0, 5],
    ];
    let port = r.below(4) as u32;
    let f = match r.below(12) {
        0 => arp(),
        1 => (0..14 + r.below(80)).map(|_| r.next() as u8).collect(),
        k => {
            let mut f = ipv4_frame(
                r.below(4) as u8,
                r.below(4) as u8,
                r.pick(&ips),
                r.pick(&ips),
                r.pick(&[6, 17, 17, 1]),
                r.pick(&[53, 80, 443, 9, 8080]),
                r.pick(&[60, 64, 128, 300, 1500]),
            );
            if k == 2 {
                f.truncate(14 + r.below(30) as usize);
            }
            f
        }
    };
    (port, f)
}

fn run(img: &Image, dev: &SharedDeviceState, port: u32, f: &[u8]) -> Execution {
    let rx = RxMeta {
        in_port: port,
        ..RxMeta::default()
    };
    let prog = img.program().unwrap();
    execute_on(
        EngineKind::Interp,
        img.abi,
        &prog,
        dev,
        0,
        f,
        &rx,
        &Config::default(),
        &mut NoTrace,
    )
    .unwrap()
}

/// Each map's entries, sorted by key.
type Entries = Vec<Vec<(Vec<u8>, Option<Vec<u8>>)>>;

fn entries(img: &Image, dev: &SharedDeviceState) -> Entries {
    (0..img.maps.len())
        .map(|i| {
            dev.with(|s| {
                let mut e: Vec<_> = s
                    .maps
                    .keys(i)
                    .into_iter()
                    .map(|(k, _)| {
                        let v = s.maps.lookup_value(map_handle(i), &k).unwrap();
                        (k, v)
                    })
                    .collect();
                e.sort();
                e
            })
        })
        .collect()
}

const PACKETS: usize = 3000;

/// Programs whose byte-by-byte code the rewrite must shorten.
const SHRUNK: [&str; 5] = [
    "l2_switch",
    "router",
    "l2_switch_sume",
    "router_sume",
    "ddos_sume",
];

#[test]
fn optimized_programs_agree_with_the_originals() {
    if !clang() {
        return;
    }
    let names = names();
    assert!(names.len() >= 10, "{names:?}");
    let mut shrunk = Vec::new();
    for name in &names {
        let orig = load(name, false);
        let opt = load(name, true);
        let report = opt.optimized.clone().expect("a report");
        assert_eq!(report.before, orig.insns.len(), "{name}");
        assert_eq!(report.after, opt.insns.len(), "{name}");
        if report.after < report.before {
            shrunk.push(name.clone());
        }
        let (a, b) = (state(&orig, name), state(&opt, name));
        let mut r = Rng(0x0971_3e5e_ed00 + name.len() as u64);
        let mut seen = [0usize; 3];
        for n in 0..PACKETS {
            let (port, f) = frame(&mut r);
            let x = run(&orig, &a, port, &f);
            let y = run(&opt, &b, port, &f);
            assert_eq!(
                (x.r0, x.verdict, &x.frame, &x.ctx, x.fault.is_some()),
                (y.r0, y.verdict, &y.frame, &y.ctx, y.fault.is_some()),
                "{name} packet {n} ({} bytes, port {port}): optimized differs\n{f:02x?}",
                f.len()
            );
            assert_eq!(
                a.with(|d| d.maps.take_events()),
                b.with(|d| d.maps.take_events()),
                "{name} packet {n}: events differ"
            );
            seen[match x.verdict {
                Verdict::Drop | Verdict::Aborted => 0,
                Verdict::Pass => 1,
                _ => 2,
            }] += 1;
        }
        assert_eq!(
            entries(&orig, &a),
            entries(&opt, &b),
            "{name}: maps differ at the end"
        );
        eprintln!(
            "{name}: {PACKETS} packets identical, {} -> {} slots; dropped/pass/other = {seen:?}",
            report.before, report.after
        );
    }
    for name in SHRUNK {
        assert!(
            shrunk.iter().any(|s| s == name),
            "{name} not shorter: {shrunk:?}"
        );
    }
}

/// The rewritten programs on the data plane model, written through its
/// registers: what the device sends is what the original gives on the
/// interpreter.
#[test]
fn optimized_programs_run_on_the_device() {
    if !clang() {
        return;
    }
    for name in SHRUNK {
        let orig = load(name, false);
        let opt = load(name, true);
        let refdev = state(&orig, name);
        let mut dev = Device::new(DeviceConfig::default()).unwrap();
        nfbpf_loader::device::program(&mut dev, &opt).unwrap();
        for (m, k, v) in common::map_entries(name) {
            let kind = opt.maps[m as usize].kind;
            nfbpf_loader::device::update_entry(&mut dev, m as usize, kind, &k, &v).unwrap();
        }
        let mut r = Rng(0x0de0_1ce5);
        for n in 0..300 {
            let (port, f) = frame(&mut r);
            if f.len() < 60 {
                continue; // the device's ports take whole Ethernet frames
            }
            let want = run(&orig, &refdev, port, &f);
            assert!(dev.rx(port as usize, &f), "{name} packet {n}");
            dev.drain(1_000_000);
            let out = dev.take_outputs();
            match want.verdict {
                Verdict::Drop | Verdict::Aborted => {
                    assert!(out.is_empty(), "{name} packet {n}: {out:?}")
                }
                v => {
                    assert_eq!(out.len(), 1, "{name} packet {n}: expected {v}");
                    assert_eq!(out[0].verdict, v, "{name} packet {n}");
                    assert_eq!(out[0].frame, want.frame, "{name} packet {n}: frame");
                }
            }
        }
    }
}

#[test]
fn disasm_lists_each_rewrite() {
    if !clang() {
        return;
    }
    let p = common::program("router.c");
    let (code, out, err) = nfbpf(&["disasm", "--optimize", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let orig = load("router", false).insns.len();
    let opt = load("router", true).insns.len();
    assert!(opt < orig, "{orig} -> {opt}");
    assert!(
        out.contains(&format!("; optimize: {orig} slots -> {opt}")),
        "{out}"
    );
    assert!(out.contains("byte copy"), "{out}");
    // Without the flag, nothing is rewritten or said.
    let (code, out, _) = nfbpf(&["disasm", p.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(!out.contains("optimize"), "{out}");
}

/// A location in a rewritten image (a fault's pc) names the object's
/// instruction as clang emitted it: the one the rewritten slot came from.
#[test]
fn locations_name_the_original_instructions() {
    if !clang() {
        return;
    }
    for name in ["router", "l2_switch", "ddos_sume"] {
        let orig = load(name, false);
        let opt = load(name, true);
        let report = opt.optimized.as_ref().unwrap();
        let mut moved = 0;
        for pc in 0..opt.insns.len() {
            let from = report.origin(0, pc);
            let (a, b) = (opt.locate(pc), orig.locate(from));
            assert_eq!(
                (&a.section, &a.function, a.insn),
                (&b.section, &b.function, b.insn),
                "{name} pc {pc} (from {from})"
            );
            assert_eq!(a.pc, Some(pc));
            moved += usize::from(from != pc);
        }
        assert!(moved > 0, "{name}: nothing moved");
    }
}
