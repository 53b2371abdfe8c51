//! The scheduler: runs queued invocations on the device one at a time, each
//! for its run time, swapping programs through the register interface.
//!
//! - The queue is FIFO (invocation ids) and lives in the [`Store`]; so does
//!   the running invocation, with its elapsed time checkpointed every
//!   [`CHECKPOINT`] of wall time. After a restart (even a kill -9) the
//!   interrupted invocation is loaded again first and runs for the rest of
//!   its time, then the queue goes on.
//! - While a function runs, the queue's head is written into the idle
//!   instruction bank and read back (`loader::device::stage`) ahead of its
//!   start, and its maps and rules into the half of the map table
//!   ([`HALF`] rows) the running function does not use (`MAPLOAD`,
//!   `loader::device::load_rows`). At the deadline the scheduler only
//!   `FLIP`s: each engine takes the new bank at its next packet boundary,
//!   so no packet is lost and the outgoing function's last packets keep
//!   their rows. The old half is emptied once every engine has finished the
//!   packets it had taken by the `FLIP`. A device without `MAPLOAD` gets
//!   the whole map table written at the swap instead.
//! - With an empty queue at the deadline the run ends (it joins the
//!   timeline) and its program stays in the instruction memory, forwarding,
//!   until the next invocation is swapped in: the device always runs
//!   something once loaded.
//! - The clock: schedule seconds are device seconds (the cycle counter
//!   `CYCLELO`/`CYCLEHI` over `contract::CLOCK_HZ`) divided by the time
//!   scale. A target whose cycle counter cannot be read, or does not move,
//!   is scheduled on the wall clock (also divided by the time scale). The
//!   model simulates a few million clocks per wall second, so at scale 1 a
//!   5 s run would take minutes of wall time; `--time-scale 0.001` makes a
//!   schedule second one device millisecond.
//! - Each run's packet counters (sums over engines and ports of the
//!   per-engine `ENGPKTIN/OUT/DROP/FAULTS` and per-port `PORTRX/RXDROP/TX`
//!   registers, wrapping 32-bit differences) are read at its swap-in and
//!   swap-out and kept in the timeline.

use crate::limits::Limits;
use crate::registry::{Rule, Toolchain};
use crate::store::{Store, StoreError};
use nfbpf_loader::Image;
use nfbpf_loader::device::{self as program, ProgramError};
use nfbpf_sim::host::SharedBus;
use nfbpf_vm::device::PORTS;
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wall time between checkpoints of the running invocation's elapsed time.
pub const CHECKPOINT: Duration = Duration::from_millis(100);
/// Wall time between scheduler ticks.
pub const TICK: Duration = Duration::from_millis(2);
/// Attempts at swapping an invocation in before it is dropped as failed.
const ATTEMPTS: u32 = 3;
/// Timeline entries in `GET /status`.
pub const TIMELINE: usize = 50;
/// Queue entries shown in `GET /status` (`GET /queue` has all).
pub const QUEUE_SHOWN: usize = 20;

/// A queued invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    pub id: u64,
    pub function: String,
    /// Seconds of schedule time.
    pub run_time: u32,
    pub submitted_ms: u64,
    /// The client that queued it (empty in records from before owners).
    #[serde(default)]
    pub owner: String,
}

/// The running invocation as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Running {
    pub invocation: Invocation,
    /// Version of the function that was loaded.
    pub version: u64,
    /// Schedule seconds run so far (checkpointed).
    pub elapsed_s: f64,
    pub started_ms: u64,
    /// How many times it was loaded again after a restart.
    pub resumed: u32,
}

/// Packet counters over all engines and ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub pkt_in: u64,
    pub pkt_out: u64,
    pub dropped: u64,
    pub faults: u64,
    pub rx: u64,
    pub rx_dropped: u64,
    pub tx: u64,
}

/// One past run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: u64,
    pub function: String,
    pub version: u64,
    pub run_time: u32,
    /// `completed`, `cancelled` or `failed: REASON`.
    pub outcome: String,
    pub started_ms: u64,
    pub ended_ms: u64,
    /// Schedule seconds of this agent process's clock.
    pub start_s: f64,
    pub deadline_s: f64,
    pub end_s: f64,
    /// How long before its swap-in the program was written into the idle
    /// bank (None: written at the swap).
    pub staged_ahead_s: Option<f64>,
    pub resumed: u32,
    /// Device cycle at swap-in and swap-out (device clock only).
    pub start_cycle: Option<u64>,
    pub end_cycle: Option<u64>,
    pub counters: Counters,
    /// Map-table rows `[first, count]` of the function when its maps and
    /// rules were written beside the outgoing function's ahead of the swap
    /// (None: written at the swap, or no maps).
    #[serde(default)]
    pub map_rows_ahead: Option<[usize; 2]>,
}

/// What drives the schedule's seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockSource {
    DeviceCycles,
    Wall,
}

struct Clock {
    source: ClockSource,
    scale: f64,
    origin: Instant,
    origin_cycle: u64,
    last_cycle: u64,
}

fn cycle(bus: &mut dyn RegisterBus) -> Result<u64, BusError> {
    // CYCLELO latches CYCLEHI.
    let lo = bus.read32(regs::CYCLELO)?;
    let hi = bus.read32(regs::CYCLEHI)?;
    Ok((u64::from(hi) << 32) | u64::from(lo))
}

impl Clock {
    /// The device clock when the cycle counter reads and moves within
    /// `probe`, else the wall clock (or the one `force`d).
    fn detect(
        bus: &mut dyn RegisterBus,
        scale: f64,
        force: Option<ClockSource>,
        probe: Duration,
    ) -> Clock {
        let source = match force {
            Some(s) => s,
            None => {
                let a = cycle(bus);
                std::thread::sleep(probe);
                let b = cycle(bus);
                match (a, b) {
                    (Ok(a), Ok(b)) if b > a => ClockSource::DeviceCycles,
                    _ => ClockSource::Wall,
                }
            }
        };
        let c = cycle(bus).unwrap_or(0);
        Clock {
            source,
            scale,
            origin: Instant::now(),
            origin_cycle: c,
            last_cycle: c,
        }
    }

    /// Schedule seconds since the agent started, and the device cycle.
    fn now(&mut self, bus: &mut dyn RegisterBus) -> Result<(f64, Option<u64>), BusError> {
        match self.source {
            ClockSource::Wall => Ok((self.origin.elapsed().as_secs_f64() / self.scale, None)),
            ClockSource::DeviceCycles => {
                let c = cycle(bus)?.max(self.last_cycle);
                self.last_cycle = c;
                let secs = (c - self.origin_cycle) as f64 / nfbpf_vm::contract::CLOCK_HZ as f64;
                Ok((secs / self.scale, Some(c)))
            }
        }
    }
}

/// The swap: FLIP alone when `st`'s maps and rules were loaded ahead;
/// otherwise its map table and rules first (a program without maps leaves
/// the map table as it is: rewriting it would take the maps away from
/// packets of the outgoing program still in the engines). Returns each
/// engine's `ENGPKTIN` right after the FLIP.
fn swap_registers(
    bus: &mut dyn RegisterBus,
    st: &Staged,
    engines: u32,
) -> Result<Vec<u32>, String> {
    let cfg = |e: ProgramError| format!("swapping in {}: {e}", st.function);
    if !st.maps_ahead {
        if !st.image.maps.is_empty() {
            program::configure(bus, &st.image).map_err(cfg)?;
        }
        write_rules(bus, &st.image, &st.rules)
            .map_err(|e| format!("swapping in {}: {e}", st.function))?;
    }
    program::flip(bus).map_err(cfg)?;
    let mut taken = Vec::new();
    for e in 0..engines {
        bus.write32(regs::ENGSELECT, e).map_err(|e| e.to_string())?;
        taken.push(bus.read32(regs::ENGPKTIN).map_err(|e| e.to_string())?);
    }
    Ok(taken)
}

/// The rules of a function into its maps (at the image's rows).
fn write_rules(bus: &mut dyn RegisterBus, image: &Image, rules: &[Rule]) -> Result<(), String> {
    for r in rules {
        let (i, m) = image
            .maps
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == r.map)
            .ok_or_else(|| format!("rule for unknown map `{}`", r.map))?;
        program::update_entry(bus, image.map_row(i), m.kind, &r.key, &r.value)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Every engine has finished the packets it had taken by the FLIP (those
/// ran the outgoing program; later ones run the new bank).
fn drained(bus: &mut dyn RegisterBus, taken: &[u32]) -> Result<bool, BusError> {
    for (e, &t) in taken.iter().enumerate() {
        bus.write32(regs::ENGSELECT, e as u32)?;
        let done = bus
            .read32(regs::ENGPKTOUT)?
            .wrapping_add(bus.read32(regs::ENGDROP)?)
            .wrapping_add(bus.read32(regs::ENGFAULTS)?);
        if (done.wrapping_sub(t) as i32) < 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Raw counter registers.
#[derive(Debug, Clone, Default)]
struct Snap {
    engines: Vec<[u32; 4]>,
    ports: [[u32; 3]; PORTS],
}

fn snapshot(bus: &mut dyn RegisterBus, engines: u32) -> Result<Snap, BusError> {
    let mut s = Snap::default();
    for e in 0..engines {
        bus.write32(regs::ENGSELECT, e)?;
        s.engines.push([
            bus.read32(regs::ENGPKTIN)?,
            bus.read32(regs::ENGPKTOUT)?,
            bus.read32(regs::ENGDROP)?,
            bus.read32(regs::ENGFAULTS)?,
        ]);
    }
    for (p, row) in s.ports.iter_mut().enumerate() {
        bus.write32(regs::PORTSELECT, p as u32)?;
        *row = [
            bus.read32(regs::PORTRX)?,
            bus.read32(regs::PORTRXDROP)?,
            bus.read32(regs::PORTTX)?,
        ];
    }
    Ok(s)
}

impl Snap {
    /// Counts from `self` to `later` (32-bit counters, wrapping).
    fn delta(&self, later: &Snap) -> Counters {
        let d = |a: u32, b: u32| u64::from(b.wrapping_sub(a));
        let mut c = Counters::default();
        for (a, b) in self.engines.iter().zip(&later.engines) {
            c.pkt_in += d(a[0], b[0]);
            c.pkt_out += d(a[1], b[1]);
            c.dropped += d(a[2], b[2]);
            c.faults += d(a[3], b[3]);
        }
        for (a, b) in self.ports.iter().zip(&later.ports) {
            c.rx += d(a[0], b[0]);
            c.rx_dropped += d(a[1], b[1]);
            c.tx += d(a[2], b[2]);
        }
        c
    }
}

struct Active {
    run: Running,
    /// Elapsed seconds at this swap-in (non-zero after a restart).
    base_elapsed: f64,
    start_s: f64,
    deadline_s: f64,
    start_cycle: Option<u64>,
    snap: Snap,
    staged_ahead_s: Option<f64>,
    map_rows_ahead: Option<[usize; 2]>,
}

struct Staged {
    id: u64,
    function: String,
    version: u64,
    image: Image,
    rules: Vec<Rule>,
    at_s: f64,
    /// Its maps and rules are in the map table already (at
    /// `image.map_base`), beside the running function's.
    maps_ahead: bool,
}

/// Half of the map table: a function's maps go to rows `0..HALF` or
/// `HALF..MAX_MAPS`, the other half from the running function's.
const HALF: usize = nfbpf_vm::contract::MAX_MAPS / 2;

/// Rows of the outgoing function, emptied once every engine has finished
/// the packets it had taken at the swap.
struct Clear {
    base: usize,
    /// Per engine: `ENGPKTIN` read right after the FLIP.
    taken: Vec<u32>,
}

struct Inner {
    bus: Box<dyn RegisterBus + Send>,
    clock: Clock,
    engines: u32,
    active: Option<Active>,
    staged: Option<Staged>,
    /// Interrupted by a restart: runs before the queue.
    resume: Option<Running>,
    /// Function in the active bank (also after its run ended).
    loaded: Option<String>,
    /// Map-table rows `(first, count)` of the loaded function.
    rows: Option<(usize, usize)>,
    /// The device loads rows beside others (`MAPLOAD`); false after it
    /// refused, then maps are written at the swap.
    rows_ok: bool,
    clear: Option<Clear>,
    cancel: bool,
    failures: u32,
    last_error: Option<String>,
    last_checkpoint: Instant,
}

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Schedule seconds = clock seconds / `time_scale`.
    pub time_scale: f64,
    /// Force a clock (default: detect).
    pub clock: Option<ClockSource>,
    /// Name of the target, for status.
    pub target: String,
    /// The bounds on clients (caps on functions and the queue, the
    /// timeline's length, page sizes).
    pub limits: Limits,
}

/// The scheduler; `tick` is called by its thread, the rest by the API.
pub struct Scheduler {
    inner: Mutex<Inner>,
    store: Arc<Store>,
    tools: Toolchain,
    cfg: Config,
    /// The embedded model, for the exact conservation check in status.
    model: Option<SharedBus>,
    stop: AtomicBool,
    /// Compiles in flight per client (the per-client compile cap).
    compiles: Mutex<std::collections::HashMap<String, usize>>,
    /// The latest checkpoint for the checkpoint thread.
    checkpoint: Arc<(Mutex<Option<Running>>, Condvar)>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("target", &self.cfg.target)
            .finish()
    }
}

/// Why the scheduler could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("device {target}: {e}")]
    Bus { target: String, e: BusError },
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A compile in flight of one client; dropped when the compile ends.
#[derive(Debug)]
pub struct CompileSlot<'a> {
    sched: &'a Scheduler,
    client: String,
}

impl Drop for CompileSlot<'_> {
    fn drop(&mut self) {
        let mut m = self
            .sched
            .compiles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.client);
            }
        }
    }
}

/// Outcome of `cancel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    Running(Invocation),
    Queued(Invocation),
    NotFound,
}

impl Scheduler {
    pub fn new(
        mut bus: Box<dyn RegisterBus + Send>,
        store: Arc<Store>,
        tools: Toolchain,
        cfg: Config,
        model: Option<SharedBus>,
    ) -> Result<Scheduler, StartError> {
        let berr = |e| StartError::Bus {
            target: cfg.target.clone(),
            e,
        };
        nfbpf_loader::bus::check_id(&mut *bus, &cfg.target).map_err(berr)?;
        let engines = bus.read32(regs::NUMENGINES).map_err(berr)?;
        // The device runs the agent's ABI from the start (a program without
        // maps does not rewrite it at its swap).
        let xdp = u32::from(matches!(tools.abi, nfbpf_loader::Abi::Xdp));
        if bus.read32(regs::ABIMODE).map_err(berr)? & 1 != xdp {
            bus.write32(regs::ABIMODE, xdp).map_err(berr)?;
        }
        let clock = Clock::detect(
            &mut *bus,
            cfg.time_scale,
            cfg.clock,
            Duration::from_millis(50),
        );
        let resume = store.running()?;
        Ok(Scheduler {
            inner: Mutex::new(Inner {
                bus,
                clock,
                engines,
                active: None,
                staged: None,
                resume,
                loaded: None,
                rows: None,
                rows_ok: true,
                clear: None,
                cancel: false,
                failures: 0,
                last_error: None,
                last_checkpoint: Instant::now(),
            }),
            store,
            tools,
            cfg,
            model,
            stop: AtomicBool::new(false),
            compiles: Mutex::new(std::collections::HashMap::new()),
            checkpoint: Arc::new((Mutex::new(None), Condvar::new())),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The bounds on clients.
    pub fn limits(&self) -> &Limits {
        &self.cfg.limits
    }

    /// A compile slot of `client`, unless it has
    /// [`Limits::compiles_per_client`] compiles in flight already.
    pub fn compile_slot(&self, client: &str) -> Option<CompileSlot<'_>> {
        let mut m = self.compiles.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(client.to_string()).or_insert(0);
        if *n >= self.cfg.limits.compiles_per_client {
            return None;
        }
        *n += 1;
        Some(CompileSlot {
            sched: self,
            client: client.to_string(),
        })
    }

    /// The device's engines (every one runs the loaded program).
    pub fn engines(&self) -> u32 {
        self.lock().engines
    }

    /// The ids of the invocations of `function` queued or running, the
    /// running one first.
    pub fn invocations_of(&self, function: &str) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        {
            let g = self.lock();
            if let Some(a) = &g.active
                && a.run.invocation.function == function
            {
                ids.push(a.run.invocation.id);
            }
            if let Some(r) = &g.resume
                && r.invocation.function == function
            {
                ids.push(r.invocation.id);
            }
        }
        for inv in self.store.queue()? {
            if inv.function == function {
                ids.push(inv.id);
            }
        }
        Ok(ids)
    }

    pub fn tools(&self) -> &Toolchain {
        &self.tools
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the device state
        // half-updated in a way a later tick does not re-read: recover.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run ticks until `shutdown` (with the checkpoint writer beside).
    pub fn run(&self) {
        std::thread::scope(|sc| {
            sc.spawn(|| self.write_checkpoints());
            while !self.stop.load(Ordering::Relaxed) {
                self.tick();
                std::thread::sleep(TICK);
            }
            self.checkpoint.1.notify_one();
        });
    }

    /// Write the latest checkpoint whenever there is one.
    fn write_checkpoints(&self) {
        let (slot, cv) = &*self.checkpoint;
        while !self.stop.load(Ordering::Relaxed) {
            let next = {
                let g = slot.lock().unwrap_or_else(|p| p.into_inner());
                let mut g = cv
                    .wait_timeout(g, CHECKPOINT)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                g.take()
            };
            if let Some(r) = next
                && let Err(e) = self.store.checkpoint(&r)
            {
                self.lock().last_error = Some(e.to_string());
            }
        }
    }

    /// Has `shutdown` been called?
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// One step of the schedule.
    pub fn tick(&self) {
        let mut g = self.lock();
        if let Err(e) = self.tick_in(&mut g) {
            g.last_error = Some(e);
        }
    }

    fn tick_in(&self, g: &mut Inner) -> Result<(), String> {
        let (now, _) = g.clock.now(&mut *g.bus).map_err(|e| e.to_string())?;
        self.try_clear(g)?;
        let serr = |e: StoreError| e.to_string();
        let next: Option<Running> = match g.resume.clone() {
            Some(r) => Some(r),
            None => self.store.head().map_err(serr)?.map(|invocation| Running {
                invocation,
                version: 0,
                elapsed_s: 0.0,
                started_ms: 0,
                resumed: 0,
            }),
        };
        let due = match &g.active {
            Some(a) => g.cancel || now >= a.deadline_s,
            None => true,
        };
        if due {
            match next {
                Some(n) => self.swap_in(g, n, now),
                None => {
                    if g.active.is_some() {
                        self.end_active(g, now)?;
                    }
                    Ok(())
                }
            }
        } else {
            if let Some(n) = next {
                self.stage_ahead(g, &n, now, false)?;
            }
            if g.last_checkpoint.elapsed() >= CHECKPOINT
                && let Some(a) = &mut g.active
            {
                a.run.elapsed_s = a.base_elapsed + (now - a.start_s);
                // Written by the checkpoint thread: a slow disk sync must not
                // delay the tick (and so the swap).
                let (slot, cv) = &*self.checkpoint;
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(a.run.clone());
                cv.notify_one();
                g.last_checkpoint = Instant::now();
            }
            Ok(())
        }
    }

    /// Empty the outgoing function's half of the map table once every
    /// engine is done with the packets it had taken by the swap.
    fn try_clear(&self, g: &mut Inner) -> Result<bool, String> {
        let Some(c) = &g.clear else { return Ok(true) };
        if !drained(&mut *g.bus, &c.taken).map_err(|e| e.to_string())? {
            return Ok(false);
        }
        program::clear_rows(&mut *g.bus, c.base, HALF)
            .map_err(|e| format!("clearing map rows {}..{}: {e}", c.base, c.base + HALF))?;
        g.clear = None;
        Ok(true)
    }

    /// Write `n`'s function into the idle bank unless it is there already
    /// (same invocation, same function version). A function with maps gets
    /// them (and its rules) in the half of the map table the running
    /// function does not use, once the function before that one is gone from
    /// it; at the swap (`at_swap`) that half is taken over regardless.
    fn stage_ahead(
        &self,
        g: &mut Inner,
        n: &Running,
        now: f64,
        at_swap: bool,
    ) -> Result<(), String> {
        let f = self
            .store
            .function(&n.invocation.function)
            .map_err(|e| e.to_string())?;
        let Some(f) = f else { return Ok(()) };
        if g.staged
            .as_ref()
            .is_some_and(|s| s.id == n.invocation.id && s.version == f.version)
        {
            return Ok(());
        }
        g.staged = None;
        let image = self
            .tools
            .validate_function(&f)
            .map_err(|r| r.msg)?
            .with_budget(f.budget);
        let mut maps_ahead = false;
        // The idle half: the one the loaded function's rows are not in.
        // Unknown rows (nothing loaded by this agent yet: a target may run
        // a program of an earlier agent) or rows over both halves (a
        // function of more than HALF maps): the table is written at the
        // swap instead.
        let idle = match g.rows {
            Some((b, n)) if b + n <= HALF => Some(HALF),
            Some((b, _)) if b >= HALF => Some(0),
            _ => None,
        };
        let image = if let Some(base) = idle
            && !image.maps.is_empty()
            && image.maps.len() <= HALF
            && g.rows_ok
        {
            if !self.try_clear(g)? && !at_swap {
                // Engines still hold packets of the function before the
                // running one, on that half: next tick.
                return Ok(());
            }
            g.clear = None;
            let placed = image
                .at_map_row(base)
                .map_err(|e| format!("staging {}: {e}", f.name))?;
            let bus = &mut *g.bus;
            match program::clear_rows(bus, base, HALF)
                .and_then(|_| program::load_rows(bus, &placed))
            {
                Ok(_) => {
                    write_rules(bus, &placed, &f.rules)
                        .map_err(|e| format!("staging {}: {e}", f.name))?;
                    maps_ahead = true;
                    placed
                }
                // A device without MAPLOAD (e.g. the original eBPFlow
                // bitstream): maps are written at the swap from now on.
                Err(ProgramError::RowLoad { .. }) => {
                    g.rows_ok = false;
                    image
                }
                Err(e) => return Err(format!("staging {}: {e}", f.name)),
            }
        } else {
            image
        };
        program::stage(&mut *g.bus, &image).map_err(|e| format!("staging {}: {e}", f.name))?;
        g.staged = Some(Staged {
            id: n.invocation.id,
            function: f.name.clone(),
            version: f.version,
            image,
            rules: f.rules.clone(),
            at_s: now,
            maps_ahead,
        });
        Ok(())
    }

    fn record(
        &self,
        a: &Active,
        end_s: f64,
        end_cycle: Option<u64>,
        snap: &Snap,
        outcome: &str,
    ) -> RunRecord {
        RunRecord {
            id: a.run.invocation.id,
            function: a.run.invocation.function.clone(),
            version: a.run.version,
            run_time: a.run.invocation.run_time,
            outcome: outcome.to_string(),
            started_ms: a.run.started_ms,
            ended_ms: now_ms(),
            start_s: a.start_s,
            deadline_s: a.deadline_s,
            end_s,
            staged_ahead_s: a.staged_ahead_s,
            resumed: a.run.resumed,
            start_cycle: a.start_cycle,
            end_cycle,
            counters: a.snap.delta(snap),
            map_rows_ahead: a.map_rows_ahead,
        }
    }

    /// The active run ends with nothing to follow: its program stays loaded.
    fn end_active(&self, g: &mut Inner, now: f64) -> Result<(), String> {
        let snap = snapshot(&mut *g.bus, g.engines).map_err(|e| e.to_string())?;
        let (_, c) = g.clock.now(&mut *g.bus).map_err(|e| e.to_string())?;
        let outcome = if g.cancel { "cancelled" } else { "completed" };
        if let Some(a) = g.active.take() {
            let rec = self.record(&a, now, c, &snap, outcome);
            self.store
                .finish(&rec, self.cfg.limits.history)
                .map_err(|e| e.to_string())?;
        }
        g.cancel = false;
        Ok(())
    }

    /// Swap `n` in (ending the active run, if any).
    fn swap_in(&self, g: &mut Inner, mut n: Running, now: f64) -> Result<(), String> {
        match self.try_swap(g, &mut n, now) {
            Ok(()) => {
                g.failures = 0;
                Ok(())
            }
            Err(e) => {
                g.staged = None;
                g.failures += 1;
                if g.failures >= ATTEMPTS {
                    // Drop the invocation: it joins the timeline as failed.
                    g.failures = 0;
                    if g.resume.take().is_none() {
                        let _ = self.store.dequeue(n.invocation.id);
                    }
                    let rec = RunRecord {
                        id: n.invocation.id,
                        function: n.invocation.function.clone(),
                        version: n.version,
                        run_time: n.invocation.run_time,
                        outcome: format!("failed: {e}"),
                        started_ms: now_ms(),
                        ended_ms: now_ms(),
                        start_s: now,
                        deadline_s: now,
                        end_s: now,
                        staged_ahead_s: None,
                        resumed: n.resumed,
                        start_cycle: None,
                        end_cycle: None,
                        counters: Counters::default(),
                        map_rows_ahead: None,
                    };
                    let _ = self.store.finish(&rec, self.cfg.limits.history);
                }
                Err(e)
            }
        }
    }

    fn try_swap(&self, g: &mut Inner, n: &mut Running, now: f64) -> Result<(), String> {
        self.stage_ahead(g, n, now, true)?;
        let Some(st) = g.staged.take() else {
            return Err(format!(
                "invocation {}: function `{}` is not registered",
                n.invocation.id, n.invocation.function
            ));
        };
        // The counters and the swap (map table and rules unless staged
        // ahead, FLIP). On the embedded model they happen within one hold of
        // the device (no clock passes in between).
        let (snap, taken) = match self.model.clone() {
            Some(mut m) => {
                let mut d = m.lock().map_err(|e| e.to_string())?;
                let snap = snapshot(&mut *d, g.engines).map_err(|e| e.to_string())?;
                (snap, swap_registers(&mut *d, &st, g.engines)?)
            }
            None => {
                let snap = snapshot(&mut *g.bus, g.engines).map_err(|e| e.to_string())?;
                (snap, swap_registers(&mut *g.bus, &st, g.engines)?)
            }
        };
        let (maps, base) = (st.image.maps.len(), st.image.map_base);
        let map_rows_ahead = st.maps_ahead.then_some([base, maps]);
        if st.maps_ahead {
            // The outgoing function's half goes once the engines are done
            // with its packets.
            if let Some((old, _)) = g.rows {
                g.clear = Some(Clear {
                    base: if old < HALF { 0 } else { HALF },
                    taken,
                });
            }
            g.rows = Some((base, maps));
        } else if maps > 0 {
            // The whole table was rewritten (`configure`).
            g.rows = Some((base, maps));
            g.clear = None;
        }
        let (t, c) = g.clock.now(&mut *g.bus).map_err(|e| e.to_string())?;
        let ahead = (st.at_s < now).then_some(t - st.at_s);
        if let Some(a) = g.active.take() {
            let outcome = if g.cancel { "cancelled" } else { "completed" };
            let rec = self.record(&a, t, c, &snap, outcome);
            self.store
                .finish(&rec, self.cfg.limits.history)
                .map_err(|e| e.to_string())?;
        }
        g.cancel = false;
        n.version = st.version;
        n.started_ms = now_ms();
        let base = n.elapsed_s;
        if g.resume.take().is_some() {
            n.resumed += 1;
        }
        self.store.start(n).map_err(|e| e.to_string())?;
        g.loaded = Some(st.function.clone());
        g.active = Some(Active {
            run: n.clone(),
            base_elapsed: base,
            start_s: t,
            deadline_s: t + (f64::from(n.invocation.run_time) - base).max(0.0),
            start_cycle: c,
            snap,
            staged_ahead_s: ahead,
            map_rows_ahead,
        });
        g.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Cancel invocation `id`: the running one ends at the next tick (the
    /// next queued one is swapped in), a queued one leaves the queue.
    pub fn cancel(&self, id: u64) -> Result<Cancelled, StoreError> {
        let mut g = self.lock();
        if let Some(a) = &g.active
            && a.run.invocation.id == id
        {
            let inv = a.run.invocation.clone();
            g.cancel = true;
            return Ok(Cancelled::Running(inv));
        }
        if g.resume.as_ref().is_some_and(|r| r.invocation.id == id) {
            let r = g.resume.take();
            if let Some(r) = r {
                let rec = RunRecord {
                    id,
                    function: r.invocation.function.clone(),
                    version: r.version,
                    run_time: r.invocation.run_time,
                    outcome: "cancelled".into(),
                    started_ms: r.started_ms,
                    ended_ms: now_ms(),
                    start_s: 0.0,
                    deadline_s: 0.0,
                    end_s: 0.0,
                    staged_ahead_s: None,
                    resumed: r.resumed,
                    start_cycle: None,
                    end_cycle: None,
                    counters: Counters::default(),
                    map_rows_ahead: None,
                };
                self.store.finish(&rec, self.cfg.limits.history)?;
                return Ok(Cancelled::Running(r.invocation));
            }
        }
        match self.store.dequeue(id)? {
            Some(inv) => {
                if g.staged.as_ref().is_some_and(|s| s.id == id) {
                    g.staged = None;
                }
                Ok(Cancelled::Queued(inv))
            }
            None => Ok(Cancelled::NotFound),
        }
    }

    /// The status document of `GET /status`.
    pub fn status(&self) -> Result<serde_json::Value, StoreError> {
        use serde_json::json;
        let mut guard = self.lock();
        let g = &mut *guard;
        // Read under the lock: a run the scheduler just ended is either
        // still `running` or already in the timeline.
        let (queue_len, queue) = self.store.queue_head(QUEUE_SHOWN)?;
        let timeline = self.store.history(TIMELINE)?;
        let now = g.clock.now(&mut *g.bus);
        let (now_s, cycle) = match &now {
            Ok((t, c)) => (Some(*t), *c),
            Err(_) => (None, None),
        };
        let engines = g.engines;
        // The active bank's instruction budget per packet.
        let budget = g.bus.read32(regs::BUDGET).ok();
        let device = match snapshot(&mut *g.bus, engines) {
            Ok(s) => json!({
                "budget": budget,
                "engines": s.engines.iter().map(|e| json!({
                    "pkt_in": e[0], "pkt_out": e[1], "dropped": e[2], "faults": e[3]
                })).collect::<Vec<_>>(),
                "ports": s.ports.iter().map(|p| json!({
                    "rx": p[0], "rx_dropped": p[1], "tx": p[2]
                })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({ "error": e.to_string() }),
        };
        let running = g.active.as_ref().map(|a| {
            let t = now_s.unwrap_or(a.start_s);
            json!({
                "id": a.run.invocation.id,
                "function": a.run.invocation.function,
                "version": a.run.version,
                "run_time": a.run.invocation.run_time,
                "elapsed_s": a.base_elapsed + (t - a.start_s),
                "remaining_s": (a.deadline_s - t).max(0.0),
                "start_s": a.start_s,
                "deadline_s": a.deadline_s,
                "resumed": a.run.resumed,
                "cancelling": g.cancel,
            })
        });
        let staged = g.staged.as_ref().map(|s| {
            json!({
                "id": s.id, "function": s.function, "version": s.version, "staged_at_s": s.at_s,
                "map_rows": s.maps_ahead.then_some([s.image.map_base, s.image.maps.len()]),
            })
        });
        let resume = g.resume.as_ref().map(|r| {
            json!({ "id": r.invocation.id, "function": r.invocation.function, "elapsed_s": r.elapsed_s })
        });
        let conservation = self.model.clone().and_then(|mut m| {
            let d = m.lock().ok()?;
            let mut c = Counters::default();
            for e in 0..d.config().engines {
                let x = d.engine_counters(e)?;
                c.pkt_in += x.pkt_in;
                c.pkt_out += x.pkt_out;
                c.dropped += x.dropped;
                c.faults += x.faults;
            }
            for p in 0..PORTS {
                let x = d.port_counters(p)?;
                c.rx += x.rx;
                c.rx_dropped += x.rx_dropped;
                c.tx += x.tx;
            }
            // Counted out at their verdicts: the packets before it are the
            // ones inside (the egress may still hold some counted out).
            let in_flight = d.awaiting_verdict() as u64;
            Some(json!({
                "pkt_in": c.pkt_in, "pkt_out": c.pkt_out, "dropped": c.dropped,
                "faults": c.faults, "in_flight": in_flight,
                "rx": c.rx, "rx_dropped": c.rx_dropped,
                "lost": (c.pkt_in as i128) - (c.pkt_out + c.dropped + c.faults + in_flight) as i128,
                "rx_unaccounted": (c.rx as i128) - (c.pkt_in + c.rx_dropped) as i128,
            }))
        });
        Ok(json!({
            "target": self.cfg.target,
            "clock": g.clock.source,
            "time_scale": g.clock.scale,
            "now_s": now_s,
            "cycle": cycle,
            "loaded": g.loaded,
            "map_rows": g.rows.map(|(b, n)| [b, n]),
            "map_rows_clearing": g.clear.as_ref().map(|c| [c.base, HALF]),
            "running": running,
            "resume_pending": resume,
            "next_staged": staged,
            "queue": {
                "length": queue_len,
                "head": queue,
            },
            "timeline": timeline,
            "device": device,
            "conservation": conservation,
            "last_error": g.last_error,
        }))
    }
}
