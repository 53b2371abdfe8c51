//! A data plane run as a board: a [`Board`] (the model [`Device`] or the
//! RTL [`RtlDevice`]) behind a mutex, a clock thread that steps it (feeding
//! it traffic, if any, in simulated time), and its register interface for
//! in-process hosts ([`SharedBus`]) and for other processes on a Unix socket
//! ([`Host::serve_socket`], the protocol of `loader::bus::socket`).
//! `nfbpf device serve` (both backends) and the agent's embedded device run
//! on this.
//!
//! The harness is also the wire between the host and the data plane: a
//! frame the host sends ([`RegisterBus::host_send`] on a [`SharedBus`])
//! has its device sequence number remembered, and the clock thread hands
//! the output of each such packet, whichever way it leaves (an `XDP_TX`
//! back out of its input port, another port, every port, the host), to the
//! host receive queue that [`RegisterBus::host_recv`] reads. Both are
//! bounded in memory: at most [`HOST_RECV_QUEUE`] frames wait (past it the
//! oldest is dropped and counted, [`HostWire::dropped`]), and at most
//! [`HOST_PENDING`] sent packets are remembered (past it the oldest is
//! forgotten and counted); a packet the program drops has no output, so
//! whenever the device is empty the packets still remembered are
//! forgotten. Other frames (the `--traffic` generator's) leave as before.
//! Only a board that says which sequence number a frame takes
//! ([`Board::next_seq`]: the model) has the receive path; on the RTL board
//! a frame waiting for its port takes its number later, and `host_recv`
//! answers with an error saying so.
//!
//! Simulated time runs as fast as the host steps the model (a few million
//! device clocks per second), so device time passes much slower than the
//! wall clock; the cycle counter (`CYCLELO`/`CYCLEHI`) is its clock.

#[cfg(feature = "rtl")]
use crate::device::RtlDevice;
use nfbpf_loader::bus::socket;
use nfbpf_vm::device::{Device, Output, PORTS};
use nfbpf_vm::regs::{BusError, HostFrame, RegisterBus};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Parsed `--traffic`: frames of `bytes` on each of `ports`, `gap_cycles`
/// device clocks apart on one port.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    pub ports: Vec<usize>,
    pub bytes: usize,
    /// Clocks between frames on one port.
    pub gap_cycles: f64,
}

/// A `--traffic` spec that cannot be used; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TrafficError(pub String);

/// Distinct flows (source addresses) the host's traffic cycles through.
pub const FLOWS: u32 = 16;

/// `PORTS:BYTES[:GBPS]`, e.g. `0,1:64:10` (10 Gb/s of 64-byte frames on
/// ports 0 and 1, preamble and inter-frame gap counted).
pub fn parse_traffic(s: &str) -> Result<Traffic, TrafficError> {
    let bad = |m: String| TrafficError(format!("--traffic `{s}`: {m}"));
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad("expected PORTS:BYTES[:GBPS], e.g. 0,1:64:10".into()));
    }
    let ports = parts[0]
        .split(',')
        .map(|p| match p.parse::<usize>() {
            Ok(n) if n < PORTS => Ok(n),
            _ => Err(bad(format!("port `{p}` is not 0..{}", PORTS - 1))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = parts[1]
        .parse()
        .ok()
        .filter(|b| (14..=1500).contains(b))
        .ok_or_else(|| bad(format!("frame size `{}` is not 14..1500 bytes", parts[1])))?;
    let gbps: f64 = match parts.get(2) {
        Some(g) => g
            .parse()
            .ok()
            .filter(|g: &f64| *g > 0.0 && *g <= 10.0)
            .ok_or_else(|| bad(format!("rate `{g}` is not 0..10 Gb/s")))?,
        None => 10.0,
    };
    // 20 bytes of preamble and inter-frame gap per frame on the wire.
    let secs = ((bytes + 20) * 8) as f64 / (gbps * 1e9);
    Ok(Traffic {
        ports,
        bytes,
        gap_cycles: secs * nfbpf_vm::contract::CLOCK_HZ as f64,
    })
}

/// What a [`Host`] runs: a data plane with registers, frames in and a clock.
pub trait Board: RegisterBus + Send + 'static {
    /// Clocks stepped per hold of the device lock (register requests get the
    /// device between chunks): a few milliseconds of host time.
    const CHUNK: usize;
    fn cycle(&self) -> u64;
    fn rx(&mut self, port: usize, frame: &[u8]) -> bool;
    fn step(&mut self);
    fn in_flight(&self) -> usize;
    fn take_outputs(&mut self) -> Vec<Output>;
    /// The sequence number ([`Output::seq`]) the next frame accepted by
    /// [`Board::rx`] gets at once, when the board knows it (`None`: the
    /// host receive path is not available on this board).
    fn next_seq(&self) -> Option<u64> {
        None
    }
}

/// Frames waiting in the host receive queue, at most.
pub const HOST_RECV_QUEUE: usize = 256;
/// Sent packets remembered (awaiting their output), at most.
pub const HOST_PENDING: usize = 4096;

/// The host's side of the wire: the packets it sent that have not left the
/// data plane yet, and the outputs of those that did.
#[derive(Debug, Default)]
pub struct HostWire {
    /// Sequence numbers (ascending) and input ports of sent packets.
    pending: VecDeque<(u64, usize)>,
    queue: VecDeque<HostFrame>,
    /// Frames dropped from the full receive queue (oldest first).
    pub dropped: u64,
    /// Sent packets forgotten before their output came (more than
    /// [`HOST_PENDING`] in flight).
    pub forgotten: u64,
}

impl HostWire {
    fn sent(&mut self, seq: u64, port: usize) {
        if self.pending.len() >= HOST_PENDING {
            self.pending.pop_front();
            self.forgotten += 1;
        }
        self.pending.push_back((seq, port));
    }

    /// Hand the outputs of sent packets to the queue; `empty`: the device
    /// holds no packet any more (the ones still pending were dropped).
    fn route(&mut self, outs: Vec<Output>, empty: bool) {
        if !self.pending.is_empty() {
            for o in outs {
                let Ok(i) = self.pending.binary_search_by_key(&o.seq, |&(s, _)| s) else {
                    continue;
                };
                let (_, port) = self.pending.remove(i).unwrap_or((o.seq, 0));
                if self.queue.len() >= HOST_RECV_QUEUE {
                    self.queue.pop_front();
                    self.dropped += 1;
                }
                self.queue.push_back(HostFrame {
                    port,
                    dest: o.dest,
                    frame: o.frame,
                });
            }
        }
        if empty {
            self.pending.clear();
        }
    }

    /// Frames waiting in the receive queue.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }
}

impl Board for Device {
    const CHUNK: usize = 2000;
    fn cycle(&self) -> u64 {
        Device::cycle(self)
    }
    fn rx(&mut self, port: usize, frame: &[u8]) -> bool {
        Device::rx(self, port, frame)
    }
    fn step(&mut self) {
        Device::step(self)
    }
    fn in_flight(&self) -> usize {
        Device::in_flight(self)
    }
    fn take_outputs(&mut self) -> Vec<Output> {
        Device::take_outputs(self)
    }
    fn next_seq(&self) -> Option<u64> {
        Some(Device::next_seq(self))
    }
}

#[cfg(feature = "rtl")]
impl Board for RtlDevice {
    // The Verilated data plane steps about 60 K clocks per second.
    const CHUNK: usize = 150;
    fn cycle(&self) -> u64 {
        RtlDevice::cycle(self)
    }
    fn rx(&mut self, port: usize, frame: &[u8]) -> bool {
        RtlDevice::rx(self, port, frame)
    }
    fn step(&mut self) {
        RtlDevice::step(self)
    }
    fn in_flight(&self) -> usize {
        RtlDevice::in_flight(self)
    }
    fn take_outputs(&mut self) -> Vec<Output> {
        RtlDevice::take_outputs(self)
    }
}

/// A running board.
#[derive(Debug)]
pub struct Host<B: Board = Device> {
    dev: Arc<Mutex<B>>,
    wire: Arc<Mutex<HostWire>>,
    waiting: Arc<AtomicUsize>,
    /// The cycle the clock stops at until its host moves it
    /// ([`SharedBus::hold_at`]; `u64::MAX`: none).
    hold: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    clock: Option<JoinHandle<()>>,
}

/// The model run as a board (the agent's embedded device).
pub type ModelHost = Host<Device>;

impl<B: Board + std::fmt::Debug> Host<B> {
    /// Start the clock thread of `dev`, feeding it `traffic`.
    pub fn start(dev: B, traffic: Option<Traffic>) -> Host<B> {
        let dev = Arc::new(Mutex::new(dev));
        let stop = Arc::new(AtomicBool::new(false));
        let waiting = Arc::new(AtomicUsize::new(0));
        let wire = Arc::new(Mutex::new(HostWire::default()));
        let hold = Arc::new(AtomicU64::new(u64::MAX));
        let (d, s, w) = (Arc::clone(&dev), Arc::clone(&stop), Arc::clone(&waiting));
        let (hw, h) = (Arc::clone(&wire), Arc::clone(&hold));
        let clock = std::thread::spawn(move || clock_loop(&d, &hw, &s, &w, &h, traffic));
        Host {
            dev,
            wire,
            waiting,
            hold,
            stop,
            clock: Some(clock),
        }
    }

    /// The device, for direct inspection (counters, outputs).
    pub fn device(&self) -> Arc<Mutex<B>> {
        Arc::clone(&self.dev)
    }

    /// A register bus onto the device for an in-process host.
    pub fn bus(&self) -> SharedBus<B> {
        SharedBus {
            dev: Arc::clone(&self.dev),
            wire: Arc::clone(&self.wire),
            waiting: Arc::clone(&self.waiting),
            hold: Arc::clone(&self.hold),
        }
    }

    /// Serve the register protocol on `listener` ([`socket::serve`]): one
    /// thread per client, within `limits` (line length, clients at once,
    /// idle time; [`socket::Limits::default`] for the defaults). Never
    /// returns.
    pub fn serve_socket(
        &self,
        listener: std::os::unix::net::UnixListener,
        limits: &socket::Limits,
    ) -> ! {
        socket::serve(&listener, limits, || {
            let mut bus = self.bus();
            let wire = Arc::clone(&self.wire);
            move |f: &mut dyn FnMut(&mut dyn RegisterBus) -> String| match bus.lock() {
                Ok(mut g) => f(&mut Held {
                    dev: &mut *g,
                    wire: &wire,
                }),
                Err(_) => "ERR the device thread stopped\n".to_string(),
            }
        })
    }
}

impl<B: Board> Drop for Host<B> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.clock.take() {
            let _ = t.join();
        }
    }
}

/// The clock: steps while there is work, in chunks; between chunks it lets
/// every waiting register access in first (a plain mutex would let the
/// clock thread take the lock again at once and starve the host). It does
/// not step past the cycle `hold` names until the host moves it.
fn clock_loop<B: Board>(
    dev: &Mutex<B>,
    wire: &Mutex<HostWire>,
    stop: &AtomicBool,
    waiting: &AtomicUsize,
    hold: &AtomicU64,
    traffic: Option<Traffic>,
) {
    // One frame per flow, built once (the sequence number in the IP ID is
    // the flow's).
    let frames: Vec<Vec<u8>> = traffic.as_ref().map_or_else(Vec::new, |t| {
        (0..FLOWS)
            .map(|f| crate::traffic::build(t.bytes, f, crate::traffic::Proto::Udp, u64::from(f)))
            .collect()
    });
    let mut next = 0.0f64;
    let mut k = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let (idle, held) = {
            let Ok(mut d) = dev.lock() else { return };
            let mut held = false;
            for _ in 0..B::CHUNK {
                if d.cycle() >= hold.load(Ordering::Acquire) {
                    held = true;
                    break;
                }
                if let Some(t) = &traffic {
                    if d.cycle() as f64 >= next {
                        for &p in &t.ports {
                            d.rx(p, &frames[k % frames.len()]);
                            k += 1;
                        }
                        next += t.gap_cycles;
                    }
                } else if d.in_flight() == 0 {
                    break;
                }
                d.step();
            }
            let outs = d.take_outputs();
            let empty = d.in_flight() == 0;
            // Lock order: the device, then the wire (as SharedBus::host_send).
            match wire.lock() {
                Ok(mut w) => w.route(outs, empty),
                Err(_) => return,
            }
            (traffic.is_none() && empty, held)
        };
        if idle {
            std::thread::sleep(std::time::Duration::from_millis(2));
        } else if held {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        while waiting.load(Ordering::Acquire) > 0 && !stop.load(Ordering::Relaxed) {
            std::thread::yield_now();
        }
    }
}

/// [`RegisterBus`] onto a [`Host`]'s device: each access takes the lock,
/// ahead of the clock thread.
#[derive(Debug)]
pub struct SharedBus<B = Device> {
    dev: Arc<Mutex<B>>,
    wire: Arc<Mutex<HostWire>>,
    waiting: Arc<AtomicUsize>,
    hold: Arc<AtomicU64>,
}

impl<B> Clone for SharedBus<B> {
    fn clone(&self) -> Self {
        SharedBus {
            dev: Arc::clone(&self.dev),
            wire: Arc::clone(&self.wire),
            waiting: Arc::clone(&self.waiting),
            hold: Arc::clone(&self.hold),
        }
    }
}

fn stopped() -> BusError {
    BusError::Transport("the device's clock thread stopped".into())
}

impl<B> SharedBus<B> {
    /// The device, locked ahead of the clock thread.
    pub fn lock(&mut self) -> Result<std::sync::MutexGuard<'_, B>, BusError> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let g = self.dev.lock();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        g.map_err(|_| stopped())
    }

    /// Stop the clock at `cycle` (it steps no further until this is called
    /// again), or let it run (`None`): a host that acts at a clock (the
    /// agent's scheduler at a run's deadline) then acts at that clock
    /// however late its thread runs. Register accesses go on meanwhile.
    pub fn hold_at(&self, cycle: Option<u64>) {
        self.hold
            .store(cycle.unwrap_or(u64::MAX), Ordering::Release);
    }

    /// The host receive queue's counts: frames waiting, frames dropped
    /// from it when full, sent packets forgotten before their output.
    pub fn host_queue(&self) -> Result<(usize, u64, u64), BusError> {
        let w = self.wire.lock().map_err(|_| stopped())?;
        Ok((w.waiting(), w.dropped, w.forgotten))
    }
}

impl<B: Board> RegisterBus for SharedBus<B> {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        self.lock()?.read32(off)
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        self.lock()?.write32(off, v)
    }
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        let wire = Arc::clone(&self.wire);
        send_tracked(&mut *self.lock()?, &wire, port, frame)
    }

    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        let wire = Arc::clone(&self.wire);
        recv(&*self.lock()?, &wire)
    }
}

/// The frame enters the device; on a board that says which sequence number
/// it took, the harness remembers it (under the device's lock, before the
/// clock can step) so its output comes back to [`RegisterBus::host_recv`].
fn send_tracked<B: Board>(
    d: &mut B,
    wire: &Mutex<HostWire>,
    port: usize,
    frame: &[u8],
) -> Result<(), BusError> {
    let before = d.next_seq();
    d.host_send(port, frame)?;
    if let (Some(b), Some(a)) = (before, d.next_seq())
        && a > b
    {
        wire.lock().map_err(|_| stopped())?.sent(b, port);
    }
    Ok(())
}

fn recv<B: Board>(d: &B, wire: &Mutex<HostWire>) -> Result<Option<HostFrame>, BusError> {
    if d.next_seq().is_none() {
        return Err(BusError::Transport(
            "this board hands no frames back to the host: the RTL board's harness cannot tell which outputs answer the host's frames (a frame waiting for its port takes its sequence number later); use the model".into(),
        ));
    }
    Ok(wire.lock().map_err(|_| stopped())?.queue.pop_front())
}

/// The device as held for one socket request: its registers, and the
/// host's side of the wire.
struct Held<'a, B> {
    dev: &'a mut B,
    wire: &'a Mutex<HostWire>,
}

impl<B: Board> RegisterBus for Held<'_, B> {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        self.dev.read32(off)
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        self.dev.write32(off, v)
    }
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        send_tracked(self.dev, self.wire, port, frame)
    }
    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        recv(self.dev, self.wire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_specs() {
        let t = parse_traffic("0,1:64:10").unwrap();
        assert_eq!(t.ports, vec![0, 1]);
        assert!((t.gap_cycles - 13.44).abs() < 1e-9, "{}", t.gap_cycles);
        let e = |s: &str| parse_traffic(s).unwrap_err().to_string();
        assert!(e("4:64").contains("port `4`"));
        assert!(e("0:9000").contains("frame size"));
        assert!(e("0:64:40").contains("rate"));
        assert!(parse_traffic("0").is_err());
    }

    /// A held clock stops at the cycle named and runs on once released;
    /// register accesses go on meanwhile.
    #[test]
    fn a_held_clock_stops_at_its_cycle() {
        use nfbpf_vm::device::DeviceConfig;
        let traffic = parse_traffic("0:64:10").unwrap();
        let host = ModelHost::start(Device::new(DeviceConfig::default()).unwrap(), Some(traffic));
        let bus = host.bus();
        let cycle = || host.device().lock().unwrap().cycle();
        let at = cycle() + 20_000;
        bus.hold_at(Some(at));
        let t = std::time::Instant::now();
        while cycle() < at && t.elapsed() < std::time::Duration::from_secs(20) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(cycle(), at);
        assert_eq!(
            bus.clone().read32(nfbpf_vm::regs::ID),
            Ok(nfbpf_vm::regs::DEVICE_ID)
        );
        bus.hold_at(None);
        let t = std::time::Instant::now();
        while cycle() == at && t.elapsed() < std::time::Duration::from_secs(20) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(cycle() > at);
    }

    /// The model served on a socket within limits: a client past the cap is
    /// told the device is busy, and admitted once a slot frees.
    #[test]
    fn socket_clients_within_the_cap() {
        use nfbpf_loader::bus::socket::{Limits, SocketBus};
        use nfbpf_vm::device::DeviceConfig;
        use nfbpf_vm::regs::{DEVICE_ID, ID, NUMENGINES};
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cap.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let host = ModelHost::start(Device::new(DeviceConfig::default()).unwrap(), None);
        let limits = Limits {
            max_connections: 1,
            ..Limits::default()
        };
        std::thread::spawn(move || host.serve_socket(listener, &limits));
        let mut a = SocketBus::connect(&path).unwrap();
        assert_eq!(a.read32(ID), Ok(DEVICE_ID));
        let e = SocketBus::connect(&path).unwrap().read32(ID).unwrap_err();
        assert!(
            e.to_string().contains("the device is busy: 1 clients"),
            "{e}"
        );
        drop(a);
        let t = std::time::Instant::now();
        let engines = loop {
            match SocketBus::connect(&path).and_then(|mut b| b.read32(NUMENGINES)) {
                Ok(n) => break n,
                Err(e) => {
                    assert!(t.elapsed().as_secs() < 10, "never admitted: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        };
        assert_eq!(engines as usize, DeviceConfig::default().engines);
        let _ = std::fs::remove_file(&path);
    }
}
