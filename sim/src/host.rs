//! A data plane run as a board: a [`Board`] (the model [`Device`] or the
//! RTL [`RtlDevice`]) behind a mutex, a clock thread that steps it (feeding
//! it traffic, if any, in simulated time), and its register interface for
//! in-process hosts ([`SharedBus`]) and for other processes on a Unix socket
//! ([`Host::serve_socket`], the protocol of `loader::bus::socket`).
//! `nfbpf device serve` (both backends) and the agent's embedded device run
//! on this.
//!
//! Simulated time runs as fast as the host steps the model (a few million
//! device clocks per second), so device time passes much slower than the
//! wall clock; the cycle counter (`CYCLELO`/`CYCLEHI`) is its clock.

#[cfg(feature = "rtl")]
use crate::device::RtlDevice;
use nfbpf_loader::bus::socket;
use nfbpf_vm::device::{Device, Output, PORTS};
use nfbpf_vm::regs::{BusError, RegisterBus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    waiting: Arc<AtomicUsize>,
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
        let (d, s, w) = (Arc::clone(&dev), Arc::clone(&stop), Arc::clone(&waiting));
        let clock = std::thread::spawn(move || clock_loop(&d, &s, &w, traffic));
        Host {
            dev,
            waiting,
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
            waiting: Arc::clone(&self.waiting),
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
            move |f: &mut dyn FnMut(&mut dyn RegisterBus) -> String| match bus.lock() {
                Ok(mut g) => f(&mut *g),
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
/// clock thread take the lock again at once and starve the host).
fn clock_loop<B: Board>(
    dev: &Mutex<B>,
    stop: &AtomicBool,
    waiting: &AtomicUsize,
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
        let idle = {
            let Ok(mut d) = dev.lock() else { return };
            for _ in 0..B::CHUNK {
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
            d.take_outputs();
            traffic.is_none() && d.in_flight() == 0
        };
        if idle {
            std::thread::sleep(std::time::Duration::from_millis(2));
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
    waiting: Arc<AtomicUsize>,
}

impl<B> Clone for SharedBus<B> {
    fn clone(&self) -> Self {
        SharedBus {
            dev: Arc::clone(&self.dev),
            waiting: Arc::clone(&self.waiting),
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
}

impl<B: RegisterBus> RegisterBus for SharedBus<B> {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        self.lock()?.read32(off)
    }
    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        self.lock()?.write32(off, v)
    }
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        self.lock()?.host_send(port, frame)
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
