//! FIFO_MD: one engine's packet data memory.
//!
//! 128 words x 256 bits ([`contract::FIFO_WORDS`] x [`contract::FIFO_WORD_BYTES`])
//! used as a ring of packet slots: a packet occupies `ceil(len / 32)`
//! consecutive words (wrapping), several packets queue behind the running one
//! (at most [`contract::FIFO_MAX_PACKETS`]), and each word has a valid bit that
//! is set when the word arrives from the port. The running packet (the head
//! slot) is what the engine sees at [`contract::PKT_BASE`]. Loads and stores
//! touching a word that has not arrived stall MEM; an access may span two
//! words at any alignment (including the ring's wrap). Stores write in place.
//! The slot's words are freed, and their valid bits cleared, when the verdict
//! is taken ([`FifoMd::pop`]); or, in a data plane with an egress stream
//! ([`FifoMd::with_hold`]), the verdict *retires* the slot: the engine moves
//! on to the next packet while the retired slot keeps its words (and goes on
//! receiving the ones not arrived yet) until the egress has sent them
//! ([`FifoMd::release`]). A dropped packet has nothing to send: it is freed
//! at once when no retired slot is ahead of it, else it waits its turn
//! ([`FifoMd::drop_retired`]), so that the ring is always freed in order.
//! Only the queued and running slots reserve their words: a new packet may
//! be given words a retired one still holds, and each such word arrives
//! once the egress has released it: a word released in a clock reads free
//! from the next clock on (the RTL's valid bits are registers), so the new
//! word is valid two clocks after the release at the earliest (words
//! arrive in slot order, so the retired slot has all its words by then).
//!
//! Arrival pacing is exact: a fractional accumulator in units of
//! bit x Hz. Every cycle the port earns `rate_bps` credits; a word costs
//! `256 x clock_hz`. At 10 Gb/s and 200 MHz a word costs 51.2 G credits and a
//! cycle earns 10 G, so word `n` of a packet arrives `ceil(n x 5.12)` cycles
//! after word 0 (0, 6, 11, 16, 21, 26, 31, 36, 41, 47, ...). At most one word
//! arrives per cycle (the 256-bit bus). Word 0 of a packet pushed while the
//! port is idle arrives in the next cycle the engine steps; packets pushed
//! back to back follow each other's last word at the same pacing (the
//! caller models inter-frame gaps by when it pushes).
//!
//! A packet may start with header words that are not on the wire
//! ([`FifoMd::push_framed`]: the SUME metadata header, which travels in
//! `tuser` with the frame's first beat; the XDP headroom): they cost no
//! credit and arrive one per cycle ahead of the frame, whose words keep the
//! schedule above (frame word `n` at `ceil(n x 5.12)`, but not in the
//! cycle of a header word: 0, 6, 11, ... after a one-word header that
//! arrived in cycle 0 becomes 1, 6, 11, ...).

use crate::contract::{self, FIFO_WORD_BYTES, FIFO_WORDS, PKT_WINDOW};

/// One bit per FIFO_MD word (bit `w` for ring word `w`; [`FIFO_WORDS`] of
/// them at most 128).
pub type WordMask = u128;

const WB: usize = FIFO_WORD_BYTES;

/// How fast words arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Every word of a packet is valid as soon as it is pushed.
    Instant,
    /// A port of `rate_bps` bits per second at `clock_hz`.
    Port { rate_bps: u64, clock_hz: u64 },
}

impl Default for Pacing {
    /// One 10 Gb/s port at the 200 MHz engine clock.
    fn default() -> Self {
        Pacing::Port {
            rate_bps: contract::PORT_RATE_BPS,
            clock_hz: contract::CLOCK_HZ,
        }
    }
}

/// Why a packet cannot be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FifoError {
    #[error("packet of {0} bytes is larger than the FIFO_MD window ({PKT_WINDOW} bytes)")]
    TooLong(usize),
    #[error("FIFO_MD full: {need} words needed, {free} free, {slots} packets queued")]
    Full {
        need: usize,
        free: usize,
        slots: usize,
    },
}

/// A queued or running packet.
#[derive(Debug, Clone)]
pub struct Slot {
    /// First ring word.
    pub start: usize,
    pub words: usize,
    pub len: usize,
    /// Words arrived so far.
    pub arrived: usize,
    /// Leading words that are not on the wire (free to arrive).
    pub header: usize,
    /// Engine arguments r1..r5 for this packet.
    pub args: [u64; 5],
    /// The bytes still to arrive (the port's view).
    source: Vec<u8>,
}

/// One engine's FIFO_MD.
#[derive(Debug, Clone)]
pub struct FifoMd {
    data: Vec<u8>,
    valid: WordMask,
    slots: std::collections::VecDeque<Slot>,
    /// Finished packets whose words the egress has not released yet (oldest
    /// first, all ahead of `slots` in the ring).
    retired: std::collections::VecDeque<Slot>,
    /// Verdicts retire slots instead of freeing them.
    hold: bool,
    /// Next ring word to allocate.
    tail: usize,
    /// Words of the queued and running slots (retired ones not counted: a
    /// new slot may be given their words, see `arrive_next`).
    used: usize,
    /// How many slots, counted in ring order (the retired ones, then the
    /// queued ones), have all their words: words arrive in slot order, so
    /// these are a prefix and the slot after them is the one receiving
    /// (found in constant time, not by a scan each clock).
    arrived_prefix: usize,
    /// Words released since the last port clock ([`FifoMd::release`]): free
    /// for a word to arrive only from the next port clock on, as the RTL's
    /// registered valid bits (cleared at the end of the releasing clock).
    released: WordMask,
    pacing: Pacing,
    acc: u64,
}

impl FifoMd {
    pub fn new(pacing: Pacing) -> Self {
        FifoMd {
            data: vec![0; PKT_WINDOW],
            valid: 0,
            slots: Default::default(),
            retired: Default::default(),
            hold: false,
            tail: 0,
            used: 0,
            arrived_prefix: 0,
            released: 0,
            pacing,
            acc: Self::word_cost(pacing),
        }
    }

    /// A FIFO_MD whose verdicts retire slots until [`FifoMd::release`].
    pub fn with_hold(pacing: Pacing) -> Self {
        FifoMd {
            hold: true,
            ..Self::new(pacing)
        }
    }

    fn word_cost(p: Pacing) -> u64 {
        match p {
            Pacing::Instant => 0,
            Pacing::Port { clock_hz, .. } => (WB as u64 * 8).saturating_mul(clock_hz),
        }
    }

    /// Queue a packet; its words arrive at the port's pace.
    pub fn push(&mut self, bytes: &[u8], args: [u64; 5]) -> Result<(), FifoError> {
        self.push_framed(bytes, 0, args)
    }

    /// Queue a packet whose first `header` words are not on the wire (see
    /// the module comment); the rest arrive at the port's pace.
    pub fn push_framed(
        &mut self,
        bytes: &[u8],
        header: usize,
        args: [u64; 5],
    ) -> Result<(), FifoError> {
        if bytes.len() > PKT_WINDOW {
            return Err(FifoError::TooLong(bytes.len()));
        }
        let words = bytes.len().div_ceil(WB);
        let queued = self.slots.len() + self.retired.len();
        if words > FIFO_WORDS - self.used || queued >= contract::FIFO_MAX_PACKETS {
            return Err(FifoError::Full {
                need: words,
                free: FIFO_WORDS - self.used,
                slots: queued,
            });
        }
        if self.pending_slot().is_none() {
            // The port was idle: the first word goes out at the next tick.
            self.acc = Self::word_cost(self.pacing);
        }
        self.slots.push_back(Slot {
            start: self.tail,
            words,
            len: bytes.len(),
            arrived: 0,
            header,
            args,
            source: bytes.to_vec(),
        });
        self.tail = (self.tail + words) % FIFO_WORDS;
        self.used += words;
        // An empty packet has all its words already.
        self.settle();
        if let Pacing::Instant = self.pacing {
            while self.arrive_next() {}
        }
        Ok(())
    }

    /// Slot `i` in ring order: the retired slots, then the queued ones.
    #[inline]
    fn slot_at(&self, i: usize) -> Option<&Slot> {
        match i.checked_sub(self.retired.len()) {
            None => self.retired.get(i),
            Some(q) => self.slots.get(q),
        }
    }

    /// Move `arrived_prefix` past the slots that have all their words.
    #[inline]
    fn settle(&mut self) {
        while self
            .slot_at(self.arrived_prefix)
            .is_some_and(|s| s.arrived == s.words)
        {
            self.arrived_prefix += 1;
        }
    }

    /// The slot at ring-order position `i` left the FIFO_MD.
    fn removed_at(&mut self, i: usize) {
        if i < self.arrived_prefix {
            self.arrived_prefix -= 1;
        } else {
            self.settle();
        }
    }

    /// The oldest slot (retired or queued) with a word still to arrive.
    #[inline]
    fn pending_slot(&self) -> Option<&Slot> {
        self.slot_at(self.arrived_prefix)
    }

    /// Can the next word of the oldest slot still receiving arrive: is its
    /// ring word free? A retired slot's words stay valid until the egress
    /// releases them, and a slot queued since may have been given them
    /// (only the queued and running slots' words are reserved at push):
    /// its word waits.
    fn next_word_free(&self) -> bool {
        let held = self.valid | self.released;
        self.pending_slot()
            .is_some_and(|s| held & (1u128 << ((s.start + s.arrived) % FIFO_WORDS)) == 0)
    }

    /// The next word of the oldest slot still receiving arrives; false when
    /// none is or its ring word is still held.
    fn arrive_next(&mut self) -> bool {
        if !self.next_word_free() {
            return false;
        }
        let (at, held) = (self.arrived_prefix, self.retired.len());
        // The fields apart: the slot is written while `data` takes its word.
        let slot = match at.checked_sub(held) {
            None => self.retired.get_mut(at),
            Some(q) => self.slots.get_mut(q),
        };
        let Some(s) = slot else {
            return false;
        };
        let w = s.arrived;
        let lo = w * WB;
        let hi = (lo + WB).min(s.len);
        let ring = (s.start + w) % FIFO_WORDS;
        self.data[ring * WB..ring * WB + (hi - lo)].copy_from_slice(&s.source[lo..hi]);
        self.valid |= 1u128 << ring;
        s.arrived += 1;
        if s.arrived == s.words {
            s.source = Vec::new();
            self.settle();
        }
        true
    }

    /// One clock of the port: at most one word arrives (with
    /// [`Pacing::Instant`], every word whose ring word was released since).
    /// Words released before this clock are free from now on.
    #[inline]
    pub fn tick(&mut self) {
        self.tick_words();
        self.released = 0;
    }

    fn tick_words(&mut self) {
        let Pacing::Port { rate_bps, .. } = self.pacing else {
            while self.arrive_next() {}
            return;
        };
        let cost = Self::word_cost(self.pacing);
        let Some(s) = self.pending_slot() else {
            return;
        };
        if s.arrived < s.header {
            self.arrive_next();
        } else if self.acc >= cost && self.arrive_next() {
            self.acc -= cost;
        }
        self.acc = self.acc.saturating_add(rate_bps);
    }

    /// The running packet (head slot).
    pub fn head(&self) -> Option<&Slot> {
        self.slots.front()
    }

    /// Packets queued, the running one included.
    pub fn queued(&self) -> usize {
        self.slots.len()
    }

    /// The head packet may start: its first word is valid (or it is empty).
    pub fn head_ready(&self) -> bool {
        self.slots
            .front()
            .is_some_and(|s| s.words == 0 || s.arrived > 0)
    }

    /// Every word of the head packet has arrived.
    pub fn head_complete(&self) -> bool {
        self.slots.front().is_some_and(|s| s.arrived == s.words)
    }

    /// Are the words holding head-packet bytes `off..off + n` valid? A word
    /// of the head's slot is valid once it has arrived for it (its ring
    /// word's valid bit may still be an older retired packet's, which holds
    /// the word until its release); a word past the slot by its valid bit.
    #[inline]
    pub fn valid(&self, off: usize, n: usize) -> bool {
        let Some(s) = self.slots.front() else {
            return false;
        };
        let ok = |k: usize| {
            if k < s.words {
                k < s.arrived
            } else {
                self.valid & (1u128 << ((s.start + k) % FIFO_WORDS)) != 0
            }
        };
        ok(off / WB) && ok((off + n - 1) / WB)
    }

    #[inline]
    fn ring_off(&self, off: usize) -> usize {
        let start = self.slots.front().map_or(0, |s| s.start);
        (start * WB + off) % PKT_WINDOW
    }

    /// Read `n` (1..=8) bytes little-endian at head-packet offset `off`.
    #[inline]
    pub fn read(&self, off: usize, n: usize) -> u64 {
        let p = self.ring_off(off);
        let mut b = [0u8; 8];
        if p + n <= PKT_WINDOW {
            b[..n].copy_from_slice(&self.data[p..p + n]);
        } else {
            for (k, x) in b.iter_mut().take(n).enumerate() {
                *x = self.data[(p + k) % PKT_WINDOW];
            }
        }
        u64::from_le_bytes(b)
    }

    /// Write the low `n` bytes of `v` at head-packet offset `off`.
    #[inline]
    pub fn write(&mut self, off: usize, n: usize, v: u64) {
        let p = self.ring_off(off);
        let b = v.to_le_bytes();
        if p + n <= PKT_WINDOW {
            self.data[p..p + n].copy_from_slice(&b[..n]);
        } else {
            for (k, x) in b.iter().take(n).enumerate() {
                self.data[(p + k) % PKT_WINDOW] = *x;
            }
        }
    }

    /// Where head-packet bytes `0..len` (`len` at most the window) are in
    /// the ring: up to the ring's end, then from its start.
    fn head_spans(&self, len: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let p = self.ring_off(0);
        let first = len.min(PKT_WINDOW - p);
        (p..p + first, 0..len - first)
    }

    /// The head packet's bytes as they are now.
    pub fn head_bytes(&self) -> Vec<u8> {
        let len = self.slots.front().map_or(0, |s| s.len);
        let (a, b) = self.head_spans(len);
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(&self.data[a]);
        v.extend_from_slice(&self.data[b]);
        v
    }

    /// Overwrite the head packet's bytes (a helper wrote through a pointer).
    pub fn set_head_bytes(&mut self, bytes: &[u8]) {
        if bytes.len() > PKT_WINDOW {
            // Longer than the ring: byte by byte, the later bytes winning.
            for (i, &b) in bytes.iter().enumerate() {
                let p = self.ring_off(i);
                self.data[p] = b;
            }
            return;
        }
        let (a, b) = self.head_spans(bytes.len());
        let (x, y) = bytes.split_at(a.len());
        self.data[a].copy_from_slice(x);
        self.data[b].copy_from_slice(y);
    }

    /// Take the verdict: free the head slot (or retire it, see
    /// [`FifoMd::with_hold`]) and return its final bytes. Words that had not
    /// arrived yet pass through unchanged.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        let mut bytes = self.head_bytes();
        let s = self.slots.pop_front()?;
        let from = s.arrived * WB;
        if from < s.len {
            bytes[from..].copy_from_slice(&s.source[from..]);
        }
        self.used -= s.words;
        if self.hold {
            // Ring order unchanged: the head of the queued slots becomes
            // the newest retired one.
            self.retired.push_back(s);
        } else {
            self.free(&s);
            self.removed_at(self.retired.len());
        }
        Some(bytes)
    }

    fn free(&mut self, s: &Slot) {
        for w in 0..s.words {
            self.valid &= !(1u128 << ((s.start + w) % FIFO_WORDS));
        }
    }

    /// May the egress start sending the oldest retired packet in this cycle
    /// (after this cycle's arrival), one 256-bit beat per cycle from here on,
    /// the frame's words after its header? Yes when every word has arrived,
    /// or when the ones still to come will each arrive in time for the beat
    /// that sends it (cut-through). The slot still receiving is the oldest,
    /// so the port's credit is its own: with `A` credits now, `B` beats and
    /// `R` words still to arrive, the last word arrives by the last beat iff
    /// `A + (B - 2) x rate >= R x cost`; earlier words arrive at least five
    /// cycles apart, faster than the one-cycle beats need them, or, after
    /// a wait piled credit up, one a cycle, still in time once the word
    /// after the header is in. (A frame the
    /// program shortened sends fewer beats and needs fewer words: the same
    /// test, on the received length, covers it.)
    pub fn retired_front_ready(&self) -> bool {
        let Some(s) = self.retired.front() else {
            return false;
        };
        let left = (s.words - s.arrived) as u64;
        if left == 0 {
            return true;
        }
        let Pacing::Port { rate_bps, .. } = self.pacing else {
            return false;
        };
        let beats = (s.words - s.header.min(s.words)).max(1) as u64;
        // The word after the header in too: should credit have piled up
        // (a word waited for its ring word), words may come one a cycle.
        s.arrived > s.header
            && beats >= 2
            && self.acc + (beats - 2) * rate_bps >= left * Self::word_cost(self.pacing)
    }

    /// Retired slots.
    pub fn retired(&self) -> usize {
        self.retired.len()
    }

    /// Free the oldest retired slot's words (a later slot's word may arrive
    /// into them from the next port clock on, see `released`).
    pub fn release(&mut self) -> bool {
        match self.retired.pop_front() {
            Some(s) => {
                self.free(&s);
                for w in 0..s.words {
                    self.released |= 1u128 << ((s.start + w) % FIFO_WORDS);
                }
                self.removed_at(0);
                true
            }
            None => false,
        }
    }

    /// The packet just retired has nothing to send (dropped): it is freed
    /// now when it is the only retired slot; otherwise it waits for
    /// [`FifoMd::release`] behind the others (receiving its words meanwhile:
    /// the port delivers a frame whole, and words of a later slot that
    /// reuse these must not be cleared by its release). Released before
    /// all its words came, it stops receiving: the next slot's words come
    /// next.
    pub fn drop_retired(&mut self) {
        if self.retired.len() == 1 {
            self.release();
        }
    }

    /// Valid bits, bit i = ring word i.
    pub fn valid_bits(&self) -> WordMask {
        self.valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_gig_pacing_is_exact() {
        let mut f = FifoMd::new(Pacing::default());
        f.push(&[0u8; 32 * 11], [0; 5]).unwrap();
        let mut when = Vec::new();
        for c in 0..60 {
            let before = f.head().unwrap().arrived;
            f.tick();
            if f.head().unwrap().arrived > before {
                when.push(c);
            }
        }
        // word n at ceil(n * 5.12) cycles after word 0
        let expect: Vec<u64> = (0..11u64).map(|n| (n * 512).div_ceil(100)).collect();
        assert_eq!(when, expect);
    }

    #[test]
    fn header_words_are_free() {
        let mut f = FifoMd::new(Pacing::default());
        f.push_framed(&[0u8; 32 * 4], 1, [0; 5]).unwrap();
        f.push_framed(&[0u8; 32 * 2], 1, [0; 5]).unwrap();
        let mut when = Vec::new();
        for c in 0..40 {
            let before = f.valid_bits().count_ones();
            f.tick();
            if f.valid_bits().count_ones() > before {
                when.push(c);
            }
        }
        // First packet: header at 0, frame words at 1, 6, 11 (ceil(5.12 n),
        // not in the header's cycle); the second's header follows in the
        // next cycle, its frame word at the port's pace (ceil(3 x 5.12)).
        assert_eq!(when, vec![0, 1, 6, 11, 12, 16]);
    }

    #[test]
    fn retired_slots_keep_their_words_and_free_in_order() {
        let mut f = FifoMd::with_hold(Pacing::Instant);
        f.push(&[1u8; 64], [0; 5]).unwrap();
        f.push(&[2u8; 64], [0; 5]).unwrap();
        f.push(&[3u8; 64], [0; 5]).unwrap();
        assert_eq!(f.pop().unwrap(), vec![1u8; 64]);
        assert_eq!(f.valid_bits(), 0b11_1111);
        // A drop behind a retired packet waits; the one ahead frees first.
        f.pop().unwrap();
        f.drop_retired();
        assert_eq!(f.retired(), 2);
        assert!(f.release());
        assert_eq!(f.valid_bits(), 0b11_1100);
        assert!(f.release());
        assert_eq!(f.valid_bits(), 0b11_0000);
        // The only retired packet dropped: freed at once.
        f.pop().unwrap();
        f.drop_retired();
        assert_eq!((f.retired(), f.valid_bits()), (0, 0));
        assert!(!f.release());
    }

    /// The oldest slot still receiving, by a scan of every slot (what
    /// `arrived_prefix` finds in constant time).
    fn pending_by_scan(f: &FifoMd) -> Option<(usize, usize, usize)> {
        f.retired
            .iter()
            .chain(f.slots.iter())
            .find(|s| s.arrived < s.words)
            .map(|s| (s.start, s.words, s.arrived))
    }

    #[test]
    fn pending_slot_is_the_oldest_still_receiving() {
        for hold in [false, true] {
            let mut f = if hold {
                FifoMd::with_hold(Pacing::default())
            } else {
                FifoMd::new(Pacing::default())
            };
            // xorshift: pushes of 0..300 bytes (empty ones too), clocks,
            // verdicts before and after the last word, drops, releases.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let (mut pushed, mut popped, mut released) = (0, 0, 0);
            for _ in 0..50_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match x % 8 {
                    0 | 1 => {
                        let len = (x >> 8) as usize % 300;
                        let header = (x >> 20) as usize % 2;
                        pushed += usize::from(f.push_framed(&vec![7; len], header, [0; 5]).is_ok());
                    }
                    2..=4 => f.tick(),
                    5 if f.head_complete() || x & 0x100 != 0 => {
                        popped += usize::from(f.pop().is_some());
                        if hold && x & 0x200 != 0 {
                            f.drop_retired();
                        }
                    }
                    6 => released += usize::from(f.release()),
                    _ => {}
                }
                assert_eq!(
                    f.pending_slot().map(|s| (s.start, s.words, s.arrived)),
                    pending_by_scan(&f)
                );
            }
            assert!(pushed > 1000 && popped > 1000, "{pushed} {popped}");
            assert_eq!(hold, released > 100, "{released}");
        }
    }

    #[test]
    fn ring_wraps_and_frees() {
        let n = FIFO_WORDS;
        let mut f = FifoMd::new(Pacing::Instant);
        f.push(&vec![1u8; (n - 3) * 32], [0; 5]).unwrap();
        f.push(&[2u8; 64], [0; 5]).unwrap(); // words n - 3, n - 2
        assert!(f.push(&[3u8; 96], [0; 5]).is_err()); // only word n - 1 free
        assert_eq!(f.pop().unwrap().len(), (n - 3) * 32);
        // 3 words: n - 1, 0, 1 (wraps)
        let p: Vec<u8> = (0..96u8).collect();
        f.push(&p, [0; 5]).unwrap();
        assert_eq!(f.pop().unwrap(), vec![2u8; 64]);
        assert_eq!(f.head().unwrap().start, n - 1);
        // a read spanning ring words n - 1 and 0
        assert_eq!(
            f.read(28, 8),
            u64::from_le_bytes([28, 29, 30, 31, 32, 33, 34, 35])
        );
        f.write(30, 4, 0xaabb_ccdd);
        assert_eq!(f.head_bytes()[30..34], [0xdd, 0xcc, 0xbb, 0xaa]);
        // The whole packet across the wrap, read and written back.
        let mut q = p.clone();
        q[30..34].copy_from_slice(&[0xdd, 0xcc, 0xbb, 0xaa]);
        assert_eq!(f.head_bytes(), q);
        let r: Vec<u8> = (100..196u8).collect();
        f.set_head_bytes(&r);
        assert_eq!(f.head_bytes(), r);
        assert_eq!(
            f.read(31, 2),
            u64::from_le_bytes([131, 132, 0, 0, 0, 0, 0, 0])
        );
        f.set_head_bytes(&p);
        assert_eq!(f.valid_bits(), 0b11 | 1 << (n - 1));
        f.pop().unwrap();
        assert_eq!(f.valid_bits(), 0);
    }
}
