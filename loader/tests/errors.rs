//! Hand-built objects: one per error the loader reports, checking that the
//! message names the section and instruction (or offset, or map).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use nfbpf_loader::{Abi, LoadError, MapOrigin, Options, Target, load};
use nfbpf_vm::isa::Cond;
use nfbpf_vm::{Insn, build, contract};

fn err(bytes: &[u8]) -> String {
    err_with(bytes, &Options::default())
}

fn err_with(bytes: &[u8], opts: &Options) -> String {
    match load(bytes, opts) {
        Ok(img) => panic!("loaded, expected an error:\n{}", img.listing()),
        Err(e) => e.to_string(),
    }
}

fn has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

/// An object with one XDP function `prog` made of `insns`.
fn xdp(insns: &[Insn]) -> ElfBuilder {
    let mut b = ElfBuilder::new();
    b.code("xdp", insns)
        .func("prog", "xdp", 0, insns.len() as u64);
    b
}

/// An XDP function `prog` loading each map's handle (`lddw r1, MAP`), so
/// that the loader keeps them (maps the program does not reference are
/// left out).
fn xdp_using(maps: &[&str]) -> ElfBuilder {
    let mut insns = Vec::new();
    for _ in maps {
        insns.extend(lddw(1));
    }
    insns.push(exit());
    let mut b = xdp(&insns);
    for (k, m) in maps.iter().enumerate() {
        b.reloc("xdp", 16 * k as u64, 1, m);
    }
    b
}

#[test]
fn sample_object_loads() {
    let img = load(&sample_object(), &Options::default()).unwrap();
    assert_eq!(img.abi, Abi::Xdp);
    assert_eq!(img.function, "prog");
    assert_eq!(img.license.as_deref(), Some("GPL"));
    // The maps the program references; the others are left out.
    let names: Vec<&str> = img.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["counters", ".rodata"]);
    assert_eq!(img.dropped_maps, ["legacy", ".bss"]);
    assert_eq!(img.maps[0].origin, MapOrigin::Btf);
    assert_eq!((img.maps[0].key_size, img.maps[0].value_size), (4, 8));
    assert_eq!(img.maps[1].origin, MapOrigin::Global);
    // lddw r1, counters; lddw r2, &limit; call local -> helper_fn.
    assert_eq!(img.relocations.len(), 3);
    assert_eq!(img.relocations[0].target, Target::MapHandle { map: 0 });
    assert_eq!(
        img.relocations[1].target,
        Target::MapValue { map: 1, offset: 0 }
    );
    assert_eq!(img.insns[4].imm as u32 as u64, contract::map_handle(1));
    let Target::Call { pc, .. } = img.relocations[2].target else {
        panic!()
    };
    assert_eq!(pc, 10); // 2 prologue + 8 entry
    assert_eq!(img.insns[8].imm, 1); // call at pc 8 -> pc 10
    assert_eq!(img.functions[1].name, "helper_fn");
    img.program().unwrap();
}

#[test]
fn not_elf_and_not_bpf() {
    has(&err(b"hello"), &["not a valid ELF object"]);
    has(&err(&[]), &["not a valid ELF object"]);
    let mut b = xdp(&[exit()]);
    b.machine = Some(62);
    has(&err(&b.build()), &["not an eBPF object", "e_machine is 62"]);
    let mut big = xdp(&[exit()]).build();
    big[5] = 2;
    has(&err(&big), &["big-endian"]);
}

#[test]
fn no_program_or_several() {
    let mut b = ElfBuilder::new();
    b.license("GPL");
    has(&err(&b.build()), &["no program in the object"]);
    let mut b = ElfBuilder::new();
    b.code("xdp", &[mov(0, 1), exit(), mov(0, 2), exit()])
        .func("a", "xdp", 0, 2)
        .func("b", "xdp", 2, 2);
    let bytes = b.build();
    has(
        &err(&bytes),
        &["several programs", "a (section xdp)", "b (section xdp)"],
    );
    let opts = Options {
        function: Some("b".into()),
        ..Options::default()
    };
    let img = load(&bytes, &opts).unwrap();
    assert_eq!(img.insns[2], mov(0, 2));
    let opts = Options {
        function: Some("c".into()),
        ..Options::default()
    };
    has(&err_with(&bytes, &opts), &["no function named c"]);
}

#[test]
fn sume_entry_in_text() {
    let mut b = ElfBuilder::new();
    b.code(".text", &[mov(0, 1), exit()])
        .func("entry", ".text", 0, 2);
    let img = load(&b.build(), &Options::default()).unwrap();
    assert_eq!(img.abi, Abi::Sume);
    assert_eq!(img.insns[0], mov(1, contract::PKT_BASE as i32));
}

#[test]
fn unknown_opcode() {
    let b = xdp(&[mov(0, 0), Insn::new(0xff, 0, 0, 0, 0), exit()]);
    has(
        &err(&b.build()),
        &[
            "section xdp, function prog, instruction 1",
            "image pc 3",
            "unknown opcode 0xff",
        ],
    );
}

#[test]
fn r10_write_outside_the_prologue() {
    let b = xdp(&[mov(10, 0), exit()]);
    has(
        &err(&b.build()),
        &["section xdp, function prog, instruction 0", "writes r10"],
    );
}

#[test]
fn unsupported_helper_named() {
    let b = xdp(&[call(13), exit()]);
    has(
        &err(&b.build()),
        &[
            "section xdp, function prog, instruction 0",
            "helper 13 (clone_redirect) is not supported by the XDP ABI",
            "supported: 1 map_lookup_elem, 2 map_update_elem",
            "65 xdp_adjust_tail",
        ],
    );
    let b = xdp(&[call(9999), exit()]);
    has(&err(&b.build()), &["helper 9999 (unknown)"]);
    // SUME has the map helpers by value and the timer/PRNG/trace units, not
    // the packet-redirecting XDP ones.
    let mut b = ElfBuilder::new();
    b.code(".text", &[call(23), exit()])
        .func("f", ".text", 0, 2);
    has(
        &err(&b.build()),
        &["helper 23 (redirect) is not supported by the SUME ABI"],
    );
}

#[test]
fn unsupported_map_type() {
    let mut b = xdp_using(&["pc"]);
    b.legacy_maps(&[("pc", [15, 4, 4, 16, 0])]);
    has(
        &err(&b.build()),
        &[
            "map pc (section maps)",
            "unsupported map type 15 (SOCKMAP)",
            "supported: HASH 1, ARRAY 2, PROG_ARRAY 3, PERF_EVENT_ARRAY 4, PERCPU_HASH 5, PERCPU_ARRAY 6, LRU_HASH 9, LRU_PERCPU_HASH 10, LPM_TRIE 11, ARRAY_OF_MAPS 12, HASH_OF_MAPS 13, DEVMAP 14, CPUMAP 16, XSKMAP 17, QUEUE 22, STACK 23, DEVMAP_HASH 25, RINGBUF 27",
        ],
    );
}

#[test]
fn too_many_maps() {
    let names: Vec<String> = (0..=contract::MAX_MAPS).map(|i| format!("m{i}")).collect();
    let defs: Vec<(&str, [u32; 5])> = names
        .iter()
        .map(|n| (n.as_str(), [1, 4, 4, 8, 0]))
        .collect();
    let all: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    let mut b = xdp_using(&all);
    b.legacy_maps(&defs);
    has(&err(&b.build()), &["uses 65 maps", "holds at most 64"]);
    let mut b = xdp_using(&all[..contract::MAX_MAPS]);
    b.legacy_maps(&defs);
    assert_eq!(
        load(&b.build(), &Options::default()).unwrap().maps.len(),
        64
    );
}

#[test]
fn key_and_value_widths() {
    // The software engines take Linux's 512-byte keys and values up to a
    // map's value area (the device's 64 bytes are checked when a program
    // goes onto it: tests/device.rs).
    let mut b = xdp_using(&["wide"]);
    b.legacy_maps(&[("wide", [1, 513, 4, 8, 0])]);
    has(
        &err(&b.build()),
        &["map wide", "key of 513 bytes", "XDP ABI", "1..=512 bytes"],
    );
    let mut b = xdp_using(&["wide"]);
    b.legacy_maps(&[("wide", [1, 4, (1 << 20) + 1, 1, 0])]);
    has(
        &err(&b.build()),
        &["map wide", "value of 1048577 bytes", "1..=1048576 bytes"],
    );
    let mut b = xdp_using(&["ok"]);
    b.legacy_maps(&[("ok", [1, 512, 136, 8, 0])]);
    assert!(load(&b.build(), &Options::default()).is_ok());
    // SUME passes keys and values in registers: 8 bytes at most.
    let mut b = ElfBuilder::new();
    let [l0, l1] = lddw(1);
    b.code(".text", &[l0, l1, exit()]).func("f", ".text", 0, 3);
    b.reloc(".text", 0, 1, "k16");
    b.legacy_maps(&[("k16", [1, 16, 8, 8, 0])]);
    has(
        &err(&b.build()),
        &["map k16", "SUME", "key of 16 bytes", "1..=8 bytes"],
    );
    let mut b = xdp_using(&["arr"]);
    b.legacy_maps(&[("arr", [2, 8, 8, 8, 0])]);
    has(&err(&b.build()), &["ARRAY maps need a 4-byte key"]);
    let mut b = xdp_using(&["none"]);
    b.legacy_maps(&[("none", [1, 4, 4, 0, 0])]);
    has(
        &err(&b.build()),
        &["map none (section maps)", "pass --map-size none=N"],
    );
}

#[test]
fn program_larger_than_instruction_memory() {
    let mut insns = vec![mov(0, 0); contract::IMEM_SLOTS - 2];
    insns.push(exit());
    has(
        &err(&xdp(&insns).build()),
        &[
            "needs 4097 instruction slots (2 of them the prologue)",
            "4096 slots per bank",
        ],
    );
    insns.truncate(contract::IMEM_SLOTS - 3);
    insns.push(exit());
    assert_eq!(
        load(&xdp(&insns).build(), &Options::default())
            .unwrap()
            .insns
            .len(),
        4096
    );
}

#[test]
fn jumps_out_of_range() {
    let b = xdp(&[build::ja(5), exit()]);
    has(
        &err(&b.build()),
        &[
            "section xdp, function prog, instruction 0",
            "jump to instruction 6 leaves function prog (instructions 0..2)",
        ],
    );
    // A jump from one function into the next is out of range too.
    let mut b = ElfBuilder::new();
    b.code(
        "xdp",
        &[
            build::jmp_imm(Cond::Eq, true, 1, 0, 1),
            exit(),
            mov(0, 1),
            exit(),
        ],
    )
    .func("prog", "xdp", 0, 2)
    .static_func("other", "xdp", 2, 2);
    has(&err(&b.build()), &["leaves function prog"]);
    let b = xdp(&[build::ja(-3), exit()]);
    has(&err(&b.build()), &["jump to instruction -2"]);
}

#[test]
fn bad_relocations() {
    // Not on an instruction.
    let mut b = xdp(&[mov(0, 0), exit()]);
    b.reloc("xdp", 4, 1, "prog");
    has(
        &err(&b.build()),
        &[
            "relocation in section xdp at offset 0x4",
            "not on an instruction",
        ],
    );
    // Wrong type for the instruction.
    let mut b = xdp(&[mov(0, 0), exit()]);
    b.reloc("xdp", 0, 2, "prog");
    has(
        &err(&b.build()),
        &[
            "relocation in section xdp at offset 0x0",
            "R_BPF_64_ABS64 against prog on mov is not supported",
        ],
    );
    // R_BPF_64_64 on lddw against something that is not a map or global.
    let [a, c] = lddw(1);
    let mut b = xdp(&[a, c, exit()]);
    b.section("other", SHT_PROGBITS, SHF_ALLOC, vec![0; 8])
        .object("thing", "other", 0, 8);
    b.reloc("xdp", 0, 1, "thing");
    has(
        &err(&b.build()),
        &[
            "offset 0x0",
            "thing in section other is neither a map nor global data",
        ],
    );
    // Out of the global's section.
    let mut b = xdp(&[build::lddw(1, 100)[0], c, exit()]);
    b.section(".rodata", SHT_PROGBITS, SHF_ALLOC, vec![0; 8])
        .object("g", ".rodata", 0, 8);
    b.reloc("xdp", 0, 1, "g");
    has(
        &err(&b.build()),
        &["g+100 is outside section .rodata (8 bytes)"],
    );
    // Map symbol that points between definitions.
    let mut b = xdp(&[build::lddw(1, 4)[0], c, exit()]);
    b.legacy_maps(&[("m", [1, 4, 4, 8, 0])]);
    b.reloc("xdp", 0, 1, "m");
    has(
        &err(&b.build()),
        &["m+4 does not point at a map definition in section maps"],
    );
    // Function pointer.
    let mut b = xdp(&[a, c, exit()]);
    b.reloc("xdp", 0, 1, "prog");
    has(&err(&b.build()), &["callbacks are not supported"]);
    // lddw with a pseudo src but no relocation.
    let b = xdp(&[Insn { src: 1, ..a }, c, exit()]);
    has(
        &err(&b.build()),
        &["instruction 0", "lddw with src = 1", "has no relocation"],
    );
    // Symbol index outside the table (the builder writes a huge index for an unknown name).
    let mut b = xdp(&[a, c, exit()]);
    b.reloc("xdp", 0, 1, "no_such_symbol");
    has(
        &err(&b.build()),
        &["offset 0x0", "outside the symbol table"],
    );
}

#[test]
fn missing_symbols() {
    let [a, c] = lddw(1);
    let mut b = xdp(&[a, c, exit()]);
    b.sym("ext_var", None, 0, 0, STT_OBJECT, STB_GLOBAL);
    b.reloc("xdp", 0, 1, "ext_var");
    has(
        &err(&b.build()),
        &[
            "undefined symbol ext_var",
            "extern variables are not supported",
        ],
    );
    let mut b = xdp(&[call_local(-1), exit()]);
    b.sym("ext_fn", None, 0, 0, STT_FUNC, STB_GLOBAL);
    b.reloc("xdp", 0, 10, "ext_fn");
    has(&err(&b.build()), &["instruction 0", "call to kfunc ext_fn"]);
    // A call into the middle of a function.
    let mut b = xdp(&[call_local(-1), exit()]);
    b.code(".text", &[mov(0, 1), exit()])
        .static_func("f", ".text", 0, 2);
    b.sym("mid", Some(".text"), 8, 0, STT_NOTYPE, STB_LOCAL);
    b.reloc("xdp", 0, 10, "mid");
    has(
        &err(&b.build()),
        &["call target is instruction 1 of section .text, which is not the start of a function"],
    );
    // A map section symbol without BTF.
    let mut b = xdp(&[exit()]);
    b.section(".maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, vec![0; 32])
        .object("m", ".maps", 0, 32);
    has(
        &err(&b.build()),
        &["section .maps", "need the .BTF section"],
    );
}

#[test]
fn local_calls_without_relocation_and_recursion() {
    // call +1 within xdp: `prog` calls `sub` (same section, no relocation),
    // `sub` calls itself through a relocation on its own symbol.
    let mut b = ElfBuilder::new();
    b.code("xdp", &[call_local(1), exit(), call_local(-1), exit()])
        .func("prog", "xdp", 0, 2)
        .static_func("sub", "xdp", 2, 2);
    b.reloc("xdp", 16, 10, "sub");
    let bytes = b.build();
    // Linking alone (the check that programs can finish is off).
    let linking = Options {
        verify: false,
        ..Options::default()
    };
    let img = load(&bytes, &linking).unwrap();
    assert_eq!(img.functions.len(), 2);
    assert_eq!(img.insns[2].imm, 1); // pc 2 -> pc 4
    assert_eq!(img.insns[4].imm, -1); // pc 4 -> pc 4
    // The check refuses the recursion, naming it.
    has(
        &err(&bytes),
        &["program `prog` (section xdp): recursion: `sub` calls `sub` at pc 4"],
    );
}

#[test]
fn truncated_sections() {
    let mut b = xdp(&[mov(0, 0), exit()]);
    b.override_header("xdp", 0x10_0000, 16);
    has(&err(&b.build()), &["section xdp", "truncated"]);
    let mut b = xdp_using(&["m"]);
    b.section("maps", SHT_PROGBITS, SHF_ALLOC, vec![0; 8])
        .object("m", "maps", 0, 20);
    has(
        &err(&b.build()),
        &[
            "map m (section maps)",
            "a definition of 20 bytes at offset 0x0 extends beyond the section's 8 bytes",
        ],
    );
    let mut b = ElfBuilder::new();
    b.code("xdp", &[mov(0, 0)]).func("prog", "xdp", 0, 1);
    let mut bytes = b.build();
    // Cut the file inside the section header table.
    bytes.truncate(bytes.len() - 10);
    has(&err(&bytes), &["not a valid ELF object", "section headers"]);
    // A code section that is not whole instructions.
    let mut b = ElfBuilder::new();
    b.code("xdp", &[mov(0, 0), exit()])
        .sym("prog", Some("xdp"), 0, 12, STT_FUNC, STB_GLOBAL);
    has(
        &err(&b.build()),
        &["section xdp", "function prog", "multiples of 8"],
    );
    let mut b = ElfBuilder::new();
    b.code("xdp", &[mov(0, 0), exit()])
        .func("prog", "xdp", 1, 4);
    has(
        &err(&b.build()),
        &[
            "section xdp",
            "function prog",
            "extends beyond the section's 16 bytes",
        ],
    );
    let mut b = ElfBuilder::new();
    b.section(
        "xdp",
        SHT_PROGBITS,
        SHF_ALLOC | SHF_EXEC,
        vec![0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    has(
        &err(&b.build()),
        &[
            "section xdp",
            "10 bytes is not a whole number of 8-byte instructions",
        ],
    );
    // lddw cut at the end of its function.
    let b = xdp(&[lddw(1)[0]]);
    has(
        &err(&b.build()),
        &["instruction 0", "lddw is missing its second slot"],
    );
}

fn btf_object(btf: Vec<u8>, var: &str) -> Vec<u8> {
    let mut b = xdp_using(&[var]);
    b.section(".maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, vec![0; 32])
        .object(var, ".maps", 0, 32)
        .section(".BTF", SHT_PROGBITS, 0, btf);
    b.build()
}

fn one_map(attrs: &[(&str, Attr)]) -> Vec<u8> {
    let mut t = BtfBuilder::new();
    let v = t.map("m", attrs);
    t.datasec(".maps", &[(v, 0, 32)]);
    btf_object(t.build(), "m")
}

#[test]
fn btf_maps_through_typedefs_structs_and_arrays() {
    let mut t = BtfBuilder::new();
    let u32_ = t.int("unsigned int", 4);
    let td = t.typedef("__u32", u32_);
    let cst = t.const_(td);
    let vol = t.volatile(cst);
    let key = t.struct_("lpm_key", 8, &[("prefixlen", td), ("addr", vol)]);
    let u8_ = t.int("unsigned char", 1);
    let mac = t.array(u8_, u32_, 6);
    let val = t.struct_("nh", 16, &[("dmac", mac), ("smac", mac), ("port", u32_)]);
    let keyt = t.typedef("key_t", key);
    let v = t.map(
        "routes",
        &[
            ("type", Attr::Uint(11)),
            ("key", Attr::TypeId(keyt)),
            ("value", Attr::TypeId(mac)),
            ("max_entries", Attr::Uint(64)),
            ("map_flags", Attr::Uint(1)),
            ("pinning", Attr::Uint(1)),
        ],
    );
    let _ = val;
    t.datasec(".maps", &[(v, 0, 32)]);
    let img = load(&btf_object(t.build(), "routes"), &Options::default()).unwrap();
    let m = &img.maps[0];
    assert_eq!(
        (m.key_size, m.value_size, m.max_entries, m.flags),
        (8, 6, 64, 1)
    );
    // key_size / value_size given as numbers.
    let bytes = one_map(&[
        ("type", Attr::Uint(14)),
        ("key_size", Attr::Uint(4)),
        ("value_size", Attr::Uint(4)),
        ("max_entries", Attr::Uint(4)),
    ]);
    let img = load(&bytes, &Options::default()).unwrap();
    assert_eq!(img.maps[0].kind, nfbpf_loader::MapType::Devmap);
}

#[test]
fn malformed_btf() {
    // Bad magic.
    let mut bad = BtfBuilder::new().build();
    bad[0] = 0;
    has(
        &err(&btf_object(bad, "m")),
        &["section .BTF, offset 0x0", "bad magic"],
    );
    // Truncated header.
    has(
        &err(&btf_object(vec![0x9f, 0xeb, 1], "m")),
        &["section .BTF", "truncated header"],
    );
    // Type section longer than the data.
    let mut t = BtfBuilder::new();
    t.int("int", 4);
    let mut bytes = t.build();
    bytes[12] = 200;
    has(
        &err(&btf_object(bytes, "m")),
        &["section .BTF", "type section", "outside"],
    );
    // A reference to a type that does not exist.
    let mut t = BtfBuilder::new();
    let v = t.var("m", 99);
    t.datasec(".maps", &[(v, 0, 32)]);
    has(
        &err(&btf_object(t.build(), "m")),
        &["section .BTF, offset", "refers to type 99"],
    );
    // A cycle of typedefs.
    let mut t = BtfBuilder::new();
    let a = t.typedef("a", 2);
    let _b = t.typedef("b", a);
    let v = t.var("m", a);
    t.datasec(".maps", &[(v, 0, 32)]);
    has(&err(&btf_object(t.build(), "m")), &["a cycle?"]);
    // Unknown kind.
    let mut bytes = Vec::new();
    for w in [0x0001_eb9f_u32, 24, 0, 12, 12, 1] {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0]);
    has(
        &err(&btf_object(bytes, "m")),
        &["offset 0x18", "unknown type kind 30"],
    );
    // Map attributes.
    has(
        &err(&one_map(&[
            ("type", Attr::Uint(1)),
            ("values", Attr::Uint(1)),
        ])),
        &["map m: `values` is not an array (expected __array(values, T))"],
    );
    has(
        &err(&one_map(&[("colour", Attr::Uint(1))])),
        &["unknown map attribute `colour`"],
    );
    has(
        &err(&one_map(&[
            ("type", Attr::Uint(1)),
            ("key", Attr::Type(4)),
            ("value", Attr::Type(4)),
        ])),
        &[
            "map m (section .maps)",
            "without max_entries",
            "pass --map-size m=N",
        ],
    );
    has(
        &err(&one_map(&[
            ("type", Attr::Uint(15)),
            ("key", Attr::Type(4)),
            ("value", Attr::Type(4)),
            ("max_entries", Attr::Uint(1)),
        ])),
        &["map m (section .maps)", "unsupported map type 15 (SOCKMAP)"],
    );
    // A .maps symbol BTF does not describe, and the other way round.
    let mut t = BtfBuilder::new();
    let v = t.map("other", &[("type", Attr::Uint(1))]);
    t.datasec(".maps", &[(v, 0, 32)]);
    has(
        &err(&btf_object(t.build(), "m")),
        &["symbol m has no BTF description"],
    );
}

#[test]
fn error_values_are_structured() {
    let b = xdp(&[call(13), exit()]);
    match load(&b.build(), &Options::default()) {
        Err(LoadError::Helper { at, id, abi, .. }) => {
            assert_eq!(
                (at.section.as_str(), at.function.as_str(), at.insn, at.pc),
                ("xdp", "prog", 0, Some(2))
            );
            assert_eq!((id, abi), (13, Abi::Xdp));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pointers_in_global_data_are_refused() {
    let mut b = xdp_using(&["ptr"]);
    b.section(".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, vec![0; 16])
        .object("ptr", ".data", 8, 8)
        .reloc(".data", 8, 2, "ptr");
    has(
        &err(&b.build()),
        &[
            "relocation in section .data at offset 0x8",
            "R_BPF_64_ABS64 in data section .data",
            "not supported",
        ],
    );
}

#[test]
fn raw_listing_of_an_object() {
    let s = nfbpf_loader::disasm_object(&sample_object()).unwrap();
    assert!(s.contains("section xdp:\n<prog>:\n"), "{s}");
    assert!(s.contains("lddw %r1, 0x0  ; R_BPF_64_64 counters"), "{s}");
    assert!(s.contains("call local -1  ; R_BPF_64_32 .text"), "{s}");
    assert!(s.contains("section .text:\n<helper_fn>:"), "{s}");
    // Objects the loader rejects still list.
    let b = xdp(&[call(12), exit()]);
    assert!(
        nfbpf_loader::disasm_object(&b.build())
            .unwrap()
            .contains("call 12")
    );
}

#[test]
fn broken_btf_without_btf_maps_is_ignored() {
    let mut b = xdp_using(&["m"]);
    b.legacy_maps(&[("m", [1, 4, 4, 8, 0])])
        .section(".BTF", SHT_PROGBITS, 0, vec![1, 2, 3]);
    let img = load(&b.build(), &Options::default()).unwrap();
    assert_eq!(img.maps.len(), 1);
    assert_eq!(img.words()[4], exit().to_u64());
}

#[test]
fn ring_buffer_size_must_be_a_power_of_two_pages() {
    let mut b = xdp_using(&["rb"]);
    b.legacy_maps(&[("rb", [27, 0, 0, 5000, 0])]);
    has(
        &err(&b.build()),
        &[
            "map rb (section maps)",
            "RINGBUF map: max_entries 5000",
            "power of two multiple of the 4096-byte page",
        ],
    );
    let mut b = xdp_using(&["q"]);
    b.legacy_maps(&[("q", [22, 4, 4, 8, 0])]);
    has(
        &err(&b.build()),
        &["map q (section maps)", "QUEUE map", "key size must be 0"],
    );
    let mut b = xdp_using(&["rb"]);
    b.legacy_maps(&[("rb", [27, 0, 0, 8192, 0])]);
    assert!(load(&b.build(), &Options::default()).is_ok());
}
