//! T0 timing: every instruction class alone and every hazard pattern has an
//! asserted cycle count, and the stall/latency table in docs/pipeline.md is
//! checked against the model's constants and measured counts.
//!
//! Cycle counts run from the first fetch to the last retirement, both
//! included, so `k` instructions with no stall take `k + 4` cycles; "extra"
//! below is the count over that.

use nfbpf_vm::contract;
use nfbpf_vm::helpers::{HelperOutcome, Helpers};
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::isa::{Form, Kind, Unit, isa};
use nfbpf_vm::pipeline::{
    self, CollectCycles, CycleRecord, Engine, Fwd, InstrMem, Pacing, Stall, view,
};
use nfbpf_vm::trace::Collect;
use nfbpf_vm::{Insn, Program};
use std::sync::Arc;

use nfbpf_vm::build::{lddw, named as ins};
fn movi(d: u8, v: i32) -> Insn {
    ins("mov", Form::AluImm, d, 0, 0, v)
}
fn addi(d: u8, v: i32) -> Insn {
    ins("add", Form::AluImm, d, 0, 0, v)
}
fn addr(d: u8, s: u8) -> Insn {
    ins("add", Form::AluReg, d, s, 0, 0)
}
fn ldxdw(d: u8, s: u8, off: i16) -> Insn {
    ins("ldxdw", Form::Load, d, s, off, 0)
}
fn exit() -> Insn {
    ins("exit", Form::Exit, 0, 0, 0, 0)
}

struct Run {
    cycles: u64,
    retired: u64,
    recs: Vec<CycleRecord>,
    stats: pipeline::Stats,
    r0: Option<u64>,
}

impl Run {
    fn extra(&self) -> u64 {
        self.cycles - (self.retired + contract::PIPE_STAGES - 1)
    }
    fn stalls(&self, s: Stall) -> u64 {
        self.stats.stall(s)
    }
}

fn helpers_for_timing() -> Helpers {
    let mut h = Helpers::new();
    h.register(1, "one", |_, a| Ok(HelperOutcome::Return(a[0] + 1)));
    h.register(7, "slow", |_, _| Ok(HelperOutcome::Return(7)));
    h
}

fn run_cfg(insns: &[Insn], packet: &[u8], cfg: &pipeline::Config) -> Run {
    let prog = Program::new(insns.to_vec()).unwrap_or_else(|e| panic!("{e}"));
    let (mut m, args) = conformance_memory(packet);
    let mut cc = CollectCycles::default();
    let rep = pipeline::run_report(
        &prog,
        &mut m,
        &mut helpers_for_timing(),
        args,
        cfg,
        &mut Collect::default(),
        &mut cc,
    );
    Run {
        cycles: rep.cycles,
        retired: rep.stats.retired,
        recs: cc.0,
        stats: rep.stats,
        r0: rep.result.ok().map(|o| o.r0),
    }
}

fn run(insns: &[Insn]) -> Run {
    run_cfg(
        insns,
        &[0u8; 64],
        &pipeline::Config {
            pacing: Pacing::Instant,
            ..pipeline::Config::default()
        },
    )
}

// ---------------------------------------------------------------------------
// Instruction classes alone: [X; mov r2, 0; exit] (the mov keeps X's result
// two instructions away from exit's read of r0).

fn class_extra(def: &nfbpf_vm::isa::OpDef) -> Option<(u64, u64)> {
    // r1 = packet, r10 = stack; operands chosen so every class runs.
    let mut i = def.template();
    let ops = def.form.operands();
    let mut pre = vec![];
    match def.form {
        Form::Load => {
            i.dst = 3;
            i.src = 10;
            i.off = -8;
        }
        Form::StoreImm | Form::StoreReg => {
            i.dst = 10;
            i.off = -8;
            if ops.src {
                i.src = 3;
            }
        }
        Form::LdAbs | Form::LdInd => {
            i.imm = 4;
            if ops.src {
                i.src = 4;
                pre.push(movi(4, 0));
            }
        }
        Form::JmpReg | Form::JmpImm | Form::Ja | Form::Ja32 => return None,
        Form::Call | Form::CallLocal | Form::Callx | Form::Exit | Form::Lddw => return None,
        _ => {
            if ops.dst {
                i.dst = 3;
            }
            if ops.src {
                i.src = 4;
            }
            if ops.imm {
                i.imm = 3;
            }
        }
    }
    let n = pre.len() as u64;
    pre.extend([i, movi(2, 0), exit()]);
    let r = run(&pre);
    assert_eq!(r.retired, 3 + n, "{}", def.mnemonic);
    Some((r.extra(), r.cycles))
}

#[test]
fn every_class_alone() {
    for def in &isa().rows {
        let Some((extra, _)) = class_extra(def) else {
            continue;
        };
        let wide = match def.kind {
            Kind::Alu { wide, .. } => wide,
            _ => true,
        };
        let want = match def.unit {
            Unit::Mul => contract::MUL_CYCLES - 1,
            Unit::Div if wide => contract::DIV64_CYCLES - 1,
            Unit::Div => contract::DIV32_CYCLES - 1,
            Unit::Atomic => contract::ATOMIC_MEM_CYCLES - 1,
            _ => 0,
        };
        assert_eq!(extra, want, "{} ({:?})", def.mnemonic, def.unit);
    }
}

#[test]
fn straight_line_alu_is_one_per_cycle() {
    let r = run(&[movi(1, 1), movi(2, 2), movi(3, 3), movi(0, 4), exit()]);
    assert_eq!(r.cycles, 5 + 4);
    assert_eq!(r.extra(), 0);
    assert_eq!(r.r0, Some(4));
}

#[test]
fn exit_alone_drains_the_pipeline() {
    let r = run(&[exit()]);
    assert_eq!(r.cycles, contract::PIPE_STAGES);
    // After exit resolves in EX, fetch stops: the remaining cycles drain.
    assert_eq!(r.stalls(Stall::Drain), 3);
    let last = r.recs.last().unwrap();
    assert!(last.stage[4].valid && !last.stage[0].valid);
}

#[test]
fn load_use_costs_one_bubble() {
    // ldxdw r3, [r10-8]; add r3, 1 (uses r3) ; mov r0, r3 ; exit
    let r = run(&[ldxdw(3, 10, -8), addi(3, 1), movi(0, 0), exit()]);
    assert_eq!(r.extra(), contract::LOAD_USE_PENALTY);
    assert_eq!(r.stalls(Stall::LoadUse), 1);
    // One instruction between: no bubble, the value comes from MEM/WB.
    let r = run(&[ldxdw(3, 10, -8), movi(2, 0), addi(3, 1), exit()]);
    assert_eq!(r.extra(), 0);
    // A load into r0 right before exit: exit reads r0.
    let r = run(&[ldxdw(0, 10, -8), exit()]);
    assert_eq!(r.extra(), 1);
}

/// `pipeline::decode::load_use` (what the loader's scheduler counts) says
/// a pair has a bubble exactly when the pipeline stalls on it: a load or
/// an atomic fetch followed by each kind of reader and non-reader.
#[test]
fn load_use_query_matches_the_pipeline() {
    use nfbpf_vm::pipeline::decode::load_use;
    let one = |src: &str| nfbpf_vm::asm::assemble(src).expect("assembles")[0];
    let firsts = [
        "ldxdw %r3, [%r10-8]",
        "ldxw %r3, [%r10-8]",
        "lock fetch add [%r10-8], %r3",
        "mov %r3, 7",
    ];
    let seconds = [
        "add %r3, 1",
        "add %r2, %r3",
        "add %r3, %r2",
        "mov %r3, 0",
        "stxdw [%r10-16], %r3",
        "stxdw [%r10-16], %r2",
        "ldxdw %r4, [%r3+0]",
        "mov %r2, 0",
    ];
    let mut stalls = 0;
    for a in firsts.map(one) {
        for b in seconds.map(one) {
            // r3 holds the stack's address so that a load through it works.
            let r = run(&[
                movi(2, 0),
                ins("mov", Form::AluReg, 3, 10, 0, 0),
                addi(3, -64),
                a,
                b,
                movi(0, 0),
                exit(),
            ]);
            let stalled = r.stalls(Stall::LoadUse);
            assert_eq!(stalled > 0, load_use(&a, &b), "{a:?} then {b:?}");
            stalls += stalled;
        }
    }
    assert!(stalls > 0);
}

#[test]
fn forwarding_from_ex_mem_and_mem_wb() {
    // mov r1, 5 ; add r1, r1 (EX/MEM) ; mov r2, 1 ; add r2, r1 (MEM/WB for r1, EX/MEM for r2)
    let r = run(&[
        movi(1, 5),
        addr(1, 1),
        movi(2, 1),
        addr(2, 1),
        ins("mov", Form::AluReg, 0, 2, 0, 0),
        exit(),
    ]);
    assert_eq!(r.extra(), 0);
    assert_eq!(r.r0, Some(11));
    let ex_of = |pc: u32| {
        r.recs
            .iter()
            .find(|c| c.stage[2].valid && c.stage[2].pc == pc)
            .map(|c| c.fwd)
            .unwrap()
    };
    assert_eq!(ex_of(1), [Fwd::ExMem, Fwd::ExMem]);
    assert_eq!(ex_of(3), [Fwd::ExMem, Fwd::MemWb]);
    // Three apart: from the register file (WB wrote it the cycle before ID read it).
    let r = run(&[
        movi(1, 5),
        movi(2, 0),
        movi(3, 0),
        movi(4, 0),
        addr(0, 1),
        exit(),
    ]);
    let c = r
        .recs
        .iter()
        .find(|c| c.stage[2].valid && c.stage[2].pc == 4)
        .unwrap();
    assert_eq!(c.fwd, [Fwd::Reg, Fwd::Reg]);
    assert_eq!(r.r0, Some(5));
}

#[test]
fn branches_predict_not_taken() {
    // not taken: jeq r1(=0x20000000), 0, +1
    let nt = run(&[ins("jeq", Form::JmpImm, 1, 0, 1, 0), movi(0, 1), exit()]);
    assert_eq!((nt.retired, nt.extra()), (3, 0));
    assert_eq!(nt.r0, Some(1));
    // taken: jne r1, 0, +1 skips the mov
    let t = run(&[ins("jne", Form::JmpImm, 1, 0, 1, 0), movi(0, 1), exit()]);
    assert_eq!((t.retired, t.extra()), (2, contract::TAKEN_BRANCH_PENALTY));
    assert_eq!(t.stats.flushes, nt.stats.flushes + 1); // exit flushes too
    let ja = run(&[ins("ja", Form::Ja, 0, 0, 1, 0), movi(0, 1), exit()]);
    assert_eq!(ja.extra(), contract::TAKEN_BRANCH_PENALTY);
    // A compare right after the instruction that makes its operand: forwarded.
    let f = run(&[
        movi(2, 7),
        ins("jeq", Form::JmpImm, 2, 0, 1, 7),
        movi(0, 1),
        exit(),
    ]);
    assert_eq!((f.retired, f.extra()), (3, 2));
}

#[test]
fn mul_and_div_occupy_ex() {
    let mul = run(&[
        movi(1, 3),
        ins("mul", Form::AluImm, 1, 0, 0, 5),
        ins("mov", Form::AluReg, 0, 1, 0, 0),
        exit(),
    ]);
    assert_eq!(mul.extra(), contract::MUL_CYCLES - 1);
    assert_eq!(mul.stalls(Stall::Mul), contract::MUL_CYCLES - 1);
    assert_eq!(mul.r0, Some(15));
    let div = run(&[
        movi(1, 30),
        ins("div", Form::AluImm, 1, 0, 0, 5),
        ins("mov", Form::AluReg, 0, 1, 0, 0),
        exit(),
    ]);
    assert_eq!(div.extra(), contract::DIV64_CYCLES - 1);
    assert_eq!(div.r0, Some(6));
    let div32 = run(&[
        movi(1, 30),
        ins("mod32", Form::AluImm, 1, 0, 0, 7),
        ins("mov", Form::AluReg, 0, 1, 0, 0),
        exit(),
    ]);
    assert_eq!(div32.extra(), contract::DIV32_CYCLES - 1);
    assert_eq!(div32.stalls(Stall::Div), contract::DIV32_CYCLES - 1);
    assert_eq!(div32.r0, Some(2));
}

#[test]
fn lddw_fetches_in_one_cycle() {
    let r = run(&[
        lddw(0, 0x1234_0000_5678)[0],
        lddw(0, 0x1234_0000_5678)[1],
        exit(),
    ]);
    assert_eq!(r.extra(), contract::LDDW_FETCH_CYCLES - 1);
    assert_eq!(r.extra(), 0);
    assert_eq!(r.r0, Some(0x1234_0000_5678));
}

#[test]
fn local_call_and_return() {
    // 0: call local +1 -> 2 ; 1: exit ; 2: mov r0, 7 ; 3: exit (return)
    let r = run(&[
        ins("call local", Form::CallLocal, 0, 0, 0, 1),
        exit(),
        movi(0, 7),
        exit(),
    ]);
    assert_eq!(r.retired, 4);
    assert_eq!(r.extra(), 2 * contract::TAKEN_BRANCH_PENALTY);
    assert_eq!(r.r0, Some(7));
    // r6..r9 and r10 are restored by the frame stack at the return.
    let r = run(&[
        movi(6, 1),
        ins("call local", Form::CallLocal, 0, 0, 0, 2),
        ins("mov", Form::AluReg, 0, 6, 0, 0),
        exit(),
        movi(6, 9),
        exit(),
    ]);
    assert_eq!(r.r0, Some(1));
}

#[test]
fn helper_call_waits_for_the_unit() {
    let call = |id: i32| ins("call", Form::Call, 0, 0, 0, id);
    // mov r1, 1 ; call 1 ; mov r2, 0 ; exit: MEM holds the call for the latency.
    let r = run(&[movi(1, 1), call(1), movi(2, 0), exit()]);
    assert_eq!(r.extra(), contract::HELPER_DEFAULT_CYCLES - 1);
    assert_eq!(r.stalls(Stall::Helper), contract::HELPER_DEFAULT_CYCLES - 1);
    assert_eq!(r.r0, Some(2));
    // Using r0 right after is a load-use hazard too.
    let r = run(&[movi(1, 1), call(1), exit()]);
    assert_eq!(r.extra(), contract::HELPER_DEFAULT_CYCLES - 1 + 1);
    // Per-helper latency table.
    let mut cfg = pipeline::Config {
        pacing: Pacing::Instant,
        ..pipeline::Config::default()
    };
    cfg.helper_latency.by_id.insert(7, 12);
    let r = run_cfg(&[call(7), movi(2, 0), exit()], &[], &cfg);
    assert_eq!(r.extra(), 11);
    assert_eq!(r.r0, Some(7));
}

#[test]
fn atomic_read_modify_write_in_mem() {
    let r = run(&[
        movi(3, 5),
        ins("lock add", Form::StoreReg, 10, 3, -8, 0),
        ins("lock fetch add", Form::StoreReg, 10, 3, -8, 0),
        ins("mov", Form::AluReg, 0, 3, 0, 0),
        exit(),
    ]);
    // two atomics (+1 each) and a load-use on the fetched r3
    assert_eq!(r.extra(), 2 * (contract::ATOMIC_MEM_CYCLES - 1) + 1);
    assert_eq!(r.stalls(Stall::Atomic), 2);
    assert_eq!(r.r0, Some(5));
}

#[test]
fn fifo_word_not_valid_stalls_mem() {
    // Packet of 2 words at 10 Gb/s: word 1 arrives at cycle ceil(5.12) = 6.
    // ldxb r0, [r1+32] reaches MEM at cycle 3 and waits for cycles 3, 4, 5.
    let paced = pipeline::Config::default();
    let prog = [ins("ldxb", Form::Load, 0, 1, 32, 0), exit()];
    let r = run_cfg(&prog, &[0xab; 64], &paced);
    assert_eq!(r.stalls(Stall::FifoWait), 3);
    assert_eq!(r.extra(), 3 + 1); // + load-use on r0 by exit
    assert_eq!(r.r0, Some(0xab));
    // The same load on word 0 does not wait.
    let prog = [ins("ldxb", Form::Load, 0, 1, 31, 0), exit()];
    assert_eq!(
        run_cfg(&prog, &[0xab; 64], &paced).stalls(Stall::FifoWait),
        0
    );
    // An access spanning words 0 and 1 waits for word 1.
    let prog = [ins("ldxw", Form::Load, 0, 1, 30, 0), exit()];
    assert_eq!(
        run_cfg(&prog, &[0xab; 64], &paced).stalls(Stall::FifoWait),
        3
    );
}

#[test]
fn bank_swap_at_packet_boundary() {
    let a = Arc::new(Program::new(vec![movi(0, 0xa), movi(2, 0), movi(3, 0), exit()]).unwrap());
    let b = Arc::new(Program::new(vec![movi(0, 0xb), exit()]).unwrap());
    let mut imem = InstrMem::with_program(a);
    let mut e = Engine::new(pipeline::Config {
        pacing: Pacing::Instant,
        ..pipeline::Config::default()
    });
    let mut mem = nfbpf_vm::mem::Memory::new();
    nfbpf_vm::interp::add_stack(&mut mem).unwrap();
    let mut h = Helpers::new();
    let args = [contract::PKT_BASE, 64, 0, 0, 0];
    e.push_packet(&[1; 64], args).unwrap();
    e.push_packet(&[2; 64], args).unwrap();
    let mut step = |e: &mut Engine, imem: &mut InstrMem| {
        e.step(
            imem,
            &mut mem,
            &mut h,
            &mut nfbpf_vm::trace::NoTrace,
            &mut pipeline::NoCycles,
        )
    };
    // Packet 1 starts on bank 0; the host writes bank 1 and swaps mid-packet.
    assert!(step(&mut e, &mut imem).is_none());
    assert_eq!(imem.users(0), 1);
    imem.write_idle(b.clone()).unwrap();
    imem.swap();
    assert_eq!(imem.active(), 1);
    // Bank 0 is busy until packet 1's verdict: it cannot be rewritten.
    assert!(imem.write_idle(b.clone()).is_err());
    let mut verdicts = vec![];
    for _ in 0..40 {
        if let Some(v) = step(&mut e, &mut imem) {
            verdicts.push(v);
        }
    }
    assert_eq!(verdicts.len(), 2);
    assert_eq!(
        (verdicts[0].bank, verdicts[0].result.as_ref().unwrap().r0),
        (0, 0xa)
    );
    assert_eq!(
        (verdicts[1].bank, verdicts[1].result.as_ref().unwrap().r0),
        (1, 0xb)
    );
    // Packet 1: 4 instructions, 8 cycles; packet 2 starts the next cycle.
    assert_eq!(verdicts[0].cycles(), 8);
    assert_eq!(verdicts[1].start, verdicts[0].end + 1);
    assert_eq!(verdicts[1].cycles(), 6);
    assert_eq!(imem.users(0) + imem.users(1), 0);
    assert_eq!(verdicts[1].packet, vec![2; 64]);
}

#[test]
fn diagram_and_traces_render() {
    let r = run(&[
        ldxdw(3, 10, -8),
        addi(3, 1),
        ins("ja", Form::Ja, 0, 0, 1, 0),
        movi(0, 1),
        exit(),
    ]);
    let insns = [
        ldxdw(3, 10, -8),
        addi(3, 1),
        ins("ja", Form::Ja, 0, 0, 1, 0),
        movi(0, 1),
        exit(),
    ];
    let d = view::diagram(&r.recs, &insns);
    assert!(d.contains("FDXMW"), "{d}");
    assert!(
        d.contains("FDdXMW"),
        "load-use bubble shown as a repeated D:\n{d}"
    );
    assert!(d.contains('*'), "flushed fetch marked:\n{d}");
    let text = view::cycle_text(&r.recs);
    assert_eq!(text.lines().count(), r.recs.len() + 1);
    assert!(text.contains("load_use"));
    let mut v = Vec::new();
    view::write_vcd(&mut v, &r.recs).unwrap();
    let v = String::from_utf8(v).unwrap();
    assert!(v.contains("$var wire 32") && v.contains("ex_pc") && v.contains("#0"));
}

// ---------------------------------------------------------------------------
// docs/pipeline.md's table must match the constants and the measurements.

fn measured(key: &str) -> u64 {
    match key {
        "alu" => run(&[movi(1, 1), movi(2, 0), exit()]).extra(),
        "load_use" => run(&[ldxdw(3, 10, -8), addi(3, 1), movi(0, 0), exit()]).extra(),
        "taken_branch" => run(&[ins("ja", Form::Ja, 0, 0, 1, 0), movi(0, 1), exit()]).extra(),
        "not_taken_branch" => {
            run(&[ins("jeq", Form::JmpImm, 1, 0, 1, 0), movi(0, 1), exit()]).extra()
        }
        "mul" => run(&[ins("mul", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]).extra(),
        "div32" => run(&[ins("div32", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]).extra(),
        "div64" => run(&[ins("mod", Form::AluImm, 1, 0, 0, 5), movi(2, 0), exit()]).extra(),
        "lddw" => run(&[lddw(1, 1)[0], lddw(1, 1)[1], movi(2, 0), exit()]).extra(),
        "atomic" => run(&[
            ins("lock add", Form::StoreReg, 10, 3, -8, 0),
            movi(2, 0),
            exit(),
        ])
        .extra(),
        "helper" => run(&[ins("call", Form::Call, 0, 0, 0, 1), movi(2, 0), exit()]).extra(),
        "call" => {
            // call + return: both taken transfers; report one of them
            run(&[
                ins("call local", Form::CallLocal, 0, 0, 0, 1),
                exit(),
                exit(),
            ])
            .extra()
                / 2
        }
        "exit_drain" => run(&[exit()]).cycles,
        "fifo_wait" => run_cfg(
            &[ins("ldxb", Form::Load, 2, 1, 32, 0), movi(3, 0), exit()],
            &[0; 64],
            &pipeline::Config::default(),
        )
        .extra(),
        other => panic!("docs/pipeline.md names an unknown measurement {other}"),
    }
}

fn constant(name: &str) -> u64 {
    match name {
        "-" => 0,
        "LOAD_USE_PENALTY" => contract::LOAD_USE_PENALTY,
        "TAKEN_BRANCH_PENALTY" => contract::TAKEN_BRANCH_PENALTY,
        "MUL_CYCLES" => contract::MUL_CYCLES,
        "DIV32_CYCLES" => contract::DIV32_CYCLES,
        "DIV64_CYCLES" => contract::DIV64_CYCLES,
        "LDDW_FETCH_CYCLES" => contract::LDDW_FETCH_CYCLES,
        "ATOMIC_MEM_CYCLES" => contract::ATOMIC_MEM_CYCLES,
        "HELPER_DEFAULT_CYCLES" => contract::HELPER_DEFAULT_CYCLES,
        "PIPE_STAGES" => contract::PIPE_STAGES,
        "PORT_RATE_BPS" => contract::PORT_RATE_BPS,
        other => panic!("docs/pipeline.md names an unknown constant {other}"),
    }
}

#[test]
fn docs_table_matches_model() {
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
        // | `key` | what | constant | value | extra cycles |
        let key = cells[1].trim_matches('`');
        let konst = cells[3].trim_matches('`');
        let value: u64 = cells[4]
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{line}"));
        let extra: u64 = cells[5].parse().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(constant(konst), value, "docs row {key}: {konst}");
        assert_eq!(
            measured(key),
            extra,
            "docs row {key}: measured extra cycles"
        );
        rows += 1;
    }
    assert!(rows >= 12, "timing table has only {rows} rows");
}

#[test]
fn oversized_packet_runs_from_memory() {
    // 3000 bytes do not fit FIFO_MD's 2048-byte window: the model runs the
    // packet from plain memory and still agrees with the interpreter.
    let prog = [ins("ldxb", Form::Load, 0, 1, 2999, 0), exit()];
    let mut pkt = vec![0u8; 3000];
    pkt[2999] = 0x5a;
    let r = run_cfg(&prog, &pkt, &pipeline::Config::default());
    assert_eq!(r.r0, Some(0x5a));
}

#[test]
fn backward_loop_pays_per_taken_iteration() {
    // mov r9, 3 ; L: add r0, 1 ; add r9, -1 ; jne r9, 0, L ; exit
    let r = run(&[
        movi(9, 3),
        addi(0, 1),
        addi(9, -1),
        ins("jne", Form::JmpImm, 9, 0, -3, 0),
        exit(),
    ]);
    assert_eq!(r.r0, Some(3));
    assert_eq!(r.retired, 1 + 3 * 3 + 1);
    assert_eq!(r.extra(), 2 * contract::TAKEN_BRANCH_PENALTY);
}

#[test]
fn idle_engine_reports_idle_cycles() {
    let mut imem = InstrMem::with_program(Arc::new(Program::new(vec![exit()]).unwrap()));
    let mut e = Engine::new(pipeline::Config::default());
    let mut mem = nfbpf_vm::mem::Memory::new();
    let mut cc = CollectCycles::default();
    for _ in 0..3 {
        let v = e.step(
            &mut imem,
            &mut mem,
            &mut Helpers::new(),
            &mut nfbpf_vm::trace::NoTrace,
            &mut cc,
        );
        assert!(v.is_none());
    }
    assert!(cc.0.iter().all(|c| c.stall == Stall::Idle));
    assert_eq!(e.stats().stall(Stall::Idle), 3);
    // A packet pushed now starts at the next clock (its first word arrives).
    e.push_packet(&[0; 40], [contract::PKT_BASE, 40, 0, 0, 0])
        .unwrap();
    let mut v = None;
    while v.is_none() {
        v = e.step(
            &mut imem,
            &mut mem,
            &mut Helpers::new(),
            &mut nfbpf_vm::trace::NoTrace,
            &mut cc,
        );
    }
    let v = v.unwrap();
    assert_eq!((v.start, v.cycles()), (3, contract::PIPE_STAGES));
}

#[test]
fn helper_latency_reported_by_the_device() {
    use nfbpf_vm::pipeline::HelperLatency;
    use nfbpf_vm::units::{CallRecord, SharedDeviceState, UnitsConfig};
    // A helper unit that reports 9 cycles for its call, as the map
    // coprocessor reports CAM/TCAM latencies through EngineState::last_call.
    let dev = SharedDeviceState::new(UnitsConfig::default());
    let d2 = dev.clone();
    let mut h = Helpers::new();
    h.register(1, "lookup", move |_, _| {
        d2.with(|d| d.engine_mut(0).last_call = Some(CallRecord { id: 1, cycles: 9 }));
        Ok(HelperOutcome::Return(5))
    });
    let prog = Program::new(vec![
        ins("call", Form::Call, 0, 0, 0, 1),
        movi(2, 0),
        exit(),
    ])
    .unwrap();
    let (mut m, args) = conformance_memory(&[]);
    let cfg = pipeline::Config {
        helper_latency: HelperLatency::from_device(dev, 0),
        ..pipeline::Config::default()
    };
    let rep = pipeline::run_report(
        &prog,
        &mut m,
        &mut h,
        args,
        &cfg,
        &mut nfbpf_vm::trace::NoTrace,
        &mut pipeline::NoCycles,
    );
    assert_eq!(rep.result.unwrap().r0, 5);
    assert_eq!(rep.cycles - (3 + 4), 8);
    assert_eq!(rep.stats.stall(Stall::Helper), 8);
}

/// Cycle records of random programs are self-consistent: consecutive cycles,
/// each instruction in at most one stage per cycle and moving only forward,
/// every retire record matching a WB slot, stall counts adding up.
#[test]
fn cycle_records_are_consistent() {
    use nfbpf_vm::pipeline::randprog;
    use std::collections::HashMap;
    for seed in 0..400u64 {
        let case = randprog::generate(seed);
        let prog = Program::new(case.insns.clone()).unwrap();
        let (mut m, args) = conformance_memory(&case.packet);
        let cfg = pipeline::Config {
            budget: case.budget,
            pacing: if case.paced {
                Pacing::default()
            } else {
                Pacing::Instant
            },
            ..pipeline::Config::default()
        };
        let mut t = Collect::default();
        let mut cc = CollectCycles::default();
        let rep = pipeline::run_report(
            &prog,
            &mut m,
            &mut randprog::helpers(),
            args,
            &cfg,
            &mut t,
            &mut cc,
        );
        let recs = &cc.0;
        assert_eq!(recs.len() as u64, rep.cycles, "seed {seed}");
        assert_eq!(
            rep.stats.stalls.iter().sum::<u64>(),
            rep.stats.cycles,
            "seed {seed}"
        );
        let mut last_stage: HashMap<u32, usize> = HashMap::new();
        for (k, c) in recs.iter().enumerate() {
            assert_eq!(c.cycle, k as u64, "seed {seed}");
            let mut seen = std::collections::HashSet::new();
            for (st, s) in c.stage.iter().enumerate() {
                if !s.valid {
                    continue;
                }
                assert!(
                    seen.insert(s.seq),
                    "seed {seed} cycle {k}: seq {} twice",
                    s.seq
                );
                let prev = last_stage.insert(s.seq, st).unwrap_or(0);
                assert!(
                    prev <= st,
                    "seed {seed} cycle {k}: seq {} moved back",
                    s.seq
                );
            }
        }
        for r in &t.0 {
            let c = &recs[r.cycle as usize];
            assert!(
                c.stage[4].valid && c.stage[4].pc == r.pc,
                "seed {seed}: {}",
                r.to_line()
            );
        }
    }
}
