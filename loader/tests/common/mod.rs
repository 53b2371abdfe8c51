//! Test support: clang discovery, program compilation, and builders for
//! hand-made ELF objects and BTF.

#![allow(dead_code, clippy::unwrap_used)]

use nfbpf_loader::Cpu;
use nfbpf_loader::compile;
use nfbpf_vm::Insn;
use nfbpf_vm::build;
use nfbpf_vm::isa::Width;
use std::path::{Path, PathBuf};

pub const ALL_PROGRAMS: &[&str] = &[
    "wire",
    "wire_sume",
    "l2_switch_sume",
    "xdp_drop",
    "l2_switch",
    "router",
    "ddos",
    "firewall",
];

/// The clang the loader would use, or `None` after printing a notice.
/// With `NFBPF_REQUIRE_CLANG=1` (CI) a missing clang fails the test instead.
pub fn clang() -> Option<PathBuf> {
    let c = compile::default_clang();
    if compile::clang_available(&c) {
        return Some(c);
    }
    let msg = format!(
        "NOTICE: {} not found; skipping tests that compile C (install clang-19, or set NFBPF_CLANG)",
        c.display()
    );
    if std::env::var_os("NFBPF_REQUIRE_CLANG").is_some_and(|v| v == "1") {
        panic!("{msg} (NFBPF_REQUIRE_CLANG=1)");
    }
    eprintln!("{msg}");
    println!("{msg}");
    None
}

pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../programs")
}

/// A fresh scratch directory under the system temp dir (removed when
/// dropped).
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("create scratch dir")
}

/// Compile `programs/<name>.c`; `None` (with a notice) when clang is absent.
/// A compile error fails the test with clang's message.
pub fn build(name: &str, cpu: Cpu) -> Option<Vec<u8>> {
    let clang = clang()?;
    let tmp = scratch();
    let dir = tmp.path();
    let out = dir.join(format!("{name}.o"));
    let src = programs_dir().join(format!("{name}.c"));
    let inc = vec![programs_dir().join("include")];
    if let Err(e) = compile::compile(&clang, &src, &out, cpu, &inc) {
        panic!("{e}");
    }
    let bytes = std::fs::read(&out).expect("read object");
    Some(bytes)
}

pub fn exit() -> Insn {
    build::exit()
}
pub fn mov(dst: u8, imm: i32) -> Insn {
    build::mov64_imm(dst, imm)
}
pub fn call(id: i32) -> Insn {
    build::call(id)
}
pub fn call_local(imm: i32) -> Insn {
    build::call_local(imm)
}
/// Both slots of `lddw dst, 0`.
pub fn lddw(dst: u8) -> [Insn; 2] {
    build::lddw(dst, 0)
}

pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_STRTAB: u32 = 3;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHF_WRITE: u64 = 1;
pub const SHF_ALLOC: u64 = 2;
pub const SHF_EXEC: u64 = 4;
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;

struct Sec {
    name: String,
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    size_override: Option<(u64, u64)>,
}

/// (name, type, flags, data, link, info, entsize, (offset, size) override)
type Shdr = (String, u32, u64, Vec<u8>, u32, u32, u64, Option<(u64, u64)>);

struct Sym {
    name: String,
    section: Option<String>,
    value: u64,
    size: u64,
    st_type: u8,
    bind: u8,
}

struct Rel {
    section: String,
    offset: u64,
    rtype: u32,
    sym: String,
}

/// Builds a relocatable little-endian EM_BPF ELF64 object.
#[derive(Default)]
pub struct ElfBuilder {
    secs: Vec<Sec>,
    syms: Vec<Sym>,
    rels: Vec<Rel>,
    pub machine: Option<u16>,
}

fn insn_bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

impl ElfBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn section(&mut self, name: &str, sh_type: u32, flags: u64, data: Vec<u8>) -> &mut Self {
        self.secs.push(Sec {
            name: name.into(),
            sh_type,
            flags,
            data,
            size_override: None,
        });
        self
    }

    /// An executable section with the instructions.
    pub fn code(&mut self, name: &str, insns: &[Insn]) -> &mut Self {
        self.section(name, SHT_PROGBITS, SHF_ALLOC | SHF_EXEC, insn_bytes(insns))
    }

    /// A global function symbol covering `len` slots from slot `start`.
    pub fn func(&mut self, name: &str, section: &str, start: u64, len: u64) -> &mut Self {
        self.sym(
            name,
            Some(section),
            start * 8,
            len * 8,
            STT_FUNC,
            STB_GLOBAL,
        )
    }

    pub fn static_func(&mut self, name: &str, section: &str, start: u64, len: u64) -> &mut Self {
        self.sym(name, Some(section), start * 8, len * 8, STT_FUNC, STB_LOCAL)
    }

    pub fn object(&mut self, name: &str, section: &str, value: u64, size: u64) -> &mut Self {
        self.sym(name, Some(section), value, size, STT_OBJECT, STB_GLOBAL)
    }

    pub fn sym(
        &mut self,
        name: &str,
        section: Option<&str>,
        value: u64,
        size: u64,
        st_type: u8,
        bind: u8,
    ) -> &mut Self {
        self.syms.push(Sym {
            name: name.into(),
            section: section.map(String::from),
            value,
            size,
            st_type,
            bind,
        });
        self
    }

    /// A relocation at byte `offset` of `section` against symbol `sym`.
    pub fn reloc(&mut self, section: &str, offset: u64, rtype: u32, sym: &str) -> &mut Self {
        self.rels.push(Rel {
            section: section.into(),
            offset,
            rtype,
            sym: sym.into(),
        });
        self
    }

    /// Make the section header of `name` claim this offset and size.
    pub fn override_header(&mut self, name: &str, offset: u64, size: u64) -> &mut Self {
        if let Some(s) = self.secs.iter_mut().find(|s| s.name == name) {
            s.size_override = Some((offset, size));
        }
        self
    }

    /// Legacy `maps` section with one definition per (name, [type, key, value, max, flags]).
    pub fn legacy_maps(&mut self, defs: &[(&str, [u32; 5])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, (name, d)) in defs.iter().enumerate() {
            for w in d {
                data.extend_from_slice(&w.to_le_bytes());
            }
            self.object(name, "maps", k as u64 * 20, 20);
        }
        self.section("maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, data)
    }

    pub fn license(&mut self, text: &str) -> &mut Self {
        let mut d = text.as_bytes().to_vec();
        d.push(0);
        self.section("license", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, d)
    }

    pub fn build(&self) -> Vec<u8> {
        // Section order: null, user sections, .rel*, .symtab, .strtab, .shstrtab.
        let mut names: Vec<String> = vec![String::new()];
        names.extend(self.secs.iter().map(|s| s.name.clone()));
        let rel_targets: Vec<String> = {
            let mut v: Vec<String> = self.rels.iter().map(|r| r.section.clone()).collect();
            v.dedup();
            let mut seen = Vec::new();
            for x in v {
                if !seen.contains(&x) {
                    seen.push(x);
                }
            }
            seen
        };
        let sec_index = |n: &str| names.iter().position(|x| x == n).unwrap_or(0) as u16;
        let n_user = names.len();
        let symtab_idx = n_user + rel_targets.len();
        let strtab_idx = symtab_idx + 1;
        let shstrtab_idx = strtab_idx + 1;

        // .strtab and symbols (locals first).
        let mut strtab = vec![0u8];
        let mut order: Vec<&Sym> = self.syms.iter().filter(|s| s.bind == STB_LOCAL).collect();
        let first_global = order.len() + 1;
        order.extend(self.syms.iter().filter(|s| s.bind != STB_LOCAL));
        let mut symtab = vec![0u8; 24];
        for s in &order {
            let name_off = if s.name.is_empty() || s.st_type == STT_SECTION {
                0
            } else {
                let o = strtab.len() as u32;
                strtab.extend_from_slice(s.name.as_bytes());
                strtab.push(0);
                o
            };
            symtab.extend_from_slice(&name_off.to_le_bytes());
            symtab.push((s.bind << 4) | s.st_type);
            symtab.push(0);
            let shndx = s.section.as_deref().map_or(0, sec_index);
            symtab.extend_from_slice(&shndx.to_le_bytes());
            symtab.extend_from_slice(&s.value.to_le_bytes());
            symtab.extend_from_slice(&s.size.to_le_bytes());
        }
        let sym_index = |r: &Rel| -> u64 {
            order
                .iter()
                .position(|s| {
                    s.name == r.sym
                        || (s.st_type == STT_SECTION && s.section.as_deref() == Some(&r.sym))
                })
                .map_or(0x7fff_ffff, |p| p as u64 + 1)
        };
        let mut rel_data = Vec::new();
        for t in &rel_targets {
            let mut d = Vec::new();
            for r in self.rels.iter().filter(|r| &r.section == t) {
                d.extend_from_slice(&r.offset.to_le_bytes());
                let info = (sym_index(r) << 32) | u64::from(r.rtype);
                d.extend_from_slice(&info.to_le_bytes());
            }
            rel_data.push(d);
        }

        // Section headers: (name, type, flags, data, link, info, entsize, override).
        let mut all: Vec<Shdr> = vec![(String::new(), 0, 0, vec![], 0, 0, 0, None)];
        for s in &self.secs {
            all.push((
                s.name.clone(),
                s.sh_type,
                s.flags,
                s.data.clone(),
                0,
                0,
                0,
                s.size_override,
            ));
        }
        for (t, d) in rel_targets.iter().zip(rel_data) {
            all.push((
                format!(".rel{t}"),
                SHT_REL,
                0,
                d,
                symtab_idx as u32,
                u32::from(sec_index(t)),
                16,
                None,
            ));
        }
        all.push((
            ".symtab".into(),
            SHT_SYMTAB,
            0,
            symtab,
            strtab_idx as u32,
            first_global as u32,
            24,
            None,
        ));
        all.push((".strtab".into(), SHT_STRTAB, 0, strtab, 0, 0, 0, None));
        let mut shstr = vec![0u8];
        let mut name_offs = Vec::new();
        for a in &all {
            if a.0.is_empty() {
                name_offs.push(0u32);
            } else {
                name_offs.push(shstr.len() as u32);
                shstr.extend_from_slice(a.0.as_bytes());
                shstr.push(0);
            }
        }
        name_offs.push(shstr.len() as u32);
        shstr.extend_from_slice(b".shstrtab\0");
        all.push((".shstrtab".into(), SHT_STRTAB, 0, shstr, 0, 0, 0, None));

        let mut out = vec![0u8; 64];
        let mut offsets = Vec::new();
        for a in &all {
            while !out.len().is_multiple_of(8) {
                out.push(0);
            }
            offsets.push(out.len() as u64);
            if a.1 != SHT_NOBITS {
                out.extend_from_slice(&a.3);
            }
        }
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        let shoff = out.len() as u64;
        for (k, a) in all.iter().enumerate() {
            let (off, size) = a.7.unwrap_or((offsets[k], a.3.len() as u64));
            let (off, size) = if k == 0 { (0, 0) } else { (off, size) };
            out.extend_from_slice(&name_offs[k].to_le_bytes());
            out.extend_from_slice(&a.1.to_le_bytes());
            out.extend_from_slice(&a.2.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&a.4.to_le_bytes());
            out.extend_from_slice(&a.5.to_le_bytes());
            out.extend_from_slice(&8u64.to_le_bytes());
            out.extend_from_slice(&a.6.to_le_bytes());
        }
        // ELF header.
        let h = &mut out[..64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // little endian
        h[6] = 1;
        h[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
        h[18..20].copy_from_slice(&self.machine.unwrap_or(247).to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[40..48].copy_from_slice(&shoff.to_le_bytes());
        h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        h[60..62].copy_from_slice(&(all.len() as u16).to_le_bytes());
        h[62..64].copy_from_slice(&(shstrtab_idx as u16).to_le_bytes());
        out
    }
}

/// BTF type-section builder (ids from 1).
pub struct BtfBuilder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next: u32,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        BtfBuilder {
            types: Vec::new(),
            strings: vec![0],
            next: 1,
        }
    }
}

/// A member of a BTF map definition.
pub enum Attr {
    /// `__uint(name, n)`
    Uint(u32),
    /// `__type(name, T)` with T an int of this many bytes.
    Type(u32),
    /// `__type(name, T)` with T a given type id.
    TypeId(u32),
}

impl BtfBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let o = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        o
    }
    fn rec(&mut self, name: &str, kind: u32, vlen: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        let n = self.str(name);
        self.types.extend_from_slice(&n.to_le_bytes());
        self.types
            .extend_from_slice(&((kind << 24) | vlen).to_le_bytes());
        self.types.extend_from_slice(&size_or_type.to_le_bytes());
        for w in extra {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.next += 1;
        self.next - 1
    }
    pub fn int(&mut self, name: &str, size: u32) -> u32 {
        self.rec(name, 1, 0, size, &[size * 8])
    }
    pub fn ptr(&mut self, t: u32) -> u32 {
        self.rec("", 2, 0, t, &[])
    }
    pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.rec("", 3, 0, 0, &[elem, index, n])
    }
    pub fn typedef(&mut self, name: &str, t: u32) -> u32 {
        self.rec(name, 8, 0, t, &[])
    }
    pub fn const_(&mut self, t: u32) -> u32 {
        self.rec("", 10, 0, t, &[])
    }
    pub fn volatile(&mut self, t: u32) -> u32 {
        self.rec("", 9, 0, t, &[])
    }
    pub fn struct_(&mut self, name: &str, size: u32, members: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for (k, (m, t)) in members.iter().enumerate() {
            let n = self.str(m);
            extra.extend_from_slice(&[n, *t, (k as u32) * 64]);
        }
        self.rec(name, 4, members.len() as u32, size, &extra)
    }
    pub fn var(&mut self, name: &str, t: u32) -> u32 {
        self.rec(name, 14, 0, t, &[1])
    }
    pub fn datasec(&mut self, name: &str, vars: &[(u32, u32, u32)]) -> u32 {
        let extra: Vec<u32> = vars.iter().flat_map(|&(a, b, c)| [a, b, c]).collect();
        self.rec(name, 15, vars.len() as u32, 0, &extra)
    }
    /// A whole BTF map definition struct; returns the VAR id.
    pub fn map(&mut self, name: &str, attrs: &[(&str, Attr)]) -> u32 {
        let int = self.int("int", 4);
        let idx = self.int("__ARRAY_SIZE_TYPE__", 4);
        let mut members = Vec::new();
        for (m, a) in attrs {
            let t = match a {
                Attr::Uint(n) => {
                    let arr = self.array(int, idx, *n);
                    self.ptr(arr)
                }
                Attr::Type(size) => {
                    let t = self.int("kv", *size);
                    self.ptr(t)
                }
                Attr::TypeId(t) => self.ptr(*t),
            };
            members.push((*m, t));
        }
        let st = self.struct_("", 8 * members.len() as u32, &members);
        self.var(name, st)
    }
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.push(1);
        out.push(0);
        out.extend_from_slice(&24u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(self.types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// A small but complete XDP object: entry `prog` in `xdp` (lddw of a BTF map
/// and of a `.rodata` global, a helper call, a static subprogram call), a
/// static subprogram in `.text`, one BTF map, one legacy map, `.rodata`,
/// `.bss`, license. Seed for the fuzz tests and base for error tests.
pub fn sample_object() -> Vec<u8> {
    sample_builder().build()
}

pub fn sample_builder() -> ElfBuilder {
    let mut b = ElfBuilder::new();
    let [l0, l1] = lddw(1);
    let [g0, g1] = lddw(2);
    let prog = [
        l0,
        l1,
        g0,
        g1,
        build::ldx(Width::DW, 2, 2, 0), // ldxdw r2, [r2]
        call(1),
        call_local(-1),
        exit(),
    ];
    b.code("xdp", &prog)
        .func("prog", "xdp", 0, prog.len() as u64);
    let sub = [mov(0, 7), exit()];
    b.code(".text", &sub)
        .static_func("helper_fn", ".text", 0, 2)
        .sym("", Some(".text"), 0, 0, STT_SECTION, STB_LOCAL);
    let mut btf = BtfBuilder::new();
    let v = btf.map(
        "counters",
        &[
            ("type", Attr::Uint(1)),
            ("key", Attr::Type(4)),
            ("value", Attr::Type(8)),
            ("max_entries", Attr::Uint(64)),
        ],
    );
    btf.datasec(".maps", &[(v, 0, 32)]);
    b.section(".maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, vec![0; 32])
        .object("counters", ".maps", 0, 32)
        .section(".BTF", SHT_PROGBITS, 0, btf.build());
    b.legacy_maps(&[("legacy", [2, 4, 4, 8, 0])]);
    b.section(
        ".rodata",
        SHT_PROGBITS,
        SHF_ALLOC,
        1234u64.to_le_bytes().to_vec(),
    )
    .object("limit", ".rodata", 0, 8)
    .section(".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, vec![0; 16])
    .license("GPL");
    b.reloc("xdp", 0, 1, "counters")
        .reloc("xdp", 16, 1, "limit")
        .reloc("xdp", 48, 10, ".text");
    b
}
