//! The scheduler: runs queued invocations on the device one at a time, each
//! for its run time, swapping programs through the register interface.
//! Given several devices it does so on each (every device with its own
//! bus, clock, banks and map table, all below holding per device):
//!
//! - Placement (`Scheduler::plan`): a free device takes the oldest
//!   pending run (moved off a stopped device, or interrupted by a restart),
//!   else the oldest queued invocation whose function runs on fewer devices
//!   than its OpenFaaS replicas (among the first [`LOOKAHEAD`]); free
//!   devices in order of fewest runs started, busy ones stage what they
//!   will take next in order of their deadlines.
//! - Health (`Scheduler::health`): a device whose cycle counter does not
//!   read [`BAD_READS`] times in a row, or reads the same for
//!   [`Config::stall`] (device clock only), is stopped: its run is
//!   interrupted where it was, recorded ([`Interruption`]) and logged, and
//!   waits (in the store under its own key) for the next free device, which
//!   runs it for the rest of its time. A stopped device is probed every
//!   [`PROBE`] and taken back once its identity reads and its counter moves.
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
//!   schedule second one device millisecond. An embedded model's clock
//!   stops at the running function's deadline until the tick that swaps
//!   (`SharedBus::hold_at`), so a run ends at its deadline to the clock
//!   however late a busy host runs this thread.
//! - A lambda's invocation (its function `kind` lambda, its request in the
//!   invocation) sends its request's chunks through the device's host
//!   queues once swapped in, reads the answers from the host receive
//!   path (`pump`, every tick), and ends as soon as every chunk is
//!   answered (or one is refused, or the request came back untaken), its
//!   response in the run's record; else at its deadline, failed. A lambda
//!   already loaded on a free device (same version) runs without a swap,
//!   so its maps keep the state its last run left (docs/lambdas.md).
//! - Each run's packet counters (sums over engines and ports of the
//!   per-engine `ENGPKTIN/OUT/DROP/FAULTS` and per-port `PORTRX/RXDROP/TX`
//!   registers, wrapping 32-bit differences) are read at its swap-in and
//!   swap-out and kept in the timeline.

use crate::lambda::{Exchange, Outcome};
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
    /// A lambda's request body, base64 (None: a network function's run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
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
    /// The devices that stopped answering while it ran on them (it moved
    /// on to another device each time).
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
}

/// A run cut short by its device: the device stopped answering (bus
/// errors, or its cycle counter stuck) and the run moved to another one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interruption {
    pub id: u64,
    pub function: String,
    /// The device's name (`model:0`, `sim:PATH`, `sume:IFNAME`).
    pub device: String,
    pub at_ms: u64,
    /// Schedule seconds the run had done when its device stopped.
    pub elapsed_s: f64,
    pub reason: String,
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
    /// The device it ran on last (None: it never started, or a record of
    /// an agent from before several devices).
    #[serde(default)]
    pub device: Option<String>,
    /// The devices that stopped answering under it, oldest first.
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
    /// A lambda's response body, base64, when every chunk of its request
    /// was answered (the outcome is then `completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// A lambda run's client (who may read its response); empty for a
    /// network function's run.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
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
    /// Schedule seconds at `origin_cycle` (not 0 once a device that
    /// stopped answering is taken back: its counter may have restarted).
    offset_s: f64,
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
            offset_s: 0.0,
        }
    }

    /// A device cycle at which [`Clock::now`] reads schedule second `s` or
    /// later (the first after it, one more for the rounding of the
    /// conversion back), on the device clock; none on the wall clock.
    fn cycle_at(&self, s: f64) -> Option<u64> {
        match self.source {
            ClockSource::Wall => None,
            ClockSource::DeviceCycles => {
                let clocks = (s - self.offset_s) * self.scale * nfbpf_vm::contract::CLOCK_HZ as f64;
                Some(
                    self.origin_cycle
                        .saturating_add(clocks.max(0.0).ceil() as u64 + 1),
                )
            }
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
                Ok((self.offset_s + secs / self.scale, Some(c)))
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
    if let Err(e) = program::flip(bus) {
        // LOINSTs written while the idle bank still ran packets of the
        // function before are lost on the device (the RTL writes each one
        // through to that bank): FLIP then asks for the program again from
        // WRINST 0. Staged ahead, it is written once more here.
        if !e.to_string().contains("WRINST 0") {
            return Err(cfg(e));
        }
        program::stage(bus, &st.image).map_err(cfg)?;
        program::flip(bus).map_err(cfg)?;
    }
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
    /// A lambda's request on the device, and why it could not be sent
    /// (or read back) if so.
    lambda: Option<Exchange>,
    lambda_error: Option<String>,
}

impl Active {
    /// A lambda's run is over: every chunk answered, one refused, or the
    /// request could not go out.
    fn lambda_done(&self) -> bool {
        self.lambda_error.is_some() || self.lambda.as_ref().is_some_and(|x| x.outcome().is_some())
    }
}

/// The outcome and response of a run ending as `outcome` (`completed` or
/// `cancelled`): a lambda's run completes only when its request was
/// answered; otherwise it failed, and the reason says how.
fn lambda_outcome(a: &Active, outcome: &str) -> (String, Option<String>) {
    use base64::Engine as _;
    if outcome != "completed" {
        return (outcome.to_string(), None);
    }
    if let Some(e) = &a.lambda_error {
        return (format!("failed: {e}"), None);
    }
    let Some(x) = &a.lambda else {
        return (outcome.to_string(), None);
    };
    match x.outcome() {
        Some(Outcome::Answered(b)) => (
            outcome.to_string(),
            Some(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        Some(Outcome::Refused(m)) => (format!("failed: the lambda refused the request: {m}"), None),
        Some(Outcome::NotTaken(m)) => (format!("failed: {m}"), None),
        None => {
            let (k, n) = x.progress();
            (
                format!(
                    "failed: no answer within the run time of {} s ({k} of {n} chunks answered)",
                    a.run.invocation.run_time
                ),
                None,
            )
        }
    }
}

/// `v` (an array of invocations or run records) without lambdas' request
/// and response bodies, which only their client reads (`GET /queue/{id}`,
/// the invocation's answer): their sizes instead.
pub fn redact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(a) = v.as_array_mut() {
        for e in a.iter_mut().filter_map(|e| e.as_object_mut()) {
            for k in ["request", "response"] {
                if let Some(b) = e.remove(k) {
                    let n = b.as_str().map_or(0, |s| s.len() / 4 * 3);
                    e.insert(format!("{k}_bytes_about"), serde_json::json!(n));
                }
            }
        }
    }
    v
}

/// Chunks of a lambda's request out on the device at once (one per port).
pub const LAMBDA_WINDOW: usize = PORTS;
/// Wall time after which an unanswered chunk is sent again (the device
/// drops a frame no engine of its port has room for, as a wire would).
pub const LAMBDA_RESEND: Duration = Duration::from_millis(50);
/// Frames read from the host receive queue per tick, at most.
const LAMBDA_RECV_PER_TICK: usize = 256;

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

/// A lambda's exchange on device `d`: answers read from its host receive
/// queue, then the chunks that are due sent (at most [`LAMBDA_WINDOW`] out,
/// chunk `i` from host queue `i % PORTS`, unanswered ones again after
/// [`LAMBDA_RESEND`]). A bus error ends the exchange with the reason.
fn pump(d: &mut Dev) {
    let Dev { active, bus, .. } = d;
    let Some(a) = active.as_mut() else { return };
    let Some(x) = a.lambda.as_mut() else { return };
    if a.lambda_error.is_some() || x.outcome().is_some() {
        return;
    }
    for _ in 0..LAMBDA_RECV_PER_TICK {
        match bus.host_recv() {
            Ok(Some(f)) => {
                x.take(&f);
                if x.outcome().is_some() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                a.lambda_error = Some(format!("reading the device's answers: {e}"));
                return;
            }
        }
    }
    for i in x.due(LAMBDA_WINDOW, LAMBDA_RESEND) {
        if let Err(e) = bus.host_send(i % PORTS, &x.frames[i]) {
            a.lambda_error = Some(format!("sending chunk {i} of the request: {e}"));
            return;
        }
    }
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

/// Is a device answering?
#[derive(Debug, Clone, PartialEq)]
enum Health {
    Up,
    /// Stopped answering at `since_ms` for `reason`; probed every
    /// [`PROBE`] until it answers again.
    Down {
        since_ms: u64,
        reason: String,
        probed: Instant,
        /// The cycle counter at the last probe (a device is back when it
        /// reads and moves).
        cycle: Option<u64>,
    },
}

/// One device: its register bus and what the scheduler keeps of it.
struct Dev {
    name: String,
    bus: Box<dyn RegisterBus + Send>,
    /// An embedded model, for the exact conservation check in status.
    model: Option<SharedBus>,
    clock: Clock,
    engines: u32,
    active: Option<Active>,
    staged: Option<Staged>,
    /// Function in the active bank (also after its run ended), and its
    /// version.
    loaded: Option<String>,
    loaded_version: Option<u64>,
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
    health: Health,
    /// Runs started on it (the placement takes the least-loaded first).
    runs: u64,
    /// The cycle counter as last read, and since when it reads so.
    seen_cycle: Option<u64>,
    seen_at: Instant,
    /// Schedule seconds at its last tick (where a run it loses stopped).
    last_now: f64,
    /// Failed reads of the cycle counter in a row.
    bad_reads: u32,
}

impl Dev {
    fn up(&self) -> bool {
        self.health == Health::Up
    }
}

/// A run waiting for a device before the queue: interrupted by a restart
/// of the agent, or moved off a device that stopped answering.
#[derive(Debug, Clone)]
struct Pending {
    run: Running,
    /// Loaded again after a restart (counted in `resumed`).
    restarted: bool,
}

struct Inner {
    devs: Vec<Dev>,
    /// Runs placed before the queue, oldest invocation first.
    resume: Vec<Pending>,
    /// The latest interruptions (at most [`INTERRUPTIONS`]), oldest first.
    interrupted: std::collections::VecDeque<Interruption>,
}

/// Interruptions kept for `GET /status`.
pub const INTERRUPTIONS: usize = 20;
/// Wall time between probes of a device that stopped answering.
pub const PROBE: Duration = Duration::from_secs(1);
/// Queued invocations the placement looks at per tick with several
/// devices (a function at its replicas is skipped for the next one).
pub const LOOKAHEAD: usize = 64;
/// Wall time a device's cycle counter may read the same before the
/// device counts as stopped (device clock only).
pub const STALL: Duration = Duration::from_secs(2);
/// Failed reads of a device's cycle counter in a row (one a tick) before
/// the device counts as stopped.
pub const BAD_READS: u32 = 3;

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Schedule seconds = clock seconds / `time_scale`.
    pub time_scale: f64,
    /// Force a clock (default: detect).
    pub clock: Option<ClockSource>,
    /// The bounds on clients (caps on functions and the queue, the
    /// timeline's length, page sizes).
    pub limits: Limits,
    /// Wall time a device's cycle counter may stand still before the
    /// device counts as stopped ([`STALL`]).
    pub stall: Duration,
}

/// A device given to the scheduler.
pub struct DeviceIn {
    /// Its name in status and records (`model:0`, `sim:PATH`, ...).
    pub name: String,
    pub bus: Box<dyn RegisterBus + Send>,
    /// The embedded model behind `bus`, if it is one.
    pub model: Option<SharedBus>,
}

impl std::fmt::Debug for DeviceIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIn")
            .field("name", &self.name)
            .field("model", &self.model.is_some())
            .finish()
    }
}

/// A device as the OpenFaaS status and placement see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBrief {
    pub name: String,
    pub up: bool,
    pub engines: u32,
    /// The function of its running invocation.
    pub running: Option<String>,
}

/// The scheduler; `tick` is called by its thread, the rest by the API.
pub struct Scheduler {
    inner: Mutex<Inner>,
    store: Arc<Store>,
    tools: Toolchain,
    cfg: Config,
    /// The devices' names, in slot order.
    names: Vec<String>,
    stop: AtomicBool,
    /// Compiles in flight per client (the per-client compile cap).
    compiles: Mutex<std::collections::HashMap<String, usize>>,
    /// The latest checkpoint of each device slot, for the checkpoint thread.
    checkpoint: Arc<(Mutex<std::collections::HashMap<usize, Running>>, Condvar)>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("devices", &self.names)
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
    #[error("no device to schedule on")]
    NoDevice,
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

/// What a device takes next: a pending run or a queued invocation.
#[derive(Debug, Clone)]
struct Next {
    run: Running,
    /// A pending run (its record in the store is a pending one), not a
    /// queued invocation.
    pending: bool,
    restarted: bool,
}

/// How a swap-in failed.
struct SwapFailed {
    msg: String,
    /// The invocation failed its last attempt and joined the timeline.
    dropped: bool,
}

impl Scheduler {
    pub fn new(
        devices: Vec<DeviceIn>,
        store: Arc<Store>,
        tools: Toolchain,
        cfg: Config,
    ) -> Result<Scheduler, StartError> {
        if devices.is_empty() {
            return Err(StartError::NoDevice);
        }
        let mut devs = Vec::new();
        let mut names = Vec::new();
        for DeviceIn {
            name,
            mut bus,
            model,
        } in devices
        {
            let berr = |e| StartError::Bus {
                target: name.clone(),
                e,
            };
            nfbpf_loader::bus::check_id(&mut *bus, &name).map_err(berr)?;
            let engines = bus.read32(regs::NUMENGINES).map_err(berr)?;
            // The device runs the agent's ABI from the start (a program
            // without maps does not rewrite it at its swap).
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
            names.push(name.clone());
            devs.push(Dev {
                name,
                bus,
                model,
                clock,
                engines,
                active: None,
                staged: None,
                loaded: None,
                loaded_version: None,
                rows: None,
                rows_ok: true,
                clear: None,
                cancel: false,
                failures: 0,
                last_error: None,
                last_checkpoint: Instant::now(),
                health: Health::Up,
                runs: 0,
                seen_cycle: None,
                seen_at: Instant::now(),
                last_now: 0.0,
                bad_reads: 0,
            });
        }
        // Runs interrupted by a restart (one per device slot of the agent
        // before) go first, oldest invocation first, on any device.
        let resume: Vec<Pending> = store
            .park_all()?
            .into_iter()
            .map(|run| Pending {
                run,
                restarted: true,
            })
            .collect();
        Ok(Scheduler {
            inner: Mutex::new(Inner {
                devs,
                resume,
                interrupted: std::collections::VecDeque::new(),
            }),
            store,
            tools,
            cfg,
            names,
            stop: AtomicBool::new(false),
            compiles: Mutex::new(std::collections::HashMap::new()),
            checkpoint: Arc::new((Mutex::new(std::collections::HashMap::new()), Condvar::new())),
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

    /// The first device's engines (every one runs the loaded program).
    pub fn engines(&self) -> u32 {
        self.lock().devs[0].engines
    }

    /// The devices' names, in slot order.
    pub fn device_names(&self) -> &[String] {
        &self.names
    }

    /// Every device: name, answering or not, engines, running function.
    pub fn devices(&self) -> Vec<DeviceBrief> {
        self.lock()
            .devs
            .iter()
            .map(|d| DeviceBrief {
                name: d.name.clone(),
                up: d.up(),
                engines: d.engines,
                running: d.active.as_ref().map(|a| a.run.invocation.function.clone()),
            })
            .collect()
    }

    /// The ids of the invocations of `function` queued or running, the
    /// running ones first.
    pub fn invocations_of(&self, function: &str) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        {
            let g = self.lock();
            for d in &g.devs {
                if let Some(a) = &d.active
                    && a.run.invocation.function == function
                {
                    ids.push(a.run.invocation.id);
                }
            }
            for p in &g.resume {
                if p.run.invocation.function == function {
                    ids.push(p.run.invocation.id);
                }
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

    /// Write the latest checkpoints whenever there are some.
    fn write_checkpoints(&self) {
        let (slot, cv) = &*self.checkpoint;
        while !self.stop.load(Ordering::Relaxed) {
            let next = {
                let g = slot.lock().unwrap_or_else(|p| p.into_inner());
                let mut g = cv
                    .wait_timeout(g, CHECKPOINT)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                std::mem::take(&mut *g)
            };
            for (s, r) in next {
                if let Err(e) = self.store.checkpoint_on(s, &r) {
                    let mut g = self.lock();
                    if let Some(d) = g.devs.get_mut(s) {
                        d.last_error = Some(e.to_string());
                    }
                }
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

    /// One step of the schedule: every device's health, then every
    /// answering device's step.
    pub fn tick(&self) {
        let mut guard = self.lock();
        let g = &mut *guard;
        for slot in 0..g.devs.len() {
            self.health(g, slot);
        }
        let plan = match self.plan(g) {
            Ok(p) => p,
            Err(e) => {
                for d in g.devs.iter_mut().filter(|d| d.up()) {
                    d.last_error = Some(e.clone());
                }
                return;
            }
        };
        let Inner { devs, resume, .. } = g;
        for (slot, next) in plan.into_iter().enumerate() {
            let d = &mut devs[slot];
            // A device whose cycle counter did not read waits for the next
            // check (a swap on a dying bus would fail the invocation).
            if !d.up() || d.bad_reads > 0 {
                continue;
            }
            if let Err(e) = self.tick_dev(slot, d, next, resume) {
                d.last_error = Some(e);
            }
        }
    }

    /// Check device `slot`: an answering one whose bus fails or whose
    /// cycle counter stands still stops being scheduled on (its run moves);
    /// a stopped one is probed every [`PROBE`] and taken back when its
    /// identity reads and its cycle counter moves.
    fn health(&self, g: &mut Inner, slot: usize) {
        let stall = self.cfg.stall;
        let d = &mut g.devs[slot];
        let why = match &mut d.health {
            Health::Up => match cycle(&mut *d.bus) {
                // A transient error (one lost request) is not a stop.
                Err(e) => {
                    d.bad_reads += 1;
                    (d.bad_reads >= BAD_READS).then(|| {
                        format!("bus error: {e} ({BAD_READS} reads of the cycle counter in a row)")
                    })
                }
                Ok(c) if d.seen_cycle != Some(c) => {
                    d.bad_reads = 0;
                    d.seen_cycle = Some(c);
                    d.seen_at = Instant::now();
                    None
                }
                Ok(c)
                    if d.clock.source == ClockSource::DeviceCycles
                        && d.seen_at.elapsed() >= stall =>
                {
                    Some(format!(
                        "cycle counter stuck at {c} for {:.1} s",
                        d.seen_at.elapsed().as_secs_f64()
                    ))
                }
                Ok(_) => {
                    d.bad_reads = 0;
                    None
                }
            },
            Health::Down {
                probed,
                cycle: last,
                ..
            } => {
                if probed.elapsed() < PROBE {
                    return;
                }
                *probed = Instant::now();
                let id = nfbpf_loader::bus::check_id(&mut *d.bus, &d.name);
                let c = cycle(&mut *d.bus).ok();
                let moving = match (d.clock.source, c, *last) {
                    (ClockSource::Wall, Some(_), _) => true,
                    (_, Some(now), Some(before)) => now != before,
                    _ => false,
                };
                *last = c;
                if id.is_ok() && moving {
                    eprintln!(
                        "nfbpf agent: device {} answers again; scheduling on it",
                        d.name
                    );
                    d.health = Health::Up;
                    d.bad_reads = 0;
                    d.seen_cycle = c;
                    d.seen_at = Instant::now();
                    d.last_error = None;
                    // Its schedule time goes on from where it stopped (its
                    // counter may have restarted meanwhile).
                    if let Some(c) = c {
                        d.clock.origin_cycle = c;
                        d.clock.last_cycle = c;
                        d.clock.offset_s = d.last_now;
                    }
                }
                None
            }
        };
        if let Some(reason) = why {
            self.fail(g, slot, reason);
        }
    }

    /// Device `slot` stopped answering: it is scheduled on no more, and
    /// its run moves to the pending runs (the next free device takes it
    /// for the rest of its time), its interruption reported in status, in
    /// the run's record, and in the log.
    fn fail(&self, g: &mut Inner, slot: usize, reason: String) {
        let d = &mut g.devs[slot];
        let at_ms = now_ms();
        d.health = Health::Down {
            since_ms: at_ms,
            reason: reason.clone(),
            probed: Instant::now(),
            cycle: d.seen_cycle,
        };
        d.staged = None;
        d.loaded = None;
        d.rows = None;
        d.clear = None;
        d.failures = 0;
        d.last_error = Some(format!("stopped answering: {reason}"));
        let cancel = std::mem::take(&mut d.cancel);
        let Some(a) = d.active.take() else {
            eprintln!(
                "nfbpf agent: device {} stopped answering ({reason}); nothing was running on it",
                d.name
            );
            return;
        };
        // Checkpoints of the lost run no longer apply to this slot.
        self.checkpoint
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&slot);
        let mut run = a.run.clone();
        run.elapsed_s = (a.base_elapsed + (d.last_now - a.start_s))
            .clamp(0.0, f64::from(run.invocation.run_time));
        let int = Interruption {
            id: run.invocation.id,
            function: run.invocation.function.clone(),
            device: d.name.clone(),
            at_ms,
            elapsed_s: run.elapsed_s,
            reason: reason.clone(),
        };
        run.interruptions.push(int.clone());
        g.interrupted.push_back(int);
        while g.interrupted.len() > INTERRUPTIONS {
            g.interrupted.pop_front();
        }
        if cancel {
            eprintln!(
                "nfbpf agent: device {} stopped answering ({reason}) while invocation #{} ({}) was being cancelled: it ends cancelled",
                d.name, run.invocation.id, run.invocation.function
            );
            let mut rec = self.record(&d.name, &a, d.last_now, None, &a.snap, "cancelled");
            rec.interruptions = run.interruptions;
            if let Err(e) = self
                .store
                .finish_on(Some(slot), &rec, self.cfg.limits.history)
            {
                d.last_error = Some(e.to_string());
            }
            return;
        }
        eprintln!(
            "nfbpf agent: device {} stopped answering ({reason}): invocation #{} ({}) interrupted after {:.3} s of {} s; it moves to the next free device",
            d.name,
            run.invocation.id,
            run.invocation.function,
            run.elapsed_s,
            run.invocation.run_time
        );
        // The interruption is kept with the run (a restart resumes it
        // with the record).
        if let Err(e) = self.store.park(slot, &run) {
            d.last_error = Some(e.to_string());
        }
        g.resume.push(Pending {
            run,
            restarted: false,
        });
        g.resume.sort_by_key(|p| p.run.invocation.id);
    }

    /// The most devices that may run invocations of `function` at once:
    /// its OpenFaaS replicas (at least 1: the agent's own API invokes a
    /// function scaled to 0 too).
    /// A record that cannot be read counts as 1 replica: one bad record
    /// must not stop the schedule.
    fn replicas(&self, function: &str) -> usize {
        match self.store.faas::<crate::openfaas::Deployment>(function) {
            Ok(Some(d)) => usize::try_from(d.replicas).unwrap_or(usize::MAX).max(1),
            Ok(None) | Err(_) => 1,
        }
    }

    /// What each device takes next (None: nothing for it). Pending runs
    /// first, then the queue in order; devices in the order they become
    /// free (idle ones first, the one with the fewest runs started first,
    /// then by deadline); an invocation whose function runs on as many
    /// devices as its replicas waits and the next one goes.
    fn plan(&self, g: &Inner) -> Result<Vec<Option<Next>>, String> {
        let n = g.devs.len();
        let mut out = vec![None; n];
        let up: Vec<usize> = (0..n).filter(|&s| g.devs[s].up()).collect();
        if up.is_empty() {
            return Ok(out);
        }
        let want = if n == 1 { 1 } else { LOOKAHEAD };
        let mut cands: Vec<Next> = g
            .resume
            .iter()
            .map(|p| Next {
                run: p.run.clone(),
                pending: true,
                restarted: p.restarted,
            })
            .collect();
        if cands.len() < want {
            let (_, head) = self
                .store
                .queue_head(want - cands.len())
                .map_err(|e| e.to_string())?;
            cands.extend(head.into_iter().map(|invocation| Next {
                run: Running {
                    invocation,
                    version: 0,
                    elapsed_s: 0.0,
                    started_ms: 0,
                    resumed: 0,
                    interruptions: Vec::new(),
                },
                pending: false,
                restarted: false,
            }));
        }
        if n == 1 {
            out[0] = cands.into_iter().next();
            return Ok(out);
        }
        let mut order = up;
        order.sort_by(|&a, &b| {
            let (da, db) = (&g.devs[a], &g.devs[b]);
            let key = |d: &Dev| d.active.as_ref().map(|a| a.deadline_s - d.last_now);
            match (key(da), key(db)) {
                (None, None) => da.runs.cmp(&db.runs).then(a.cmp(&b)),
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => x.total_cmp(&y).then(a.cmp(&b)),
            }
        });
        let mut running: std::collections::HashMap<String, usize> = Default::default();
        for d in g.devs.iter().filter(|d| d.up()) {
            if let Some(a) = &d.active {
                *running
                    .entry(a.run.invocation.function.clone())
                    .or_default() += 1;
            }
        }
        let mut caps: std::collections::HashMap<String, usize> = Default::default();
        let mut taken = vec![false; cands.len()];
        for slot in order {
            // Its own run ends before it takes the next.
            if let Some(a) = &g.devs[slot].active
                && let Some(c) = running.get_mut(&a.run.invocation.function)
            {
                *c = c.saturating_sub(1);
            }
            for (i, c) in cands.iter().enumerate() {
                if taken[i] {
                    continue;
                }
                let f = &c.run.invocation.function;
                let cap = match caps.get(f) {
                    Some(&c) => c,
                    None => {
                        let c = self.replicas(f);
                        caps.insert(f.clone(), c);
                        c
                    }
                };
                let now = running.entry(f.clone()).or_default();
                if *now < cap {
                    *now += 1;
                    taken[i] = true;
                    out[slot] = Some(c.clone());
                    break;
                }
            }
        }
        Ok(out)
    }

    /// One step of device `slot`: swap in `next` at the deadline (or end
    /// the run), else stage `next` ahead and checkpoint.
    fn tick_dev(
        &self,
        slot: usize,
        d: &mut Dev,
        next: Option<Next>,
        resume: &mut Vec<Pending>,
    ) -> Result<(), String> {
        let r = self.tick_dev_at(slot, d, next, resume);
        // An embedded model waits at the running function's deadline for
        // this thread to swap (however late a busy host runs it), so a
        // run lasts its run time in device time; past it (a swap that
        // failed, to be tried again) or with no run, it runs free.
        if let Some(m) = &d.model {
            let deadline = d
                .active
                .as_ref()
                .and_then(|a| d.clock.cycle_at(a.deadline_s))
                .filter(|&c| c > d.clock.last_cycle);
            m.hold_at(deadline);
        }
        r
    }

    fn tick_dev_at(
        &self,
        slot: usize,
        d: &mut Dev,
        next: Option<Next>,
        resume: &mut Vec<Pending>,
    ) -> Result<(), String> {
        let (now, _) = d.clock.now(&mut *d.bus).map_err(|e| e.to_string())?;
        d.last_now = now;
        self.try_clear(d)?;
        pump(d);
        let due = match &d.active {
            Some(a) => d.cancel || now >= a.deadline_s || a.lambda_done(),
            None => true,
        };
        if due {
            match next {
                Some(n) => {
                    let id = n.run.invocation.id;
                    match self.swap_in(slot, d, n, now) {
                        Ok(()) => {
                            resume.retain(|p| p.run.invocation.id != id);
                            Ok(())
                        }
                        Err(f) => {
                            if f.dropped {
                                resume.retain(|p| p.run.invocation.id != id);
                            }
                            Err(f.msg)
                        }
                    }
                }
                None => {
                    if d.active.is_some() {
                        self.end_active(slot, d, now)?;
                    }
                    Ok(())
                }
            }
        } else {
            if let Some(n) = next {
                self.stage_ahead(d, &n.run, now, false)?;
            }
            if d.last_checkpoint.elapsed() >= CHECKPOINT
                && let Some(a) = &mut d.active
            {
                a.run.elapsed_s = a.base_elapsed + (now - a.start_s);
                // Written by the checkpoint thread: a slow disk sync must not
                // delay the tick (and so the swap).
                let (slots, cv) = &*self.checkpoint;
                slots
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(slot, a.run.clone());
                cv.notify_one();
                d.last_checkpoint = Instant::now();
            }
            Ok(())
        }
    }

    /// Empty the outgoing function's half of the map table once every
    /// engine is done with the packets it had taken by the swap.
    fn try_clear(&self, d: &mut Dev) -> Result<bool, String> {
        let Some(c) = &d.clear else { return Ok(true) };
        if !drained(&mut *d.bus, &c.taken).map_err(|e| e.to_string())? {
            return Ok(false);
        }
        program::clear_rows(&mut *d.bus, c.base, HALF)
            .map_err(|e| format!("clearing map rows {}..{}: {e}", c.base, c.base + HALF))?;
        d.clear = None;
        Ok(true)
    }

    /// Write `n`'s function into the idle bank unless it is there already
    /// (same invocation, same function version). A function with maps gets
    /// them (and its rules) in the half of the map table the running
    /// function does not use, once the function before that one is gone from
    /// it; at the swap (`at_swap`) that half is taken over regardless.
    fn stage_ahead(&self, d: &mut Dev, n: &Running, now: f64, at_swap: bool) -> Result<(), String> {
        let f = self
            .store
            .function(&n.invocation.function)
            .map_err(|e| e.to_string())?;
        let Some(f) = f else { return Ok(()) };
        if d.staged
            .as_ref()
            .is_some_and(|s| s.id == n.invocation.id && s.version == f.version)
        {
            return Ok(());
        }
        d.staged = None;
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
        let idle = match d.rows {
            Some((b, n)) if b + n <= HALF => Some(HALF),
            Some((b, _)) if b >= HALF => Some(0),
            _ => None,
        };
        let image = if let Some(base) = idle
            && !image.maps.is_empty()
            && image.maps.len() <= HALF
            && d.rows_ok
        {
            if !self.try_clear(d)? && !at_swap {
                // Engines still hold packets of the function before the
                // running one, on that half: next tick.
                return Ok(());
            }
            d.clear = None;
            let placed = image
                .at_map_row(base)
                .map_err(|e| format!("staging {}: {e}", f.name))?;
            let bus = &mut *d.bus;
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
                    d.rows_ok = false;
                    image
                }
                Err(e) => return Err(format!("staging {}: {e}", f.name)),
            }
        } else {
            image
        };
        program::stage(&mut *d.bus, &image).map_err(|e| format!("staging {}: {e}", f.name))?;
        d.staged = Some(Staged {
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

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        device: &str,
        a: &Active,
        end_s: f64,
        end_cycle: Option<u64>,
        snap: &Snap,
        outcome: &str,
    ) -> RunRecord {
        let (outcome, response) = lambda_outcome(a, outcome);
        RunRecord {
            id: a.run.invocation.id,
            function: a.run.invocation.function.clone(),
            version: a.run.version,
            run_time: a.run.invocation.run_time,
            outcome,
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
            device: Some(device.to_string()),
            interruptions: a.run.interruptions.clone(),
            owner: if a.run.invocation.request.is_some() {
                a.run.invocation.owner.clone()
            } else {
                String::new()
            },
            response,
        }
    }

    /// The active run ends with nothing to follow: its program stays loaded.
    fn end_active(&self, slot: usize, d: &mut Dev, now: f64) -> Result<(), String> {
        let snap = snapshot(&mut *d.bus, d.engines).map_err(|e| e.to_string())?;
        let (_, c) = d.clock.now(&mut *d.bus).map_err(|e| e.to_string())?;
        let outcome = if d.cancel { "cancelled" } else { "completed" };
        if let Some(a) = d.active.take() {
            let rec = self.record(&d.name, &a, now, c, &snap, outcome);
            self.store
                .finish_on(Some(slot), &rec, self.cfg.limits.history)
                .map_err(|e| e.to_string())?;
        }
        d.cancel = false;
        Ok(())
    }

    /// Swap `n` in on device `slot` (ending its active run, if any).
    fn swap_in(&self, slot: usize, d: &mut Dev, mut n: Next, now: f64) -> Result<(), SwapFailed> {
        match self.try_swap(slot, d, &mut n, now) {
            Ok(()) => {
                d.failures = 0;
                Ok(())
            }
            Err(e) => {
                d.staged = None;
                d.failures += 1;
                let dropped = d.failures >= ATTEMPTS;
                if dropped {
                    // Drop the invocation: it joins the timeline as failed.
                    d.failures = 0;
                    if !n.pending {
                        let _ = self.store.dequeue(n.run.invocation.id);
                    }
                    let rec = RunRecord {
                        id: n.run.invocation.id,
                        function: n.run.invocation.function.clone(),
                        version: n.run.version,
                        run_time: n.run.invocation.run_time,
                        outcome: format!("failed: {e}"),
                        started_ms: now_ms(),
                        ended_ms: now_ms(),
                        start_s: now,
                        deadline_s: now,
                        end_s: now,
                        staged_ahead_s: None,
                        resumed: n.run.resumed,
                        start_cycle: None,
                        end_cycle: None,
                        counters: Counters::default(),
                        map_rows_ahead: None,
                        device: Some(d.name.clone()),
                        interruptions: n.run.interruptions.clone(),
                        response: None,
                        owner: String::new(),
                    };
                    let _ = self.store.finish_on(None, &rec, self.cfg.limits.history);
                }
                Err(SwapFailed { msg: e, dropped })
            }
        }
    }

    fn try_swap(&self, slot: usize, d: &mut Dev, n: &mut Next, now: f64) -> Result<(), String> {
        let f = self
            .store
            .function(&n.run.invocation.function)
            .map_err(|e| e.to_string())?;
        // A lambda already loaded (same version) runs again without a
        // swap: its maps, its state, are as its last run left them.
        if let Some(f) = &f
            && f.lambda.is_some()
            && d.loaded.as_deref() == Some(f.name.as_str())
            && d.loaded_version == Some(f.version)
            && d.active
                .as_ref()
                .is_none_or(|a| a.run.invocation.function == f.name)
        {
            d.staged = None;
            let snap = snapshot(&mut *d.bus, d.engines).map_err(|e| e.to_string())?;
            return self.begin(slot, d, n, f.version, snap, None, None, now);
        }
        self.stage_ahead(d, &n.run, now, true)?;
        let Some(st) = d.staged.take() else {
            return Err(format!(
                "invocation {}: function `{}` is not registered",
                n.run.invocation.id, n.run.invocation.function
            ));
        };
        // The counters and the swap (map table and rules unless staged
        // ahead, FLIP). On the embedded model they happen within one hold of
        // the device (no clock passes in between).
        let (snap, taken) = match d.model.clone() {
            Some(mut m) => {
                let mut dev = m.lock().map_err(|e| e.to_string())?;
                let snap = snapshot(&mut *dev, d.engines).map_err(|e| e.to_string())?;
                (snap, swap_registers(&mut *dev, &st, d.engines)?)
            }
            None => {
                let snap = snapshot(&mut *d.bus, d.engines).map_err(|e| e.to_string())?;
                (snap, swap_registers(&mut *d.bus, &st, d.engines)?)
            }
        };
        let (maps, base) = (st.image.maps.len(), st.image.map_base);
        let map_rows_ahead = st.maps_ahead.then_some([base, maps]);
        if st.maps_ahead {
            // The outgoing function's half goes once the engines are done
            // with its packets.
            if let Some((old, _)) = d.rows {
                d.clear = Some(Clear {
                    base: if old < HALF { 0 } else { HALF },
                    taken,
                });
            }
            d.rows = Some((base, maps));
        } else if maps > 0 {
            // The whole table was rewritten (`configure`).
            d.rows = Some((base, maps));
            d.clear = None;
        }
        d.loaded = Some(st.function.clone());
        self.begin(
            slot,
            d,
            n,
            st.version,
            snap,
            Some(st.at_s),
            map_rows_ahead,
            now,
        )
    }

    /// Start `n` on device `slot` with its program in place (swapped in,
    /// or already loaded): the active run ends, the new one is recorded as
    /// running, and a lambda's request goes out.
    #[allow(clippy::too_many_arguments)]
    fn begin(
        &self,
        slot: usize,
        d: &mut Dev,
        n: &mut Next,
        version: u64,
        snap: Snap,
        staged_at: Option<f64>,
        map_rows_ahead: Option<[usize; 2]>,
        now: f64,
    ) -> Result<(), String> {
        let (t, c) = d.clock.now(&mut *d.bus).map_err(|e| e.to_string())?;
        let ahead = staged_at.and_then(|at| (at < now).then_some(t - at));
        if let Some(a) = d.active.take() {
            let outcome = if d.cancel { "cancelled" } else { "completed" };
            let rec = self.record(&d.name, &a, t, c, &snap, outcome);
            self.store
                .finish_on(Some(slot), &rec, self.cfg.limits.history)
                .map_err(|e| e.to_string())?;
        }
        d.cancel = false;
        let run = &mut n.run;
        run.version = version;
        run.started_ms = now_ms();
        let base = run.elapsed_s;
        if n.restarted {
            run.resumed += 1;
        }
        self.store
            .start_on(slot, run, n.pending)
            .map_err(|e| e.to_string())?;
        d.loaded_version = Some(version);
        d.runs += 1;
        let (lambda, lambda_error) = match &run.invocation.request {
            None => (None, None),
            Some(b64) => self.exchange(d, &run.invocation, b64),
        };
        d.active = Some(Active {
            run: run.clone(),
            base_elapsed: base,
            start_s: t,
            deadline_s: t + (f64::from(run.invocation.run_time) - base).max(0.0),
            start_cycle: c,
            snap,
            staged_ahead_s: ahead,
            map_rows_ahead,
            lambda,
            lambda_error,
        });
        d.last_checkpoint = Instant::now();
        pump(d);
        Ok(())
    }

    /// A lambda invocation's exchange, its frames not sent yet (`pump`
    /// sends them); answers left over from earlier requests are dropped
    /// first. Or why it cannot run.
    fn exchange(
        &self,
        d: &mut Dev,
        inv: &Invocation,
        b64: &str,
    ) -> (Option<Exchange>, Option<String>) {
        use base64::Engine as _;
        let spec = match self.store.function(&inv.function) {
            Ok(Some(f)) => f.lambda,
            Ok(None) => None,
            Err(e) => return (None, Some(e.to_string())),
        };
        let Some(spec) = spec else {
            return (
                None,
                Some(format!(
                    "function `{}` is not a lambda any more: its request was not sent",
                    inv.function
                )),
            );
        };
        let Ok(body) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            return (None, Some("the stored request is not base64".into()));
        };
        for _ in 0..crate::lambda::STALE_MAX {
            match d.bus.host_recv() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return (None, Some(format!("reading the device's answers: {e}"))),
            }
        }
        match Exchange::new(spec.id, spec.port, inv.id as u32, &body) {
            Some(x) => (Some(x), None),
            None => (
                None,
                Some(format!(
                    "a request of {} bytes needs too many chunks",
                    body.len()
                )),
            ),
        }
    }

    /// Cancel invocation `id`: a running one ends at its device's next
    /// tick (the next queued one is swapped in), a pending or queued one
    /// leaves.
    pub fn cancel(&self, id: u64) -> Result<Cancelled, StoreError> {
        let mut guard = self.lock();
        let g = &mut *guard;
        for d in g.devs.iter_mut() {
            if let Some(a) = &d.active
                && a.run.invocation.id == id
            {
                let inv = a.run.invocation.clone();
                d.cancel = true;
                return Ok(Cancelled::Running(inv));
            }
        }
        if let Some(i) = g.resume.iter().position(|p| p.run.invocation.id == id) {
            let p = g.resume.remove(i);
            let r = p.run;
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
                device: r.interruptions.last().map(|i| i.device.clone()),
                interruptions: r.interruptions.clone(),
                response: None,
                owner: String::new(),
            };
            self.store.finish_on(None, &rec, self.cfg.limits.history)?;
            for d in g.devs.iter_mut() {
                if d.staged.as_ref().is_some_and(|s| s.id == id) {
                    d.staged = None;
                }
            }
            return Ok(Cancelled::Running(r.invocation));
        }
        match self.store.dequeue(id)? {
            Some(inv) => {
                for d in g.devs.iter_mut() {
                    if d.staged.as_ref().is_some_and(|s| s.id == id) {
                        d.staged = None;
                    }
                }
                Ok(Cancelled::Queued(inv))
            }
            None => Ok(Cancelled::NotFound),
        }
    }

    /// One device's part of `GET /status`.
    fn device_status(d: &mut Dev) -> serde_json::Value {
        use serde_json::json;
        let now = if d.up() {
            d.clock.now(&mut *d.bus).ok()
        } else {
            None
        };
        let (now_s, cycle) = match now {
            Some((t, c)) => (Some(t), c),
            None => (None, None),
        };
        let engines = d.engines;
        let counters = if d.up() {
            // The active bank's instruction budget per packet.
            let budget = d.bus.read32(regs::BUDGET).ok();
            match snapshot(&mut *d.bus, engines) {
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
            }
        } else {
            json!({ "error": "the device does not answer" })
        };
        let running = d.active.as_ref().map(|a| {
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
                "cancelling": d.cancel,
                "interruptions": a.run.interruptions.len(),
            })
        });
        let staged = d.staged.as_ref().map(|s| {
            json!({
                "id": s.id, "function": s.function, "version": s.version, "staged_at_s": s.at_s,
                "map_rows": s.maps_ahead.then_some([s.image.map_base, s.image.maps.len()]),
            })
        });
        let conservation = d.model.clone().and_then(|mut m| {
            let dev = m.lock().ok()?;
            let mut c = Counters::default();
            for e in 0..dev.config().engines {
                let x = dev.engine_counters(e)?;
                c.pkt_in += x.pkt_in;
                c.pkt_out += x.pkt_out;
                c.dropped += x.dropped;
                c.faults += x.faults;
            }
            for p in 0..PORTS {
                let x = dev.port_counters(p)?;
                c.rx += x.rx;
                c.rx_dropped += x.rx_dropped;
                c.tx += x.tx;
            }
            // Counted out at their verdicts: the packets before it are the
            // ones inside (the egress may still hold some counted out).
            let in_flight = dev.awaiting_verdict() as u64;
            Some(json!({
                "pkt_in": c.pkt_in, "pkt_out": c.pkt_out, "dropped": c.dropped,
                "faults": c.faults, "in_flight": in_flight,
                "rx": c.rx, "rx_dropped": c.rx_dropped,
                "lost": (c.pkt_in as i128) - (c.pkt_out + c.dropped + c.faults + in_flight) as i128,
                "rx_unaccounted": (c.rx as i128) - (c.pkt_in + c.rx_dropped) as i128,
            }))
        });
        let (state, down) = match &d.health {
            Health::Up => ("answering", None),
            Health::Down {
                since_ms, reason, ..
            } => (
                "stopped",
                Some(json!({ "since_ms": since_ms, "reason": reason })),
            ),
        };
        json!({
            "target": d.name,
            "state": state,
            "stopped": down,
            "engines": d.engines,
            "runs": d.runs,
            "clock": d.clock.source,
            "now_s": now_s,
            "cycle": cycle,
            "loaded": d.loaded,
            "map_rows": d.rows.map(|(b, n)| [b, n]),
            "map_rows_clearing": d.clear.as_ref().map(|c| [c.base, HALF]),
            "running": running,
            "next_staged": staged,
            "device": counters,
            "conservation": conservation,
            "last_error": d.last_error,
        })
    }

    /// The status document of `GET /status`: every device under
    /// `devices`; the first device's fields (the only one's, with one
    /// device) also at the top, as one-device agents wrote them.
    pub fn status(&self) -> Result<serde_json::Value, StoreError> {
        use serde_json::json;
        let mut guard = self.lock();
        let g = &mut *guard;
        // Read under the lock: a run the scheduler just ended is either
        // still `running` or already in the timeline.
        let (queue_len, queue) = self.store.queue_head(QUEUE_SHOWN)?;
        let timeline = self.store.history(TIMELINE)?;
        let scale = g.devs[0].clock.scale;
        let devices: Vec<serde_json::Value> = g.devs.iter_mut().map(Self::device_status).collect();
        let pending: Vec<serde_json::Value> = g
            .resume
            .iter()
            .map(|p| {
                json!({
                    "id": p.run.invocation.id,
                    "function": p.run.invocation.function,
                    "elapsed_s": p.run.elapsed_s,
                    "moved_from": p.run.interruptions.last().filter(|_| !p.restarted).map(|i| &i.device),
                })
            })
            .collect();
        let first = &devices[0];
        let answering = g.devs.iter().filter(|d| d.up()).count();
        Ok(json!({
            "target": self.names.join(", "),
            "clock": first["clock"],
            "time_scale": scale,
            "now_s": first["now_s"],
            "cycle": first["cycle"],
            "loaded": first["loaded"],
            "map_rows": first["map_rows"],
            "map_rows_clearing": first["map_rows_clearing"],
            "running": first["running"],
            "resume_pending": pending.first(),
            "pending": pending,
            "next_staged": first["next_staged"],
            "queue": {
                "length": queue_len,
                "head": redact(json!(queue)),
            },
            "timeline": redact(json!(timeline)),
            "device": first["device"],
            "conservation": first["conservation"],
            "last_error": first["last_error"],
            "answering": answering,
            "devices": devices,
            "interrupted": g.interrupted,
        }))
    }
}
