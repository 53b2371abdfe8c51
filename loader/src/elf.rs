//! The parts of an ELF object the loader reads: section headers, section
//! bytes, the symbol table and relocations. Built on goblin's header, section
//! header, symbol and relocation parsers; every offset and size taken from
//! the file is bounds-checked here, so a truncated or corrupted object is an
//! error naming the section, never a panic.

use crate::error::{LoadError, section_err};
use goblin::container::{Container, Ctx};
use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ET_REL};
use goblin::elf::reloc::RelocSection;
use goblin::elf::section_header::{
    SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_SYMTAB,
};
use goblin::elf::sym::Symtab;
use goblin::elf::{Elf, SectionHeader};
use std::collections::BTreeMap;

/// ELF machine number of eBPF.
pub const EM_BPF: u16 = 247;

/// Relocation types of eBPF objects.
pub const R_BPF_NONE: u32 = 0;
pub const R_BPF_64_64: u32 = 1;
pub const R_BPF_64_ABS64: u32 = 2;
pub const R_BPF_64_ABS32: u32 = 3;
pub const R_BPF_64_NODYLD32: u32 = 4;
pub const R_BPF_64_32: u32 = 10;

/// Symbol types and bindings used here.
pub const STT_SECTION: u8 = 3;
pub const STT_FUNC: u8 = 2;
pub const STB_LOCAL: u8 = 0;

/// Name of a relocation type, for messages.
pub fn reloc_type_name(t: u32) -> String {
    match t {
        R_BPF_NONE => "R_BPF_NONE".into(),
        R_BPF_64_64 => "R_BPF_64_64".into(),
        R_BPF_64_ABS64 => "R_BPF_64_ABS64".into(),
        R_BPF_64_ABS32 => "R_BPF_64_ABS32".into(),
        R_BPF_64_NODYLD32 => "R_BPF_64_NODYLD32".into(),
        R_BPF_64_32 => "R_BPF_64_32".into(),
        t => format!("relocation type {t}"),
    }
}

#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub size: u64,
    pub info: u32,
    /// File bytes (`None` for NOBITS, or when out of the file's bounds).
    data: Option<&'a [u8]>,
}

impl<'a> Section<'a> {
    pub fn is_exec(&self) -> bool {
        self.flags & u64::from(SHF_EXECINSTR) != 0
    }
    pub fn is_alloc(&self) -> bool {
        self.flags & u64::from(SHF_ALLOC) != 0
    }
    pub fn is_nobits(&self) -> bool {
        self.sh_type == SHT_NOBITS
    }
    /// The section's bytes; an error when the header points outside the file.
    pub fn data(&self) -> Result<&'a [u8], LoadError> {
        if self.is_nobits() {
            return Ok(&[]);
        }
        self.data.ok_or_else(|| {
            section_err(
                &self.name,
                format!("truncated: its {} bytes lie outside the file", self.size),
            )
        })
    }
}

#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: String,
    pub shndx: usize,
    pub value: u64,
    pub size: u64,
    pub st_type: u8,
    pub bind: u8,
}

#[derive(Debug, Clone, Copy)]
pub struct Reloc {
    pub offset: u64,
    pub rtype: u32,
    pub sym: usize,
}

/// A parsed object.
#[derive(Debug)]
pub struct Object<'a> {
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol>,
    /// Relocations by target section index, then by offset.
    pub relocs: BTreeMap<usize, BTreeMap<u64, Reloc>>,
    /// Name of the relocation section for each target section (messages).
    pub reloc_names: BTreeMap<usize, String>,
}

fn cstr_at(table: &[u8], off: usize) -> Option<String> {
    let rest = table.get(off..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn slice_of<'a>(bytes: &'a [u8], sh: &SectionHeader) -> Option<&'a [u8]> {
    let start = usize::try_from(sh.sh_offset).ok()?;
    let len = usize::try_from(sh.sh_size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

impl<'a> Object<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, LoadError> {
        let header = Elf::parse_header(bytes).map_err(|e| LoadError::Elf(e.to_string()))?;
        if header.e_ident[EI_CLASS] != ELFCLASS64 {
            return Err(LoadError::NotBpf("not a 64-bit ELF file".into()));
        }
        if header.e_ident[EI_DATA] != ELFDATA2LSB {
            return Err(LoadError::NotBpf(
                "big-endian object (compile with -target bpf or bpfel)".into(),
            ));
        }
        if header.e_machine != EM_BPF {
            return Err(LoadError::NotBpf(format!(
                "e_machine is {}, expected {EM_BPF} (EM_BPF)",
                header.e_machine
            )));
        }
        if header.e_type != ET_REL {
            return Err(LoadError::NotBpf(format!(
                "e_type is {}, expected {ET_REL} (a relocatable object from clang -c)",
                header.e_type
            )));
        }
        let ctx = Ctx::new(Container::Big, goblin::container::Endian::Little);
        let shoff = usize::try_from(header.e_shoff)
            .map_err(|_| LoadError::Elf("section header offset out of range".into()))?;
        if shoff == 0 || shoff >= bytes.len() {
            return Err(LoadError::Elf(format!(
                "section header table at {shoff:#x} is outside the file ({} bytes)",
                bytes.len()
            )));
        }
        let shdrs = SectionHeader::parse(bytes, shoff, usize::from(header.e_shnum), ctx)
            .map_err(|e| LoadError::Elf(format!("section headers: {e}")))?;
        let shstr = shdrs
            .get(usize::from(header.e_shstrndx))
            .and_then(|sh| slice_of(bytes, sh))
            .ok_or_else(|| {
                LoadError::Elf(format!(
                    "section name table (index {}) is missing or truncated",
                    header.e_shstrndx
                ))
            })?;
        let mut sections = Vec::with_capacity(shdrs.len());
        for (i, sh) in shdrs.iter().enumerate() {
            let name = cstr_at(shstr, sh.sh_name).unwrap_or_else(|| format!("#{i}"));
            sections.push(Section {
                name,
                sh_type: sh.sh_type,
                flags: sh.sh_flags,
                size: sh.sh_size,
                info: sh.sh_info,
                data: if sh.sh_type == SHT_NOBITS {
                    None
                } else {
                    slice_of(bytes, sh)
                },
            });
        }

        // Symbols (the last SHT_SYMTAB, as goblin does) and their names.
        let mut symbols = Vec::new();
        if let Some((i, sh)) = shdrs
            .iter()
            .enumerate()
            .rfind(|(_, s)| s.sh_type == SHT_SYMTAB)
        {
            let sname = &sections[i].name;
            if sh.sh_entsize != 24 {
                return Err(section_err(
                    sname,
                    format!("symbol entry size is {}, expected 24", sh.sh_entsize),
                ));
            }
            sections[i].data()?;
            let count = usize::try_from(sh.sh_size / 24)
                .map_err(|_| section_err(sname, "too many symbols"))?;
            let off = usize::try_from(sh.sh_offset)
                .map_err(|_| section_err(sname, "offset out of range"))?;
            let syms = Symtab::parse(bytes, off, count, ctx)
                .map_err(|e| section_err(sname, format!("symbol table: {e}")))?;
            let strtab = shdrs
                .get(sh.sh_link as usize)
                .and_then(|s| slice_of(bytes, s))
                .ok_or_else(|| {
                    section_err(
                        sname,
                        format!(
                            "string table (section {}) is missing or truncated",
                            sh.sh_link
                        ),
                    )
                })?;
            for (k, s) in syms.iter().enumerate() {
                let name = match cstr_at(strtab, s.st_name) {
                    Some(n) => n,
                    None => {
                        return Err(section_err(
                            sname,
                            format!(
                                "symbol {k}: name offset {} is outside the string table",
                                s.st_name
                            ),
                        ));
                    }
                };
                symbols.push(Symbol {
                    name,
                    shndx: s.st_shndx,
                    value: s.st_value,
                    size: s.st_size,
                    st_type: s.st_type(),
                    bind: s.st_bind(),
                });
            }
        }
        // A section symbol has no name of its own: it is the section's.
        for s in &mut symbols {
            if s.st_type == STT_SECTION
                && s.name.is_empty()
                && let Some(sec) = sections.get(s.shndx)
            {
                s.name = sec.name.clone();
            }
        }

        let mut relocs: BTreeMap<usize, BTreeMap<u64, Reloc>> = BTreeMap::new();
        let mut reloc_names = BTreeMap::new();
        for (i, sh) in shdrs.iter().enumerate() {
            let is_rela = sh.sh_type == SHT_RELA;
            if !(is_rela || sh.sh_type == SHT_REL) {
                continue;
            }
            let target = sh.sh_info as usize;
            // Relocations of debug information are not needed to load.
            let Some(tsec) = sections.get(target) else {
                return Err(section_err(
                    &sections[i].name,
                    format!("relocates section {target}, which does not exist"),
                ));
            };
            if !tsec.is_alloc() {
                continue;
            }
            let rname = sections[i].name.clone();
            sections[i].data()?;
            let esize = if is_rela { 24 } else { 16 };
            if sh.sh_size % esize != 0 {
                return Err(section_err(
                    &rname,
                    format!(
                        "size {} is not a multiple of the entry size {esize}",
                        sh.sh_size
                    ),
                ));
            }
            let off = usize::try_from(sh.sh_offset)
                .map_err(|_| section_err(&rname, "offset out of range"))?;
            let size = usize::try_from(sh.sh_size)
                .map_err(|_| section_err(&rname, "size out of range"))?;
            let rs = RelocSection::parse(bytes, off, size, is_rela, ctx)
                .map_err(|e| section_err(&rname, e.to_string()))?;
            let map = relocs.entry(target).or_default();
            for r in rs.iter() {
                if r.r_type == R_BPF_NONE {
                    continue;
                }
                let rel = Reloc {
                    offset: r.r_offset,
                    rtype: r.r_type,
                    sym: r.r_sym,
                };
                if map.insert(r.r_offset, rel).is_some() {
                    return Err(section_err(
                        &rname,
                        format!("two relocations at offset {:#x}", r.r_offset),
                    ));
                }
            }
            reloc_names.insert(target, rname);
        }

        Ok(Object {
            sections,
            symbols,
            relocs,
            reloc_names,
        })
    }

    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// The relocation at `offset` of section `shndx`, if any.
    pub fn reloc_at(&self, shndx: usize, offset: u64) -> Option<Reloc> {
        self.relocs
            .get(&shndx)
            .and_then(|m| m.get(&offset))
            .copied()
    }

    /// Functions (STT_FUNC symbols) in a section, sorted by address.
    pub fn functions_in(&self, shndx: usize) -> Vec<&Symbol> {
        let mut f: Vec<&Symbol> = self
            .symbols
            .iter()
            .filter(|s| s.shndx == shndx && s.st_type == STT_FUNC)
            .collect();
        f.sort_by_key(|s| (s.value, s.name.clone()));
        f
    }
}
