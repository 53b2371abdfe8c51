//! The network functions of programs/, compiled by clang-19 (-mcpu=v3 and
//! v4) and loaded: map tables, relocations, prologue, validation, and runs
//! on the reference interpreter. Skipped with a notice when clang-19 is
//! absent (NFBPF_REQUIRE_CLANG=1 makes that a failure).

#![allow(clippy::unwrap_used)]

mod common;

use common::{ALL_PROGRAMS, build};
use nfbpf_loader::{Abi, Cpu, Image, MapOrigin, MapType, Options, Target, load, load_file};
use nfbpf_vm::build as asm;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::{HelperOutcome, Helpers};
use nfbpf_vm::interp::{add_stack, run_plain};
use nfbpf_vm::isa::Kind;
use nfbpf_vm::mem::Memory;

const CPUS: [Cpu; 2] = [Cpu::V3, Cpu::V4];

fn load_program(name: &str, cpu: Cpu) -> Option<Image> {
    let bytes = build(name, cpu)?;
    match load(&bytes, &Options::default()) {
        Ok(i) => Some(i),
        Err(e) => panic!("{name} ({cpu:?}): {e}"),
    }
}

/// Checks every image must pass.
fn check_common(name: &str, img: &Image) {
    // Prologue: r1 = context pointer, r10 = STACK_TOP, two mov64 slots.
    assert_eq!(img.prologue_len, 2, "{name}");
    assert_eq!(img.entry, 2, "{name}");
    let ctx = img.abi.context_pointer() as i32;
    assert_eq!(img.insns[0], asm::mov64_imm(1, ctx), "{name}");
    assert_eq!(
        img.insns[1],
        asm::mov64_imm(10, contract::STACK_TOP as i32),
        "{name}"
    );
    // Every lddw got a relocation, with src = 0 and the right value.
    let mut pc = img.prologue_len;
    while pc < img.insns.len() {
        let i = img.insns[pc];
        if asm::has_opcode(&i, Kind::Lddw) {
            assert_eq!(i.src, 0, "{name} pc {pc}");
            // An lddw without relocation is a 64-bit constant.
            let Some(r) = img.relocations.iter().find(|r| r.pc == pc) else {
                pc += 2;
                continue;
            };
            let v = (u64::from(img.insns[pc + 1].imm as u32) << 32) | u64::from(i.imm as u32);
            match r.target {
                Target::MapHandle { map } => {
                    assert_eq!(v, contract::map_handle(map), "{name} pc {pc}");
                    assert_ne!(img.maps[map].origin, MapOrigin::Global);
                }
                Target::MapValue { map, offset } => {
                    assert_eq!(v, contract::map_handle(map) + offset, "{name} pc {pc}");
                    assert_eq!(img.maps[map].origin, MapOrigin::Global);
                }
                Target::Call { .. } => panic!("{name}: call relocation on lddw"),
            }
            pc += 2;
        } else {
            if asm::is(&i, Kind::CallLocal) {
                let r = img
                    .relocations
                    .iter()
                    .find(|r| r.pc == pc)
                    .expect("call reloc");
                let Target::Call { pc: t, .. } = r.target else {
                    panic!("{name}: call without call target")
                };
                assert_eq!(pc as i64 + 1 + i64::from(i.imm), t as i64);
                assert!(img.functions.iter().any(|f| f.pc == t));
            }
            pc += 1;
        }
    }
    // Validates with the prologue exemption, and not without it.
    let limits = img.limits();
    assert_eq!(limits.prologue, 2);
    assert_eq!(limits.max_insns, contract::IMEM_SLOTS);
    nfbpf_vm::Program::with_limits(img.insns.clone(), &limits)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let strict = nfbpf_vm::validate::Limits {
        prologue: 0,
        ..img.limits()
    };
    assert!(nfbpf_vm::Program::with_limits(img.insns.clone(), &strict).is_err());
    // The listing names the entry function and section.
    let l = img.listing();
    assert!(
        l.contains(&format!("<{}> section {}:", img.function, img.section)),
        "{l}"
    );
    assert!(l.contains("<prologue>:"));
}

#[test]
fn every_program_loads_and_validates() {
    for name in ALL_PROGRAMS {
        for cpu in CPUS {
            let Some(bytes) = build(name, cpu) else {
                return;
            };
            let img = load(&bytes, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_common(name, &img);
            // Every R_BPF_64_64 of the object (one program each) was applied.
            let raw = nfbpf_loader::disasm_object(&bytes).unwrap();
            let in_object = raw.matches("R_BPF_64_64").count();
            let applied = img
                .relocations
                .iter()
                .filter(|r| !matches!(r.target, Target::Call { .. }))
                .count();
            assert_eq!(in_object, applied, "{name}:\n{raw}");
            let calls = raw.matches("R_BPF_64_32").count();
            assert!(
                img.relocations.len() - applied >= calls,
                "{name}: every R_BPF_64_32 call resolved"
            );
            let xdp = !name.ends_with("_sume");
            assert_eq!(img.abi, if xdp { Abi::Xdp } else { Abi::Sume }, "{name}");
            if xdp {
                assert_eq!(img.license.as_deref(), Some("Dual BSD/GPL"), "{name}");
            }
        }
    }
}

/// The device's default instruction budget (one full-size frame time)
/// holds every function of programs/ with its margin: the longest path of
/// each, prologue included, is at most 1/BUDGET_MARGIN of it. The lambda
/// programs (`lambda_*.c`) loop over their request's body: they are loaded
/// with their own budget, `contract::LAMBDA_INSN_BUDGET`, and
/// `tests/lambdas.rs` checks every request it sends, the largest of each
/// lambda included, against it (the load-time check's bound,
/// `verify::Report::explored`, sums every path and is far above a run).
#[test]
fn every_program_fits_the_device_budget_with_margin() {
    let mut names: Vec<String> = std::fs::read_dir(common::programs_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "c").then(|| p.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    names.sort();
    assert!(names.len() >= ALL_PROGRAMS.len(), "{names:?}");
    let mut longest = (0, String::new());
    for name in &names {
        for cpu in CPUS {
            let Some(img) = load_program(name, cpu) else {
                return;
            };
            if name.starts_with("lambda_") {
                // Loops: tests/lambdas.rs runs each lambda's largest
                // requests and checks them against LAMBDA_INSN_BUDGET.
                continue;
            }
            let n = img.program().unwrap().worst_path();
            let n = n.unwrap_or_else(|| panic!("{name} ({cpu:?}): a loop, no bound"));
            assert!(
                n * contract::BUDGET_MARGIN <= contract::DEVICE_INSN_BUDGET,
                "{name} ({cpu:?}): {n} instructions on its longest path, over 1/{} of the \
                 device's default budget of {}",
                contract::BUDGET_MARGIN,
                contract::DEVICE_INSN_BUDGET
            );
            if n > longest.0 {
                longest = (n, format!("{name} ({cpu:?})"));
            }
        }
    }
    eprintln!(
        "longest path: {} instructions, {}; default budget {}",
        longest.0,
        longest.1,
        contract::DEVICE_INSN_BUDGET
    );
}

fn map<'a>(img: &'a Image, name: &str) -> (usize, &'a nfbpf_loader::ImageMap) {
    img.map(name)
        .unwrap_or_else(|| panic!("no map {name}: {:?}", img.maps))
}

#[test]
fn l2_switch_hash_map_and_subprogram() {
    for cpu in CPUS {
        let Some(img) = load_program("l2_switch", cpu) else {
            return;
        };
        assert_eq!(img.maps.len(), 1);
        let (i, m) = map(&img, "mac_table");
        assert_eq!(i, 0);
        assert_eq!(
            (m.kind, m.key_size, m.value_size, m.max_entries, &m.origin),
            (MapType::Hash, 8, 4, 64, &MapOrigin::Btf)
        );
        // mac_key is laid out once, behind the entry, and called twice.
        assert_eq!(img.functions.len(), 2);
        assert_eq!(img.functions[0].name, "l2_switch");
        assert_eq!(img.functions[1].name, "mac_key");
        assert_eq!(img.functions[1].section, ".text");
        assert_eq!(
            img.functions[1].pc,
            img.functions[0].pc + img.functions[0].len
        );
        let calls = img
            .relocations
            .iter()
            .filter(|r| matches!(r.target, Target::Call { .. }))
            .count();
        assert_eq!(calls, 2);
        let maps = img
            .relocations
            .iter()
            .filter(|r| r.target == Target::MapHandle { map: 0 })
            .count();
        assert_eq!(maps, 2);
    }
}

#[test]
fn router_lpm_trie_and_devmap() {
    for cpu in CPUS {
        let Some(img) = load_program("router", cpu) else {
            return;
        };
        let (_, r) = map(&img, "routes");
        assert_eq!(
            (r.kind, r.key_size, r.value_size, r.max_entries, r.flags),
            (MapType::LpmTrie, 8, 16, 64, 1)
        );
        let (_, t) = map(&img, "tx_ports");
        assert_eq!(
            (t.kind, t.key_size, t.value_size, t.max_entries),
            (MapType::Devmap, 4, 4, 4)
        );
        assert!(img.listing().contains("; bpf_redirect_map"));
    }
}

#[test]
fn firewall_legacy_maps_section() {
    for cpu in CPUS {
        let Some(img) = load_program("firewall", cpu) else {
            return;
        };
        assert_eq!(img.section, "xdp/firewall");
        let names: Vec<&str> = img.maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["flows", "blocked_ports"]);
        assert!(img.maps.iter().all(|m| m.origin == MapOrigin::Legacy));
        let (_, f) = map(&img, "flows");
        assert_eq!(
            (f.kind, f.key_size, f.value_size, f.max_entries),
            (MapType::Hash, 16, 4, 64)
        );
        let (_, b) = map(&img, "blocked_ports");
        assert_eq!((b.key_size, b.value_size, b.max_entries), (2, 1, 16));
    }
}

#[test]
fn ddos_globals_become_array_maps() {
    for cpu in CPUS {
        let Some(img) = load_program("ddos", cpu) else {
            return;
        };
        let (_, c) = map(&img, "counters");
        assert_eq!((c.kind, c.key_size, c.value_size), (MapType::Hash, 4, 8));
        let (_, ro) = map(&img, ".rodata");
        assert_eq!(ro.initial.as_deref(), Some(&1000u64.to_le_bytes()[..]));
        assert!(ro.is_readonly());
        assert_eq!(
            (ro.kind, ro.key_size, ro.max_entries),
            (MapType::Array, 4, 1)
        );
        let (_, d) = map(&img, ".data");
        assert_eq!(d.initial.as_deref(), Some(&0x5eedu64.to_le_bytes()[..]));
        let (_, b) = map(&img, ".bss");
        assert_eq!(b.initial.as_deref(), Some(&[0u8; 8][..]));
        assert_eq!(img.global_data().len(), 3);
        let syms: Vec<&str> = img
            .relocations
            .iter()
            .filter(|r| matches!(r.target, Target::MapValue { .. }))
            .map(|r| r.symbol.as_str())
            .collect();
        for s in ["seen", "threshold", "dropped"] {
            assert!(syms.contains(&s), "{syms:?}");
        }
    }
}

/// Memory for a run: the stack, the packet window, every global-data map at
/// its handle, and (XDP) an `xdp_md` at CTX_BASE.
fn memory(img: &Image, packet: &[u8], ingress: u32) -> Memory {
    let mut m = Memory::new();
    add_stack(&mut m).unwrap();
    let mut pkt = vec![0u8; contract::PKT_WINDOW];
    pkt[..packet.len()].copy_from_slice(packet);
    m.add("packet", contract::PKT_BASE, pkt, true).unwrap();
    for (h, data) in img.global_data() {
        m.add(format!("global@{h:#x}"), h, data.to_vec(), true)
            .unwrap();
    }
    if img.abi == Abi::Xdp {
        let mut md = Vec::new();
        for w in [
            contract::PKT_BASE as u32,
            (contract::PKT_BASE as usize + packet.len()) as u32,
            contract::PKT_BASE as u32,
            ingress,
            0,
            0,
        ] {
            md.extend_from_slice(&w.to_le_bytes());
        }
        m.add("ctx", contract::CTX_BASE, md, false).unwrap();
    }
    m
}

#[test]
fn wire_runs_on_the_interpreter() {
    for cpu in CPUS {
        // SUME ABI: r0 = in_port ^ 1, metadata at r1 = PKT_BASE.
        let Some(img) = load_program("wire_sume", cpu) else {
            return;
        };
        let prog = img.program().unwrap();
        let mut md = [0u8; 32];
        md[0] = 2;
        let mut mem = memory(&img, &md, 0);
        let out = run_plain(&prog, &mut mem, &mut Helpers::new(), [0; 5]).unwrap();
        assert_eq!(out.r0, 3);

        // XDP ABI: bpf_redirect(ingress ^ 1).
        let img = load_program("wire", cpu).unwrap();
        let prog = img.program().unwrap();
        let mut h = Helpers::new();
        h.register(23, "redirect", |_, a| {
            Ok(HelperOutcome::Return(0x100 | a[0]))
        });
        let mut mem = memory(&img, &[0u8; 64], 4);
        let out = run_plain(&prog, &mut mem, &mut h, [0; 5]).unwrap();
        assert_eq!(out.r0, 0x105);

        let img = load_program("xdp_drop", cpu).unwrap();
        let mut mem = memory(&img, &[0u8; 64], 0);
        let out = run_plain(
            &img.program().unwrap(),
            &mut mem,
            &mut Helpers::new(),
            [0; 5],
        )
        .unwrap();
        assert_eq!(out.r0, 1);
    }
}

#[test]
fn ddos_globals_are_read_and_written_at_their_addresses() {
    let Some(img) = load_program("ddos", Cpu::V3) else {
        return;
    };
    let prog = img.program().unwrap();
    let (counters, _) = map(&img, "counters");
    let (data, _) = map(&img, ".data");
    let (bss, _) = map(&img, ".bss");
    // One IPv4 frame from 10.0.0.1.
    let mut pkt = vec![0u8; 64];
    pkt[12] = 0x08;
    pkt[26..30].copy_from_slice(&[10, 0, 0, 1]);
    // A map whose only entry (value at a fixed address) has count 5000.
    let value_addr = contract::map_handle(counters);
    let mut h = Helpers::new();
    h.register(1, "map_lookup_elem", move |_, a| {
        assert_eq!(a[0], contract::map_handle(counters));
        Ok(HelperOutcome::Return(value_addr))
    });
    let mut mem = memory(&img, &pkt, 0);
    mem.add("counters", value_addr, 5000u64.to_le_bytes().to_vec(), true)
        .unwrap();
    let out = run_plain(&prog, &mut mem, &mut h, [0; 5]).unwrap();
    assert_eq!(out.r0, 1, "above the threshold (1000 in .rodata): XDP_DROP");
    let rd = |m: &Memory, i: usize| {
        u64::from_le_bytes(
            m.read_bytes(contract::map_handle(i), 8)
                .unwrap()
                .try_into()
                .unwrap(),
        )
    };
    assert_eq!(rd(&mem, data), 0x5eed + 1, ".data `seen` incremented");
    assert_eq!(rd(&mem, bss), 1, ".bss `dropped` incremented");
    assert_eq!(rd(&mem, counters), 5001);
}

#[test]
fn c_files_load_through_load_file_and_compile_errors_carry_stderr() {
    if common::clang().is_none() {
        return;
    }
    let opts = Options {
        include_dirs: vec![common::programs_dir().join("include")],
        cpu: Cpu::V4,
        ..Options::default()
    };
    let img = load_file(&common::programs_dir().join("router.c"), &opts).unwrap();
    assert_eq!(img.function, "router");
    let listing = nfbpf_loader::disasm_file(&common::programs_dir().join("wire.c"), &opts).unwrap();
    assert!(listing.contains("<wire> section xdp:"), "{listing}");
    assert!(listing.contains("call 23  ; bpf_redirect"), "{listing}");

    let tmp = common::scratch();
    let dir = tmp.path();
    let bad = dir.join("bad.c");
    std::fs::write(&bad, "int f(void) { return undeclared_thing; }\n").unwrap();
    let e = load_file(&bad, &opts).unwrap_err().to_string();
    assert!(e.contains("clang failed to compile"), "{e}");
    assert!(e.contains("undeclared_thing"), "{e}");
}

#[test]
fn sume_variant_rejects_xdp_only_helpers_when_forced() {
    // The XDP wire calls helper 23; loaded as SUME it must name the helper.
    let Some(bytes) = build("wire", Cpu::V3) else {
        return;
    };
    let opts = Options {
        abi: Some(Abi::Sume),
        ..Options::default()
    };
    let e = load(&bytes, &opts).unwrap_err().to_string();
    assert!(
        e.contains("helper 23 (redirect) is not supported by the SUME ABI"),
        "{e}"
    );
    assert!(
        e.contains("section xdp, function wire, instruction 3"),
        "{e}"
    );
}

/// Compile a C snippet (XDP, with nf_common.h) and load it.
fn load_snippet(src: &str, cpu: Cpu) -> Option<Result<Image, nfbpf_loader::LoadError>> {
    common::clang()?;
    let tmp = common::scratch();
    let dir = tmp.path();
    let path = dir.join("snippet.c");
    std::fs::write(&path, src).unwrap();
    let opts = Options {
        include_dirs: vec![common::programs_dir().join("include")],
        cpu,
        ..Options::default()
    };
    let r = load_file(&path, &opts);
    Some(r)
}

#[test]
fn string_literals_and_trace_printk() {
    // String literals land in .rodata.str1.1 and are referenced through the
    // section symbol plus an offset in the lddw immediate.
    let src = r#"
#include "nf_common.h"
SEC("xdp")
int p(struct xdp_md *ctx)
{
	bpf_printk("in %d", ctx->ingress_ifindex);
	bpf_printk("second %d", ctx->rx_queue_index);
	return XDP_PASS;
}
"#;
    for cpu in CPUS {
        let Some(r) = load_snippet(src, cpu) else {
            return;
        };
        let img = r.unwrap();
        let (i, m) = img
            .maps
            .iter()
            .enumerate()
            .find(|(_, m)| m.name.starts_with(".rodata"))
            .expect("a .rodata map for the strings");
        let init = m.initial.clone().unwrap();
        let values: Vec<u64> = img
            .relocations
            .iter()
            .filter_map(|r| match r.target {
                Target::MapValue { map, offset } if map == i => Some(offset),
                _ => None,
            })
            .collect();
        assert_eq!(values.len(), 2, "{}", img.listing());
        let strings: Vec<String> = values
            .iter()
            .map(|&o| {
                let rest = &init[o as usize..];
                let end = rest.iter().position(|&b| b == 0).unwrap();
                String::from_utf8_lossy(&rest[..end]).into_owned()
            })
            .collect();
        assert!(strings.contains(&"in %d".to_string()), "{strings:?}");
        assert!(strings.contains(&"second %d".to_string()), "{strings:?}");
        check_common("printk", &img);
    }
}

#[test]
fn snippet_errors_name_section_and_function() {
    let tail_call = r#"
#include "nf_common.h"
struct { __uint(type, BPF_MAP_TYPE_SOCKMAP); __uint(key_size, 4); __uint(value_size, 4); __uint(max_entries, 4); } jt SEC(".maps");
SEC("xdp")
int p(struct xdp_md *ctx)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&jt, &k) ? XDP_PASS : XDP_DROP;
}
"#;
    let Some(r) = load_snippet(tail_call, Cpu::V3) else {
        return;
    };
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("map jt (section .maps): unsupported map type 15 (SOCKMAP)"),
        "{e}"
    );

    let big_key = r#"
#include "nf_common.h"
struct k { __u8 b[520]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct k); __type(value, __u32); __uint(max_entries, 4); } m SEC(".maps");
static struct k key;
SEC("xdp")
int p(struct xdp_md *ctx)
{
	return bpf_map_lookup_elem(&m, &key) ? XDP_DROP : XDP_PASS;
}
"#;
    let e = load_snippet(big_key, Cpu::V3)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(e.contains("map m (section .maps): key of 520 bytes"), "{e}");

    let helper = r#"
#include "nf_common.h"
SEC("xdp")
int p(struct xdp_md *ctx)
{
	return bpf_get_numa_node_id() ? XDP_DROP : XDP_PASS;
}
"#;
    let e = load_snippet(helper, Cpu::V3)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("section xdp, function p, instruction 0")
            && e.contains("helper 42 (get_numa_node_id) is not supported by the XDP ABI"),
        "{e}"
    );

    // v4 instructions load when the limit allows them, and are refused
    // with the section and instruction named when it does not.
    let sdiv = r#"
#include "nf_common.h"
SEC("xdp")
int p(struct xdp_md *ctx)
{
	int a = (int)ctx->ingress_ifindex - 100;
	int b = (int)ctx->rx_queue_index - 3;
	return (a / b) & 3;
}
"#;
    let img = load_snippet(sdiv, Cpu::V4).unwrap().unwrap();
    img.program().unwrap();
    let tmp = common::scratch();
    let dir = tmp.path();
    let path = dir.join("s.c");
    std::fs::write(&path, sdiv).unwrap();
    let opts = Options {
        include_dirs: vec![common::programs_dir().join("include")],
        cpu: Cpu::V4,
        max_version: 3,
        ..Options::default()
    };
    let e = load_file(&path, &opts).unwrap_err().to_string();
    assert!(e.contains("section xdp, function p, instruction"), "{e}");
    assert!(
        e.contains("needs ISA v4, the target accepts up to v3"),
        "{e}"
    );
}

#[test]
fn sume_l2_switch_passes_keys_by_value() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let Some(img) = load_program("l2_switch_sume", Cpu::V3) else {
        return;
    };
    assert_eq!(img.abi, Abi::Sume);
    assert_eq!(img.section, ".text");
    let (mi, m) = map(&img, "mac_table");
    assert_eq!(
        (m.kind, m.key_size, m.value_size, &m.origin),
        (MapType::Hash, 8, 8, &MapOrigin::Legacy)
    );
    let prog = img.program().unwrap();
    let table: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let mut h = Helpers::new();
    let handle = contract::map_handle(mi);
    let t = table.clone();
    h.register(1, "map_lookup_elem", move |_, a| {
        assert_eq!(a[0], handle);
        Ok(HelperOutcome::Return(
            t.lock().unwrap().get(&a[1]).copied().unwrap_or(0xffff_ffff),
        ))
    });
    let t = table.clone();
    h.register(2, "map_update_elem", move |_, a| {
        assert_eq!(a[0], handle);
        t.lock().unwrap().insert(a[1], a[2]);
        Ok(HelperOutcome::Return(0))
    });
    // Metadata (in_port) + frame: dst 02:..:02, src 02:..:01.
    let frame = |in_port: u8, dst: u8, src: u8| {
        let mut p = vec![0u8; 32 + 64];
        p[0] = in_port;
        p[32..38].copy_from_slice(&[2, 0, 0, 0, 0, dst]);
        p[38..44].copy_from_slice(&[2, 0, 0, 0, 0, src]);
        p
    };
    let mut run = |p: Vec<u8>| {
        let mut mem = memory(&img, &p, 0);
        run_plain(&prog, &mut mem, &mut h, [0; 5]).unwrap().r0
    };
    assert_eq!(run(frame(0, 2, 1)), 0xffff, "unknown destination floods");
    assert_eq!(table.lock().unwrap().get(&0x0200_0000_0001), Some(&0));
    assert_eq!(run(frame(3, 1, 2)), 0, "learned: host 1 is on port 0");
    assert_eq!(run(frame(0, 2, 1)), 3, "learned: host 2 is on port 3");
}
