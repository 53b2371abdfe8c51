//! Memory as named regions with bounds checks.
//!
//! Every load and store a program makes goes through [`Memory::load`] or
//! [`Memory::store`], which find the region holding the whole access or
//! return a [`MemFault`] naming the address, width and the regions that
//! exist. No program-supplied address is ever dereferenced unchecked.

use crate::isa::Width;
use std::cell::Cell;
use std::fmt;

/// A contiguous, bounds-checked piece of the engine address map.
#[derive(Clone)]
pub struct Region {
    pub name: String,
    pub base: u64,
    pub data: Vec<u8>,
    pub writable: bool,
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:#x}..{:#x} ({})",
            self.name,
            self.base,
            self.end(),
            if self.writable { "rw" } else { "ro" }
        )
    }
}

impl Region {
    pub fn end(&self) -> u64 {
        self.base + self.data.len() as u64
    }
    #[inline(always)]
    fn offset(&self, addr: u64, n: u64) -> Option<usize> {
        let off = addr.wrapping_sub(self.base);
        let len = self.data.len() as u64;
        (off < len && n <= len - off).then_some(off as usize)
    }
}

/// Why an access failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemFault {
    pub addr: u64,
    pub width: u32,
    pub write: bool,
    /// The access hit a read-only region (otherwise: no region holds it).
    pub read_only: bool,
    /// The read-only region's name; for an access no region holds, what
    /// the owner of the address map says is there, if anything (empty
    /// otherwise).
    pub region: String,
    /// The regions that do exist, for the message.
    pub map: String,
}

impl fmt::Display for MemFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.write { "write" } else { "read" };
        if self.read_only {
            write!(
                f,
                "{what} of {} bytes at {:#x} hits the read-only region {}",
                self.width, self.addr, self.region
            )
        } else if !self.region.is_empty() {
            write!(
                f,
                "{what} of {} bytes at {:#x}: {}",
                self.width, self.addr, self.region
            )
        } else {
            write!(
                f,
                "out-of-bounds {what} of {} bytes at {:#x} (mapped: {})",
                self.width, self.addr, self.map
            )
        }
    }
}

/// Little-endian read of one access (`d` holds at least `w` bytes).
#[inline(always)]
fn read_le(d: &[u8], w: Width) -> u64 {
    match w {
        Width::B => d[0] as u64,
        Width::H => u16::from_le_bytes([d[0], d[1]]) as u64,
        Width::W => u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as u64,
        Width::DW => u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]),
    }
}

/// Little-endian write of the low `w` bytes of `v`.
#[inline(always)]
fn write_le(d: &mut [u8], w: Width, v: u64) {
    match w {
        Width::B => d[0] = v as u8,
        Width::H => d[..2].copy_from_slice(&(v as u16).to_le_bytes()),
        Width::W => d[..4].copy_from_slice(&(v as u32).to_le_bytes()),
        Width::DW => d[..8].copy_from_slice(&v.to_le_bytes()),
    }
}

/// The regions one program run can touch.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    regions: Vec<Region>,
    /// Region of the last successful access: checked first (a lookup hint,
    /// never a permission).
    last: Cell<usize>,
}

/// Error adding a region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("region {name} at {base:#x}..{end:#x} overlaps region {other}")]
pub struct OverlapError {
    pub name: String,
    pub base: u64,
    pub end: u64,
    pub other: String,
}

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a region. Regions may not overlap.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        base: u64,
        data: Vec<u8>,
        writable: bool,
    ) -> Result<(), OverlapError> {
        let name = name.into();
        let end = base + data.len() as u64;
        if let Some(o) = self.regions.iter().find(|r| base < r.end() && r.base < end) {
            return Err(OverlapError {
                name,
                base,
                end,
                other: o.name.clone(),
            });
        }
        self.regions.push(Region {
            name,
            base,
            data,
            writable,
        });
        Ok(())
    }

    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    pub fn region_mut(&mut self, name: &str) -> Option<&mut Region> {
        self.regions.iter_mut().find(|r| r.name == name)
    }

    /// The region that starts at `base`.
    pub fn region_at_base_mut(&mut self, base: u64) -> Option<&mut Region> {
        self.regions.iter_mut().find(|r| r.base == base)
    }

    /// The `i`-th region added (for callers that keep indices).
    pub fn region_at_mut(&mut self, i: usize) -> Option<&mut Region> {
        self.regions.get_mut(i)
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    #[cold]
    fn fault(&self, addr: u64, w: u32, write: bool, read_only: bool) -> MemFault {
        let region = match read_only {
            true => self
                .regions
                .iter()
                .find(|r| r.offset(addr, 1).is_some())
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            false => String::new(),
        };
        // Adjacent regions named `group.part` are listed as one `group.*`.
        let mut parts: Vec<(String, u64, u64)> = Vec::new();
        for r in &self.regions {
            let group = r.name.split_once('.').map(|(g, _)| format!("{g}.*"));
            match (parts.last_mut(), group) {
                (Some(last), Some(g)) if last.0 == g && last.2 <= r.base => last.2 = r.end(),
                (_, Some(g)) => parts.push((g, r.base, r.end())),
                (_, None) => parts.push((format!("{r:?}"), 0, 0)),
            }
        }
        let map = parts
            .into_iter()
            .map(|(n, b, e)| match e {
                0 => n,
                _ => format!("{n} {b:#x}..{e:#x}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        MemFault {
            addr,
            width: w,
            write,
            read_only,
            region,
            map,
        }
    }

    /// Read `w` bytes little-endian at `addr`.
    #[inline(always)]
    pub fn load(&self, addr: u64, w: Width) -> Result<u64, MemFault> {
        let n = w.bytes() as u64;
        if let Some(r) = self.regions.get(self.last.get())
            && let Some(off) = r.offset(addr, n)
        {
            return Ok(read_le(&r.data[off..], w));
        }
        self.load_search(addr, w)
    }

    #[inline(never)]
    fn load_search(&self, addr: u64, w: Width) -> Result<u64, MemFault> {
        let n = w.bytes() as u64;
        for (i, r) in self.regions.iter().enumerate() {
            if let Some(off) = r.offset(addr, n) {
                self.last.set(i);
                return Ok(read_le(&r.data[off..], w));
            }
        }
        Err(self.fault(addr, n as u32, false, false))
    }

    /// Write the low `w` bytes of `v` little-endian at `addr`.
    #[inline(always)]
    pub fn store(&mut self, addr: u64, w: Width, v: u64) -> Result<(), MemFault> {
        let n = w.bytes() as u64;
        if let Some(r) = self.regions.get_mut(self.last.get())
            && r.writable
            && let Some(off) = r.offset(addr, n)
        {
            write_le(&mut r.data[off..], w, v);
            return Ok(());
        }
        self.store_search(addr, w, v)
    }

    #[inline(never)]
    fn store_search(&mut self, addr: u64, w: Width, v: u64) -> Result<(), MemFault> {
        let n = w.bytes() as u64;
        let mut hit_ro = false;
        for (i, r) in self.regions.iter_mut().enumerate() {
            if let Some(off) = r.offset(addr, n) {
                if !r.writable {
                    hit_ro = true;
                    break;
                }
                write_le(&mut r.data[off..], w, v);
                self.last.set(i);
                return Ok(());
            }
        }
        Err(self.fault(addr, n as u32, true, hit_ro))
    }

    /// Copy `len` bytes starting at `addr` (for helpers reading keys).
    pub fn read_bytes(&self, addr: u64, len: usize) -> Result<&[u8], MemFault> {
        for r in &self.regions {
            if let Some(off) = r.offset(addr, len as u64) {
                return Ok(&r.data[off..off + len]);
            }
        }
        Err(self.fault(addr, len as u32, false, false))
    }

    /// Write bytes at `addr` (for helpers writing values).
    pub fn write_bytes(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MemFault> {
        let mut hit_ro = false;
        for r in &mut self.regions {
            if let Some(off) = r.offset(addr, bytes.len() as u64) {
                if !r.writable {
                    hit_ro = true;
                    break;
                }
                r.data[off..off + bytes.len()].copy_from_slice(bytes);
                return Ok(());
            }
        }
        Err(self.fault(addr, bytes.len() as u32, true, hit_ro))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let mut m = Memory::new();
        m.add("pkt", 0x100, vec![1, 2, 3, 4, 5, 6, 7, 8], true)
            .unwrap();
        m.add("ctx", 0x200, vec![9; 4], false).unwrap();
        assert_eq!(m.load(0x100, Width::W).unwrap(), 0x0403_0201);
        assert_eq!(m.load(0x104, Width::W).unwrap(), 0x0807_0605);
        assert!(m.load(0x105, Width::W).is_err());
        assert!(m.load(u64::MAX, Width::B).is_err());
        let e = m.store(0x200, Width::B, 1).unwrap_err();
        assert!(e.read_only);
        assert_eq!(
            e.to_string(),
            "write of 1 bytes at 0x200 hits the read-only region ctx"
        );
        let e = m.load(0x1000, Width::DW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "out-of-bounds read of 8 bytes at 0x1000 (mapped: pkt 0x100..0x108 (rw), ctx 0x200..0x204 (ro))"
        );
        assert!(m.add("x", 0x104, vec![0; 8], true).is_err());
    }
}
