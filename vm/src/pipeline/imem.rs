//! Double-buffered instruction memory (two banks).
//!
//! The host writes a program into the *idle* bank while the engines read the
//! *active* one. A swap request flips which bank is active (`CURRINSTMEM`);
//! an engine latches the active bank index when it starts a packet
//! ([`InstrMem::begin_packet`]) and reads only that bank until the packet's
//! verdict ([`InstrMem::end_packet`]), so no packet ever runs partly on the old
//! program and partly on the new one. A bank that still has a packet running
//! on it is not writable ([`BankBusy`]); the host retries, as the hardware's
//! write FSM waits.
//!
//! A bank also holds its program's instruction budget per packet
//! ([`Bank::budget`], the `BUDGET` register as the FLIP found it), so a
//! packet runs under the budget of the bank it latched: a swap changes the
//! program and its budget together, at each engine's next packet boundary.

use super::decode::PipeDecoded;
use crate::program::Program;
use std::sync::Arc;

/// One bank: a validated program, its pipeline pre-decode and its budget.
#[derive(Debug, Clone)]
pub struct Bank {
    pub prog: Arc<Program>,
    pub(crate) pre: Arc<[PipeDecoded]>,
    /// Instruction budget per packet of this program; 0: the engine's
    /// configured budget ([`super::Config::budget`]).
    pub budget: u32,
}

impl Bank {
    /// A bank running under the engine's configured budget.
    pub fn new(prog: Arc<Program>) -> Self {
        Self::with_budget(prog, 0)
    }

    /// A bank whose packets run under `budget` instructions (0: the
    /// engine's configured budget).
    pub fn with_budget(prog: Arc<Program>, budget: u32) -> Self {
        let pre = PipeDecoded::table(&prog).into();
        Bank { prog, pre, budget }
    }

    /// The budget a packet on this bank runs under, `default` being the
    /// engine's configured one.
    pub fn budget_or(&self, default: u64) -> u64 {
        if self.budget == 0 {
            default
        } else {
            u64::from(self.budget)
        }
    }
}

/// Writing the idle bank failed: an engine still runs a packet on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("instruction bank {bank} is busy: {users} packet(s) still run on it")]
pub struct BankBusy {
    pub bank: u8,
    pub users: u32,
}

/// Two instruction banks shared by the engines of a data plane.
#[derive(Debug, Clone, Default)]
pub struct InstrMem {
    banks: [Option<Bank>; 2],
    active: u8,
    users: [u32; 2],
}

impl InstrMem {
    /// Empty memory; bank 0 active.
    pub fn new() -> Self {
        Self::default()
    }

    /// Memory with `prog` in bank 0, active.
    pub fn with_program(prog: Arc<Program>) -> Self {
        InstrMem {
            banks: [Some(Bank::new(prog)), None],
            active: 0,
            users: [0, 0],
        }
    }

    /// The active bank (`CURRINSTMEM`): the one the next packet will latch.
    pub fn active(&self) -> u8 {
        self.active
    }

    pub fn idle(&self) -> u8 {
        self.active ^ 1
    }

    /// Program in bank `b`.
    pub fn bank(&self, b: u8) -> Option<&Bank> {
        self.banks[(b & 1) as usize].as_ref()
    }

    /// Packets currently running on bank `b`.
    pub fn users(&self, b: u8) -> u32 {
        self.users[(b & 1) as usize]
    }

    /// Write `prog` into the idle bank, to run under the engine's
    /// configured budget.
    pub fn write_idle(&mut self, prog: Arc<Program>) -> Result<(), BankBusy> {
        self.write_idle_budget(prog, 0)
    }

    /// Write `prog` and its instruction budget per packet (0: the engine's
    /// configured budget) into the idle bank.
    pub fn write_idle_budget(&mut self, prog: Arc<Program>, budget: u32) -> Result<(), BankBusy> {
        let b = self.idle();
        if self.users(b) > 0 {
            return Err(BankBusy {
                bank: b,
                users: self.users(b),
            });
        }
        self.banks[b as usize] = Some(Bank::with_budget(prog, budget));
        Ok(())
    }

    /// Make the idle bank active. Packets already running keep their bank;
    /// every engine picks the new bank up at its next packet boundary.
    pub fn swap(&mut self) {
        self.active ^= 1;
    }

    /// An engine starts a packet: latch the active bank. `None` when the
    /// active bank holds no program.
    pub fn begin_packet(&mut self) -> Option<u8> {
        let b = self.active;
        self.banks[b as usize].as_ref()?;
        self.users[b as usize] += 1;
        Some(b)
    }

    /// The packet that latched bank `b` has its verdict.
    pub fn end_packet(&mut self, b: u8) {
        let u = &mut self.users[(b & 1) as usize];
        *u = u.saturating_sub(1);
    }
}
