//! The Linux kernel as an oracle: every XDP program of `programs/` runs on
//! the kernel (`BPF_PROG_TEST_RUN`, through `nfbpf_loader::kernel`), the
//! reference interpreter and the pipeline model, with the same map contents,
//! over seeded random traffic (Ethernet / IPv4 UDP, TCP, ICMP / ARP / other
//! frames of 14..1500 bytes, addresses from small pools so maps hit,
//! sometimes truncated headers), packet by packet so map state evolves on
//! all three. Per packet the kernel's return value must equal our r0 and
//! its output packet our frame; at the end every map must hold the same
//! entries.
//!
//! tc programs of this file's own (the tc ABI: every `__sk_buff` field a
//! tc program reads and writes, every `TC_ACT_*`, and every tc helper the
//! engines model, with arguments from the traffic so that each refusal is
//! hit too) run the same way; per packet the kernel's context out must
//! also agree with ours on `mark`, `priority`, `cb` and `tstamp` (the
//! fields a test run gives back that a program writes). One documented
//! difference: the test run's device is the loopback, whose broadcast
//! address is 00:00:00:00:00:00, so Linux calls ff:ff:ff:ff:ff:ff
//! multicast (`pkt_type` 2) where our port says broadcast (1); checked and
//! undone in [`loopback_broadcast`]. Their input port is 1, the loopback:
//! for another interface Linux would classify `pkt_type` by that
//! interface's own MAC address, which our port model does not have.
//!
//! The SUME programs are not run: Linux has no SUME ABI.
//!
//! Needs root (or CAP_BPF + CAP_NET_ADMIN): without it the tests print a
//! `SKIPPED` line, unless `NFBPF_REQUIRE_KERNEL` is set (as `make test`
//! does), when they fail.
//!
//! Documented differences: one, in map dumps only: LPM_TRIE keys read back
//! without the bits beyond the prefix on the device (a TCAM stores value &
//! mask), with them on Linux; see [`lpm_canonical`]. Verdicts and packets
//! have no difference. Two places where the hardware's view and Linux's
//! could differ are made equal by construction, not hidden:
//! - `ingress_ifindex`: the kernel accepts only existing interfaces, so the
//!   input ports are the machine's interface indices (lo = 1, ...), the
//!   same numbers on our engines;
//! - DEVMAP values: the kernel accepts only existing interfaces, so the
//!   router's `tx_ports` hold 1 (lo) on both sides. A test run does not
//!   redirect, so the kernel cannot say which port a redirect takes; the
//!   comparison is of the action (r0 = `XDP_REDIRECT`), while the interface
//!   a redirect names is checked by `tests/nf_engines.rs`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::{Rng, clang, nfbpf};
use nfbpf_loader::image::Image;
use nfbpf_loader::kernel::{KernelError, KernelProgram, KernelRun, perf_padded};
use nfbpf_loader::{Cpu, Options, load_file};
use nfbpf_vm::abi::{Abi, EngineKind, Execution, RxMeta, execute_on, sk_buff};
use nfbpf_vm::contract::map_handle;
use nfbpf_vm::interp::Config;
use nfbpf_vm::maps::{Event, EventSource};
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::path::PathBuf;

mod common;

fn image(name: &str) -> Image {
    image_for(name, Cpu::V3)
}

fn image_for(name: &str, cpu: Cpu) -> Image {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(format!("{name}.c"));
    let opts = Options {
        cpu,
        ..Options::default()
    };
    load_file(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every program is compared as clang compiles it for both ISA versions.
const CPUS: [Cpu; 2] = [Cpu::V3, Cpu::V4];

/// Load `image` into the kernel; `None` (after a SKIPPED line) when the
/// kernel refuses BPF and `NFBPF_REQUIRE_KERNEL` is not set.
fn kernel_load(name: &str, image: &Image) -> Option<KernelProgram> {
    match KernelProgram::load(image) {
        Ok(k) => Some(k),
        Err(e) if e.is_unavailable() => {
            assert!(
                std::env::var_os("NFBPF_REQUIRE_KERNEL").is_none(),
                "{name}: the kernel oracle is required (NFBPF_REQUIRE_KERNEL is set): {e}"
            );
            eprintln!("SKIPPED: kernel oracle unavailable: {e}");
            None
        }
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Interface indices of this machine (the kernel's test run accepts only
/// existing ones as `ingress_ifindex`).
fn ifindices() -> Vec<u32> {
    static PORTS: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    PORTS.get_or_init(probe_ifindices).clone()
}

fn probe_ifindices() -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.filter_map(|e| {
                let p = e.ok()?.path().join("ifindex");
                std::fs::read_to_string(p).ok()?.trim().parse().ok()
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    // Keep those the kernel accepts as a test run's input (a device without
    // a registered receive queue is refused).
    if let Ok(k) = KernelProgram::load(&image("xdp_drop")) {
        v.retain(|&i| k.run(&[0u8; 60], i).is_ok());
    }
    if v.is_empty() {
        v.push(1);
    }
    v
}

const IPS: [[u8; 4]; 9] = [
    [10, 0, 0, 1],
    [10, 0, 0, 2],
    [10, 1, 2, 3],
    [10, 1, 9, 9],
    [10, 2, 0, 1],
    [172, 16, 0, 5],
    [192, 168, 7, 7],
    [8, 8, 8, 8],
    [10, 20, 9, 1],
];
const PORTS: [u16; 6] = [53, 80, 443, 22, 1234, 8080];

fn mac(r: &mut Rng) -> [u8; 6] {
    match r.below(10) {
        0 => [0xff; 6],
        1 => {
            let mut m = [0u8; 6];
            m.iter_mut().for_each(|b| *b = r.next() as u8);
            m
        }
        _ => [2, 0, 0, 0, 0, 1 + r.below(6) as u8],
    }
}

fn ip(r: &mut Rng) -> [u8; 4] {
    if r.chance(10) {
        (r.next() as u32).to_be_bytes()
    } else {
        r.pick(&IPS)
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|w| u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One random frame of 14..=1500 bytes.
fn packet(r: &mut Rng) -> Vec<u8> {
    let mut f = Vec::with_capacity(1500);
    f.extend_from_slice(&mac(r));
    f.extend_from_slice(&mac(r));
    let kind = r.below(100);
    match kind {
        // IPv4
        0..=79 => {
            f.extend_from_slice(&[0x08, 0x00]);
            let ihl: u8 = if r.chance(5) { 6 } else { 5 };
            let proto = match r.below(10) {
                0..=3 => 17,
                4..=7 => 6,
                8 => 1,
                _ => r.next() as u8,
            };
            let ttl = r.pick(&[0u8, 1, 2, 64, 64, 64, 128, 255]);
            let mut h = vec![
                0x40 | ihl,
                0,
                0,
                0,
                r.next() as u8,
                r.next() as u8,
                0x40,
                0,
                ttl,
                proto,
                0,
                0,
            ];
            h.extend_from_slice(&ip(r));
            h.extend_from_slice(&ip(r));
            if ihl == 6 {
                h.extend_from_slice(&[1, 1, 1, 0]);
            }
            let c = if r.chance(5) {
                r.next() as u16
            } else {
                checksum(&h)
            };
            h[10..12].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&h);
            let port = |r: &mut Rng| {
                if r.chance(20) {
                    r.next() as u16
                } else {
                    r.pick(&PORTS)
                }
            };
            match proto {
                17 => {
                    f.extend_from_slice(&port(r).to_be_bytes());
                    f.extend_from_slice(&port(r).to_be_bytes());
                    f.extend_from_slice(&[0, 8, 0, 0]);
                }
                6 => {
                    f.extend_from_slice(&port(r).to_be_bytes());
                    f.extend_from_slice(&port(r).to_be_bytes());
                    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff]);
                    f.extend_from_slice(&[0, 0, 0, 0]);
                }
                1 => f.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]),
                _ => {}
            }
        }
        // ARP
        80..=89 => {
            f.extend_from_slice(&[0x08, 0x06]);
            f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
            f.extend_from_within(6..12);
            f.extend_from_slice(&ip(r));
            f.extend_from_slice(&[0; 6]);
            f.extend_from_slice(&ip(r));
        }
        // IPv6 or anything
        _ => {
            let t: u16 = if r.chance(50) {
                0x86dd
            } else {
                r.next() as u16
            };
            f.extend_from_slice(&t.to_be_bytes());
        }
    }
    // Length: mostly the headers plus padding to a random size; sometimes
    // cut inside the headers.
    let len = if r.chance(8) {
        14 + r.below(f.len().saturating_sub(14) as u64 + 1) as usize
    } else if r.chance(10) {
        f.len().max(60) + r.below(1500 - f.len().max(60) as u64 + 1) as usize
    } else {
        f.len().max(60) + r.below(64) as usize
    };
    let len = len.clamp(14, 1500);
    let mut tail = Vec::with_capacity(len.saturating_sub(f.len()));
    while f.len() + tail.len() < len {
        tail.push(r.next() as u8);
    }
    f.extend_from_slice(&tail);
    f.truncate(len);
    f
}

/// An LPM_TRIE key (`u32 prefixlen` + data) with the bits beyond the
/// prefix cleared.
///
/// The one documented difference between Linux and the hardware: Linux's
/// trie keeps a key's data as written, host bits included (`10.1.2.3/16`
/// reads back as `10.1.2.3/16` from `BPF_MAP_GET_NEXT_KEY`), while a TCAM
/// entry stores only the cared-for bits (value & mask), so the device reads
/// back `10.1.0.0/16`. Both are the same prefix: lookups, and so verdicts
/// and packets, are identical (the router test installs such a route); only
/// a map dump shows the host bits. Map comparisons canonicalise Linux's keys.
fn lpm_canonical(key: &[u8]) -> Vec<u8> {
    let plen = u32::from_le_bytes([key[0], key[1], key[2], key[3]]) as usize;
    let mut k = key.to_vec();
    for (i, b) in k[4..].iter_mut().enumerate() {
        let keep = plen.saturating_sub(8 * i).min(8);
        *b &= !(0xffu16 >> keep) as u8;
    }
    k
}

/// One program on the kernel and on both engine models (two devices, so
/// map state evolves identically on all three).
struct Triple {
    name: String,
    image: Image,
    prog: nfbpf_vm::Program,
    /// The program after `nfbpf_loader::optimize` (run on the interpreter
    /// against `devs[2]`): it must agree with the original and the kernel.
    opt: nfbpf_vm::Program,
    /// Slots before and after the rewrite.
    opt_slots: (usize, usize),
    devs: [SharedDeviceState; 3],
    kernel: KernelProgram,
    /// Every event the packets sent to the host, with the packet's number
    /// (identical on all three).
    events: std::cell::RefCell<Vec<(usize, Event)>>,
}

impl Triple {
    fn new(name: &str, cpu: Cpu) -> Option<Triple> {
        Self::with_image(name, image_for(name, cpu), cpu)
    }

    fn with_image(name: &str, image: Image, cpu: Cpu) -> Option<Triple> {
        let name = format!("{name} ({})", cpu.flag());
        let name = name.as_str();
        assert_ne!(image.abi, nfbpf_loader::Abi::Sume, "{name}");
        let kernel = kernel_load(name, &image)?;
        let prog = image.program().unwrap_or_else(|e| panic!("{name}: {e}"));
        let (opt_image, report) = nfbpf_loader::optimize::optimize(&image);
        let opt = opt_image
            .program()
            .unwrap_or_else(|e| panic!("{name} optimized: {e}"));
        let devs = [&image, &image, &opt_image].map(|img| {
            let d = SharedDeviceState::new(UnitsConfig::default());
            d.with(|s| nfbpf_loader::install::configure_maps(img, &mut s.maps))
                .unwrap();
            d
        });
        Some(Triple {
            name: name.to_string(),
            image,
            prog,
            opt,
            opt_slots: (report.before, report.after),
            devs,
            kernel,
            events: Default::default(),
        })
    }

    fn update(&self, index: usize, key: &[u8], value: &[u8]) {
        for d in &self.devs {
            d.with(|s| s.maps.update(map_handle(index), key, value, 0).value)
                .unwrap();
        }
        self.kernel.update(index, key, value).unwrap();
    }

    /// One packet on all three; they must agree.
    fn send(&self, n: usize, pkt: &[u8], in_port: u32) -> Execution {
        self.send_with(n, pkt, in_port, |_, _| {})
    }

    /// [`Self::send`], with `known(ours, kernel's)` first checking and
    /// undoing a documented difference in the kernel's output packet.
    fn send_with(
        &self,
        n: usize,
        pkt: &[u8],
        in_port: u32,
        known: impl Fn(&Execution, &mut KernelRun),
    ) -> Execution {
        let rx = RxMeta {
            in_port,
            ..RxMeta::default()
        };
        let cfg = Config::default();
        let abi = self.image.abi;
        let run_prog = |k, p, d| execute_on(k, abi, p, d, 0, pkt, &rx, &cfg, &mut NoTrace).unwrap();
        let run = |k, d| run_prog(k, &self.prog, d);
        let a = run(EngineKind::Interp, &self.devs[0]);
        let b = run(EngineKind::Pipeline, &self.devs[1]);
        let c = run_prog(EngineKind::Interp, &self.opt, &self.devs[2]);
        let ctx = || {
            format!(
                "{} packet {n} (in {in_port}, {} bytes)",
                self.name,
                pkt.len()
            )
        };
        assert!(a.fault.is_none(), "{}: fault {:?}", ctx(), a.fault);
        assert_eq!(a.fault, b.fault, "{}: faults differ", ctx());
        assert_eq!(
            (a.r0, a.verdict, &a.frame, a.insns),
            (b.r0, b.verdict, &b.frame, b.insns),
            "{}: engines differ",
            ctx()
        );
        assert_eq!(a.ctx, b.ctx, "{}: engines' contexts differ", ctx());
        assert_eq!(
            (a.r0, a.verdict, &a.frame, &a.ctx, a.fault.is_some()),
            (c.r0, c.verdict, &c.frame, &c.ctx, c.fault.is_some()),
            "{}: the optimized program differs from the original",
            ctx()
        );
        let mut k = self
            .kernel
            .run(pkt, in_port)
            .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
        known(&a, &mut k);
        if abi == Abi::Tc {
            // The fields the kernel gives back that a program writes.
            for (name, off, size) in [
                ("mark", sk_buff::MARK, 4),
                ("priority", sk_buff::PRIORITY, 4),
                ("cb", sk_buff::CB, 20),
                ("tstamp", sk_buff::TSTAMP, 8),
            ] {
                let r = off as usize..(off + size) as usize;
                assert_eq!(
                    k.ctx_out[r.clone()],
                    a.ctx[r],
                    "{}: __sk_buff.{name} after the run (kernel vs ours)",
                    ctx()
                );
            }
        }
        assert_eq!(
            u64::from(k.retval),
            a.r0 & 0xffff_ffff,
            "{}: kernel retval vs r0 (verdict {})\npacket {pkt:02x?}",
            ctx(),
            a.verdict
        );
        assert_eq!(
            k.data_out,
            a.frame,
            "{}: kernel output packet differs\nin {pkt:02x?}",
            ctx()
        );
        // The events the packet sent to the host: the same on the engines
        // and, a perf sample with Linux's padding, on the kernel.
        let ours = self.devs[0].with(|d| d.maps.take_events());
        let theirs = self.devs[1].with(|d| d.maps.take_events());
        assert_eq!(ours, theirs, "{}: engines' events differ", ctx());
        let optimized = self.devs[2].with(|d| d.maps.take_events());
        assert_eq!(
            ours,
            optimized,
            "{}: events of the optimized program differ",
            ctx()
        );
        let padded: Vec<Event> = ours
            .iter()
            .cloned()
            .map(|mut e| {
                if let EventSource::PerfEvent { .. } = e.source {
                    e.data.resize(perf_padded(e.data.len()), 0);
                }
                e
            })
            .collect();
        let k_events = self
            .kernel
            .take_events()
            .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
        assert_eq!(k_events, padded, "{}: events (kernel vs ours)", ctx());
        self.events
            .borrow_mut()
            .extend(ours.into_iter().map(|e| (n, e)));
        a
    }

    /// Every map holds the same entries on the kernel and both devices.
    fn compare_maps(&self) {
        use nfbpf_loader::MapType;
        for (i, m) in self.image.maps.iter().enumerate() {
            match m.kind {
                // Their events were compared packet by packet.
                MapType::Ringbuf | MapType::PerfEventArray => continue,
                MapType::Queue | MapType::Stack => {
                    // Taken out of the kernel's map: compared once.
                    let k = self.kernel.drain_queue(i).unwrap();
                    for d in &self.devs {
                        assert_eq!(
                            k,
                            d.with(|s| s.maps.queued(i)),
                            "{}: {} map {i} `{}` differs at the end (kernel vs engine, in pop order)",
                            self.name,
                            m.kind,
                            m.name
                        );
                    }
                    continue;
                }
                _ => {}
            }
            let mut k = self.kernel.entries(i).unwrap();
            if m.kind == nfbpf_loader::MapType::LpmTrie {
                // Documented difference: the TCAM keeps data & mask.
                for (key, _) in &mut k {
                    *key = lpm_canonical(key);
                }
            }
            k.sort();
            for d in &self.devs {
                let mut ours: Vec<(Vec<u8>, Vec<u8>)> = d.with(|s| {
                    s.maps
                        .keys(i)
                        .into_iter()
                        .filter_map(|(key, _)| {
                            let v = s.maps.lookup_value(map_handle(i), &key).unwrap()?;
                            Some((key, v))
                        })
                        .collect()
                });
                ours.sort();
                assert_eq!(
                    k, ours,
                    "{}: map {i} `{}` differs at the end (kernel vs engine)",
                    self.name, m.name
                );
            }
        }
    }

    /// `n` random packets from `seed`; returns how many r0 values of each
    /// action were seen (index = XDP action, 5 = other).
    fn traffic(&self, seed: u64, n: usize, ports: &[u32]) -> [usize; 6] {
        let mut r = Rng(seed | 1);
        let mut seen = [0usize; 6];
        for i in 0..n {
            let p = packet(&mut r);
            let port = r.pick(ports);
            let ex = self.send(i, &p, port);
            seen[(ex.r0 as u32).min(5) as usize] += 1;
        }
        self.compare_maps();
        let entries: Vec<usize> = (0..self.image.maps.len())
            .map(|i| self.kernel.entries(i).unwrap().len())
            .collect();
        eprintln!(
            "{}: {n} packets identical on kernel, interpreter and pipeline, and on the interpreter after optimize ({} -> {} slots); r0 aborted/drop/pass/tx/redirect/other = {seen:?}; map entries at the end {entries:?}",
            self.name, self.opt_slots.0, self.opt_slots.1
        );
        seen
    }
}

const PACKETS: usize = 5000;

/// The programs the tests below run with their own map contents.
const COVERED: [&str; 6] = [
    "wire",
    "xdp_drop",
    "l2_switch",
    "router",
    "ddos",
    "firewall",
];

/// Every XDP program of `programs/` is compared: the named ones below with
/// map contents of their own, any other (a program added later) here with
/// empty maps.
#[test]
fn every_xdp_program_is_compared() {
    if !clang() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "c").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    let mut xdp = 0;
    for name in names {
        let img = image(&name);
        if img.abi != nfbpf_loader::Abi::Xdp {
            continue; // SUME: Linux has no such ABI
        }
        xdp += 1;
        if COVERED.contains(&name.as_str()) {
            continue;
        }
        for cpu in CPUS {
            let Some(t) = Triple::new(&name, cpu) else {
                return;
            };
            t.traffic(0x5eed_0007, PACKETS, &ifindices());
        }
    }
    assert!(xdp >= COVERED.len(), "{xdp} XDP programs in programs/");
}

#[test]
fn stateless_programs_match_the_kernel() {
    if !clang() {
        return;
    }
    let ports = ifindices();
    for name in ["wire", "xdp_drop"] {
        for cpu in CPUS {
            let Some(t) = Triple::new(name, cpu) else {
                return;
            };
            let seen = t.traffic(0x5eed_0001 + name.len() as u64, PACKETS, &ports);
            match name {
                "wire" => assert_eq!(seen[4], PACKETS),
                _ => assert_eq!(seen[1], PACKETS),
            }
        }
    }
}

#[test]
fn l2_switch_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let Some(t) = Triple::new("l2_switch", cpu) else {
            return;
        };
        let seen = t.traffic(0x5eed_0002, PACKETS, &ifindices());
        assert!(
            seen[2] > 0 && seen[4] > 0,
            "both pass and redirect: {seen:?}"
        );
    }
}

#[test]
fn router_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let Some(t) = Triple::new("router", cpu) else {
            return;
        };
        let (routes, _) = t.image.map("routes").unwrap();
        let (tx, _) = t.image.map("tx_ports").unwrap();
        let route = |len: u32, net: [u8; 4], dmac: u8, slot: u32| {
            let mut k = len.to_le_bytes().to_vec();
            k.extend_from_slice(&net);
            let mut v = vec![2, 0, 0, 0, 0xd0, dmac, 2, 0, 0, 0, 0x50, 0x01];
            v.extend_from_slice(&slot.to_le_bytes());
            t.update(routes, &k, &v);
        };
        route(8, [10, 0, 0, 0], 0x08, 0);
        route(16, [10, 1, 0, 0], 0x16, 1);
        route(32, [10, 1, 9, 9], 0x32, 2); // slot 2 has no port: XDP_DROP
        route(12, [172, 16, 0, 0], 0x12, 1);
        // Host bits beyond the prefix: the same /12 prefix as 10.16.0.0/12.
        route(12, [10, 23, 4, 5], 0x13, 0);
        let mut host_bits = 12u32.to_le_bytes().to_vec();
        host_bits.extend_from_slice(&[10, 23, 4, 5]);
        assert!(
            t.kernel.keys(routes).unwrap().contains(&host_bits),
            "Linux keeps the host bits of an LPM key (see lpm_canonical)"
        );
        // DEVMAP values are interfaces: 1 (lo) exists everywhere.
        for slot in [0u32, 1] {
            t.update(tx, &slot.to_le_bytes(), &1u32.to_le_bytes());
        }
        let seen = t.traffic(0x5eed_0003, PACKETS, &ifindices());
        assert!(
            seen[1] > 0 && seen[2] > 0 && seen[4] > 0,
            "drop, pass and redirect: {seen:?}"
        );
    }
}

#[test]
fn ddos_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let Some(t) = Triple::new("ddos", cpu) else {
            return;
        };
        let (counters, _) = t.image.map("counters").unwrap();
        // Two sources close to the threshold (1000, .rodata) so drops happen.
        t.update(counters, &IPS[0], &990u64.to_le_bytes());
        t.update(counters, &IPS[2], &1000u64.to_le_bytes());
        let seen = t.traffic(0x5eed_0004, PACKETS, &ifindices());
        assert!(seen[1] > 0 && seen[2] > 0, "drop and pass: {seen:?}");
    }
}

#[test]
fn firewall_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let Some(t) = Triple::new("firewall", cpu) else {
            return;
        };
        let (flows, _) = t.image.map("flows").unwrap();
        let (blocked, _) = t.image.map("blocked_ports").unwrap();
        t.update(blocked, &53u16.to_be_bytes(), &[1]);
        t.update(blocked, &22u16.to_be_bytes(), &[0]);
        let flow = |s: [u8; 4], d: [u8; 4], sp: u16, dp: u16, proto: u8, verdict: u32| {
            let mut k = Vec::new();
            k.extend_from_slice(&s);
            k.extend_from_slice(&d);
            k.extend_from_slice(&sp.to_be_bytes());
            k.extend_from_slice(&dp.to_be_bytes());
            k.extend_from_slice(&[proto, 0, 0, 0]);
            t.update(flows, &k, &verdict.to_le_bytes());
        };
        for s in IPS {
            flow(s, IPS[2], 80, 443, 6, 1);
            flow(s, IPS[3], 1234, 80, 17, 1);
            flow(s, IPS[1], 443, 80, 6, 0);
        }
        let seen = t.traffic(0x5eed_0005, PACKETS, &ifindices());
        assert!(seen[1] > 0 && seen[2] > 0, "drop and pass: {seen:?}");
    }
}

/// A program of this file's own, from C `source`, for `cpu`.
fn own_image(name: &str, source: &str, cpu: Cpu) -> Image {
    own_program(name, source, cpu, None)
}

/// [`own_image`], program `program` of the object.
fn own_program(name: &str, source: &str, cpu: Cpu, program: Option<&str>) -> Image {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kernel_oracle");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.c", cpu.flag().trim_start_matches('-')));
    std::fs::write(&path, source).unwrap();
    let opts = Options {
        cpu,
        program: program.map(String::from),
        ..Options::default()
    };
    load_file(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every map kind of the software engines beside the device's: per-CPU
/// array and hash, LRU hash and LRU per-CPU hash, and an ARRAY of 65,536
/// entries (64 times the device's direct store), read and written by a
/// program (lookups that hit and miss, inserts, in-place increments, a
/// verdict from map state).
const MAP_KINDS_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} by_len SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 64);
    __type(key, __u16);
    __type(value, __u64);
} by_type SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, __u32);
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} bytes_to SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u64);
} big SEC(".maps");

SEC("xdp")
int map_kinds(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 14 > end)
        return XDP_ABORTED;
    __u64 len = end - data;
    __u32 k = len & 7;
    __u64 *c = bpf_map_lookup_elem(&by_len, &k);
    if (c)
        *c += 1;
    __u16 t = *(__u16 *)(p + 12);
    __u64 *n = bpf_map_lookup_elem(&by_type, &t);
    if (n) {
        *n += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&by_type, &t, &one, BPF_NOEXIST);
    }
    __u64 src = 0;
    __builtin_memcpy(&src, p + 6, 6);
    __u32 *s = bpf_map_lookup_elem(&seen, &src);
    if (s) {
        *s += 1;
        if (*s > 3)
            return XDP_DROP;
    } else {
        __u32 one = 1;
        bpf_map_update_elem(&seen, &src, &one, BPF_ANY);
    }
    __u32 d = p[5];
    __u64 *b = bpf_map_lookup_elem(&bytes_to, &d);
    if (b)
        *b += len;
    else
        bpf_map_update_elem(&bytes_to, &d, &len, BPF_ANY);
    __u32 bi = ((__u32)p[10] << 8 | p[11]) + (len & 1) * 1024;
    __u64 *bv = bpf_map_lookup_elem(&big, &bi);
    if (bv)
        *bv += len;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// PERCPU_ARRAY, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and an ARRAY
/// larger than the device's direct store: the kernel
/// (test runs pinned to one CPU, whose copies it reads), the interpreter
/// and the pipeline agree on every verdict and, at the end, on every map.
/// The LRU maps stay under their size (8,192 source MACs for 5,000
/// packets, 256 for a byte's values): Linux's eviction is approximate
/// (`vm::maps` says how ours chooses), so only the model's is tested, in
/// `vm/src/maps/tests.rs`.
#[test]
fn map_kinds_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("map_kinds", MAP_KINDS_C, cpu);
        let kinds: Vec<_> = img.maps.iter().map(|m| m.kind.name()).collect();
        assert_eq!(
            kinds,
            [
                "PERCPU_ARRAY",
                "PERCPU_HASH",
                "LRU_HASH",
                "LRU_PERCPU_HASH",
                "ARRAY"
            ]
        );
        let Some(t) = Triple::with_image("map_kinds", img, cpu) else {
            return;
        };
        let seen = t.traffic(0x5eed_0007, PACKETS, &ifindices());
        assert!(seen[1] > 0 && seen[2] > 0, "drop and pass: {seen:?}");
    }
}

/// `bpf_spin_lock` and `bpf_spin_unlock` around a value's two counters, in
/// a HASH map (per source MAC byte, inserted on first sight) and a one-entry
/// ARRAY; the verdict from the counts read under the lock.
const SPIN_LOCK_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val {
    struct bpf_spin_lock lock;
    __u64 pkts;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct val);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct val);
} total SEC(".maps");

SEC("xdp")
int spin(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 14 > end)
        return XDP_ABORTED;
    __u64 len = end - data;
    __u32 k = p[11] & 31;
    struct val *v = bpf_map_lookup_elem(&flows, &k);
    if (!v) {
        struct val zero = {};
        bpf_map_update_elem(&flows, &k, &zero, BPF_NOEXIST);
        v = bpf_map_lookup_elem(&flows, &k);
        if (!v)
            return XDP_ABORTED;
    }
    bpf_spin_lock(&v->lock);
    v->pkts += 1;
    v->bytes += len;
    __u64 pkts = v->pkts, bytes = v->bytes;
    bpf_spin_unlock(&v->lock);
    __u32 z = 0;
    struct val *t = bpf_map_lookup_elem(&total, &z);
    if (!t)
        return XDP_ABORTED;
    bpf_spin_lock(&t->lock);
    t->pkts += 1;
    t->bytes += len;
    __u64 all = t->pkts;
    bpf_spin_unlock(&t->lock);
    if (pkts % 3 == 0)
        return XDP_DROP;
    if (bytes > 100 * pkts && (all & 1))
        return XDP_TX;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// `bpf_spin_lock`/`bpf_spin_unlock` (software engines: the lock is always
/// free, both return 0): the verifier accepts the program (its maps carry
/// the lock in their BTF), and the kernel, the interpreter and the pipeline
/// agree on every verdict and, at the end, on both maps, lock word
/// included: Linux's syscall reads give 0 there, and the engines never
/// write it.
#[test]
fn spin_lock_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("spin", SPIN_LOCK_C, cpu);
        let locks: Vec<_> = img
            .maps
            .iter()
            .map(|m| (m.value_size, m.spin_lock))
            .collect();
        assert_eq!(locks, [(24, Some(0)), (24, Some(0))]);
        // The device refuses the helpers, naming the first call and why.
        let e = nfbpf_loader::device::check_abi(&img)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("helper 93 spin_lock") && e.contains("no lock between its engines"),
            "{e}"
        );
        let Some(t) = Triple::with_image("spin", img, cpu) else {
            return;
        };
        let seen = t.traffic(0x5eed_0093, PACKETS, &ifindices());
        assert!(
            seen[1] > 0 && seen[2] > 0 && seen[3] > 0,
            "drop, pass and tx: {seen:?}"
        );
        for i in 0..2 {
            for (_, v) in t.kernel.entries(i).unwrap() {
                assert_eq!(v[..4], [0; 4], "the kernel shows the lock word as 0");
            }
        }
    }
}

/// `bpf_spin_lock` on a pointer that is not in a map value: the kernel's
/// verifier refuses the program, the engines fault naming the helper and
/// the address.
#[test]
fn spin_lock_off_a_map_value_faults() {
    if !clang() {
        return;
    }
    let src = SPIN_LOCK_C.replace(
        "    bpf_spin_lock(&t->lock);",
        "    struct bpf_spin_lock here = {};\n    bpf_spin_lock(&here);\n    bpf_spin_lock(&t->lock);",
    );
    assert_ne!(src, SPIN_LOCK_C);
    let img = own_image("spin_bad", &src, Cpu::V3);
    match KernelProgram::load(&img) {
        Ok(_) => panic!("the verifier accepted bpf_spin_lock on the stack"),
        Err(e) if e.is_unavailable() => {}
        Err(e) => assert!(e.to_string().contains("expected=map_value"), "{e}"),
    }
    let prog = img.program().unwrap();
    for kind in [EngineKind::Interp, EngineKind::Pipeline] {
        let d = SharedDeviceState::new(UnitsConfig::default());
        d.with(|s| nfbpf_loader::install::configure_maps(&img, &mut s.maps))
            .unwrap();
        let ex = execute_on(
            kind,
            img.abi,
            &prog,
            &d,
            0,
            &[0u8; 64],
            &RxMeta::default(),
            &Config::default(),
            &mut NoTrace,
        )
        .unwrap();
        let f = format!("{}", ex.fault.expect("a fault"));
        assert!(
            f.contains("spin_lock: r1 = 0x3000")
                && f.contains("is not a struct bpf_spin_lock in a HASH or ARRAY map value"),
            "{kind:?}: {f}"
        );
    }
}

/// `bpf_csum_diff` as the running kernel computes it: from only, to only
/// and both, every size 0..=511 of either (not only multiples of 4),
/// seeded, and sums of sizes beyond 512 bytes; the result written into the
/// packet and sent back.
const CSUM_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int csum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 1040 > end)
        return XDP_PASS;
    __u32 fs = (p[0] | (p[1] << 8)) & 511;
    __u32 ts = (p[2] | (p[3] << 8)) & 511;
    if ((p[4] & 3) == 0)
        fs = 0;
    if ((p[4] & 3) == 1)
        ts = 0;
    __u32 seed = (p[4] & 4) ? *(__u32 *)(p + 8) : 0;
    __s64 r = bpf_csum_diff((__be32 *)(p + 16), fs, (__be32 *)(p + 528), ts, seed);
    *(__s64 *)(p + 8) = r;
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn csum_diff_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("csum", CSUM_C, cpu);
        let Some(t) = Triple::with_image("csum", img, cpu) else {
            return;
        };
        let mut r = Rng(0x5eed_0008);
        let (mut over, mut odd) = (0, 0);
        for n in 0..PACKETS {
            let len = 1040 + r.below(461) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            // Now and then sizes that are multiples of 4, and all-equal
            // buffers (a difference of zero).
            if r.chance(20) {
                p[0] &= !3;
                p[2] &= !3;
            }
            if r.chance(10) {
                let (a, b) = p.split_at_mut(528);
                b[..512].copy_from_slice(&a[16..528]);
                p[2] = p[0];
                p[3] = p[1];
            }
            let fs = (u32::from(p[0]) | u32::from(p[1]) << 8) & 511;
            let ts = (u32::from(p[2]) | u32::from(p[3]) << 8) & 511;
            over += usize::from(p[4] & 3 >= 2 && fs + ts > 512);
            odd += usize::from((fs | ts) & 3 != 0);
            t.send(n, &p, ifindices()[0]);
        }
        assert!(
            over > 100 && odd > 1000,
            "coverage: {over} over 512, {odd} odd"
        );
    }
}

/// `bpf_xdp_load_bytes`, `bpf_xdp_store_bytes` (offsets and lengths in
/// and out of the packet), `bpf_xdp_get_buff_len` and `bpf_xdp_adjust_meta`
/// (metadata of 0..254 bytes, odd multiples of 2 refused, beyond the
/// headroom refused; written, read back, and given back or left: the packet
/// out is `data..data_end` on both sides); every return value is
/// written into the packet.
const XDP_BYTES_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#ifndef ADJUST_META
#define ADJUST_META bpf_xdp_adjust_meta
#endif

SEC("xdp")
int xdp_bytes(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 64 > end)
        return XDP_PASS;
    __u32 off = p[0] | ((p[1] & 7) << 8);
    __u32 len = (p[2] & 63) + 1;
    __u32 dst = p[3] | ((p[4] & 7) << 8);
    int m = -(int)((p[5] & 127) * 2);
    int give_back = p[6] & 1;
    unsigned char buf[64];
    __builtin_memset(buf, 0, sizeof(buf));
    long r1 = bpf_xdp_load_bytes(ctx, off, buf, len);
    long r2 = bpf_xdp_store_bytes(ctx, dst, buf, len);
    long blen = bpf_xdp_get_buff_len(ctx);
    long r3 = ADJUST_META(ctx, m);
    __u32 word = 0;
    if (r3 == 0 && m != 0) {
        void *meta = (void *)(long)ctx->data_meta;
        void *d = (void *)(long)ctx->data;
        if (meta + 4 <= d) {
            *(__u32 *)meta = 0xa5a5a5a5 ^ (__u32)blen;
            word = *(__u32 *)meta;
        }
        if (give_back)
            ADJUST_META(ctx, -m);
    }
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    p = data;
    if (data + 64 > end)
        return XDP_ABORTED;
    *(__s32 *)(p + 40) = r1;
    *(__s32 *)(p + 44) = r2;
    *(__s32 *)(p + 48) = r3;
    *(__u32 *)(p + 52) = word;
    *(__u32 *)(p + 56) = blen;
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn xdp_byte_and_meta_helpers_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        // Some kernels refuse `bpf_xdp_adjust_meta` to an XDP program
        // ("program of this type cannot use helper bpf_xdp_adjust_meta#54",
        // seen on 6.18 in a VM); there the byte helpers are compared with
        // the kernel on their own, the metadata call replaced by a constant
        // (the models' metadata is checked against Linux where it loads).
        let mut meta = true;
        let mut img = own_image("xdp_bytes", XDP_BYTES_C, cpu);
        if let Err(e) = KernelProgram::load(&img)
            && e.to_string()
                .contains("cannot use helper bpf_xdp_adjust_meta")
        {
            eprintln!(
                "this kernel refuses bpf_xdp_adjust_meta in XDP: comparing the byte helpers only"
            );
            let without = format!("#define ADJUST_META(c, d) (-95L)\n{XDP_BYTES_C}");
            img = own_image("xdp_bytes_nometa", &without, cpu);
            meta = false;
        }
        let Some(t) = Triple::with_image("xdp_bytes", img, cpu) else {
            return;
        };
        let mut r = Rng(0x5eed_0009);
        let mut r0s = std::collections::BTreeMap::new();
        for n in 0..PACKETS {
            let len = 64 + r.below(1437) as usize;
            let p: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            let ex = t.send(n, &p, ifindices()[0]);
            for at in [40, 44, 48] {
                let v = i32::from_le_bytes(ex.frame[at..at + 4].try_into().unwrap());
                *r0s.entry((at, v)).or_insert(0usize) += 1;
            }
        }
        // Success and each refusal were seen: -EINVAL (past the end) for
        // both copies; for the metadata -EACCES (not a multiple of 4) and
        // -EINVAL (into the xdp_frame).
        let wants: &[(usize, i32)] = if meta {
            &[
                (40, 0),
                (40, -22),
                (44, 0),
                (44, -22),
                (48, 0),
                (48, -13),
                (48, -22),
            ]
        } else {
            &[(40, 0), (40, -22), (44, 0), (44, -22), (48, -95)]
        };
        for &want in wants {
            assert!(r0s.contains_key(&want), "{want:?} never seen: {r0s:?}");
        }
    }
}

#[test]
fn kernel_refusals_are_clear() {
    if !clang() {
        return;
    }
    let drop = image("xdp_drop");
    let Some(k) = kernel_load("xdp_drop", &drop) else {
        return;
    };
    // An input port that is no interface of this machine.
    let e = k.run(&[0u8; 60], 0x7fff_fff0).unwrap_err();
    assert!(matches!(e, KernelError::NoInterface(_)), "{e}");
    assert_eq!(k.run(&[0u8; 60], 0).unwrap().retval, 1, "0 = loopback");
    // A program the verifier refuses: r0 = r5, r5 never written.
    let mut bad = drop.clone();
    bad.insns[bad.entry] = nfbpf_vm::build::mov64_reg(0, 5);
    match KernelProgram::load(&bad) {
        Err(KernelError::Verifier { log, .. }) => {
            assert!(log.contains("R5"), "verifier log names r5:\n{log}")
        }
        other => panic!("expected a verifier refusal, got {other:?}"),
    }
    // The SUME ABI does not exist in Linux.
    let sume = image("wire_sume");
    let e = KernelProgram::load(&sume).unwrap_err();
    assert!(
        matches!(e, KernelError::Unsupported(_)) && e.to_string().contains("only XDP"),
        "{e}"
    );
}

/// `nfbpf run PROG --pcap IN --engine kernel`: the same actions and output
/// packets as `--engine interp`, instructions, cycles and redirect ports
/// null; SUME programs refused with a clear message.
#[test]
fn cli_engine_kernel_matches_the_interpreter() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    if !clang() {
        return;
    }
    let router = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs/router.c");
    if kernel_load("router", &image("router")).is_none() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let dir = tmpdir.path();
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut r = Rng(0x5eed_0006);
    for i in 0..300u64 {
        let p = packet(&mut r);
        w.write_packet(&PcapPacket::new(
            std::time::Duration::from_micros(i),
            p.len() as u32,
            &p,
        ))
        .unwrap();
    }
    drop(w);
    let rules = dir.join("rules.txt");
    std::fs::write(
        &rules,
        "routes 10.1.0.0/16 hex:02000000001602000000500101000000\n\
         routes 10.0.0.0/8  hex:02000000000802000000500100000000\n\
         routes 10.1.9.9/32 hex:02000000003202000000500102000000\n\
         tx_ports 0 1\ntx_ports 1 1\n",
    )
    .unwrap();
    // pcapng, drops left out, each packet on its port's interface (the
    // kernel's redirects on one of their own): the frames in order.
    let rules = rules.to_str().unwrap();
    let runs: Vec<_> = ["interp", "kernel"]
        .into_iter()
        .map(|engine| run_to_pcapng(dir, &router, &pcap, engine, &["-r", rules], 301))
        .collect();
    let (interp, kernel) = (&runs[0], &runs[1]);
    for (i, (a, k)) in interp.0[..300].iter().zip(&kernel.0[..300]).enumerate() {
        assert_eq!(a["action"], k["action"], "packet {i}");
        assert_eq!(a["r0"], k["r0"], "packet {i}");
        assert!(k["instructions"].is_null() && k["cycles"].is_null());
        if k["action"] == "redirect" {
            assert!(k["port"].is_null(), "a test run cannot tell the port");
        }
    }
    assert_eq!(kernel.0[300]["engine"], "kernel");
    for key in ["drop", "pass", "redirect"] {
        assert_eq!(interp.0[300][key], kernel.0[300][key], "{key} total");
    }
    assert!(kernel.0[300]["redirect"].as_u64().unwrap() > 0);
    assert_eq!(interp.1, kernel.1, "output packets differ");

    // SUME: refused, saying why.
    let sume = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs/wire_sume.c");
    let (code, _, stderr) = nfbpf(&[
        "run",
        sume.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--engine",
        "kernel",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no SUME ABI"), "{stderr}");
}

// ---- tc (sched_cls, direct action) ----

/// Every `__sk_buff` field a tc program may read, written into the frame
/// (bytes 16..96), the writable fields set from frame bytes, and every
/// `TC_ACT_*` (and values beyond them) returned by turns, `bpf_redirect`
/// with and without `BPF_F_INGRESS` and with a bad flag included.
const TC_CTX_C: &str = r#"
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int ctx_fields(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    __u8 *p = data;
    if (data + 100 > end)
        return TC_ACT_OK;
    __u32 *w = (__u32 *)(p + 16);
    w[0] = skb->len;
    w[1] = skb->pkt_type;
    w[2] = skb->protocol;
    w[3] = skb->vlan_present;
    w[4] = skb->vlan_tci;
    w[5] = skb->vlan_proto;
    w[6] = skb->ingress_ifindex;
    w[7] = skb->ifindex;
    w[8] = skb->hash;
    w[9] = skb->napi_id;
    w[10] = skb->wire_len;
    w[11] = skb->gso_segs;
    w[12] = skb->gso_size;
    w[13] = (__u32)skb->tstamp;
    w[14] = (__u32)skb->hwtstamp;
    w[15] = skb->mark;
    w[16] = skb->priority;
    w[17] = skb->cb[2];
    w[18] = (__u32)((long)skb->data_meta - (long)skb->data);
    w[19] = skb->queue_mapping;
    skb->mark = p[6] | (p[7] << 8);
    skb->priority = p[8];
    skb->cb[0] = p[9];
    skb->cb[4] = p[10] * 3;
    skb->tc_classid = p[11];
    skb->tc_index = p[1];
    skb->tstamp = p[2];
    switch (p[0] & 15) {
    case 0: return TC_ACT_OK;
    case 1: return TC_ACT_SHOT;
    case 2: return TC_ACT_UNSPEC;
    case 3: return TC_ACT_PIPE;
    case 4: return TC_ACT_STOLEN;
    case 5: return TC_ACT_QUEUED;
    case 6: return TC_ACT_REPEAT;
    case 7: return TC_ACT_REDIRECT;
    case 8: return TC_ACT_TRAP;
    case 9: return TC_ACT_RECLASSIFY;
    case 10: return bpf_redirect(p[3] & 3, p[4] & 1);
    case 11: return bpf_redirect(1, 2);
    default: return 1000 + p[0];
    }
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// A frame of `len` random bytes with ethertype `et` (a VLAN tag's inner
/// ethertype from `inner`).
fn tc_frame(r: &mut Rng, len: usize, et: u16, inner: u16) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
    p[12..14].copy_from_slice(&et.to_be_bytes());
    if et == 0x8100 || et == 0x88a8 {
        p[16..18].copy_from_slice(&inner.to_be_bytes());
    }
    p
}

/// The test run's device is the loopback, whose broadcast address is
/// 00:00:00:00:00:00: Linux classifies ff:ff:ff:ff:ff:ff there as
/// multicast (2), where a port with an Ethernet broadcast address (ours)
/// says broadcast (1). Checked, then undone in the kernel's packet.
fn loopback_broadcast(at: usize) -> impl Fn(&Execution, &mut KernelRun) {
    move |ours, k| {
        let ours_b = ours.frame.get(at).copied();
        if k.data_out.len() > at && k.data_out[..6] == [0xff; 6] && ours_b == Some(1) {
            assert_eq!(k.data_out[at], 2, "loopback: broadcast is multicast");
            k.data_out[at] = 1;
        }
    }
}

#[test]
fn tc_context_and_actions_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("tc_ctx", TC_CTX_C, cpu);
        assert_eq!(img.abi, nfbpf_loader::Abi::Tc);
        let Some(t) = Triple::with_image("tc_ctx", img, cpu) else {
            return;
        };
        let mut r = Rng(0x5eed_000a);
        let mut seen = std::collections::BTreeMap::new();
        for n in 0..PACKETS {
            let len = 60 + r.below(1441) as usize;
            let et = r.pick(&[0x0800, 0x86dd, 0x0806, 0x88cc, 0x0040, 0x8100]);
            let mut p = tc_frame(&mut r, len, et, 0x0800);
            match r.below(4) {
                0 => p[..6].copy_from_slice(&[0xff; 6]),
                1 => p[0] |= 1,
                2 => p[..6].copy_from_slice(&[0; 6]),
                _ => p[0] &= !1,
            }
            if et == 0x0040 && r.chance(50) {
                p[14..16].copy_from_slice(&[0xff, 0xff]);
            }
            // Port 1: the kernel's test device (the loopback).
            let ex = t.send_with(n, &p, 1, loopback_broadcast(20));
            *seen.entry(ex.verdict.to_string()).or_insert(0usize) += 1;
            if len >= 100 {
                let w = |i: usize| {
                    u32::from_le_bytes(ex.frame[16 + 4 * i..20 + 4 * i].try_into().unwrap())
                };
                assert_eq!((w(0), w(6), w(7), w(10)), (len as u32, 1, 1, len as u32));
            }
        }
        for v in ["pass", "drop", "redirect:0", "redirect:1", "ingress:1"] {
            assert!(seen.contains_key(v), "{v} never seen: {seen:?}");
        }
        eprintln!("tc_ctx ({}): {PACKETS} packets agree: {seen:?}", cpu.flag());
    }
}

/// The tc helpers with arguments from the frame's bytes; every result is
/// written into the frame at the end (bytes 16..80 of whatever frame the
/// helpers left).
const TC_HELPERS_C: &str = r#"
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int tc_helpers(struct __sk_buff *skb)
{
    __u8 a[64] = {};
    __s64 r[8] = {};
    if (bpf_skb_load_bytes(skb, 0, a, 48) < 0)
        return TC_ACT_SHOT;
    __u32 op = a[0] & 7, x = a[1], y = a[2];
    /* A load at a frame-chosen offset, inside or past the end. */
    r[0] = bpf_skb_load_bytes(skb, x * 6, a + 48, 8);
    switch (op) {
    case 0: /* store bytes, flags from the frame (some invalid) */
        r[1] = bpf_skb_store_bytes(skb, 20 + (x & 31), a + 32, 8, y & 3 ? (y & 7) : 0);
        r[2] = bpf_skb_store_bytes(skb, x * 8, a + 40, 4, 0);
        break;
    case 1: /* l3 checksum: sizes 2, 4, a difference, bad offsets and sizes */
        r[1] = bpf_l3_csum_replace(skb, 24, *(__u16 *)(a + 26), *(__u16 *)(a + 30), 2);
        r[2] = bpf_l3_csum_replace(skb, 28, *(__u32 *)(a + 32), *(__u32 *)(a + 36), 4);
        r[3] = bpf_l3_csum_replace(skb, 30, 0, bpf_csum_diff((__be32 *)(a + 32), 8, (__be32 *)(a + 40), 8, y), 0);
        r[4] = bpf_l3_csum_replace(skb, (x & 1) + 2 * (x & 0x80), 1, 2, y & 15);
        break;
    case 2: /* l4 checksum with its flags */
        r[1] = bpf_l4_csum_replace(skb, 40, *(__u32 *)(a + 32), *(__u32 *)(a + 36),
                                   4 | ((y & 1) ? BPF_F_PSEUDO_HDR : 0) | ((y & 2) ? BPF_F_MARK_MANGLED_0 : 0) | ((y & 4) ? BPF_F_MARK_ENFORCE : 0));
        r[2] = bpf_l4_csum_replace(skb, 42, *(__u16 *)(a + 42), *(__u16 *)(a + 26) ^ (x << 8), 2 | BPF_F_MARK_MANGLED_0);
        r[3] = bpf_l4_csum_replace(skb, 44, 0, x * 0x01010101, BPF_F_PSEUDO_HDR);
        r[4] = bpf_l4_csum_replace(skb, 46, 0, 1, (y & 8) ? (1ULL << 9) : 3);
        break;
    case 3: /* pull, vlan push (twice: the first tag goes into the frame) and pop */
        r[1] = bpf_skb_pull_data(skb, x * 8);
        r[2] = bpf_skb_vlan_push(skb, (y & 1) ? bpf_htons(0x88a8) : bpf_htons(0x8100), x | (y << 8));
        if (y & 2)
            r[3] = bpf_skb_vlan_push(skb, bpf_htons(0x8100), y);
        if (y & 4)
            r[4] = bpf_skb_vlan_pop(skb);
        r[5] = skb->vlan_present | (skb->vlan_tci << 8) | ((__u64)skb->vlan_proto << 32);
        r[6] = skb->protocol | ((__u64)skb->len << 32);
        break;
    case 4: /* vlan pop of tags in the frame */
        r[1] = bpf_skb_vlan_pop(skb);
        r[2] = bpf_skb_vlan_pop(skb);
        r[5] = skb->vlan_present | (skb->vlan_tci << 8) | ((__u64)skb->vlan_proto << 32);
        r[6] = skb->protocol | ((__u64)skb->len << 32);
        break;
    case 5: /* change proto (4 to 6, 6 to 4, others, a bad flag), change head */
        if (y & 32)
            r[2] = bpf_skb_change_proto(skb, (y & 64) ? bpf_htons(0x86dd) : bpf_htons(0x0800), (y & 128) ? 1 : 0);
        r[1] = bpf_skb_change_head(skb, x & 63, (y & 16) ? 1 : 0);
        r[6] = skb->protocol | ((__u64)skb->len << 32);
        break;
    case 6: { /* adjust room: grow or shrink, MAC or NET or a bad mode, flags */
        __s32 d = (y & 1) ? -(__s32)(x & 63) : (__s32)(x & 127);
        __u64 f = 0;
        if (y & 2) f |= BPF_F_ADJ_ROOM_ENCAP_L3_IPV4;
        if (y & 4) f |= BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
        if (y & 8) f |= BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
        if (y & 16) f |= BPF_F_ADJ_ROOM_FIXED_GSO;
        if (y & 32) f |= 1ULL << 7; /* BPF_F_ADJ_ROOM_DECAP_L3_IPV4 */
        if (y & 64) f |= BPF_F_ADJ_ROOM_ENCAP_L2(a[3] & 31);
        if (a[3] & 0x80) f |= 1ULL << 20;
        r[1] = bpf_skb_adjust_room(skb, d, (a[4] >> 1) & 1 ? BPF_ADJ_ROOM_MAC : ((a[4] & 4) ? 7 : BPF_ADJ_ROOM_NET), f);
        if (a[4] & 8)
            r[2] = bpf_skb_adjust_room(skb, 8, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4);
        r[6] = skb->protocol | ((__u64)skb->len << 32);
        break;
    }
    default: /* redirect, redirect_neigh */
        r[1] = bpf_redirect(x & 1, y & 3);
        if ((y & 12) == 4)
            r[1] = bpf_redirect_neigh(x & 1, (void *)(a + 8), 20, y & 16);
        else if ((y & 12) == 8)
            r[1] = bpf_redirect_neigh(x & 1, 0, 0, 0);
        else if ((y & 12) == 12)
            r[1] = bpf_redirect_neigh(x & 1, (void *)(a + 8), 12, 0);
        r[6] = bpf_get_smp_processor_id();
        break;
    }
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    if (data + 16 + sizeof(r) > end)
        return TC_ACT_OK;
    __builtin_memcpy(data + 16, r, sizeof(r));
    return op == 7 ? r[1] : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn tc_helpers_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("tc_helpers", TC_HELPERS_C, cpu);
        let Some(t) = Triple::with_image("tc_helpers", img, cpu) else {
            return;
        };
        let mut r = Rng(0x5eed_000b);
        let mut results = std::collections::BTreeSet::new();
        for n in 0..PACKETS {
            let len = r.pick(&[64, 80, 100, 128, 300, 600, 1000, 1400]);
            let et = r.pick(&[0x0800, 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806]);
            let inner = r.pick(&[0x0800, 0x8100, 0x86dd, 0x0030]);
            let mut p = tc_frame(&mut r, len, et, inner);
            if r.chance(30) {
                p[40..42].copy_from_slice(&[0, 0]);
            }
            if r.chance(30) {
                p[2] &= 0x9f;
            }
            let ex = t.send(n, &p, 1);
            let op = p[0] & 7;
            if ex.frame.len() >= 80 {
                for j in 1..5 {
                    let v =
                        i64::from_le_bytes(ex.frame[16 + 8 * j..24 + 8 * j].try_into().unwrap());
                    results.insert((op, j, v));
                }
            }
        }
        // Successes and each refusal were seen: store past the end and a
        // bad flag; a checksum at an odd offset or of a bad size; pull
        // past the end; change_head with flags; adjust_room's -EINVAL,
        // -ENOTSUPP and -EALREADY; redirect's TC_ACT_REDIRECT and _SHOT.
        for want in [
            (0, 1, 0),
            (0, 1, -22),
            (0, 2, -14),
            (1, 3, 0),
            (1, 4, -14),
            (1, 4, -22),
            (2, 1, 0),
            (3, 1, -12),
            (3, 2, 0),
            (4, 1, 0),
            (5, 1, 0),
            (5, 1, -22),
            (5, 2, 0),
            (5, 2, -22),
            (5, 2, -524),
            (6, 1, 0),
            (6, 1, -22),
            (6, 1, -524),
            (6, 2, 0),
            (6, 2, -114),
            (7, 1, 7),
            (7, 1, 2),
        ] {
            assert!(results.contains(&want), "{want:?} never seen");
        }
        eprintln!("tc_helpers ({}): {PACKETS} packets agree", cpu.flag());
    }
}

/// `nfbpf run TC_PROG --pcap IN --engine kernel`: the same tc actions
/// (named as tc names them), return values, context fields and output
/// packets as `--engine interp`; a frame the kernel's tc test run refuses
/// is named with the reason.
#[test]
fn cli_engine_kernel_runs_tc_programs() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    if !clang() {
        return;
    }
    if kernel_load(
        "tc_helpers",
        &own_image("tc_helpers", TC_HELPERS_C, Cpu::V3),
    )
    .is_none()
    {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let dir = tmpdir.path();
    let src = dir.join("tc_helpers.c");
    std::fs::write(&src, TC_HELPERS_C).unwrap();
    let write = |name: &str, frames: &[Vec<u8>]| {
        let p = dir.join(name);
        let mut w = PcapWriter::new(std::fs::File::create(&p).unwrap()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write_packet(&PcapPacket::new(
                std::time::Duration::from_micros(i as u64),
                f.len() as u32,
                f,
            ))
            .unwrap();
        }
        p
    };
    let mut r = Rng(0x5eed_000c);
    let frames: Vec<Vec<u8>> = (0..300)
        .map(|_| {
            let len = r.pick(&[64, 128, 600]);
            let et = r.pick(&[0x0800, 0x86dd, 0x8100, 0x0806]);
            tc_frame(&mut r, len, et, 0x0800)
        })
        .collect();
    let pcap = write("in.pcap", &frames);
    // pcapng, shot and stolen packets left out: the frames in order.
    let runs: Vec<_> = ["interp", "kernel"]
        .into_iter()
        .map(|engine| run_to_pcapng(dir, &src, &pcap, engine, &[], 301))
        .collect();
    let (interp, kernel) = (&runs[0], &runs[1]);
    for (i, (a, k)) in interp.0[..300].iter().zip(&kernel.0[..300]).enumerate() {
        for key in ["action", "r0", "mark", "priority", "cb"] {
            assert_eq!(a[key], k[key], "packet {i}: {key}");
        }
    }
    assert_eq!(kernel.0[300]["abi"], "tc");
    for key in ["ok", "shot", "redirect"] {
        assert_eq!(interp.0[300][key], kernel.0[300][key], "{key} total");
        assert!(kernel.0[300][key].as_u64().unwrap() > 0, "{key} seen");
    }
    assert_eq!(interp.1, kernel.1, "output packets differ");
    // A 30-byte IPv4 frame: tc sees it, the kernel's test run refuses it.
    let mut short = frames[0][..30].to_vec();
    short[12..14].copy_from_slice(&[0x08, 0x00]);
    let pcap = write("short.pcap", &[short]);
    let (code, _, stderr) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--engine",
        "kernel",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("refuses tc frames of IPv4 under 34 bytes"),
        "{stderr}"
    );
    let (code, _, stderr) = nfbpf(&[
        "run",
        src.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "the model runs it: {stderr}");
}

/// `nfbpf run PROG --pcap PCAP --engine ENGINE --in-port 1 --json --out
/// DIR/out-ENGINE.pcapng EXTRA...`: its `lines` JSON objects (one per
/// packet and the summary) and the frames written, in order.
fn run_to_pcapng(
    dir: &std::path::Path,
    prog: &std::path::Path,
    pcap: &std::path::Path,
    engine: &str,
    extra: &[&str],
    lines: usize,
) -> (Vec<serde_json::Value>, Vec<Vec<u8>>) {
    let out = dir.join(format!("out-{engine}.pcapng"));
    let mut args = vec![
        "run",
        prog.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--engine",
        engine,
        "--in-port",
        "1",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = nfbpf(&args);
    assert_eq!(code, 0, "--engine {engine}: {stderr}");
    let json: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), lines, "--engine {engine}");
    let frames = nfbpf_sim::capture::read_all(&out)
        .unwrap()
        .into_iter()
        .map(|p| p.data)
        .collect();
    (json, frames)
}

/// QUEUE and STACK maps from a tc program (as bpf-examples' nat64 keeps
/// its free addresses), and `bpf_perf_event_output` on tc's
/// `bpf_skb_event_output` path: pushes with every flag (`BPF_EXIST`
/// overwriting the oldest value of a full map, -E2BIG without it, -EINVAL
/// beyond it), pops and peeks of full and empty maps (an empty one zeroes
/// the value), samples with packet bytes appended, from the current CPU's
/// index, another CPU's, past the end, with bad flags and too many packet
/// bytes. Each result is written into the packet.
const QUEUES_C: &str = r#"
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 16);
    __type(value, __u32);
} addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __uint(max_entries, 8);
    __type(value, __u64);
} recent SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 2);
} samples SEC(".maps");

SEC("tc")
int queues(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    unsigned char *p = data;
    if (data + 64 > end)
        return TC_ACT_OK;
    __u32 v = *(__u32 *)(p + 6);
    __u64 w = *(__u64 *)(p + 24);
    __u64 flags = p[1] & 3;
    __u64 buf[6];
    __builtin_memcpy(buf, p + 8, sizeof(buf));
    __s64 r[3] = {};
    switch (p[0] & 7) {
    case 0:
    case 1:
        r[0] = bpf_map_push_elem(&addrs, &v, flags);
        break;
    case 2:
        r[0] = bpf_map_pop_elem(&addrs, &v);
        r[1] = v;
        break;
    case 3:
        r[0] = bpf_map_peek_elem(&addrs, &v);
        r[1] = v;
        break;
    case 4:
        r[0] = bpf_map_push_elem(&recent, &w, flags);
        break;
    case 5:
        r[0] = bpf_map_pop_elem(&recent, &w);
        r[1] = w;
        r[2] = bpf_map_peek_elem(&recent, &w);
        break;
    case 6: {
        __u64 f = (p[2] & 1) ? BPF_F_CURRENT_CPU : (p[2] >> 1) & 3;
        if ((p[3] & 7) == 0)
            f |= 1ULL << 60;
        f |= (__u64)(p[4] & 127) << 32;
        r[0] = bpf_perf_event_output(skb, &samples, f, buf, 8);
        break;
    }
    default:
        r[0] = bpf_map_push_elem(&recent, &w, BPF_EXIST);
        r[1] = bpf_map_push_elem(&addrs, &v, BPF_EXIST);
        break;
    }
    __builtin_memcpy(p + 40, r, sizeof(r));
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn queue_maps_and_tc_perf_events_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("queues", QUEUES_C, cpu);
        let kinds: Vec<_> = img.maps.iter().map(|m| m.kind.name()).collect();
        assert_eq!(kinds, ["QUEUE", "STACK", "PERF_EVENT_ARRAY"]);
        let Some(t) = Triple::with_image("queues", img, cpu) else {
            return;
        };
        assert_eq!(t.kernel.cpu(), 0, "the model's engine 0 is CPU 0");
        let mut r = Rng(0x5eed_0101);
        let mut results = std::collections::BTreeSet::new();
        for n in 0..3000 {
            let len = r.pick(&[64, 80, 100, 128]);
            let et = r.pick(&[0x0800, 0x86dd, 0x0806]);
            let p = tc_frame(&mut r, len, et, 0);
            let ex = t.send(n, &p, 1);
            let r0 = i64::from_le_bytes(ex.frame[40..48].try_into().unwrap());
            results.insert((p[0] & 7, r0));
        }
        // Pushes that fit, overwrite (BPF_EXIST) and fail full or with a
        // bad flag; pops and peeks of full and empty maps; samples sent
        // and each refusal.
        for want in [
            (0, 0),
            (0, -7),
            (0, -22),
            (2, 0),
            (2, -2),
            (3, 0),
            (3, -2),
            (4, 0),
            (4, -7),
            (5, 0),
            (5, -2),
            (6, 0),
            (6, -7),
            (6, -14),
            (6, -22),
            (6, -95),
            (7, 0),
        ] {
            assert!(results.contains(&want), "{want:?} never seen: {results:?}");
        }
        let events = t.events.borrow();
        assert!(
            events.iter().any(|(_, e)| e.data.len() > 8),
            "samples with packet bytes"
        );
        t.compare_maps();
        eprintln!(
            "queues ({}): 3000 packets and {} perf samples agree",
            cpu.flag(),
            events.len()
        );
    }
}

/// RINGBUF and PERF_EVENT_ARRAY from XDP, `trace_vprintk` and
/// `ktime_get_coarse_ns`: ring records by `bpf_ringbuf_output` (bad flags
/// -EINVAL), by reserve and submit or discard, reserved until the ring is
/// full (reserve returns NULL: the count is written back), submitted out of
/// order (they reach the host in ring order), `bpf_ringbuf_query` of every
/// flag; perf samples with packet bytes from `bpf_xdp_event_output`; vprintk
/// with 0..15 arguments (more than 12 is -EINVAL) and odd sizes.
const EVENTS_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 2);
} perf SEC(".maps");

struct rec {
    __u64 seq;
    unsigned char bytes[192];
};

SEC("xdp")
int events(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 64 > end)
        return XDP_PASS;
    __u64 buf[6];
    __builtin_memcpy(buf, p + 8, sizeof(buf));
    __s64 r[4] = {};
    switch (p[0] & 7) {
    case 0:
        r[0] = bpf_ringbuf_output(&ring, buf, (p[2] & 31) + 1, p[3] & 7);
        break;
    case 1: {
        int i;
        for (i = 0; i < 24; i++) {
            struct rec *e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);
            if (!e)
                break;
            __builtin_memset(e, 0, sizeof(*e));
            e->seq = i;
            __builtin_memcpy(e->bytes, p + 16, 32);
            if ((p[1] >> (i & 7)) & 1)
                bpf_ringbuf_discard(e, 0);
            else
                bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
        }
        r[0] = i;
        break;
    }
    case 2: {
        __u64 *a = bpf_ringbuf_reserve(&ring, 8, 0);
        if (!a)
            break;
        __u64 *b = bpf_ringbuf_reserve(&ring, 16, 0);
        if (!b) {
            bpf_ringbuf_discard(a, 0);
            break;
        }
        *a = *(__u64 *)(p + 8);
        b[0] = *(__u64 *)(p + 16);
        b[1] = *(__u64 *)(p + 24);
        bpf_ringbuf_submit(b, 0);
        bpf_ringbuf_submit(a, 0);
        r[0] = 1;
        __u64 *c = bpf_ringbuf_reserve(&ring, 8, 1);
        r[1] = 1;
        if (c) {
            bpf_ringbuf_discard(c, 0);
            r[1] = 0;
        }
        break;
    }
    case 3:
        r[0] = bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA);
        r[1] = bpf_ringbuf_query(&ring, BPF_RB_RING_SIZE);
        r[2] = bpf_ringbuf_query(&ring, BPF_RB_CONS_POS);
        r[3] = bpf_ringbuf_query(&ring, BPF_RB_PROD_POS) + bpf_ringbuf_query(&ring, 9);
        break;
    case 4:
    case 5: {
        __u64 f = (p[2] & 1) ? BPF_F_CURRENT_CPU : (p[2] >> 1) & 3;
        if ((p[3] & 7) == 0)
            f |= 1ULL << 52;
        f |= (__u64)(p[4] & 127) << 32;
        r[0] = bpf_perf_event_output(ctx, &perf, f, buf + 2, 12);
        break;
    }
    case 6: {
        __u64 args[16];
        int k;
        for (k = 0; k < 16; k++)
            args[k] = p[8 + k];
        static const char fmt[] = "v %d %u %x %lld %c|";
        __u32 len = ((p[2] & 15) * 8 + ((p[3] & 3) == 0 ? 4 : 0)) & 127;
        r[0] = bpf_trace_vprintk(fmt, sizeof(fmt), args, len);
        r[1] = bpf_ktime_get_coarse_ns() <= bpf_ktime_get_ns();
        break;
    }
    default:
        r[0] = bpf_ringbuf_output(&ring, buf, 40, BPF_RB_FORCE_WAKEUP);
        r[1] = bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, buf + 1, 4);
        break;
    }
    __builtin_memcpy(p + 24, r, sizeof(r));
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn ringbuf_perf_events_and_printk_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("events", EVENTS_C, cpu);
        let kinds: Vec<_> = img.maps.iter().map(|m| m.kind.name()).collect();
        assert_eq!(kinds[..2], ["RINGBUF", "PERF_EVENT_ARRAY"]);
        let Some(t) = Triple::with_image("events", img, cpu) else {
            return;
        };
        assert_eq!(t.kernel.cpu(), 0, "the model's engine 0 is CPU 0");
        let mut r = Rng(0x5eed_0102);
        let mut results = std::collections::BTreeSet::new();
        for n in 0..3000 {
            let len = r.pick(&[64, 80, 100, 128, 200]);
            let p: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            let ex = t.send(n, &p, 1);
            for j in 0..4 {
                let v = i64::from_le_bytes(ex.frame[24 + 8 * j..32 + 8 * j].try_into().unwrap());
                results.insert((p[0] & 7, j, v));
            }
        }
        for want in [
            (0, 0, 0),
            (0, 0, -22),
            (1, 0, 19), // 19 records of 208 bytes fill 4096 bytes less one
            (2, 0, 1),
            (2, 1, 1),
            (3, 0, 0),
            (3, 1, 4096),
            (4, 0, 0),
            (4, 0, -7),
            (4, 0, -14),
            (4, 0, -22),
            (4, 0, -95),
            (6, 0, -22),
            (6, 1, 1),
            (7, 0, 0),
            (7, 1, 0),
        ] {
            assert!(results.contains(&want), "{want:?} never seen");
        }
        assert!(
            results.iter().any(|&(op, j, v)| op == 6 && j == 0 && v > 0),
            "trace_vprintk printed"
        );
        let events = t.events.borrow();
        let rings = events
            .iter()
            .filter(|(_, e)| e.source == EventSource::Ringbuf)
            .count();
        assert!(
            rings > 1000 && rings < events.len(),
            "{rings} of {}",
            events.len()
        );
        let log = t.devs[0].with(|d| d.log.clone());
        assert!(
            log.records()
                .iter()
                .any(|l| l.text.starts_with("v ") && l.text.ends_with('|')),
            "vprintk's text in the trace log"
        );
        eprintln!(
            "events ({}): 3000 packets and {} events ({rings} ring records) agree",
            cpu.flag(),
            events.len()
        );
    }
}

/// `nfbpf run PROG --pcap IN [--json]`: the events a program sends to the
/// host are printed after their packet, in order, on every engine; the
/// kernel's match the interpreter's and the pipeline's (a perf sample
/// there carries Linux's zero padding).
#[test]
fn cli_prints_events_on_every_engine() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    if !clang() {
        return;
    }
    if kernel_load("events", &own_image("events", EVENTS_C, Cpu::V3)).is_none() {
        return;
    }
    let tmpdir = tempfile::tempdir().unwrap();
    let dir = tmpdir.path();
    let src = dir.join("events.c");
    std::fs::write(&src, EVENTS_C).unwrap();
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut r = Rng(0x5eed_0103);
    for i in 0..200u64 {
        let len = r.pick(&[64, 100, 200]);
        let f: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        w.write_packet(&PcapPacket::new(
            std::time::Duration::from_micros(i),
            len as u32,
            &f,
        ))
        .unwrap();
    }
    drop(w);
    let run = |engine: &str, json: bool| {
        let mut args = vec![
            "run",
            src.to_str().unwrap(),
            "--pcap",
            pcap.to_str().unwrap(),
            "--engine",
            engine,
            "--in-port",
            "1",
        ];
        if json {
            args.push("--json");
        }
        let (code, stdout, stderr) = nfbpf(&args);
        assert_eq!(code, 0, "--engine {engine}: {stderr}");
        stdout
    };
    let events = |engine: &str| -> Vec<serde_json::Value> {
        let out = run(engine, true);
        let all: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary = all.last().unwrap();
        let ev: Vec<_> = all
            .iter()
            .filter(|o| o.get("event").is_some())
            .cloned()
            .collect();
        assert_eq!(summary["events"], ev.len(), "--engine {engine}: summary");
        // Each event follows its packet's line.
        let mut last = None;
        for o in &all {
            if let Some(i) = o.get("index") {
                last = i.as_u64();
            } else if o.get("event").is_some() {
                assert_eq!(o["packet"].as_u64(), last, "--engine {engine}: {o}");
            }
        }
        ev
    };
    let interp = events("interp");
    assert_eq!(interp, events("pipeline"));
    let kernel = events("kernel");
    assert_eq!(kernel.len(), interp.len());
    let kinds: std::collections::BTreeSet<&str> = interp
        .iter()
        .map(|o| o["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["perf_event_array", "ringbuf"].into_iter().collect(),
        "both kinds"
    );
    for (k, o) in kernel.iter().zip(&interp) {
        for key in ["event", "packet", "map", "cpu"] {
            assert_eq!(k[key], o[key], "{k} vs {o}");
        }
        let (kd, od) = (k["data"].as_str().unwrap(), o["data"].as_str().unwrap());
        if o["event"] == "ringbuf" {
            assert_eq!(kd, od, "{k} vs {o}");
        } else {
            let len = o["len"].as_u64().unwrap() as usize;
            assert_eq!(k["len"].as_u64().unwrap() as usize, perf_padded(len));
            assert!(kd.starts_with(od) && kd[od.len()..].bytes().all(|b| b == b'0'));
        }
    }
    // Text: the event lines and the count in the summary.
    let text = run("interp", false);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("  event ")).collect();
    assert_eq!(lines.len(), interp.len());
    let first = &interp[0];
    assert!(
        lines[0].contains(&format!(
            "event {} {}",
            first["event"].as_str().unwrap(),
            first["map"].as_str().unwrap()
        )) && lines[0].ends_with(first["data"].as_str().unwrap()),
        "{}",
        lines[0]
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains(&format!("; {} events", interp.len())),
        "{text}"
    );
}

/// Tail calls: a dispatcher by IPv4 protocol into three programs (TCP and
/// UDP slots filled by the object's `.values`, ICMP by the user, as a rules
/// line), other protocols into a program that tail-calls itself until the
/// kernel's limit stops it (33 tail calls: the 34th falls through), and
/// non-IPv4 frames into any slot 0..15 (empty slots and indices past
/// `max_entries` fall through). Every program counts its runs in a map.
const TAIL_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} depth SEC(".maps");

int do_tcp(struct xdp_md *ctx);
int do_udp(struct xdp_md *ctx);
int chain(struct xdp_md *ctx);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 8);
    __uint(key_size, sizeof(__u32));
    __array(values, int (void *));
} jmp SEC(".maps") = {
    .values = { [0] = (void *)&do_tcp, [1] = (void *)&do_udp, [4] = (void *)&chain },
};

static __always_inline void count(__u32 k)
{
    __u64 *v = bpf_map_lookup_elem(&hits, &k);
    if (v)
        *v += 1;
}

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 34 > end)
        return XDP_PASS;
    __u32 idx;
    if (p[12] != 0x08 || p[13] != 0)
        idx = p[15] & 15;
    else if (p[23] == 6)
        idx = 0;
    else if (p[23] == 17)
        idx = 1;
    else if (p[23] == 1)
        idx = 2;
    else
        idx = 3 + (p[23] & 3);
    __u32 z = 0;
    __u32 *d = bpf_map_lookup_elem(&depth, &z);
    if (d)
        *d = 0;
    p[3] = 0xdd;
    bpf_tail_call(ctx, &jmp, idx);
    count(7);
    p[14] = (unsigned char)idx;
    return XDP_PASS;
}

SEC("xdp")
int do_tcp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 34 > end)
        return XDP_ABORTED;
    count(0);
    p[0] = 0xaa;
    return XDP_TX;
}

SEC("xdp")
int do_udp(struct xdp_md *ctx)
{
    count(1);
    return XDP_DROP;
}

SEC("xdp")
int do_icmp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 34 > end)
        return XDP_ABORTED;
    count(2);
    p[1] = 0xbb;
    return XDP_TX;
}

SEC("xdp")
int chain(struct xdp_md *ctx)
{
    __u32 z = 0;
    __u32 *d = bpf_map_lookup_elem(&depth, &z);
    if (!d)
        return XDP_ABORTED;
    *d += 1;
    count(4);
    bpf_tail_call(ctx, &jmp, 4);
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 34 > end)
        return XDP_ABORTED;
    count(5);
    p[2] = (unsigned char)*d;
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// Load C `source` of this file's own (its program `program`), or the
/// loader's error.
fn own_load(
    name: &str,
    source: &str,
    program: Option<&str>,
) -> Result<Image, nfbpf_loader::LoadError> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kernel_oracle");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.c"));
    std::fs::write(&path, source).unwrap();
    let opts = Options {
        program: program.map(String::from),
        ..Options::default()
    };
    load_file(&path, &opts)
}

/// A rules text's entries into the three (map values as the rules
/// parser makes them: `prog:NAME`, `map:NAME`).
fn rules_into(t: &Triple, text: &str) {
    for e in nfbpf_loader::rules::parse(text, &t.image.maps).unwrap() {
        t.update(e.map, &e.key, &e.value);
    }
}

#[test]
fn tail_calls_match_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_program("tail", TAIL_C, cpu, Some("dispatch"));
        let mut tails: Vec<&str> = img.tails.iter().map(|t| t.function.as_str()).collect();
        tails.sort();
        assert_eq!(tails, ["chain", "do_icmp", "do_tcp", "do_udp"]);
        let jmp = img.map("jmp").unwrap().1;
        assert_eq!(jmp.kind, nfbpf_loader::MapType::ProgArray);
        assert_eq!(jmp.programs[0], "dispatch");
        let Some(t) = Triple::with_image("tail", img, cpu) else {
            return;
        };
        rules_into(&t, "jmp 2 prog:do_icmp\n");
        let mut r = Rng(0x5eed_0100);
        let (mut chained, mut through) = (0, 0);
        for n in 0..PACKETS {
            let p = packet(&mut r);
            let ex = t.send(n, &p, ifindices()[0]);
            if p.len() >= 34
                && p[12..14] == [8, 0]
                && ![1, 6, 17].contains(&p[23])
                && p[23] & 3 == 1
            {
                // Into the chain: 33 runs of it, the 34th tail call falls
                // through.
                assert_eq!(ex.frame[2], 33, "packet {n}: chain depth");
                assert_eq!(ex.r0, 3);
                chained += 1;
            }
            if ex.r0 == 2 && p.len() >= 34 {
                through += 1;
            }
        }
        t.compare_maps();
        let hits = t.kernel.entries(t.image.map("hits").unwrap().0).unwrap();
        let count = |k: usize| u64::from_le_bytes(hits[k].1[..8].try_into().unwrap());
        assert!(
            chained > 0 && through > 0 && (0..3).all(|k| count(k) > 0),
            "coverage: {chained} chained, {through} fell through, hits {:?}",
            (0..8).map(count).collect::<Vec<_>>()
        );
        assert_eq!(count(4), 33 * count(5), "every chain runs 33 times");
    }
}

/// The tail-call program on the two engine models alone (no kernel
/// needed): each path's expected verdict and packet, before and after the
/// user fills the ICMP slot.
#[test]
fn tail_calls_on_the_engines() {
    if !clang() {
        return;
    }
    let img = own_program("tail_engines", TAIL_C, Cpu::V3, Some("dispatch"));
    let prog = img.program().unwrap();
    let devs = [0, 1].map(|_| {
        let d = SharedDeviceState::new(UnitsConfig::default());
        d.with(|s| nfbpf_loader::install::configure_maps(&img, &mut s.maps))
            .unwrap();
        d
    });
    let send = |pkt: &[u8]| {
        let (rx, cfg) = (RxMeta::default(), Config::default());
        let run = |k, d| execute_on(k, img.abi, &prog, d, 0, pkt, &rx, &cfg, &mut NoTrace).unwrap();
        let a = run(EngineKind::Interp, &devs[0]);
        let b = run(EngineKind::Pipeline, &devs[1]);
        assert!(a.fault.is_none(), "{:?}", a.fault);
        assert_eq!(
            (a.r0, &a.frame, a.insns),
            (b.r0, &b.frame, b.insns),
            "engines differ"
        );
        a
    };
    let ipv4 = |proto: u8| {
        let mut f = vec![0u8; 60];
        f[12] = 8;
        f[14] = 0x45;
        f[23] = proto;
        f
    };
    // TCP and UDP: the slots `.values` fills.
    let tcp = send(&ipv4(6));
    assert_eq!((tcp.r0, tcp.frame[0], tcp.frame[3]), (3, 0xaa, 0xdd));
    assert_eq!(send(&ipv4(17)).r0, 1);
    // ICMP: slot 2 is empty until the user fills it.
    let icmp = send(&ipv4(1));
    assert_eq!((icmp.r0, icmp.frame[14]), (2, 2), "fell through");
    let e = nfbpf_loader::rules::parse("jmp 2 prog:do_icmp", &img.maps).unwrap();
    for d in &devs {
        d.with(|s| {
            s.maps
                .update(map_handle(e[0].map), &e[0].key, &e[0].value, 0)
                .value
        })
        .unwrap();
    }
    let icmp = send(&ipv4(1));
    assert_eq!((icmp.r0, icmp.frame[1]), (3, 0xbb));
    // The chain: 33 runs, then the 34th tail call falls through.
    let chain = send(&ipv4(45));
    assert_eq!((chain.r0, chain.frame[2]), (3, 33));
    // Index 12 (non-IPv4, byte 15): past max_entries 8, falls through.
    let mut other = ipv4(0);
    other[12] = 0x86;
    other[15] = 12;
    let o = send(&other);
    assert_eq!((o.r0, o.frame[14]), (2, 12));
}

/// A program alone in its object whose PROG_ARRAY the user fills with the
/// program itself (katran's root program's shape): 1 + 33 runs a packet.
const SELF_TAIL_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} again_array SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} runs SEC(".maps");

SEC("xdp")
int again(struct xdp_md *ctx)
{
    __u32 z = 0;
    __u32 *v = bpf_map_lookup_elem(&runs, &z);
    if (!v)
        return XDP_ABORTED;
    *v += 1;
    bpf_tail_call(ctx, &again_array, 0);
    bpf_tail_call(ctx, &again_array, 1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn a_program_tail_calls_itself() {
    if !clang() {
        return;
    }
    let img = own_image("self_tail", SELF_TAIL_C, Cpu::V3);
    assert!(img.tails.is_empty());
    let (runs, _) = img.map("runs").unwrap();
    // The engines alone: 34 runs for the first packet, 68 after two.
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|s| nfbpf_loader::install::configure_maps(&img, &mut s.maps))
        .unwrap();
    let e = nfbpf_loader::rules::parse("again_array 0 prog:again", &img.maps).unwrap();
    dev.with(|s| {
        s.maps
            .update(map_handle(e[0].map), &e[0].key, &e[0].value, 0)
            .value
    })
    .unwrap();
    let prog = img.program().unwrap();
    let pkt = packet(&mut Rng(7));
    for (kind, want) in [(EngineKind::Interp, 34u32), (EngineKind::Pipeline, 68)] {
        let ex = execute_on(
            kind,
            img.abi,
            &prog,
            &dev,
            0,
            &pkt,
            &RxMeta::default(),
            &Config::default(),
            &mut NoTrace,
        )
        .unwrap();
        assert_eq!(ex.r0, 2, "{kind:?}");
        let v = dev
            .with(|s| s.maps.lookup_value(map_handle(runs), &0u32.to_le_bytes()))
            .unwrap()
            .unwrap();
        assert_eq!(v, want.to_le_bytes(), "{kind:?}");
    }
    // And on the kernel.
    let Some(t) = Triple::with_image("self_tail", img, Cpu::V3) else {
        return;
    };
    rules_into(&t, "again_array 0 prog:again\n");
    t.traffic(0x5eed_0102, 200, &ifindices());
}

/// ARRAY_OF_MAPS of ARRAY inner maps and HASH_OF_MAPS of HASH inner maps,
/// slots filled by `.values` and by the user (rules `map:NAME`); inner
/// maps read, incremented, inserted and deleted through the pointer an
/// outer lookup returns.
const MAP_IN_MAP_C: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_arr {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} in_a SEC(".maps"), in_b SEC(".maps");

struct inner_hash {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} in_c SEC(".maps"), in_d SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner_arr);
} outer_arr SEC(".maps") = {
    .values = { [0] = &in_a, [2] = &in_b },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner_hash);
} outer_hash SEC(".maps") = {
    .values = { [1] = &in_c },
};

SEC("xdp")
int mim(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if (data + 34 > end)
        return XDP_PASS;
    __u32 k = p[14] & 3;
    __u32 slot = p[15] & 7;
    int verdict = XDP_PASS;
    void *inner = bpf_map_lookup_elem(&outer_arr, &k);
    if (inner) {
        __u64 *v = bpf_map_lookup_elem(inner, &slot);
        if (v) {
            *v += p[16] + 1;
            p[0] = (unsigned char)*v;
            verdict = XDP_TX;
        } else {
            p[0] = 0xee;
        }
    }
    __u32 hk = p[17] & 3;
    void *h = bpf_map_lookup_elem(&outer_hash, &hk);
    if (h) {
        __u64 *v = bpf_map_lookup_elem(h, &slot);
        if (v) {
            *v += 1;
            p[1] = (unsigned char)*v;
            if (p[18] & 1)
                bpf_map_delete_elem(h, &slot);
        } else {
            __u64 one = p[19];
            long r = bpf_map_update_elem(h, &slot, &one, BPF_NOEXIST);
            p[1] = (unsigned char)r;
            return XDP_DROP;
        }
    }
    return verdict;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn map_in_map_matches_the_kernel() {
    if !clang() {
        return;
    }
    for cpu in CPUS {
        let img = own_image("map_in_map", MAP_IN_MAP_C, cpu);
        let mut names: Vec<&str> = img.maps.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            ["in_a", "in_b", "in_c", "in_d", "outer_arr", "outer_hash"]
        );
        let Some(t) = Triple::with_image("map_in_map", img, cpu) else {
            return;
        };
        rules_into(&t, "outer_arr 3 map:in_a\nouter_hash 2 map:in_d\n");
        let seen = t.traffic(0x5eed_0101, PACKETS, &ifindices());
        assert!(
            seen[1] > 0 && seen[2] > 0 && seen[3] > 0,
            "drop, pass and tx: {seen:?}"
        );
        for inner in ["in_a", "in_b", "in_c", "in_d"] {
            let (i, _) = t.image.map(inner).unwrap();
            assert!(
                !t.kernel
                    .entries(i)
                    .unwrap()
                    .iter()
                    .all(|(_, v)| v.iter().all(|&b| b == 0)),
                "inner map {inner} was never written"
            );
        }
    }
}

/// The errors name what is missing and where.
#[test]
fn tail_call_and_map_in_map_errors_name_the_cause() {
    if !clang() {
        return;
    }
    // A `.values` slot naming a subprogram, not a program.
    let src = TAIL_C.replace(
        "[4] = (void *)&chain",
        "[4] = (void *)&chain, [5] = (void *)&helper",
    ).replace(
        "int chain(struct xdp_md *ctx);",
        "int chain(struct xdp_md *ctx);\n__attribute__((noinline)) int helper(struct xdp_md *ctx) { return ctx->data_end > ctx->data; }",
    );
    let e = own_load("tail_missing", &src, Some("dispatch"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("jmp")
            && e.contains(".values[5]")
            && e.contains("program helper is not one of the object's XDP programs")
            && e.contains("(dispatch, do_tcp"),
        "{e}"
    );
    // A rules line naming a program the object does not have.
    let img = own_load("tail_ok", TAIL_C, Some("dispatch")).unwrap();
    let e = nfbpf_loader::rules::parse("jmp 3 prog:nope\n", &img.maps)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("rules line 1: `jmp 3 prog:nope`")
            && e.contains("no program `nope` for PROG_ARRAY `jmp`"),
        "{e}"
    );
    // The device refuses tail calls, naming the helper and the place.
    let e = nfbpf_loader::device::check_abi(&img)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("helper 12 tail_call") && e.contains("dispatch"),
        "{e}"
    );
    // The device's map table (TYPEMAP) refuses the three types, naming
    // each and why.
    for (code, name, why) in [
        (3, "PROG_ARRAY", "tail calls"),
        (12, "ARRAY_OF_MAPS", "map-in-map"),
        (13, "HASH_OF_MAPS", "map-in-map"),
    ] {
        let e = nfbpf_vm::maps::MapDef::from_masks(code, 0xffff_ffff, 0xffff_ffff, 4)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("{name} maps are not on the device")) && e.contains(why),
            "{e}"
        );
    }
    // A map-in-map without its inner map's definition.
    let src = MAP_IN_MAP_C
        .replace("    __array(values, struct inner_arr);\n} outer_arr SEC(\".maps\") = {\n    .values = { [0] = &in_a, [2] = &in_b },\n};", "    __type(value, __u32);\n} outer_arr SEC(\".maps\");");
    assert_ne!(src, MAP_IN_MAP_C);
    let e = own_load("mim_no_inner", &src, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outer_arr") && e.contains("ARRAY_OF_MAPS needs its inner map's definition"),
        "{e}"
    );
    // A map of another shape put in a map-in-map slot.
    let img = own_load("mim_ok", MAP_IN_MAP_C, None).unwrap();
    let e = nfbpf_loader::rules::parse("outer_arr 1 map:in_c\n", &img.maps)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("map `in_c` (HASH") && e.contains("inner map of `outer_arr`"),
        "{e}"
    );
}

/// The lambda programs (docs/lambdas.md) answering requests: web pages
/// from filled maps, memcached commands that change the store, grayscale
/// chunks, malformed requests and requests for other lambdas, mixed with
/// random traffic. Every packet's verdict and frame (the responses, XDP_TX)
/// agree between the kernel and our engines, and so do the maps at the end.
#[test]
fn lambdas_answer_as_the_kernel_does() {
    use common::lambda::{Req, request_with};
    use nfbpf_vm::contract;
    if !clang() {
        return;
    }
    let port = ifindices()[0];
    let mut r = Rng(0x1a3b_0da5);
    for cpu in CPUS {
        // Web: three pages, one that needs room in its request.
        let Some(t) = Triple::new("lambda_web", cpu) else {
            return;
        };
        let (pages, _) = t.image.map("pages").unwrap();
        let (chunks, _) = t.image.map("page_chunks").unwrap();
        let big: Vec<u8> = (0..1000).map(|_| b'!' + r.below(90) as u8).collect();
        for (path, page, first) in [
            ("/", &b"<h1>hello</h1>"[..], 0u32),
            ("/big", &big, 1),
            ("/empty", b"", 20),
        ] {
            for (c, chunk) in page.chunks(64).enumerate() {
                let mut v = chunk.to_vec();
                v.resize(64, 0);
                t.update(chunks, &(first + c as u32).to_le_bytes(), &v);
            }
            let mut k = path.as_bytes().to_vec();
            k.resize(32, 0);
            let mut v = (page.len() as u32).to_le_bytes().to_vec();
            v.extend_from_slice(&first.to_le_bytes());
            t.update(pages, &k, &v);
        }
        let web = Req::to(contract::LAMBDA_ID_WEB);
        let lines: [(&[u8], usize); 8] = [
            (b"GET / HTTP/1.0\r\n", 0),
            (b"GET /big HTTP/1.1\r\nHost: nic\r\n\r\n", 900),
            (b"GET /big HTTP/1.0\r\n", 0),
            (b"GET /empty HTTP/1.0", 0),
            (b"GET /missing HTTP/1.0\r\n", 0),
            (b"PUT / HTTP/1.0\r\n", 0),
            (b"GET /a b HTTP/1.0\r\n", 0),
            (b"GET / HTTP/1.0\r\n", 3),
        ];
        let mut tx = 0;
        for i in 0..400 {
            let pkt = if i % 2 == 0 {
                let (line, room) = lines[r.below(lines.len() as u64) as usize];
                request_with(&web, line, room, r.below(3) as usize * 4)
            } else {
                packet(&mut r)
            };
            tx += usize::from(t.send(i, &pkt, port).r0 == 3);
        }
        assert!(tx >= 150, "lambda_web: {tx} answers");
        t.compare_maps();

        // Key-value: random commands on a few keys, so that sets, gets,
        // deletes and misses interleave; the stores must end equal.
        let Some(t) = Triple::new("lambda_kv", cpu) else {
            return;
        };
        let kv = Req::to(contract::LAMBDA_ID_KV);
        let mut tx = 0;
        for i in 0..600 {
            let key = format!("key{}", r.below(6));
            let cmd = match r.below(8) {
                0..=2 => {
                    let data: Vec<u8> = (0..r.below(60)).map(|_| r.next() as u8).collect();
                    let mut c =
                        format!("set {key} {} 0 {}\r\n", r.below(1 << 32), data.len()).into_bytes();
                    c.extend_from_slice(&data);
                    c.extend_from_slice(b"\r\n");
                    c
                }
                3..=5 => format!("get {key}\r\n").into_bytes(),
                6 => format!("delete {key}\r\n").into_bytes(),
                _ => r
                    .pick(&[&b"stats\r\n"[..], b"get a b\r\n", b"set k 0 0 2\r\nabc\r\n"])
                    .to_vec(),
            };
            let pkt = if i % 4 == 3 {
                packet(&mut r)
            } else {
                request_with(&kv, &cmd, 0, 0)
            };
            tx += usize::from(t.send(i, &pkt, port).r0 == 3);
        }
        assert!(tx >= 400, "lambda_kv: {tx} answers");
        t.compare_maps();

        // Grayscale: chunks of random pixels and sizes, some not whole
        // pixels, some too long, some for another lambda.
        let Some(t) = Triple::new("lambda_gray", cpu) else {
            return;
        };
        let mut tx = 0;
        for i in 0..300 {
            let n = match r.below(10) {
                0 => 4 * 256 + 4,
                1 => r.below(1024) as usize | 1,
                _ => 4 * r.below(257) as usize,
            };
            let body: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
            let req = Req {
                lambda: if r.chance(10) {
                    9
                } else {
                    contract::LAMBDA_ID_GRAY
                },
                flags: if r.chance(50) {
                    contract::LAMBDA_FLAG_MORE
                } else {
                    0
                },
                request_id: r.next() as u32,
                chunk_index: 0,
                chunk_count: 1,
                port: contract::LAMBDA_DEFAULT_PORT,
            };
            tx += usize::from(t.send(i, &request_with(&req, &body, 0, 0), port).r0 == 3);
        }
        assert!(tx >= 200, "lambda_gray: {tx} answers");
        t.compare_maps();
    }
}
