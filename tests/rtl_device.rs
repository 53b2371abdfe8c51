//! The data-plane RTL (`sim::device::RtlDevice`) against the model device
//! in lockstep (`sim::devcosim`): the SUME programs of `programs/` loaded
//! through the registers of both at once and run on line-rate traffic, and
//! program swaps under four ports of 64-byte frames; every output, receive
//! decision and register read (counters included) must be equal.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::devcosim::DevCosim;
use nfbpf_sim::device::read_counters;
use nfbpf_vm::device::DeviceConfig;
use nfbpf_vm::regs::{self, RegisterBus};

use common::{arp, clang, ipv4_frame as frame};

mod common;

/// Clocks a frame of `len` bytes occupies on a 10 Gb/s port at 200 MHz
/// (preamble and inter-frame gap included), in hundredths.
fn wire_centiclocks(len: usize) -> u64 {
    (len as u64 + 20) * 16
}

/// Run `frames` (port, bytes) at line rate per port, then drain; returns
/// the outputs compared.
fn run_traffic(c: &mut DevCosim, frames: &[(usize, Vec<u8>)]) -> u64 {
    let mut next = [0u64; 4];
    let mut i = 0;
    while i < frames.len() {
        let now = c.cycle() * 100;
        while i < frames.len() {
            let (p, f) = &frames[i];
            if next[*p] > now || !c.port_free(*p) {
                break;
            }
            c.rx(*p, f).unwrap();
            next[*p] = now.max(next[*p]) + wire_centiclocks(f.len());
            i += 1;
        }
        c.step().unwrap();
    }
    c.drain(1_000_000).unwrap();
    c.outputs
}

fn fixed(port: u32) -> Image {
    let dir = std::env::temp_dir().join(format!("nfbpf-rtldev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("p{port}.c"));
    std::fs::write(
        &p,
        format!("unsigned long long f(void *md) {{ return {port}; }}\n"),
    )
    .unwrap();
    load_file(&p, &Options::default()).unwrap()
}

fn check_counters(c: &mut DevCosim) {
    let (es, ps) = read_counters(c, 4).unwrap();
    let ins: u64 = es.iter().map(|e| e.pkt_in).sum();
    let rx: u64 = ps.iter().map(|p| p.rx).sum();
    assert!(ins > 0 && rx >= ins, "{es:?} {ps:?}");
}

#[test]
fn fixed_port_program_matches_model() {
    if !clang() {
        return;
    }
    let mut c = DevCosim::new(DeviceConfig::default()).unwrap();
    program(&mut c, &fixed(2)).unwrap();
    let mut frames = Vec::new();
    for i in 0..40u8 {
        let len = [64, 128, 300, 1500][(i % 4) as usize];
        frames.push((
            (i % 4) as usize,
            frame(i % 3, 1, [10, 0, 0, i], [10, 0, 1, 1], 17, 53, len),
        ));
    }
    frames.push((0, arp()));
    let n = run_traffic(&mut c, &frames);
    assert_eq!(n, frames.len() as u64);
    check_counters(&mut c);
    assert_eq!(c.read32(regs::CURRINSTMEM).unwrap(), 1);
}
