//! Device-level co-simulation: the model data plane ([`Device`]) and the
//! RTL one ([`RtlDevice`]) in lockstep on the same stimulus.
//!
//! [`DevCosim`] takes frames ([`DevCosim::rx`]), clocks ([`DevCosim::step`])
//! and register accesses (it is a [`RegisterBus`], so the loader programs
//! both devices at once); each goes to both sides at the same clock. A
//! register access takes clocks on the RTL's AXI4-Lite bus: the model does
//! the access at the clock the RTL takes it and then steps as many clocks.
//! After every clock the outputs of both sides (frame bytes, destination,
//! engine, bank, arrival, verdict and egress cycles, sequence number) must
//! be equal, the RTL's egress `tuser` must agree with its verdicts, as must the receive decisions and every register value read; the
//! first difference stops the run with the last clocks of both sides.

use crate::device::RtlDevice;
use nfbpf_vm::device::{Device, DeviceConfig, Output};
use nfbpf_vm::regs::{BusError, RegisterBus};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Clocks of history shown with a mismatch.
const HISTORY: usize = 12;

/// Both data planes in lockstep.
#[derive(Debug)]
pub struct DevCosim {
    pub model: Device,
    pub rtl: RtlDevice,
    /// Outputs compared so far.
    pub outputs: u64,
    /// The model's outputs not yet due on the RTL side: the RTL's egress
    /// register puts the beat taken in clock `sent` on the bus in clock
    /// `sent + 1`, where the harness sees it.
    due: VecDeque<Output>,
    history: VecDeque<String>,
    /// Events of the current clock, for the history.
    now: String,
}

impl DevCosim {
    pub fn new(cfg: DeviceConfig) -> Result<Self, String> {
        let model = Device::new(cfg.clone()).map_err(|e| e.to_string())?;
        let rtl = RtlDevice::new(cfg).map_err(|e| e.to_string())?;
        Ok(DevCosim {
            model,
            rtl,
            outputs: 0,
            due: VecDeque::new(),
            history: VecDeque::new(),
            now: String::new(),
        })
    }

    pub fn cycle(&self) -> u64 {
        self.model.cycle()
    }

    /// Can a frame go into `port` now on both sides at the same clock?
    pub fn port_free(&self, port: usize) -> bool {
        self.rtl.port_free(port)
    }

    fn mismatch(&self, what: String) -> String {
        let mut s = format!("cycle {}: {what}\nlast clocks:\n", self.cycle());
        for h in &self.history {
            let _ = writeln!(s, "  {h}");
        }
        let _ = writeln!(s, "  (this clock) {}", self.now);
        s
    }

    /// A frame on `port` on both sides; the receive decisions must agree.
    pub fn rx(&mut self, port: usize, frame: &[u8]) -> Result<bool, String> {
        if !self.rtl.port_free(port) {
            return Err(self.mismatch(format!(
                "port {port} is still taking a frame on the RTL side: frames on one port \
                 need at least one clock per 32 bytes"
            )));
        }
        let a = self.model.rx(port, frame);
        let b = self.rtl.rx(port, frame);
        let _ = write!(self.now, " rx p{port} {}B:{a}/{b}", frame.len());
        if a != b {
            return Err(self.mismatch(format!(
                "frame of {} bytes on port {port}: model {}, RTL {}",
                frame.len(),
                if a { "took it" } else { "dropped it" },
                if b { "took it" } else { "dropped it" }
            )));
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
                " out#{} e{} {:?} done {} sent {}",
                o.seq, o.engine, o.dest, o.done, o.sent
            );
        }
        let errors = self.rtl.take_errors();
        if !errors.is_empty() {
            return Err(self.mismatch(format!("RTL egress: {}", errors.join("; "))));
        }
        let n = a.len().max(b.len());
        for k in 0..n {
            match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => {
                    return Err(self.mismatch(format!(
                        "output {} differs:\n  model {x:?}\n  RTL   {y:?}",
                        self.outputs + k as u64
                    )));
                }
            }
        }
        self.outputs += n as u64;
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

    /// One clock on both sides; their outputs must be equal.
    pub fn step(&mut self) -> Result<(), String> {
        self.model.step();
        self.rtl.step();
        let (a, b) = (self.model.take_outputs(), self.rtl.take_outputs());
        let r = self.compare(a, b);
        self.end_clock();
        r
    }

    /// Model steps for the clocks an RTL register access took.
    fn catch_up(&mut self, from: u64, what: &str) -> Result<(), String> {
        let _ = write!(self.now, " {what}");
        let mut a = Vec::new();
        while self.model.cycle() < self.rtl.cycle() {
            self.model.step();
            a.extend(self.model.take_outputs());
            if self.model.cycle() < self.rtl.cycle() {
                self.end_clock();
            }
        }
        let b = self.rtl.take_outputs();
        let r = self.compare(a, b);
        if self.rtl.cycle() > from {
            self.end_clock();
        }
        r
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

impl RegisterBus for DevCosim {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        let from = self.rtl.cycle();
        let a = self.model.read32(off);
        let b = self.rtl.read32(off);
        self.catch_up(from, &format!("R {off:#x}"))
            .map_err(BusError::Transport)?;
        match (a, b) {
            (Ok(x), Ok(y)) if x == y => Ok(x),
            (Err(x), Err(_)) => Err(x),
            (a, b) => Err(BusError::Transport(
                self.mismatch(format!("read of {off:#x}: model {a:?}, RTL {b:?}")),
            )),
        }
    }

    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        let from = self.rtl.cycle();
        let a = self.model.write32(off, v);
        let b = self.rtl.write32(off, v);
        self.catch_up(from, &format!("W {off:#x}={v:#x}"))
            .map_err(BusError::Transport)?;
        match (a, b) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(x), Err(_)) => Err(x),
            (a, b) => Err(BusError::Transport(self.mismatch(format!(
                "write of {v:#x} to {off:#x}: model {a:?}, RTL {b:?}"
            )))),
        }
    }
}
