//! Entry selection, subprogram layout and relocation: object -> [`Image`].
//!
//! The entry function is placed right behind the prologue; every static
//! subprogram it calls (transitively) is appended behind it in the order the
//! calls are found, and each `call` (src = 1) gets the pc-relative
//! displacement to its callee's new place. The callee of a call with an
//! `R_BPF_64_32` relocation is slot `sym.st_value / 8 + imm + 1` of the
//! symbol's section (clang emits `imm = -1` against the function or section
//! symbol); a call without relocation stays within its own section.

use crate::Options;
use crate::btf::Btf;
use crate::elf::{Object, R_BPF_64_32, R_BPF_64_64, STB_LOCAL, Symbol, reloc_type_name};
use crate::error::{InsnLoc, LoadError, reloc_err, section_err};
use crate::image::{Function, Image, Relocation, Target, limits, locate};
use crate::maps::{self, MapTable};
use nfbpf_vm::Insn;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::build;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::linux_name;
use nfbpf_vm::isa::{Kind, isa};
use nfbpf_vm::validate::{branch_offset, validate};
use std::collections::{BTreeMap, BTreeSet};

/// `src` of a kfunc call (`BPF_PSEUDO_KFUNC_CALL`).
const CALL_KFUNC: u8 = 2;

/// The prologue: `mov64 r1, <context pointer>` and `mov64 r10, STACK_TOP`.
/// Both addresses are positive 32-bit values (checked at compile time in
/// [`crate::abi`]), so the sign-extending `mov64 dst, imm32` loads them
/// exactly, in two slots and without `lddw`.
pub fn prologue(abi: Abi) -> Vec<Insn> {
    vec![
        build::mov64_imm(1, abi.context_pointer() as i32),
        build::mov64_imm(10, contract::STACK_TOP as i32),
    ]
}

/// Is this the name of an XDP program section? As libbpf: `xdp`, `xdp/*`,
/// `xdp.*` (`xdp.frags`, ...), and the older names libbpf also took and
/// published programs still use (`xdp1`, `xdp_prog`, `xdp_pass`...): any
/// section whose name starts with `xdp`.
pub fn is_xdp_section(name: &str) -> bool {
    name.starts_with("xdp")
}

/// Is this the name of a tc classifier (`sched_cls`) section? As libbpf's
/// section table: `tc`, `tc/ingress`, `tc/egress`, `tcx/ingress`,
/// `tcx/egress`, `netkit/primary`, `netkit/peer`, and `classifier`, which
/// older libbpf (and published programs) took with any continuation.
pub fn is_tc_section(name: &str) -> bool {
    matches!(
        name,
        "tc" | "tc/ingress"
            | "tc/egress"
            | "tcx/ingress"
            | "tcx/egress"
            | "netkit/primary"
            | "netkit/peer"
    ) || name.starts_with("classifier")
}

/// What a code section's name says about its program, by libbpf's
/// section-name conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// `xdp*`: an XDP program (XDP ABI).
    Xdp,
    /// `tc`, `classifier*`, ...: a tc classifier (tc ABI, see
    /// [`is_tc_section`]).
    Tc,
    /// `.text`: the SUME system's convention (SUME ABI).
    Text,
    /// A program type nfbpf cannot run (`action`, `socket`, `kprobe`...):
    /// its description, e.g. "a socket filter (socket_filter) program".
    Unsupported(&'static str),
    /// Any other name: a program only when chosen (`--program`), laid out
    /// with the ABI given (`--abi`).
    Other,
}

/// Program types of libbpf's section names that the device cannot run:
/// (prefix, matches any continuation?, description). Without "any
/// continuation" the name must be the prefix or continue with `/` or `.`.
const UNSUPPORTED: &[(&str, bool, &str)] = &[
    ("action", false, "a tc action (sched_act) program"),
    ("sched_act", true, "a tc action (sched_act) program"),
    ("socket", true, "a socket filter (socket_filter) program"),
    ("sk_skb", true, "an sk_skb program"),
    ("sk_msg", true, "an sk_msg program"),
    ("sockops", true, "a sock_ops program"),
    ("sk_lookup", true, "an sk_lookup program"),
    ("sk_reuseport", true, "an sk_reuseport program"),
    ("flow_dissector", true, "a flow_dissector program"),
    ("cgroup_skb", true, "a cgroup_skb program"),
    ("cgroup/skb", true, "a cgroup_skb program"),
    ("cgroup", true, "a cgroup program"),
    ("kprobe", true, "a kprobe program"),
    ("kretprobe", true, "a kprobe program"),
    ("ksyscall", true, "a kprobe program"),
    ("kretsyscall", true, "a kprobe program"),
    ("uprobe", true, "a uprobe (kprobe) program"),
    ("uretprobe", true, "a uprobe (kprobe) program"),
    ("usdt", true, "a usdt (kprobe) program"),
    ("tracepoint", true, "a tracepoint program"),
    ("tp_btf", false, "a tracing (tp_btf) program"),
    ("tp", false, "a tracepoint program"),
    ("raw_tracepoint", true, "a raw_tracepoint program"),
    ("raw_tp", true, "a raw_tracepoint program"),
    ("fentry", true, "a tracing (fentry) program"),
    ("fexit", true, "a tracing (fexit) program"),
    ("fmod_ret", true, "a tracing (fmod_ret) program"),
    ("freplace", false, "an ext (freplace) program"),
    ("iter", true, "a tracing (iter) program"),
    ("lsm", true, "an lsm program"),
    ("perf_event", true, "a perf_event program"),
    ("lwt_", true, "a lwt program"),
    ("struct_ops", true, "a struct_ops program"),
    ("syscall", false, "a syscall program"),
    ("netfilter", false, "a netfilter program"),
];

/// The kind of the code section `name`.
pub fn section_kind(name: &str) -> SectionKind {
    if is_xdp_section(name) {
        return SectionKind::Xdp;
    }
    if name == ".text" {
        return SectionKind::Text;
    }
    if is_tc_section(name) {
        return SectionKind::Tc;
    }
    for &(p, any, what) in UNSUPPORTED {
        if let Some(rest) = name.strip_prefix(p)
            && (any || rest.is_empty() || rest.starts_with('/') || rest.starts_with('.'))
        {
            return SectionKind::Unsupported(what);
        }
    }
    SectionKind::Other
}

/// "section socket: a socket filter (socket_filter) program; nfbpf runs
/// XDP, tc and SUME programs".
fn unsupported_msg(section: &str, what: &str) -> String {
    format!(
        "section {section}: {what}; nfbpf runs XDP, tc and SUME programs \
         (XDP: sections xdp, xdp/*, xdp.*, xdp...; tc: tc, tc/ingress, tc/egress, \
         tcx/ingress, tcx/egress, classifier...; SUME: .text)"
    )
}

#[derive(Debug, Clone)]
struct Func {
    shndx: usize,
    section: String,
    name: String,
    /// First slot within the section.
    start: usize,
    len: usize,
    global: bool,
}

fn slots_of(obj: &Object<'_>, shndx: usize) -> Result<Vec<Insn>, LoadError> {
    let sec = &obj.sections[shndx];
    let data = sec.data()?;
    if data.len() % Insn::SIZE != 0 {
        return Err(section_err(
            &sec.name,
            format!(
                "{} bytes is not a whole number of 8-byte instructions",
                data.len()
            ),
        ));
    }
    // Every relocation of a code section must sit on an instruction.
    if let Some(rs) = obj.relocs.get(&shndx) {
        let rname = obj.reloc_names.get(&shndx).map_or("?", |s| s.as_str());
        for r in rs.values() {
            if r.offset % 8 != 0 || r.offset >= data.len() as u64 {
                return Err(reloc_err(
                    &sec.name,
                    r.offset,
                    format!(
                        "{rname}: offset is not on an instruction of the {}-byte section",
                        data.len()
                    ),
                ));
            }
        }
    }
    Ok(data
        .chunks_exact(Insn::SIZE)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect())
}

/// Functions of an executable section. A section without function symbols
/// (hand-written assembly) is one function named after the section.
fn functions(obj: &Object<'_>, shndx: usize, nslots: usize) -> Result<Vec<Func>, LoadError> {
    let sec = &obj.sections[shndx];
    let syms = obj.functions_in(shndx);
    if syms.is_empty() {
        return Ok(vec![Func {
            shndx,
            section: sec.name.clone(),
            name: sec.name.clone(),
            start: 0,
            len: nslots,
            global: true,
        }]);
    }
    let mut out = Vec::new();
    for (k, s) in syms.iter().enumerate() {
        let bad = |msg: String| section_err(&sec.name, format!("function {}: {msg}", s.name));
        if s.value % 8 != 0 || s.size % 8 != 0 {
            return Err(bad(format!(
                "offset {:#x} and size {} must be multiples of 8",
                s.value, s.size
            )));
        }
        let start = usize::try_from(s.value / 8).map_err(|_| bad("offset out of range".into()))?;
        let end = if s.size > 0 {
            start.checked_add(
                usize::try_from(s.size / 8).map_err(|_| bad("size out of range".into()))?,
            )
        } else {
            // No size: up to the next function or the end of the section.
            Some(syms.get(k + 1).map_or(nslots, |n| (n.value / 8) as usize))
        };
        let Some(end) = end.filter(|&e| e <= nslots && e >= start) else {
            return Err(bad(format!(
                "offset {:#x} size {} extends beyond the section's {} bytes",
                s.value,
                s.size,
                nslots * 8
            )));
        };
        out.push(Func {
            shndx,
            section: sec.name.clone(),
            name: s.name.clone(),
            start,
            len: end - start,
            global: s.bind != STB_LOCAL,
        });
    }
    Ok(out)
}

struct Ctx<'o, 'a> {
    obj: &'o Object<'a>,
    slots: BTreeMap<usize, Vec<Insn>>,
    funcs: BTreeMap<usize, Vec<Func>>,
}

impl Ctx<'_, '_> {
    fn load(&mut self, shndx: usize) -> Result<(), LoadError> {
        if !self.slots.contains_key(&shndx) {
            let s = slots_of(self.obj, shndx)?;
            let f = functions(self.obj, shndx, s.len())?;
            self.slots.insert(shndx, s);
            self.funcs.insert(shndx, f);
        }
        Ok(())
    }
}

/// "f (section s), g (section t)".
fn describe(fs: &[Func]) -> String {
    fs.iter()
        .map(|f| format!("{} (section {})", f.name, f.section))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entry named by [`Options::program`]: a function of that name (a
/// global one first), else the only global function of the section of
/// that name.
fn select_program(ctx: &mut Ctx<'_, '_>, exec: &[usize], name: &str) -> Result<Func, LoadError> {
    let obj = ctx.obj;
    let mut all: Vec<Func> = Vec::new();
    for &i in exec {
        ctx.load(i)?;
        all.extend(ctx.funcs[&i].iter().cloned());
    }
    let named: Vec<&Func> = all.iter().filter(|f| f.name == name).collect();
    let globals: Vec<&Func> = named.iter().copied().filter(|f| f.global).collect();
    let pick = if globals.is_empty() { named } else { globals };
    match pick.len() {
        1 => return Ok(pick[0].clone()),
        0 => {}
        _ => {
            let v: Vec<Func> = pick.into_iter().cloned().collect();
            return Err(LoadError::NoProgram(format!(
                "--program {name}: several functions have this name: {}",
                describe(&v)
            )));
        }
    }
    let programs: Vec<Func> = all.iter().filter(|f| f.global).cloned().collect();
    if let Some(i) = exec.iter().copied().find(|&i| obj.sections[i].name == name) {
        let mut in_sec: Vec<Func> = ctx.funcs[&i].iter().filter(|f| f.global).cloned().collect();
        return match in_sec.len() {
            1 => Ok(in_sec.swap_remove(0)),
            0 => Err(LoadError::NoProgram(format!(
                "--program {name}: section {name} has no global function (its functions: {})",
                describe(&ctx.funcs[&i])
            ))),
            _ => Err(LoadError::NoProgram(format!(
                "--program {name}: section {name} has several programs: {}; choose one with --program FUNCTION",
                describe(&in_sec)
            ))),
        };
    }
    Err(LoadError::NoProgram(format!(
        "--program {name}: no function or code section of that name in the object (its programs: {})",
        if programs.is_empty() {
            "none".to_string()
        } else {
            describe(&programs)
        }
    )))
}

/// Pick the entry function according to the options.
fn select_entry(ctx: &mut Ctx<'_, '_>, opts: &Options) -> Result<Func, LoadError> {
    let obj = ctx.obj;
    let exec: Vec<usize> = (0..obj.sections.len())
        .filter(|&i| obj.sections[i].is_exec() && obj.sections[i].size > 0)
        .collect();
    if let Some(p) = &opts.program {
        return select_program(ctx, &exec, p);
    }
    let mut candidates: Vec<Func> = Vec::new();
    if let Some(sec) = &opts.section {
        let Some(i) = obj.section_index(sec).filter(|i| exec.contains(i)) else {
            return Err(LoadError::NoProgram(format!(
                "no executable section named {sec} in the object"
            )));
        };
        ctx.load(i)?;
        candidates.extend(ctx.funcs[&i].iter().filter(|f| f.global).cloned());
    } else if opts.function.is_some() {
        for &i in &exec {
            ctx.load(i)?;
            candidates.extend(ctx.funcs[&i].iter().cloned());
        }
    } else {
        for &i in exec.iter().filter(|&&i| {
            let name = &obj.sections[i].name;
            is_xdp_section(name) || is_tc_section(name)
        }) {
            ctx.load(i)?;
            candidates.extend(ctx.funcs[&i].iter().filter(|f| f.global).cloned());
        }
        if candidates.is_empty()
            && let Some(i) = obj.section_index(".text").filter(|i| exec.contains(i))
        {
            // The existing SUME system: the entry function in `.text`.
            ctx.load(i)?;
            candidates.extend(ctx.funcs[&i].iter().filter(|f| f.global).cloned());
        }
    }
    if let Some(name) = &opts.function {
        candidates.retain(|f| &f.name == name);
        return match candidates.len() {
            0 => Err(LoadError::NoProgram(format!(
                "no function named {name} in the object"
            ))),
            _ => Ok(candidates.swap_remove(0)),
        };
    }
    match candidates.len() {
        1 => Ok(candidates.swap_remove(0)),
        0 => Err(no_program(ctx, &exec)),
        _ => Err(LoadError::NoProgram(format!(
            "the object has several programs: {}; choose one with --program NAME (a function or section name)",
            describe(&candidates)
        ))),
    }
}

/// Why there is no default program: the sections the device cannot run
/// (named with their program type), or the sections that need `--program`.
fn no_program(ctx: &mut Ctx<'_, '_>, exec: &[usize]) -> LoadError {
    let obj = ctx.obj;
    let mut unsupported = Vec::new();
    let mut other = Vec::new();
    for &i in exec {
        let name = &obj.sections[i].name;
        match section_kind(name) {
            SectionKind::Unsupported(what) => unsupported.push(unsupported_msg(name, what)),
            SectionKind::Other => {
                let funcs = match ctx.load(i) {
                    Ok(()) => describe(
                        &ctx.funcs[&i]
                            .iter()
                            .filter(|f| f.global)
                            .cloned()
                            .collect::<Vec<_>>(),
                    ),
                    Err(_) => String::new(),
                };
                other.push(if funcs.is_empty() {
                    format!("section {name}")
                } else {
                    funcs
                });
            }
            SectionKind::Xdp | SectionKind::Tc | SectionKind::Text => {}
        }
    }
    if !other.is_empty() {
        let mut m = format!(
            "no XDP program (section xdp, xdp/*, xdp.*, xdp...), no tc program (section tc, tc/ingress, \
             classifier...) and no .text program in the object; \
             other code: {}: choose one with --program NAME and give its ABI with --abi xdp, --abi tc or --abi sume",
            other.join(", ")
        );
        if !unsupported.is_empty() {
            m.push_str(&format!(" ({})", unsupported.join("; ")));
        }
        return LoadError::NoProgram(m);
    }
    if !unsupported.is_empty() {
        return LoadError::NoProgram(unsupported.join("; "));
    }
    LoadError::NoProgram(
        "no program in the object: expected a global function in section xdp, xdp/*, xdp.* \
         or xdp..., (tc ABI) in tc, tc/ingress, classifier..., or (SUME ABI) in .text"
            .into(),
    )
}

/// The ABI of the entry's section: `--abi` when given (for any section),
/// else XDP for `xdp*`, SUME for `.text`; other sections need `--abi`.
fn entry_abi(entry: &Func, opts: &Options) -> Result<Abi, LoadError> {
    if let Some(a) = opts.abi {
        return Ok(a);
    }
    match section_kind(&entry.section) {
        SectionKind::Xdp => Ok(Abi::Xdp),
        SectionKind::Tc => Ok(Abi::Tc),
        SectionKind::Text => Ok(Abi::Sume),
        SectionKind::Unsupported(what) => Err(LoadError::NoProgram(format!(
            "{} (function {}; --abi xdp, --abi tc or --abi sume lays it out anyway)",
            unsupported_msg(&entry.section, what),
            entry.name
        ))),
        SectionKind::Other => Err(LoadError::NoProgram(format!(
            "section {}, function {}: the section name says no program type \
             (XDP: xdp, xdp/*, xdp.*, xdp...; tc: tc, tc/ingress, classifier...; SUME: .text): \
             give its ABI with --abi xdp, --abi tc or --abi sume",
            entry.section, entry.name
        ))),
    }
}

fn sym<'o>(
    obj: &'o Object<'_>,
    idx: usize,
    section: &str,
    offset: u64,
) -> Result<&'o Symbol, LoadError> {
    obj.symbols.get(idx).ok_or_else(|| {
        reloc_err(
            section,
            offset,
            format!(
                "symbol index {idx} is outside the symbol table ({} symbols)",
                obj.symbols.len()
            ),
        )
    })
}

/// Resolve an `lddw` relocation to (value, target).
fn resolve_data(
    obj: &Object<'_>,
    table: &mut MapTable,
    s: &Symbol,
    addend: i64,
    section: &str,
    offset: u64,
) -> Result<(u64, Target), LoadError> {
    let e = |msg: String| reloc_err(section, offset, msg);
    if s.shndx == 0 {
        return Err(e(format!(
            "R_BPF_64_64 against undefined symbol {} (extern variables are not supported)",
            s.name
        )));
    }
    let tsec = obj.sections.get(s.shndx).ok_or_else(|| {
        e(format!(
            "symbol {} is in section {}, which does not exist",
            s.name, s.shndx
        ))
    })?;
    if let Some(m) = table.global(s.shndx) {
        // A map the program references must be usable.
        if let Some(err) = table.take_error(m) {
            return Err(err);
        }
        let off = i128::from(s.value) + i128::from(addend);
        let size = table.size(m);
        if off < 0 || off > i128::from(size) {
            return Err(e(format!(
                "reference to {}{addend:+} is outside section {} ({size} bytes)",
                s.name, tsec.name
            )));
        }
        let off = off as u64;
        return Ok((
            contract::map_handle(m) + off,
            Target::MapValue {
                map: m,
                offset: off,
            },
        ));
    }
    if table.is_map_section(s.shndx) {
        let at = s.value.wrapping_add(addend as u64);
        let m = table.at_def(s.shndx, at).ok_or_else(|| {
            e(format!(
                "{}{addend:+} does not point at a map definition in section {}",
                s.name, tsec.name
            ))
        })?;
        if let Some(err) = table.take_error(m) {
            return Err(err);
        }
        return Ok((contract::map_handle(m), Target::MapHandle { map: m }));
    }
    if tsec.is_exec() {
        return Err(e(format!(
            "lddw of the address of function {} (callbacks are not supported)",
            s.name
        )));
    }
    Err(e(format!(
        "symbol {} in section {} is neither a map nor global data",
        s.name, tsec.name
    )))
}

/// Refuse relocations inside the global data or map definitions the
/// program uses: pointers stored there would need run-time addresses the
/// image cannot express.
fn check_data_relocations(
    obj: &Object<'_>,
    table: &MapTable,
    used: &BTreeSet<usize>,
) -> Result<(), LoadError> {
    for &m in used {
        let Some((shndx, start, end)) = table.range(m) else {
            continue;
        };
        let Some(rs) = obj.relocs.get(&shndx) else {
            continue;
        };
        // `.values` initialisers of PROG_ARRAY and map-in-map maps are
        // slots, not pointers (`MapTable::values_range`).
        let end = table.values_range(m).map_or(end, |(v, _)| v);
        if let Some(r) = rs.range(start..end.max(start)).next().map(|(_, r)| r) {
            let name = &obj.sections[shndx].name;
            return Err(reloc_err(
                name,
                r.offset,
                format!(
                    "{} in data section {name}: pointers in global data or map definitions are not supported",
                    reloc_type_name(r.rtype)
                ),
            ));
        }
    }
    Ok(())
}

/// The image under construction.
struct Linker<'c, 'o, 'a> {
    ctx: &'c mut Ctx<'o, 'a>,
    table: &'c mut MapTable,
    abi: Abi,
    out: Vec<Insn>,
    prologue_len: usize,
    /// Placed functions and their first image pc.
    placed: Vec<(Func, usize)>,
    by_start: BTreeMap<(usize, usize), usize>,
    relocations: Vec<Relocation>,
    /// Local calls to fix once every callee is placed: (pc, callee index).
    calls: Vec<(usize, usize)>,
}

impl Linker<'_, '_, '_> {
    /// Index of function `f` in the image, appending it if needed.
    fn place(&mut self, f: Func) -> Result<usize, LoadError> {
        if let Some(&k) = self.by_start.get(&(f.shndx, f.start)) {
            return Ok(k);
        }
        let len = self.out.len() + f.len;
        if len > contract::IMEM_SLOTS {
            return Err(LoadError::TooLarge {
                slots: len,
                prologue: self.prologue_len,
                max: contract::IMEM_SLOTS,
            });
        }
        let slots = &self.ctx.slots[&f.shndx];
        let k = self.placed.len();
        let base = self.out.len();
        self.by_start.insert((f.shndx, f.start), k);
        self.out.extend_from_slice(&slots[f.start..f.start + f.len]);
        self.placed.push((f, base));
        Ok(k)
    }

    /// Relocate and check the instruction at slot `s` of placed function
    /// `k`; returns the number of slots it occupies.
    fn link_insn(&mut self, k: usize, s: usize) -> Result<usize, LoadError> {
        let obj = self.ctx.obj;
        let (f, base) = self.placed[k].clone();
        let sidx = f.start + s;
        let pc = base + s;
        let i = self.out[pc];
        let at = InsnLoc {
            section: f.section.clone(),
            function: f.name.clone(),
            insn: sidx,
            pc: Some(pc),
        };
        let ierr = |msg: String| LoadError::Insn {
            at: Box::new(at.clone()),
            msg,
        };
        let is_lddw = build::has_opcode(&i, Kind::Lddw);
        if is_lddw && s + 1 >= f.len {
            return Err(ierr(format!(
                "lddw is missing its second slot at the end of function {}",
                f.name
            )));
        }
        let is_local_call = build::is(&i, Kind::CallLocal);
        let is_kfunc = build::has_opcode(&i, Kind::Call) && i.src == CALL_KFUNC;
        let offset = sidx as u64 * 8;
        // Where a local call goes: (section, slot in that section, symbol).
        let mut callee: Option<(usize, i64, String)> = None;
        match obj.reloc_at(f.shndx, offset) {
            Some(r) => {
                let sy = sym(obj, r.sym, &f.section, offset)?;
                match r.rtype {
                    R_BPF_64_64 if is_lddw => {
                        let (value, target) = resolve_data(
                            obj,
                            self.table,
                            sy,
                            i64::from(i.imm),
                            &f.section,
                            offset,
                        )?;
                        self.out[pc].imm = value as u32 as i32;
                        self.out[pc].src = 0;
                        self.out[pc + 1].imm = (value >> 32) as u32 as i32;
                        self.relocations.push(Relocation {
                            pc,
                            symbol: sy.name.clone(),
                            target,
                        });
                    }
                    R_BPF_64_32 if is_local_call || is_kfunc => {
                        if sy.shndx == 0 || is_kfunc {
                            return Err(ierr(format!(
                                "call to kfunc {} (src = {}, an extern function the kernel resolves at load time, BPF_PSEUDO_KFUNC_CALL): \
                                 kfuncs are not supported, the device has the {} ABI's helpers only ({})",
                                sy.name,
                                i.src,
                                self.abi,
                                self.abi.helper_list()
                            )));
                        }
                        if sy.value % 8 != 0 {
                            return Err(reloc_err(
                                &f.section,
                                offset,
                                format!("call target symbol {} is not 8-byte aligned", sy.name),
                            ));
                        }
                        let slot = (sy.value / 8) as i64 + i64::from(i.imm) + 1;
                        callee = Some((sy.shndx, slot, sy.name.clone()));
                    }
                    rt => {
                        let what = isa()
                            .decode(&i)
                            .map_or("an undecodable instruction", |d| d.mnemonic);
                        return Err(reloc_err(
                            &f.section,
                            offset,
                            format!(
                                "{} against {} on {what} is not supported (expected R_BPF_64_64 on lddw or R_BPF_64_32 on a local call)",
                                reloc_type_name(rt),
                                sy.name
                            ),
                        ));
                    }
                }
            }
            None if is_local_call => {
                let slot = sidx as i64 + i64::from(i.imm) + 1;
                callee = Some((f.shndx, slot, f.section.clone()));
            }
            None if is_kfunc => {
                return Err(ierr(format!(
                    "call to kfunc id {} (src = 2, BPF_PSEUDO_KFUNC_CALL): kfuncs are not supported, \
                     the device has the {} ABI's helpers only ({})",
                    i.imm,
                    self.abi,
                    self.abi.helper_list()
                )));
            }
            None if is_lddw && i.src != 0 => {
                return Err(ierr(format!(
                    "lddw with src = {} (a map or function reference) has no relocation",
                    i.src
                )));
            }
            None => {}
        }
        if let Some((tsh, slot, symname)) = callee {
            let Some(tsec) = obj.sections.get(tsh) else {
                return Err(ierr(format!("call target section {tsh} does not exist")));
            };
            if !tsec.is_exec() {
                return Err(ierr(format!(
                    "call target {symname} is in section {}, which is not code",
                    tsec.name
                )));
            }
            self.ctx.load(tsh)?;
            let Some(target) = self.ctx.funcs[&tsh]
                .iter()
                .find(|g| g.start as i64 == slot)
                .cloned()
            else {
                return Err(ierr(format!(
                    "call target is instruction {slot} of section {}, which is not the start of a function",
                    tsec.name
                )));
            };
            let ci = self.place(target)?;
            self.calls.push((pc, ci));
        }
        // Only the helpers the ABI supports, named in the message.
        if build::is(&i, Kind::Call) {
            let id = i.imm as u32;
            if !self.abi.helper_ids().contains(&id) {
                return Err(LoadError::Helper {
                    at: Box::new(at),
                    id,
                    name: linux_name(id).unwrap_or("unknown"),
                    abi: self.abi,
                    why: self
                        .abi
                        .helper_refusal(id)
                        .map(|w| format!(": {w}"))
                        .unwrap_or_default(),
                    supported: self.abi.helper_list(),
                });
            }
        }
        // Jumps stay inside their function.
        if let Ok(def) = isa().decode(&i)
            && matches!(def.kind, Kind::Jmp { .. } | Kind::Ja | Kind::Ja32)
            && let Some(rel) = branch_offset(def.kind, &i)
        {
            let tgt = s as i64 + 1 + rel;
            if tgt < 0 || tgt >= f.len as i64 {
                return Err(ierr(format!(
                    "jump to instruction {} leaves function {} (instructions {}..{})",
                    sidx as i64 + 1 + rel,
                    f.name,
                    f.start,
                    f.start + f.len
                )));
            }
        }
        Ok(if is_lddw { 2 } else { 1 })
    }

    /// Point every local call at its callee's place.
    fn fix_calls(&mut self) {
        for &(pc, ci) in &self.calls {
            let (callee, base) = &self.placed[ci];
            self.out[pc].imm = (*base as i64 - (pc as i64 + 1)) as i32;
            self.relocations.push(Relocation {
                pc,
                symbol: callee.name.clone(),
                target: Target::Call {
                    function: callee.name.clone(),
                    pc: *base,
                },
            });
        }
        self.relocations.sort_by_key(|r| r.pc);
    }
}

fn license(obj: &Object<'_>) -> Result<Option<String>, LoadError> {
    let Some(i) = obj.section_index("license") else {
        return Ok(None);
    };
    let d = obj.sections[i].data()?;
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    Ok(Some(String::from_utf8_lossy(&d[..end]).into_owned()))
}

/// One program laid out and relocated against the object's map table
/// (map indices still the object's).
struct Linked {
    out: Vec<Insn>,
    placed: Vec<(Func, usize)>,
    relocations: Vec<Relocation>,
    prologue_len: usize,
}

impl Linked {
    /// Object maps the program references.
    fn maps(&self) -> impl Iterator<Item = usize> + '_ {
        self.relocations.iter().filter_map(|r| match r.target {
            Target::MapHandle { map } | Target::MapValue { map, .. } => Some(map),
            Target::Call { .. } => None,
        })
    }

    /// Renumber the map references to the selected maps and patch the
    /// handles and addresses loaded by `lddw`.
    fn patch(&mut self, index: &[Option<usize>]) {
        for r in &mut self.relocations {
            let value = match &mut r.target {
                Target::MapHandle { map } => {
                    *map = index[*map].unwrap_or(*map);
                    contract::map_handle(*map)
                }
                Target::MapValue { map, offset } => {
                    *map = index[*map].unwrap_or(*map);
                    contract::map_handle(*map) + *offset
                }
                Target::Call { .. } => continue,
            };
            self.out[r.pc].imm = value as u32 as i32;
            self.out[r.pc + 1].imm = (value >> 32) as u32 as i32;
        }
    }

    /// The placed functions, validated.
    fn finish(&self, abi: Abi, opts: &Options) -> Result<Vec<Function>, LoadError> {
        let functions: Vec<Function> = self
            .placed
            .iter()
            .map(|(f, b)| Function {
                name: f.name.clone(),
                section: f.section.clone(),
                pc: *b,
                len: f.len,
                section_insn: f.start,
            })
            .collect();
        if let Err(error) = validate(&self.out, &limits(abi, self.prologue_len, opts.max_version)) {
            let at = locate(
                self.prologue_len,
                &functions,
                error.pc.unwrap_or(self.prologue_len),
            );
            return Err(LoadError::Invalid {
                at: Box::new(at),
                error,
            });
        }
        Ok(functions)
    }
}

/// Lay out `entry` and its subprograms, relocating every instruction.
fn link_one(
    ctx: &mut Ctx<'_, '_>,
    table: &mut MapTable,
    entry: Func,
    abi: Abi,
) -> Result<Linked, LoadError> {
    let out = prologue(abi);
    let mut l = Linker {
        ctx,
        table,
        abi,
        prologue_len: out.len(),
        out,
        placed: Vec::new(),
        by_start: BTreeMap::new(),
        relocations: Vec::new(),
        calls: Vec::new(),
    };
    l.place(entry)?;
    // Functions are appended while we walk them (callees of callees).
    let mut k = 0;
    while k < l.placed.len() {
        let mut s = 0;
        while s < l.placed[k].0.len {
            s += l.link_insn(k, s)?;
        }
        k += 1;
    }
    l.fix_calls();
    Ok(Linked {
        out: l.out,
        placed: l.placed,
        relocations: l.relocations,
        prologue_len: l.prologue_len,
    })
}

/// The slots map `m`'s `.values` initialisers fill: (key, target), a
/// program by function name or an object map.
fn values_slots(
    obj: &Object<'_>,
    table: &MapTable,
    m: usize,
) -> Result<Vec<(u32, maps::SlotTarget)>, LoadError> {
    let (Some((shndx, ..)), Some((start, end))) = (table.range(m), table.values_range(m)) else {
        return Ok(Vec::new());
    };
    let name = table.name(m).unwrap_or("?").to_string();
    let mut out = Vec::new();
    let Some(rs) = obj.relocs.get(&shndx) else {
        return Ok(out);
    };
    for (&off, r) in rs.range(start..end.max(start)) {
        let sy = sym(obj, r.sym, ".maps", off)?;
        let key = ((off - start) / 8) as u32;
        let e = |msg: String| LoadError::Map {
            map: name.clone(),
            section: ".maps".into(),
            msg: format!(".values[{key}]: {msg}"),
        };
        let target = match obj.sections.get(sy.shndx) {
            Some(sec) if sec.is_exec() => maps::SlotTarget::Program(sy.name.clone()),
            Some(_) if table.is_map_section(sy.shndx) => {
                let i = table
                    .at_def(sy.shndx, sy.value)
                    .ok_or_else(|| e(format!("{} does not point at a map definition", sy.name)))?;
                maps::SlotTarget::Map(i)
            }
            _ => {
                return Err(e(format!(
                    "{} is neither a program nor a map of the object",
                    sy.name
                )));
            }
        };
        out.push((key, target));
    }
    Ok(out)
}

/// Link the object into an image: select the entry, collect the maps, lay
/// out and relocate the functions, validate. An image whose programs use a
/// PROG_ARRAY also carries the object's other programs of the same type
/// ([`Image::tails`]), linked against the same maps, for tail calls.
pub fn link(obj: &Object<'_>, btf: Option<&Btf<'_>>, opts: &Options) -> Result<Image, LoadError> {
    let mut ctx = Ctx {
        obj,
        slots: BTreeMap::new(),
        funcs: BTreeMap::new(),
    };
    let entry = select_entry(&mut ctx, opts)?;
    let abi = entry_abi(&entry, opts)?;
    let mut table = maps::collect(obj, btf, abi, &opts.map_sizes)?;
    let kind = section_kind(&entry.section);
    let (entry_shndx, entry_start) = (entry.shndx, entry.start);

    let mut main = link_one(&mut ctx, &mut table, entry, abi)?;
    let mut used: BTreeSet<usize> = main.maps().collect();
    let uses_prog_array = |used: &BTreeSet<usize>, table: &MapTable| {
        used.iter().any(|&m| {
            table
                .def(m)
                .is_some_and(|d| d.kind == maps::MapType::ProgArray)
        })
    };
    // Tail calls: the object's other programs of the entry's type.
    let mut tails: Vec<Linked> = Vec::new();
    let mut unavailable: BTreeMap<String, LoadError> = BTreeMap::new();
    if uses_prog_array(&used, &table) {
        let mut others = Vec::new();
        for i in 0..obj.sections.len() {
            let sec = &obj.sections[i];
            if !sec.is_exec() || sec.size == 0 || section_kind(&sec.name) != kind {
                continue;
            }
            ctx.load(i)?;
            others.extend(
                ctx.funcs[&i]
                    .iter()
                    .filter(|f| f.global && (f.shndx, f.start) != (entry_shndx, entry_start))
                    .cloned(),
            );
        }
        for f in others {
            let name = f.name.clone();
            match link_one(&mut ctx, &mut table, f, abi) {
                Ok(l) => {
                    used.extend(l.maps());
                    tails.push(l);
                }
                Err(e) => {
                    unavailable.insert(name, e);
                }
            }
        }
    }
    // Map-in-map: every map of the object that matches a used outer map's
    // inner definition may be put in a slot (by `.values` or by the user).
    let inners: Vec<maps::MapDef> = used
        .iter()
        .filter_map(|&m| table.def(m)?.inner.clone())
        .collect();
    for i in 0..table.len() {
        if let Some(d) = table.def(i)
            && d.origin != maps::MapOrigin::Global
            && inners.iter().any(|t| {
                (t.kind, t.key_size, t.value_size, t.max_entries)
                    == (d.kind, d.key_size, d.value_size, d.max_entries)
            })
        {
            used.insert(i);
        }
    }
    // `.values` initialisers: the maps they name are used too.
    let mut slots: BTreeMap<usize, Vec<(u32, maps::SlotTarget)>> = BTreeMap::new();
    let mut todo: Vec<usize> = used.iter().copied().collect();
    while let Some(m) = todo.pop() {
        if slots.contains_key(&m) {
            continue;
        }
        let v = values_slots(obj, &table, m)?;
        for (_, t) in &v {
            if let maps::SlotTarget::Map(i) = t
                && used.insert(*i)
            {
                if let Some(err) = table.take_error(*i) {
                    return Err(err);
                }
                todo.push(*i);
            }
        }
        slots.insert(m, v);
    }
    let names: Vec<String> = std::iter::once(&main)
        .chain(&tails)
        .map(|l| l.placed[0].0.name.clone())
        .collect();
    for (&m, v) in &slots {
        let Some(d) = table.def(m) else { continue };
        for (key, t) in v {
            let e = |msg: String| LoadError::Map {
                map: d.name.clone(),
                section: d.section.clone(),
                msg: format!(".values[{key}]: {msg}"),
            };
            if !d.kind.is_hash() && *key >= d.max_entries {
                return Err(e(format!(
                    "slot {key} is past max_entries {}",
                    d.max_entries
                )));
            }
            match t {
                maps::SlotTarget::Program(p) if d.kind != maps::MapType::ProgArray => {
                    return Err(e(format!("program {p} in a {}", d.kind.name())));
                }
                maps::SlotTarget::Program(p) if !names.contains(p) => {
                    return Err(match unavailable.remove(p) {
                        Some(err) => e(format!("program {p} cannot be loaded: {err}")),
                        None => e(format!(
                            "program {p} is not one of the object's {} programs ({})",
                            abi,
                            names.join(", ")
                        )),
                    });
                }
                maps::SlotTarget::Map(i) if !d.kind.is_map_in_map() => {
                    return Err(e(format!(
                        "map {} in a {}",
                        table.name(*i).unwrap_or("?"),
                        d.kind.name()
                    )));
                }
                maps::SlotTarget::Map(i) => {
                    let (Some(inner), Some(t)) = (d.inner.as_ref(), table.def(*i)) else {
                        continue;
                    };
                    if t.kind != inner.kind
                        || t.key_size != inner.key_size
                        || t.value_size != inner.value_size
                        || t.max_entries != inner.max_entries
                    {
                        return Err(e(format!(
                            "map {} ({} key {} value {} max_entries {}) does not match the inner map's definition ({} key {} value {} max_entries {})",
                            t.name,
                            t.kind.name(),
                            t.key_size,
                            t.value_size,
                            t.max_entries,
                            inner.kind.name(),
                            inner.key_size,
                            inner.value_size,
                            inner.max_entries
                        )));
                    }
                }
                maps::SlotTarget::Program(_) => {}
            }
        }
    }
    for (m, v) in slots {
        table.set_slots(m, v);
    }

    check_data_relocations(obj, &table, &used)?;
    let mut selected = table.select(&used)?;
    for d in &mut selected.defs {
        if d.kind == maps::MapType::ProgArray {
            d.programs = names.clone();
        }
    }
    main.patch(&selected.index);
    let functions = main.finish(abi, opts)?;
    let mut tail_images = Vec::with_capacity(tails.len());
    for mut t in tails {
        t.patch(&selected.index);
        let functions = t.finish(abi, opts)?;
        tail_images.push(crate::image::Tail {
            function: functions[0].name.clone(),
            section: functions[0].section.clone(),
            insns: t.out,
            functions,
            relocations: t.relocations,
        });
    }
    let prologue_len = main.prologue_len;
    Ok(Image {
        entry: prologue_len,
        abi,
        prologue_len,
        section: functions[0].section.clone(),
        function: functions[0].name.clone(),
        license: license(obj)?,
        functions,
        relocations: main.relocations,
        maps: selected.defs,
        dropped_maps: selected.dropped,
        insns: main.out,
        max_version: opts.max_version,
        map_base: 0,
        budget: None,
        tails: tail_images,
        optimized: None,
    })
}
