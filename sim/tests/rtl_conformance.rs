//! T3: the conformance suite (`tests/`, found by `conformance::suite_dir`) on the engine
//! RTL. Every test passes through the RTL executor, and every test whose
//! program the validator accepts also runs in co-simulation against the
//! pipeline model, cycle-exact (cycle records and retire records every
//! clock, then results and final memory).

use nfbpf_sim::cosim;
use nfbpf_sim::engine::RtlEngine;
use nfbpf_sim::engine::RtlExecutor;
use nfbpf_vm::conformance::{self, Verdict};
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::pipeline;
use nfbpf_vm::program::Program;
use std::path::PathBuf;

fn suite() -> Vec<PathBuf> {
    let dir = conformance::suite_dir(conformance::Part::Tests).unwrap_or_else(|e| panic!("{e}"));
    conformance::collect(&[dir]).unwrap_or_else(|e| panic!("the conformance suite: {e}"))
}

#[test]
fn conformance_suite_passes_on_rtl() {
    let files = suite();
    assert!(files.len() >= 225, "the suite has 225 tests or more");
    let mut exec = RtlExecutor::default();
    let mut fails = Vec::new();
    for f in &files {
        if let Verdict::Fail(c) = conformance::run_file(f, &mut exec) {
            fails.push(format!("{}: {c}", f.display()));
        }
    }
    assert!(
        fails.is_empty(),
        "{} of {} failed:\n{}",
        fails.len(),
        files.len(),
        fails.join("\n")
    );
}

#[test]
fn conformance_suite_is_cycle_exact() {
    let mut rtl = RtlEngine::new();
    let (mut ran, mut rejected) = (0, 0);
    let mut fails = Vec::new();
    for f in suite() {
        let text = std::fs::read_to_string(&f).expect("readable test");
        let tc = conformance::parse(&text).expect("parsable test");
        let insns = conformance::program_of(&tc).expect("program");
        let Ok(prog) = Program::with_limits(insns, &conformance::limits()) else {
            rejected += 1;
            continue;
        };
        let (mem, args) = conformance_memory(&tc.mem);
        let cfg = pipeline::Config::default();
        match cosim::cosim_with(&mut rtl, &prog, &mem, Helpers::conformance, args, &cfg) {
            Ok(_) => ran += 1,
            Err(m) => fails.push(format!("{}: {m}", f.display())),
        }
    }
    assert!(
        fails.is_empty(),
        "{} mismatches:\n{}",
        fails.len(),
        fails.join("\n")
    );
    println!("{ran} tests cycle-exact, {rejected} rejected by the validator (nothing to run)");
}
