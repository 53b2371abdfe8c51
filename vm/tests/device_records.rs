//! `Device::step_recorded`: every engine's cycle record of every clock and
//! its retire records, the fault of a packet that ends with one, and the
//! same device behavior as `Device::step`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_vm::device::{Device, DeviceConfig};
use nfbpf_vm::isa::Form;
use nfbpf_vm::pipeline::{CollectDevice, Stall};
use nfbpf_vm::trace::DeviceFault;
use nfbpf_vm::{Insn, Program};

use nfbpf_vm::build::named as ins;

fn device(insns: Vec<Insn>) -> Device {
    let mut d = Device::new(DeviceConfig::default()).unwrap();
    d.write_idle(Program::new(insns).unwrap()).unwrap();
    d.flip();
    d
}

const CLOCKS: u64 = 300;

/// One frame into each port, `CLOCKS` clocks on a recording and a plain
/// device; the records and the recording device.
fn run(insns: Vec<Insn>) -> (CollectDevice, Device) {
    let (mut d, mut plain) = (device(insns.clone()), device(insns));
    for p in 0..4 {
        assert!(d.rx(p, &[0x5a; 64]));
        assert!(plain.rx(p, &[0x5a; 64]));
    }
    let mut rec = CollectDevice::default();
    for _ in 0..CLOCKS {
        d.step_recorded(&mut rec);
        plain.step();
    }
    assert_eq!(
        d.take_outputs(),
        plain.take_outputs(),
        "recording changed it"
    );
    (rec, d)
}

#[test]
fn every_engine_every_clock_and_its_retires() {
    let ldx = ins("ldxdw", Form::Load, 2, 1, 0, 0);
    let mov = ins("mov", Form::AluImm, 0, 0, 0, 1);
    let exit = ins("exit", Form::Exit, 0, 0, 0, 0);
    let (rec, d) = run(vec![ldx, mov, exit]);
    let mut keys: Vec<(u64, u8)> = rec.0.iter().map(|x| (x.cycle.cycle, x.engine)).collect();
    keys.sort();
    let want: Vec<(u64, u8)> = (0..CLOCKS)
        .flat_map(|c| (0..4).map(move |e| (c, e)))
        .collect();
    assert_eq!(keys, want, "one cycle record per engine per clock");
    for x in &rec.0 {
        assert_eq!(x.cycle.engine, x.engine);
        assert!(x.fault.is_none());
        for r in &x.retired {
            assert_eq!((r.engine, r.cycle), (x.engine, x.cycle.cycle));
        }
    }
    for e in 0..4u8 {
        let pcs: Vec<u32> = rec
            .0
            .iter()
            .filter(|x| x.engine == e)
            .flat_map(|x| x.retired.iter().map(|r| r.pc))
            .collect();
        assert_eq!(pcs, [0, 1, 2], "engine {e}");
        let stats = d.engine_stats(e as usize).unwrap();
        assert_eq!(stats.retired, 3);
        let busy = rec
            .0
            .iter()
            .filter(|x| x.engine == e && x.cycle.stall != Stall::Idle)
            .count() as u64;
        assert_eq!(busy, stats.busy_cycles, "engine {e}");
    }
}

#[test]
fn a_fault_comes_with_its_device_form() {
    // r3 = 0; r2 = *(u64 *)(r3 + 8): nothing is mapped at 8.
    let mov = ins("mov", Form::AluImm, 3, 0, 0, 0);
    let ldx = ins("ldxdw", Form::Load, 2, 3, 8, 0);
    let exit = ins("exit", Form::Exit, 0, 0, 0, 0);
    let (rec, _) = run(vec![mov, ldx, exit]);
    let faults: Vec<_> = rec.0.iter().filter(|x| x.fault.is_some()).collect();
    assert_eq!(faults.len(), 4, "one per packet");
    for x in faults {
        let f = x.fault.unwrap();
        assert_eq!(f, DeviceFault { cause: 1, addr: 8 });
        let r = x.retired.last().unwrap();
        assert_eq!(r.pc, 1);
        assert!(r.fault.as_deref().unwrap().contains("0x8"), "{r:?}");
        assert_eq!(f.text(), "memory fault at 0x8");
    }
}
