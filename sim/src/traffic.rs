//! Traffic generation (pktgen-like): Ethernet frames of IPv4 UDP, TCP or
//! ICMP over a set of flows, of fixed size or IMIX, at a per-port offered
//! rate, with each frame's arrival time on the wire.
//!
//! Arrival times count the 20 bytes of preamble, start-of-frame delimiter
//! and inter-frame gap that every frame costs on Ethernet, so 64-byte frames
//! at 10 Gb/s arrive 67.2 ns apart (14.88 Mpps). Frames are deterministic
//! for a seed.

use std::fmt;

/// Frame sizes (bytes on the wire without preamble and FCS accounting
/// beyond the frame itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Size {
    Fixed(usize),
    /// Simple IMIX: 64, 576 and 1500 bytes in the ratio 7:4:1.
    Imix,
}

/// Transport protocol of the generated frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    Icmp,
    /// UDP, TCP and ICMP in turn.
    Mix,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub size: Size,
    pub proto: Proto,
    /// Distinct 5-tuples (source address and port vary).
    pub flows: u32,
    /// Offered load per port, Gb/s.
    pub gbps: f64,
    pub ports: Vec<u32>,
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            size: Size::Fixed(64),
            proto: Proto::Udp,
            flows: 16,
            gbps: 10.0,
            ports: vec![0],
            seed: 1,
        }
    }
}

/// A spec that cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// Bytes of preamble, SFD and inter-frame gap per frame.
pub const WIRE_OVERHEAD: usize = 20;
/// Smallest and largest frames generated.
pub const MIN_FRAME: usize = 64;
pub const MAX_FRAME: usize = 1500;

impl Spec {
    pub fn check(&self) -> Result<(), SpecError> {
        if let Size::Fixed(n) = self.size
            && !(MIN_FRAME..=MAX_FRAME).contains(&n)
        {
            return Err(SpecError(format!(
                "frame size {n}: generated frames are {MIN_FRAME}..={MAX_FRAME} bytes"
            )));
        }
        if !(self.gbps > 0.0 && self.gbps <= 100.0) {
            return Err(SpecError(format!(
                "rate {} Gb/s: must be in (0, 100]",
                self.gbps
            )));
        }
        if self.flows == 0 {
            return Err(SpecError("flows: at least 1".into()));
        }
        if self.ports.is_empty() {
            return Err(SpecError("ports: at least one".into()));
        }
        Ok(())
    }
}

/// One generated frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Arrival time of the frame's first byte, ns from the start.
    pub time_ns: f64,
    pub port: u32,
    pub flow: u32,
    pub data: Vec<u8>,
}

/// The generator: an iterator over frames in arrival order (ports
/// interleaved).
#[derive(Debug, Clone)]
pub struct Generator {
    spec: Spec,
    /// Next arrival time per port.
    next: Vec<f64>,
    counter: u64,
    rng: u64,
}

impl Generator {
    pub fn new(spec: Spec) -> Result<Self, SpecError> {
        spec.check()?;
        let next = vec![0.0; spec.ports.len()];
        let rng = spec.seed | 1;
        Ok(Generator {
            spec,
            next,
            counter: 0,
            rng,
        })
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn size(&mut self) -> usize {
        match self.spec.size {
            Size::Fixed(n) => n,
            Size::Imix => match self.rand() % 12 {
                0..=6 => 64,
                7..=10 => 576,
                _ => 1500,
            },
        }
    }
}

/// The folded ones-complement sum of big-endian 16-bit words.
fn ones_sum(b: &[u8], init: u32) -> u16 {
    let mut sum = init;
    for w in b.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// An Ethernet/IPv4 frame of `len` bytes for `flow` with `proto`.
pub fn build(len: usize, flow: u32, proto: Proto, seq: u64) -> Vec<u8> {
    let len = len.clamp(MIN_FRAME, MAX_FRAME);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, (flow >> 8) as u8, flow as u8]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let proto = match proto {
        Proto::Mix => [Proto::Udp, Proto::Tcp, Proto::Icmp][(seq % 3) as usize],
        p => p,
    };
    let ipproto = match proto {
        Proto::Tcp => 6,
        Proto::Icmp => 1,
        _ => 17,
    };
    let ip_len = (len - 14) as u16;
    let src = [10, (flow >> 16) as u8, (flow >> 8) as u8, flow as u8];
    let dst = [192, 168, 0, 1];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = ipproto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = !ones_sum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f[14..34].copy_from_slice(&ip);
    let sport = 1024 + (flow % 60000) as u16;
    match proto {
        Proto::Tcp => {
            f[34..36].copy_from_slice(&sport.to_be_bytes());
            f[36..38].copy_from_slice(&80u16.to_be_bytes());
            f[38..42].copy_from_slice(&(seq as u32).to_be_bytes());
            f[46] = 0x50; // data offset 5 words
            f[47] = 0x10; // ACK
            f[48..50].copy_from_slice(&0xffffu16.to_be_bytes());
        }
        Proto::Icmp => {
            f[34] = 8; // echo request
            f[38..40].copy_from_slice(&(flow as u16).to_be_bytes());
            f[40..42].copy_from_slice(&(seq as u16).to_be_bytes());
            let c = !ones_sum(&f[34..], 0);
            f[36..38].copy_from_slice(&c.to_be_bytes());
        }
        _ => {
            f[34..36].copy_from_slice(&sport.to_be_bytes());
            f[36..38].copy_from_slice(&5000u16.to_be_bytes());
            f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
        }
    }
    // TCP and UDP checksums over the pseudo-header (addresses, protocol,
    // segment length) and the segment.
    let at = match proto {
        Proto::Tcp => Some(50),
        Proto::Icmp => None,
        _ => Some(40),
    };
    if let Some(at) = at {
        let seg = u32::from(ip_len - 20);
        let pseudo = ones_sum(&f[26..34], 0) as u32 + u32::from(ipproto) + seg;
        let mut c = !ones_sum(&f[34..], pseudo);
        if c == 0 && ipproto == 17 {
            c = 0xffff; // UDP: 0 means "no checksum"
        }
        f[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    f
}

impl Iterator for Generator {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        // The port whose next frame arrives first.
        let (i, &t) = self
            .next
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))?;
        let len = self.size();
        let flow = (self.rand() % u64::from(self.spec.flows)) as u32;
        let seq = self.counter;
        self.counter += 1;
        let data = build(len, flow, self.spec.proto, seq);
        self.next[i] = t + ((len + WIRE_OVERHEAD) * 8) as f64 / self.spec.gbps;
        Some(Frame {
            time_ns: t,
            port: self.spec.ports[i],
            flow,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_rate_spacing_and_valid_headers() {
        let g = Generator::new(Spec::default()).unwrap();
        let frames: Vec<Frame> = g.take(1000).collect();
        // 64-byte frames at 10 Gb/s: 67.2 ns apart, 14.88 Mpps.
        let dt = frames[1].time_ns - frames[0].time_ns;
        assert!((dt - 67.2).abs() < 1e-9, "{dt}");
        let mpps = 999.0 / (frames[999].time_ns - frames[0].time_ns) * 1e3;
        assert!((mpps - 14.88).abs() < 0.01, "{mpps}");
        for f in &frames {
            assert_eq!(f.data.len(), 64);
            assert_eq!(ones_sum(&f.data[14..34], 0), 0xffff, "IPv4 checksum");
            assert_eq!(u16::from_be_bytes([f.data[16], f.data[17]]), 50);
        }
        let flows: std::collections::BTreeSet<u32> = frames.iter().map(|f| f.flow).collect();
        assert_eq!(flows.len(), 16);
    }

    #[test]
    fn imix_mix_and_ports() {
        let spec = Spec {
            size: Size::Imix,
            proto: Proto::Mix,
            ports: vec![0, 1, 2, 3],
            ..Spec::default()
        };
        let frames: Vec<Frame> = Generator::new(spec).unwrap().take(12_000).collect();
        let n64 = frames.iter().filter(|f| f.data.len() == 64).count() as f64;
        let n1500 = frames.iter().filter(|f| f.data.len() == 1500).count() as f64;
        assert!((n64 / 12_000.0 - 7.0 / 12.0).abs() < 0.03);
        assert!((n1500 / 12_000.0 - 1.0 / 12.0).abs() < 0.02);
        for p in 0..4 {
            assert!(frames.iter().any(|f| f.port == p));
        }
        // Arrival order is global time order.
        assert!(frames.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        // ICMP frames carry a valid ICMP checksum.
        let icmp = frames.iter().find(|f| f.data[23] == 1).unwrap();
        assert_eq!(ones_sum(&icmp.data[34..], 0), 0xffff);
        // TCP and UDP: the pseudo-header and segment sum to all ones.
        for proto in [6u8, 17] {
            let f = frames.iter().find(|f| f.data[23] == proto).unwrap();
            let seg = (f.data.len() - 34) as u32;
            let pseudo = ones_sum(&f.data[26..34], 0) as u32 + u32::from(proto) + seg;
            assert_eq!(ones_sum(&f.data[34..], pseudo), 0xffff, "protocol {proto}");
        }
    }

    #[test]
    fn bad_specs_are_named() {
        let e = |s: Spec| Generator::new(s).unwrap_err().to_string();
        assert!(
            e(Spec {
                size: Size::Fixed(9000),
                ..Spec::default()
            })
            .contains("frame size 9000")
        );
        assert!(
            e(Spec {
                gbps: 0.0,
                ..Spec::default()
            })
            .contains("rate 0")
        );
        assert!(
            e(Spec {
                flows: 0,
                ..Spec::default()
            })
            .contains("flows")
        );
        assert!(
            e(Spec {
                ports: vec![],
                ..Spec::default()
            })
            .contains("ports")
        );
    }
}
