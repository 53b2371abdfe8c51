//! The two program ABIs: XDP and SUME.
//!
//! # XDP
//! r1 = [`contract::CTX_BASE`], where a read-only region `ctx` holds
//! `struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex,
//! rx_queue_index, egress_ifindex }` (offsets in [`xdp_md`]). The packet
//! window is the region `packet` at [`contract::PKT_BASE`], of
//! `max(PKT_WINDOW, XDP_HEADROOM + len)` bytes; the frame starts
//! [`contract::XDP_HEADROOM`] (256) bytes in, like Linux's
//! `XDP_PACKET_HEADROOM`, so `bpf_xdp_adjust_head` can grow it, and the rest
//! of the window is tailroom for `bpf_xdp_adjust_tail`. `data_meta == data`
//! (no metadata). Loads and stores anywhere in the window are allowed (the
//! window is the FIFO_MD storage); `data`/`data_end` are what the program
//! must respect, as the verifier would make it. The ifindex of a port is
//! its port number. Actions: `XDP_ABORTED 0, DROP 1, PASS 2, TX 3,
//! REDIRECT 4`; anything else aborts, as in Linux's drivers.
//!
//! # SUME
//! r1 = [`contract::PKT_BASE`], where the region `packet` holds the 32-byte
//! packed header `in_port u8, src_queue u8, dst_queue u8, timestamp_sec
//! u32, timestamp_nsec u32, length u16, 19 bytes headroom` (little-endian,
//! offsets in [`sume_md`]) immediately followed by the Ethernet frame; the
//! region is `max(PKT_WINDOW, 32 + len)` bytes. r0 at exit is the output
//! port, or `DROP 0xfff0`, `CONTROLLER 0xfff1`, `FLOOD 0xffff` (compared on
//! all 64 bits; values above 0xffff abort). Helpers 1..3 take the key (and
//! value) by value; the map's masks cut them to its sizes; a lookup miss
//! returns `0xffffffff`. The output frame is `length` bytes after the
//! header (a program may change `length`).
//!
//! Both ABIs: the stack region of [`crate::interp::add_stack`], and the map
//! value regions lent by [`crate::maps::MapTable::lend`] (done by
//! [`execute`]).

use crate::contract::{self, PKT_BASE, PKT_WINDOW, SUME_MD_SIZE, XDP_HEADROOM, XDP_MD_SIZE};
use crate::helpers::Helpers;
use crate::interp::{self, Config, Fault};
use crate::mem::{Memory, OverlapError};
use crate::program::Program;
use crate::trace::Tracer;
use crate::units::{self, RedirectTarget, SharedDeviceState};
use std::fmt;

/// Name of the context region (XDP).
pub const CTX_REGION: &str = "ctx";
/// Name of the packet window region (both ABIs).
pub const PACKET_REGION: &str = "packet";

/// Byte offsets in `struct xdp_md`.
pub mod xdp_md {
    pub const DATA: u64 = 0;
    pub const DATA_END: u64 = 4;
    pub const DATA_META: u64 = 8;
    pub const INGRESS_IFINDEX: u64 = 12;
    pub const RX_QUEUE_INDEX: u64 = 16;
    pub const EGRESS_IFINDEX: u64 = 20;
}

/// Byte offsets in the SUME metadata header.
pub mod sume_md {
    pub const IN_PORT: usize = 0;
    pub const SRC_QUEUE: usize = 1;
    pub const DST_QUEUE: usize = 2;
    pub const TIMESTAMP_SEC: usize = 3;
    pub const TIMESTAMP_NSEC: usize = 7;
    pub const LENGTH: usize = 11;
    pub const HEADROOM: usize = 13;
}

/// A packet as an ABI presents it: the window bytes (header or headroom,
/// then the frame), the context bytes if the ABI has one, and r1..r5.
pub type Window = (Vec<u8>, Option<Vec<u8>>, [u64; 5]);

/// Which program convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    Xdp,
    Sume,
}

/// What the receive side knows about a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxMeta {
    /// Input port (XDP: `ingress_ifindex`).
    pub in_port: u32,
    /// SUME header fields.
    pub src_queue: u8,
    pub dst_queue: u8,
    /// XDP: `rx_queue_index`.
    pub rx_queue_index: u32,
    /// Arrival time (SUME header; see [`crate::units::DeviceState::now_ns`]).
    pub timestamp_ns: u64,
}

/// What happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// XDP_ABORTED, an unknown action, a failed redirect, or a fault.
    Aborted,
    Drop,
    /// XDP_PASS / SUME CONTROLLER: to the host.
    Pass,
    /// Out of this port (XDP_TX: the input port; SUME: r0).
    Tx(u32),
    /// SUME FLOOD, or an XDP broadcast redirect (`BPF_F_BROADCAST`).
    Flood,
    /// XDP_REDIRECT to this port.
    Redirect(u32),
    /// XDP_REDIRECT to a host queue (CPUMAP, XSKMAP).
    Host(units::HostQueue),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Aborted => f.write_str("aborted"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Pass => f.write_str("pass"),
            Verdict::Tx(p) => write!(f, "tx:{p}"),
            Verdict::Flood => f.write_str("flood"),
            Verdict::Redirect(p) => write!(f, "redirect:{p}"),
            Verdict::Host(q) => write!(f, "redirect:{q}"),
        }
    }
}

/// A packet the ABI cannot present.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("frame of {0} bytes is too long for the {1} ABI")]
    TooLong(usize, &'static str),
    #[error(transparent)]
    Overlap(#[from] OverlapError),
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::Xdp => "xdp",
            Abi::Sume => "sume",
        }
    }

    /// Memory (context, packet window, stack; no map values) and r1..r5 for
    /// one packet. A caller that runs the program itself (rather than
    /// through [`execute`]) lends the map values
    /// ([`crate::maps::MapTable::lend`]), resets the engine's per-packet
    /// state ([`crate::units::EngineState::begin_packet`]), and reclaims the
    /// values afterwards; it must not hold the device lock while the program
    /// runs (the helpers take it).
    pub fn context(self, packet: &[u8], rx: &RxMeta) -> Result<(Memory, [u64; 5]), AbiError> {
        let (mut win, ctx, args) = self.window(packet, rx)?;
        win.resize(PKT_WINDOW.max(win.len()), 0);
        let mut m = Memory::new();
        interp::add_stack(&mut m)?;
        m.add(PACKET_REGION, PKT_BASE, win, true)?;
        if let Some(ctx) = ctx {
            m.add(CTX_REGION, contract::CTX_BASE, ctx, false)?;
        }
        Ok((m, args))
    }

    /// The packet window (headroom or metadata header, then the frame; no
    /// tail padding), the context bytes (XDP's `xdp_md`), and r1..r5: what
    /// [`Self::context`] places in memory, and what a data plane pushes into
    /// FIFO_MD.
    pub fn window(self, packet: &[u8], rx: &RxMeta) -> Result<Window, AbiError> {
        let mut args = [0u64; 5];
        match self {
            Abi::Xdp => {
                // data_end must fit the 32-bit field.
                if packet.len() > u32::MAX as usize - (PKT_BASE as usize + XDP_HEADROOM) {
                    return Err(AbiError::TooLong(packet.len(), "xdp"));
                }
                let mut win = vec![0u8; XDP_HEADROOM + packet.len()];
                put(&mut win, XDP_HEADROOM, packet);
                let data = PKT_BASE as u32 + XDP_HEADROOM as u32;
                let mut ctx = vec![0u8; XDP_MD_SIZE];
                let fields = [
                    (xdp_md::DATA, data),
                    (xdp_md::DATA_END, data + packet.len() as u32),
                    (xdp_md::DATA_META, data),
                    (xdp_md::INGRESS_IFINDEX, rx.in_port),
                    (xdp_md::RX_QUEUE_INDEX, rx.rx_queue_index),
                    (xdp_md::EGRESS_IFINDEX, 0),
                ];
                for (off, v) in fields {
                    put(&mut ctx, off as usize, &v.to_le_bytes());
                }
                args[0] = contract::CTX_BASE;
                Ok((win, Some(ctx), args))
            }
            Abi::Sume => {
                let len = u16::try_from(packet.len())
                    .map_err(|_| AbiError::TooLong(packet.len(), "sume"))?;
                let mut win = vec![0u8; SUME_MD_SIZE + packet.len()];
                win[sume_md::IN_PORT] = rx.in_port as u8;
                win[sume_md::SRC_QUEUE] = rx.src_queue;
                win[sume_md::DST_QUEUE] = rx.dst_queue;
                let sec = (rx.timestamp_ns / 1_000_000_000) as u32;
                let nsec = (rx.timestamp_ns % 1_000_000_000) as u32;
                put(&mut win, sume_md::TIMESTAMP_SEC, &sec.to_le_bytes());
                put(&mut win, sume_md::TIMESTAMP_NSEC, &nsec.to_le_bytes());
                put(&mut win, sume_md::LENGTH, &len.to_le_bytes());
                put(&mut win, SUME_MD_SIZE, packet);
                args[0] = PKT_BASE;
                Ok((win, None, args))
            }
        }
    }

    /// Helpers of this ABI for engine 0.
    pub fn helpers(self, dev: &SharedDeviceState) -> Helpers {
        self.engine_helpers(dev, 0)
    }

    /// Helpers of this ABI for `engine` (redirect state is per engine).
    pub fn engine_helpers(self, dev: &SharedDeviceState, engine: usize) -> Helpers {
        match self {
            Abi::Xdp => units::xdp_helpers(dev, engine),
            Abi::Sume => units::sume_helpers(dev, engine),
        }
    }

    /// Which helper ids this ABI provides (for
    /// [`crate::validate::Limits::helper_known`]).
    pub fn helper_known(self) -> fn(u32) -> bool {
        match self {
            Abi::Xdp => units::xdp_helper_known,
            Abi::Sume => units::sume_helper_known,
        }
    }

    /// Decode r0 at exit (and the engine's redirect target).
    pub fn verdict(self, r0: u64, rx: &RxMeta, redirect: Option<RedirectTarget>) -> Verdict {
        match self {
            Abi::Xdp => match r0 as u32 as u64 {
                contract::XDP_DROP => Verdict::Drop,
                contract::XDP_PASS => Verdict::Pass,
                contract::XDP_TX => Verdict::Tx(rx.in_port),
                contract::XDP_REDIRECT => match redirect {
                    Some(RedirectTarget::Port(p)) => Verdict::Redirect(p),
                    Some(RedirectTarget::Broadcast { .. }) => Verdict::Flood,
                    Some(RedirectTarget::Host(q)) => Verdict::Host(q),
                    None => Verdict::Aborted,
                },
                _ => Verdict::Aborted,
            },
            Abi::Sume => match r0 {
                contract::SUME_DROP => Verdict::Drop,
                contract::SUME_CONTROLLER => Verdict::Pass,
                contract::SUME_FLOOD => Verdict::Flood,
                p if p < contract::SUME_DROP => Verdict::Tx(p as u32),
                _ => Verdict::Aborted,
            },
        }
    }

    /// The frame after the run (XDP: `data..data_end`, as moved by the
    /// adjust helpers; SUME: `length` bytes after the header).
    pub fn frame(self, mem: &Memory) -> Option<Vec<u8>> {
        let w = mem.region(PACKET_REGION)?;
        match self {
            Abi::Xdp => {
                let c = mem.region(CTX_REGION)?;
                let f = |o: u64| {
                    let o = o as usize;
                    u32::from_le_bytes([c.data[o], c.data[o + 1], c.data[o + 2], c.data[o + 3]])
                        as u64
                };
                let (d, e) = (f(xdp_md::DATA), f(xdp_md::DATA_END));
                if d < w.base || e > w.end() || d > e {
                    return None;
                }
                Some(w.data[(d - w.base) as usize..(e - w.base) as usize].to_vec())
            }
            Abi::Sume => {
                let l = sume_md::LENGTH;
                let len = u16::from_le_bytes([w.data[l], w.data[l + 1]]) as usize;
                w.data
                    .get(SUME_MD_SIZE..SUME_MD_SIZE + len)
                    .map(<[u8]>::to_vec)
            }
        }
    }
}

/// One packet through one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub r0: u64,
    pub verdict: Verdict,
    /// The frame after the run.
    pub frame: Vec<u8>,
    pub insns: u64,
    /// Helper calls and their modeled cycles in this run.
    pub helper_calls: u64,
    pub helper_cycles: u64,
    /// The run faulted (verdict is [`Verdict::Aborted`]).
    pub fault: Option<Fault>,
    /// Clocks from first fetch to verdict (pipeline model only), with the
    /// packet already in FIFO_MD.
    pub cycles: Option<u64>,
}

/// Which engine model runs the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The reference interpreter (architectural state only).
    Interp,
    /// The cycle-accurate pipeline model; helper latencies come from the
    /// device's helper units (map operations at CAM/TCAM timing).
    Pipeline,
}

/// Run `prog` on `packet` as engine `engine` of the device `dev` with the
/// reference interpreter: build the context, lend the map values, run,
/// take the values back (also after a fault), decode the verdict. Faults
/// give [`Verdict::Aborted`] with the fault recorded, as the device does.
/// The device timer is not advanced (the device model owns time).
#[allow(clippy::too_many_arguments)]
pub fn execute<T: Tracer>(
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
    cfg: &Config,
    tracer: &mut T,
) -> Result<Execution, AbiError> {
    execute_on(
        EngineKind::Interp,
        abi,
        prog,
        dev,
        engine,
        packet,
        rx,
        cfg,
        tracer,
    )
}

/// [`execute`] on a chosen engine model. Both models see the same context,
/// maps and helper units, so their verdicts and frames must agree; the
/// pipeline also reports the clocks the packet took.
#[allow(clippy::too_many_arguments)]
pub fn execute_on<T: Tracer>(
    kind: EngineKind,
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
    cfg: &Config,
    tracer: &mut T,
) -> Result<Execution, AbiError> {
    Runner::new(kind, abi, prog, dev, engine, cfg).run(packet, rx, tracer)
}

/// [`execute_on`] for packet after packet of one program on one engine of
/// a device: the memory (stack, context, packet window, map regions), the
/// helper table and (pipeline) the decoded instruction memory are built
/// once and reused; every packet starts from a zeroed stack and a fresh
/// context and window, as [`execute_on`] gives it. Map state carries from
/// packet to packet through the device, as in [`execute_on`].
pub struct Runner {
    kind: EngineKind,
    abi: Abi,
    prog: std::sync::Arc<Program>,
    dev: SharedDeviceState,
    engine: usize,
    cfg: Config,
    /// The memory of the last packet (None before the first).
    mem: Option<Memory>,
    helpers: Helpers,
    /// Pipeline: the instruction memory and the engine configuration.
    pipe: Option<(crate::pipeline::InstrMem, crate::pipeline::Config)>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("kind", &self.kind)
            .field("abi", &self.abi)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Runner {
    pub fn new(
        kind: EngineKind,
        abi: Abi,
        prog: &Program,
        dev: &SharedDeviceState,
        engine: usize,
        cfg: &Config,
    ) -> Self {
        let prog = std::sync::Arc::new(prog.clone());
        let pipe = match kind {
            EngineKind::Interp => None,
            EngineKind::Pipeline => Some((
                crate::pipeline::InstrMem::with_program(prog.clone()),
                crate::pipeline::Config {
                    helper_latency: crate::pipeline::HelperLatency::from_device(
                        dev.clone(),
                        engine,
                    ),
                    // The whole packet window is present when the program
                    // starts: these are the program's own cycles. Arrival
                    // at line rate (FIFO_MD word by word) belongs to device
                    // runs, where frames, not ABI windows, are paced.
                    pacing: crate::pipeline::Pacing::Instant,
                    ..crate::pipeline::Config::from(cfg)
                },
            )),
        };
        Runner {
            kind,
            abi,
            prog,
            dev: dev.clone(),
            engine,
            cfg: *cfg,
            mem: None,
            helpers: abi.engine_helpers(dev, engine),
            pipe,
        }
    }

    /// Place `packet` in the memory: the last packet's memory with its
    /// stack zeroed and context and window rewritten, or a new one.
    fn load(&mut self, packet: &[u8], rx: &RxMeta) -> Result<(Memory, [u64; 5]), AbiError> {
        if let Some(mut m) = self.mem.take() {
            let (mut win, ctx, args) = self.abi.window(packet, rx)?;
            win.resize(PKT_WINDOW.max(win.len()), 0);
            let reused = match m.region_mut(PACKET_REGION) {
                Some(r) => {
                    r.data = win;
                    true
                }
                None => false,
            } && match (ctx, m.region_mut(CTX_REGION)) {
                (Some(c), Some(r)) => {
                    r.data = c;
                    true
                }
                (None, None) => true,
                _ => false,
            } && match m.region_mut(interp::STACK_REGION) {
                Some(r) => {
                    r.data.fill(0);
                    true
                }
                None => false,
            };
            if reused {
                return Ok((m, args));
            }
        }
        self.abi.context(packet, rx)
    }

    /// Run the program on `packet`.
    pub fn run<T: Tracer>(
        &mut self,
        packet: &[u8],
        rx: &RxMeta,
        tracer: &mut T,
    ) -> Result<Execution, AbiError> {
        let (mut m, args) = self.load(packet, rx)?;
        let mem = &mut m;
        let engine = self.engine;
        let (calls0, cycles0) = self.dev.with(|d| {
            if let Err(e) = d.maps.lend(mem) {
                d.maps.reclaim(mem);
                return Err(e);
            }
            let e = d.engine_mut(engine);
            e.begin_packet();
            Ok::<_, OverlapError>((e.helper_calls, e.helper_cycles))
        })?;
        let (res, clocks) = match self.pipe.as_mut() {
            None => (
                interp::run(&self.prog, mem, &mut self.helpers, args, &self.cfg, tracer),
                None,
            ),
            Some((imem, pcfg)) => {
                let rep = crate::pipeline::run_report_on(
                    imem,
                    mem,
                    &mut self.helpers,
                    args,
                    pcfg,
                    tracer,
                    &mut crate::pipeline::NoCycles,
                );
                (rep.result, Some(rep.cycles))
            }
        };
        let (redirect, calls, cycles) = self.dev.with(|d| {
            d.maps.reclaim(mem);
            let e = d.engine(engine);
            (
                e.redirect,
                e.helper_calls - calls0,
                e.helper_cycles - cycles0,
            )
        });
        let frame = self.abi.frame(mem).unwrap_or_default();
        self.mem = Some(m);
        Ok(match res {
            Ok(o) => Execution {
                r0: o.r0,
                verdict: self.abi.verdict(o.r0, rx, redirect),
                frame,
                insns: o.insns,
                helper_calls: calls,
                helper_cycles: cycles,
                fault: None,
                cycles: clocks,
            },
            Err(f) => Execution {
                r0: 0,
                verdict: Verdict::Aborted,
                frame,
                insns: 0,
                helper_calls: calls,
                helper_cycles: cycles,
                fault: Some(f),
                cycles: clocks,
            },
        })
    }
}

/// [`execute`] without tracing, default limits.
pub fn execute_plain(
    abi: Abi,
    prog: &Program,
    dev: &SharedDeviceState,
    engine: usize,
    packet: &[u8],
    rx: &RxMeta,
) -> Result<Execution, AbiError> {
    execute(
        abi,
        prog,
        dev,
        engine,
        packet,
        rx,
        &Config::default(),
        &mut crate::trace::NoTrace,
    )
}

#[cfg(test)]
mod tests;
