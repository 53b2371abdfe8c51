//! The host's side of the kernel's event maps, so the oracle reads back
//! what a program sent:
//! - RINGBUF: the consumer page mapped read-write, the producer page and
//!   the data (mapped twice by the kernel, so a record is contiguous)
//!   read-only, consumed as libbpf's `ring_buffer__consume` does;
//! - PERF_EVENT_ARRAY: per CPU below `max_entries` (and online), a
//!   `PERF_COUNT_SW_BPF_OUTPUT` event on that CPU with its ring of
//!   [`PERF_PAGES`] pages mapped, stored at the CPU's index of the map, as
//!   libbpf's perf buffer does; test runs are pinned to one CPU, whose
//!   event gets the samples.

use super::{Attr, BPF_MAP_UPDATE_ELEM, KernelError, bpf, classify, possible_cpus};
use crate::maps::{ImageMap, MapType};
use nfbpf_vm::maps::{Event, EventSource};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Data pages of each perf event's ring (a power of two).
pub const PERF_PAGES: usize = 8;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
/// `struct perf_event_attr` of `PERF_ATTR_SIZE_VER7`.
const PERF_ATTR_SIZE: usize = 128;
const RINGBUF_BUSY_BIT: u32 = 1 << 31;
const RINGBUF_DISCARD_BIT: u32 = 1 << 30;

/// The bytes of a perf sample of `len` bytes as Linux's raw sample gives
/// them: with its u32 size, padded with zeros to a multiple of 8.
pub fn perf_padded(len: usize) -> usize {
    (len + 4).next_multiple_of(8) - 4
}

/// A shared mapping of a file descriptor, unmapped on drop.
#[derive(Debug)]
struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; the
// kernel is the only other party, and every access goes through atomics or
// byte copies within `len`.
#[allow(unsafe_code)]
unsafe impl Send for Mmap {}
// SAFETY: as above; reads and the consumer position's store are atomic.
#[allow(unsafe_code)]
unsafe impl Sync for Mmap {}

impl Mmap {
    fn new(
        fd: &OwnedFd,
        len: usize,
        writable: bool,
        offset: usize,
        op: &'static str,
    ) -> Result<Mmap, KernelError> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        // SAFETY: a new shared mapping of `len` bytes of a live fd at a
        // page-aligned offset; the kernel picks the address.
        #[allow(unsafe_code)]
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(KernelError::Sys {
                op,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(Mmap { ptr: p.cast(), len })
    }

    fn outside(&self, off: usize, n: usize) -> KernelError {
        KernelError::Sys {
            op: "reading an event ring",
            source: std::io::Error::other(format!(
                "{n} bytes at {off} are outside the {}-byte mapping (a corrupt record?)",
                self.len
            )),
        }
    }

    fn u64_at(&self, off: usize) -> Result<&AtomicU64, KernelError> {
        if off + 8 > self.len || !off.is_multiple_of(8) {
            return Err(self.outside(off, 8));
        }
        // SAFETY: in bounds (checked), 8-aligned (mappings are page
        // aligned), and the kernel updates the word atomically.
        #[allow(unsafe_code)]
        Ok(unsafe { AtomicU64::from_ptr(self.ptr.add(off).cast()) })
    }

    fn u32_at(&self, off: usize) -> Result<&AtomicU32, KernelError> {
        if off + 4 > self.len || !off.is_multiple_of(4) {
            return Err(self.outside(off, 4));
        }
        // SAFETY: as `u64_at`.
        #[allow(unsafe_code)]
        Ok(unsafe { AtomicU32::from_ptr(self.ptr.add(off).cast()) })
    }

    fn bytes(&self, off: usize, n: usize) -> Result<Vec<u8>, KernelError> {
        if off.saturating_add(n) > self.len {
            return Err(self.outside(off, n));
        }
        // SAFETY: in bounds (checked); the kernel does not write a record
        // the consumer has not been given.
        #[allow(unsafe_code)]
        Ok(unsafe { std::slice::from_raw_parts(self.ptr.add(off), n).to_vec() })
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        #[allow(unsafe_code)]
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[derive(Debug)]
pub(super) struct Ring {
    cons: Mmap,
    /// The producer page, then the data twice.
    prod: Mmap,
    page: usize,
    size: u64,
}

#[derive(Debug)]
pub(super) struct PerfBuf {
    cpu: u32,
    _fd: OwnedFd,
    mem: Mmap,
}

/// How the host reads one event map.
#[derive(Debug)]
pub(super) enum Reader {
    Ring(Ring),
    Perf(Vec<PerfBuf>),
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    #[allow(unsafe_code)]
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).unwrap_or(4096)
}

fn perf_open(cpu: u32) -> Result<Option<OwnedFd>, KernelError> {
    #[repr(C, align(8))]
    struct PerfAttr([u8; PERF_ATTR_SIZE]);
    let mut a = PerfAttr([0; PERF_ATTR_SIZE]);
    a.0[0..4].copy_from_slice(&PERF_TYPE_SOFTWARE.to_le_bytes());
    a.0[4..8].copy_from_slice(&(PERF_ATTR_SIZE as u32).to_le_bytes());
    a.0[8..16].copy_from_slice(&PERF_COUNT_SW_BPF_OUTPUT.to_le_bytes());
    a.0[16..24].copy_from_slice(&1u64.to_le_bytes()); // sample_period
    a.0[24..32].copy_from_slice(&PERF_SAMPLE_RAW.to_le_bytes());
    a.0[48..52].copy_from_slice(&1u32.to_le_bytes()); // wakeup_events
    // SAFETY: `a` is a live perf_event_attr of the size it declares; the
    // kernel only reads it.
    #[allow(unsafe_code)]
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            a.0.as_ptr(),
            -1 as libc::c_int,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        // An offline CPU has no events: its index stays empty (-ENOENT for
        // a program, as on Linux).
        if e.raw_os_error() == Some(libc::ENODEV) {
            return Ok(None);
        }
        return Err(classify("perf_event_open", e));
    }
    // SAFETY: a new fd just returned by perf_event_open.
    #[allow(unsafe_code)]
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

impl Reader {
    /// The reader of map `m` (created as `fd`), if it is an event map.
    pub(super) fn open(m: &ImageMap, fd: &OwnedFd) -> Result<Option<Reader>, KernelError> {
        match m.kind {
            MapType::Ringbuf => {
                let page = page_size();
                let size = m.max_entries as usize;
                Ok(Some(Reader::Ring(Ring {
                    cons: Mmap::new(fd, page, true, 0, "mmap of the ring's consumer page")?,
                    prod: Mmap::new(
                        fd,
                        page + 2 * size,
                        false,
                        page,
                        "mmap of the ring's producer page and data",
                    )?,
                    page,
                    size: size as u64,
                })))
            }
            MapType::PerfEventArray => {
                let page = page_size();
                let n = (m.max_entries as usize).min(possible_cpus()?);
                let mut bufs = Vec::new();
                for cpu in 0..n as u32 {
                    let Some(ev) = perf_open(cpu)? else { continue };
                    let mem = Mmap::new(
                        &ev,
                        (1 + PERF_PAGES) * page,
                        true,
                        0,
                        "mmap of a perf event's ring",
                    )?;
                    let key = cpu.to_le_bytes();
                    let value = (ev.as_raw_fd() as u32).to_le_bytes();
                    let mut a = Attr::new();
                    a.u32(0, fd.as_raw_fd() as u32)
                        .ptr(8, key.as_ptr())
                        .ptr(16, value.as_ptr());
                    bpf(BPF_MAP_UPDATE_ELEM, &mut a)
                        .map_err(|e| classify("BPF_MAP_UPDATE_ELEM of a perf event", e))?;
                    bufs.push(PerfBuf { cpu, _fd: ev, mem });
                }
                Ok(Some(Reader::Perf(bufs)))
            }
            _ => Ok(None),
        }
    }

    /// Append the waiting events of map `map` to `out`.
    pub(super) fn take(
        &self,
        map: usize,
        name: &str,
        out: &mut Vec<Event>,
    ) -> Result<(), KernelError> {
        match self {
            Reader::Ring(r) => {
                let cons_pos = r.cons.u64_at(0)?;
                let prod = r.prod.u64_at(0)?.load(Ordering::Acquire);
                let mut cons = cons_pos.load(Ordering::Acquire);
                let mask = r.size - 1;
                while cons < prod {
                    let at = r.page + (cons & mask) as usize;
                    let hdr = r.prod.u32_at(at)?.load(Ordering::Acquire);
                    if hdr & RINGBUF_BUSY_BIT != 0 {
                        break;
                    }
                    let len = hdr & !(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
                    if hdr & RINGBUF_DISCARD_BIT == 0 {
                        out.push(Event {
                            map,
                            name: name.to_string(),
                            source: EventSource::Ringbuf,
                            data: r.prod.bytes(at + 8, len as usize)?,
                        });
                    }
                    cons += (u64::from(len) + 8).next_multiple_of(8);
                    cons_pos.store(cons, Ordering::Release);
                }
            }
            Reader::Perf(bufs) => {
                for b in bufs {
                    take_perf(b, map, name, out)?;
                }
            }
        }
        Ok(())
    }
}

/// The samples waiting in one perf event's ring.
fn take_perf(b: &PerfBuf, map: usize, name: &str, out: &mut Vec<Event>) -> Result<(), KernelError> {
    let m = &b.mem;
    let head = m.u64_at(1024)?.load(Ordering::Acquire);
    let tail_at = m.u64_at(1032)?;
    let mut tail = tail_at.load(Ordering::Acquire);
    let off = m.u64_at(1040)?.load(Ordering::Relaxed) as usize;
    let size = m.u64_at(1048)?.load(Ordering::Relaxed) as usize;
    if size == 0 || off + size > m.len {
        return Err(KernelError::Sys {
            op: "reading a perf event's ring",
            source: std::io::Error::other(format!("data at {off} of {size} bytes")),
        });
    }
    // Bytes `at..at + n` of the ring, across its end.
    let read = |at: u64, n: usize| -> Result<Vec<u8>, KernelError> {
        let s = (at % size as u64) as usize;
        let first = n.min(size - s);
        let mut v = m.bytes(off + s, first)?;
        v.extend(m.bytes(off, n - first)?);
        Ok(v)
    };
    while tail < head {
        let h = read(tail, 8)?;
        let kind = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let len = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if len < 8 {
            break;
        }
        let rec = read(tail, len)?;
        match kind {
            PERF_RECORD_SAMPLE if len >= 12 => {
                let raw = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize;
                out.push(Event {
                    map,
                    name: name.to_string(),
                    source: EventSource::PerfEvent { cpu: b.cpu },
                    data: rec[12..(12 + raw).min(len)].to_vec(),
                });
            }
            PERF_RECORD_LOST => {
                return Err(KernelError::Sys {
                    op: "reading a perf event's ring",
                    source: std::io::Error::other(format!(
                        "CPU {}'s ring of {PERF_PAGES} pages lost samples",
                        b.cpu
                    )),
                });
            }
            _ => {}
        }
        tail += len as u64;
    }
    tail_at.store(tail, Ordering::Release);
    Ok(())
}
