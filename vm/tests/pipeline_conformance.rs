//! T1 conformance through the pipeline model: every vector of the
//! conformance suite (`conformance::suite_dir`) passes on the pipeline exactly when it passes on
//! the interpreter, and the two emit the same retire records (every field
//! but `cycle`) on each.

use nfbpf_vm::Program;
use nfbpf_vm::conformance::{self, InterpExecutor, Verdict, judge, parse, program_of};
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::{self, conformance_memory};
use nfbpf_vm::pipeline::{self, NoCycles, PipelineExecutor};
use nfbpf_vm::trace::Collect;
use std::path::PathBuf;

fn vectors() -> Vec<PathBuf> {
    let d = conformance::suite_dir(conformance::Part::Tests).unwrap_or_else(|e| panic!("{e}"));
    conformance::collect(&[d]).unwrap_or_else(|e| panic!("the conformance suite: {e}"))
}

#[test]
fn pipeline_passes_what_the_interpreter_passes() {
    let files = vectors();
    let (mut n, mut pass) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let Ok(tc) = parse(&text) else { continue };
        let vi = judge(&tc, &mut InterpExecutor::default());
        let vp = judge(&tc, &mut PipelineExecutor::default());
        assert_eq!(vi, vp, "{}", f.display());
        n += 1;
        pass += (vp == Verdict::Pass) as u32;
        // Same retire records.
        let Ok(insns) = program_of(&tc) else { continue };
        let Ok(prog) = Program::with_limits(insns, &conformance::limits()) else {
            continue;
        };
        let (mut m1, args) = conformance_memory(&tc.mem);
        let (mut m2, _) = conformance_memory(&tc.mem);
        let (mut t1, mut t2) = (Collect::default(), Collect::default());
        let r1 = interp::run(
            &prog,
            &mut m1,
            &mut Helpers::conformance(),
            args,
            &interp::Config::default(),
            &mut t1,
        );
        let r2 = pipeline::run(
            &prog,
            &mut m2,
            &mut Helpers::conformance(),
            args,
            &pipeline::Config::default(),
            &mut t2,
            &mut NoCycles,
        );
        assert_eq!(r1, r2, "{}", f.display());
        assert_eq!(t1.0.len(), t2.0.len(), "{}", f.display());
        for (a, b) in t1.0.iter().zip(&t2.0) {
            assert!(
                a.same_effect(b),
                "{}\n{}\n{}",
                f.display(),
                a.to_line(),
                b.to_line()
            );
        }
    }
    eprintln!("pipeline: {pass}/{n} conformance vectors pass");
    assert!(n > 100, "only {n} vectors parsed");
}
