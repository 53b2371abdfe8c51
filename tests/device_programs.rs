//! Every function of `programs/` loaded into the data plane model only
//! through `RegisterBus` writes (a recording bus keeps the exact sequence),
//! then run on traffic: each packet's verdict and frame equal the reference
//! interpreter's. And 1,000 program swaps under traffic on four ports with
//! no packet lost or run on a mix of programs.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_vm::abi::{Abi, EngineKind, RxMeta, Verdict, execute_on};
use nfbpf_vm::device::{Dest, Device, DeviceConfig};
use nfbpf_vm::interp::Config;
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::path::PathBuf;

use common::{arp, clang, ipv4_frame as frame};

mod common;

/// A bus that records every access on its way to the device.
struct Recording<'a> {
    dev: &'a mut Device,
    log: Vec<(char, u32, u32)>,
}

impl RegisterBus for Recording<'_> {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        let v = self.dev.read32(off)?;
        self.log.push(('R', off, v));
        Ok(v)
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        self.log.push(('W', off, v));
        self.dev.write32(off, v)
    }
}

fn traffic() -> Vec<(u32, Vec<u8>)> {
    let mut v = Vec::new();
    let ips = [
        [10, 0, 0, 1],
        [10, 1, 2, 3],
        [192, 168, 7, 7],
        [10, 1, 9, 9],
    ];
    for i in 0..24u8 {
        let src = ips[(i % 4) as usize];
        let dst = ips[((i / 4) % 4) as usize];
        let proto = if i % 3 == 0 { 6 } else { 17 };
        let dport = [53, 80, 443, 9][(i % 4) as usize];
        let len = [64, 128, 512, 60][(i % 4) as usize];
        v.push((
            u32::from(i % 2),
            frame(i % 3, (i + 1) % 3, src, dst, proto, dport, len),
        ));
    }
    v.push((0, arp()));
    v
}

fn wide_update(b: &mut dyn RegisterBus, map: u32, key: &[u8], value: &[u8]) {
    let word = |bytes: &[u8], k: usize| {
        let mut w = [0u8; 4];
        for (j, x) in w.iter_mut().enumerate() {
            *x = bytes.get(4 * k + j).copied().unwrap_or(0);
        }
        u32::from_le_bytes(w)
    };
    b.write32(regs::MAPSELECT, map).unwrap();
    for k in 0..regs::WIDE_WORDS as usize {
        b.write32(regs::WIDEKEY + 4 * k as u32, word(key, k))
            .unwrap();
        b.write32(regs::WIDEVALUE + 4 * k as u32, word(value, k))
            .unwrap();
    }
    b.write32(regs::WIDEOP, 1).unwrap();
    assert_eq!(
        b.read32(regs::WIDESTATUS).unwrap() >> 16,
        0,
        "wide update refused"
    );
}

fn abi_of(img: &Image) -> Abi {
    img.abi
}

#[test]
fn every_program_through_registers() {
    if !clang() {
        return;
    }
    let dir = common::program("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p: PathBuf = e.unwrap().path();
            (p.extension()? == "c").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let img = load_file(&dir.join(format!("{name}.c")), &Options::default()).unwrap();
        let abi = abi_of(&img);
        let mut dev = Device::new(DeviceConfig::default()).unwrap();
        let mut rec = Recording {
            dev: &mut dev,
            log: Vec::new(),
        };
        program(&mut rec, &img).unwrap();
        for (m, k, v) in common::map_entries(name) {
            wide_update(&mut rec, m, &k, &v);
        }
        // The exact sequence: ID check, ABI, map table, program, read-back, FLIP.
        let log = rec.log;
        assert_eq!(log[0], ('R', regs::ID, regs::DEVICE_ID), "{name}");
        assert_eq!(
            log[1],
            ('W', regs::ABIMODE, u32::from(abi == Abi::Xdp)),
            "{name}"
        );
        assert_eq!(log[2], ('W', regs::NUMMAP, img.maps.len() as u32), "{name}");
        let words = img.words();
        let start = log
            .iter()
            .position(|&(o, r, v)| o == 'W' && r == regs::WRINST && v == 0)
            .unwrap();
        assert_eq!(log[start + 1], ('W', regs::NUMINST, words.len() as u32));
        for (k, &w) in words.iter().enumerate() {
            assert_eq!(
                log[start + 2 + 2 * k],
                ('W', regs::HIINST, (w >> 32) as u32)
            );
            assert_eq!(log[start + 3 + 2 * k], ('W', regs::LOINST, w as u32));
        }
        let flip = log
            .iter()
            .position(|&(o, r, _)| o == 'W' && r == regs::FLIP)
            .unwrap();
        assert_eq!(log[flip + 1], ('R', regs::CURRINSTMEM, 1));

        // Reference: the interpreter with the same map contents.
        let refdev = SharedDeviceState::new(UnitsConfig::default());
        refdev
            .with(|d| nfbpf_loader::install::configure_maps(&img, &mut d.maps))
            .unwrap();
        for (m, k, v) in common::map_entries(name) {
            refdev
                .with(|d| {
                    d.maps
                        .update(nfbpf_vm::contract::map_handle(m as usize), &k, &v, 0)
                        .value
                })
                .unwrap();
        }
        let prog = img.program().unwrap();
        for (i, (port, f)) in traffic().into_iter().enumerate() {
            let rx = RxMeta {
                in_port: port,
                ..RxMeta::default()
            };
            let want = execute_on(
                EngineKind::Interp,
                abi,
                &prog,
                &refdev,
                0,
                &f,
                &rx,
                &Config::default(),
                &mut NoTrace,
            )
            .unwrap();
            assert!(dev.rx(port as usize, &f));
            dev.drain(1_000_000);
            let out = dev.take_outputs();
            match want.verdict {
                Verdict::Drop | Verdict::Aborted => {
                    assert!(out.is_empty(), "{name} packet {i}: {out:?}")
                }
                v => {
                    assert_eq!(out.len(), 1, "{name} packet {i}: expected {v}");
                    assert_eq!(out[0].verdict, v, "{name} packet {i}");
                    assert_eq!(out[0].frame, want.frame, "{name} packet {i}: frame");
                }
            }
        }
    }
}

/// A SUME function sending everything to `port`.
fn fixed(port: u32) -> Image {
    load_file(&common::fixed_port_source(port).1, &Options::default()).unwrap()
}

#[test]
fn a_thousand_swaps_under_traffic() {
    if !clang() {
        return;
    }
    let (p1, p2) = (fixed(1), fixed(2));
    let mut dev = Device::new(DeviceConfig::default()).unwrap();
    program(&mut dev, &p1).unwrap();
    let f = frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    let (mut sent, mut swaps) = (0u64, 0u32);
    let mut cycle = 0u64;
    while swaps < 1000 {
        // Four ports at 10 Gb/s of 64-byte frames: one frame every 13.44 clocks.
        if (cycle as f64 / 13.44).fract() < 1.0 / 13.44 {
            for p in 0..4 {
                assert!(dev.rx(p, &f), "dropped at the port at cycle {cycle}");
                sent += 1;
            }
        }
        if cycle.is_multiple_of(150) && cycle > 0 {
            let img = if swaps % 2 == 0 { &p2 } else { &p1 };
            // The idle bank may still hold packets of the program before the
            // last one: the device refuses the write until they are done.
            while let Err(e) = program(&mut dev, img) {
                assert!(e.to_string().contains("retry"), "{e}");
                dev.step();
                cycle += 1;
            }
            swaps += 1;
        }
        dev.step();
        cycle += 1;
    }
    dev.drain(1_000_000);
    let out = dev.take_outputs();
    assert_eq!(out.len() as u64, sent, "packets lost");
    // The first program went to bank 1 and the banks alternate, so bank 1
    // always holds P1 (to port 1) and bank 0 always P2 (to port 2): every
    // packet's output must be its one bank's program's.
    let mut seen = [0u64; 2];
    for o in &out {
        let want = if o.bank == 1 { 1 } else { 2 };
        assert_eq!(
            o.dest,
            Dest::Port(want),
            "packet {} ran on bank {}",
            o.seq,
            o.bank
        );
        seen[o.bank as usize] += 1;
    }
    assert!(seen[0] > 1000 && seen[1] > 1000, "{seen:?}");
    for e in 0..4 {
        let c = dev.engine_counters(e).unwrap();
        assert_eq!(
            c.pkt_in,
            c.pkt_out + c.dropped + c.faults,
            "engine {e}: {c:?}"
        );
    }
}

/// Two programs' maps side by side in the map table: the next program is
/// placed at row 32 (`Image::at_map_row`), its rows and entries loaded with
/// `MAPLOAD` (`device::load_rows`) while the running program keeps rows
/// 0.. and its entries; after the FLIP the new program runs on its rows as
/// the interpreter does, and `clear_rows` removes the old program's rows
/// only.
#[test]
fn next_programs_maps_load_beside_the_running_ones() {
    use nfbpf_loader::device::{clear_rows, load_rows, lookup_entry, stage};
    if !clang() {
        return;
    }
    let dir = common::program("");
    let old = load_file(&dir.join("ddos_sume.c"), &Options::default()).unwrap();
    let next = load_file(&dir.join("router_sume.c"), &Options::default()).unwrap();
    let mut dev = Device::new(DeviceConfig::default()).unwrap();
    program(&mut dev, &old).unwrap();
    let [(m, k, v)] = common::map_entries("ddos_sume").try_into().unwrap();
    wide_update(&mut dev, m, &k, &v);

    let placed = next.at_map_row(32).unwrap();
    assert_eq!(placed.map_row(0), 32);
    assert_ne!(placed.insns, next.insns, "no map reference was relocated");
    let err = next.at_map_row(64 - next.maps.len() + 1).unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
    load_rows(&mut dev, &placed).unwrap();
    stage(&mut dev, &placed).unwrap();
    for (m, k, v) in common::map_entries("router_sume") {
        wide_update(&mut dev, 32 + m, &k, &v);
    }
    // The running program's row and entry are untouched.
    assert_eq!(
        lookup_entry(&mut dev, 0, &k, v.len()).unwrap(),
        Some(v.clone())
    );
    nfbpf_loader::device::flip(&mut dev).unwrap();

    let refdev = SharedDeviceState::new(UnitsConfig::default());
    refdev
        .with(|d| nfbpf_loader::install::configure_maps(&placed, &mut d.maps))
        .unwrap();
    for (m, k, v) in common::map_entries("router_sume") {
        refdev
            .with(|d| {
                d.maps
                    .update(nfbpf_vm::contract::map_handle(32 + m as usize), &k, &v, 0)
                    .value
            })
            .unwrap();
    }
    let prog = placed.program().unwrap();
    let mut forwarded = 0;
    for (i, (port, f)) in traffic().into_iter().enumerate() {
        let rx = RxMeta {
            in_port: port,
            ..RxMeta::default()
        };
        let want = execute_on(
            EngineKind::Interp,
            Abi::Sume,
            &prog,
            &refdev,
            0,
            &f,
            &rx,
            &Config::default(),
            &mut NoTrace,
        )
        .unwrap();
        assert!(dev.rx(port as usize, &f));
        dev.drain(1_000_000);
        let out = dev.take_outputs();
        match want.verdict {
            Verdict::Drop | Verdict::Aborted => assert!(out.is_empty(), "packet {i}: {out:?}"),
            v => {
                assert_eq!(out.len(), 1, "packet {i}: expected {v}");
                assert_eq!(out[0].verdict, v, "packet {i}");
                assert_eq!(out[0].frame, want.frame, "packet {i}: frame");
                forwarded += 1;
            }
        }
    }
    assert!(forwarded > 0, "no packet took the routed path");
    for e in 0..4 {
        let c = dev.engine_counters(e).unwrap();
        assert_eq!(c.faults, 0, "engine {e}: {c:?}");
    }

    clear_rows(&mut dev, 0, old.maps.len()).unwrap();
    let units = dev.units();
    assert!(units.with(|d| d.maps.def(0).is_none()), "row 0 not cleared");
    assert!(
        units.with(|d| d.maps.def(32).is_some()),
        "the running program's row went away"
    );
    assert!(!matches!(
        lookup_entry(&mut dev, 0, &k, v.len()),
        Ok(Some(_))
    ));
}
