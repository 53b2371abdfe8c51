//! System runs: the data plane model ([`Device`]) under offered load, and
//! the statistics of the run.
//!
//! Frames come from a [`Generator`] at their line-rate arrival times
//! (preamble, start-of-frame delimiter and inter-frame gap counted) and are
//! handed to [`Device::rx`] in the first clock at or after their arrival; a
//! frame no engine of its port can take is a FIFO_MD overflow drop (loss).
//! Clocks are `contract::CLOCK_HZ` (5 ns at 200 MHz).
//!
//! The run offers traffic for a warm-up window and then a measurement
//! window, then drains the device. Only frames that arrive in the
//! measurement window count:
//!
//! - throughput: frames the device accepted in the window over the window's
//!   length (every accepted frame is processed: the run drains). When the
//!   device is slower than the offered load its FIFO_MDs are full from the
//!   warm-up on, so this is the rate at which it serves packets;
//! - Gb/s: throughput times the frame's bits (preamble and gap excluded);
//!   percent of line rate: throughput over the 10 Gb/s line rate of the
//!   loaded ports at the frame size (preamble and gap counted);
//! - loss: FIFO_MD overflow drops over offered frames (a drop verdict of the
//!   program is not loss, it is counted apart);
//! - latency of a packet that leaves the device: clocks from the clock its
//!   first word enters the device (`Output::arrival`) to the clock its last
//!   256-bit word is on the output stream: `sent + 1 - arrival`
//!   ([`latency_clocks`]; the device's egress sends a packet once all its
//!   words have arrived at the port's pace and the output arbiter has come
//!   to it, so the latency includes the queueing for the one stream);
//! - CPI and stall clocks by cause: the engines' pipeline statistics over
//!   the whole run (busy clocks over retired instructions).

use crate::traffic::{Frame, Generator, Spec, SpecError, WIRE_OVERHEAD};
use nfbpf_vm::contract::CLOCK_HZ;
use nfbpf_vm::device::{Dest, Device, Output, PORTS};
use nfbpf_vm::pipeline::Stall;

/// Line rate of one port, Gb/s.
pub const PORT_GBPS: f64 = nfbpf_vm::contract::PORT_RATE_BPS as f64 / 1e9;

/// Clock of a time in ns (the first clock at or after it).
pub fn clock_of_ns(ns: f64) -> u64 {
    (ns * CLOCK_HZ as f64 / 1e9).ceil() as u64
}

/// Nanoseconds of `clocks`.
pub fn ns_of_clocks(clocks: f64) -> f64 {
    clocks * 1e9 / CLOCK_HZ as f64
}

/// Line rate of one port at a frame size, Mpps (preamble and gap counted).
pub fn line_rate_mpps(frame_bytes: f64) -> f64 {
    PORT_GBPS * 1e3 / ((frame_bytes + WIRE_OVERHEAD as f64) * 8.0)
}

/// Clocks from a packet's first word in to its last word out: the egress
/// stream takes the last beat out of FIFO_MD in clock `sent` (after the
/// verdict, after the output arbiter, and not before the words it sends
/// have arrived at the port's pace), and it is on the output bus in the next
/// clock.
pub fn latency_clocks(o: &Output) -> u64 {
    o.sent + 1 - o.arrival
}

/// How long to offer traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Offered but not measured (FIFO_MDs and maps reach their steady state).
    pub warmup_ns: f64,
    pub measure_ns: f64,
}

impl Window {
    /// A window of `warmup` and `measure` frame times of `bytes`-byte frames
    /// at `gbps` per port.
    pub fn frames(bytes: usize, gbps: f64, warmup: u64, measure: u64) -> Self {
        let t = ((bytes + WIRE_OVERHEAD) * 8) as f64 / gbps;
        Window {
            warmup_ns: warmup as f64 * t,
            measure_ns: measure as f64 * t,
        }
    }
}

/// One output packet on the run's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departure {
    /// Clock the packet left the device (its last beat on the egress
    /// stream), from the run's start.
    pub done: u64,
    pub dest: Dest,
    pub bytes: usize,
}

/// Counts of one input port over the measurement window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    pub offered: u64,
    pub accepted: u64,
    /// FIFO_MD overflow drops.
    pub dropped: u64,
    /// Packets sent out of this port (window arrivals; a flooded packet
    /// counts on every port but its input one).
    pub tx: u64,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    pub engines: usize,
    /// Input ports with traffic.
    pub loaded_ports: usize,
    /// Mean frame size of the offered window frames, bytes.
    pub frame_bytes: f64,
    /// Offered load per loaded port, Gb/s.
    pub port_gbps: f64,
    pub window_clocks: u64,
    pub ports: [PortStats; PORTS],
    pub offered: u64,
    pub accepted: u64,
    pub dropped: u64,
    /// Bytes of the accepted window frames.
    pub accepted_bytes: u64,
    /// Window packets that left the device (any destination).
    pub forwarded: u64,
    /// Window packets sent to the host.
    pub to_host: u64,
    /// Packets the program dropped and packets aborted by a fault (whole run).
    pub verdict_drops: u64,
    pub faults: u64,
    /// Latencies of the window packets that left the device, clocks, sorted.
    pub latencies: Vec<u64>,
    /// Engine statistics over the whole run.
    pub retired: u64,
    pub busy_clocks: u64,
    /// Packets the engines ran (whole run).
    pub packets: u64,
    pub stalls: [u64; Stall::COUNT],
    /// Packets still inside after the drain limit (0 for a complete run).
    pub stuck: usize,
    /// Clocks simulated in all.
    pub clocks: u64,
    /// Every output packet, when the run keeps a timeline.
    pub timeline: Vec<Departure>,
}

impl RunStats {
    fn window_s(&self) -> f64 {
        self.window_clocks as f64 / CLOCK_HZ as f64
    }
    /// Offered load, Mpps (all loaded ports).
    pub fn offered_mpps(&self) -> f64 {
        self.offered as f64 / self.window_s() / 1e6
    }
    /// Processed packets, Mpps.
    pub fn mpps(&self) -> f64 {
        self.accepted as f64 / self.window_s() / 1e6
    }
    /// Throughput in Gb/s of frame bits.
    pub fn gbps(&self) -> f64 {
        self.accepted_bytes as f64 * 8.0 / self.window_s() / 1e9
    }
    /// Line rate of every port with traffic at this frame size, Mpps.
    pub fn line_rate_mpps(&self) -> f64 {
        self.loaded_ports as f64 * line_rate_mpps(self.frame_bytes)
    }
    pub fn line_rate_pct(&self) -> f64 {
        100.0 * self.mpps() / self.line_rate_mpps()
    }
    /// Fraction of offered frames lost to FIFO_MD overflow.
    pub fn loss(&self) -> f64 {
        if self.offered == 0 {
            0.0
        } else {
            self.dropped as f64 / self.offered as f64
        }
    }
    /// Latency quantile `q` in 0..=1 (nearest rank), clocks; None without
    /// output packets.
    pub fn latency_clocks(&self, q: f64) -> Option<u64> {
        if self.latencies.is_empty() {
            return None;
        }
        let n = self.latencies.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Some(self.latencies[rank - 1])
    }
    pub fn latency_ns(&self, q: f64) -> Option<f64> {
        self.latency_clocks(q).map(|c| ns_of_clocks(c as f64))
    }
    /// Busy clocks per retired instruction.
    pub fn cpi(&self) -> f64 {
        if self.retired == 0 {
            0.0
        } else {
            self.busy_clocks as f64 / self.retired as f64
        }
    }
    pub fn stall(&self, s: Stall) -> u64 {
        self.stalls[s.index()]
    }
    /// What one engine could serve if packets were always waiting: the
    /// clock over the busy clocks per packet, Mpps.
    pub fn engine_capacity_mpps(&self) -> f64 {
        if self.busy_clocks == 0 {
            0.0
        } else {
            self.packets as f64 * CLOCK_HZ as f64 / self.busy_clocks as f64 / 1e6
        }
    }
}

/// Why a run could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("traffic: {0}")]
    Spec(#[from] SpecError),
    #[error("window: warm-up {0} ns and measurement {1} ns (the measurement must be > 0)")]
    Window(f64, f64),
    #[error("traffic port {0}: the device has ports 0..{PORTS}")]
    Port(u32),
}

/// A run in progress: the device, the traffic and what was seen so far.
pub struct Runner<'d> {
    dev: &'d mut Device,
    frames: Generator,
    next: Option<(u64, Frame)>,
    start: u64,
    warm: u64,
    end: u64,
    keep_timeline: bool,
    st: RunStats,
    bytes_offered: u64,
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("clock", &(self.dev.cycle() - self.start))
            .field("end", &self.end)
            .finish()
    }
}

impl<'d> Runner<'d> {
    /// Offer `spec` to `dev` over `window`, from the device's current clock.
    pub fn new(dev: &'d mut Device, spec: Spec, window: Window) -> Result<Self, RunError> {
        if !(window.measure_ns > 0.0 && window.warmup_ns >= 0.0) {
            return Err(RunError::Window(window.warmup_ns, window.measure_ns));
        }
        if let Some(&p) = spec.ports.iter().find(|&&p| p as usize >= PORTS) {
            return Err(RunError::Port(p));
        }
        let mut loaded: Vec<u32> = spec.ports.clone();
        loaded.sort_unstable();
        loaded.dedup();
        let st = RunStats {
            engines: dev.config().engines,
            loaded_ports: loaded.len(),
            port_gbps: spec.gbps,
            ..RunStats::default()
        };
        let frames = Generator::new(spec)?;
        let start = dev.cycle();
        let warm = clock_of_ns(window.warmup_ns);
        let end = clock_of_ns(window.warmup_ns + window.measure_ns);
        let mut r = Runner {
            dev,
            frames,
            next: None,
            start,
            warm,
            end,
            keep_timeline: false,
            st,
            bytes_offered: 0,
        };
        r.st.window_clocks = end - warm;
        r.pull();
        Ok(r)
    }

    /// Keep every output packet in [`RunStats::timeline`].
    pub fn with_timeline(mut self) -> Self {
        self.keep_timeline = true;
        self
    }

    /// The device, e.g. to program it through its registers mid-run.
    pub fn device(&mut self) -> &mut Device {
        self.dev
    }

    /// Clocks since the run started.
    pub fn clock(&self) -> u64 {
        self.dev.cycle() - self.start
    }

    /// Clock at which the offered traffic stops.
    pub fn end(&self) -> u64 {
        self.end
    }

    fn pull(&mut self) {
        self.next = self.frames.next().map(|f| (clock_of_ns(f.time_ns), f));
    }

    /// One clock: the frames that arrived by now enter, the device steps.
    pub fn step(&mut self) {
        let now = self.clock();
        while let Some((at, _)) = &self.next {
            if *at > now || *at >= self.end {
                break;
            }
            let Some((at, f)) = self.next.take() else {
                break;
            };
            let ok = self.dev.rx(f.port as usize, &f.data);
            if at >= self.warm {
                let p = &mut self.st.ports[f.port as usize];
                p.offered += 1;
                self.bytes_offered += f.data.len() as u64;
                if ok {
                    p.accepted += 1;
                    self.st.accepted_bytes += f.data.len() as u64;
                } else {
                    p.dropped += 1;
                }
            }
            self.pull();
        }
        self.dev.step();
        if self.dev.cycle().is_multiple_of(1024) {
            self.collect();
        }
    }

    /// Step until `clock` (from the run's start).
    pub fn run_until(&mut self, clock: u64) {
        while self.clock() < clock {
            self.step();
        }
    }

    fn collect(&mut self) {
        for o in self.dev.take_outputs() {
            if self.keep_timeline {
                self.st.timeline.push(Departure {
                    done: o.sent.saturating_sub(self.start),
                    dest: o.dest,
                    bytes: o.frame.len(),
                });
            }
            // Packets of the warm-up (or from before the run) do not count.
            if o.arrival < self.start + self.warm {
                continue;
            }
            self.st.forwarded += 1;
            match o.dest {
                Dest::Port(q) if (q as usize) < PORTS => self.st.ports[q as usize].tx += 1,
                Dest::Host => self.st.to_host += 1,
                Dest::Flood => {
                    for (q, p) in self.st.ports.iter_mut().enumerate() {
                        if q as u32 != o.in_port {
                            p.tx += 1;
                        }
                    }
                }
                Dest::Port(_) => {}
            }
            self.st.latencies.push(latency_clocks(&o));
        }
    }

    /// Offer the rest of the traffic, drain (at most `drain_limit` clocks)
    /// and return the statistics.
    pub fn finish(mut self, drain_limit: u64) -> RunStats {
        let end = self.end;
        self.run_until(end);
        let start = self.dev.cycle();
        while self.dev.in_flight() > 0 && self.dev.cycle() - start < drain_limit {
            self.step();
        }
        self.collect();
        let mut st = self.st;
        st.stuck = self.dev.in_flight();
        st.clocks = self.dev.cycle() - self.start;
        for p in &st.ports {
            st.offered += p.offered;
            st.accepted += p.accepted;
            st.dropped += p.dropped;
        }
        st.frame_bytes = if st.offered == 0 {
            0.0
        } else {
            self.bytes_offered as f64 / st.offered as f64
        };
        for e in 0..st.engines {
            if let Some(s) = self.dev.engine_stats(e) {
                st.retired += s.retired;
                st.busy_clocks += s.busy_cycles;
                st.packets += s.packets;
                for (a, b) in st.stalls.iter_mut().zip(s.stalls.iter()) {
                    *a += b;
                }
            }
            if let Some(c) = self.dev.engine_counters(e) {
                st.verdict_drops += c.dropped;
                st.faults += c.faults;
            }
        }
        st.latencies.sort_unstable();
        st
    }
}

/// Offer `spec` to `dev` over `window` and measure (drains up to a million
/// clocks).
pub fn run(dev: &mut Device, spec: Spec, window: Window) -> Result<RunStats, RunError> {
    Ok(Runner::new(dev, spec, window)?.finish(1_000_000))
}

/// Output throughput per destination port over time: `bins` of `bin`
/// clocks, Gb/s of frame bits.
pub fn throughput_series(timeline: &[Departure], bin: u64, bins: usize) -> [Vec<f64>; PORTS] {
    let mut out: [Vec<f64>; PORTS] = std::array::from_fn(|_| vec![0.0; bins]);
    let secs = bin as f64 / CLOCK_HZ as f64;
    for d in timeline {
        let b = (d.done / bin.max(1)) as usize;
        if let (Dest::Port(q), true) = (d.dest, b < bins)
            && (q as usize) < PORTS
        {
            out[q as usize][b] += d.bytes as f64 * 8.0 / secs / 1e9;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::{Proto, Size};
    use nfbpf_vm::abi::Abi;
    use nfbpf_vm::build;
    use nfbpf_vm::device::DeviceConfig;
    use nfbpf_vm::program::Program;

    #[test]
    fn quantiles_and_rates_by_hand() {
        let st = RunStats {
            loaded_ports: 1,
            frame_bytes: 64.0,
            window_clocks: 2_000,
            offered: 100,
            accepted: 80,
            dropped: 20,
            accepted_bytes: 80 * 64,
            latencies: (1..=100).collect(),
            retired: 300,
            busy_clocks: 360,
            ..RunStats::default()
        };
        // 2,000 clocks = 10 us: 80 packets = 8 Mpps, 4.096 Gb/s.
        assert!((st.mpps() - 8.0).abs() < 1e-9);
        assert!((st.offered_mpps() - 10.0).abs() < 1e-9);
        assert!((st.gbps() - 4.096).abs() < 1e-9);
        assert!((st.line_rate_pct() - 800.0 / (1e4 / 672.0)).abs() < 1e-9);
        assert!((st.loss() - 0.2).abs() < 1e-12);
        assert_eq!(st.latency_clocks(0.5), Some(50));
        assert_eq!(st.latency_clocks(0.99), Some(99));
        assert_eq!(st.latency_clocks(1.0), Some(100));
        assert_eq!(st.latency_ns(0.5), Some(250.0));
        assert!((st.cpi() - 1.2).abs() < 1e-12);
        let st = RunStats {
            packets: 10,
            busy_clocks: 100,
            ..st
        };
        // 10 clocks a packet at 200 MHz: 20 Mpps.
        assert!((st.engine_capacity_mpps() - 20.0).abs() < 1e-9);
        assert_eq!(RunStats::default().latency_clocks(0.5), None);
    }

    /// `mov r0, PORT; exit` in the SUME ABI: every packet to one port.
    fn fixed_port(dev: &mut Device, port: i32) {
        let prog = Program::new(vec![build::mov64_imm(0, port), build::exit()]).unwrap();
        dev.write_idle(prog).unwrap();
        dev.flip();
    }

    #[test]
    fn wire_at_low_rate_has_no_loss_and_a_fixed_latency() {
        let mut dev = Device::new(DeviceConfig {
            abi: Abi::Sume,
            ..DeviceConfig::default()
        })
        .unwrap();
        fixed_port(&mut dev, 3);
        // 1 Gb/s of 64-byte frames on port 0: one frame every 134.4 clocks,
        // so every packet finds its engine idle.
        let spec = Spec {
            size: Size::Fixed(64),
            proto: Proto::Udp,
            gbps: 1.0,
            ports: vec![0],
            ..Spec::default()
        };
        let st = run(&mut dev, spec, Window::frames(64, 1.0, 10, 100)).unwrap();
        assert_eq!((st.offered, st.accepted, st.dropped), (100, 100, 0));
        assert_eq!(st.forwarded, 100);
        assert_eq!(st.ports[3].tx, 100);
        assert_eq!(st.stuck, 0);
        assert_eq!(st.loss(), 0.0);
        // The window is 100 frame times: the offered load is exactly 1 Gb/s
        // of 84-byte wire frames, 1.488 Mpps, 10 % of the port's line rate.
        assert!((st.mpps() - 1e3 / 672.0).abs() < 0.02, "{}", st.mpps());
        assert!((st.line_rate_pct() - 10.0).abs() < 0.2);
        // Every packet alone: the same latency for all. The window's three
        // 256-bit words arrive in clocks 0 (the SUME header, not on the
        // wire), 1 and 6 (the frame's two words, 5.12 clocks apart at
        // 10 Gb/s). The program's two instructions give the verdict in
        // clock 5; the egress takes the packet in clock 6, when its last
        // word is in, and sends its two beats in clocks 6 and 7, the last on
        // the bus one clock later: 8 clocks, 40 ns from the first beat in to
        // the last beat out.
        assert_eq!(st.latencies.first(), Some(&8));
        assert_eq!(st.latencies.last(), Some(&8));
        assert_eq!(st.latency_ns(0.99), Some(40.0));
        // Two instructions per packet over 110 packets; CPI counts busy clocks.
        assert_eq!(st.retired, 2 * 110);
        assert!(st.cpi() >= 1.0);
    }

    #[test]
    fn flooded_packets_count_on_every_other_port_and_series_bin_by_hand() {
        let mut dev = Device::new(DeviceConfig::default()).unwrap();
        // SUME FLOOD (0xffff): out of every port but the input one.
        fixed_port(&mut dev, 0xffff);
        let spec = Spec {
            gbps: 1.0,
            ports: vec![2],
            ..Spec::default()
        };
        let st = Runner::new(&mut dev, spec, Window::frames(64, 1.0, 0, 20))
            .unwrap()
            .with_timeline()
            .finish(10_000);
        assert_eq!(st.forwarded, 20);
        let tx: Vec<u64> = st.ports.iter().map(|p| p.tx).collect();
        assert_eq!(tx, vec![20, 20, 0, 20]);
        // A flood is one output packet; the per-port series count ports only.
        assert_eq!(st.timeline.len(), 20);
        assert!(st.timeline.iter().all(|d| d.dest == Dest::Flood));
        let timeline = [
            Departure {
                done: 10,
                dest: Dest::Port(1),
                bytes: 125,
            },
            Departure {
                done: 150,
                dest: Dest::Port(1),
                bytes: 125,
            },
            Departure {
                done: 199,
                dest: Dest::Port(3),
                bytes: 250,
            },
            Departure {
                done: 250,
                dest: Dest::Port(0),
                bytes: 1000,
            },
        ];
        // Bins of 100 clocks = 0.5 us: 1,000 bits in a bin are 2 Gb/s.
        let s = throughput_series(&timeline, 100, 2);
        assert_eq!(s[1], vec![2.0, 2.0]);
        assert_eq!(s[3], vec![0.0, 4.0]);
        assert_eq!(s[0], vec![0.0, 0.0], "past the last bin: not counted");
    }

    #[test]
    fn overload_drops_at_the_fifo_and_bad_input_is_named() {
        let mut dev = Device::new(DeviceConfig {
            engines: 1,
            ..DeviceConfig::default()
        })
        .unwrap();
        fixed_port(&mut dev, 1);
        // Port 1 has no engine with one engine: every frame there is lost.
        let spec = Spec {
            ports: vec![0, 1],
            ..Spec::default()
        };
        let st = run(&mut dev, spec.clone(), Window::frames(64, 10.0, 5, 50)).unwrap();
        assert_eq!(st.ports[1].accepted, 0);
        assert_eq!(st.ports[1].dropped, st.ports[1].offered);
        assert_eq!(st.ports[0].dropped, 0);
        assert!((st.loss() - 0.5).abs() < 0.02, "{}", st.loss());
        let e = Runner::new(
            &mut dev,
            Spec {
                ports: vec![7],
                ..Spec::default()
            },
            Window::frames(64, 10.0, 0, 1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("port 7"), "{e}");
        let e = Runner::new(&mut dev, spec, Window::frames(64, 10.0, 1, 0)).unwrap_err();
        assert!(e.to_string().contains("measurement"), "{e}");
    }

    #[test]
    fn line_rate_with_the_packet_held_until_the_egress_has_sent_it() {
        // The packet stays in FIFO_MD until the one egress stream has sent
        // it; the stream starts a frame as soon as its words will arrive in
        // time (cut-through), and the next frame may be given the words the
        // sent one still holds (each arrives once they are released). So
        // even four ports of 1500-byte frames arriving in step (47 of
        // FIFO_MD's 128 words each, the stream serving four engines) lose
        // nothing.
        let cases = [
            (1, 64, true),
            (1, 512, true),
            (1, 1024, true),
            (1, 1500, true),
            (4, 64, true),
            (4, 128, true),
            (4, 512, true),
            (4, 1024, true),
            (4, 1500, true),
        ];
        for (ports, bytes, lossless) in cases {
            let mut dev = Device::new(DeviceConfig::default()).unwrap();
            fixed_port(&mut dev, 2);
            let spec = Spec {
                size: Size::Fixed(bytes),
                ports: (0..ports).collect(),
                ..Spec::default()
            };
            let st = run(&mut dev, spec, Window::frames(bytes, 10.0, 5, 40)).unwrap();
            let pct = st.line_rate_pct();
            assert_eq!(st.forwarded, st.accepted, "{ports} x {bytes} B");
            if lossless {
                assert_eq!(st.dropped, 0, "{ports} x {bytes} B");
                assert!(pct > 99.0, "{ports} x {bytes} B: {pct}");
            } else {
                assert!(st.dropped > 0 && pct > 60.0, "{ports} x {bytes} B: {pct}");
            }
        }
    }
}
