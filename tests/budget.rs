//! The instruction budget per packet, per function, on the data plane: the
//! model and the RTL in lockstep (`sim::devcosim`, every engine's records of
//! every clock, every output and every register read compared).
//!
//! - A function that runs far past its budget on port 0's packets and
//!   forwards ports 1..3 like Wire, loaded with a budget of 64: at line rate
//!   on four ports (64-byte and 1500-byte frames) ports 1..3 lose nothing,
//!   and port 0's packets are aborted with fault cause 2, counted in
//!   ENGFAULTS of port 0's engine only.
//! - BUDGET staged with a program takes effect at the FLIP that makes its
//!   bank active; a packet already running keeps its bank's budget.
//!
//! `nfbpf load --budget N` is tested in `device_cli.rs`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::{clang, ipv4_frame, offer};
use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::devcosim::DevCosim;
use nfbpf_sim::device::read_counters;
use nfbpf_vm::contract;
use nfbpf_vm::device::DeviceConfig;
use nfbpf_vm::regs::{self, RegisterBus};
use std::path::PathBuf;

mod common;

/// Wire on ports 1..3 (13 clocks a packet: line rate at 64 bytes); on port
/// 0, `eth[14] << 10` rounds of a loop first (byte 14 of an IPv4 frame is
/// 0x45: 70,656 rounds of seven instructions, far past any small budget; 0:
/// none).
const SPIN: &str = r#"#include "sume.h"

u64 spin(struct sume_md *md)
{
	u8 *eth = (u8 *)md + SUME_MD_BYTES;
	u64 port = md->in_port;

	if (port == 0) {
		volatile u64 n = 0;
		for (u32 i = 0; i < (u32)eth[14] << 10; i++)
			n += i;
	}
	return port ^ 1;
}
"#;

/// The spin function, compiled and loaded, under `budget`.
fn spin(budget: Option<u32>) -> Image {
    // One directory per call: the tests of this file run at the same time.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("spin.c");
    std::fs::write(&src, SPIN).unwrap();
    // The load-time check refuses this function (its loop may run 1.8 M
    // instructions, past what the check explores): the budget is the
    // defence for what gets past it, so the check is off here.
    let opts = Options {
        include_dirs: vec![PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/programs/include"
        ))],
        verify: false,
        ..Options::default()
    };
    load_file(&src, &opts).unwrap().with_budget(budget)
}

/// A 64-byte frame whose byte 14 (the spin count) is `rounds`.
fn spin_frame(rounds: u8) -> Vec<u8> {
    let mut f = ipv4_frame(1, 2, [10, 0, 0, 1], [10, 0, 0, 2], 17, 9, 64);
    f[14] = rounds;
    f
}

fn engine(c: &mut DevCosim, e: u32) -> nfbpf_vm::device::EngineCounters {
    read_counters(c, 4).unwrap().0[e as usize]
}

#[test]
fn a_function_past_its_budget_is_stopped_on_its_port_only_in_lockstep() {
    if !clang() {
        return;
    }
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &spin(Some(64))).unwrap();
    assert_eq!(c.read32(regs::BUDGET).unwrap(), 64);
    // 64-byte frames, then 1500-byte ones, at line rate on four ports.
    let per_port = [(64usize, 120usize), (1500, 24)];
    let mut frames = Vec::new();
    for (len, n) in per_port {
        for i in 0..n {
            for p in 0..4 {
                let f = ipv4_frame(p as u8, 9, [10, 0, 0, i as u8], [10, 0, 1, 1], 17, 53, len);
                frames.push((p, f));
            }
        }
    }
    offer(&mut c, &frames, |c| c.step().unwrap());
    c.drain(1_000_000).unwrap();
    let offered: u64 = per_port.iter().map(|&(_, n)| n as u64).sum();
    let (es, ps) = read_counters(&mut c, 4).unwrap();
    // Port 0: every packet its engine took was aborted by the budget; the
    // others found its FIFO_MD full and were dropped at the demultiplexer.
    let e0 = es[0];
    assert!(e0.pkt_in > 0, "{e0:?}");
    assert_eq!(
        (e0.faults, e0.pkt_out, e0.dropped),
        (e0.pkt_in, 0, 0),
        "{e0:?}"
    );
    assert_eq!(e0.fault_cause, 2, "budget");
    assert_eq!(ps[0].rx, offered);
    assert_eq!(ps[0].rx, e0.pkt_in + ps[0].rx_dropped, "{:?}", ps[0]);
    // Ports 1..3: Wire at line rate, nothing lost, no fault.
    for p in 1..4 {
        let e = es[p];
        assert_eq!(ps[p].rx_dropped, 0, "port {p}: {:?}", ps[p]);
        assert_eq!(
            (e.pkt_in, e.pkt_out, e.faults),
            (offered, offered, 0),
            "{e:?}"
        );
    }
    // in_port ^ 1: 1 -> 0, 2 -> 3, 3 -> 2; nothing reaches port 1.
    let tx: Vec<u64> = ps.iter().map(|p| p.tx).collect();
    assert_eq!(tx, [offered, 0, offered, offered]);
    assert_eq!(c.outputs, 3 * offered, "outputs compared");
    assert_eq!(c.cycle_records, 4 * c.cycle(), "cycle records compared");
    eprintln!(
        "port 0: {} aborted by the budget, {} dropped at the demux; ports 1..3: {offered} \
         each forwarded; {} cycles, {} retire records, 0 mismatches",
        e0.faults,
        ps[0].rx_dropped,
        c.cycle(),
        c.retires
    );
}

#[test]
fn budget_is_staged_and_taken_by_the_flip_in_lockstep() {
    if !clang() {
        return;
    }
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    assert_eq!(
        u64::from(c.read32(regs::BUDGET).unwrap()),
        contract::DEVICE_INSN_BUDGET,
        "the default"
    );
    // Under 64: a packet that does not loop passes, one that loops is
    // aborted.
    program(&mut c, &spin(Some(64))).unwrap();
    for (rounds, faults, out) in [(0, 0, 1), (1, 1, 1)] {
        c.rx(0, &spin_frame(rounds)).unwrap();
        c.drain(100_000).unwrap();
        let e = engine(&mut c, 0);
        assert_eq!((e.faults, c.outputs), (faults, out), "{e:?}");
    }
    // The next program with a budget of 100,000 is written to the idle bank:
    // nothing changes until its FLIP.
    let big = spin(Some(100_000));
    nfbpf_loader::device::stage(&mut c, &big).unwrap();
    assert_eq!(
        c.read32(regs::BUDGET).unwrap(),
        64,
        "still the active bank's"
    );
    c.rx(0, &spin_frame(1)).unwrap();
    c.drain(100_000).unwrap();
    assert_eq!((engine(&mut c, 0).faults, c.outputs), (2, 1));
    nfbpf_loader::device::flip(&mut c).unwrap();
    assert_eq!(c.read32(regs::BUDGET).unwrap(), 100_000);
    // 1,024 rounds fit 100,000 instructions: forwarded.
    c.rx(0, &spin_frame(1)).unwrap();
    c.drain(100_000).unwrap();
    assert_eq!((engine(&mut c, 0).faults, c.outputs), (2, 2));

    // A packet running while the next program swaps in under 64 finishes
    // under its own bank's 100,000; the packet after it runs under 64.
    c.rx(0, &spin_frame(1)).unwrap();
    for _ in 0..50 {
        c.step().unwrap();
    }
    let small = spin(Some(64));
    program(&mut c, &small).unwrap();
    assert_eq!(c.read32(regs::BUDGET).unwrap(), 64);
    assert!(
        c.model.in_flight() > 0,
        "the packet still runs after the swap"
    );
    c.rx(0, &spin_frame(1)).unwrap();
    c.drain(100_000).unwrap();
    let e = engine(&mut c, 0);
    assert_eq!((e.faults, e.fault_cause, c.outputs), (3, 2, 3), "{e:?}");

    // WRINST 0 sets the staged budget back: an image without one runs
    // under the default (1,024 rounds do not fit 247).
    program(&mut c, &spin(None)).unwrap();
    assert_eq!(
        u64::from(c.read32(regs::BUDGET).unwrap()),
        contract::DEVICE_INSN_BUDGET
    );
    c.rx(0, &spin_frame(1)).unwrap();
    c.drain(100_000).unwrap();
    assert_eq!((engine(&mut c, 0).faults, c.outputs), (4, 3));
    assert_eq!(c.cycle_records, 4 * c.cycle(), "cycle records compared");
}
