//! The data plane model programmed only through its registers, by the
//! loader's register sequence: multi-engine forwarding, counters, map
//! entries through registers, and a program swap under traffic with no
//! packet lost and no packet run partly on each program.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::clang;
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_vm::device::{Dest, Device, DeviceConfig};
use nfbpf_vm::regs::{self, RegisterBus};
use std::path::Path;

mod common;

fn image(src: &Path) -> nfbpf_loader::image::Image {
    load_file(src, &Options::default()).unwrap_or_else(|e| panic!("{}: {e}", src.display()))
}

fn frame(src: u8, dst: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, src]);
    f[12] = 0x08;
    f
}

#[test]
fn wire_on_four_engines_through_registers() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    let report = program(&mut d, &image(&common::program("wire_sume.c"))).unwrap();
    assert_eq!(report.bank, 1);
    assert_eq!(d.read32(regs::NUMENGINES).unwrap(), 4);
    for i in 0..40 {
        assert!(d.rx(i % 4, &frame(1, 2, 64)));
    }
    d.drain(100_000);
    let out = d.take_outputs();
    assert_eq!(out.len(), 40);
    for o in &out {
        assert_eq!(o.dest, Dest::Port(o.in_port ^ 1));
        assert_eq!(o.engine as u32, o.in_port, "engine e serves port e");
        assert_eq!(o.frame, frame(1, 2, 64));
        assert!(o.done > o.arrival);
    }
    for e in 0..4u32 {
        assert_eq!(d.read32(regs::RXPKT + 4 * e).unwrap(), 10);
        assert_eq!(d.read32(regs::TXPKT + 4 * e).unwrap(), 10);
    }
    // R0 of engine 2's last verdict (port 2 -> 3).
    assert_eq!(d.read32(regs::ENG_R0 + 4 * 4 + 4).unwrap(), 3);
    assert!(d.read32(regs::CYCLELO).unwrap() > 0);
}

#[test]
fn several_engines_per_port_round_robin() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig {
        engines: 8,
        ..DeviceConfig::default()
    })
    .unwrap();
    program(&mut d, &image(&common::program("wire_sume.c"))).unwrap();
    for _ in 0..10 {
        d.rx(0, &frame(1, 2, 64));
    }
    d.drain(100_000);
    let out = d.take_outputs();
    let on4 = out.iter().filter(|o| o.engine == 4).count();
    let on0 = out.iter().filter(|o| o.engine == 0).count();
    assert_eq!((on0, on4), (5, 5), "port 0 feeds engines 0 and 4 in turn");
}

#[test]
fn map_entries_through_registers() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    program(&mut d, &image(&common::program("l2_switch_sume.c"))).unwrap();
    // Host installs a MAC -> port entry by value.
    let mac = 0x0200_0000_0007u64;
    d.write32(regs::MAPSELECT, 0).unwrap();
    d.write32(regs::SELECTMEMORY, 2).unwrap();
    d.write32(regs::HIKEY, (mac >> 32) as u32).unwrap();
    d.write32(regs::LOKEY, mac as u32).unwrap();
    d.write32(regs::HIDIN, 0).unwrap();
    d.write32(regs::LODIN, 2).unwrap();
    d.write32(regs::OPERATION, 1).unwrap();
    assert_eq!(
        (d.read32(regs::ACK).unwrap(), d.read32(regs::ERROR).unwrap()),
        (1, 0)
    );
    // A packet to that MAC from port 0 goes to port 2; the source is learned.
    d.rx(0, &frame(9, 7, 64));
    d.drain(100_000);
    assert_eq!(d.take_outputs()[0].dest, Dest::Port(2));
    let learned = 0x0200_0000_0009u64;
    d.write32(regs::HIKEY, (learned >> 32) as u32).unwrap();
    d.write32(regs::LOKEY, learned as u32).unwrap();
    d.write32(regs::OPERATION, 3).unwrap();
    assert_eq!(d.read32(regs::ERROR).unwrap(), 0);
    assert_eq!(d.read32(regs::LODIN).unwrap(), 0, "learned on port 0");
    // A lookup of an absent key: ENOENT.
    d.write32(regs::LOKEY, 0x1234).unwrap();
    d.write32(regs::OPERATION, 3).unwrap();
    assert_eq!(d.read32(regs::ERROR).unwrap(), 2);
}

#[test]
fn program_swap_under_traffic_loses_nothing() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    program(&mut d, &image(&common::fixed_port_source(1).1)).unwrap();
    let p2 = image(&common::fixed_port_source(0).1);
    let mut sent = 0u64;
    for cycle in 0..20_000u64 {
        // 512-byte frames on port 0 at about 10 Gb/s: one every ~85 clocks.
        if cycle % 85 == 0 {
            assert!(
                d.rx(0, &frame(1, 2, 512)),
                "FIFO_MD overflow at cycle {cycle}"
            );
            sent += 1;
        }
        if cycle == 10_000 {
            program(&mut d, &p2).unwrap();
        }
        d.step();
    }
    d.drain(100_000);
    let out = d.take_outputs();
    assert_eq!(out.len() as u64, sent, "every packet left the device");
    let mut seen_new = false;
    for o in &out {
        // Bank 1 runs P1 (to port 1), bank 0 runs P2 (to port 0): a packet's
        // output follows from the one bank it ran on.
        let want = if o.bank == 1 { 1 } else { 0 };
        assert_eq!(
            o.dest,
            Dest::Port(want),
            "packet {} on bank {}",
            o.seq,
            o.bank
        );
        if o.bank == 0 {
            seen_new = true;
        } else {
            assert!(!seen_new, "an old-program packet after the switch");
        }
    }
    assert!(seen_new && out.iter().any(|o| o.bank == 1));
    assert_eq!(d.read32(regs::CURRINSTMEM).unwrap(), 0);
}

#[test]
fn register_errors_are_clear() {
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    assert_eq!(d.read32(regs::ID).unwrap(), regs::DEVICE_ID);
    assert!(
        d.read32(0x1000)
            .unwrap_err()
            .to_string()
            .contains("no register at offset 0x1000")
    );
    assert!(
        d.write32(regs::ID, 1)
            .unwrap_err()
            .to_string()
            .contains("ID (0x0) is read-only")
    );
    // An invalid program in the idle bank: FLIP refuses and says why.
    d.write32(regs::WRINST, 0).unwrap();
    d.write32(regs::NUMINST, 1).unwrap();
    d.write32(regs::HIINST, 0).unwrap();
    d.write32(regs::LOINST, 0xff).unwrap();
    let e = d.write32(regs::FLIP, 1).unwrap_err().to_string();
    assert!(
        e.contains("FLIP: the program in the idle bank is invalid")
            && e.contains("unknown opcode 0xff"),
        "{e}"
    );
    assert_eq!(d.read32(regs::CURRINSTMEM).unwrap(), 0, "no swap");
    assert!(
        Device::new(DeviceConfig {
            engines: 17,
            ..DeviceConfig::default()
        })
        .is_err()
    );
}

#[test]
fn engines_wait_for_the_shared_map_coprocessor() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    program(&mut d, &image(&common::program("l2_switch_sume.c"))).unwrap();
    // All four ports at once: every packet makes two CAM operations.
    for _ in 0..50 {
        for p in 0..4 {
            assert!(d.rx(p, &frame(p as u8 + 1, 9, 64)));
        }
        for _ in 0..150 {
            d.step();
        }
    }
    d.drain(1_000_000);
    assert_eq!(
        d.take_outputs().len(),
        200 - (0..4)
            .map(|e| d.engine_counters(e).unwrap().dropped as usize)
            .sum::<usize>()
    );
    let waits: Vec<u64> = (0..4)
        .map(|e| d.engine_counters(e).unwrap().map_wait)
        .collect();
    assert!(
        waits.iter().all(|&w| w > 0),
        "every engine waited: {waits:?}"
    );
    let (lo, hi) = (*waits.iter().min().unwrap(), *waits.iter().max().unwrap());
    assert!(
        hi <= 3 * lo,
        "rotating priority keeps waits comparable: {waits:?}"
    );
    d.write32(regs::ENGSELECT, 2).unwrap();
    assert_eq!(u64::from(d.read32(regs::ENGMAPWAIT).unwrap()), waits[2]);
}

#[test]
fn a_second_function_with_other_maps_and_abi() {
    if !clang() {
        return;
    }
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    program(&mut d, &image(&common::program("l2_switch_sume.c"))).unwrap();
    d.rx(0, &frame(1, 2, 64));
    d.drain(100_000);
    assert_eq!(d.take_outputs()[0].dest, Dest::Flood);
    // Then an XDP function whose map 0 is another map (an ARRAY config).
    let img = image(&common::program("flow_router.c"));
    program(&mut d, &img).unwrap();
    let mut cfg = 1u32.to_le_bytes().to_vec();
    cfg.extend_from_slice(&2u32.to_le_bytes());
    nfbpf_loader::device::update_entry(
        &mut d,
        0,
        nfbpf_vm::maps::MapType::Array,
        &0u32.to_le_bytes(),
        &cfg,
    )
    .unwrap();
    d.rx(
        1,
        &common::ipv4_frame(1, 2, [10, 0, 0, 1], [10, 9, 9, 9], 17, 53, 64),
    );
    d.drain(100_000);
    let out = d.take_outputs();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].dest,
        Dest::Port(2),
        "default port from the config map"
    );
    assert_eq!(d.engine_counters(1).unwrap().faults, 0);
}

/// What the software engines run but the device does not hold is refused
/// at load, before any row is written, naming the map and why: a value of
/// 136 bytes (pping's), ring buffers, perf event arrays and queues. The
/// same objects load for the interpreter and the pipeline.
#[test]
fn device_refuses_wide_values_and_event_maps() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); \
             __type(key, __u32); __type(value, struct { __u8 b[136]; }); } flows SEC(\".maps\");",
            "bpf_map_lookup_elem(&flows, &k) ? XDP_DROP : XDP_PASS",
            &[
                "map 0 `flows`",
                "HASH map with a value of 136 bytes",
                "at most 64 bytes",
                "wide-entry window",
            ][..],
        ),
        (
            "struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } ev SEC(\".maps\");",
            "bpf_ringbuf_output(&ev, &k, 4, 0) ? XDP_DROP : XDP_PASS",
            &[
                "map 0 `ev`",
                "RINGBUF map",
                "no path from an engine to the host for events",
            ][..],
        ),
        (
            "struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(max_entries, 4); \
             __uint(key_size, 4); __uint(value_size, 4); } ev SEC(\".maps\");",
            "bpf_perf_event_output(ctx, &ev, BPF_F_CURRENT_CPU, &k, 4) ? XDP_DROP : XDP_PASS",
            &[
                "map 0 `ev`",
                "PERF_EVENT_ARRAY map",
                "no path from an engine to the host",
            ][..],
        ),
        (
            "struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } q SEC(\".maps\");",
            "bpf_map_push_elem(&q, &k, 0) ? XDP_DROP : XDP_PASS",
            &["map 0 `q`", "QUEUE map", "first-in-first-out"][..],
        ),
    ];
    for (i, (map, body, want)) in cases.iter().enumerate() {
        let src = dir.path().join(format!("m{i}.c"));
        std::fs::write(
            &src,
            format!(
                "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n{map}\n\
                 SEC(\"xdp\") int f(struct xdp_md *ctx) {{ __u32 k = ctx->ingress_ifindex; return {body}; }}\n\
                 char LICENSE[] SEC(\"license\") = \"GPL\";\n"
            ),
        )
        .unwrap();
        let img = image(&src);
        assert!(img.program().is_ok(), "the software engines take case {i}");
        let mut d = Device::new(DeviceConfig::default()).unwrap();
        let e = program(&mut d, &img).unwrap_err().to_string();
        for w in *want {
            assert!(e.contains(w), "case {i}: {w:?} not in {e}");
        }
        assert!(
            nfbpf_loader::device::map_table(&mut d).unwrap().is_empty(),
            "case {i}: no row written"
        );
    }
}
