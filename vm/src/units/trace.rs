//! The trace unit's FIFOs: what `bpf_trace_printk` and `bpf_trace_vprintk`
//! leave for the host, one FIFO per engine, as the RTL's trace unit keeps
//! them and the host reads them through the `TRACE*` registers
//! (`docs/registers.md`).
//!
//! A record is what its call read on the helper memory port, word for
//! word ([`RawTrace::words`]: the format's words, the argument array's for
//! `trace_vprintk`, then [`contract::PRINTK_STR_WORDS`] at each `%s`, the
//! bytes past the region a string points into reading 0), with a header
//! (the call's clock, the formatted length, the shape, which strings ran
//! off their region, `trace_printk`'s three arguments). The host formats
//! the text from that alone ([`RawTrace::decode`]), so a format or string
//! on the stack, which the next packet overwrites, still prints.
//!
//! Each engine's FIFO holds [`contract::TRACE_FIFO_RECORDS`] records and
//! [`contract::TRACE_FIFO_WORDS`] data words. A call is taken when, in its
//! request's clock, a record is free and [`contract::trace_record_words`]
//! words are (every argument counted as a `%s`); otherwise its record, if
//! it formats, is dropped and counted. A record (or a drop) shows in the
//! registers from the second clock after its answer's (the RTL reads the
//! head's header from its RAM a clock late; [`TraceQueue::offer`]); the
//! host takes the head record out with `TRACEPOP`, its record and words
//! free for a call in the clock the device is in when the write comes (the
//! RTL's pop is at the edge before that clock's calls decide:
//! `tests/rtl_device.rs`, a pop in each clock around a call on a full FIFO).

use crate::contract;
use std::collections::VecDeque;

/// One trace record as the trace FIFO holds it (and the host reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTrace {
    /// The clock of the call.
    pub cycle: u64,
    /// The formatted length (what the helper returned).
    pub ret: u32,
    /// The format's size (r2), NUL included.
    pub fmt_bytes: u32,
    /// `trace_vprintk`: the words of its argument array (r4 / 8).
    pub array_words: u32,
    /// The format's `%s` conversions.
    pub strings: u32,
    pub vprintk: bool,
    /// Bit i: the format's i-th `%s` reached the end of the memory its
    /// argument points into before a NUL (it prints `(efault)`).
    pub efault: u32,
    /// `trace_printk`'s r3..r5 (0 for `trace_vprintk`).
    pub args: [u64; 3],
    /// The data words: format, array, strings.
    pub words: Vec<u64>,
}

/// Header elements of a record (`TRACEHDR`, 32 bits each).
pub const TRACE_HDR_WORDS: u32 = 12;

impl RawTrace {
    /// `TRACEHDR` element 3: bits 13:0 the format's size, 19:16 the
    /// array's words, 27:24 the strings, bit 31 `trace_vprintk`.
    pub fn shape(&self) -> u32 {
        (self.fmt_bytes & 0x3fff)
            | (self.array_words & 0xf) << 16
            | (self.strings & 0xf) << 24
            | u32::from(self.vprintk) << 31
    }

    /// `TRACEHDR` element `i`: 0/1 the call's clock (low, high), 2 the
    /// formatted length, 3 [`Self::shape`], 4 the `(efault)` strings, 5 the
    /// data words, 6..11 r3, r4, r5 (low, high).
    pub fn header(&self, i: u32) -> u32 {
        match i {
            0 => self.cycle as u32,
            1 => (self.cycle >> 32) as u32,
            2 => self.ret,
            3 => self.shape(),
            4 => self.efault,
            5 => self.words.len() as u32,
            6..=11 => {
                let v = self.args[((i - 6) / 2) as usize];
                if i.is_multiple_of(2) {
                    v as u32
                } else {
                    (v >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    /// The record from its header elements and data words, as the host
    /// read them.
    pub fn from_header(h: &[u32; TRACE_HDR_WORDS as usize], words: Vec<u64>) -> RawTrace {
        let wide = |lo: usize| u64::from(h[lo]) | u64::from(h[lo + 1]) << 32;
        RawTrace {
            cycle: wide(0),
            ret: h[2],
            fmt_bytes: h[3] & 0x3fff,
            array_words: (h[3] >> 16) & 0xf,
            strings: (h[3] >> 24) & 0xf,
            vprintk: h[3] >> 31 != 0,
            efault: h[4],
            args: [wide(6), wide(8), wide(10)],
            words,
        }
    }

    fn bytes(words: &[u64], n: usize) -> Vec<u8> {
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        b.truncate(n);
        b
    }

    /// The format (up to its NUL) and the text, formatted from the record
    /// alone (the host's side); `None` for a record that does not hold
    /// what its header says.
    pub fn decode(&self) -> Option<(String, String)> {
        let fw = contract::helper_mem_words(u64::from(self.fmt_bytes)) as usize;
        let aw = self.array_words as usize;
        let sw = contract::PRINTK_STR_WORDS as usize;
        if self.words.len() != fw + aw + sw * self.strings as usize {
            return None;
        }
        let fmt = Self::bytes(&self.words[..fw], self.fmt_bytes as usize);
        let end = fmt.iter().position(|&b| b == 0).unwrap_or(fmt.len());
        let args: Vec<u64> = if self.vprintk {
            self.words[fw..fw + aw].to_vec()
        } else {
            self.args.to_vec()
        };
        let mut next = 0usize;
        let strs = &self.words[fw + aw..];
        let mut string = |_: u64| {
            let i = next;
            next += 1;
            if self.efault >> i & 1 != 0 {
                let t = contract::PRINTK_EFAULT_TEXT;
                return (t.to_string(), t.len());
            }
            let w = strs.get(i * sw..(i + 1) * sw).unwrap_or(&[]);
            let b = Self::bytes(w, contract::PRINTK_STR_BYTES as usize);
            let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            (String::from_utf8_lossy(&b[..n]).into_owned(), n)
        };
        let (text, _) = super::format_printk_with(&fmt[..end], &args, &mut string)?;
        Some((String::from_utf8_lossy(&fmt[..end]).into_owned(), text))
    }
}

/// One `bpf_trace_printk` (or `bpf_trace_vprintk`) that formatted: the
/// engine, the clock of its call, its format and its text, and the record
/// the host reads for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    pub engine: usize,
    pub cycle: u64,
    pub fmt: String,
    pub text: String,
    pub raw: RawTrace,
}

/// One engine's trace FIFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQueue {
    /// The records, oldest first, each with the first clock it shows in.
    recs: VecDeque<(u64, TraceRecord)>,
    /// Data words the records hold.
    words: usize,
    /// Records dropped (the FIFO full), and the clock the last drop shows
    /// from.
    dropped: u64,
    drop_at: u64,
}

impl TraceQueue {
    /// The record of a call in clock `now` that formatted, needing
    /// `need` free words ([`contract::trace_record_words`] with every
    /// argument a `%s`): kept when a record and `need` words are free, else
    /// counted dropped; either shows from the second clock after the
    /// answer (the answer comes [`RawTrace::words`] clocks after the
    /// request).
    pub fn offer(&mut self, now: u64, need: u32, rec: TraceRecord) {
        let n = rec.raw.words.len();
        let at = now + n as u64 + 2;
        if self.recs.len() < contract::TRACE_FIFO_RECORDS
            && need as usize <= contract::TRACE_FIFO_WORDS - self.words
        {
            self.words += n;
            self.recs.push_back((at, rec));
        } else {
            self.dropped += 1;
            self.drop_at = at;
        }
    }

    /// Records the host sees in clock `now`.
    pub fn count(&self, now: u64) -> usize {
        self.recs.iter().take_while(|(at, _)| *at <= now).count()
    }

    /// Drops the host sees in clock `now`.
    pub fn dropped(&self, now: u64) -> u64 {
        self.dropped - u64::from(self.dropped > 0 && self.drop_at > now)
    }

    /// The head record, if the host sees it in clock `now`.
    pub fn head(&self, now: u64) -> Option<&TraceRecord> {
        self.recs
            .front()
            .filter(|(at, _)| *at <= now)
            .map(|(_, r)| r)
    }

    /// Take the head record out (`TRACEPOP`) in clock `now`, if the host
    /// sees it; its record and words are free for a call of that clock.
    pub fn pop(&mut self, now: u64) -> Option<TraceRecord> {
        self.head(now)?;
        let (_, r) = self.recs.pop_front()?;
        self.words -= r.raw.words.len();
        Some(r)
    }
}

/// The trace unit's FIFOs, one per engine (grown to the engines that
/// print).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceLog {
    queues: Vec<TraceQueue>,
}

impl TraceLog {
    /// Engine `e`'s FIFO.
    pub fn queue(&self, e: usize) -> Option<&TraceQueue> {
        self.queues.get(e)
    }

    pub fn queue_mut(&mut self, e: usize) -> &mut TraceQueue {
        if self.queues.len() <= e {
            self.queues.resize_with(e + 1, TraceQueue::default);
        }
        &mut self.queues[e]
    }

    /// Every record held, shown or not, by the clock of its call (then the
    /// engine).
    pub fn records(&self) -> Vec<&TraceRecord> {
        let mut v: Vec<&TraceRecord> = self
            .queues
            .iter()
            .flat_map(|q| q.recs.iter().map(|(_, r)| r))
            .collect();
        v.sort_by_key(|r| (r.cycle, r.engine));
        v
    }

    /// Every record held, taken out, in [`Self::records`]'s order (the end
    /// of a run: the host drains the FIFOs).
    pub fn drain(&mut self) -> Vec<TraceRecord> {
        let mut v: Vec<TraceRecord> = Vec::new();
        for q in &mut self.queues {
            v.extend(q.recs.drain(..).map(|(_, r)| r));
            q.words = 0;
        }
        v.sort_by_key(|r| (r.cycle, r.engine));
        v
    }

    /// Records dropped in all, shown or not.
    pub fn dropped(&self) -> u64 {
        self.queues.iter().map(|q| q.dropped).sum()
    }

    pub fn len(&self) -> usize {
        self.queues.iter().map(|q| q.recs.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The host's side: every trace record waiting in the device's trace
/// FIFOs, read and taken out through the `TRACE*` registers (engine by
/// engine through `ENGSELECT`, which is left at the last engine read), in
/// the order of their calls' clocks, each formatted from its words
/// ([`RawTrace::decode`]); and the records dropped in all. A record that
/// does not hold what its header says is an error naming its engine.
pub fn read_trace(
    bus: &mut dyn crate::regs::RegisterBus,
) -> Result<(Vec<TraceRecord>, u64), crate::regs::BusError> {
    use crate::regs::{
        BusError, ENGSELECT, NUMENGINES, TRACECOUNT, TRACEDROP, TRACEHDR, TRACEIDX, TRACEPOP,
        TRACEWORD,
    };
    let engines = bus.read32(NUMENGINES)?;
    let (mut out, mut dropped) = (Vec::new(), 0u64);
    for e in 0..engines {
        bus.write32(ENGSELECT, e)?;
        dropped += u64::from(bus.read32(TRACEDROP)?);
        let n = bus.read32(TRACECOUNT)?;
        for _ in 0..n {
            let mut h = [0u32; TRACE_HDR_WORDS as usize];
            for (i, x) in h.iter_mut().enumerate() {
                *x = bus.read32(TRACEHDR + 4 * i as u32)?;
            }
            let mut words = Vec::with_capacity(h[5] as usize);
            for i in 0..h[5].min(contract::TRACE_FIFO_WORDS as u32) {
                bus.write32(TRACEIDX, i)?;
                let lo = bus.read32(TRACEWORD)?;
                let hi = bus.read32(TRACEWORD + 4)?;
                words.push(u64::from(lo) | u64::from(hi) << 32);
            }
            bus.write32(TRACEPOP, 1)?;
            let raw = RawTrace::from_header(&h, words);
            let (fmt, text) = raw.decode().ok_or_else(|| {
                BusError::Transport(format!(
                    "engine {e}: a trace record of {} words does not hold the format of {} bytes, {} array words and {} strings its header says",
                    raw.words.len(),
                    raw.fmt_bytes,
                    raw.array_words,
                    raw.strings
                ))
            })?;
            out.push(TraceRecord {
                engine: e as usize,
                cycle: raw.cycle,
                fmt,
                text,
                raw,
            });
        }
    }
    out.sort_by_key(|r| (r.cycle, r.engine));
    Ok((out, dropped))
}
