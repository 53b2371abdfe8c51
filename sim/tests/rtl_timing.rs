//! T3 timing: the rows of docs/pipeline.md's stall and latency table,
//! measured on the engine RTL alone (not through the model), must equal the
//! table's "extra cycles"; each measurement program also runs in
//! co-simulation, and the stall causes the RTL reports are the expected ones.

use nfbpf_sim::{cosim, engine};
use nfbpf_vm::contract;
use nfbpf_vm::helpers::{HelperOutcome, Helpers};
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::isa::Form;
use nfbpf_vm::pipeline::{self, CollectCycles, Pacing, Stall};
use nfbpf_vm::trace::Collect;
use nfbpf_vm::{Insn, Program};

use nfbpf_vm::build::{lddw, named as ins};
fn movi(d: u8, v: i32) -> Insn {
    ins("mov", Form::AluImm, d, 0, 0, v)
}
fn addi(d: u8, v: i32) -> Insn {
    ins("add", Form::AluImm, d, 0, 0, v)
}
fn ldxdw(d: u8, s: u8, off: i16) -> Insn {
    ins("ldxdw", Form::Load, d, s, off, 0)
}
fn exit() -> Insn {
    ins("exit", Form::Exit, 0, 0, 0, 0)
}

fn helpers() -> Helpers {
    let mut h = Helpers::new();
    h.register(1, "one", |_, a| Ok(HelperOutcome::Return(a[0] + 1)));
    h
}

struct Run {
    cycles: u64,
    retired: u64,
    stalls: Vec<Stall>,
}

impl Run {
    fn extra(&self) -> u64 {
        self.cycles - (self.retired + contract::PIPE_STAGES - 1)
    }
    fn count(&self, s: Stall) -> usize {
        self.stalls.iter().filter(|&&x| x == s).count()
    }
}

fn run_cfg(insns: &[Insn], packet: &[u8], cfg: &pipeline::Config) -> Run {
    let prog = Program::new(insns.to_vec()).unwrap_or_else(|e| panic!("{e}"));
    let (mut m, args) = conformance_memory(packet);
    // The same program in lockstep with the model first.
    if let Err(e) = cosim::cosim(&prog, &m, helpers, args, cfg) {
        panic!("{e}");
    }
    let (mut t, mut c) = (Collect::default(), CollectCycles::default());
    engine::run(&prog, &mut m, &mut helpers(), args, cfg, &mut t, &mut c)
        .unwrap_or_else(|f| panic!("{f}"));
    Run {
        cycles: c.0.len() as u64,
        retired: t.0.len() as u64,
        stalls: c.0.iter().map(|r| r.stall).collect(),
    }
}

fn instant() -> pipeline::Config {
    pipeline::Config {
        pacing: Pacing::Instant,
        ..pipeline::Config::default()
    }
}

fn run(insns: &[Insn]) -> Run {
    run_cfg(insns, &[0u8; 64], &instant())
}

fn measured(key: &str) -> u64 {
    match key {
        "alu" => run(&[movi(1, 1), movi(2, 0), exit()]).extra(),
        "load_use" => {
            let r = run(&[ldxdw(3, 10, -8), addi(3, 1), movi(0, 0), exit()]);
            assert_eq!(r.count(Stall::LoadUse), 1);
            r.extra()
        }
        "taken_branch" => run(&[ins("ja", Form::Ja, 0, 0, 1, 0), movi(0, 1), exit()]).extra(),
        "not_taken_branch" => {
            run(&[ins("jeq", Form::JmpImm, 1, 0, 1, 0), movi(0, 1), exit()]).extra()
        }
        "mul" => {
            let r = run(&[ins("mul", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]);
            assert_eq!(r.count(Stall::Mul) as u64, contract::MUL_CYCLES - 1);
            r.extra()
        }
        "div32" => {
            let r = run(&[ins("div32", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]);
            assert_eq!(r.count(Stall::Div) as u64, contract::DIV32_CYCLES - 1);
            r.extra()
        }
        "div64" => {
            let r = run(&[ins("mod", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]);
            assert_eq!(r.count(Stall::Div) as u64, contract::DIV64_CYCLES - 1);
            r.extra()
        }
        "lddw" => {
            let r = run(&[lddw(1, 1)[0], lddw(1, 1)[1], movi(2, 0), exit()]);
            // Both slots in one fetch clock (contract::LDDW_FETCH_CYCLES).
            r.extra()
        }
        "atomic" => {
            let r = run(&[
                ins("lock add", Form::StoreReg, 10, 3, -8, 0),
                movi(2, 0),
                exit(),
            ]);
            assert_eq!(
                r.count(Stall::Atomic) as u64,
                contract::ATOMIC_MEM_CYCLES - 1
            );
            r.extra()
        }
        "helper" => {
            let r = run(&[ins("call", Form::Call, 0, 0, 0, 1), movi(2, 0), exit()]);
            assert_eq!(
                r.count(Stall::Helper) as u64,
                contract::HELPER_DEFAULT_CYCLES - 1
            );
            r.extra()
        }
        "call" => {
            run(&[
                ins("call local", Form::CallLocal, 0, 0, 0, 1),
                exit(),
                exit(),
            ])
            .extra()
                / 2
        }
        "exit_drain" => run(&[exit()]).cycles,
        "fifo_wait" => {
            let r = run_cfg(
                &[ins("ldxb", Form::Load, 2, 1, 32, 0), movi(3, 0), exit()],
                &[0; 64],
                &pipeline::Config::default(),
            );
            assert_eq!(r.count(Stall::FifoWait), 3);
            r.extra()
        }
        other => panic!("docs/pipeline.md names an unknown measurement {other}"),
    }
}

#[test]
fn docs_table_rows_hold_on_rtl() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/pipeline.md"))
        .expect("docs/pipeline.md");
    let table = doc
        .split("<!-- BEGIN timing-table -->")
        .nth(1)
        .and_then(|s| s.split("<!-- END timing-table -->").next())
        .expect("timing table markers");
    let mut rows = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(|c| c.trim()).collect();
        let key = cells[1].trim_matches('`');
        let extra: u64 = cells[5].parse().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(measured(key), extra, "docs row {key}: RTL extra cycles");
        rows += 1;
    }
    assert!(rows >= 12, "timing table has only {rows} rows");
}

#[test]
fn forwarding_and_call_depth_on_rtl() {
    // EX/MEM and MEM/WB forwarding, then a fault from recursion past
    // MAX_FRAMES: both in lockstep with the model.
    let fwd = [
        movi(1, 3),
        addi(1, 1),
        ins("add", Form::AluReg, 2, 1, 0, 0),
        ins("add", Form::AluReg, 0, 1, 0, 0),
        exit(),
    ];
    let r = run(&fwd);
    assert_eq!(r.extra(), 0);
    let rec = [ins("call local", Form::CallLocal, 0, 0, 0, -1), exit()];
    let prog = Program::new(rec.to_vec()).expect("valid");
    let (m, args) = conformance_memory(&[]);
    let rep = cosim::cosim(&prog, &m, helpers, args, &instant()).unwrap_or_else(|e| panic!("{e}"));
    let f = rep.result.expect_err("call depth fault");
    assert!(f.to_string().contains("call depth"), "{f}");
}

#[test]
fn cosim_reports_the_first_difference() {
    // The comparator is not vacuous: a helper one clock slower on the RTL
    // side shows up in the helper's last MEM clock, with both sides printed.
    let prog = Program::new(vec![
        ins("call", Form::Call, 0, 0, 0, 1),
        movi(2, 0),
        exit(),
    ])
    .expect("valid");
    let (m, args) = conformance_memory(&[0; 64]);
    let model = instant();
    let mut slow = instant();
    slow.helper_latency.default += 1;
    let e = cosim::cosim_configs(
        &mut engine::RtlEngine::new(),
        &prog,
        &m,
        helpers,
        args,
        &model,
        &slow,
    )
    .expect_err("the sides differ");
    let text = e.to_string();
    assert_eq!(e.cycle, 3 + contract::HELPER_DEFAULT_CYCLES - 1, "{text}");
    assert!(
        text.contains("--- model") && text.contains("--- rtl") && text.contains("helper"),
        "{text}"
    );
}

#[test]
fn divider_edge_cases_match_the_model() {
    // RFC 9669: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0,
    // signs of quotient and remainder, 32-bit forms on the low halves. The
    // values are summed into r0 and every step is compared in lockstep.
    let ops = [
        "div", "mod", "sdiv", "smod", "div32", "mod32", "sdiv32", "smod32",
    ];
    let pairs: [(i64, i64); 9] = [
        (7, 0),
        (-7, 0),
        (i64::MIN, -1),
        (i32::MIN as i64, -1),
        (-7, 2),
        (7, -2),
        (-7, -2),
        (0x1234_5678_9abc_def0, 0x1_0000_0001),
        (-1, 3),
    ];
    for op in ops {
        for (a, b) in pairs {
            let src = format!(
                "lddw %r1, {a:#x}\nlddw %r2, {b:#x}\n{op} %r1, %r2\nmov %r0, %r1\nexit",
                a = a as u64,
                b = b as u64
            );
            let prog =
                Program::new(nfbpf_vm::asm::assemble(&src).unwrap_or_else(|e| panic!("{e}")))
                    .expect("valid");
            let (m, args) = conformance_memory(&[]);
            cosim::cosim(&prog, &m, helpers, args, &instant())
                .unwrap_or_else(|e| panic!("{op} {a} {b}: {e}"));
        }
    }
}
