//! Throughput of the model itself: simulated clocks per second of host time.
//! `cargo bench -p nfbpf-vm --bench pipeline` prints it; `nfbpf bench
//! pipeline` can call [`measure`] directly.

use super::{Config, Engine, InstrMem, NoCycles, Pacing};
use crate::contract;
use crate::helpers::Helpers;
use crate::interp::add_stack;
use crate::mem::Memory;
use crate::program::Program;
use crate::trace::NoTrace;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub cycles: u64,
    pub retired: u64,
    pub packets: u64,
    pub elapsed: Duration,
}

impl Throughput {
    pub fn cycles_per_sec(&self) -> f64 {
        self.cycles as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn insns_per_sec(&self) -> f64 {
        self.retired as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A loop of `iters` iterations mixing loads, stores, ALU, forwarding, a
/// load-use and a taken branch per iteration (about 8 clocks each).
pub fn loop_program(iters: i32) -> Program {
    use crate::build as b;
    use crate::isa::{AluOp, Cond, Width};
    let v = vec![
        b::mov64_imm(2, 0),                   // mov r2, 0
        b::mov64_imm(3, iters),               // mov r3, iters
        b::ldx(Width::DW, 4, 10, -8),         // ldxdw r4, [r10-8]
        b::alu_reg(AluOp::Add, true, 4, 3),   // add r4, r3 (load-use)
        b::stx(Width::DW, 10, 4, -8),         // stxdw [r10-8], r4
        b::alu_reg(AluOp::Xor, true, 2, 4),   // xor r2, r4
        b::add64_imm(3, -1),                  // add r3, -1
        b::jmp_imm(Cond::Ne, true, 3, 0, -6), // jne r3, 0, -6
        b::mov64_reg(0, 2),                   // mov r0, r2
        b::exit(),                            // exit
    ];
    // The program is fixed and valid.
    Program::new(v).unwrap_or_else(|e| panic!("bench program: {e}"))
}

/// Run `prog` on `packets` packets of `packet` bytes (all words present) on
/// one engine, untraced, and time it.
pub fn measure(prog: &Program, packet: &[u8], packets: u64) -> Throughput {
    let mut imem = InstrMem::with_program(Arc::new(prog.clone()));
    let mut e = Engine::new(Config {
        pacing: Pacing::Instant,
        budget: u64::MAX,
        ..Config::default()
    });
    let mut mem = Memory::new();
    let _ = add_stack(&mut mem);
    let mut h = Helpers::new();
    let args = [contract::PKT_BASE, packet.len() as u64, 0, 0, 0];
    let t0 = Instant::now();
    let mut done = 0;
    while done < packets {
        if e.fifo.queued() == 0 && e.push_packet(packet, args).is_err() {
            break;
        }
        if e.step(&mut imem, &mut mem, &mut h, &mut NoTrace, &mut NoCycles)
            .is_some()
        {
            done += 1;
        }
    }
    let elapsed = t0.elapsed();
    Throughput {
        cycles: e.stats().cycles,
        retired: e.stats().retired,
        packets: done,
        elapsed,
    }
}
