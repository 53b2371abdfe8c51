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
//!   start. At the deadline the scheduler writes the new function's map
//!   table (and its map rules) and `FLIP`s: each engine takes the new bank
//!   at its next packet boundary, so no packet is lost. The map table is
//!   not double-buffered in the hardware, which is why it is written at the
//!   swap and not ahead.
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

/// Map table and rules of `st`, then FLIP. A program without maps leaves the
/// map table as it is: rewriting it would take the maps away from packets
/// of the outgoing program still in the engines.
fn swap_registers(bus: &mut dyn RegisterBus, st: &Staged) -> Result<(), String> {
    let cfg = |e: ProgramError| format!("swapping in {}: {e}", st.function);
    if !st.image.maps.is_empty() {
        program::configure(bus, &st.image).map_err(cfg)?;
    }
    for r in &st.rules {
        let (i, m) = st
            .image
            .maps
            .iter()
            .enumerate()
            .find(|(_, m)| m.name == r.map)
            .ok_or_else(|| format!("rule for unknown map `{}`", r.map))?;
        program::update_entry(bus, i, m.map_type, &r.key, &r.value).map_err(cfg)?;
    }
    program::flip(bus).map_err(cfg)?;
    Ok(())
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
}

struct Staged {
    id: u64,
    function: String,
    version: u64,
    image: Image,
    rules: Vec<Rule>,
    at_s: f64,
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
            checkpoint: Arc::new((Mutex::new(None), Condvar::new())),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
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
                self.stage_ahead(g, &n, now)?;
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

    /// Write `n`'s function into the idle bank unless it is there already
    /// (same invocation, same function version).
    fn stage_ahead(&self, g: &mut Inner, n: &Running, now: f64) -> Result<(), String> {
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
        let image = self.tools.validate(&f.object).map_err(|r| r.msg)?;
        program::stage(&mut *g.bus, &image).map_err(|e| format!("staging {}: {e}", f.name))?;
        g.staged = Some(Staged {
            id: n.invocation.id,
            function: f.name.clone(),
            version: f.version,
            image,
            rules: f.rules.clone(),
            at_s: now,
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
        }
    }

    /// The active run ends with nothing to follow: its program stays loaded.
    fn end_active(&self, g: &mut Inner, now: f64) -> Result<(), String> {
        let snap = snapshot(&mut *g.bus, g.engines).map_err(|e| e.to_string())?;
        let (_, c) = g.clock.now(&mut *g.bus).map_err(|e| e.to_string())?;
        let outcome = if g.cancel { "cancelled" } else { "completed" };
        if let Some(a) = g.active.take() {
            let rec = self.record(&a, now, c, &snap, outcome);
            self.store.finish(&rec).map_err(|e| e.to_string())?;
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
                    };
                    let _ = self.store.finish(&rec);
                }
                Err(e)
            }
        }
    }

    fn try_swap(&self, g: &mut Inner, n: &mut Running, now: f64) -> Result<(), String> {
        self.stage_ahead(g, n, now)?;
        let Some(st) = g.staged.take() else {
            return Err(format!(
                "invocation {}: function `{}` is not registered",
                n.invocation.id, n.invocation.function
            ));
        };
        let snap = snapshot(&mut *g.bus, g.engines).map_err(|e| e.to_string())?;
        // The swap: map table, rules, FLIP. On the embedded model it happens
        // within one hold of the device (no clock passes in between).
        match self.model.clone() {
            Some(mut m) => {
                let mut d = m.lock().map_err(|e| e.to_string())?;
                swap_registers(&mut *d, &st)?;
            }
            None => swap_registers(&mut *g.bus, &st)?,
        }
        let (t, c) = g.clock.now(&mut *g.bus).map_err(|e| e.to_string())?;
        let ahead = (st.at_s < now).then_some(t - st.at_s);
        if let Some(a) = g.active.take() {
            let outcome = if g.cancel { "cancelled" } else { "completed" };
            let rec = self.record(&a, t, c, &snap, outcome);
            self.store.finish(&rec).map_err(|e| e.to_string())?;
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
                };
                self.store.finish(&rec)?;
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
        let (queue_len, queue) = self.store.queue_head(QUEUE_SHOWN)?;
        let timeline = self.store.history(TIMELINE)?;
        let mut guard = self.lock();
        let g = &mut *guard;
        let now = g.clock.now(&mut *g.bus);
        let (now_s, cycle) = match &now {
            Ok((t, c)) => (Some(*t), *c),
            Err(_) => (None, None),
        };
        let engines = g.engines;
        let device = match snapshot(&mut *g.bus, engines) {
            Ok(s) => json!({
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
            json!({ "id": s.id, "function": s.function, "version": s.version, "staged_at_s": s.at_s })
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
            let in_flight = d.in_flight() as u64;
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
