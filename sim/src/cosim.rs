//! Co-simulation: the pipeline model and the engine RTL in lockstep on the
//! same program and packet, compared every clock.
//!
//! Each side has its own memory and helpers (made the same way). Every clock
//! both sides are stepped once and their cycle records and retire records of
//! that clock are compared, all fields (`cycle` included); the pc and seq of
//! an empty stage are not compared (they are stale latch contents that the
//! text format shows as `-`). At the first difference the run stops with a
//! [`Mismatch`] that prints the last cycles of both sides in the text format
//! of `vm::pipeline::view` and `vm::trace`. At the end the results (r0 or the
//! fault) and the final memories (every region's bytes) are compared.

use crate::engine::{RtlEngine, packet_of};
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::{Fault, FaultKind, Outcome};
use nfbpf_vm::mem::{Memory, Region};
use nfbpf_vm::pipeline::{CollectCycles, Config, CycleRecord, Engine, InstrMem, Verdict};
use nfbpf_vm::program::Program;
use nfbpf_vm::trace::{Collect, Retire};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// Clocks of history printed around a difference.
const HISTORY: usize = 12;

/// The first difference between model and RTL.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub cycle: u64,
    pub what: String,
    /// Recent clocks of both sides, text format.
    pub model: Vec<String>,
    pub rtl: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model and RTL differ at cycle {}: {}",
            self.cycle, self.what
        )?;
        writeln!(f, "--- model (last clocks)\n{}", CycleRecord::HEADER)?;
        for l in &self.model {
            writeln!(f, "{l}")?;
        }
        writeln!(f, "--- rtl (last clocks)\n{}", CycleRecord::HEADER)?;
        for l in &self.rtl {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Mismatch {}

/// A co-simulation that matched.
#[derive(Debug, Clone)]
pub struct Report {
    pub result: Result<Outcome, Fault>,
    /// Clocks stepped.
    pub cycles: u64,
    pub retired: usize,
}

fn push_hist(h: &mut VecDeque<String>, c: &[CycleRecord], r: &[Retire]) {
    for x in c {
        h.push_back(x.to_line());
    }
    for x in r {
        h.push_back(format!("  retire\t{}", x.to_line()));
    }
    while h.len() > 2 * HISTORY {
        h.pop_front();
    }
}

fn region_text(r: &Region) -> String {
    format!(
        "{} {:#x}..{:#x} ({})",
        r.name,
        r.base,
        r.end(),
        if r.writable { "rw" } else { "ro" }
    )
}

fn regions_text(rs: &[Region]) -> String {
    if rs.is_empty() {
        return "none".into();
    }
    rs.iter().map(region_text).collect::<Vec<_>>().join(", ")
}

/// How one side answered a request (a packet push, a bank write, the start).
fn answer_text<E: fmt::Display>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused ({e})"),
    }
}

fn result_text(r: &Result<Outcome, Fault>) -> String {
    match r {
        Ok(o) => format!("r0 = {:#x} after {} instructions", o.r0, o.insns),
        Err(f) => format!("fault: {f}"),
    }
}

/// A verdict, or that the packet is still running.
fn ended_text(v: Option<&Verdict>) -> String {
    match v {
        Some(v) => format!(
            "ended ({}, {} packet bytes, cycles {}..{}, bank {})",
            result_text(&v.result),
            v.packet.len(),
            v.start,
            v.end,
            v.bank
        ),
        None => "still running".into(),
    }
}

/// The fields two verdicts differ in, each side's value named.
fn verdict_diff(m: &Verdict, r: &Verdict) -> String {
    let mut d = Vec::new();
    if m.result != r.result {
        d.push(format!(
            "result: model {}, rtl {}",
            result_text(&m.result),
            result_text(&r.result)
        ));
    }
    if m.packet.len() != r.packet.len() {
        d.push(format!(
            "packet length: model {} bytes, rtl {} bytes",
            m.packet.len(),
            r.packet.len()
        ));
    } else if let Some(i) = (0..m.packet.len()).find(|&i| m.packet[i] != r.packet[i]) {
        d.push(format!(
            "packet byte {i}: model {:#04x}, rtl {:#04x}",
            m.packet[i], r.packet[i]
        ));
    }
    for (what, a, b) in [
        ("start cycle", m.start, r.start),
        ("end cycle", m.end, r.end),
        ("bank", u64::from(m.bank), u64::from(r.bank)),
    ] {
        if a != b {
            d.push(format!("{what}: model {a}, rtl {b}"));
        }
    }
    d.join("; ")
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Push(bytes, _) => write!(f, "push of a {}-byte packet", bytes.len()),
            Event::WriteIdle(p) => write!(
                f,
                "write of a {}-instruction program into the idle bank",
                p.len()
            ),
            Event::Swap => f.write_str("bank swap"),
        }
    }
}

fn mem_diff(a: &Memory, b: &Memory) -> Option<String> {
    let (ra, rb) = (a.regions(), b.regions());
    if ra.len() != rb.len() {
        return Some(format!(
            "region lists differ: model {}; rtl {}",
            regions_text(ra),
            regions_text(rb)
        ));
    }
    for (x, y) in ra.iter().zip(rb) {
        if x.name != y.name || x.base != y.base || x.data.len() != y.data.len() {
            return Some(format!(
                "regions differ: model {}; rtl {}",
                region_text(x),
                region_text(y)
            ));
        }
        if let Some(i) = (0..x.data.len()).find(|&i| x.data[i] != y.data[i]) {
            return Some(format!(
                "region {} differs at {:#x}: model {:#04x}, rtl {:#04x}",
                x.name,
                x.base + i as u64,
                x.data[i],
                y.data[i]
            ));
        }
    }
    None
}

/// Run `prog` on the model and on `rtl` from the same memory `mem` and
/// helpers from `helpers()`, comparing every clock.
pub fn cosim_with(
    rtl: &mut RtlEngine,
    prog: &Program,
    mem: &Memory,
    helpers: impl Fn() -> Helpers,
    args: [u64; 5],
    cfg: &Config,
) -> Result<Report, Mismatch> {
    cosim_configs(rtl, prog, mem, helpers, args, cfg, cfg)
}

/// [`cosim_with`] with a configuration per side (the same one everywhere
/// but in the comparator's own tests, which make the sides differ on
/// purpose).
pub fn cosim_configs(
    rtl: &mut RtlEngine,
    prog: &Program,
    mem: &Memory,
    helpers: impl Fn() -> Helpers,
    args: [u64; 5],
    cfg: &Config,
    rtl_cfg: &Config,
) -> Result<Report, Mismatch> {
    let (mut m1, mut m2) = (mem.clone(), mem.clone());
    let (mut h1, mut h2) = (helpers(), helpers());
    let mut imem = InstrMem::with_program(Arc::new(prog.clone()));
    let mut e = Engine::new(cfg.clone());
    // As `pipeline::run`: a packet larger than FIFO_MD runs from memory.
    let pkt = packet_of(&m1);
    if pkt.len() > nfbpf_vm::contract::PKT_WINDOW {
        e.bypass_packet_window();
    }
    let first = if e.packet_window_bypassed() {
        &[][..]
    } else {
        &pkt[..]
    };
    let pushed = e.push_packet(first, args);
    let begun = rtl.begin(prog, &mut m2, args, rtl_cfg);
    let mismatch =
        |cycle: u64, what: String, hm: &VecDeque<String>, hr: &VecDeque<String>| Mismatch {
            cycle,
            what,
            model: hm.iter().cloned().collect(),
            rtl: hr.iter().cloned().collect(),
        };
    let (mut hm, mut hr) = (VecDeque::new(), VecDeque::new());
    match (pushed, begun) {
        (Ok(()), Ok(())) => {}
        (Err(a), Err(b)) => {
            let a = Fault {
                pc: 0,
                kind: FaultKind::Helper {
                    id: 0,
                    name: "fifo_md",
                    msg: a.to_string(),
                },
            };
            return if a == b {
                Ok(Report {
                    result: Err(a),
                    cycles: 0,
                    retired: 0,
                })
            } else {
                Err(mismatch(0, format!("start: model {a} rtl {b}"), &hm, &hr))
            };
        }
        (a, b) => {
            return Err(mismatch(
                0,
                format!("start: model {}, rtl {}", answer_text(&a), answer_text(&b)),
                &hm,
                &hr,
            ));
        }
    }
    let mut retired = 0;
    let mut cycle = 0u64;
    loop {
        let (mut t1, mut t2) = (Collect::default(), Collect::default());
        let (mut c1, mut c2) = (CollectCycles::default(), CollectCycles::default());
        let v1 = e.step(&mut imem, &mut m1, &mut h1, &mut t1, &mut c1);
        let v2 = rtl.step(&mut m2, &mut h2, &mut t2, &mut c2);
        push_hist(&mut hm, &c1.0, &t1.0);
        push_hist(&mut hr, &c2.0, &t2.0);
        let n1: Vec<CycleRecord> =
            c1.0.iter()
                .copied()
                .map(CycleRecord::cleared_empty_stages)
                .collect();
        let n2: Vec<CycleRecord> =
            c2.0.iter()
                .copied()
                .map(CycleRecord::cleared_empty_stages)
                .collect();
        if n1 != n2 {
            return Err(mismatch(cycle, "cycle records differ".into(), &hm, &hr));
        }
        if t1.0 != t2.0 {
            let what = match t1.0.iter().zip(&t2.0).find(|(a, b)| a != b) {
                Some((a, b)) => format!(
                    "retire records differ:\n model {}\n rtl   {}",
                    a.to_line(),
                    b.to_line()
                ),
                None => format!(
                    "retire counts differ in this clock: model {} rtl {}",
                    t1.0.len(),
                    t2.0.len()
                ),
            };
            return Err(mismatch(cycle, what, &hm, &hr));
        }
        retired += t1.0.len();
        match (v1, v2) {
            (None, None) => {}
            (Some(v), Some(r)) => {
                if v != r {
                    return Err(mismatch(
                        cycle,
                        format!("verdicts differ: {}", verdict_diff(&v, &r)),
                        &hm,
                        &hr,
                    ));
                }
                if let Some(d) = mem_diff(&m1, &m2) {
                    return Err(mismatch(cycle, format!("final memory: {d}"), &hm, &hr));
                }
                return Ok(Report {
                    result: r.result,
                    cycles: cycle + 1,
                    retired,
                });
            }
            (a, b) => {
                return Err(mismatch(
                    cycle,
                    format!(
                        "one side ended: model {}, rtl {}",
                        ended_text(a.as_ref()),
                        ended_text(b.as_ref())
                    ),
                    &hm,
                    &hr,
                ));
            }
        }
        cycle += 1;
    }
}

/// [`cosim_with`] on a fresh RTL core.
pub fn cosim(
    prog: &Program,
    mem: &Memory,
    helpers: impl Fn() -> Helpers,
    args: [u64; 5],
    cfg: &Config,
) -> Result<Report, Mismatch> {
    cosim_with(&mut RtlEngine::new(), prog, mem, helpers, args, cfg)
}

/// Something the data plane does to the engine before a clock.
#[derive(Debug, Clone)]
pub enum Event {
    /// Queue a packet with r1..r5.
    Push(Vec<u8>, [u64; 5]),
    /// Write a program into the idle instruction bank.
    WriteIdle(Program),
    /// Make the idle bank active.
    Swap,
}

/// A stream co-simulation that matched.
#[derive(Debug, Clone)]
pub struct StreamReport {
    pub verdicts: Vec<nfbpf_vm::pipeline::Verdict>,
    pub cycles: u64,
}

/// Model and RTL in lockstep on a stream: `events` (at the cycle given,
/// before that clock) on one engine starting with `prog` in bank 0, until
/// every event has happened and every packet queued has its verdict (or
/// `max_cycles` clocks, an error). Besides every
/// clock's records, the verdicts (result, packet bytes, start, end, bank),
/// the answers to each event and the final memories must agree.
pub fn cosim_stream(
    prog: &Program,
    mem: &Memory,
    helpers: impl Fn() -> Helpers,
    cfg: &Config,
    events: &[(u64, Event)],
    max_cycles: u64,
) -> Result<StreamReport, Mismatch> {
    let last_event = events.iter().map(|(at, _)| *at).max().unwrap_or(0);
    let mut accepted = 0usize;
    let (mut m1, mut m2) = (mem.clone(), mem.clone());
    let (mut h1, mut h2) = (helpers(), helpers());
    let mut imem = InstrMem::with_program(Arc::new(prog.clone()));
    let mut e = Engine::new(cfg.clone());
    let mut rtl = RtlEngine::new();
    let (mut hm, mut hr) = (VecDeque::new(), VecDeque::new());
    let mismatch =
        |cycle: u64, what: String, hm: &VecDeque<String>, hr: &VecDeque<String>| Mismatch {
            cycle,
            what,
            model: hm.iter().cloned().collect(),
            rtl: hr.iter().cloned().collect(),
        };
    if let Err(f) = rtl.device(prog, &m2, cfg) {
        return Err(mismatch(0, format!("rtl device: {f}"), &hm, &hr));
    }
    // Events of cycle c go to the model before its step c and to the RTL
    // before the edge into cycle c (the RTL's port runs one edge ahead).
    let apply = |cycle: u64,
                 e: &mut Engine,
                 imem: &mut InstrMem,
                 rtl: &mut RtlEngine,
                 accepted: &mut usize|
     -> Result<(), String> {
        for (_, ev) in events.iter().filter(|(at, _)| *at == cycle) {
            let (a, b) = match ev {
                Event::Push(bytes, args) => {
                    let a = e.push_packet(bytes, *args);
                    *accepted += a.is_ok() as usize;
                    (answer_text(&a), answer_text(&rtl.push_packet(bytes, *args)))
                }
                Event::WriteIdle(p) => (
                    answer_text(&imem.write_idle(Arc::new(p.clone()))),
                    answer_text(&rtl.write_idle(p)),
                ),
                Event::Swap => {
                    if rtl.writes_pending() {
                        return Err("swap scheduled before the RTL's bank writes finished".into());
                    }
                    imem.swap();
                    rtl.swap();
                    (String::new(), String::new())
                }
            };
            if a != b {
                return Err(format!("{ev} at cycle {cycle}: model {a}, rtl {b}"));
            }
        }
        Ok(())
    };
    if let Err(w) = apply(0, &mut e, &mut imem, &mut rtl, &mut accepted) {
        return Err(mismatch(0, w, &hm, &hr));
    }
    rtl.prime(&mut m2);
    let mut verdicts = Vec::new();
    for cycle in 0..max_cycles {
        let (mut t1, mut t2) = (Collect::default(), Collect::default());
        let (mut c1, mut c2) = (CollectCycles::default(), CollectCycles::default());
        let v1 = e.step(&mut imem, &mut m1, &mut h1, &mut t1, &mut c1);
        let v2 = rtl.clock(&mut m2, &mut h2, &mut t2, &mut c2);
        push_hist(&mut hm, &c1.0, &t1.0);
        push_hist(&mut hr, &c2.0, &t2.0);
        let n1: Vec<CycleRecord> =
            c1.0.iter()
                .copied()
                .map(CycleRecord::cleared_empty_stages)
                .collect();
        let n2: Vec<CycleRecord> =
            c2.0.iter()
                .copied()
                .map(CycleRecord::cleared_empty_stages)
                .collect();
        if n1 != n2 {
            return Err(mismatch(cycle, "cycle records differ".into(), &hm, &hr));
        }
        if t1.0 != t2.0 {
            return Err(mismatch(cycle, "retire records differ".into(), &hm, &hr));
        }
        if v1 != v2 {
            return Err(mismatch(
                cycle,
                format!(
                    "verdicts differ: {}",
                    match (&v1, &v2) {
                        (Some(a), Some(b)) => verdict_diff(a, b),
                        (a, b) => format!(
                            "model {}, rtl {}",
                            ended_text(a.as_ref()),
                            ended_text(b.as_ref())
                        ),
                    }
                ),
                &hm,
                &hr,
            ));
        }
        if let Some(v) = v1 {
            verdicts.push(v);
        }
        if cycle >= last_event && verdicts.len() == accepted {
            {
                if let Some(d) = mem_diff(&m1, &m2) {
                    return Err(mismatch(cycle, format!("final memory: {d}"), &hm, &hr));
                }
                return Ok(StreamReport {
                    verdicts,
                    cycles: cycle + 1,
                });
            }
        }
        if let Err(w) = apply(cycle + 1, &mut e, &mut imem, &mut rtl, &mut accepted) {
            return Err(mismatch(cycle + 1, w, &hm, &hr));
        }
        rtl.finish_clock(&mut m2);
    }
    Err(mismatch(
        max_cycles,
        format!(
            "only {} of {accepted} verdicts in {max_cycles} clocks",
            verdicts.len()
        ),
        &hm,
        &hr,
    ))
}
