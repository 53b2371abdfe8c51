//! Programming a device through its registers: the one sequence used for
//! the model, a simulated board on a socket, the RTL and the real board.
//!
//! 1. check the ID register (an nfbpf device);
//! 2. set the ABI mode (a refused change names both ABIs);
//! 3. the map table: `NUMMAP`, then per map `TYPEMAP`, key and value masks,
//!    `KEYSIZEMAP`/`VALUESIZEMAP` (widths beyond 64 bits), `MAXELEMSMAP`;
//!    global-data maps get their initial bytes through the wide-entry window
//!    (`MAPSELECT`, `WIDEKEY`, `WIDEVALUE`, `WIDEOP`, `WIDESTATUS`; over 64
//!    bytes, 64 at a time at `WIDEVOFF` 0, 64, ...); an
//!    image placed at other rows ([`Image::at_map_row`]) is loaded with
//!    `MAPLOAD` beside the rows already there ([`load_rows`]);
//! 4. the program into the idle bank: `WRINST <- 0`, `NUMINST <- n`, its
//!    instruction budget per packet `BUDGET <- b` when the image sets one
//!    ([`Image::budget`]; `WRINST <- 0` leaves the device's default staged
//!    otherwise), then per slot `HIINST`, `LOINST` (the existing loader's
//!    sequence);
//! 5. read-back of every slot (`RDINSTADDR`, `RDINSTHI`, `RDINSTLO`): a
//!    mismatch is an error naming the slot;
//! 6. `FLIP`: the banks swap, each engine at its next packet boundary, and
//!    the staged budget goes with the program into its bank; the
//!    `CURRINSTMEM` read afterwards confirms it.

use crate::bus::{BusError, RegisterBus, check_id};
use crate::image::Image;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::regs;

/// Why programming failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("{0}")]
    Bus(#[from] BusError),
    #[error("map {index} `{name}`: {msg}")]
    Map {
        index: usize,
        name: String,
        msg: String,
    },
    #[error("read-back of slot {slot}: wrote {wrote:#018x}, read {read:#018x}")]
    ReadBack { slot: usize, wrote: u64, read: u64 },
    #[error("FLIP did not change the active bank (still {0})")]
    NoSwap(u32),
    /// The device would not change its ABI mode to the program's.
    #[error(
        "the program is for the {program} ABI; the device is in {device} ABI mode and refused the change: {e}; to load it, build it for the {device} ABI ({hint})"
    )]
    AbiChange {
        program: &'static str,
        device: &'static str,
        hint: &'static str,
        e: BusError,
    },
    /// An ABI the device's engines do not run.
    #[error("{0}")]
    Abi(String),
    /// The device refused `MAPLOAD` (a row load beside the running
    /// program's maps): rows past the table, or a device without it.
    #[error("the device refused MAPLOAD (loading map rows {base}..{end} beside other rows): {e}")]
    RowLoad {
        base: usize,
        end: usize,
        e: BusError,
    },
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Programmed {
    pub slots: usize,
    pub maps: usize,
    /// Active bank after the swap.
    pub bank: u32,
    /// Register accesses made.
    pub accesses: u64,
}

struct Counting<'a> {
    bus: &'a mut dyn RegisterBus,
    n: u64,
}

impl Counting<'_> {
    fn w(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        self.n += 1;
        self.bus.write32(off, v)
    }
    fn r(&mut self, off: u32) -> Result<u32, BusError> {
        self.n += 1;
        self.bus.read32(off)
    }
}

fn low_mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

/// Insert or replace an entry of map `index` (key and value as the map's
/// bytes, at most 64 each) through the wide-entry window. For HASH and
/// LPM_TRIE maps the CAM/TCAM full flag is checked first, as the existing
/// loader does; the device's error number comes back as an error.
pub fn update_entry(
    bus: &mut dyn RegisterBus,
    index: usize,
    kind: nfbpf_vm::maps::MapType,
    key: &[u8],
    value: &[u8],
) -> Result<(), ProgramError> {
    let mut b = Counting { bus, n: 0 };
    entry_on(&mut b, index, kind, key, value).map(|_| ())
}

fn entry_on(
    b: &mut Counting<'_>,
    index: usize,
    kind: nfbpf_vm::maps::MapType,
    key: &[u8],
    value: &[u8],
) -> Result<(), ProgramError> {
    use nfbpf_vm::maps::MapType;
    use regs::*;
    let err = |msg: String| ProgramError::Map {
        index,
        name: format!("#{index}"),
        msg,
    };
    let window = 4 * WIDE_WORDS as usize;
    if key.len() > window || value.len() > window {
        return Err(err(format!(
            "key of {} or value of {} bytes does not fit the {window}-byte wide-entry window",
            key.len(),
            value.len()
        )));
    }
    let full = match kind {
        MapType::Hash => Some((CAMFULL, "CAM")),
        MapType::LpmTrie => Some((TCAMFULL, "TCAM")),
        _ => None,
    };
    if let Some((reg, what)) = full
        && b.r(reg)? != 0
    {
        return Err(err(format!("the {what} is full (no entry can be added)")));
    }
    if key.len() <= 8 && value.len() <= 8 {
        return narrow_update(b, index, key, value).map_err(|e| match e {
            NarrowError::Bus(e) => ProgramError::from(e),
            NarrowError::Msg(m) => err(m),
        });
    }
    let word = |bytes: &[u8], k: u32| {
        let mut w = [0u8; 4];
        for (j, x) in w.iter_mut().enumerate() {
            *x = bytes.get((4 * k) as usize + j).copied().unwrap_or(0);
        }
        u32::from_le_bytes(w)
    };
    b.w(MAPSELECT, index as u32)?;
    for k in 0..WIDE_WORDS {
        b.w(WIDEKEY + 4 * k, word(key, k))?;
        b.w(WIDEVALUE + 4 * k, word(value, k))?;
    }
    let e = wide(b, 1).map_err(|e| match e {
        NarrowError::Bus(e) => ProgramError::from(e),
        NarrowError::Msg(m) => err(m),
    })?;
    if e != 0 {
        return Err(err(format!("update refused: errno {e}")));
    }
    Ok(())
}

/// A global-data map's initial bytes over the wide-entry window: the
/// window's bytes at `WIDEVOFF` 0, 64, ... of entry 0 (WIDEOP update each),
/// then `WIDEVOFF` back to 0. The first refused update's offset and errno.
fn window_chunks(
    b: &mut Counting<'_>,
    index: usize,
    init: &[u8],
) -> Result<Option<(usize, u32)>, NarrowError> {
    use regs::*;
    let window = 4 * WIDE_WORDS as usize;
    b.w(MAPSELECT, index as u32)?;
    for k in 0..WIDE_WORDS {
        b.w(WIDEKEY + 4 * k, 0)?;
    }
    for (i, chunk) in init.chunks(window).enumerate() {
        b.w(WIDEVOFF, (i * window) as u32)?;
        for k in 0..WIDE_WORDS as usize {
            let mut w = [0u8; 4];
            for (j, x) in w.iter_mut().enumerate() {
                *x = chunk.get(4 * k + j).copied().unwrap_or(0);
            }
            b.w(WIDEVALUE + 4 * k as u32, u32::from_le_bytes(w))?;
        }
        let e = wide(b, 1)?;
        if e != 0 {
            b.w(WIDEVOFF, 0)?;
            return Ok(Some((i * window, e)));
        }
    }
    b.w(WIDEVOFF, 0)?;
    Ok(None)
}

enum NarrowError {
    Bus(BusError),
    Msg(String),
}

impl From<BusError> for NarrowError {
    fn from(e: BusError) -> Self {
        NarrowError::Bus(e)
    }
}

/// ACK or WIDESTATUS reads of an operation before giving up (the RTL
/// coprocessor takes an OPERATION or WIDEOP in the first clock its queue is
/// empty, done `contract::HOST_OP_CLOCKS` after the write, and a next-key
/// scan walks the map's storage, `contract::scan_clocks`; each read is
/// clocks).
const ACK_POLLS: u32 = 10_000;

/// An update of at most 8-byte key and value through the original map
/// registers (HIKEY/LOKEY, HIDIN/LODIN, OPERATION 1 = BPF_ANY, ACK, ERROR),
/// which every device has (the original eBPFlow bitstream too). Key and
/// value are their little-endian bytes.
fn narrow_update(
    b: &mut Counting<'_>,
    index: usize,
    key: &[u8],
    value: &[u8],
) -> Result<(), NarrowError> {
    use regs::*;
    let u = |bytes: &[u8]| {
        let mut w = [0u8; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    let (k, v) = (u(key), u(value));
    b.w(MAPSELECT, index as u32)?;
    b.w(HIKEY, (k >> 32) as u32)?;
    b.w(LOKEY, k as u32)?;
    b.w(HIDIN, (v >> 32) as u32)?;
    b.w(LODIN, v as u32)?;
    b.w(OPERATION, 1)?;
    let mut polls = 0;
    while b.r(ACK)? == 0 {
        polls += 1;
        if polls == ACK_POLLS {
            return Err(NarrowError::Msg(format!(
                "update not acknowledged after {ACK_POLLS} reads of ACK"
            )));
        }
    }
    let e = b.r(ERROR)?;
    if e != 0 {
        return Err(NarrowError::Msg(format!("update refused: errno {e}")));
    }
    Ok(())
}

/// Can the device run `image`? Its engines run SUME and XDP programs: the
/// `ABIMODE` register has those two modes (the RTL device runs XDP
/// programs without maps so far; its FLIP refuses the others, naming the
/// helper). tc programs
/// run on the software engines (interpreter, pipeline model) and the
/// kernel only.
pub fn check_abi(image: &Image) -> Result<(), ProgramError> {
    // Tail calls: refused before any register is written, naming the call.
    if let Some(pc) = image.insns.iter().position(|i| {
        nfbpf_vm::build::is(i, nfbpf_vm::isa::Kind::Call)
            && i.imm as u32 == nfbpf_vm::contract::HELPER_TAIL_CALL
    }) {
        return Err(ProgramError::Abi(format!(
            "{} calls helper 12 tail_call ({}): an engine's instruction memory holds one \
             program and the device has no jump to another resident program yet; tail calls \
             run on the interpreter, the pipeline model and the kernel",
            image.function,
            image.locate(pc)
        )));
    }
    match image.abi {
        Abi::Xdp | Abi::Sume => {
            // Helpers only the software engines run, named with the first
            // call (`nfbpf_vm::units::not_on_device`).
            for (pc, i) in image.insns.iter().enumerate() {
                if nfbpf_vm::build::is(i, nfbpf_vm::isa::Kind::Call)
                    && let Some(why) = nfbpf_vm::units::not_on_device(i.imm as u32)
                {
                    return Err(ProgramError::Abi(format!(
                        "{} calls helper {} {} (instruction {pc}), which the device does not run: {why}",
                        image.function,
                        i.imm,
                        nfbpf_vm::helpers::linux_name(i.imm as u32).unwrap_or("?"),
                    )));
                }
            }
            Ok(())
        }
        Abi::Tc => Err(ProgramError::Abi(format!(
            "{} is a tc program: the device runs SUME and XDP programs (its ABIMODE \
             register has no tc mode); run tc programs on the interpreter, the pipeline model or the kernel",
            image.function
        ))),
    }
}

/// Program `image` into the device behind `bus`: [`configure`], [`stage`]
/// and [`flip`] in one go.
pub fn program(bus: &mut dyn RegisterBus, image: &Image) -> Result<Programmed, ProgramError> {
    check_id(bus, "device")?;
    let mut accesses = 1 + configure(bus, image)?;
    let staged = stage(bus, image)?;
    let (bank, n) = flip(bus)?;
    accesses += staged.accesses + n;
    Ok(Programmed {
        slots: staged.slots,
        maps: image.maps.len(),
        bank,
        accesses,
    })
}

/// What [`stage`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staged {
    pub slots: usize,
    /// Register accesses made.
    pub accesses: u64,
}

/// Steps 2 and 3: the ABI mode and the map table (with global data) of
/// `image`. This replaces the whole table (`NUMMAP`), taking the running
/// program's maps away, so a host swapping programs calls it at the swap,
/// right before [`flip`]; [`load_rows`] instead loads only the image's rows
/// beside the running program's. An image placed at a row other than 0
/// ([`Image::at_map_row`]) is loaded with `NUMMAP 0` then `MAPLOAD`.
/// Returns the register accesses made.
pub fn configure(bus: &mut dyn RegisterBus, image: &Image) -> Result<u64, ProgramError> {
    use regs::*;
    check_abi(image)?;
    let mut b = Counting { bus, n: 0 };
    let xdp = matches!(image.abi, Abi::Xdp);
    // A device refuses ABIMODE only when it would change the mode (the
    // model and the RTL with packets in flight): after a
    // refusal it is in the other mode. Nothing is read back here, so model
    // and RTL in lockstep see the same accesses.
    if let Err(e) = b.w(ABIMODE, u32::from(xdp)) {
        let device = if xdp { Abi::Sume } else { Abi::Xdp };
        return Err(ProgramError::AbiChange {
            program: image.abi.title(),
            device: device.title(),
            hint: match device {
                Abi::Sume => "section `.text`, or `--abi sume`",
                Abi::Xdp => "an `xdp` section, or `--abi xdp`",
                // check_abi refused tc images above; the device has no tc mode.
                Abi::Tc => "the software engines: `nfbpf run --engine interp|pipeline|kernel`",
            },
            e,
        });
    }
    if image.map_base == 0 {
        b.w(NUMMAP, image.maps.len() as u32)?;
    } else {
        b.w(NUMMAP, 0)?;
        row_load(&mut b, image.map_base, image.maps.len())?;
    }
    rows(&mut b, image)?;
    Ok(b.n)
}

/// `MAPLOAD`: rows `base..base + count` emptied, the next `count` row
/// writes define them.
fn row_load(b: &mut Counting<'_>, base: usize, count: usize) -> Result<(), ProgramError> {
    let end = base + count;
    if end > nfbpf_vm::contract::MAX_MAPS {
        return Err(ProgramError::RowLoad {
            base,
            end,
            e: BusError::Transport(format!(
                "past the table's {} rows",
                nfbpf_vm::contract::MAX_MAPS
            )),
        });
    }
    b.w(regs::MAPLOAD, ((base as u32) << 8) | count as u32)
        .map_err(|e| ProgramError::RowLoad { base, end, e })
}

/// The map rows (with global data) of `image` at its rows
/// (`image.map_base..`), through `MAPLOAD`: every other row of the table and
/// its entries stay as they are, so a host stages the next program's maps
/// beside the running program's, ahead of the swap. Returns the register
/// accesses made.
pub fn load_rows(bus: &mut dyn RegisterBus, image: &Image) -> Result<u64, ProgramError> {
    let mut b = Counting { bus, n: 0 };
    row_load(&mut b, image.map_base, image.maps.len())?;
    rows(&mut b, image)?;
    Ok(b.n)
}

/// Empty rows `base..base + count` (definitions and entries) through
/// `MAPLOAD` without defining them again; the other rows stay.
pub fn clear_rows(
    bus: &mut dyn RegisterBus,
    base: usize,
    count: usize,
) -> Result<(), ProgramError> {
    let mut b = Counting { bus, n: 0 };
    row_load(&mut b, base, count)
}

/// Why the device cannot hold `m`'s entries: a key or value wider than the
/// register map's wide-entry window, which the map coprocessor's entry
/// width follows (the software engines take them; global data is reached
/// by address, not through the window, and is checked with its initial
/// bytes below).
fn too_wide(m: &crate::maps::ImageMap) -> Option<String> {
    use nfbpf_vm::contract::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
    if m.origin == crate::maps::MapOrigin::Global {
        return None;
    }
    let (what, n, max) = if m.key_size as usize > MAX_KEY_BYTES {
        ("key", m.key_size, MAX_KEY_BYTES)
    } else if m.value_size as usize > MAX_VALUE_BYTES {
        ("value", m.value_size, MAX_VALUE_BYTES)
    } else {
        return None;
    };
    Some(format!(
        "{} map with a {what} of {n} bytes: the device holds {what}s of at most {max} bytes \
         (the register map's {}-word wide-entry window); the interpreter and the pipeline \
         take it",
        m.kind,
        regs::WIDE_WORDS
    ))
}

/// Per map of `image`: its row definition and global data.
fn rows(b: &mut Counting<'_>, image: &Image) -> Result<(), ProgramError> {
    use regs::*;
    // Types the map coprocessor does not take are refused before any row
    // is written.
    for (i, m) in image.maps.iter().enumerate() {
        if let Some(why) = m.kind.not_on_device() {
            return Err(ProgramError::Map {
                index: image.map_row(i),
                name: m.name.clone(),
                msg: format!("{} map: {why}", m.kind),
            });
        }
        if m.data_key {
            return Err(ProgramError::Map {
                index: image.map_row(i),
                name: m.name.clone(),
                msg: "LPM_TRIE map in eBPFlow's form (its key is the address alone, looked up \
                      at full length): the device's TCAM takes the prefix length from the key \
                      (Linux's layout, as programs/router_sume.c passes it); the interpreter and \
                      the pipeline take it"
                    .into(),
            });
        }
        if let Some(msg) = too_wide(m) {
            return Err(ProgramError::Map {
                index: image.map_row(i),
                name: m.name.clone(),
                msg,
            });
        }
    }
    for (i, m) in image.maps.iter().enumerate() {
        let index = image.map_row(i);
        let d = &m.def;
        let (km, vm) = (low_mask(d.key_size), low_mask(d.value_size));
        b.w(TYPEMAP, d.kind.code())?;
        b.w(HIKEYMASKMAP, (km >> 32) as u32)?;
        b.w(LOKEYMASKMAP, km as u32)?;
        b.w(HIVALUEMASKMAP, (vm >> 32) as u32)?;
        b.w(LOVALUEMASKMAP, vm as u32)?;
        b.w(KEYSIZEMAP, if d.key_size > 8 { d.key_size } else { 0 })?;
        b.w(
            VALUESIZEMAP,
            if d.value_size > 8 { d.value_size } else { 0 },
        )?;
        b.w(MAXELEMSMAP, d.max_entries).map_err(|e| {
            let store = match d.kind {
                k if k.is_direct() => format!(
                    " (ARRAY and DEVMAP maps share a direct store of {} words, one per entry)",
                    nfbpf_vm::maps::MapConfig::default().direct_words
                ),
                _ => String::new(),
            };
            ProgramError::Map {
                index,
                name: m.name.clone(),
                msg: format!(
                    "the device refused the {} map of {} entries{store}: {e}",
                    d.kind, d.max_entries
                ),
            }
        })?;
        if let Some(init) = &m.initial {
            let err = |msg: String| ProgramError::Map {
                index,
                name: m.name.clone(),
                msg,
            };
            let window = 4 * WIDE_WORDS as usize;
            if init.len() > window || d.value_size as usize > window {
                // Over the window: 64 bytes at a time, WIDEVOFF placing
                // the window in the value (an ARRAY's, key 0).
                let e = window_chunks(b, index, init).map_err(|e| match e {
                    NarrowError::Bus(e) => ProgramError::from(e),
                    NarrowError::Msg(m) => err(m),
                })?;
                if let Some((off, errno)) = e {
                    return Err(err(format!(
                        "initial data of {} bytes: the update of bytes {off}.. was refused: errno {errno}",
                        init.len()
                    )));
                }
                continue;
            }
            // A global-data map is an ARRAY with one entry, key 0.
            entry_on(b, index, d.kind, &0u32.to_le_bytes(), init).map_err(|e| match e {
                ProgramError::Map { msg, .. } => err(msg),
                other => other,
            })?;
        }
    }
    Ok(())
}

/// Steps 4 and 5: the program of `image` into the idle bank, then every
/// slot read back. The running program is untouched until [`flip`]; a host
/// may stage the next program well ahead of its start. Staged while an
/// engine still ran a packet on the idle bank (just after a swap), the
/// program missed that bank: [`flip`] is then refused, saying to write it
/// again from `WRINST 0` (this function does).
pub fn stage(bus: &mut dyn RegisterBus, image: &Image) -> Result<Staged, ProgramError> {
    use regs::*;
    check_abi(image)?;
    let mut b = Counting { bus, n: 0 };
    let words = image.words();
    b.w(WRINST, 0)?;
    b.w(NUMINST, words.len() as u32)?;
    if let Some(budget) = image.budget {
        b.w(BUDGET, budget)?;
    }
    for &w in &words {
        b.w(HIINST, (w >> 32) as u32)?;
        b.w(LOINST, w as u32)?;
    }
    for (slot, &w) in words.iter().enumerate() {
        b.w(RDINSTADDR, slot as u32)?;
        let read = (u64::from(b.r(RDINSTHI)?) << 32) | u64::from(b.r(RDINSTLO)?);
        if read != w {
            return Err(ProgramError::ReadBack {
                slot,
                wrote: w,
                read,
            });
        }
    }
    Ok(Staged {
        slots: words.len(),
        accesses: b.n,
    })
}

/// Step 6: `FLIP`, confirmed by `CURRINSTMEM`. Returns the active bank and
/// the register accesses made.
pub fn flip(bus: &mut dyn RegisterBus) -> Result<(u32, u64), ProgramError> {
    use regs::*;
    let mut b = Counting { bus, n: 0 };
    let before = b.r(CURRINSTMEM)?;
    b.w(FLIP, 1)?;
    let bank = b.r(CURRINSTMEM)?;
    if bank == before {
        return Err(ProgramError::NoSwap(bank));
    }
    Ok((bank, b.n))
}

fn wide_words(b: &mut Counting<'_>, base: u32, bytes: &[u8]) -> Result<(), BusError> {
    for k in 0..regs::WIDE_WORDS {
        let mut w = [0u8; 4];
        for (j, x) in w.iter_mut().enumerate() {
            *x = bytes.get((4 * k) as usize + j).copied().unwrap_or(0);
        }
        b.w(base + 4 * k, u32::from_le_bytes(w))?;
    }
    Ok(())
}

fn read_words(b: &mut Counting<'_>, base: u32, n: usize) -> Result<Vec<u8>, BusError> {
    let mut out = Vec::with_capacity(n);
    for k in 0..n.div_ceil(4) as u32 {
        out.extend_from_slice(&b.r(base + 4 * k)?.to_le_bytes());
    }
    out.truncate(n);
    Ok(out)
}

/// WIDEOP `op`, then WIDESTATUS polled until done (bit 0; the RTL, and the
/// model with `Device::set_host_clocked`, after the coprocessor ran the
/// operation, the unclocked model at once): its errno, or 0.
fn wide(b: &mut Counting<'_>, op: u32) -> Result<u32, NarrowError> {
    b.w(regs::WIDEOP, op)?;
    let mut polls = 0;
    loop {
        let st = b.r(regs::WIDESTATUS)?;
        if st & 1 == 1 {
            return Ok(st >> 16);
        }
        polls += 1;
        if polls == ACK_POLLS {
            return Err(NarrowError::Msg(format!(
                "wide operation {op:#x} not done after {ACK_POLLS} reads of WIDESTATUS"
            )));
        }
    }
}

fn wide_err(e: NarrowError, index: usize) -> ProgramError {
    match e {
        NarrowError::Bus(e) => ProgramError::from(e),
        NarrowError::Msg(msg) => ProgramError::Map {
            index,
            name: format!("#{index}"),
            msg,
        },
    }
}

/// Delete the entry `key` of map `index`; false when it was not there.
pub fn delete_entry(
    bus: &mut dyn RegisterBus,
    index: usize,
    key: &[u8],
) -> Result<bool, ProgramError> {
    let mut b = Counting { bus, n: 0 };
    b.w(regs::MAPSELECT, index as u32)?;
    wide_words(&mut b, regs::WIDEKEY, key)?;
    match wide(&mut b, 2).map_err(|e| wide_err(e, index))? {
        0 => Ok(true),
        2 => Ok(false),
        e => Err(ProgramError::Map {
            index,
            name: format!("#{index}"),
            msg: format!("delete refused: errno {e}"),
        }),
    }
}

/// The value of `key` in map `index` (`value_size` bytes), if present.
pub fn lookup_entry(
    bus: &mut dyn RegisterBus,
    index: usize,
    key: &[u8],
    value_size: usize,
) -> Result<Option<Vec<u8>>, ProgramError> {
    let mut b = Counting { bus, n: 0 };
    b.w(regs::MAPSELECT, index as u32)?;
    wide_words(&mut b, regs::WIDEKEY, key)?;
    match wide(&mut b, 3).map_err(|e| wide_err(e, index))? {
        0 => Ok(Some(read_words(&mut b, regs::WIDEVALUE, value_size)?)),
        2 => Ok(None),
        e => Err(ProgramError::Map {
            index,
            name: format!("#{index}"),
            msg: format!("lookup refused: errno {e}"),
        }),
    }
}

/// One map entry: key bytes, value bytes.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Every entry of map `index`, in key order.
pub fn entries(
    bus: &mut dyn RegisterBus,
    index: usize,
    key_size: usize,
    value_size: usize,
) -> Result<Vec<Entry>, ProgramError> {
    let mut b = Counting { bus, n: 0 };
    b.w(regs::MAPSELECT, index as u32)?;
    let mut out = Vec::new();
    let mut op = 4 | 0x100;
    loop {
        match wide(&mut b, op).map_err(|e| wide_err(e, index))? {
            0 => {}
            2 => return Ok(out),
            e => {
                return Err(ProgramError::Map {
                    index,
                    name: format!("#{index}"),
                    msg: format!("iteration refused: errno {e}"),
                });
            }
        }
        let k = read_words(&mut b, regs::WIDEKEY, key_size)?;
        let v = read_words(&mut b, regs::WIDEVALUE, value_size)?;
        out.push((k, v));
        op = 4;
    }
}

/// Remove every entry of every map (`CLEAN`).
pub fn clean(bus: &mut dyn RegisterBus) -> Result<(), ProgramError> {
    bus.write32(regs::CLEAN, 1)?;
    Ok(())
}

/// What a device says of the program it was last given: its ABI mode and
/// the instruction slots it holds (`NUMINST` slots, read back through
/// `RDINSTADDR`/`RDINSTHI`/`RDINSTLO`). After [`program`] (or a host's
/// stage and flip) that is the running program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedProgram {
    pub abi: Abi,
    pub slots: Vec<u64>,
}

/// Read [`LoadedProgram`] from the device.
pub fn loaded_program(bus: &mut dyn RegisterBus) -> Result<LoadedProgram, BusError> {
    use regs::*;
    let abi = if bus.read32(ABIMODE)? & 1 == 1 {
        Abi::Xdp
    } else {
        Abi::Sume
    };
    let n = bus.read32(NUMINST)?;
    let mut slots = Vec::with_capacity(n as usize);
    for slot in 0..n {
        bus.write32(RDINSTADDR, slot)?;
        slots.push((u64::from(bus.read32(RDINSTHI)?) << 32) | u64::from(bus.read32(RDINSTLO)?));
    }
    Ok(LoadedProgram { abi, slots })
}

/// Why an object is not the program a device holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("{0}")]
    Bus(#[from] BusError),
    #[error("the device holds no program (NUMINST is 0)")]
    Empty,
    #[error("the object's program is for the {object} ABI; the device is in {device} ABI mode")]
    Abi {
        object: &'static str,
        device: &'static str,
    },
    #[error("the object's program has {object} instruction slots, the device's has {device}")]
    Length { object: usize, device: usize },
    #[error(
        "the object's program differs from the device's at slot {slot} of {slots} (object {object:#018x}, device {device:#018x})"
    )]
    Differs {
        slot: usize,
        slots: usize,
        object: u64,
        device: u64,
    },
}

/// Check that `image` is the program the device holds, at whichever
/// map-table rows it was placed ([`Image::at_map_row`]: a host may load a
/// program's maps beside another's): the image placed at the device's
/// rows, so that [`Image::map_row`] names the device's row of each map.
pub fn match_loaded(bus: &mut dyn RegisterBus, image: &Image) -> Result<Image, Mismatch> {
    let dev = loaded_program(bus)?;
    match_program(&dev, image)
}

/// [`match_loaded`] against a [`LoadedProgram`] already read.
pub fn match_program(dev: &LoadedProgram, image: &Image) -> Result<Image, Mismatch> {
    if dev.slots.is_empty() {
        return Err(Mismatch::Empty);
    }
    if dev.abi != image.abi {
        return Err(Mismatch::Abi {
            object: image.abi.title(),
            device: dev.abi.title(),
        });
    }
    let words = image.words();
    if words.len() != dev.slots.len() {
        return Err(Mismatch::Length {
            object: words.len(),
            device: dev.slots.len(),
        });
    }
    let first_diff = |w: &[u64]| w.iter().zip(&dev.slots).position(|(a, b)| a != b);
    let Some(slot) = first_diff(&words) else {
        return Ok(image.clone());
    };
    // The same program with its maps at other rows matches too.
    let rows = nfbpf_vm::contract::MAX_MAPS.saturating_sub(image.maps.len());
    if !image.maps.is_empty() {
        for base in 1..=rows {
            if let Ok(placed) = image.at_map_row(base)
                && first_diff(&placed.words()).is_none()
            {
                return Ok(placed);
            }
        }
    }
    Err(Mismatch::Differs {
        slot,
        slots: words.len(),
        object: words[slot],
        device: dev.slots[slot],
    })
}

/// One row of a device's map table as the device holds it
/// (`MAPSELECT`, then `MAPROWTYPE`..`MAPROWMAXELEMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableRow {
    /// Linux's map type number (`TYPEMAP`'s numbering).
    #[serde(rename = "type_code")]
    pub code: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl TableRow {
    /// The row `map` is written as ([`program`], [`load_rows`]).
    pub fn of(map: &crate::maps::ImageMap) -> Self {
        let d = &map.def;
        TableRow {
            code: d.kind.code(),
            key_size: d.key_size,
            value_size: d.value_size,
            max_entries: d.max_entries,
        }
    }

    /// The type's name (`LPM_TRIE`), or `type N` for a number nfbpf does
    /// not know.
    pub fn type_name(&self) -> String {
        nfbpf_vm::maps::MapType::ALL
            .iter()
            .find(|t| t.code() == self.code)
            .map_or_else(|| format!("type {}", self.code), |t| t.name().to_string())
    }
}

impl std::fmt::Display for TableRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} key {} value {} max {}",
            self.type_name(),
            self.key_size,
            self.value_size,
            self.max_entries
        )
    }
}

/// Row `row` of the device's map table; `None` for an empty row.
pub fn table_row(bus: &mut dyn RegisterBus, row: usize) -> Result<Option<TableRow>, BusError> {
    use regs::*;
    let sel = u32::try_from(row)
        .map_err(|_| BusError::Transport(format!("map table row {row} is past any table")))?;
    bus.write32(MAPSELECT, sel)?;
    let code = bus.read32(MAPROWTYPE)?;
    if code == 0 {
        return Ok(None);
    }
    Ok(Some(TableRow {
        code,
        key_size: bus.read32(MAPROWKEYSIZE)?,
        value_size: bus.read32(MAPROWVALUESIZE)?,
        max_entries: bus.read32(MAPROWMAXELEMS)?,
    }))
}

/// Every row of the device's map table that holds a map, in row order.
pub fn map_table(bus: &mut dyn RegisterBus) -> Result<Vec<(usize, TableRow)>, BusError> {
    let mut rows = Vec::new();
    for row in 0..nfbpf_vm::contract::MAX_MAPS {
        if let Some(r) = table_row(bus, row)? {
            rows.push((row, r));
        }
    }
    Ok(rows)
}

/// A map of an object whose device row holds something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowMismatch {
    #[error("{0}")]
    Bus(#[from] BusError),
    #[error(
        "map `{name}` is {object} in the object; the device's row {row} is {}",
        device.map_or_else(|| "empty".to_string(), |d| d.to_string())
    )]
    Differs {
        name: String,
        row: usize,
        object: TableRow,
        device: Option<TableRow>,
    },
}

/// Check that every map of `image` is at its row ([`Image::map_row`]) of
/// the device's map table with the same type, key size, value size and
/// maximum entries; the first that is not is the error.
pub fn match_rows(bus: &mut dyn RegisterBus, image: &Image) -> Result<(), RowMismatch> {
    for (i, m) in image.maps.iter().enumerate() {
        let row = image.map_row(i);
        let object = TableRow::of(m);
        let device = table_row(bus, row)?;
        if device != Some(object) {
            return Err(RowMismatch::Differs {
                name: m.name.clone(),
                row,
                object,
                device,
            });
        }
    }
    Ok(())
}

/// A device's identification and counters (`nfbpf status`), in the
/// vocabulary of the agent's `GET /status` (`pkt_in`, `rx_dropped`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// `major.minor` of the register map (`VERSION`).
    pub version: String,
    /// `sume` or `xdp` (`ABIMODE`).
    pub abi: String,
    /// The active instruction bank (`CURRINSTMEM`).
    pub bank: u32,
    /// The active program's instruction budget per packet (`BUDGET`).
    pub budget: u32,
    /// The device's cycle counter.
    pub cycle: u64,
    pub engines: Vec<EngineStatus>,
    pub ports: Vec<PortStatus>,
}

/// One engine's counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngineStatus {
    pub engine: u32,
    pub pkt_in: u32,
    pub pkt_out: u32,
    pub dropped: u32,
    pub faults: u32,
    pub busy_cycles: u32,
    pub stall_cycles: u32,
    pub map_wait_cycles: u32,
    /// The last fault, when there was one.
    pub last_fault: Option<Fault>,
}

/// Where and why an engine last faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Fault {
    pub pc: u32,
    pub addr: u32,
    pub cause: u32,
}

/// One port's counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortStatus {
    pub port: u32,
    pub rx: u32,
    pub rx_dropped: u32,
    pub tx: u32,
}

/// Read [`Status`] from the device.
pub fn status(bus: &mut dyn RegisterBus) -> Result<Status, BusError> {
    use regs::*;
    let v = bus.read32(VERSION)?;
    let n = bus.read32(NUMENGINES)?;
    let abi = if bus.read32(ABIMODE)? & 1 == 1 {
        "xdp"
    } else {
        "sume"
    };
    let bank = bus.read32(CURRINSTMEM)?;
    let budget = bus.read32(BUDGET)?;
    // Reading CYCLELO latches CYCLEHI.
    let lo = bus.read32(CYCLELO)?;
    let hi = bus.read32(CYCLEHI)?;
    let mut engines = Vec::new();
    for e in 0..n {
        bus.write32(ENGSELECT, e)?;
        let faults = bus.read32(ENGFAULTS)?;
        engines.push(EngineStatus {
            engine: e,
            pkt_in: bus.read32(ENGPKTIN)?,
            pkt_out: bus.read32(ENGPKTOUT)?,
            dropped: bus.read32(ENGDROP)?,
            faults,
            busy_cycles: bus.read32(ENGBUSY)?,
            stall_cycles: bus.read32(ENGSTALL)?,
            map_wait_cycles: bus.read32(ENGMAPWAIT)?,
            last_fault: if faults > 0 {
                Some(Fault {
                    pc: bus.read32(ENGFAULTPC)?,
                    addr: bus.read32(ENGFAULTADDR)?,
                    cause: bus.read32(ENGFAULTCAUSE)?,
                })
            } else {
                None
            },
        });
    }
    let mut ports = Vec::new();
    for p in 0..nfbpf_vm::device::PORTS as u32 {
        bus.write32(PORTSELECT, p)?;
        ports.push(PortStatus {
            port: p,
            rx: bus.read32(PORTRX)?,
            rx_dropped: bus.read32(PORTRXDROP)?,
            tx: bus.read32(PORTTX)?,
        });
    }
    Ok(Status {
        version: format!("{}.{}", v >> 16, v & 0xffff),
        abi: abi.into(),
        bank,
        budget,
        cycle: (u64::from(hi) << 32) | u64::from(lo),
        engines,
        ports,
    })
}
