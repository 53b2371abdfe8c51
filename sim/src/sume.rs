//! The data plane in the NetFPGA SUME reference pipeline: the Verilated
//! wrapper `rtl/ebpf_sume_opl.v` (the output-port-lookup slot), a model of
//! the rest of the pipeline around it ([`InputArbiter`] over the four 10G
//! ports and the host's DMA queues, [`OutputQueues`] by destination bits),
//! and [`SumeCosim`], which runs the wrapper and the model device on the
//! same traffic and compares them.
//!
//! What is compared, and how exactly:
//!
//! - The register and data-path clocks are one clock here (the AXI4-Lite
//!   crossing of the wrapper is in the path, with equal clocks on both
//!   sides). Each wrapper clock is one model step, from reset on, so the
//!   device timers agree.
//! - The wrapper stores each frame whole before handing it to the data
//!   plane (its ingress buffer); [`SumeCosim`] follows that buffer's timing
//!   ([`IngressTiming`]: the first beat two clocks after the buffer takes
//!   the frame, one frame at a time) to give the model each frame in the
//!   clock the RTL data plane gets its first beat. Then every output is
//!   compared cycle for cycle: its bytes, its `tuser` (length, source and
//!   destination bits), and the clock its last beat leaves the wrapper
//!   (the model's `Output::sent` + 1), in order.
//! - Register reads are compared value for value, except the cycle counter
//!   (`CYCLELO`/`CYCLEHI`), which the crossing samples some clocks apart
//!   from the model; refusals (SLVERR, DECERR) against the model's errors.
//!   A FLIP the model refuses (no valid program staged) is not sent, as
//!   `RtlDevice` does.
//! - What leaves reaches the [`OutputQueues`], which count frames per
//!   destination bit: packet for packet, per queue, the model's outputs.

use crate::rtl::{OplIn, OplOut, RtlOpl};
use crate::traffic;
use nfbpf_vm::device::{Dest, Device, DeviceConfig, Output, PORTS};
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use std::collections::VecDeque;

/// Inputs of the reference pipeline's arbiter: the four 10G ports and the
/// host's DMA stream (which carries the four DMA queues).
pub const ARBITER_INPUTS: usize = PORTS + 1;

/// `tuser` one-hot bit of port `p`'s 10G interface (the reference designs'
/// even bits).
pub const fn port_bit(p: usize) -> u8 {
    1 << (2 * p)
}

/// `tuser` one-hot bit of port `p`'s host DMA queue (the odd bits).
pub const fn dma_bit(p: usize) -> u8 {
    1 << (2 * p + 1)
}

/// Source and destination bits of the `tuser` the data plane's egress puts
/// on a frame of input `in_port` with destination `dest`: the source is the
/// input's port bit; a port below [`PORTS`] its bit, a flood every port's
/// but the source's, the host the source port's DMA queue, a port number of
/// [`PORTS`] or more none.
pub fn egress_bits(in_port: u32, dest: Dest) -> (u8, u8) {
    let src = port_bit(in_port as usize);
    let all: u8 = (0..PORTS).map(port_bit).fold(0, |a, b| a | b);
    let dst = match dest {
        Dest::Port(q) if (q as usize) < PORTS => port_bit(q as usize),
        Dest::Port(_) => 0,
        Dest::Flood => all & !src,
        Dest::Host => dma_bit(in_port as usize),
    };
    (src, dst)
}

/// Where a frame enters the reference pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The 10G port.
    Port(usize),
    /// The host's DMA queue of the port.
    Dma(usize),
}

impl Source {
    /// Its `tuser` source bit.
    pub fn bit(self) -> u8 {
        match self {
            Source::Port(p) => port_bit(p),
            Source::Dma(p) => dma_bit(p),
        }
    }

    /// The arbiter input it comes in on (DMA queues share the DMA stream).
    fn input(self) -> usize {
        match self {
            Source::Port(p) => p,
            Source::Dma(_) => PORTS,
        }
    }
}

/// One 256-bit beat of an AXI4-Stream with SUME's `tuser`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Beat {
    pub tdata: [u64; 4],
    pub tkeep: u32,
    pub tuser: [u64; 2],
    pub tlast: bool,
}

const BEAT_BYTES: usize = 32;

/// Beat `k` of `frame` from `src`: `tuser` [15:0] the length, [23:16] the
/// source bit.
pub fn beat(frame: &[u8], src: u8, k: usize) -> Beat {
    let lo = (k * BEAT_BYTES).min(frame.len());
    let hi = (lo + BEAT_BYTES).min(frame.len());
    let mut bytes = [0u8; BEAT_BYTES];
    bytes[..hi - lo].copy_from_slice(&frame[lo..hi]);
    let mut tdata = [0u64; 4];
    for (l, limb) in tdata.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[8 * l..8 * l + 8]);
        *limb = u64::from_le_bytes(b);
    }
    let n = hi - lo;
    Beat {
        tdata,
        tkeep: if n == BEAT_BYTES {
            u32::MAX
        } else {
            (1u32 << n) - 1
        },
        tuser: [(frame.len().min(0xffff) as u64) | (u64::from(src) << 16), 0],
        tlast: hi == frame.len(),
    }
}

/// Beats of a frame of `len` bytes.
pub fn beats(len: usize) -> usize {
    len.div_ceil(BEAT_BYTES).max(1)
}

/// The reference pipeline's input arbiter: a queue per input (four 10G
/// ports, the DMA stream), served round-robin from the input after the one
/// served last, a whole frame at a time, one beat per clock while the next
/// stage takes beats (`tready`).
#[derive(Debug, Default)]
pub struct InputArbiter {
    queues: [VecDeque<(u8, Vec<u8>)>; ARBITER_INPUTS],
    last: usize,
    /// The frame being sent, its source bit and next beat.
    cur: Option<(u8, Vec<u8>, usize)>,
}

impl InputArbiter {
    /// A frame arrives at `src`.
    pub fn push(&mut self, src: Source, frame: Vec<u8>) {
        self.queues[src.input()].push_back((src.bit(), frame));
    }

    /// The beat on the arbiter's output in this clock, if any.
    pub fn beat(&mut self) -> Option<Beat> {
        if self.cur.is_none() {
            for k in 1..=ARBITER_INPUTS {
                let i = (self.last + k) % ARBITER_INPUTS;
                if let Some((b, f)) = self.queues[i].pop_front() {
                    self.last = i;
                    self.cur = Some((b, f, 0));
                    break;
                }
            }
        }
        self.cur.as_ref().map(|(b, f, k)| beat(f, *b, *k))
    }

    /// The beat of this clock was taken; the frame and its source bit when
    /// it was the last.
    pub fn taken(&mut self) -> Option<(u8, Vec<u8>)> {
        let (b, f, k) = self.cur.take()?;
        if k + 1 < beats(f.len()) {
            self.cur = Some((b, f, k + 1));
            None
        } else {
            Some((b, f))
        }
    }

    /// Frames waiting or being sent.
    pub fn pending(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum::<usize>() + usize::from(self.cur.is_some())
    }
}

/// A frame the output queues took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub frame: Vec<u8>,
    /// `tuser` bits 63..0 (length, source, destination, the data plane's
    /// user bits).
    pub tuser: u64,
    /// Clock of its last beat.
    pub clock: i64,
}

/// The reference pipeline's output queues: every frame goes to the queue
/// of each destination bit set in its `tuser` (eight: bit 2i port i, bit
/// 2i+1 its DMA queue); none set, it is dropped. They always take beats.
#[derive(Debug, Default)]
pub struct OutputQueues {
    bytes: Vec<u8>,
    pub queues: [Vec<Queued>; 8],
    /// Frames with no destination bit.
    pub dropped: u64,
}

impl OutputQueues {
    /// A beat taken in `clock`; the frame when it was the last.
    pub fn take(&mut self, b: &Beat, clock: i64) -> Option<Queued> {
        for (l, limb) in b.tdata.iter().enumerate() {
            for (k, byte) in limb.to_le_bytes().into_iter().enumerate() {
                if b.tkeep >> (8 * l + k) & 1 == 1 {
                    self.bytes.push(byte);
                }
            }
        }
        if !b.tlast {
            return None;
        }
        let q = Queued {
            frame: std::mem::take(&mut self.bytes),
            tuser: b.tuser[0],
            clock,
        };
        let dst = (q.tuser >> 24) as u8;
        if dst == 0 {
            self.dropped += 1;
        }
        for (bit, queue) in self.queues.iter_mut().enumerate() {
            if dst >> bit & 1 == 1 {
                queue.push(q.clone());
            }
        }
        Some(q)
    }
}

/// When the wrapper's ingress buffer hands each frame to the data plane
/// (`rtl/ebpf_sume_opl.v`): a frame whose last beat the buffer took in
/// clock L is read out from clock max(L + 1, the clock after the previous
/// frame's last read), one beat per clock, its first beat on the data
/// plane's input two clocks after that.
#[derive(Debug, Default)]
pub struct IngressTiming {
    /// First clock the buffer's read side is free.
    free: i64,
}

impl IngressTiming {
    /// The frame of `n` beats whose last beat was taken in clock `l`: the
    /// clock its first beat reaches the data plane.
    pub fn stored(&mut self, l: i64, n: usize) -> i64 {
        let start = (l + 1).max(self.free);
        self.free = start + n as i64 + 1;
        start + 2
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_bits_follow_the_reference_layout() {
        assert_eq!(egress_bits(0, Dest::Port(1)), (0x01, 0x04));
        assert_eq!(egress_bits(2, Dest::Host), (0x10, 0x20));
        assert_eq!(egress_bits(1, Dest::Flood), (0x04, 0x51));
        assert_eq!(egress_bits(3, Dest::Port(9)), (0x40, 0));
    }

    #[test]
    fn arbiter_round_robin_whole_frames() {
        let mut a = InputArbiter::default();
        a.push(Source::Port(0), vec![1; 40]);
        a.push(Source::Dma(2), vec![2; 20]);
        a.push(Source::Port(0), vec![3; 20]);
        let mut got = Vec::new();
        while a.beat().is_some() {
            if let Some((b, f)) = a.taken() {
                got.push((b, f[0], f.len()));
            }
        }
        // Round-robin from the input after port 0 (the last served at
        // reset): the DMA stream (input 4) first, then port 0's two frames.
        assert_eq!(got, vec![(0x20, 2, 20), (0x01, 1, 40), (0x01, 3, 20)]);
    }

    #[test]
    fn output_queues_by_destination_bits() {
        let mut q = OutputQueues::default();
        let mut b = beat(&[7; 10], 0x01, 0);
        b.tuser[0] |= 0x14 << 24;
        assert!(q.take(&b, 5).is_some());
        assert_eq!(q.queues[2].len(), 1);
        assert_eq!(q.queues[4].len(), 1);
        assert_eq!(q.queues[0].len(), 0);
    }
}
