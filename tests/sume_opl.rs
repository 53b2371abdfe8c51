//! The data plane in the NetFPGA SUME output-port-lookup slot
//! (`rtl/ebpf_sume_opl.v`, Verilated) inside the model of the reference
//! pipeline (input arbiter over the four 10G ports and the host's DMA
//! queues, output queues by destination bits), against the model device on
//! the same traffic (`nfbpf_sim::sume::SumeCosim`): the four functions of
//! the published system loaded through the wrapper's AXI4-Lite slave (its
//! clock crossing in the path, with one clock on both sides), IMIX traffic
//! from ports and DMA queues, every output compared packet for packet and
//! clock for clock, every register read value for value: 0 mismatches.
//! Then `bringup`'s sequence runs against the same co-simulation.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::sume::{SumeCosim, offer_imix};
use nfbpf_vm::device::DeviceConfig;
use nfbpf_vm::regs::{self, RegisterBus};

mod common;

const FRAMES: usize = 120;

#[test]
fn four_functions_through_the_reference_pipeline_match_the_model() {
    if !common::clang() {
        return;
    }
    for name in ["wire_sume", "l2_switch_sume", "router_sume", "ddos_sume"] {
        let img = load_file(&common::program(&format!("{name}.c")), &Options::default()).unwrap();
        let mut c = SumeCosim::new(DeviceConfig::default()).unwrap();
        program(&mut c, &img).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (m, k, v) in common::map_entries(name) {
            let kind = img.maps[m as usize].def.kind;
            nfbpf_loader::device::update_entry(&mut c, m as usize, kind, &k, &v)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let n = offer_imix(&mut c, FRAMES, 7).unwrap();
        c.drain(64, 200_000);
        // Counters through the registers, compared with the model's.
        let mut rx = 0;
        for p in 0..4 {
            c.write32(regs::PORTSELECT, p).unwrap();
            rx += c.read32(regs::PORTRX).unwrap();
            c.read32(regs::PORTTX).unwrap();
            c.read32(regs::PORTRXDROP).unwrap();
            c.write32(regs::ENGSELECT, p).unwrap();
            c.read32(regs::ENGPKTIN).unwrap();
            c.read32(regs::ENGPKTOUT).unwrap();
            c.read32(regs::ENGDROP).unwrap();
        }
        assert!(c.mismatches.is_empty(), "{name}: {:#?}", c.mismatches);
        assert_eq!(rx as usize, n, "{name}: every frame reached the data plane");
        assert!(c.outputs > 0, "{name}: no output compared");
        let queued: usize = c.queues.queues.iter().map(Vec::len).sum();
        eprintln!(
            "{name}: {n} IMIX frames (ports and DMA queues), {} outputs compared clock for \
             clock, {queued} frames in the output queues, {} register reads, {} clocks, 0 mismatches",
            c.outputs,
            c.reads,
            c.clock()
        );
    }
}

#[test]
fn bringup_sequence_passes_on_the_wrapper() {
    if !common::clang() {
        return;
    }
    let wire = load_file(&common::program("wire_sume.c"), &Options::default()).unwrap();
    let mut c = SumeCosim::new(DeviceConfig::default()).unwrap();
    // The co-simulation steps only when asked: a bus that steps while the
    // bringup polls the counters.
    struct Stepping<'a>(&'a mut SumeCosim);
    impl RegisterBus for Stepping<'_> {
        fn read32(&mut self, off: u32) -> Result<u32, regs::BusError> {
            for _ in 0..16 {
                self.0.step();
            }
            self.0.read32(off)
        }
        fn write32(&mut self, off: u32, v: u32) -> Result<(), regs::BusError> {
            self.0.write32(off, v)
        }
        fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), regs::BusError> {
            self.0.host_send(port, frame)
        }
    }
    let mut failed = Vec::new();
    let ok = nfbpf_loader::bringup::run(
        &mut Stepping(&mut c),
        &wire,
        std::time::Duration::from_secs(20),
        &mut |ch| {
            if let Err(e) = &ch.result {
                failed.push(format!("{} {}: {e}", ch.step, ch.what));
            }
        },
    );
    assert!(ok, "{failed:?}");
    assert!(c.mismatches.is_empty(), "{:#?}", c.mismatches);
    assert!(c.outputs >= 16, "{} outputs", c.outputs);
}
