//! The Linux kernel as an oracle: an XDP [`Image`] loaded into the running
//! kernel with raw `bpf(2)` calls and run with `BPF_PROG_TEST_RUN`.
//!
//! The loader has already resolved everything, so this is a thin layer:
//! - each map of the image becomes a kernel map (`BPF_MAP_CREATE`), global
//!   data (`.rodata`, `.data`, `.bss`) a one-entry ARRAY map holding the
//!   section's initial bytes (`.rodata` keeps `BPF_F_RDONLY_PROG`; LPM_TRIE
//!   maps get the `BPF_F_NO_PREALLOC` Linux requires);
//! - every map relocation's `lddw` is turned back into its Linux form:
//!   [`Target::MapHandle`] -> `src = BPF_PSEUDO_MAP_FD`, `imm = fd`;
//!   [`Target::MapValue`] -> `src = BPF_PSEUDO_MAP_VALUE`, `imm = fd`, second
//!   slot `imm = offset`;
//! - the loader's prologue (`mov64 r1, ctx`; `mov64 r10, STACK_TOP`) is
//!   dropped: the kernel sets r1 and r10 itself. Every jump and bpf-to-bpf
//!   call is pc-relative and the prologue precedes all functions, so nothing
//!   else moves;
//! - the program is loaded as `BPF_PROG_TYPE_XDP` (the verifier's log is
//!   returned with a refusal) and run packet by packet with
//!   `BPF_PROG_TEST_RUN`, which gives the program's return value and the
//!   packet as the program left it. The kernel does not perform a redirect
//!   in a test run, so the output port of `XDP_REDIRECT` is unknown.
//!
//! [`kernel_verify`] asks only for the verifier's verdict and log (what the
//! kernel says about a program nfbpf's own check, [`crate::verify`], refuses
//! or accepts); nothing stays loaded.
//!
//! tc images are loaded as `BPF_PROG_TYPE_SCHED_CLS` and run with a
//! `struct __sk_buff` context in and out: the kernel builds an skb of the
//! frame (MAC header first, as at tc ingress), takes `mark`, `priority`,
//! `ingress_ifindex`, `ifindex`, `cb`, `tstamp`, `wire_len`, `gso_*` and
//! `hwtstamp` from the context in (every other field must be 0), and
//! returns the program's raw return value (a `TC_ACT_*`), the packet from
//! the MAC header, and the context out (`mark`, `priority`, `cb`,
//! `ingress_ifindex`, `ifindex`, `tstamp`, `wire_len`, `gso_segs`,
//! `hwtstamp`; not `tc_classid`, `tc_index` or `queue_mapping`). A
//! redirect is not performed.
//!
//! The XDP and tc ABIs exist in Linux; SUME images are refused. Every file
//! descriptor is closed when the [`KernelProgram`] is dropped.

mod fibns;
pub use fibns::{FibNamespace, dev_name};

use crate::image::{Image, Target};
use crate::maps::MapType;
use nfbpf_vm::abi::Abi;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM: libc::c_long = 21;

const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
const BPF_F_NO_PREALLOC: u32 = 1;
/// Size of `struct xdp_md` (data, data_end, data_meta, ingress_ifindex,
/// rx_queue_index, egress_ifindex).
const XDP_MD_SIZE: usize = 24;
/// Size of `struct __sk_buff`, and the offsets of the fields a test run
/// takes in.
const SK_BUFF_SIZE: usize = nfbpf_vm::contract::SK_BUFF_SIZE;
const SKB_INGRESS_IFINDEX: usize = nfbpf_vm::abi::sk_buff::INGRESS_IFINDEX as usize;
const SKB_IFINDEX: usize = nfbpf_vm::abi::sk_buff::IFINDEX as usize;
/// Largest output packet a test run can return (one page).
const DATA_OUT_MAX: usize = 4096;
/// Verifier log buffer for a refused program.
const LOG_SIZE: usize = 4 << 20;

/// Why the kernel could not load or run a program.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// EPERM: not root, no CAP_BPF, or unprivileged BPF disabled.
    #[error("the kernel refused BPF (need root / CAP_BPF): {op}: {source}")]
    Permission {
        op: &'static str,
        source: std::io::Error,
    },
    /// ENOSYS: the kernel has no bpf(2).
    #[error("no BPF in this kernel: {op}: {source}")]
    NoBpf {
        op: &'static str,
        source: std::io::Error,
    },
    /// The verifier refused the program (EINVAL, EACCES, ...); `log` is
    /// the verifier's log (empty: the kernel refused before verifying).
    #[error(
        "the kernel verifier refused the program ({source}){}",
        if log.trim().is_empty() {
            ": the kernel wrote no verifier log (it refused the program before verifying it: \
             program type, license, map or attribute)".to_string()
        } else {
            format!("; the verifier's log:\n{log}")
        }
    )]
    Verifier { source: std::io::Error, log: String },
    /// A frame `BPF_PROG_TEST_RUN` refuses: XDP test runs need at least
    /// an Ethernet header.
    #[error(
        "a frame of {len} bytes: the kernel's BPF_PROG_TEST_RUN refuses XDP frames under {min} bytes (an Ethernet header)"
    )]
    FrameTooShort { len: usize, min: usize },
    /// An IP frame shorter than its IP header: the kernel's tc test run
    /// refuses it (tc itself would see it).
    #[error(
        "a frame of {len} bytes: the kernel's BPF_PROG_TEST_RUN refuses tc frames of {proto} under {min} bytes (an Ethernet and an {proto} header)"
    )]
    TcFrameTooShort {
        len: usize,
        proto: &'static str,
        min: usize,
    },
    /// A map could not be created.
    #[error("map {index} `{name}`: BPF_MAP_CREATE: {source}")]
    MapCreate {
        index: usize,
        name: String,
        source: std::io::Error,
    },
    /// The host's side of an event map (ring buffer mappings, perf
    /// events) could not be set up.
    #[error("map {index} `{name}`: {op}: {source}")]
    MapEvents {
        index: usize,
        name: String,
        op: &'static str,
        source: std::io::Error,
    },
    /// An image the kernel cannot run.
    #[error("{0}")]
    Unsupported(String),
    /// `ingress_ifindex` names no interface of this machine (ENODEV).
    #[error(
        "BPF_PROG_TEST_RUN: input port {0} is not an interface of this machine (the kernel test-runs programs only on existing interfaces; 0 = loopback)"
    )]
    NoInterface(u32),
    /// A map index out of range or a key/value of the wrong size.
    #[error("map {map}: {msg}")]
    BadArgument { map: usize, msg: String },
    /// Any other failed call.
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        source: std::io::Error,
    },
}

impl KernelError {
    /// Is this the kernel (or its configuration) saying no BPF here, rather
    /// than a problem of the program?
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            KernelError::Permission { .. } | KernelError::NoBpf { .. }
        )
    }
}

/// Shortest frame the kernel's XDP test run takes (`ETH_HLEN`).
pub const MIN_FRAME: usize = 14;

/// Can `BPF_PROG_TEST_RUN` run an XDP program on this frame? (It refuses
/// frames shorter than an Ethernet header with a bare EINVAL.)
pub fn check_frame(packet: &[u8]) -> Result<(), KernelError> {
    if packet.len() < MIN_FRAME {
        return Err(KernelError::FrameTooShort {
            len: packet.len(),
            min: MIN_FRAME,
        });
    }
    Ok(())
}

/// Can `BPF_PROG_TEST_RUN` run a tc program on this frame? Beyond
/// [`check_frame`], it refuses IPv4 frames without a whole IPv4 header
/// (34 bytes) and IPv6 frames without a whole IPv6 header (54 bytes).
pub fn check_tc_frame(packet: &[u8]) -> Result<(), KernelError> {
    check_frame(packet)?;
    let (proto, min) = match (packet[12], packet[13]) {
        (0x08, 0x00) => ("IPv4", MIN_FRAME + 20),
        (0x86, 0xdd) => ("IPv6", MIN_FRAME + 40),
        _ => return Ok(()),
    };
    if packet.len() < min {
        return Err(KernelError::TcFrameTooShort {
            len: packet.len(),
            proto,
            min,
        });
    }
    Ok(())
}

/// A map entry: (key, value).
pub type Entry = (Vec<u8>, Vec<u8>);

/// One `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRun {
    /// The program's return value (the XDP action).
    pub retval: u32,
    /// The packet as the program left it (`data..data_end`; metadata the
    /// program left before `data` is not part of it).
    pub data_out: Vec<u8>,
    /// The context after the run (tc: `struct __sk_buff`, the fields the
    /// kernel writes back; XDP: `xdp_md`).
    pub ctx_out: Vec<u8>,
}

/// A kernel map of the program.
#[derive(Debug)]
struct KernelMap {
    fd: OwnedFd,
    key_size: u32,
    value_size: u32,
    /// One value per possible CPU (PERCPU_* kinds): the syscalls read and
    /// write `possible CPUs x round_up(value_size, 8)` bytes.
    percpu: bool,
    name: String,
    /// Where its events are read (RINGBUF, PERF_EVENT_ARRAY).
    events: Option<events::Reader>,
    kind: MapType,
    /// The kernel's id of the map (what a map-in-map lookup returns).
    id: u32,
}

/// An image loaded into the kernel, with its maps.
///
/// Per-CPU maps: the program's test runs are pinned to one CPU ([`cpu`]),
/// so the copy it sees is that CPU's, as on one of our engines. `lookup`
/// and `entries` read that copy; `update` writes every CPU's copy;
/// `lookup_percpu` reads them all.
///
/// [`cpu`]: KernelProgram::cpu
#[derive(Debug)]
pub struct KernelProgram {
    prog: OwnedFd,
    abi: Abi,
    maps: Vec<KernelMap>,
    /// Tail calls: the image's other resident programs ([`Image::tails`]);
    /// the kernel's ids of the entry and of these, in our id order (a
    /// PROG_ARRAY holds fds going in and gives ids back).
    tails: Vec<OwnedFd>,
    prog_ids: Vec<u32>,
    cpu: usize,
    possible_cpus: usize,
}

/// Number of possible CPUs (`/sys/devices/system/cpu/possible`, as libbpf
/// reads it): the per-CPU values the map syscalls take.
pub fn possible_cpus() -> Result<usize, KernelError> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").map_err(|source| {
        KernelError::Sys {
            op: "reading /sys/devices/system/cpu/possible",
            source,
        }
    })?;
    let bad = || KernelError::Sys {
        op: "parsing /sys/devices/system/cpu/possible",
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim().to_string()),
    };
    let mut highest = 0usize;
    for part in text.trim().split(',') {
        let last = part.rsplit('-').next().ok_or_else(bad)?;
        highest = highest.max(last.parse::<usize>().map_err(|_| bad())?);
    }
    Ok(highest + 1)
}

/// The CPUs this thread may run on.
fn affinity() -> Result<libc::cpu_set_t, KernelError> {
    // SAFETY: cpu_set_t is plain bits; all-zero is a valid (empty) set.
    #[allow(unsafe_code)]
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live cpu_set_t of the size passed.
    #[allow(unsafe_code)]
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return Err(KernelError::Sys {
            op: "sched_getaffinity",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(set)
}

fn set_affinity(set: &libc::cpu_set_t) -> Result<(), KernelError> {
    // SAFETY: `set` is a live cpu_set_t of the size passed.
    #[allow(unsafe_code)]
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    if r != 0 {
        return Err(KernelError::Sys {
            op: "sched_setaffinity",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The first CPU of this thread's affinity (the CPU test runs are pinned
/// to).
fn first_cpu() -> Result<usize, KernelError> {
    let set = affinity()?;
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads a bit of a live cpu_set_t, in range.
        .find(|&c| {
            #[allow(unsafe_code)]
            unsafe {
                libc::CPU_ISSET(c, &set)
            }
        })
        .ok_or_else(|| KernelError::Sys {
            op: "sched_getaffinity",
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no CPU in the affinity"),
        })
}

/// Run `f` with this thread pinned to `cpu`, then give the thread back its
/// affinity.
fn pinned<T>(cpu: usize, f: impl FnOnce() -> T) -> Result<T, KernelError> {
    let old = affinity()?;
    // SAFETY: as in `affinity`.
    #[allow(unsafe_code)]
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes a bit of a live cpu_set_t; `cpu` came from
    // `first_cpu`, below CPU_SETSIZE.
    #[allow(unsafe_code)]
    unsafe {
        libc::CPU_SET(cpu, &mut one)
    };
    set_affinity(&one)?;
    let r = f();
    set_affinity(&old)?;
    Ok(r)
}

/// `union bpf_attr`, zeroed, as bytes (the kernel checks that the bytes it
/// does not know are zero).
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off..off + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn ptr<T>(&mut self, off: usize, p: *const T) -> &mut Attr {
        self.u64(off, p as usize as u64)
    }
    fn name(&mut self, off: usize, name: &str) -> &mut Attr {
        // BPF object names: at most 15 of [A-Za-z0-9_.], NUL-terminated.
        let clean = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                    b
                } else {
                    b'_'
                }
            })
            .take(15);
        for (i, b) in clean.enumerate() {
            self.0[off + i] = b;
        }
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_le_bytes([
            self.0[off],
            self.0[off + 1],
            self.0[off + 2],
            self.0[off + 3],
        ])
    }
}

/// `bpf(cmd, attr, sizeof attr)`: the result (an fd or 0) or errno.
fn bpf(cmd: libc::c_long, attr: &mut Attr) -> Result<libc::c_long, std::io::Error> {
    let size = std::mem::size_of::<Attr>() as libc::c_long;
    let ptr = attr.0.as_mut_ptr();
    // SAFETY: `attr` is a live, 8-aligned, zero-initialised 128-byte buffer
    // laid out as `union bpf_attr`; every pointer stored in it (keys,
    // values, instructions, license, log and packet buffers) is taken by the
    // callers from borrows that outlive this call, with the sizes they
    // declare to the kernel. The kernel reads and writes only within them.
    #[allow(unsafe_code)]
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, ptr, size) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Wrap a new file descriptor returned by `bpf(2)`.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful bpf(2) call that
    // creates a file descriptor (map or program); nothing else owns it.
    #[allow(unsafe_code)]
    unsafe {
        OwnedFd::from_raw_fd(fd as i32)
    }
}

fn classify(op: &'static str, source: std::io::Error) -> KernelError {
    match source.raw_os_error() {
        Some(libc::EPERM) => KernelError::Permission { op, source },
        Some(libc::ENOSYS) => KernelError::NoBpf { op, source },
        _ => KernelError::Sys { op, source },
    }
}

/// Map flags as Linux wants them for this map.
fn kernel_flags(m: &crate::maps::ImageMap) -> u32 {
    match m.kind {
        MapType::LpmTrie => m.flags | BPF_F_NO_PREALLOC,
        _ => m.flags,
    }
}

/// The image's instructions in Linux's form: map `lddw`s with their pseudo
/// sources and fds, the prologue dropped.
fn kernel_insns(image: &Image, fds: &[i32]) -> Result<Vec<u8>, KernelError> {
    kernel_insns_of(&image.insns, &image.relocations, image.prologue_len, fds)
}

/// [`kernel_insns`] of one resident program's instructions.
fn kernel_insns_of(
    insns: &[nfbpf_vm::Insn],
    relocations: &[crate::image::Relocation],
    prologue_len: usize,
    fds: &[i32],
) -> Result<Vec<u8>, KernelError> {
    let mut insns = insns.to_vec();
    for r in relocations {
        let (map, src, next) = match r.target {
            Target::MapHandle { map } => (map, BPF_PSEUDO_MAP_FD, 0),
            Target::MapValue { map, offset } => (
                map,
                BPF_PSEUDO_MAP_VALUE,
                i32::try_from(offset).map_err(|_| {
                    KernelError::Unsupported(format!(
                        "pc {}: global-data offset {offset} too large",
                        r.pc
                    ))
                })?,
            ),
            Target::Call { .. } => continue,
        };
        if r.pc < prologue_len
            || r.pc + 1 >= insns.len()
            || !nfbpf_vm::build::has_opcode(&insns[r.pc], nfbpf_vm::isa::Kind::Lddw)
        {
            return Err(KernelError::Unsupported(format!(
                "pc {}: map relocation `{}` is not on an lddw",
                r.pc, r.symbol
            )));
        }
        let fd = *fds.get(map).ok_or_else(|| {
            KernelError::Unsupported(format!("pc {}: map {map} does not exist", r.pc))
        })?;
        insns[r.pc].src = src;
        insns[r.pc].imm = fd;
        insns[r.pc + 1].imm = next;
    }
    Ok(insns[prologue_len..]
        .iter()
        .flat_map(|i| i.to_bytes())
        .collect())
}

/// The kernel verifier's answer for an XDP image ([`kernel_verify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVerdict {
    /// Did `BPF_PROG_LOAD` accept the program?
    pub accepted: bool,
    /// Why not: the error `BPF_PROG_LOAD` returned.
    pub error: Option<String>,
    /// The verifier's log at the requested level; at most [`VERDICT_LOG_MAX`]
    /// bytes, its beginning and its end (where the verdict is) when longer.
    pub log: String,
    /// Part of the log is missing (too long for the kernel's buffer or for
    /// [`VERDICT_LOG_MAX`]).
    pub truncated: bool,
}

/// Longest log a [`KernelVerdict`] carries.
pub const VERDICT_LOG_MAX: usize = 64 << 10;

/// Ask the running kernel's verifier about an XDP image: load it (with its
/// maps) as `BPF_PROG_TYPE_XDP`, once without a log for the verdict, once
/// with the log at `log_level` (1: the path that failed; 2: every
/// instruction), then close everything. Errors are only for an unusable
/// kernel ([`KernelError::is_unavailable`]), a SUME image or maps the kernel
/// refuses; a refused program is `Ok` with `accepted: false`.
pub fn kernel_verify(image: &Image, log_level: u32) -> Result<KernelVerdict, KernelError> {
    check_abi(image)?;
    let maps = create_maps(image)?;
    let fds: Vec<i32> = maps.iter().map(|m| m.fd.as_raw_fd()).collect();
    let insns = kernel_insns(image, &fds)?;
    let license = license_of(image);
    let verdict = prog_load(image, &insns, &license, None);
    let error = match verdict {
        Ok(fd) => {
            drop(owned(fd));
            None
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => {
            return Err(classify("BPF_PROG_LOAD", e));
        }
        Err(e) => Some(e.to_string()),
    };
    let mut buf = vec![0u8; LOG_SIZE];
    let mut truncated = false;
    match prog_load(image, &insns, &license, Some((&mut buf, log_level.max(1)))) {
        Ok(fd) => drop(owned(fd)),
        // The log did not fit the buffer (the kernel keeps its end).
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => truncated = true,
        Err(_) => {}
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let mut log = String::from_utf8_lossy(&buf[..end]).into_owned();
    if log.len() > VERDICT_LOG_MAX {
        let head = floor_char(&log, VERDICT_LOG_MAX / 4);
        let tail = ceil_char(&log, log.len() - (VERDICT_LOG_MAX - head));
        log = format!(
            "{}\n[... {} bytes of the log left out ...]\n{}",
            &log[..head],
            tail - head,
            &log[tail..]
        );
        truncated = true;
    }
    Ok(KernelVerdict {
        accepted: error.is_none(),
        error,
        log,
        truncated,
    })
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn check_abi(image: &Image) -> Result<(), KernelError> {
    if image.abi == Abi::Sume {
        return Err(KernelError::Unsupported(format!(
            "the kernel runs only XDP and tc programs; {} is a {} ABI program",
            image.function, image.abi
        )));
    }
    if image.entry != image.prologue_len {
        return Err(KernelError::Unsupported(format!(
            "entry at pc {} but the prologue has {} slots",
            image.entry, image.prologue_len
        )));
    }
    Ok(())
}

/// One kernel map per map of the image (global data gets its bytes later).
fn create_maps(image: &Image) -> Result<Vec<KernelMap>, KernelError> {
    let mut maps = Vec::with_capacity(image.maps.len());
    for (index, m) in image.maps.iter().enumerate() {
        let err = |source| match classify("BPF_MAP_CREATE", source) {
            KernelError::Sys { source, .. } => KernelError::MapCreate {
                index,
                name: m.name.clone(),
                source,
            },
            e => e,
        };
        // Map-in-map: a map of the inner definition as the template
        // (`inner_map_fd`), closed once the outer map exists.
        let template = match &m.inner {
            Some(i) => {
                let mut a = Attr::new();
                a.u32(0, i.kind.code())
                    .u32(4, i.key_size)
                    .u32(8, i.value_size)
                    .u32(12, i.max_entries)
                    .u32(16, i.flags);
                Some(owned(bpf(BPF_MAP_CREATE, &mut a).map_err(err)?))
            }
            None => None,
        };
        let mut a = Attr::new();
        a.u32(0, m.kind.code())
            .u32(4, m.key_size)
            .u32(8, m.value_size)
            .u32(12, m.max_entries)
            .u32(16, kernel_flags(m))
            .name(28, &m.name);
        if let Some(t) = &template {
            a.u32(20, t.as_raw_fd() as u32);
        }
        // A value with a `struct bpf_spin_lock`: Linux takes the lock's
        // place from the map's BTF (key type 1, value type 2), and refuses
        // `bpf_spin_lock` on a map without it. The map keeps a reference:
        // the BTF fd is closed after the map is created.
        let btf = match m.spin_lock {
            Some(off) => Some(owned(
                bpf(BPF_BTF_LOAD, &mut btf_attr(&spin_lock_btf(m, off)))
                    .map_err(|e| classify("BPF_BTF_LOAD", e))?,
            )),
            None => None,
        };
        if let Some(b) = &btf {
            a.u32(48, b.as_raw_fd() as u32).u32(52, 1).u32(56, 2);
        }
        let fd = bpf(BPF_MAP_CREATE, &mut a).map_err(|source| {
            match classify("BPF_MAP_CREATE", source) {
                KernelError::Sys { source, .. } => KernelError::MapCreate {
                    index,
                    name: m.name.clone(),
                    source,
                },
                e => e,
            }
        })?;
        let fd = owned(fd);
        let events = events::Reader::open(m, &fd).map_err(|e| match e {
            KernelError::Sys { op, source } => KernelError::MapEvents {
                index,
                name: m.name.clone(),
                op,
                source,
            },
            e => e,
        })?;
        maps.push(KernelMap {
            id: obj_id(&fd, "map")?,
            fd,
            key_size: m.key_size,
            value_size: m.value_size,
            percpu: m.kind.is_percpu(),
            name: m.name.clone(),
            events,
            kind: m.kind,
        });
    }
    Ok(maps)
}

/// `BPF_BTF_LOAD`'s attributes for `blob` (which must outlive the call).
fn btf_attr(blob: &[u8]) -> Attr {
    let mut a = Attr::new();
    a.ptr(0, blob.as_ptr()).u32(16, blob.len() as u32);
    a
}

/// The BTF describing map `m`'s key and value to Linux when the value
/// holds a `struct bpf_spin_lock` at byte `off` (Linux needs no more of the
/// value's layout): type 1 the key (a 32-bit int for an ARRAY, as Linux
/// requires, else bytes), type 2 the value, a struct of the value's size
/// whose one member is the lock (type 3, `struct bpf_spin_lock { u32 val;
/// }`), 4 `u32`, 5 `u8`.
fn spin_lock_btf(m: &crate::maps::ImageMap, off: u32) -> Vec<u8> {
    const INT: u32 = 1 << 24;
    const ARRAY: u32 = 3 << 24;
    const STRUCT: u32 = 4 << 24;
    let strings = b"\0u32\0u8\0bpf_spin_lock\0val\0lock\0";
    let (u32_name, u8_name, lock_name, val_name, member_name) = (1u32, 5, 8, 22, 26);
    let mut t: Vec<u32> = Vec::new();
    // 1: the key.
    if m.key_size == 4 {
        t.extend([u32_name, INT, 4, 32]);
    } else {
        t.extend([0, ARRAY, 0, 5, 4, m.key_size]);
    }
    // 2: the value: the lock at `off`.
    t.extend([0, STRUCT | 1, m.value_size, member_name, 3, off * 8]);
    // 3: struct bpf_spin_lock.
    t.extend([lock_name, STRUCT | 1, 4, val_name, 4, 0]);
    // 4: u32, 5: u8.
    t.extend([u32_name, INT, 4, 32, u8_name, INT, 1, 8]);
    let types: Vec<u8> = t.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut b = Vec::new();
    b.extend(0xeb9f_u16.to_le_bytes());
    b.extend([1, 0]);
    for w in [
        24,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        b.extend(w.to_le_bytes());
    }
    b.extend(types);
    b.extend(strings);
    b
}

/// The kernel's id of a program or map (`BPF_OBJ_GET_INFO_BY_FD`: the id
/// is the second u32 of both `bpf_prog_info` and `bpf_map_info`).
fn obj_id(fd: &OwnedFd, what: &str) -> Result<u32, KernelError> {
    let mut info = [0u8; 256];
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32)
        .u32(4, info.len() as u32)
        .ptr(8, info.as_mut_ptr());
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).map_err(|e| classify("BPF_OBJ_GET_INFO_BY_FD", e))?;
    let id = u32::from_le_bytes([info[4], info[5], info[6], info[7]]);
    if id == 0 {
        return Err(KernelError::Unsupported(format!(
            "BPF_OBJ_GET_INFO_BY_FD gave no id for a {what}"
        )));
    }
    Ok(id)
}

/// The license string, NUL-terminated (GPL when the object has none).
fn license_of(image: &Image) -> Vec<u8> {
    let mut license = image
        .license
        .clone()
        .unwrap_or_else(|| "GPL".into())
        .into_bytes();
    license.retain(|&b| b != 0);
    license.push(0);
    license
}

/// `BPF_PROG_LOAD` as XDP, with the verifier's log into `log` at a level.
fn prog_load(
    image: &Image,
    insns: &[u8],
    license: &[u8],
    log: Option<(&mut [u8], u32)>,
) -> Result<libc::c_long, std::io::Error> {
    prog_load_named(image, &image.function, insns, license, log)
}

/// [`prog_load`] of the resident program `name` of `image`.
fn prog_load_named(
    image: &Image,
    name: &str,
    insns: &[u8],
    license: &[u8],
    log: Option<(&mut [u8], u32)>,
) -> Result<libc::c_long, std::io::Error> {
    let kind = match image.abi {
        Abi::Tc => BPF_PROG_TYPE_SCHED_CLS,
        _ => BPF_PROG_TYPE_XDP,
    };
    let mut a = Attr::new();
    a.u32(0, kind)
        .u32(4, (insns.len() / 8) as u32)
        .ptr(8, insns.as_ptr())
        .ptr(16, license.as_ptr())
        .name(48, name);
    if let Some((log, level)) = log {
        a.u32(24, level)
            .u32(28, log.len() as u32)
            .ptr(32, log.as_mut_ptr());
    }
    bpf(BPF_PROG_LOAD, &mut a)
}

impl KernelProgram {
    /// Create the image's maps (global data with its initial bytes) and
    /// load the program as XDP.
    pub fn load(image: &Image) -> Result<KernelProgram, KernelError> {
        check_abi(image)?;
        let maps = create_maps(image)?;
        let fds: Vec<i32> = maps.iter().map(|m| m.fd.as_raw_fd()).collect();
        let insns = kernel_insns(image, &fds)?;
        let license = license_of(image);
        let prog = match prog_load(image, &insns, &license, None) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => {
                return Err(classify("BPF_PROG_LOAD", e));
            }
            Err(_) => {
                // Again with the verifier's log.
                let mut log = vec![0u8; LOG_SIZE];
                let source = match prog_load(image, &insns, &license, Some((&mut log, 1))) {
                    // Loaded the second time: keep it.
                    Ok(fd) => return Self::finish(owned(fd), maps, image),
                    Err(e) => e,
                };
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                return Err(KernelError::Verifier {
                    source,
                    log: String::from_utf8_lossy(&log[..end]).into_owned(),
                });
            }
        };
        Self::finish(owned(prog), maps, image)
    }

    fn finish(
        prog: OwnedFd,
        maps: Vec<KernelMap>,
        image: &Image,
    ) -> Result<KernelProgram, KernelError> {
        // Tail calls: the other resident programs, with the same maps.
        let fds: Vec<i32> = maps.iter().map(|m| m.fd.as_raw_fd()).collect();
        let license = license_of(image);
        let mut tails = Vec::with_capacity(image.tails.len());
        let mut prog_ids = vec![obj_id(&prog, "program")?];
        for t in &image.tails {
            let insns = kernel_insns_of(&t.insns, &t.relocations, image.prologue_len, &fds)?;
            let fd = match prog_load_named(image, &t.function, &insns, &license, None) {
                Ok(fd) => owned(fd),
                Err(_) => {
                    let mut log = vec![0u8; LOG_SIZE];
                    match prog_load_named(image, &t.function, &insns, &license, Some((&mut log, 1)))
                    {
                        Ok(fd) => owned(fd),
                        Err(source) => {
                            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                            return Err(KernelError::Verifier {
                                source,
                                log: format!(
                                    "tail-call program {} (section {}):\n{}",
                                    t.function,
                                    t.section,
                                    String::from_utf8_lossy(&log[..end])
                                ),
                            });
                        }
                    }
                }
            };
            prog_ids.push(obj_id(&fd, "program")?);
            tails.push(fd);
        }
        let p = KernelProgram {
            prog,
            abi: image.abi,
            maps,
            tails,
            prog_ids,
            cpu: first_cpu()?,
            possible_cpus: possible_cpus()?,
        };
        for (index, m) in image.maps.iter().enumerate() {
            if let Some(init) = &m.initial {
                let mut value = init.clone();
                value.resize(m.value_size as usize, 0);
                p.update(index, &0u32.to_le_bytes(), &value)?;
            }
            for (key, target) in &m.slots {
                let id = match target {
                    crate::maps::SlotTarget::Map(i) => *i as u32 + 1,
                    crate::maps::SlotTarget::Program(n) => m
                        .programs
                        .iter()
                        .position(|x| x == n)
                        .map_or(0, |k| k as u32 + 1),
                };
                p.update(index, &key.to_le_bytes(), &id.to_le_bytes())?;
            }
        }
        Ok(p)
    }

    /// Number of maps.
    pub fn map_count(&self) -> usize {
        self.maps.len()
    }

    /// The CPU the program's test runs are pinned to (whose copy of a
    /// per-CPU map `lookup` reads).
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// Bytes of one CPU's value in a per-CPU syscall buffer.
    fn stride(m: &KernelMap) -> usize {
        (m.value_size as usize).next_multiple_of(8)
    }

    fn map(&self, map: usize, key: &[u8]) -> Result<&KernelMap, KernelError> {
        let m = self.maps.get(map).ok_or_else(|| KernelError::BadArgument {
            map,
            msg: format!("no such map ({} maps)", self.maps.len()),
        })?;
        if key.len() != m.key_size as usize {
            return Err(KernelError::BadArgument {
                map,
                msg: format!(
                    "key of {} bytes, the map's key is {}",
                    key.len(),
                    m.key_size
                ),
            });
        }
        Ok(m)
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`.
    pub fn update(&self, map: usize, key: &[u8], value: &[u8]) -> Result<(), KernelError> {
        let m = self.map(map, key)?;
        if value.len() != m.value_size as usize {
            return Err(KernelError::BadArgument {
                map,
                msg: format!(
                    "value of {} bytes, the map's value is {}",
                    value.len(),
                    m.value_size
                ),
            });
        }
        // PROG_ARRAY and map-in-map values are our ids: the kernel takes
        // the fd of that program or map.
        let value = &self.id_to_fd(map, m, value)?;
        // Per-CPU: the same value on every CPU.
        let buf: Vec<u8> = if m.percpu {
            let stride = Self::stride(m);
            let mut b = vec![0u8; stride * self.possible_cpus];
            for c in b.chunks_exact_mut(stride) {
                c[..value.len()].copy_from_slice(value);
            }
            b
        } else {
            value.to_vec()
        };
        let mut a = Attr::new();
        a.u32(0, m.fd.as_raw_fd() as u32)
            .ptr(8, key.as_ptr())
            .ptr(16, buf.as_ptr());
        bpf(BPF_MAP_UPDATE_ELEM, &mut a).map_err(|e| classify("BPF_MAP_UPDATE_ELEM", e))?;
        Ok(())
    }

    /// A PROG_ARRAY or map-in-map value (our id of a resident program or a
    /// map, from 1) as the fd the kernel takes.
    fn id_to_fd(&self, map: usize, m: &KernelMap, value: &[u8]) -> Result<Vec<u8>, KernelError> {
        let is_prog = m.kind == MapType::ProgArray;
        if !is_prog && !m.kind.is_map_in_map() {
            return Ok(value.to_vec());
        }
        let id =
            value
                .try_into()
                .map(u32::from_le_bytes)
                .map_err(|_| KernelError::BadArgument {
                    map,
                    msg: format!("a {} value is a 4-byte id", m.kind.name()),
                })?;
        let k = (id as usize).checked_sub(1);
        let fd = match (is_prog, k) {
            (true, Some(0)) => Some(self.prog.as_raw_fd()),
            (true, Some(k)) => self.tails.get(k - 1).map(|f| f.as_raw_fd()),
            (false, Some(k)) => self.maps.get(k).map(|m| m.fd.as_raw_fd()),
            (_, None) => None,
        };
        let fd = fd.ok_or_else(|| KernelError::BadArgument {
            map,
            msg: format!(
                "no {} with id {id}",
                if is_prog { "program" } else { "map" }
            ),
        })?;
        Ok((fd as u32).to_le_bytes().to_vec())
    }

    /// A PROG_ARRAY or map-in-map value the kernel gives back (its id of a
    /// program or map) as our id.
    fn kernel_id_to_ours(&self, m: &KernelMap, value: &mut [u8]) {
        let Ok(b) = <[u8; 4]>::try_from(&value[..]) else {
            return;
        };
        let kid = u32::from_le_bytes(b);
        let ours = match m.kind {
            MapType::ProgArray => self.prog_ids.iter().position(|&i| i == kid),
            k if k.is_map_in_map() => self.maps.iter().position(|x| x.id == kid),
            _ => return,
        };
        if let Some(k) = ours {
            value.copy_from_slice(&(k as u32 + 1).to_le_bytes());
        }
    }

    /// `BPF_MAP_DELETE_ELEM`; `false` when the key was absent.
    pub fn delete(&self, map: usize, key: &[u8]) -> Result<bool, KernelError> {
        let m = self.map(map, key)?;
        let mut a = Attr::new();
        a.u32(0, m.fd.as_raw_fd() as u32).ptr(8, key.as_ptr());
        match bpf(BPF_MAP_DELETE_ELEM, &mut a) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(classify("BPF_MAP_DELETE_ELEM", e)),
        }
    }

    /// `BPF_MAP_LOOKUP_ELEM`: the value, or `None` when the key is absent
    /// (per-CPU maps: the copy of [`KernelProgram::cpu`]).
    pub fn lookup(&self, map: usize, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
        let m = self.map(map, key)?;
        Ok(self.lookup_percpu(map, key)?.map(|mut all| match m.percpu {
            true => all.swap_remove(self.cpu.min(all.len().saturating_sub(1))),
            false => all.swap_remove(0),
        }))
    }

    /// `BPF_MAP_LOOKUP_ELEM` with every CPU's copy (one value for maps
    /// that are not per-CPU), or `None` when the key is absent.
    pub fn lookup_percpu(
        &self,
        map: usize,
        key: &[u8],
    ) -> Result<Option<Vec<Vec<u8>>>, KernelError> {
        let m = self.map(map, key)?;
        let (stride, n) = match m.percpu {
            true => (Self::stride(m), self.possible_cpus),
            false => (m.value_size as usize, 1),
        };
        let mut buf = vec![0u8; stride * n];
        let mut a = Attr::new();
        a.u32(0, m.fd.as_raw_fd() as u32)
            .ptr(8, key.as_ptr())
            .ptr(16, buf.as_mut_ptr());
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut a) {
            Ok(_) => Ok(Some(
                buf.chunks_exact(stride)
                    .map(|c| {
                        let mut v = c[..m.value_size as usize].to_vec();
                        self.kernel_id_to_ours(m, &mut v);
                        v
                    })
                    .collect(),
            )),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(classify("BPF_MAP_LOOKUP_ELEM", e)),
        }
    }

    /// Every key of map `map` (`BPF_MAP_GET_NEXT_KEY`), in the kernel's
    /// order.
    pub fn keys(&self, map: usize) -> Result<Vec<Vec<u8>>, KernelError> {
        let m = self.maps.get(map).ok_or_else(|| KernelError::BadArgument {
            map,
            msg: format!("no such map ({} maps)", self.maps.len()),
        })?;
        let mut out: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut next = vec![0u8; m.key_size as usize];
            let mut a = Attr::new();
            a.u32(0, m.fd.as_raw_fd() as u32);
            if let Some(k) = out.last() {
                a.ptr(8, k.as_ptr());
            }
            a.ptr(16, next.as_mut_ptr());
            match bpf(BPF_MAP_GET_NEXT_KEY, &mut a) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(out),
                Err(e) => return Err(classify("BPF_MAP_GET_NEXT_KEY", e)),
            }
            if out.len() > (1 << 24) {
                return Err(KernelError::BadArgument {
                    map,
                    msg: "map iteration does not end".into(),
                });
            }
            out.push(next);
        }
    }

    /// The values of QUEUE or STACK map `map` in the order a pop takes
    /// them, taken out of it (`BPF_MAP_LOOKUP_AND_DELETE_ELEM` until
    /// ENOENT): read once, at the end of a comparison.
    pub fn drain_queue(&self, map: usize) -> Result<Vec<Vec<u8>>, KernelError> {
        let m = self.map(map, &[])?;
        let mut out = Vec::new();
        loop {
            let mut v = vec![0u8; m.value_size as usize];
            let mut a = Attr::new();
            a.u32(0, m.fd.as_raw_fd() as u32).ptr(16, v.as_mut_ptr());
            match bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM, &mut a) {
                Ok(_) => out.push(v),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(out),
                Err(e) => return Err(classify("BPF_MAP_LOOKUP_AND_DELETE_ELEM", e)),
            }
            if out.len() > (1 << 24) {
                return Err(KernelError::BadArgument {
                    map,
                    msg: "the queue does not empty".into(),
                });
            }
        }
    }

    /// The events the program's runs sent to the host since the last call:
    /// map by map in index order, each ring buffer's records in ring order
    /// (a consumer as libbpf's), each perf event array's samples CPU by
    /// CPU in output order. A perf sample's data is as Linux's raw sample
    /// gives it: padded with zeros so that with its 4-byte size it is a
    /// multiple of 8 bytes ([`perf_padded`]).
    pub fn take_events(&self) -> Result<Vec<nfbpf_vm::maps::Event>, KernelError> {
        let mut out = Vec::new();
        for (i, m) in self.maps.iter().enumerate() {
            if let Some(r) = &m.events {
                r.take(i, &m.name, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Every (key, value) of map `map`.
    pub fn entries(&self, map: usize) -> Result<Vec<Entry>, KernelError> {
        let mut out = Vec::new();
        for k in self.keys(map)? {
            if let Some(v) = self.lookup(map, &k)? {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    /// Run the program once on `packet` (`BPF_PROG_TEST_RUN`, repeat 1).
    /// `in_port` is `ingress_ifindex`: 0 lets the kernel pick its test
    /// device (the loopback, ifindex 1); any other value must be an existing
    /// interface.
    pub fn run(&self, packet: &[u8], in_port: u32) -> Result<KernelRun, KernelError> {
        check_frame(packet)?;
        if self.abi == Abi::Tc {
            return self.run_tc(packet, in_port);
        }
        let mut out = vec![0u8; DATA_OUT_MAX];
        let mut ctx = [0u8; XDP_MD_SIZE];
        // xdp_md: data = 0, data_end = len (the kernel checks both),
        // ingress_ifindex.
        ctx[4..8].copy_from_slice(&(packet.len() as u32).to_le_bytes());
        ctx[12..16].copy_from_slice(&in_port.to_le_bytes());
        let mut a = Attr::new();
        a.u32(0, self.prog.as_raw_fd() as u32)
            .u32(8, packet.len() as u32)
            .u32(12, out.len() as u32)
            .ptr(16, packet.as_ptr())
            .ptr(24, out.as_mut_ptr())
            .u32(32, 1);
        // The context in (ingress_ifindex 0 keeps the kernel's loopback) and
        // out: the test run's output starts at `data_meta`, and the context
        // out says how many bytes of metadata precede `data`.
        let mut ctx_out = [0u8; XDP_MD_SIZE];
        a.u32(40, XDP_MD_SIZE as u32)
            .ptr(48, ctx.as_ptr())
            .u32(44, XDP_MD_SIZE as u32)
            .ptr(56, ctx_out.as_mut_ptr());
        // Pinned to one CPU: per-CPU maps are one copy, as on an engine.
        pinned(self.cpu, || bpf(BPF_PROG_TEST_RUN, &mut a))?.map_err(|e| {
            match e.raw_os_error() {
                Some(libc::ENODEV) => KernelError::NoInterface(in_port),
                _ => classify("BPF_PROG_TEST_RUN", e),
            }
        })?;
        let retval = a.get_u32(4);
        let len = (a.get_u32(12) as usize).min(out.len());
        out.truncate(len);
        // The packet is `data..data_end`; metadata is not sent with it.
        let metalen = u32::from_le_bytes([ctx_out[0], ctx_out[1], ctx_out[2], ctx_out[3]]) as usize;
        out.drain(..metalen.min(out.len()));
        Ok(KernelRun {
            retval,
            data_out: out,
            ctx_out: ctx_out.to_vec(),
        })
    }

    /// A tc program's test run: `__sk_buff` in with `ingress_ifindex` and
    /// `ifindex` = `in_port` (0 and 1: the kernel's test device, the
    /// loopback; others must exist), the frame from its MAC header.
    fn run_tc(&self, packet: &[u8], in_port: u32) -> Result<KernelRun, KernelError> {
        check_tc_frame(packet)?;
        let mut out = vec![0u8; DATA_OUT_MAX];
        let mut ctx = [0u8; SK_BUFF_SIZE];
        ctx[SKB_INGRESS_IFINDEX..SKB_INGRESS_IFINDEX + 4].copy_from_slice(&in_port.to_le_bytes());
        ctx[SKB_IFINDEX..SKB_IFINDEX + 4].copy_from_slice(&in_port.to_le_bytes());
        let mut ctx_out = [0u8; SK_BUFF_SIZE];
        let mut a = Attr::new();
        a.u32(0, self.prog.as_raw_fd() as u32)
            .u32(8, packet.len() as u32)
            .u32(12, out.len() as u32)
            .ptr(16, packet.as_ptr())
            .ptr(24, out.as_mut_ptr())
            .u32(32, 1)
            .u32(40, SK_BUFF_SIZE as u32)
            .ptr(48, ctx.as_ptr())
            .u32(44, SK_BUFF_SIZE as u32)
            .ptr(56, ctx_out.as_mut_ptr());
        pinned(self.cpu, || bpf(BPF_PROG_TEST_RUN, &mut a))?.map_err(|e| {
            match e.raw_os_error() {
                Some(libc::ENODEV) => KernelError::NoInterface(in_port),
                _ => classify("BPF_PROG_TEST_RUN", e),
            }
        })?;
        let retval = a.get_u32(4);
        let len = (a.get_u32(12) as usize).min(out.len());
        out.truncate(len);
        Ok(KernelRun {
            retval,
            data_out: out,
            ctx_out: ctx_out.to_vec(),
        })
    }
}

mod events;
pub use events::perf_padded;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_frames_are_explained() {
        let e = check_frame(&[0; 13]).unwrap_err().to_string();
        assert!(
            e.contains("13 bytes") && e.contains("under 14 bytes"),
            "{e}"
        );
        assert!(check_frame(&[0; 14]).is_ok());
        let mut ip = vec![0u8; 33];
        ip[12] = 0x08;
        let e = check_tc_frame(&ip).unwrap_err().to_string();
        assert!(e.contains("IPv4 under 34 bytes"), "{e}");
        ip.push(0);
        assert!(check_tc_frame(&ip).is_ok());
        ip[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert!(check_tc_frame(&ip).is_err());
        ip[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(check_tc_frame(&ip).is_ok());
        let v = KernelError::Verifier {
            source: std::io::Error::from_raw_os_error(libc::EACCES),
            log: "0: R1 invalid mem access\n".into(),
        }
        .to_string();
        assert!(
            v.contains("verifier's log:\n0: R1 invalid mem access"),
            "{v}"
        );
        let v = KernelError::Verifier {
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
            log: String::new(),
        }
        .to_string();
        assert!(v.contains("no verifier log"), "{v}");
    }

    #[test]
    fn attr_layout() {
        let mut a = Attr::new();
        a.u32(4, 7)
            .u64(8, 0x0102_0304_0506_0708)
            .name(28, "a-b.c_0123456789xyz");
        assert_eq!(a.get_u32(4), 7);
        assert_eq!(a.0[8], 8);
        assert_eq!(&a.0[28..44], b"a_b.c_012345678\0");
        assert_eq!(std::mem::align_of::<Attr>(), 8);
    }
}
