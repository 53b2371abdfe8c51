//! Device-level co-simulation: the model data plane ([`Device`]) and the
//! RTL one ([`RtlDevice`]) in lockstep on the same stimulus.
//!
//! [`DevCosim`] takes frames ([`DevCosim::rx`]), clocks ([`DevCosim::step`])
//! and register accesses (it is a [`RegisterBus`], so the loader programs
//! both devices at once); each goes to both sides at the same clock. A
//! register access takes clocks on the RTL's AXI4-Lite bus: the model does
//! the access at the clock the RTL takes it and then steps as many clocks.
//! The model's host map operations take the RTL's clocks
//! ([`Device::set_host_clocked`]), so ACK and WIDESTATUS read the same on
//! both sides in every clock.
//!
//! Compared, clock by clock, engine by engine: the cycle record (what each
//! stage holds, the stall cause, flush, forwarding, bank; the pc and seq of
//! an empty stage are stale latches and not compared) and the retire
//! records in full (order, cycle, pc, instruction, register written, memory
//! access; a fault as the hardware states it, [`DeviceFault`]); then the
//! outputs of both sides (frame bytes, destination, engine, bank, arrival,
//! verdict and egress cycles, sequence number), the RTL's egress `tuser`
//! against its verdicts, the receive decisions and every register value
//! read. The first difference stops the run with the last
//! clocks of both sides (the differing engine's records and the stimulus),
//! and a VCD of the RTL around it: the stimulus is logged and, at a
//! mismatch, replayed on a fresh RTL device that traces (the lockstep run
//! itself never traces, so it keeps its speed).

use crate::device::RtlDevice;
use nfbpf_vm::device::{Dest, Device, DeviceConfig, Output};
/// The seeded egress `tready` patterns (the model's).
pub use nfbpf_vm::device::{tready_bursty, tready_random};
use nfbpf_vm::pipeline::{CollectDevice, CycleRecord, EngineClock};
use nfbpf_vm::regs::{BusError, RegisterBus};
use nfbpf_vm::trace::Retire;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where a mismatch writes its VCD unless told otherwise: this file in the
/// current directory (each mismatch overwrites it).
pub const DEFAULT_VCD: &str = "nfbpf-devcosim.vcd";

/// Clocks of history shown with a mismatch.
const HISTORY: usize = 12;
/// Clocks the VCD holds before and after the clock of a mismatch.
const VCD_BEFORE: u64 = 64;
const VCD_AFTER: u64 = 4;

/// One piece of stimulus, as given to both sides (replayed for the VCD).
#[derive(Clone)]
enum Stim {
    Rx(usize, Vec<u8>),
    Steps(u64),
    Read(u32),
    Write(u32, u32),
    /// The egress `tready` pattern from this clock on.
    Tready(Option<nfbpf_vm::device::Tready>),
}

/// A change to the model's records before the comparison (test hook).
type Perturb = Box<dyn FnMut(&mut EngineClock) + Send>;

/// Both data planes in lockstep.
pub struct DevCosim {
    pub model: Device,
    pub rtl: RtlDevice,
    /// Outputs compared so far.
    pub outputs: u64,
    /// The model's outputs not yet due on the RTL side: the RTL's egress
    /// register puts the beat taken in clock `sent` on the bus in clock
    /// `sent + 1`, where the harness sees it.
    due: VecDeque<Output>,
    /// Retire records compared so far (all engines).
    pub retires: u64,
    /// Cycle records compared so far (one per engine per clock).
    pub cycle_records: u64,
    /// The VCD written at the last mismatch.
    pub vcd_written: Option<PathBuf>,
    /// The outputs compared, kept for [`DevCosim::take_outputs`] once
    /// [`DevCosim::keep_outputs`] asked for them.
    kept: Option<Vec<Output>>,
    cfg: DeviceConfig,
    history: VecDeque<String>,
    /// Events of the current clock, for the history.
    now: String,
    /// Model records not compared yet.
    pending: CollectDevice,
    /// Both sides' records of the last clocks.
    hist_model: VecDeque<EngineClock>,
    hist_rtl: VecDeque<EngineClock>,
    log: Vec<Stim>,
    vcd: PathBuf,
    perturb: Option<Perturb>,
}

impl std::fmt::Debug for DevCosim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCosim")
            .field("cycle", &self.cycle())
            .field("outputs", &self.outputs)
            .field("retires", &self.retires)
            .field("cycle_records", &self.cycle_records)
            .finish()
    }
}

/// The model's records as the hardware states them: a fault's text is its
/// [`DeviceFault`] form.
fn device_form(mut x: EngineClock) -> EngineClock {
    if let Some(f) = x.fault
        && let Some(r) = x.retired.iter_mut().rev().find(|r| r.fault.is_some())
    {
        r.fault = Some(f.text());
    }
    x
}

fn lines(x: &EngineClock, out: &mut String) {
    let _ = writeln!(out, "  {}", x.cycle.to_line());
    for r in &x.retired {
        let _ = writeln!(out, "    retire\t{}", r.to_line());
    }
}

/// What differs between two records of one engine and clock.
fn differ(a: &EngineClock, b: &EngineClock) -> Option<String> {
    if a.cycle.cleared_empty_stages() != b.cycle.cleared_empty_stages() {
        return Some(format!(
            "engine {} cycle records differ:\n  model {}\n  rtl   {}",
            a.engine,
            a.cycle.to_line(),
            b.cycle.to_line()
        ));
    }
    if a.retired != b.retired {
        let show = |r: Option<&Retire>| r.map_or("(none)".to_string(), Retire::to_line);
        let k = (0..a.retired.len().max(b.retired.len()))
            .find(|&k| a.retired.get(k) != b.retired.get(k))
            .unwrap_or(0);
        return Some(format!(
            "engine {} retire records differ at cycle {}:\n  model {}\n  rtl   {}",
            a.engine,
            a.cycle.cycle,
            show(a.retired.get(k)),
            show(b.retired.get(k))
        ));
    }
    None
}

impl DevCosim {
    pub fn new(cfg: DeviceConfig) -> Result<Self, String> {
        let mut model = Device::new(cfg.clone()).map_err(|e| e.to_string())?;
        // Host map operations in the RTL's clocks: every ACK and WIDESTATUS
        // poll reads the same on both sides.
        model.set_host_clocked(true);
        let mut rtl = RtlDevice::new(cfg.clone()).map_err(|e| e.to_string())?;
        rtl.record(true);
        Ok(DevCosim {
            model,
            rtl,
            outputs: 0,
            due: VecDeque::new(),
            retires: 0,
            cycle_records: 0,
            vcd_written: None,
            kept: None,
            cfg,
            history: VecDeque::new(),
            now: String::new(),
            pending: CollectDevice::default(),
            hist_model: VecDeque::new(),
            hist_rtl: VecDeque::new(),
            log: Vec::new(),
            vcd: PathBuf::from(DEFAULT_VCD),
            perturb: None,
        })
    }

    pub fn cycle(&self) -> u64 {
        self.model.cycle()
    }

    /// Where a mismatch writes its VCD (default: [`DEFAULT_VCD`] in the
    /// current directory).
    pub fn set_vcd_path(&mut self, path: &Path) {
        self.vcd = path.to_path_buf();
    }

    /// Test hook: `f` changes each of the model's records before it is
    /// compared (to check that a difference is caught).
    pub fn perturb_model_records(&mut self, f: impl FnMut(&mut EngineClock) + Send + 'static) {
        self.perturb = Some(Box::new(f));
    }

    /// Can a frame go into `port` now on both sides at the same clock?
    pub fn port_free(&self, port: usize) -> bool {
        self.rtl.port_free(port)
    }

    /// The error of a difference: what, the last clocks of both sides (the
    /// records of `engine`, or of every engine in the last clocks), the
    /// stimulus, and the VCD of the RTL.
    fn mismatch(&mut self, what: String, engine: Option<u8>) -> String {
        let mut s = format!("cycle {}: {what}\n", self.cycle());
        let n = self.model.config().engines;
        for (side, h) in [("model", &self.hist_model), ("rtl", &self.hist_rtl)] {
            let recs: Vec<&EngineClock> = match engine {
                Some(e) => h.iter().filter(|x| x.engine == e).collect(),
                None => h.iter().skip(h.len().saturating_sub(3 * n)).collect(),
            };
            let _ = match engine {
                Some(e) => writeln!(s, "{side}, engine {e}, last clocks:"),
                None => writeln!(s, "{side}, every engine, last clocks:"),
            };
            let _ = writeln!(s, "  {}", CycleRecord::HEADER);
            for x in recs {
                lines(x, &mut s);
            }
        }
        let _ = writeln!(s, "stimulus, last clocks:");
        for h in &self.history {
            let _ = writeln!(s, "  {h}");
        }
        let _ = writeln!(s, "  (this clock) {}", self.now);
        match self.write_vcd() {
            Ok((p, from, to)) => {
                let _ = write!(
                    s,
                    "VCD of the RTL, clocks {from}..={to} (clock N from time 10N+5): {}",
                    p.display()
                );
                self.vcd_written = Some(p);
            }
            Err(e) => {
                let _ = write!(s, "VCD of the RTL not written: {e}");
            }
        }
        s
    }

    /// Replay the stimulus on a fresh RTL device that traces from
    /// [`VCD_BEFORE`] clocks before this one to [`VCD_AFTER`] after.
    fn write_vcd(&self) -> Result<(PathBuf, u64, u64), String> {
        let at = self.rtl.cycle();
        let from = at.saturating_sub(VCD_BEFORE);
        let mut r = RtlDevice::new(self.cfg.clone()).map_err(|e| e.to_string())?;
        let path = self.vcd.clone();
        let mut tracing = false;
        let start = |r: &mut RtlDevice, tracing: &mut bool| -> Result<(), String> {
            if !*tracing && r.cycle() >= from {
                r.trace(&path)?;
                *tracing = true;
            }
            Ok(())
        };
        for s in &self.log {
            start(&mut r, &mut tracing)?;
            match s {
                Stim::Rx(p, f) => {
                    r.rx(*p, f);
                }
                Stim::Steps(n) => {
                    for _ in 0..*n {
                        start(&mut r, &mut tracing)?;
                        r.step();
                    }
                }
                Stim::Read(off) => {
                    let _ = r.read32(*off);
                }
                Stim::Write(off, v) => {
                    let _ = r.write32(*off, *v);
                }
                Stim::Tready(t) => r.set_tready(t.clone()),
            }
        }
        start(&mut r, &mut tracing)?;
        for _ in 0..VCD_AFTER {
            r.step();
        }
        r.trace_flush();
        // After step s the RTL sits in clock s - 1: the trace opened there.
        let to = r.cycle().saturating_sub(1);
        drop(r);
        Ok((path, from.saturating_sub(1), to))
    }

    fn log_steps(&mut self, n: u64) {
        if let Some(Stim::Steps(k)) = self.log.last_mut() {
            *k += n;
        } else {
            self.log.push(Stim::Steps(n));
        }
    }

    /// A frame on `port` on both sides; the receive decisions must agree.
    pub fn rx(&mut self, port: usize, frame: &[u8]) -> Result<bool, String> {
        if !self.rtl.port_free(port) {
            return Err(self.mismatch(
                format!(
                    "port {port} is still taking a frame on the RTL side: frames on one port \
                     need at least one clock per 32 bytes"
                ),
                None,
            ));
        }
        self.log.push(Stim::Rx(port, frame.to_vec()));
        let a = self.model.rx(port, frame);
        let b = self.rtl.rx(port, frame);
        let _ = write!(self.now, " rx p{port} {}B:{a}/{b}", frame.len());
        if a != b {
            return Err(self.mismatch(
                format!(
                    "frame of {} bytes on port {port}: model {}, RTL {}",
                    frame.len(),
                    if a { "took it" } else { "dropped it" },
                    if b { "took it" } else { "dropped it" }
                ),
                None,
            ));
        }
        Ok(a)
    }

    fn compare(&mut self, a: Vec<Output>, b: Vec<Output>) -> Result<(), String> {
        self.due.extend(a);
        let now = self.model.cycle();
        let mut a = Vec::new();
        while self.due.front().is_some_and(|o| o.sent + 2 <= now) {
            a.extend(self.due.pop_front());
        }
        for o in &a {
            let _ = write!(
                self.now,
                " out#{} e{} {} done {} sent {}",
                o.seq,
                o.engine,
                dest_text(&o.dest),
                o.done,
                o.sent
            );
        }
        let errors = self.rtl.take_errors();
        if !errors.is_empty() {
            return Err(self.mismatch(format!("RTL egress: {}", errors.join("; ")), None));
        }
        let n = a.len().max(b.len());
        for k in 0..n {
            match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => {
                    let e = x.or(y).map(|o| o.engine as u8);
                    return Err(self.mismatch(
                        format!(
                            "output {} differs{}:\n  model {}\n  RTL   {}",
                            self.outputs + k as u64,
                            match (x, y) {
                                (Some(x), Some(y)) => frame_diff(&x.frame, &y.frame),
                                _ => String::new(),
                            },
                            output_text(x),
                            output_text(y)
                        ),
                        e,
                    ));
                }
            }
        }
        self.outputs += n as u64;
        if let Some(k) = &mut self.kept {
            k.extend(a);
        }
        Ok(())
    }

    /// Keep every output compared from now on (both sides' are equal), for
    /// a test that checks what the function answered.
    pub fn keep_outputs(&mut self) {
        self.kept.get_or_insert_with(Vec::new);
    }

    /// The outputs kept since [`DevCosim::keep_outputs`] or the last take.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Compare the records both sides made since the last comparison (the
    /// same clocks on both).
    fn compare_records(&mut self) -> Result<(), String> {
        let mut a = std::mem::take(&mut self.pending.0);
        // The model steps its engines in a rotating order; the RTL reports
        // them in engine order.
        a.sort_by_key(|x| (x.cycle.cycle, x.engine));
        let b = self.rtl.take_records();
        let n = a.len().max(b.len());
        let mut a = a.into_iter();
        let mut b = b.into_iter();
        for _ in 0..n {
            let (x, y) = (a.next().map(device_form), b.next());
            let (x, y) = match (x, y) {
                (Some(mut x), Some(y)) => {
                    if let Some(f) = self.perturb.as_mut() {
                        f(&mut x);
                    }
                    (x, y)
                }
                (x, y) => {
                    let what = format!(
                        "record streams end apart: model {}, RTL {}",
                        x.map_or("no more records".into(), |x| format!(
                            "cycle {} engine {}",
                            x.cycle.cycle, x.engine
                        )),
                        y.map_or("no more records".into(), |y| format!(
                            "cycle {} engine {}",
                            y.cycle.cycle, y.engine
                        ))
                    );
                    return Err(self.mismatch(what, None));
                }
            };
            let d = differ(&x, &y);
            let e = x.engine;
            self.retires += x.retired.len() as u64;
            self.cycle_records += 1;
            let keep = HISTORY * self.model.config().engines;
            for (h, r) in [(&mut self.hist_model, x), (&mut self.hist_rtl, y)] {
                h.push_back(r);
                while h.len() > keep {
                    h.pop_front();
                }
            }
            if let Some(what) = d {
                self.cycle_records -= 1;
                return Err(self.mismatch(what, Some(e)));
            }
        }
        Ok(())
    }

    fn end_clock(&mut self) {
        let line = format!("cycle {}:{}", self.model.cycle(), self.now);
        self.now.clear();
        self.history.push_back(line);
        if self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// One clock on both sides; their records and outputs must be equal.
    pub fn step(&mut self) -> Result<(), String> {
        self.log_steps(1);
        self.model.step_recorded(&mut self.pending);
        self.rtl.step();
        let r = self.compare_records().and_then(|()| {
            let (a, b) = (self.model.take_outputs(), self.rtl.take_outputs());
            self.compare(a, b)
        });
        self.end_clock();
        r
    }

    /// Model steps for the clocks an RTL register access took.
    fn catch_up(&mut self, from: u64, what: &str) -> Result<(), String> {
        let _ = write!(self.now, " {what}");
        let mut a = Vec::new();
        while self.model.cycle() < self.rtl.cycle() {
            self.model.step_recorded(&mut self.pending);
            a.extend(self.model.take_outputs());
            if self.model.cycle() < self.rtl.cycle() {
                self.end_clock();
            }
        }
        let b = self.rtl.take_outputs();
        let r = self.compare_records().and_then(|()| self.compare(a, b));
        if self.rtl.cycle() > from {
            self.end_clock();
        }
        r
    }

    /// The same egress `tready` pattern on both sides
    /// ([`nfbpf_vm::device::Device::set_tready`]).
    pub fn set_tready(&mut self, tready: Option<nfbpf_vm::device::Tready>) {
        self.log.push(Stim::Tready(tready.clone()));
        self.model.set_tready(tready.clone());
        self.rtl.set_tready(tready);
    }

    /// Step until neither side holds a packet (or `limit` clocks passed).
    pub fn drain(&mut self, limit: u64) -> Result<u64, String> {
        let start = self.cycle();
        while (self.model.in_flight() > 0 || self.rtl.in_flight() > 0 || !self.due.is_empty())
            && self.cycle() - start < limit
        {
            self.step()?;
        }
        Ok(self.cycle() - start)
    }
}

fn dest_text(d: &Dest) -> String {
    match d {
        Dest::Port(p) => format!("port {p}"),
        Dest::Flood => "flood".into(),
        Dest::Host => "host".into(),
    }
}

/// One output, every field compared, or that there is none.
fn output_text(o: Option<&Output>) -> String {
    match o {
        Some(o) => format!(
            "#{} engine {} from port {} to {}: {} bytes, verdict {}, bank {}, arrived {} done {} sent {}",
            o.seq,
            o.engine,
            o.in_port,
            dest_text(&o.dest),
            o.frame.len(),
            o.verdict,
            o.bank,
            o.arrival,
            o.done,
            o.sent
        ),
        None => "none".into(),
    }
}

/// Where two frames of the same length first differ (empty when they do
/// not, or when their lengths already say they differ).
fn frame_diff(a: &[u8], b: &[u8]) -> String {
    if a.len() != b.len() {
        return String::new();
    }
    match (0..a.len()).find(|&i| a[i] != b[i]) {
        Some(i) => format!(" (frame byte {i}: model {:#04x}, RTL {:#04x})", a[i], b[i]),
        None => String::new(),
    }
}

fn read_text(r: &Result<u32, BusError>) -> String {
    match r {
        Ok(v) => format!("read {v:#x}"),
        Err(e) => format!("refused ({e})"),
    }
}

fn write_text(r: &Result<(), BusError>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused ({e})"),
    }
}

impl RegisterBus for DevCosim {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        let from = self.rtl.cycle();
        self.log.push(Stim::Read(off));
        let a = self.model.read32(off);
        let b = self.rtl.read32(off);
        self.catch_up(from, &format!("R {off:#x}"))
            .map_err(BusError::Transport)?;
        match (a, b) {
            (Ok(x), Ok(y)) if x == y => Ok(x),
            (Err(x), Err(_)) => Err(x),
            (a, b) => Err(BusError::Transport(self.mismatch(
                format!(
                    "read of {off:#x}: model {}, RTL {}",
                    read_text(&a),
                    read_text(&b)
                ),
                None,
            ))),
        }
    }

    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        let from = self.rtl.cycle();
        self.log.push(Stim::Write(off, v));
        let a = self.model.write32(off, v);
        let b = self.rtl.write32(off, v);
        self.catch_up(from, &format!("W {off:#x}={v:#x}"))
            .map_err(BusError::Transport)?;
        match (a, b) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(x), Err(_)) => Err(x),
            (a, b) => Err(BusError::Transport(self.mismatch(
                format!(
                    "write of {v:#x} to {off:#x}: model {}, RTL {}",
                    write_text(&a),
                    write_text(&b)
                ),
                None,
            ))),
        }
    }
}
