//! Programming a device through its registers: the one sequence used for
//! the model, a simulated board on a socket, the RTL and the real board.
//!
//! 1. check the ID register (an nfbpf device);
//! 2. set the ABI mode;
//! 3. the map table: `NUMMAP`, then per map `TYPEMAP`, key and value masks,
//!    `KEYSIZEMAP`/`VALUESIZEMAP` (widths beyond 64 bits), `MAXELEMSMAP`;
//!    global-data maps get their initial bytes through the wide-entry window
//!    (`MAPSELECT`, `WIDEKEY`, `WIDEVALUE`, `WIDEOP`, `WIDESTATUS`);
//! 4. the program into the idle bank: `WRINST <- 0`, `NUMINST <- n`, then per
//!    slot `HIINST`, `LOINST` (the existing loader's sequence);
//! 5. read-back of every slot (`RDINSTADDR`, `RDINSTHI`, `RDINSTLO`): a
//!    mismatch is an error naming the slot;
//! 6. `FLIP`: the banks swap, each engine at its next packet boundary; the
//!    `CURRINSTMEM` read afterwards confirms it.

use crate::bus::{BusError, RegisterBus, check_id};
use crate::image::Image;
use crate::install::map_def;
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

/// Program `image` into the device behind `bus`.
pub fn program(bus: &mut dyn RegisterBus, image: &Image) -> Result<Programmed, ProgramError> {
    use regs::*;
    check_id(bus, "device")?;
    let mut b = Counting { bus, n: 1 };
    let xdp = matches!(image.abi, crate::abi::Abi::Xdp);
    b.w(ABIMODE, u32::from(xdp))?;

    b.w(NUMMAP, image.maps.len() as u32)?;
    for (index, m) in image.maps.iter().enumerate() {
        let d = map_def(m);
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
        b.w(MAXELEMSMAP, d.max_entries)?;
        if let Some(init) = &m.initial {
            let err = |msg: String| ProgramError::Map {
                index,
                name: m.name.clone(),
                msg,
            };
            if init.len() > 4 * WIDE_WORDS as usize || d.value_size > 4 * WIDE_WORDS {
                return Err(err(format!(
                    "initial data of {} bytes does not fit the {}-byte wide-entry window",
                    d.value_size,
                    4 * WIDE_WORDS
                )));
            }
            b.w(MAPSELECT, index as u32)?;
            for k in 0..WIDE_WORDS {
                b.w(WIDEKEY + 4 * k, 0)?;
                let mut w = [0u8; 4];
                for (j, x) in w.iter_mut().enumerate() {
                    *x = init.get((4 * k) as usize + j).copied().unwrap_or(0);
                }
                b.w(WIDEVALUE + 4 * k, u32::from_le_bytes(w))?;
            }
            b.w(WIDEOP, 1)?;
            let st = b.r(WIDESTATUS)?;
            if st >> 16 != 0 {
                return Err(err(format!("initial value refused, errno {}", st >> 16)));
            }
        }
    }

    let words = image.words();
    b.w(WRINST, 0)?;
    b.w(NUMINST, words.len() as u32)?;
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
    let before = b.r(CURRINSTMEM)?;
    b.w(FLIP, 1)?;
    let bank = b.r(CURRINSTMEM)?;
    if bank == before {
        return Err(ProgramError::NoSwap(bank));
    }
    Ok(Programmed {
        slots: words.len(),
        maps: image.maps.len(),
        bank,
        accesses: b.n,
    })
}
