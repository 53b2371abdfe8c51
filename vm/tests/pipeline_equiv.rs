//! T2 differential: random valid programs on the reference interpreter and
//! on the pipeline model must agree on every retire record (all fields but
//! `cycle`), on r0 and the instruction count, on the fault (pc and kind) and
//! on the final memory.

use nfbpf_vm::contract;
use nfbpf_vm::interp::{self, conformance_memory};
use nfbpf_vm::pipeline::{self, randprog};
use nfbpf_vm::trace::Collect;
use nfbpf_vm::{Program, disasm};
use proptest::prelude::*;

/// Run one generated case on both executors; `Err` describes the first
/// difference (see `pipeline::diff`).
fn check(seed: u64) -> Result<(), String> {
    pipeline::diff::check_seed(seed)
        .map(|_| ())
        .map_err(|m| format!("seed {seed:#x}: {m}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn interpreter_and_pipeline_agree(seed in any::<u64>()) {
        if let Err(e) = check(seed) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// A fixed sweep (deterministic, independent of proptest's seed source).
#[test]
fn fixed_seeds_agree() {
    for seed in 0..20_000u64 {
        if let Err(e) = check(seed) {
            panic!("{e}");
        }
    }
}

/// The generator covers what the equivalence test promises.
#[test]
fn generator_covers_classes() {
    use nfbpf_vm::isa::{Kind, isa};
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..500u64 {
        let c = randprog::generate(seed);
        for i in &c.insns {
            if let Ok(d) = isa().decode(i) {
                let tag = match d.kind {
                    Kind::Alu { .. } => format!("{:?}", d.unit),
                    Kind::Ldx { .. } => "ldx".into(),
                    Kind::St { .. } | Kind::Stx { .. } => "store".into(),
                    Kind::Atomic { .. } => "atomic".into(),
                    Kind::Lddw => "lddw".into(),
                    Kind::Jmp { .. } => "jmp".into(),
                    Kind::Call => "call".into(),
                    Kind::Callx => "callx".into(),
                    Kind::CallLocal => "call local".into(),
                    Kind::LdAbs { .. } | Kind::LdInd { .. } => "ldpkt".into(),
                    _ => continue,
                };
                seen.insert(tag);
            }
        }
    }
    for want in [
        "Alu",
        "Mul",
        "Div",
        "ldx",
        "store",
        "atomic",
        "lddw",
        "jmp",
        "call",
        "callx",
        "call local",
        "ldpkt",
    ] {
        assert!(
            seen.contains(want),
            "generator never emits {want}: {seen:?}"
        );
    }
}

/// Print what the generated cases exercise (run with --nocapture).
#[test]
fn coverage_report() {
    let mut ok = 0;
    let mut faults = std::collections::BTreeMap::<String, u32>::new();
    let mut retired = 0u64;
    let mut stalls = [0u64; pipeline::Stall::COUNT];
    let n = 2000u64;
    for seed in 0..n {
        let case = randprog::generate(seed);
        let prog = Program::new(case.insns.clone()).unwrap();
        let (mut m, args) = conformance_memory(&case.packet);
        let cfg = pipeline::Config {
            budget: case.budget,
            ..pipeline::Config::default()
        };
        let rep = pipeline::run_report(
            &prog,
            &mut m,
            &mut randprog::helpers(),
            args,
            &cfg,
            &mut nfbpf_vm::trace::NoTrace,
            &mut pipeline::NoCycles,
        );
        retired += rep.stats.retired;
        for (i, s) in rep.stats.stalls.iter().enumerate() {
            stalls[i] += s;
        }
        match rep.result {
            Ok(_) => ok += 1,
            Err(f) => {
                let k = format!("{:?}", f.kind);
                if std::env::var("COV_DEBUG").is_ok() && k.starts_with("Mem") {
                    println!("{} :: {}", disasm::disasm_one(&case.insns[f.pc..]), f);
                }
                *faults
                    .entry(k.split(['(', ' ', '{']).next().unwrap_or("").to_string())
                    .or_default() += 1
            }
        }
    }
    println!(
        "ok {ok}/{n}, faults {faults:?}, avg retired {}",
        retired / n
    );
    for s in pipeline::Stall::ALL {
        println!("  {:12} {}", s.name(), stalls[s.index()]);
    }
    assert!(ok > n / 4, "too few programs run to their exit");
}

/// Several packets queued in one engine's FIFO_MD at 10 Gb/s: each verdict
/// equals an interpreter run on that packet alone.
#[test]
fn queued_packets_match_interpreter() {
    use nfbpf_vm::pipeline::{Engine, InstrMem};
    use std::sync::Arc;
    for seed in 0..400u64 {
        let case = randprog::generate(seed);
        let prog = Program::new(case.insns.clone()).unwrap();
        let mut g = randprog::Rng::new(seed ^ 0x5eed);
        let packets: Vec<Vec<u8>> = (0..3)
            .map(|_| {
                let n = g.below(200) as usize + 1;
                (0..n).map(|_| g.next_u64() as u8).collect()
            })
            .collect();
        let mut imem = InstrMem::with_program(Arc::new(prog.clone()));
        let mut e = Engine::new(pipeline::Config {
            budget: case.budget,
            ..pipeline::Config::default()
        });
        let mut mem = nfbpf_vm::mem::Memory::new();
        interp::add_stack(&mut mem).unwrap();
        let mut h = randprog::helpers();
        for p in &packets {
            e.push_packet(p, [contract::PKT_BASE, p.len() as u64, 0, 0, 0])
                .unwrap();
        }
        let mut t = Collect::default();
        let mut verdicts = Vec::new();
        let mut guard = 0u64;
        while verdicts.len() < packets.len() {
            if let Some(v) = e.step(&mut imem, &mut mem, &mut h, &mut t, &mut pipeline::NoCycles) {
                verdicts.push(v);
                // fresh stack per packet, as the interpreter runs get
                mem.region_mut("stack").unwrap().data.fill(0);
            }
            guard += 1;
            assert!(guard < 50_000_000, "engine never finished (seed {seed})");
        }
        let mut all = Vec::new();
        for (p, v) in packets.iter().zip(&verdicts) {
            let (mut m, args) = conformance_memory(p);
            let icfg = interp::Config {
                budget: case.budget,
                ..interp::Config::default()
            };
            let r = interp::run(
                &prog,
                &mut m,
                &mut randprog::helpers(),
                args,
                &icfg,
                &mut Collect::default(),
            );
            assert_eq!(
                r,
                v.result,
                "seed {seed:#x}\n{}",
                disasm::listing(&case.insns)
            );
            assert_eq!(
                &m.region("packet").unwrap().data,
                &v.packet,
                "packet bytes, seed {seed:#x}\n{}",
                disasm::listing(&case.insns)
            );
            let mut ti = Collect::default();
            let (mut m, args) = conformance_memory(p);
            let _ = interp::run(
                &prog,
                &mut m,
                &mut randprog::helpers(),
                args,
                &icfg,
                &mut ti,
            );
            all.extend(ti.0);
        }
        assert_eq!(all.len(), t.0.len(), "seed {seed:#x}");
        for (a, b) in all.iter().zip(&t.0) {
            assert!(
                a.same_effect(b),
                "seed {seed:#x}\n{}\n{}",
                a.to_line(),
                b.to_line()
            );
        }
        // verdicts in order, one packet after another
        for w in verdicts.windows(2) {
            assert!(w[1].start > w[0].end);
        }
    }
}

/// Wild programs: random table rows with unconstrained fields (backward
/// jumps, loops, any register as a pointer), kept when they validate. The
/// pipeline must not panic and must still agree with the interpreter.
#[test]
fn wild_valid_programs_agree() {
    use nfbpf_vm::pipeline::diff;
    let mut ran = 0;
    for seed in 0..30_000u64 {
        let mut g = randprog::Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let insns = randprog::wild(&mut g);
        if Program::new(insns.clone()).is_err() {
            continue;
        }
        let len = g.below(80) as usize;
        let case = randprog::Case {
            insns,
            packet: (0..len).map(|_| g.next_u64() as u8).collect(),
            budget: 1 + g.below(3000),
            paced: g.pct(50),
        };
        if let Err(m) = diff::check(&case) {
            panic!("wild seed {seed}: {m}");
        }
        ran += 1;
    }
    eprintln!("{ran} wild programs validated and agreed");
    assert!(ran > 3000, "only {ran} wild programs validated");
}
