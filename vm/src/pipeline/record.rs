//! Cycle records: what every stage holds in one clock, why the pipeline
//! stalled, whether it flushed, where EX's operands came from, and which
//! instruction bank the engine reads. The text form is one tab-separated line
//! per cycle (`cycle engine IF ID EX MEM WB stall flush fwd_a fwd_b bank`,
//! a stage is `pc` or `-`), so two cycle traces compare with `diff`.

use crate::interp::FaultKind;
use crate::trace::{DeviceFault, Retire};
use std::fmt::Write as _;

/// Why the pipeline did not advance an instruction in some stage this cycle.
/// Exactly one cause (the most downstream one) is reported per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Stall {
    /// Every stage that holds an instruction advanced.
    #[default]
    None,
    /// MEM: a load, store or atomic touches a FIFO_MD word that has not
    /// arrived (or a helper call waits for the whole packet).
    FifoWait,
    /// MEM: the read-modify-write of an atomic holds the port.
    Atomic,
    /// MEM: waiting for a helper unit's answer.
    Helper,
    /// EX: the multiplier is busy.
    Mul,
    /// EX: the divider is busy.
    Div,
    /// ID: the instruction reads a register a load (or any MEM-made result)
    /// right ahead of it has not produced yet; one bubble goes into EX.
    LoadUse,
    /// Fetch stopped after `exit` or a fault: the pipeline drains.
    Drain,
    /// No packet: the engine waits for the first FIFO_MD word.
    Idle,
}

impl Stall {
    pub const ALL: [Stall; 9] = [
        Stall::None,
        Stall::FifoWait,
        Stall::Atomic,
        Stall::Helper,
        Stall::Mul,
        Stall::Div,
        Stall::LoadUse,
        Stall::Drain,
        Stall::Idle,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub const fn name(self) -> &'static str {
        match self {
            Stall::None => "-",
            Stall::FifoWait => "fifo_wait",
            Stall::Atomic => "atomic",
            Stall::Helper => "helper",
            Stall::Mul => "mul",
            Stall::Div => "div",
            Stall::LoadUse => "load_use",
            Stall::Drain => "drain",
            Stall::Idle => "idle",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The stall causes raised in one clock, one bit per [`Stall`] (bit `i` is
/// `Stall::ALL[i]`; `None` has no bit), each set by the stage where it
/// arises: MEM (`FifoWait`, `Atomic`, `Helper`), EX (`Mul`, `Div`), ID
/// (`LoadUse`), the pipeline (`Drain`, `Idle`); IF never stalls on its own
/// (an `lddw` is fetched in one clock, both its slots at once).
/// [`StallCauses::encode`] is the one priority encoder: the reported cause
/// is the lowest-numbered one raised, so the order of [`Stall`] is the
/// priority, the most downstream stage first (a stalled stage freezes the
/// stages behind it). The RTL's `ebpf_stall_enc` is the same encoder over
/// the same bits (`docs/pipeline.md`, "Stall causes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StallCauses(u16);

impl StallCauses {
    /// Raise `cause` (raising `Stall::None` does nothing).
    #[inline(always)]
    pub fn raise(&mut self, cause: Stall) {
        self.0 |= (1u16 << cause.index()) & !1;
    }

    #[inline(always)]
    pub const fn raised(self, cause: Stall) -> bool {
        self.0 & (1u16 << cause.index()) != 0
    }

    /// The raw bits (bit `i` for `Stall::ALL[i]`), as the RTL's cause vector.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The reported cause: the highest-priority (lowest-numbered) cause
    /// raised, or `Stall::None`.
    #[inline(always)]
    pub fn encode(self) -> Stall {
        Stall::ALL[self.index()]
    }

    /// [`StallCauses::encode`]'s `Stall::index`, without a branch: the
    /// lowest bit raised, 0 (`None`) when none is.
    #[inline(always)]
    pub const fn index(self) -> usize {
        // trailing_zeros of 0 is 16, which the mask makes 0.
        (self.0.trailing_zeros() & 15) as usize
    }
}

/// Source of an EX operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fwd {
    /// Not used this cycle.
    #[default]
    None,
    /// Register file.
    Reg,
    /// Forwarded from the EX/MEM pipeline register.
    ExMem,
    /// Forwarded from the MEM/WB pipeline register.
    MemWb,
}

impl Fwd {
    pub const fn name(self) -> &'static str {
        match self {
            Fwd::None => "-",
            Fwd::Reg => "rf",
            Fwd::ExMem => "exmem",
            Fwd::MemWb => "memwb",
        }
    }
}

/// What one stage holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageSlot {
    pub valid: bool,
    pub pc: u32,
    /// Fetch sequence number within the packet (tells repeated pcs apart).
    pub seq: u32,
}

/// Stage indices into [`CycleRecord::stage`].
pub const IF: usize = 0;
pub const ID: usize = 1;
pub const EX: usize = 2;
pub const MEM: usize = 3;
pub const WB: usize = 4;
pub const STAGE_NAMES: [&str; 5] = ["IF", "ID", "EX", "MEM", "WB"];

/// One clock of one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CycleRecord {
    pub cycle: u64,
    pub engine: u8,
    /// Contents of IF, ID, EX, MEM, WB during this cycle.
    pub stage: [StageSlot; 5],
    pub stall: Stall,
    /// IF and ID were discarded (taken control transfer, exit, fault).
    pub flush: bool,
    /// Sources of EX's first (dst) and second (src) register operands.
    pub fwd: [Fwd; 2],
    /// Instruction bank the engine reads.
    pub bank: u8,
}

impl CycleRecord {
    /// Header line of the text format.
    pub const HEADER: &'static str =
        "cycle\tengine\tIF\tID\tEX\tMEM\tWB\tstall\tflush\tfwd_a\tfwd_b\tbank";

    /// The record as one line of the text format.
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(64);
        let _ = write!(s, "{}\t{}", self.cycle, self.engine);
        for st in &self.stage {
            if st.valid {
                let _ = write!(s, "\t{}", st.pc);
            } else {
                s.push_str("\t-");
            }
        }
        let _ = write!(
            s,
            "\t{}\t{}\t{}\t{}\t{}",
            self.stall.name(),
            if self.flush { "flush" } else { "-" },
            self.fwd[0].name(),
            self.fwd[1].name(),
            self.bank
        );
        s
    }

    /// The record as co-simulation compares it: the pc and seq of empty
    /// stages (stale values in the RTL's registers) cleared.
    pub fn cleared_empty_stages(mut self) -> Self {
        for s in self.stage.iter_mut().filter(|s| !s.valid) {
            s.pc = 0;
            s.seq = 0;
        }
        self
    }
}

/// Receives one record per cycle. `ENABLED = false` compiles it away.
pub trait CycleTracer {
    const ENABLED: bool;
    fn cycle(&mut self, r: &CycleRecord);
}

/// No cycle tracing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCycles;

impl CycleTracer for NoCycles {
    const ENABLED: bool = false;
    #[inline(always)]
    fn cycle(&mut self, _: &CycleRecord) {}
}

/// Collects cycle records in memory.
#[derive(Debug, Default, Clone)]
pub struct CollectCycles(pub Vec<CycleRecord>);

impl CycleTracer for CollectCycles {
    const ENABLED: bool = true;
    fn cycle(&mut self, r: &CycleRecord) {
        self.0.push(*r);
    }
}

/// One engine's records of one clock of a data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineClock {
    pub engine: u8,
    pub cycle: CycleRecord,
    /// The instructions the engine retired in this clock, in order.
    pub retired: Vec<Retire>,
    /// The packet ended in this clock with this fault (the last retire
    /// record is the faulting instruction's).
    pub fault: Option<DeviceFault>,
}

/// Receives a data plane's records clock by clock, engine by engine
/// ([`crate::device::Device::step_recorded`]). `ENABLED = false` compiles
/// recording away.
pub trait DeviceRecords {
    const ENABLED: bool;
    /// Engine `engine`'s records of one clock: its retire records and its
    /// cycle record; `fault` when its packet ended with a fault in it.
    fn engine_clock(
        &mut self,
        engine: usize,
        retired: Vec<Retire>,
        cycles: &[CycleRecord],
        fault: Option<&FaultKind>,
    );
}

/// No device records.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRecords;

impl DeviceRecords for NoRecords {
    const ENABLED: bool = false;
    #[inline(always)]
    fn engine_clock(&mut self, _: usize, _: Vec<Retire>, _: &[CycleRecord], _: Option<&FaultKind>) {
    }
}

/// Collects a data plane's records in memory.
#[derive(Debug, Default, Clone)]
pub struct CollectDevice(pub Vec<EngineClock>);

impl DeviceRecords for CollectDevice {
    const ENABLED: bool = true;
    fn engine_clock(
        &mut self,
        engine: usize,
        retired: Vec<Retire>,
        cycles: &[CycleRecord],
        fault: Option<&FaultKind>,
    ) {
        // An engine makes exactly one cycle record per clock.
        let cycle = cycles.last().copied().unwrap_or(CycleRecord {
            engine: engine as u8,
            ..CycleRecord::default()
        });
        self.0.push(EngineClock {
            engine: engine as u8,
            cycle,
            retired,
            fault: fault.map(DeviceFault::of),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Stall, StallCauses};

    /// The encoder reports the lowest-numbered cause raised, for every set
    /// of causes: `Stall`'s order is the priority.
    #[test]
    fn the_encoder_reports_the_lowest_numbered_cause() {
        assert_eq!(StallCauses::default().encode(), Stall::None);
        for bits in 0u16..1 << Stall::COUNT {
            let mut c = StallCauses::default();
            for s in Stall::ALL {
                if bits & (1 << s.index()) != 0 {
                    c.raise(s);
                }
            }
            let want = Stall::ALL[1..]
                .iter()
                .copied()
                .find(|s| c.raised(*s))
                .unwrap_or(Stall::None);
            assert_eq!(c.encode(), want, "causes {bits:#012b}");
            assert_eq!(c.bits() & 1, 0, "Stall::None has no bit");
        }
    }
}
