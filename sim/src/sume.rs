//! The data plane in the NetFPGA SUME reference pipeline: the Verilated
//! wrapper `rtl/ebpf_sume_opl.v` (the output-port-lookup slot), a model of
//! the rest of the pipeline around it ([`InputArbiter`] over the four 10G
//! ports and the host's DMA queues, [`OutputQueues`] by destination bits),
//! and [`SumeCosim`], which runs the wrapper and the model device on the
//! same traffic and compares them.
//!
//! What is compared, and how exactly:
//!
//! - The register and data-path clocks are one clock here (the AXI4-Lite
//!   crossing of the wrapper is in the path, with equal clocks on both
//!   sides). Each wrapper clock is one model step, from reset on, so the
//!   device timers agree.
//! - The wrapper stores each frame whole before handing it to the data
//!   plane (its ingress buffer); [`SumeCosim`] follows that buffer's timing
//!   ([`IngressTiming`]: the first beat two clocks after the buffer takes
//!   the frame, one frame at a time) to give the model each frame in the
//!   clock the RTL data plane gets its first beat. Then every output is
//!   compared cycle for cycle: its bytes, its `tuser` (length, source and
//!   destination bits), and the clock its last beat leaves the wrapper
//!   (the model's `Output::sent` + 1), in order.
//! - Register reads are compared value for value, except the cycle counter
//!   (`CYCLELO`/`CYCLEHI`), which the crossing samples some clocks apart
//!   from the model; refusals (SLVERR, DECERR) against the model's errors.
//!   A FLIP the model refuses (no valid program staged) is not sent, as
//!   `RtlDevice` does.
//! - What leaves reaches the [`OutputQueues`], which count frames per
//!   destination bit: packet for packet, per queue, the model's outputs.

use nfbpf_vm::device::{Dest, PORTS};
use std::collections::VecDeque;

/// Inputs of the reference pipeline's arbiter: the four 10G ports and the
/// host's DMA stream (which carries the four DMA queues).
pub const ARBITER_INPUTS: usize = PORTS + 1;

/// `tuser` one-hot bit of port `p`'s 10G interface (the reference designs'
/// even bits).
pub const fn port_bit(p: usize) -> u8 {
    1 << (2 * p)
}

/// `tuser` one-hot bit of port `p`'s host DMA queue (the odd bits).
pub const fn dma_bit(p: usize) -> u8 {
    1 << (2 * p + 1)
}

/// Source and destination bits of the `tuser` the data plane's egress puts
/// on a frame of input `in_port` with destination `dest`: the source is the
/// input's port bit; a port below [`PORTS`] its bit, a flood every port's
/// but the source's, the host the source port's DMA queue, a port number of
/// [`PORTS`] or more none.
pub fn egress_bits(in_port: u32, dest: Dest) -> (u8, u8) {
    let src = port_bit(in_port as usize);
    let all: u8 = (0..PORTS).map(port_bit).fold(0, |a, b| a | b);
    let dst = match dest {
        Dest::Port(q) if (q as usize) < PORTS => port_bit(q as usize),
        Dest::Port(_) => 0,
        Dest::Flood => all & !src,
        Dest::Host => dma_bit(in_port as usize),
    };
    (src, dst)
}

/// Where a frame enters the reference pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The 10G port.
    Port(usize),
    /// The host's DMA queue of the port.
    Dma(usize),
}

impl Source {
    /// Its `tuser` source bit.
    pub fn bit(self) -> u8 {
        match self {
            Source::Port(p) => port_bit(p),
            Source::Dma(p) => dma_bit(p),
        }
    }

    /// The arbiter input it comes in on (DMA queues share the DMA stream).
    fn input(self) -> usize {
        match self {
            Source::Port(p) => p,
            Source::Dma(_) => PORTS,
        }
    }
}

/// One 256-bit beat of an AXI4-Stream with SUME's `tuser`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Beat {
    pub tdata: [u64; 4],
    pub tkeep: u32,
    pub tuser: [u64; 2],
    pub tlast: bool,
}

const BEAT_BYTES: usize = 32;

/// Beat `k` of `frame` from `src`: `tuser` [15:0] the length, [23:16] the
/// source bit.
pub fn beat(frame: &[u8], src: u8, k: usize) -> Beat {
    let lo = (k * BEAT_BYTES).min(frame.len());
    let hi = (lo + BEAT_BYTES).min(frame.len());
    let mut bytes = [0u8; BEAT_BYTES];
    bytes[..hi - lo].copy_from_slice(&frame[lo..hi]);
    let mut tdata = [0u64; 4];
    for (l, limb) in tdata.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[8 * l..8 * l + 8]);
        *limb = u64::from_le_bytes(b);
    }
    let n = hi - lo;
    Beat {
        tdata,
        tkeep: if n == BEAT_BYTES {
            u32::MAX
        } else {
            (1u32 << n) - 1
        },
        tuser: [(frame.len().min(0xffff) as u64) | (u64::from(src) << 16), 0],
        tlast: hi == frame.len(),
    }
}

/// Beats of a frame of `len` bytes.
pub fn beats(len: usize) -> usize {
    len.div_ceil(BEAT_BYTES).max(1)
}

/// The reference pipeline's input arbiter: a queue per input (four 10G
/// ports, the DMA stream), served round-robin from the input after the one
/// served last, a whole frame at a time, one beat per clock while the next
/// stage takes beats (`tready`).
#[derive(Debug, Default)]
pub struct InputArbiter {
    queues: [VecDeque<(u8, Vec<u8>)>; ARBITER_INPUTS],
    last: usize,
    /// The frame being sent, its source bit and next beat.
    cur: Option<(u8, Vec<u8>, usize)>,
}

impl InputArbiter {
    /// A frame arrives at `src`.
    pub fn push(&mut self, src: Source, frame: Vec<u8>) {
        self.queues[src.input()].push_back((src.bit(), frame));
    }

    /// The beat on the arbiter's output in this clock, if any.
    pub fn beat(&mut self) -> Option<Beat> {
        if self.cur.is_none() {
            for k in 1..=ARBITER_INPUTS {
                let i = (self.last + k) % ARBITER_INPUTS;
                if let Some((b, f)) = self.queues[i].pop_front() {
                    self.last = i;
                    self.cur = Some((b, f, 0));
                    break;
                }
            }
        }
        self.cur.as_ref().map(|(b, f, k)| beat(f, *b, *k))
    }

    /// The beat of this clock was taken; the frame and its source bit when
    /// it was the last.
    pub fn taken(&mut self) -> Option<(u8, Vec<u8>)> {
        let (b, f, k) = self.cur.take()?;
        if k + 1 < beats(f.len()) {
            self.cur = Some((b, f, k + 1));
            None
        } else {
            Some((b, f))
        }
    }

    /// Frames waiting or being sent.
    pub fn pending(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum::<usize>() + usize::from(self.cur.is_some())
    }
}

/// A frame the output queues took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub frame: Vec<u8>,
    /// `tuser` bits 63..0 (length, source, destination, the data plane's
    /// user bits).
    pub tuser: u64,
    /// Clock of its last beat.
    pub clock: i64,
}

/// The reference pipeline's output queues: every frame goes to the queue
/// of each destination bit set in its `tuser` (eight: bit 2i port i, bit
/// 2i+1 its DMA queue); none set, it is dropped. They always take beats.
#[derive(Debug, Default)]
pub struct OutputQueues {
    bytes: Vec<u8>,
    pub queues: [Vec<Queued>; 8],
    /// Frames with no destination bit.
    pub dropped: u64,
}

impl OutputQueues {
    /// A beat taken in `clock`; the frame when it was the last.
    pub fn take(&mut self, b: &Beat, clock: i64) -> Option<Queued> {
        for (l, limb) in b.tdata.iter().enumerate() {
            for (k, byte) in limb.to_le_bytes().into_iter().enumerate() {
                if b.tkeep >> (8 * l + k) & 1 == 1 {
                    self.bytes.push(byte);
                }
            }
        }
        if !b.tlast {
            return None;
        }
        let q = Queued {
            frame: std::mem::take(&mut self.bytes),
            tuser: b.tuser[0],
            clock,
        };
        let dst = (q.tuser >> 24) as u8;
        if dst == 0 {
            self.dropped += 1;
        }
        for (bit, queue) in self.queues.iter_mut().enumerate() {
            if dst >> bit & 1 == 1 {
                queue.push(q.clone());
            }
        }
        Some(q)
    }
}

/// When the wrapper's ingress buffer hands each frame to the data plane
/// (`rtl/ebpf_sume_opl.v`): a frame whose last beat the buffer took in
/// clock L is read out from clock max(L + 1, the clock after the previous
/// frame's last read), one beat per clock, its first beat on the data
/// plane's input two clocks after that.
#[derive(Debug, Default)]
pub struct IngressTiming {
    /// First clock the buffer's read side is free.
    free: i64,
}

impl IngressTiming {
    /// The frame of `n` beats whose last beat was taken in clock `l`: the
    /// clock its first beat reaches the data plane.
    pub fn stored(&mut self, l: i64, n: usize) -> i64 {
        let start = (l + 1).max(self.free);
        self.free = start + n as i64 + 1;
        start + 2
    }
}

// The wrapper's co-simulation needs its Verilated model, built with the
// `sume-cosim` feature only (the tests'; sim/build.rs).
#[cfg(feature = "sume-cosim")]
mod cosim;
#[cfg(feature = "sume-cosim")]
pub use cosim::{SumeCosim, offer_imix};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_bits_follow_the_reference_layout() {
        assert_eq!(egress_bits(0, Dest::Port(1)), (0x01, 0x04));
        assert_eq!(egress_bits(2, Dest::Host), (0x10, 0x20));
        assert_eq!(egress_bits(1, Dest::Flood), (0x04, 0x51));
        assert_eq!(egress_bits(3, Dest::Port(9)), (0x40, 0));
    }

    #[test]
    fn arbiter_round_robin_whole_frames() {
        let mut a = InputArbiter::default();
        a.push(Source::Port(0), vec![1; 40]);
        a.push(Source::Dma(2), vec![2; 20]);
        a.push(Source::Port(0), vec![3; 20]);
        let mut got = Vec::new();
        while a.beat().is_some() {
            if let Some((b, f)) = a.taken() {
                got.push((b, f[0], f.len()));
            }
        }
        // Round-robin from the input after port 0 (the last served at
        // reset): the DMA stream (input 4) first, then port 0's two frames.
        assert_eq!(got, vec![(0x20, 2, 20), (0x01, 1, 40), (0x01, 3, 20)]);
    }

    #[test]
    fn output_queues_by_destination_bits() {
        let mut q = OutputQueues::default();
        let mut b = beat(&[7; 10], 0x01, 0);
        b.tuser[0] |= 0x14 << 24;
        assert!(q.take(&b, 5).is_some());
        assert_eq!(q.queues[2].len(), 1);
        assert_eq!(q.queues[4].len(), 1);
        assert_eq!(q.queues[0].len(), 0);
    }
}
