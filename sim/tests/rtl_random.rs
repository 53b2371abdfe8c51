//! T3 differential: random valid programs from `vm::pipeline::randprog` in
//! co-simulation, model against RTL, cycle-exact (every clock's cycle and
//! retire records, then results and final memory). Seeds are fixed so a
//! failure names its seed; `NFBPF_RTL_SEEDS=N` runs more.

use nfbpf_sim::cosim;
use nfbpf_sim::engine::RtlEngine;
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::pipeline::{self, Pacing, randprog};
use nfbpf_vm::{Program, disasm};

fn seeds() -> u64 {
    std::env::var("NFBPF_RTL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn random_programs_are_cycle_exact() {
    let mut rtl = RtlEngine::new();
    let n = seeds();
    let (mut faults, mut cycles, mut paced) = (0u64, 0u64, 0u64);
    for seed in 0..n {
        let case = randprog::generate(seed);
        let prog = Program::new(case.insns.clone())
            .unwrap_or_else(|e| panic!("seed {seed}: generator made an invalid program: {e}"));
        let cfg = pipeline::Config {
            budget: case.budget,
            pacing: if case.paced {
                Pacing::default()
            } else {
                Pacing::Instant
            },
            ..pipeline::Config::default()
        };
        let (mem, args) = conformance_memory(&case.packet);
        match cosim::cosim_with(&mut rtl, &prog, &mem, randprog::helpers, args, &cfg) {
            Ok(rep) => {
                faults += rep.result.is_err() as u64;
                cycles += rep.cycles;
                paced += case.paced as u64;
            }
            Err(m) => panic!(
                "seed {seed} (packet {} bytes, budget {}, paced {}):\n{m}\n{}",
                case.packet.len(),
                case.budget,
                case.paced,
                disasm::listing(&case.insns)
            ),
        }
    }
    println!(
        "{n} random programs cycle-exact: {cycles} clocks, {faults} ended in a fault, {paced} paced at 10 Gb/s"
    );
}

/// Wild programs (the generator of vm/tests/pipeline_equiv.rs): random table
/// rows with unconstrained fields (backward jumps, loops, any register as a
/// pointer, any helper id), kept when they validate; model and RTL in
/// lockstep.
#[test]
fn wild_programs_are_cycle_exact() {
    let n_seeds = seeds() * 4;
    let mut rtl = RtlEngine::new();
    let mut ran = 0;
    for seed in 0..n_seeds {
        let mut g = randprog::Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let insns = randprog::wild(&mut g);
        let Ok(prog) = Program::new(insns.clone()) else {
            continue;
        };
        let len = g.below(80) as usize;
        let packet: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
        let cfg = pipeline::Config {
            budget: 1 + g.below(3000),
            pacing: if g.pct(50) {
                Pacing::default()
            } else {
                Pacing::Instant
            },
            ..pipeline::Config::default()
        };
        let (mem, args) = conformance_memory(&packet);
        if let Err(m) = cosim::cosim_with(&mut rtl, &prog, &mem, randprog::helpers, args, &cfg) {
            panic!("wild seed {seed}:\n{m}\n{}", disasm::listing(&insns));
        }
        ran += 1;
    }
    println!("{ran} wild programs cycle-exact");
    assert!(
        ran * 10 > n_seeds as usize,
        "only {ran} wild programs validated"
    );
}
