//! The loaded program: what both engines (model and RTL) and the device
//! programming sequence consume.

use crate::error::InsnLoc;
use crate::maps::ImageMap;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::build;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::linux_name;
use nfbpf_vm::isa::Kind;
use nfbpf_vm::validate::{Limits, ValidationError};
use nfbpf_vm::{Insn, Program};

/// A function of the object placed in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    /// Section it came from.
    pub section: String,
    /// First slot in the image.
    pub pc: usize,
    /// Slots.
    pub len: usize,
    /// Its first slot's index within its section.
    pub section_insn: usize,
}

/// What a relocation resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `lddw rX, map`: the map's handle, [`contract::map_handle`]`(map)`.
    MapHandle { map: usize },
    /// `lddw rX, &global + offset`: address of byte `offset` of the value of
    /// global-data map `map` (Linux's `BPF_PSEUDO_MAP_VALUE`, resolved at
    /// load time to `map_handle(map) + offset`).
    MapValue { map: usize, offset: u64 },
    /// `call` of a subprogram, now at image pc `pc`.
    Call { function: String, pc: usize },
}

/// One applied relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// Image pc of the instruction.
    pub pc: usize,
    /// Symbol the object named.
    pub symbol: String,
    pub target: Target,
}

/// A program ready to run or to write to the device.
///
/// `insns[..prologue_len]` is the loader's prologue (`mov64 r1, ctx`;
/// `mov64 r10, STACK_TOP`), `insns[entry..]` starts with the entry function,
/// subprograms follow it. Every map reference is resolved: `lddw` carries a
/// handle or a value address, with `src` = 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub insns: Vec<Insn>,
    pub maps: Vec<ImageMap>,
    /// Image pc of the entry function's first instruction (== prologue_len).
    /// Execution starts at pc 0, the prologue.
    pub entry: usize,
    pub abi: Abi,
    pub prologue_len: usize,
    /// Section of the entry function.
    pub section: String,
    /// Name of the entry function.
    pub function: String,
    /// Contents of the `license` section, if any.
    pub license: Option<String>,
    /// Placed functions, entry first, in image order.
    pub functions: Vec<Function>,
    /// Applied relocations, in pc order.
    pub relocations: Vec<Relocation>,
    /// Highest ISA version the image was validated against.
    pub max_version: u8,
    /// Device map-table row of map 0: map `i` is row `map_base + i`, and its
    /// handle `map_handle(map_base + i)` ([`Image::at_map_row`]; 0 as
    /// linked).
    pub map_base: usize,
    /// Instruction budget per packet the device gives this program (its
    /// `BUDGET` register, written with the program); `None`: the device's
    /// default, `contract::DEVICE_INSN_BUDGET` (one full-size frame time).
    pub budget: Option<u32>,
    /// Maps of the object the program does not reference, left out of
    /// [`Image::maps`] (a map only another program of the object uses).
    pub dropped_maps: Vec<String>,
    /// Tail calls: when the program uses a PROG_ARRAY, the object's other
    /// programs of its type, each a program of its own (prologue, entry,
    /// subprograms) linked against [`Image::maps`]. With the entry they are
    /// the resident programs a PROG_ARRAY slot names by id: 1 the entry,
    /// `k + 2` `tails[k]` ([`crate::maps::ImageMap::programs`]).
    pub tails: Vec<Tail>,
    /// What [`crate::optimize`] changed, when the image was loaded with
    /// `Options::optimize` (`None`: the code as clang emitted it).
    pub optimized: Option<crate::optimize::Report>,
}

/// A program a tail call can jump to ([`Image::tails`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub function: String,
    pub section: String,
    /// Prologue first, as [`Image::insns`].
    pub insns: Vec<Insn>,
    pub functions: Vec<Function>,
    pub relocations: Vec<Relocation>,
}

/// Why an image cannot be placed at a map-table row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{maps} maps from row {base} do not fit the device's {max} map-table rows")]
pub struct PlaceError {
    pub base: usize,
    pub maps: usize,
    pub max: usize,
}

impl Image {
    /// Validator limits for this image: the prologue exemption, the ABI's
    /// helpers, one instruction-memory bank.
    pub fn limits(&self) -> Limits {
        limits(self.abi, self.prologue_len, self.max_version)
    }

    /// Validate and pre-decode for the vm's executors.
    pub fn program(&self) -> Result<Program, ValidationError> {
        Program::with_limits(self.insns.clone(), &self.limits())
    }

    /// The resident programs, validated and decoded, in id order (the
    /// entry, then [`Image::tails`]): what PROG_ARRAY slots name.
    pub fn resident_programs(&self) -> Result<Vec<Program>, ValidationError> {
        std::iter::once(&self.insns)
            .chain(self.tails.iter().map(|t| &t.insns))
            .map(|i| Program::with_limits(i.clone(), &self.limits()))
            .collect()
    }

    /// The instructions as the 64-bit words the instruction memory stores
    /// (what the device's `HIINST`/`LOINST` writes carry).
    pub fn words(&self) -> Vec<u64> {
        self.insns.iter().map(|i| i.to_u64()).collect()
    }

    /// The same program with its maps at device rows `base..base + n`: every
    /// map reference (`lddw` of a handle or of a global's address) is
    /// relocated to the new rows, so two programs placed at disjoint rows
    /// can share the device's map table.
    pub fn at_map_row(&self, base: usize) -> Result<Image, PlaceError> {
        if base + self.maps.len() > contract::MAX_MAPS {
            return Err(PlaceError {
                base,
                maps: self.maps.len(),
                max: contract::MAX_MAPS,
            });
        }
        let mut out = self.clone();
        let place = |insns: &mut Vec<Insn>, relocations: &[Relocation]| {
            for r in relocations {
                let value = match r.target {
                    Target::MapHandle { map } => contract::map_handle(base + map),
                    Target::MapValue { map, offset } => contract::map_handle(base + map) + offset,
                    Target::Call { .. } => continue,
                };
                // Relocations of map references are on `lddw` (two slots).
                insns[r.pc].imm = value as u32 as i32;
                insns[r.pc + 1].imm = (value >> 32) as u32 as i32;
            }
        };
        place(&mut out.insns, &self.relocations);
        for t in &mut out.tails {
            place(&mut t.insns, &t.relocations);
        }
        out.map_base = base;
        Ok(out)
    }

    /// The same program under an instruction budget per packet of
    /// `budget` instructions on the device (`None`: the device's default).
    pub fn with_budget(mut self, budget: Option<u32>) -> Image {
        self.budget = budget;
        self
    }

    /// Device map-table row of map `index`.
    pub fn map_row(&self, index: usize) -> usize {
        self.map_base + index
    }

    /// Index and definition of the map called `name`.
    pub fn map(&self, name: &str) -> Option<(usize, &ImageMap)> {
        self.maps.iter().enumerate().find(|(_, m)| m.name == name)
    }

    /// Initial global-data values: (handle, bytes) per global-data map.
    pub fn global_data(&self) -> Vec<(u64, &[u8])> {
        self.maps
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                Some((contract::map_handle(self.map_row(i)), m.initial.as_deref()?))
            })
            .collect()
    }

    /// The function containing image pc `pc`.
    pub fn function_at(&self, pc: usize) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| pc >= f.pc && pc < f.pc + f.len)
    }

    /// Where the slot at image pc `pc` came from.
    pub fn locate(&self, pc: usize) -> InsnLoc {
        self.located(0, &self.functions, pc)
    }

    /// [`locate`], the object's instruction counted in the code as clang
    /// emitted it when [`Image::optimized`] rewrote it (`pc` stays the
    /// rewritten image's).
    fn located(&self, program: usize, functions: &[Function], pc: usize) -> InsnLoc {
        let mut loc = locate(self.prologue_len, functions, pc);
        if let (Some(r), Some(f)) = (
            &self.optimized,
            functions.iter().find(|f| pc >= f.pc && pc < f.pc + f.len),
        ) {
            // The function's first instruction as clang emitted it: the
            // least origin of its slots (the slot at f.pc may have been
            // reordered, optimize's 4.).
            let first = (f.pc..f.pc + f.len)
                .map(|p| r.origin(program, p))
                .min()
                .unwrap_or(pc);
            loc.insn = f.section_insn + (r.origin(program, pc) - first);
        }
        loc
    }

    /// [`Image::locate`] in resident program `program` (1: the entry,
    /// `k + 2`: `tails[k]`; `abi::Execution::program`).
    pub fn locate_in(&self, program: u32, pc: usize) -> InsnLoc {
        match (program as usize)
            .checked_sub(2)
            .and_then(|k| self.tails.get(k))
        {
            Some(t) => self.located(program as usize - 1, &t.functions, pc),
            None => self.locate(pc),
        }
    }

    /// objdump-style listing: a header per function (`<name> section S:`),
    /// one line per instruction, relocations and helper names as comments.
    pub fn listing(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "; {} ABI, entry {} in section {}, {} slots, {} maps{}\n",
            self.abi,
            self.function,
            self.section,
            self.insns.len(),
            self.maps.len(),
            self.license
                .as_ref()
                .map(|l| format!(", license {l}"))
                .unwrap_or_default()
        ));
        if let Some(r) = &self.optimized {
            for line in r.to_string().lines() {
                s.push_str(&format!("; {line}\n"));
            }
        }
        for (i, m) in self.maps.iter().enumerate() {
            s.push_str(&format!(
                "; map {i} {}: {} key {} value {} max_entries {} flags {:#x} handle {:#x}\n",
                m.name,
                m.kind.name(),
                m.key_size,
                m.value_size,
                m.max_entries,
                m.flags,
                contract::map_handle(self.map_row(i))
            ));
        }
        for (pc, text) in nfbpf_vm::disasm::disasm(&self.insns) {
            if pc == 0 && self.prologue_len > 0 {
                s.push_str("\n<prologue>:\n");
            }
            if let Some(f) = self.functions.iter().find(|f| f.pc == pc) {
                s.push_str(&format!("\n<{}> section {}:\n", f.name, f.section));
            }
            let b = self.insns[pc].to_bytes();
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            let mut line = format!("{pc:5}: {}  {text}", hex.join(" "));
            if let Some(r) = self.relocations.iter().find(|r| r.pc == pc) {
                let note = match &r.target {
                    Target::MapHandle { map } => format!("map {}", self.maps[*map].name),
                    Target::MapValue { map, offset } => {
                        format!("&{} = {}+{offset}", r.symbol, self.maps[*map].name)
                    }
                    Target::Call { function, .. } => format!("<{function}>"),
                };
                line.push_str(&format!("  ; {note}"));
            } else {
                let i = self.insns[pc];
                if build::is(&i, Kind::Call) {
                    let name = linux_name(i.imm as u32).unwrap_or("?");
                    line.push_str(&format!("  ; bpf_{name}"));
                }
            }
            s.push_str(&line);
            s.push('\n');
        }
        s
    }
}

/// What the device accepts ([`nfbpf_vm::device::limits`]: the ABI's
/// helpers, one bank) with this image's prologue and instruction version.
pub(crate) fn limits(abi: Abi, prologue: usize, max_version: u8) -> Limits {
    Limits {
        max_version,
        prologue,
        ..nfbpf_vm::device::limits(abi)
    }
}

pub(crate) fn locate(prologue: usize, functions: &[Function], pc: usize) -> InsnLoc {
    if pc < prologue {
        return InsnLoc {
            section: "<prologue>".into(),
            function: "<prologue>".into(),
            insn: pc,
            pc: Some(pc),
        };
    }
    match functions.iter().find(|f| pc >= f.pc && pc < f.pc + f.len) {
        Some(f) => InsnLoc {
            section: f.section.clone(),
            function: f.name.clone(),
            insn: f.section_insn + (pc - f.pc),
            pc: Some(pc),
        },
        None => InsnLoc {
            section: "?".into(),
            function: "?".into(),
            insn: pc,
            pc: Some(pc),
        },
    }
}
