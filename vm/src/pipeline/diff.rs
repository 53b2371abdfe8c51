//! Differential check of one generated case: the reference interpreter and
//! the pipeline must agree on every retire record (all fields but `cycle`),
//! on the result (r0 and instruction count, or the fault's pc and kind) and
//! on the final memory. Used by the T2 test and `nfbpf fuzz-diff`.

use super::randprog::{self, Case};
use super::{Config, NoCycles, Pacing};
use crate::Program;
use crate::disasm;
use crate::interp::{self, conformance_memory};
use crate::trace::Collect;

/// What one agreeing case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub retired: usize,
    pub faulted: bool,
}

/// The first difference between the two executors on a case.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub what: String,
    pub case: Case,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.what)?;
        writeln!(
            f,
            "packet {} bytes, budget {}, {} arrival",
            self.case.packet.len(),
            self.case.budget,
            if self.case.paced {
                "10 Gb/s"
            } else {
                "instant"
            }
        )?;
        write!(f, "{}", disasm::listing(&self.case.insns))
    }
}

/// Generate the case for `seed` and check it.
pub fn check_seed(seed: u64) -> Result<Agreement, Mismatch> {
    check(&randprog::generate(seed))
}

/// Run `case` on both executors and compare.
pub fn check(case: &Case) -> Result<Agreement, Mismatch> {
    let fail = |what: String| Mismatch {
        what,
        case: case.clone(),
    };
    let prog = Program::new(case.insns.clone())
        .map_err(|e| fail(format!("generated program is invalid: {e}")))?;
    let icfg = interp::Config {
        budget: case.budget,
        ..interp::Config::default()
    };
    let pcfg = Config {
        budget: case.budget,
        pacing: if case.paced {
            Pacing::default()
        } else {
            Pacing::Instant
        },
        ..Config::default()
    };
    let (mut m1, args) = conformance_memory(&case.packet);
    let (mut m2, _) = conformance_memory(&case.packet);
    let (mut t1, mut t2) = (Collect::default(), Collect::default());
    let r1 = interp::run(
        &prog,
        &mut m1,
        &mut randprog::helpers(),
        args,
        &icfg,
        &mut t1,
    );
    let r2 = super::run(
        &prog,
        &mut m2,
        &mut randprog::helpers(),
        args,
        &pcfg,
        &mut t2,
        &mut NoCycles,
    );
    for (k, (a, b)) in t1.0.iter().zip(&t2.0).enumerate() {
        if !a.same_effect(b) {
            return Err(fail(format!(
                "retire record {k} differs:\n  interp   {}\n  pipeline {}",
                a.to_line(),
                b.to_line()
            )));
        }
    }
    if t1.0.len() != t2.0.len() {
        return Err(fail(format!(
            "retire record counts differ: interp {}, pipeline {}",
            t1.0.len(),
            t2.0.len()
        )));
    }
    if r1 != r2 {
        return Err(fail(format!(
            "results differ: interp {r1:?}, pipeline {r2:?}"
        )));
    }
    for (a, b) in m1.regions().iter().zip(m2.regions()) {
        if a.name != b.name || a.data != b.data {
            return Err(fail(format!("final memory of region {} differs", a.name)));
        }
    }
    if t2.0.windows(2).any(|w| w[1].cycle <= w[0].cycle) {
        return Err(fail("pipeline retire cycles do not increase".into()));
    }
    Ok(Agreement {
        retired: t2.0.len(),
        faulted: r2.is_err(),
    })
}
