//! [`SumeCosim`]: the Verilated wrapper in the reference-pipeline model
//! against the model device (the parent module says what is compared).

use super::{
    Beat, IngressTiming, InputArbiter, OutputQueues, Queued, Source, dma_bit, egress_bits, port_bit,
};
use crate::rtl::{OplIn, OplOut, RtlOpl};
use crate::traffic;
use nfbpf_vm::device::{Device, DeviceConfig, Output, PORTS};
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use std::collections::VecDeque;

/// The Verilated wrapper with its inputs and last outputs.
#[derive(Debug)]
struct SumeOpl {
    m: RtlOpl,
    inp: OplIn,
    out: OplOut,
}

impl SumeOpl {
    fn new() -> Self {
        let inp = OplIn {
            m_tready: 1,
            wstrb: 0xf,
            bready: 1,
            rready: 1,
            ..OplIn::default()
        };
        SumeOpl {
            m: RtlOpl::new(&inp),
            inp,
            out: OplOut::default(),
        }
    }

    fn eval(&mut self) {
        self.m.eval(&self.inp, &mut self.out);
    }

    fn tick(&mut self) {
        self.m.tick();
    }
}

const OKAY: u64 = 0;
const SLVERR: u64 = 2;
const DECERR: u64 = 3;

/// Clocks an AXI4-Lite access may take through the crossing before it is a
/// failure.
const AXI_TIMEOUT: u64 = 64;

/// The wrapper in the reference-pipeline model against the model device,
/// clock for clock (module comment). A [`RegisterBus`]: every access goes
/// to both, and the first difference is kept in [`SumeCosim::mismatches`].
#[derive(Debug)]
pub struct SumeCosim {
    rtl: SumeOpl,
    model: Device,
    arbiter: InputArbiter,
    pub queues: OutputQueues,
    timing: IngressTiming,
    /// The data plane's clock: -1 (the setup clock after reset), then 0, 1, ...
    clock: i64,
    /// Frames taken by the wrapper, to reach the model in the clock their
    /// first beat reaches the RTL data plane: (clock, input, frame).
    to_model: VecDeque<(i64, usize, Vec<u8>)>,
    /// Beats of the frame the wrapper is taking.
    taking: usize,
    /// Model outputs due on the wrapper's stream.
    due: VecDeque<Output>,
    /// Frames compared, packet for packet and clock for clock.
    pub outputs: u64,
    /// Register reads compared.
    pub reads: u64,
    /// Every difference found (empty: the two agree).
    pub mismatches: Vec<String>,
}

impl SumeCosim {
    pub fn new(cfg: DeviceConfig) -> Result<Self, nfbpf_vm::device::DeviceError> {
        Ok(SumeCosim {
            rtl: SumeOpl::new(),
            model: Device::new(cfg)?,
            arbiter: InputArbiter::default(),
            queues: OutputQueues::default(),
            timing: IngressTiming::default(),
            clock: -1,
            to_model: VecDeque::new(),
            taking: 0,
            due: VecDeque::new(),
            outputs: 0,
            reads: 0,
            mismatches: Vec::new(),
        })
    }

    /// The data plane's clock.
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// A frame arrives at the reference pipeline's input `src`.
    pub fn push(&mut self, src: Source, frame: Vec<u8>) {
        self.arbiter.push(src, frame);
    }

    /// Frames not yet out of both sides.
    pub fn in_flight(&self) -> usize {
        self.arbiter.pending() + self.to_model.len() + self.model.in_flight() + self.due.len()
    }

    fn mismatch(&mut self, m: String) {
        if self.mismatches.len() < 16 {
            self.mismatches.push(format!("clock {}: {m}", self.clock));
        }
    }

    /// One clock of the whole pipeline: the arbiter's beat into the
    /// wrapper, the wrapper's egress into the output queues (compared with
    /// the model's outputs due), one edge of the wrapper and one step of
    /// the model.
    pub fn step(&mut self) {
        while self
            .to_model
            .front()
            .is_some_and(|(c, _, _)| *c <= self.clock)
        {
            let Some((c, input, frame)) = self.to_model.pop_front() else {
                break;
            };
            if c < self.clock {
                self.mismatch(format!("a frame for the model was due in clock {c}"));
            }
            self.model.rx(input, &frame);
        }
        let b = self.arbiter.beat();
        if let Some(b) = &b {
            self.rtl.inp.tdata = b.tdata;
            self.rtl.inp.tkeep = u64::from(b.tkeep);
            self.rtl.inp.tuser = b.tuser;
            self.rtl.inp.tlast = u64::from(b.tlast);
        }
        self.rtl.inp.tvalid = u64::from(b.is_some());
        self.rtl.eval();
        if b.is_some() && self.rtl.out.tready == 1 {
            self.taking += 1;
            if let Some((src, frame)) = self.arbiter.taken() {
                let n = std::mem::take(&mut self.taking);
                let first = self.timing.stored(self.clock, n);
                let input = (0..PORTS)
                    .find(|&p| src & (port_bit(p) | dma_bit(p)) != 0)
                    .unwrap_or(PORTS);
                self.to_model.push_back((first, input, frame));
            }
        }
        if self.rtl.out.m_tvalid == 1 {
            let eb = Beat {
                tdata: self.rtl.out.m_tdata,
                tkeep: self.rtl.out.m_tkeep as u32,
                tuser: self.rtl.out.m_tuser,
                tlast: self.rtl.out.m_tlast == 1,
            };
            if let Some(q) = self.queues.take(&eb, self.clock) {
                self.compare(q);
            }
        }
        while let Some(o) = self.due.front() {
            if (o.sent as i64) + 1 < self.clock {
                let m = format!(
                    "the model sent packet {} (in port {}, {} bytes) in clock {}; the wrapper did not",
                    o.seq,
                    o.in_port,
                    o.frame.len(),
                    o.sent + 1
                );
                self.due.pop_front();
                self.mismatch(m);
            } else {
                break;
            }
        }
        self.rtl.tick();
        self.model.step();
        self.due.extend(self.model.take_outputs());
        self.clock += 1;
    }

    fn compare(&mut self, q: Queued) {
        let Some(o) = self.due.pop_front() else {
            self.mismatch(format!(
                "the wrapper sent a frame of {} bytes (tuser {:#x}) the model did not",
                q.frame.len(),
                q.tuser
            ));
            return;
        };
        self.outputs += 1;
        let (src, dst) = egress_bits(o.in_port, o.dest);
        let (len, rsrc, rdst) = (
            (q.tuser & 0xffff) as usize,
            (q.tuser >> 16) as u8,
            (q.tuser >> 24) as u8,
        );
        let mut diffs = Vec::new();
        if q.frame != o.frame {
            diffs.push(format!(
                "bytes differ (wrapper {} bytes, model {})",
                q.frame.len(),
                o.frame.len()
            ));
        }
        if (len, rsrc, rdst) != (o.frame.len(), src, dst) {
            diffs.push(format!(
                "tuser length {len} source {rsrc:#04x} destination {rdst:#04x}, model {} {src:#04x} {dst:#04x}",
                o.frame.len()
            ));
        }
        if q.clock != o.sent as i64 + 1 {
            diffs.push(format!(
                "last beat in clock {}, the model's in clock {}",
                q.clock,
                o.sent + 1
            ));
        }
        if !diffs.is_empty() {
            self.mismatch(format!(
                "packet {} (in port {}): {}",
                o.seq,
                o.in_port,
                diffs.join("; ")
            ));
        }
    }

    /// Step until both sides are empty and `slack` more clocks passed (a
    /// frame the wrapper sends late shows up), at most `limit` clocks.
    pub fn drain(&mut self, slack: u64, limit: u64) {
        let start = self.clock;
        while self.in_flight() > 0 && ((self.clock - start) as u64) < limit {
            self.step();
        }
        for _ in 0..slack {
            self.step();
        }
        if self.in_flight() > 0 {
            self.mismatch(format!(
                "{} frames still inside after draining",
                self.in_flight()
            ));
        }
    }

    /// An AXI4-Lite access through the wrapper's crossing: the response
    /// (resp, rdata).
    fn axi(&mut self, write: bool, off: u32, v: u32) -> Result<(u64, u32), BusError> {
        let addr = u64::from(off & 0xfff);
        if write {
            self.rtl.inp.awaddr = addr;
            self.rtl.inp.wdata = u64::from(v);
            self.rtl.inp.awvalid = 1;
            self.rtl.inp.wvalid = 1;
        } else {
            self.rtl.inp.araddr = addr;
            self.rtl.inp.arvalid = 1;
        }
        let mut taken = false;
        for _ in 0..AXI_TIMEOUT {
            self.rtl.eval();
            let o = self.rtl.out;
            if !taken
                && (if write {
                    o.awready == 1 && o.wready == 1
                } else {
                    o.arready == 1
                })
            {
                taken = true;
                self.step();
                self.rtl.inp.awvalid = 0;
                self.rtl.inp.wvalid = 0;
                self.rtl.inp.arvalid = 0;
                continue;
            }
            if taken && write && o.bvalid == 1 {
                self.step();
                return Ok((o.bresp, 0));
            }
            if taken && !write && o.rvalid == 1 {
                self.step();
                return Ok((o.rresp, o.rdata as u32));
            }
            self.step();
        }
        self.rtl.inp.awvalid = 0;
        self.rtl.inp.wvalid = 0;
        self.rtl.inp.arvalid = 0;
        Err(BusError::Transport(format!(
            "{} of {off:#x}: no AXI4-Lite response from the wrapper in {AXI_TIMEOUT} clocks",
            if write { "write" } else { "read" }
        )))
    }

    fn check_resp(&mut self, what: &str, resp: u64, model: &Result<(), BusError>) {
        let agree = matches!(
            (resp, model),
            (OKAY, Ok(()))
                | (SLVERR, Err(BusError::Transport(_)))
                | (DECERR, Err(BusError::Unmapped(_)))
        );
        if !agree {
            let m = format!("{what}: the wrapper answered response {resp}, the model {model:?}");
            self.mismatch(m);
        }
    }
}

impl RegisterBus for SumeCosim {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        let (resp, v) = self.axi(false, off, 0)?;
        let m = self.model.read32(off);
        self.reads += 1;
        let name = regs::lookup(off).map_or("?".into(), |(r, i)| {
            if r.count > 1 {
                format!("{}[{i}]", r.name)
            } else {
                r.name.to_string()
            }
        });
        self.check_resp(
            &format!("read of {name}"),
            resp,
            &m.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        if let Ok(mv) = m
            && resp == OKAY
            && mv != v
            && off != regs::CYCLELO
            && off != regs::CYCLEHI
        {
            self.mismatch(format!(
                "{name} reads {v:#010x} on the wrapper, {mv:#010x} on the model"
            ));
        }
        m
    }

    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        let m = self.model.write32(off, v);
        if off == regs::FLIP && v & 1 == 1 && m.is_err() {
            return m;
        }
        let (resp, _) = self.axi(true, off, v)?;
        let name = regs::lookup(off).map_or("?", |(r, _)| r.name);
        self.check_resp(&format!("write of {name}"), resp, &m);
        m
    }

    /// The frame enters the pipeline from the host's DMA queue of `port`.
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        if port >= PORTS {
            return Err(BusError::Transport(format!(
                "host queue {port}: the device has ports 0..{}",
                PORTS - 1
            )));
        }
        self.push(Source::Dma(port), frame.to_vec());
        Ok(())
    }
}

/// IMIX traffic of `spec` on the 10G ports and, as often, from the host's
/// DMA queues, pushed into `c` at its arrival clocks while stepping it;
/// returns the frames offered.
pub fn offer_imix(
    c: &mut SumeCosim,
    frames: usize,
    seed: u64,
) -> Result<usize, traffic::SpecError> {
    let spec = traffic::Spec {
        size: traffic::Size::Imix,
        proto: traffic::Proto::Mix,
        flows: 16,
        gbps: 10.0,
        ports: (0..PORTS as u32).collect(),
        seed,
    };
    let ns_per_clock = 1e9 / nfbpf_vm::contract::CLOCK_HZ as f64;
    let start = c.clock();
    let mut n = 0;
    for (k, f) in traffic::Generator::new(spec)?.take(frames).enumerate() {
        let at = start + (f.time_ns / ns_per_clock) as i64;
        while c.clock() < at {
            c.step();
        }
        let p = f.port as usize;
        // every third frame of a port comes from its host DMA queue
        let src = if k % 3 == 2 {
            Source::Dma(p)
        } else {
            Source::Port(p)
        };
        c.push(src, f.data);
        n += 1;
    }
    Ok(n)
}
