//! The device RTL (`rtl/ebpf_dataplane.v`, which holds the engines and the
//! map coprocessor and helper units, `rtl/ebpf_units.v`) behind the model device's
//! interface: [`RtlDevice`] has `rx`, `step`, `take_outputs`, `cycle`,
//! `in_flight`, `drain` like [`nfbpf_vm::device::Device`] and implements
//! [`RegisterBus`] with real AXI4-Lite transactions over clocks.
//!
//! Everything the device computes is the RTL's: the engines, the helper
//! units and the map coprocessor (map registers on the AXI4-Lite bus
//! included), the output arbiter and the egress AXI4-Stream. The harness
//! keeps the packets' bookkeeping (sequence number, arrival, verdict clock)
//! and takes each frame off the egress stream (`tready` always 1, or the
//! pattern [`RtlDevice::set_tready`] gives): its
//! bytes (tkeep), and from `tuser` its length, ports and the engine it came
//! from. A frame whose `tuser` disagrees with its verdict (destination bits
//! as SUME encodes them, source port, bank, length) is an egress error
//! ([`RtlDevice::take_errors`]).
//!
//! Clocks: between two [`RtlDevice::step`]s the RTL sits in the clock just
//! evaluated, before its edge (after reset, a setup clock numbered -1). A
//! frame given to [`RtlDevice::rx`] puts its first beat in that clock, which
//! the RTL's contract makes the model's `rx` before the next step; its other
//! beats follow one per clock. A register write is taken in that clock and
//! its response consumed over the next two clocks (two steps); a read takes
//! three (address, read, data). [`RtlDevice::cycle`] counts the steps, equal
//! to the model's cycle.
//!
//! ABIs: the device starts in the SUME ABI; `ABIMODE` 1 (the loader writes
//! it for an XDP program) switches it to XDP on an idle device, as the
//! model's. In the XDP ABI the RTL runs the context (`xdp_md`), the
//! verdicts, the egress from `data` to `data_end` and the helpers of
//! [`RTL_XDP_HELPERS`] (the map helpers through pointers with the values in
//! the units' value memory, `redirect_map`, `csum_diff` and
//! `xdp_load/store_bytes` over buffers in the stack, the packet and map
//! values, `xdp_adjust_head` moving the metadata, and `trace_printk` and
//! `trace_vprintk` with their formats, arrays and strings in the stack or
//! the packet); the FLIP check here refuses an XDP program that calls any
//! other (the software engines' helpers), or that names a map the RTL
//! cannot hold ([`xdp_unsupported_maps`], from the map rows the device took,
//! which the harness mirrors from the register writes; docs/rtl-dataplane.md).
//!
//! Limits: [`DP_ENGINES`] engines,
//! the default 10 Gb/s pacing; the RTL units' own limits (docs/rtl.md:
//! a WIDEOP on a map of keys over 8
//! bytes, or of values over 8 bytes outside an XDP row's value window,
//! answers E2BIG, an OPERATION's ACK reads 0 and WIDESTATUS
//! busy until the coprocessor took it); the hardware does
//! not validate programs, so the FLIP check (the model's) runs here, in the
//! host side of the bus, before the FLIP goes out.
//!
//! Debug records: when asked ([`RtlDevice::record`]), every clock's retire
//! records and cycle record of each engine are read from the data plane's
//! `dbg_*` ports ([`RtlDevice::take_records`], the records of the model's
//! `Device::step_recorded`); [`RtlDevice::trace`] writes a VCD of the RTL.

use crate::rtl::{DP_ENGINES, DpIn, DpOut, RtlDataplane};
use nfbpf_vm::Insn;
use nfbpf_vm::abi::{Abi, Verdict};
use nfbpf_vm::contract;
use nfbpf_vm::device::{self as model, Dest, DeviceConfig, EngineCounters, Output};
use nfbpf_vm::device::{PORTS, PortCounters, Tready};
use nfbpf_vm::isa::{Kind, Width};
use nfbpf_vm::pipeline::{CycleRecord, EngineClock, Fwd, Pacing, StageSlot, Stall};
use nfbpf_vm::program::Program;
use nfbpf_vm::regs::{self, Access, BusError, RegisterBus};
use nfbpf_vm::trace::{DeviceFault, MemAccess, Retire};
use std::collections::VecDeque;

const WB: usize = contract::FIFO_WORD_BYTES;
/// AXI4-Lite responses.
const SLVERR: u64 = 2;
const DECERR: u64 = 3;
/// `out_kind_o` codes of `rtl/ebpf_dataplane.v`.
const O_PORT: u64 = 0;
const O_FLOOD: u64 = 1;
const O_HOST: u64 = 2;
const O_REDIR: u64 = 5;

/// The helpers the RTL units run in the XDP ABI (`rtl/ebpf_units.v`); an
/// XDP program calling another is refused at FLIP ([`RtlDevice`]).
pub const RTL_XDP_HELPERS: &[u32] = &[
    contract::HELPER_MAP_LOOKUP_ELEM,
    contract::HELPER_MAP_UPDATE_ELEM,
    contract::HELPER_MAP_DELETE_ELEM,
    contract::HELPER_REDIRECT_MAP,
    contract::HELPER_KTIME_GET_NS,
    contract::HELPER_GET_PRANDOM_U32,
    contract::HELPER_REDIRECT,
    contract::HELPER_GET_SMP_PROCESSOR_ID,
    contract::HELPER_XDP_GET_BUFF_LEN,
    contract::HELPER_XDP_ADJUST_META,
    contract::HELPER_XDP_ADJUST_HEAD,
    contract::HELPER_XDP_ADJUST_TAIL,
    contract::HELPER_CSUM_DIFF,
    contract::HELPER_XDP_LOAD_BYTES,
    contract::HELPER_XDP_STORE_BYTES,
    contract::HELPER_TRACE_PRINTK,
    contract::HELPER_KTIME_GET_COARSE_NS,
    contract::HELPER_TRACE_VPRINTK,
];

/// Why an RTL device cannot be built with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtlDeviceError {
    #[error("{0} engines: the Verilated data plane is built with {DP_ENGINES}")]
    Engines(usize),
    #[error(
        "the RTL data plane starts in the SUME ABI: build it with the SUME ABI and write \
         ABIMODE 1 (the loader does for an XDP program) to run XDP"
    )]
    Abi,
    #[error("the RTL data plane paces FIFO_MD at the contract's port rate only")]
    Pacing,
}

/// A packet inside the device, as the harness tracks it.
#[derive(Debug)]
struct Meta {
    seq: u64,
    in_port: u32,
    arrival: u64,
}

/// A packet after its verdict, waiting for the egress stream.
#[derive(Debug)]
struct Sending {
    meta: Meta,
    dest: Dest,
    verdict: Verdict,
    done: u64,
    bank: u8,
}

/// A frame going into a port beat by beat.
#[derive(Debug)]
struct Stream {
    frame: Vec<u8>,
    next: usize,
    beats: usize,
}

/// Host-side mirror of the instruction registers for the FLIP check, and
/// of the map table's rows as the device took them (what the FLIP check of
/// an XDP program needs to know of the maps it uses).
#[derive(Debug, Default)]
struct Staged {
    numinst: u32,
    wrptr: u32,
    hiinst: u32,
    insns: Vec<u64>,
    maps: MapShadow,
}

/// A committed map row: type code, key and value size, max entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapShape {
    pub kind: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// The map table's rows from the register writes the device took (NUMMAP,
/// MAPLOAD, CLEAN, the row registers and MAXELEMSMAP, as
/// `rtl/ebpf_units.v` commits them).
#[derive(Debug, Default)]
struct MapShadow {
    rows: Vec<Option<MapShape>>,
    next: usize,
    kind: u32,
    key_mask: u64,
    value_mask: u64,
    key_size: u32,
    value_size: u32,
}

impl MapShadow {
    fn bytes(mask: u64) -> u32 {
        (64 - mask.leading_zeros()).div_ceil(8)
    }

    fn write(&mut self, off: u32, v: u32) {
        if self.rows.len() < contract::MAX_MAPS {
            self.rows.resize(contract::MAX_MAPS, None);
        }
        let hi = |m: u64, v: u32| (m & 0xffff_ffff) | (u64::from(v) << 32);
        let lo = |m: u64, v: u32| (m & !0xffff_ffff) | u64::from(v);
        match off {
            regs::NUMMAP => {
                self.rows.iter_mut().for_each(|r| *r = None);
                self.next = 0;
            }
            regs::MAPLOAD => {
                let (base, count) = ((v >> 8 & 0xff) as usize, (v & 0xff) as usize);
                for r in self.rows.iter_mut().skip(base).take(count) {
                    *r = None;
                }
                self.next = base;
            }
            regs::CLEAN if v & 1 == 1 => self.rows.iter_mut().for_each(|r| *r = None),
            regs::TYPEMAP => self.kind = v,
            regs::HIKEYMASKMAP => self.key_mask = hi(self.key_mask, v),
            regs::LOKEYMASKMAP => self.key_mask = lo(self.key_mask, v),
            regs::HIVALUEMASKMAP => self.value_mask = hi(self.value_mask, v),
            regs::LOVALUEMASKMAP => self.value_mask = lo(self.value_mask, v),
            regs::KEYSIZEMAP => self.key_size = v,
            regs::VALUESIZEMAP => self.value_size = v,
            regs::MAXELEMSMAP => {
                let pick = |size: u32, mask: u64| if size != 0 { size } else { Self::bytes(mask) };
                if let Some(r) = self.rows.get_mut(self.next) {
                    *r = Some(MapShape {
                        kind: self.kind,
                        key_size: pick(self.key_size, self.key_mask),
                        value_size: pick(self.value_size, self.value_mask),
                        max_entries: v,
                    });
                }
                self.next += 1;
                self.key_size = 0;
                self.value_size = 0;
            }
            _ => {}
        }
    }
}

/// The data-plane RTL and its harness.
pub struct RtlDevice {
    dp: RtlDataplane,
    inp: DpIn,
    out: DpOut,
    streams: [Option<Stream>; PORTS],
    waiting: [VecDeque<Vec<u8>>; PORTS],
    queues: Vec<VecDeque<Meta>>,
    sending: Vec<VecDeque<Sending>>,
    /// Bytes of the frame on the egress stream so far.
    beats: Vec<u8>,
    errors: Vec<String>,
    seq: u64,
    steps: u64,
    outputs: Vec<Output>,
    staged: Staged,
    // Debug records (see the section at the end).
    banks: [Option<Program>; 2],
    active: u8,
    rec: Option<Recorder>,
    /// The egress stream's `tready` by clock (`None`: always 1).
    tready: Option<Tready>,
    /// The ABI as the last ABIMODE write the device took set it.
    abi: Abi,
}

impl std::fmt::Debug for RtlDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtlDevice")
            .field("engines", &DP_ENGINES)
            .field("cycle", &self.steps)
            .finish()
    }
}

impl RtlDevice {
    pub fn new(cfg: DeviceConfig) -> Result<Self, RtlDeviceError> {
        if cfg.engines != DP_ENGINES {
            return Err(RtlDeviceError::Engines(cfg.engines));
        }
        if cfg.abi != Abi::Sume {
            return Err(RtlDeviceError::Abi);
        }
        if cfg.pacing != Pacing::default() {
            return Err(RtlDeviceError::Pacing);
        }
        let mut d = RtlDevice {
            dp: RtlDataplane::new(),
            inp: DpIn {
                budget: cfg.budget,
                bready: 1,
                rready: 1,
                m_tready: 1,
                ..DpIn::default()
            },
            out: DpOut::default(),
            streams: Default::default(),
            waiting: Default::default(),
            queues: (0..DP_ENGINES).map(|_| VecDeque::new()).collect(),
            sending: (0..DP_ENGINES).map(|_| VecDeque::new()).collect(),
            beats: Vec::new(),
            errors: Vec::new(),
            seq: 0,
            steps: 0,
            outputs: Vec::new(),
            staged: Staged::default(),
            banks: [None, None],
            active: 0,
            rec: None,
            tready: None,
            abi: Abi::Sume,
        };
        d.dp.reset(&d.inp);
        d.out = d.dp.eval(&d.inp);
        Ok(d)
    }

    /// The egress stream's `tready`, clock by clock (`None`, the default:
    /// always 1), as the model's [`nfbpf_vm::device::Device::set_tready`].
    pub fn set_tready(&mut self, tready: Option<Tready>) {
        self.tready = tready;
    }

    /// Steps so far (the model's cycle).
    pub fn cycle(&self) -> u64 {
        self.steps
    }

    /// Packets inside the device (queued, running, or waiting for the
    /// egress) and frames still waiting for their port.
    pub fn in_flight(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum::<usize>()
            + self.sending.iter().map(VecDeque::len).sum::<usize>()
            + self.waiting.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Egress frames that disagreed with their verdicts since the last call.
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Port `p` can start a frame now (no beat of an earlier frame in this
    /// clock, none waiting).
    pub fn port_free(&self, p: usize) -> bool {
        p < PORTS && self.inp.tvalid >> p & 1 == 0 && self.waiting[p].is_empty()
    }

    fn eval(&mut self) {
        self.out = self.dp.eval(&self.inp);
    }

    /// A frame arrives on `port`. Its first beat goes in now when the port is
    /// free; false when the data plane dropped it (no engine of the port had
    /// room, or larger than the window). When the port is still taking an
    /// earlier frame, this one waits for it (true; its fate shows in the
    /// counters).
    pub fn rx(&mut self, port: usize, frame: &[u8]) -> bool {
        if port >= PORTS {
            return false;
        }
        if !self.port_free(port) {
            self.waiting[port].push_back(frame.to_vec());
            return true;
        }
        self.start_frame(port, frame.to_vec())
    }

    fn set_beat(&mut self, p: usize, frame: &[u8], k: usize, last: bool) {
        let mut bytes = [0u8; WB];
        let lo = (k * WB).min(frame.len());
        let hi = (lo + WB).min(frame.len());
        bytes[..hi - lo].copy_from_slice(&frame[lo..hi]);
        for (l, limb) in self.inp.tdata[p].iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * l..8 * l + 8]);
            *limb = u64::from_le_bytes(b);
        }
        self.inp.tkeep[p] = if hi - lo == WB {
            u64::from(u32::MAX)
        } else {
            (1u64 << (hi - lo)) - 1
        };
        self.inp.tvalid |= 1 << p;
        if last {
            self.inp.tlast |= 1 << p;
        } else {
            self.inp.tlast &= !(1 << p);
        }
    }

    fn start_frame(&mut self, p: usize, frame: Vec<u8>) -> bool {
        let beats = frame.len().div_ceil(WB).max(1);
        self.inp.tuser[p] = frame.len().min(0xffff) as u64;
        self.set_beat(p, &frame, 0, beats == 1);
        self.eval();
        let acc = self.out.rx_acc >> p & 1 == 1;
        if acc {
            let e = self.out.rx_eng[p] as usize % DP_ENGINES;
            self.queues[e].push_back(Meta {
                seq: self.seq,
                in_port: p as u32,
                arrival: self.steps,
            });
            self.seq += 1;
        }
        if beats > 1 {
            self.streams[p] = Some(Stream {
                frame,
                next: 1,
                beats,
            });
        }
        acc
    }

    /// One clock of the whole data plane.
    pub fn step(&mut self) {
        self.dp.tick();
        let i = &mut self.inp;
        i.tvalid = 0;
        i.tlast = 0;
        i.awvalid = 0;
        i.wvalid = 0;
        i.arvalid = 0;
        for p in 0..PORTS {
            if let Some(s) = self.streams[p].take() {
                let k = s.next;
                let last = k + 1 == s.beats;
                self.set_beat(p, &s.frame, k, last);
                if !last {
                    self.streams[p] = Some(Stream { next: k + 1, ..s });
                }
            }
        }
        self.inp.m_tready = self.tready.as_ref().is_none_or(|f| f(self.steps)).into();
        self.eval();
        if self.out.m_tvalid == 1 && self.inp.m_tready == 1 {
            self.egress_beat();
        }
        if self.rec.is_some() {
            self.read_records();
        }
        let first = (self.steps % DP_ENGINES as u64) as usize;
        for k in 0..DP_ENGINES {
            let e = (first + k) % DP_ENGINES;
            if self.out.out_v >> e & 1 == 1 {
                self.verdict(e);
            }
        }
        self.steps += 1;
        for p in 0..PORTS {
            if self.inp.tvalid >> p & 1 == 0
                && let Some(f) = self.waiting[p].pop_front()
            {
                self.start_frame(p, f);
            }
        }
    }

    /// Engine `e` took its verdict in this clock.
    fn verdict(&mut self, e: usize) {
        let Some(meta) = self.queues[e].pop_front() else {
            return;
        };
        let port = self.out.out_port[e] as u32;
        let (dest, verdict) = match self.out.out_kind[e] {
            O_PORT => (Dest::Port(port), Verdict::Tx(port)),
            O_REDIR => (Dest::Port(port), Verdict::Redirect(port)),
            O_FLOOD => (Dest::Flood, Verdict::Flood),
            O_HOST => (Dest::Host, Verdict::Pass),
            _ => return,
        };
        self.sending[e].push_back(Sending {
            meta,
            dest,
            verdict,
            done: self.steps,
            bank: (self.out.out_bank >> e & 1) as u8,
        });
    }

    /// A beat on the egress stream (taken out of FIFO_MD in the clock
    /// before this one).
    fn egress_beat(&mut self) {
        for (l, limb) in self.out.m_tdata.iter().enumerate() {
            for (k, b) in limb.to_le_bytes().into_iter().enumerate() {
                if self.out.m_tkeep >> (8 * l + k) & 1 == 1 {
                    self.beats.push(b);
                }
            }
        }
        if self.out.m_tlast != 1 {
            return;
        }
        let frame = std::mem::take(&mut self.beats);
        let [lo, hi] = self.out.m_tuser;
        let len = (lo & 0xffff) as usize;
        let (src, dst) = ((lo >> 16) & 0xff, (lo >> 24) & 0xff);
        let e = ((lo >> 32) & 0xf) as usize;
        let bank = ((lo >> 36) & 1) as u8;
        let port = ((lo >> 40) | (hi << 24)) as u32;
        let Some(s) = self.sending.get_mut(e).and_then(VecDeque::pop_front) else {
            self.errors.push(format!(
                "clock {}: a frame on the egress stream from engine {e}, which has no \
                 packet waiting to be sent",
                self.steps
            ));
            return;
        };
        let in_port = s.meta.in_port;
        let (want_src, want_dst) = crate::sume::egress_bits(in_port, s.dest);
        let (want_src, want_dst) = (u64::from(want_src), u64::from(want_dst));
        let want_port = match s.dest {
            Dest::Port(q) => q,
            _ => port,
        };
        if (len, src, dst, bank, port) != (frame.len(), want_src, want_dst, s.bank, want_port) {
            self.errors.push(format!(
                "clock {}: egress frame of packet {} (engine {e}): tuser says length {len}, \
                 source {src:#04x}, destination {dst:#04x}, bank {bank}, port {port}; the \
                 stream carried {} bytes and the verdict wants source {want_src:#04x}, \
                 destination {want_dst:#04x}, bank {}, port {want_port}",
                self.steps,
                s.meta.seq,
                frame.len(),
                s.bank
            ));
        }
        self.outputs.push(Output {
            seq: s.meta.seq,
            engine: e,
            in_port,
            dest: s.dest,
            frame,
            arrival: s.meta.arrival,
            done: s.done,
            bank: s.bank,
            verdict: s.verdict,
            sent: self.steps - 1,
        });
    }

    /// Step until no packet is left inside (or `limit` clocks passed).
    pub fn drain(&mut self, limit: u64) -> u64 {
        let start = self.steps;
        while self.in_flight() > 0 && self.steps - start < limit {
            self.step();
        }
        self.steps - start
    }

    /// Take the packets that left the device so far.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// The host side's FLIP check (the model's): what was staged is a valid
    /// program for the bank.
    fn check_flip(&self) -> Result<(), BusError> {
        let n = self.staged.numinst as usize;
        if n == 0 || n > self.staged.insns.len() {
            return Err(BusError::Transport(format!(
                "FLIP: NUMINST is {n} but {} instruction slots were written",
                self.staged.insns.len()
            )));
        }
        let insns: Vec<Insn> = self.staged.insns[..n]
            .iter()
            .map(|&w| Insn::from_u64(w))
            .collect();
        let prog = Program::with_limits(insns, &self.limits()).map_err(|e| {
            BusError::Transport(format!(
                "FLIP: the program in the idle bank is invalid: {e}"
            ))
        })?;
        if self.abi == Abi::Xdp
            && let Some(why) = xdp_unsupported(prog.insns())
                .or_else(|| xdp_unsupported_maps(prog.insns(), &self.staged.maps.rows, |_| None))
        {
            return Err(BusError::Transport(format!("FLIP: {why}")));
        }
        Ok(())
    }

    /// What the model's FLIP check accepts in the ABI the device runs.
    fn limits(&self) -> nfbpf_vm::validate::Limits {
        let mut l = model::limits(self.abi);
        if self.abi == Abi::Xdp {
            l.helper_known = Some(nfbpf_vm::units::xdp_device_helper_known);
        }
        l
    }

    fn stage(&mut self, off: u32, v: u32) {
        match off {
            regs::NUMINST => self.staged.numinst = v,
            regs::WRINST => {
                self.staged.wrptr = v;
                if v == 0 {
                    self.staged.insns.clear();
                }
            }
            regs::HIINST => self.staged.hiinst = v,
            regs::FLIP if v & 1 == 1 => self.flipped(),
            regs::ABIMODE => self.abi = if v & 1 == 1 { Abi::Xdp } else { Abi::Sume },
            regs::LOINST => {
                let at = self.staged.wrptr as usize;
                if self.staged.insns.len() <= at {
                    self.staged.insns.resize(at + 1, 0);
                }
                self.staged.insns[at] = (u64::from(self.staged.hiinst) << 32) | u64::from(v);
                self.staged.wrptr += 1;
            }
            _ => {}
        }
    }

    /// The message of an error response, as the model words it.
    fn slverr(off: u32, v: u32, name: &str, access: Access) -> BusError {
        BusError::Transport(match off {
            _ if access == Access::Ro => format!("{name} ({off:#x}) is read-only"),
            regs::NUMINST => format!("NUMINST {v}: a bank holds {} slots", contract::IMEM_SLOTS),
            regs::LOINST => format!(
                "LOINST: the slot is past the bank's {} slots",
                contract::IMEM_SLOTS
            ),
            regs::FLIP => "FLIP: the idle bank still runs packets of the previous program \
                 (retry the write), or a LOINST came while it did (write the program again \
                 from WRINST 0)"
                .into(),
            regs::ABIMODE => {
                "ABIMODE: packets are in flight; change the ABI on an idle device".into()
            }
            regs::MAPLOAD => format!(
                "MAPLOAD {v:#x}: rows {}..{} are past the table's {} rows",
                v >> 8 & 0xff,
                (v >> 8 & 0xff) + (v & 0xff),
                contract::MAX_MAPS
            ),
            regs::MAXELEMSMAP => format!(
                "MAXELEMSMAP {v}: the map row was refused (a shape the model refuses, \
                 past the rows NUMMAP or MAPLOAD opened, or an ARRAY/DEVMAP row that \
                 does not fit the direct store's free words)"
            ),
            _ => format!("{name} ({off:#x}): the device refused the write"),
        })
    }
}

// ----------------------------------------------------------------------
// Debug records: each engine's retire records and cycle record of every
// clock, read from the data plane's dbg_* ports (the records of
// `vm::device::Device::step_recorded`). The instructions of the retire
// records come from the programs the host wrote (the banks as each FLIP
// made them); a fault is stated as the hardware knows it (`DeviceFault`).
// ----------------------------------------------------------------------

/// Record state: each engine's retire count in its packet, the records so
/// far.
#[derive(Debug, Default)]
struct Recorder {
    retired: [u64; DP_ENGINES],
    out: Vec<EngineClock>,
}

const FWD: [Fwd; 4] = [Fwd::None, Fwd::Reg, Fwd::ExMem, Fwd::MemWb];
const WIDTHS: [Width; 4] = [Width::B, Width::H, Width::W, Width::DW];
/// `dbg_fault_code_o` of a memory fault.
const F_MEM: u32 = 1;

impl RtlDevice {
    /// Record every engine's retire and cycle records from now on (or stop).
    pub fn record(&mut self, on: bool) {
        match (on, self.rec.is_some()) {
            (true, false) => self.rec = Some(Recorder::default()),
            (false, true) => self.rec = None,
            _ => {}
        }
    }

    /// Take the records made so far (clock by clock, engines in order).
    pub fn take_records(&mut self) -> Vec<EngineClock> {
        self.rec
            .as_mut()
            .map(|r| std::mem::take(&mut r.out))
            .unwrap_or_default()
    }

    /// Write a VCD of every RTL signal to `path` from the next clock on.
    pub fn trace(&mut self, path: &std::path::Path) -> Result<(), String> {
        self.dp.trace(path)
    }

    /// Flush the VCD written so far to its file.
    pub fn trace_flush(&mut self) {
        self.dp.trace_flush();
    }

    /// A FLIP the device took: the staged program is in the new active bank.
    fn flipped(&mut self) {
        let n = (self.staged.numinst as usize).min(self.staged.insns.len());
        let insns: Vec<Insn> = self.staged.insns[..n]
            .iter()
            .map(|&w| Insn::from_u64(w))
            .collect();
        self.active ^= 1;
        self.banks[self.active as usize] = Program::with_limits(insns, &self.limits()).ok();
    }

    /// The records of the clock just evaluated.
    fn read_records(&mut self) {
        let d = self.dp.dbg();
        let cycle = self.steps;
        let Some(r) = self.rec.as_mut() else {
            return;
        };
        for e in 0..DP_ENGINES {
            let bit = |m: u64| m >> e & 1 != 0;
            let bank = u8::from(bit(d.bank));
            let mut c = CycleRecord {
                cycle,
                engine: e as u8,
                stall: Stall::Idle,
                bank,
                ..CycleRecord::default()
            };
            if bit(d.running) {
                for (k, s) in c.stage.iter_mut().enumerate() {
                    *s = StageSlot {
                        valid: d.stage_v[e] >> k & 1 != 0,
                        pc: d.pc[e][k] as u32,
                        seq: d.seq[e][k] as u32,
                    };
                }
                c.stall = Stall::ALL
                    .get(d.stall[e] as usize)
                    .copied()
                    .unwrap_or(Stall::None);
                c.flush = bit(d.flush);
                c.fwd = [FWD[d.fwd_a[e] as usize & 3], FWD[d.fwd_b[e] as usize & 3]];
            }
            let mut retired = Vec::new();
            let mut fault = None;
            if bit(d.retire) {
                let pc = d.retire_pc[e] as u32;
                let prog = self.banks[bank as usize & 1].as_ref();
                let insns = prog.map_or(&[][..], |p| p.insns());
                let insn = insns.get(pc as usize).copied().unwrap_or_default();
                let mut rr = Retire {
                    order: r.retired[e],
                    cycle,
                    engine: e as u8,
                    pc,
                    insn,
                    insn_hi: None,
                    reg: None,
                    mem: None,
                    fault: None,
                };
                if bit(d.fault) {
                    let cause = d.fault_code[e] as u32;
                    let f = DeviceFault {
                        cause,
                        addr: if cause == F_MEM { d.mem_addr[e] } else { 0 },
                    };
                    rr.fault = Some(f.text());
                    fault = Some(f);
                } else {
                    let lddw = prog
                        .and_then(|p| p.decoded().get(pc as usize))
                        .is_some_and(|x| matches!(x.kind, Kind::Lddw) && x.row != u16::MAX);
                    if lddw {
                        rr.insn_hi = insns.get(pc as usize + 1).copied();
                    }
                    rr.reg = bit(d.reg_we).then_some((d.reg_idx[e] as u8, d.reg_val[e]));
                    rr.mem = bit(d.mem_v).then_some(MemAccess {
                        addr: d.mem_addr[e],
                        width: WIDTHS[d.mem_width[e] as usize & 3].bytes() as u8,
                        read: bit(d.mem_rd).then_some(d.mem_rdata[e]),
                        write: bit(d.mem_wr).then_some(d.mem_wdata[e]),
                    });
                    r.retired[e] += 1;
                }
                retired.push(rr);
            }
            if bit(d.done) {
                r.retired[e] = 0;
            }
            r.out.push(EngineClock {
                engine: e as u8,
                cycle: c,
                retired,
                fault,
            });
        }
    }
}

impl RegisterBus for RtlDevice {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        if regs::lookup(off).is_none() {
            return Err(BusError::Unmapped(off));
        }
        self.inp.araddr = u64::from(off & 0xfff);
        self.inp.arvalid = 1;
        self.eval();
        if self.out.arready != 1 {
            return Err(BusError::Transport(format!(
                "read of {off:#x}: the AXI4-Lite slave did not take the address"
            )));
        }
        // Address taken at this edge, read in the next clock, data after it.
        self.step();
        self.step();
        if self.out.rvalid != 1 {
            return Err(BusError::Transport(format!(
                "read of {off:#x}: no AXI4-Lite read response"
            )));
        }
        let (data, resp) = (self.out.rdata as u32, self.out.rresp);
        self.step();
        if resp == DECERR {
            return Err(BusError::Unmapped(off));
        }
        if resp == SLVERR {
            let name = regs::lookup(off).map_or("register", |(r, _)| r.name);
            return Err(BusError::Transport(format!(
                "{name} ({off:#x}): the device refused the read"
            )));
        }
        Ok(data)
    }

    /// The frame enters input `port` ([`RtlDevice::rx`]: its first beat in
    /// this clock, or after the frame the port is still taking); a frame no
    /// engine can take is counted in `PORTRXDROP`, as on the board.
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        if port >= PORTS {
            return Err(BusError::Transport(format!(
                "host queue {port}: the device has ports 0..{}",
                PORTS - 1
            )));
        }
        self.rx(port, frame);
        Ok(())
    }

    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        let (reg, _) = regs::lookup(off).ok_or(BusError::Unmapped(off))?;
        if off == regs::FLIP && v & 1 == 1 {
            self.check_flip()?;
        }
        self.inp.awaddr = u64::from(off & 0xfff);
        self.inp.wdata = u64::from(v);
        self.inp.awvalid = 1;
        self.inp.wvalid = 1;
        self.eval();
        if self.out.awready != 1 || self.out.wready != 1 {
            return Err(BusError::Transport(format!(
                "write of {off:#x}: the AXI4-Lite slave did not take it"
            )));
        }
        self.step();
        if self.out.bvalid != 1 {
            return Err(BusError::Transport(format!(
                "write of {off:#x}: no AXI4-Lite write response"
            )));
        }
        let resp = self.out.bresp;
        self.step();
        match resp {
            DECERR => Err(BusError::Unmapped(off)),
            SLVERR => Err(Self::slverr(off, v, reg.name, reg.access)),
            _ => {
                self.stage(off, v);
                self.staged.maps.write(off, v);
                Ok(())
            }
        }
    }
}

/// Why the RTL device cannot run an XDP program the model's FLIP check
/// takes (`None`: it can): a helper the RTL units do not run
/// ([`RTL_XDP_HELPERS`]). [`RtlDevice`]'s FLIP check refuses such a program
/// with this reason.
pub fn xdp_unsupported(insns: &[Insn]) -> Option<String> {
    let calls = insns
        .iter()
        .enumerate()
        .filter(|(_, i)| nfbpf_vm::build::is(i, Kind::Call))
        .map(|(pc, i)| (pc, i.imm as u32));
    let name = |id| nfbpf_vm::helpers::linux_name(id).unwrap_or("?");
    for (pc, id) in calls {
        if !RTL_XDP_HELPERS.contains(&id) {
            return Some(format!(
                "instruction {pc} calls helper {id} {}, which the RTL device does not run \
                 in the XDP ABI yet (it runs {}; docs/rtl-dataplane.md)",
                name(id),
                RTL_XDP_HELPERS
                    .iter()
                    .map(|&h| name(h))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    None
}

/// Why the RTL device cannot run an XDP program over the maps of `rows`
/// (the map table's rows, `None` for an empty one) though the model can
/// (`None`: it can). For every map the program names (an `lddw` of a map's
/// handle or of an address in its value area): its row has a window in the
/// units' value memory ([`contract::RTL_VALUE_ROWS`] rows of
/// [`contract::RTL_VALUE_ROW_BYTES`]) its value area fits; a HASH key is at
/// most the CAM's [`contract::RTL_CAM_KEY_BYTES`] and an LPM_TRIE key one
/// helper-port word ([`contract::RTL_HELPER_PORT_BYTES`], the TCAM's entry
/// width); and if the program calls `bpf_map_update_elem`, the map's value
/// is at most the units' update latch ([`contract::RTL_UPDATE_VALUE_BYTES`]).
///
/// `name` gives a row's map name where the caller knows it (the loader's
/// image; the device's registers carry none).
pub fn xdp_unsupported_maps(
    insns: &[Insn],
    rows: &[Option<MapShape>],
    name: impl Fn(usize) -> Option<String>,
) -> Option<String> {
    use nfbpf_vm::maps::MapType;
    let updates = insns.iter().any(|i| {
        nfbpf_vm::build::is(i, Kind::Call) && i.imm as u32 == contract::HELPER_MAP_UPDATE_ELEM
    });
    let mut named = std::collections::BTreeSet::new();
    for (pc, w) in insns.windows(2).enumerate() {
        if !nfbpf_vm::build::is(&w[0], Kind::Lddw) {
            continue;
        }
        let v = u64::from(w[0].imm as u32) | (u64::from(w[1].imm as u32) << 32);
        let off = v.wrapping_sub(contract::MAP_BASE);
        if off < contract::MAX_MAPS as u64 * contract::MAP_STRIDE {
            named.insert(((off / contract::MAP_STRIDE) as usize, pc));
        }
    }
    let port = contract::RTL_HELPER_PORT_BYTES as u32;
    for (row, pc) in named {
        let Some(Some(m)) = rows.get(row) else {
            continue;
        };
        let kind = MapType::from_code(m.kind);
        let area = u64::from(m.max_entries) * u64::from(m.value_size);
        let why = if row >= contract::RTL_VALUE_ROWS {
            format!(
                "its values need a window of the units' value memory, which has rows 0..{} \
                 (contract::RTL_VALUE_ROWS)",
                contract::RTL_VALUE_ROWS
            )
        } else if area > contract::RTL_VALUE_ROW_BYTES {
            format!(
                "its values take {area} bytes ({} entries of {} bytes), more than a row's \
                 {}-byte window of the units' value memory",
                m.max_entries,
                m.value_size,
                contract::RTL_VALUE_ROW_BYTES
            )
        } else if kind == Some(MapType::Hash) && m.key_size as usize > contract::RTL_CAM_KEY_BYTES {
            format!(
                "its {}-byte key is wider than the map coprocessor's {}-byte CAM entries \
                 (contract::RTL_CAM_KEY_BYTES)",
                m.key_size,
                contract::RTL_CAM_KEY_BYTES
            )
        } else if kind == Some(MapType::LpmTrie) && m.key_size > port {
            format!(
                "its {}-byte key is wider than the map coprocessor's {port}-byte TCAM entries \
                 (a 4-byte prefix length and 4 data bytes)",
                m.key_size
            )
        } else if updates && m.value_size as usize > contract::RTL_UPDATE_VALUE_BYTES {
            format!(
                "the program calls bpf_map_update_elem and the map's {}-byte value is wider \
                 than the units' {}-byte update latch (contract::RTL_UPDATE_VALUE_BYTES; a \
                 program that writes such values through the pointer a lookup returns runs)",
                m.value_size,
                contract::RTL_UPDATE_VALUE_BYTES
            )
        } else {
            continue;
        };
        let called = name(row).map_or(String::new(), |n| format!("map {n:?}, "));
        return Some(format!(
            "instruction {pc} names {called}map row {row} ({}, {}-byte key, {}-byte value, {} \
             entries), which the RTL device cannot hold for XDP: {why} (docs/rtl-dataplane.md)",
            kind.map_or("unknown type", MapType::name),
            m.key_size,
            m.value_size,
            m.max_entries
        ));
    }
    None
}

/// Every engine's and port's counters read through the register bus (the
/// same accesses on any device: ENGSELECT / PORTSELECT then the windows).
pub fn read_counters<B: RegisterBus>(
    bus: &mut B,
    engines: usize,
) -> Result<(Vec<EngineCounters>, Vec<PortCounters>), BusError> {
    let mut es = Vec::new();
    for e in 0..engines {
        bus.write32(regs::ENGSELECT, e as u32)?;
        let hi = bus.read32(regs::ENG_R0 + 8 * e as u32)?;
        let lo = bus.read32(regs::ENG_R0 + 8 * e as u32 + 4)?;
        es.push(EngineCounters {
            pkt_in: u64::from(bus.read32(regs::ENGPKTIN)?),
            pkt_out: u64::from(bus.read32(regs::ENGPKTOUT)?),
            dropped: u64::from(bus.read32(regs::ENGDROP)?),
            faults: u64::from(bus.read32(regs::ENGFAULTS)?),
            busy: u64::from(bus.read32(regs::ENGBUSY)?),
            stalled: u64::from(bus.read32(regs::ENGSTALL)?),
            last_r0: (u64::from(hi) << 32) | u64::from(lo),
            fault_pc: bus.read32(regs::ENGFAULTPC)?,
            fault_addr: bus.read32(regs::ENGFAULTADDR)?,
            fault_cause: bus.read32(regs::ENGFAULTCAUSE)?,
            map_wait: u64::from(bus.read32(regs::ENGMAPWAIT)?),
        });
    }
    let mut ps = Vec::new();
    for p in 0..PORTS {
        bus.write32(regs::PORTSELECT, p as u32)?;
        ps.push(PortCounters {
            rx: u64::from(bus.read32(regs::PORTRX)?),
            rx_dropped: u64::from(bus.read32(regs::PORTRXDROP)?),
            tx: u64::from(bus.read32(regs::PORTTX)?),
        });
    }
    Ok((es, ps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfbpf_vm::build::{call, exit, lddw, mov64_imm};

    /// A program naming map row 0 and, with `update`, calling
    /// `bpf_map_update_elem` on it.
    fn naming_row0(update: bool) -> Vec<Insn> {
        let mut p = lddw(1, contract::map_handle(0)).to_vec();
        p.push(if update {
            call(contract::HELPER_MAP_UPDATE_ELEM as i32)
        } else {
            call(contract::HELPER_MAP_LOOKUP_ELEM as i32)
        });
        p.extend([mov64_imm(0, 2), exit()]);
        p
    }

    fn array(value_size: u32) -> Vec<Option<MapShape>> {
        vec![Some(MapShape {
            kind: nfbpf_vm::maps::MapType::Array.code(),
            key_size: 4,
            value_size,
            max_entries: 4,
        })]
    }

    #[test]
    fn updates_of_values_up_to_the_latch_are_held_and_wider_ones_refused() {
        let latch = contract::RTL_UPDATE_VALUE_BYTES as u32;
        for size in [8, 16, 20, latch] {
            assert_eq!(
                xdp_unsupported_maps(&naming_row0(true), &array(size), |_| None),
                None
            );
        }
        let why = xdp_unsupported_maps(&naming_row0(true), &array(latch + 8), |_| {
            Some("stats".into())
        })
        .expect("a 72-byte value updated by the program is refused");
        assert!(
            why.contains("map \"stats\"")
                && why.contains("72-byte value")
                && why.contains("RTL_UPDATE_VALUE_BYTES"),
            "{why}"
        );
        // Only reached through the pointer a lookup returns: held.
        assert_eq!(
            xdp_unsupported_maps(&naming_row0(false), &array(latch + 8), |_| None),
            None
        );
    }
}
