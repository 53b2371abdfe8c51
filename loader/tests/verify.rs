//! The load-time check that programs can finish (`nfbpf_loader::verify`):
//! C programs compiled with clang (these fail, rather than skip, when
//! `NFBPF_REQUIRE_CLANG=1` and clang is missing) and assembled programs
//! wrapped in hand-made ELF objects.
//!
//! Refused: a loop without an exit, loops whose exit depends on packet data
//! the interval domain cannot bound, recursion, 9 frames of calls, frames
//! outside the device's stack, jumps out of a function or into an `lddw`.
//! Accepted: loops with a constant trip count (unrolling disabled), a loop
//! bounded by one packet byte (at most 255 trips), every `programs/*.c`, and
//! a large generated program. `verify: false` loads everything refused for
//! not finishing. The kernel's own verifier is asked about an XDP `for(;;)`
//! when this runs as root with BPF (`NFBPF_REQUIRE_KERNEL` makes that
//! mandatory).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{ElfBuilder, clang, programs_dir, scratch};
use nfbpf_loader::verify::{Problem, StackRule, VerifyError, verify};
use nfbpf_loader::{Cpu, Image, LoadError, Options, compile, load};
use nfbpf_vm::asm::assemble;
use nfbpf_vm::isa::{Kind, isa};
use nfbpf_vm::validate::branch_offset;

const CPUS: [Cpu; 2] = [Cpu::V3, Cpu::V4];

/// Compile C source (with `programs/include`); `None` when clang is absent.
fn compile_c(src: &str, cpu: Cpu) -> Option<Vec<u8>> {
    let clang = clang()?;
    let tmp = scratch();
    let dir = tmp.path();
    let c = dir.join("prog.c");
    let o = dir.join("prog.o");
    std::fs::write(&c, src).unwrap();
    let inc = vec![programs_dir().join("include")];
    if let Err(e) = compile::compile(&clang, &c, &o, cpu, &inc) {
        panic!("{e}");
    }
    let bytes = std::fs::read(&o).unwrap();
    Some(bytes)
}

fn no_verify() -> Options {
    Options {
        verify: false,
        ..Options::default()
    }
}

/// The verifier's error from loading `bytes`, after checking that the same
/// object loads with `verify: false`.
fn refused(bytes: &[u8]) -> VerifyError {
    let image = load(bytes, &no_verify()).unwrap_or_else(|e| panic!("verify off: {e}"));
    match load(bytes, &Options::default()) {
        Err(LoadError::Verify(e)) => {
            // `verify` on the image gives the same answer as `load`.
            assert_eq!(verify(&image).unwrap_err(), e);
            *e
        }
        Err(e) => panic!("expected a verify error, got: {e}"),
        Ok(_) => panic!("loaded:\n{}", image.listing()),
    }
}

fn accepted(bytes: &[u8]) -> Image {
    load(bytes, &Options::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Does the image have a backward jump (a loop clang did not unroll)?
fn has_back_edge(image: &Image) -> bool {
    image.insns.iter().any(|i| {
        isa().decode(i).is_ok_and(|d| {
            matches!(d.kind, Kind::Jmp { .. } | Kind::Ja | Kind::Ja32)
                && branch_offset(d.kind, i).is_some_and(|o| o < 0)
        })
    })
}

/// An XDP object from assembly: `funcs` are (name, lines), one instruction
/// or label per line (`lddw` takes two slots), the first global, the others static
/// subprograms of the same section (local calls without relocations).
fn asm_object(funcs: &[(&str, &[&str])]) -> Vec<u8> {
    let mut text = String::new();
    let mut starts = Vec::new();
    let mut slot = 0u64;
    for (name, lines) in funcs {
        starts.push(slot);
        text.push_str(&format!("{name}:\n"));
        for l in *lines {
            text.push_str(l);
            text.push('\n');
            let l = l.trim();
            slot += if l.ends_with(':') {
                0
            } else if l.starts_with("lddw") {
                2
            } else {
                1
            };
        }
    }
    let insns = assemble(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(insns.len() as u64, slot, "slot count of\n{text}");
    let mut b = ElfBuilder::new();
    b.code("xdp", &insns);
    for (k, (name, _)) in funcs.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(slot);
        if k == 0 {
            b.func(name, "xdp", starts[k], end - starts[k]);
        } else {
            b.static_func(name, "xdp", starts[k], end - starts[k]);
        }
    }
    b.license("GPL");
    b.build()
}

const XDP_HEAD: &str =
    "#include \"nf_common.h\"\n__u64 hits;\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n";

/// Compile an XDP snippet (with `hits`, a `.bss` counter, and a license).
fn xdp(body: &str, cpu: Cpu) -> Option<Vec<u8>> {
    compile_c(&format!("{XDP_HEAD}{body}"), cpu)
}

fn loop_problem(e: &VerifyError) -> (&str, usize) {
    match &e.problem {
        Problem::Loop {
            function, exits, ..
        } => (function.as_str(), exits.len()),
        p => panic!("expected a loop problem, got: {p}"),
    }
}

#[test]
fn for_ever_is_refused_naming_the_loop() {
    for cpu in CPUS {
        // A loop whose state never changes: found when it comes back.
        let src = "SEC(\"xdp\") int spin(struct xdp_md *ctx)\n\
                   { for (;;) __sync_fetch_and_add(&hits, 1); return XDP_PASS; }";
        let Some(bytes) = xdp(src, cpu) else { return };
        let e = refused(&bytes);
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(loop_problem(&e), ("spin", 0), "{msg}");
        assert!(
            msg.starts_with("program `spin` (section xdp): loop at pc ")
                && msg.contains("never exits: no branch leaves it")
                && msg.contains("came back to pc"),
            "{msg}"
        );
        // A counter on the stack: every trip is a new state, so the
        // exploration runs into its limit and blames the loop.
        let src = "SEC(\"xdp\") int count(struct xdp_md *ctx)\n\
                   { volatile __u32 n = 0; for (;;) n++; return XDP_PASS; }";
        let e = refused(&xdp(src, cpu).unwrap());
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(loop_problem(&e), ("count", 0), "{msg}");
        assert!(
            msg.contains("never exits") && msg.contains("instructions, its limit"),
            "{msg}"
        );
    }
}

const PACKET_WORD_BOUND: &str = r#"SEC("xdp") int sum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 4 > end)
        return XDP_PASS;
    __u32 n = *(__u32 *)data;
    #pragma clang loop unroll(disable)
    for (__u32 i = 0; i < n; i++)
        __sync_fetch_and_add(&hits, i);
    return XDP_DROP;
}"#;

#[test]
fn a_loop_bounded_by_packet_data_is_refused() {
    for cpu in CPUS {
        // Up to 2^32 trips: the exit depends on a packet word.
        let Some(bytes) = xdp(PACKET_WORD_BOUND, cpu) else {
            return;
        };
        let e = refused(&bytes);
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(loop_problem(&e), ("sum", 1), "{msg}");
        assert!(
            msg.contains("cannot be bounded: its exit at pc ")
                && msg.contains("which comes from packet data, loaded at pc ")
                && msg.contains("bound it with a constant"),
            "{msg}"
        );
        let Problem::Loop {
            head, tail, exits, ..
        } = &e.problem
        else {
            unreachable!()
        };
        let exit = &exits[0];
        // The exit names a register and the instruction, disassembled.
        assert!(head < tail && exit.pc >= *head && exit.pc <= *tail);
        assert!(exit.insn.starts_with('j'), "{}", exit.insn);
        assert_eq!(exit.depends_on.len(), 1, "{msg}");

        // A packet byte as the step: 0 never finishes.
        let src = r#"SEC("xdp") int step(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 1 > end)
        return XDP_PASS;
    __u8 s = *(__u8 *)data;
    #pragma clang loop unroll(disable)
    for (__u32 i = 0; i < 64; i += s)
        __sync_fetch_and_add(&hits, i);
    return XDP_DROP;
}"#;
        let e = refused(&xdp(src, cpu).unwrap());
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(loop_problem(&e), ("step", 1), "{msg}");
        assert!(msg.contains("packet data"), "{msg}");

        // Walking a pointer to the end of the packet: the domain does not
        // know the packet's length.
        let src = r#"SEC("xdp") int walk(struct xdp_md *ctx)
{
    __u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    #pragma clang loop unroll(disable)
    while (p + 1 <= end && *p != 0)
        p++;
    return p == end ? XDP_PASS : XDP_DROP;
}"#;
        let e = refused(&xdp(src, cpu).unwrap());
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(loop_problem(&e).0, "walk", "{msg}");
        assert!(msg.contains("cannot be bounded"), "{msg}");
    }
}

#[test]
fn a_loop_bounded_by_one_packet_byte_finishes_and_is_accepted() {
    // At most 255 trips: the interval of a byte load bounds it, as the
    // kernel's verifier does.
    let src = r#"SEC("xdp") int byte(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 1 > end)
        return XDP_PASS;
    __u8 n = *(__u8 *)data;
    #pragma clang loop unroll(disable)
    for (__u32 i = 0; i < n; i++)
        __sync_fetch_and_add(&hits, i);
    return XDP_DROP;
}"#;
    for cpu in CPUS {
        let Some(bytes) = xdp(src, cpu) else { return };
        let image = accepted(&bytes);
        assert!(has_back_edge(&image), "{}", image.listing());
        let r = verify(&image).unwrap();
        assert!(r.explored > 255 * 3, "{r:?}");
    }
}

#[test]
fn constant_trip_counts_are_accepted() {
    let srcs = [
        // Bounded by 16 and by the packet's end.
        r#"SEC("xdp") int sum16(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u32 sum = 0;
    #pragma clang loop unroll(disable)
    for (int i = 0; i < 16; i++) {
        if (data + i + 1 > end)
            break;
        sum += ((__u8 *)data)[i];
    }
    return sum & 1 ? XDP_DROP : XDP_PASS;
}"#,
        // Nested, with a helper call and a byte-sized bound inside.
        r#"struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} counters SEC(".maps");

SEC("xdp") int nested(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u32 found = 0;
    #pragma clang loop unroll(disable)
    for (__u32 i = 0; i < 8; i++) {
        #pragma clang loop unroll(disable)
        for (__u32 j = 0; j < 4; j++) {
            __u32 key = i * 4 + j;
            __u64 *v = bpf_map_lookup_elem(&counters, &key);
            if (v && *v > 10)
                found++;
        }
    }
    return found ? XDP_DROP : XDP_PASS;
}"#,
        // The `i < N && i < len` pattern the messages suggest.
        r#"SEC("xdp") int capped(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 4 > end)
        return XDP_PASS;
    __u32 len = *(__u32 *)data;
    #pragma clang loop unroll(disable)
    for (__u32 i = 0; i < 100 && i < len; i++)
        __sync_fetch_and_add(&hits, i);
    return XDP_DROP;
}"#,
    ];
    for cpu in CPUS {
        for src in srcs {
            let Some(bytes) = xdp(src, cpu) else { return };
            let image = accepted(&bytes);
            assert!(has_back_edge(&image), "unrolled:\n{}", image.listing());
        }
    }
}

#[test]
fn recursion_is_refused_naming_the_cycle() {
    let prog = asm_object(&[
        ("prog", &["mov %r1, 3", "call local f", "exit"]),
        (
            "f",
            &[
                "jeq %r1, 0, +2",
                "sub %r1, 1",
                "call local g",
                "mov %r0, 2",
                "exit",
            ],
        ),
        ("g", &["call local f", "exit"]),
    ]);
    let e = refused(&prog);
    let msg = e.to_string();
    eprintln!("{msg}");
    let Problem::Recursion { cycle } = &e.problem else {
        panic!("{msg}")
    };
    let names: Vec<&str> = cycle.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["f", "g"]);
    // Prologue 2 slots; prog at 2..5, f at 5..10, g at 10..12.
    assert_eq!(cycle[1].call_pc, Some(7));
    assert_eq!(cycle[0].call_pc, Some(10));
    assert_eq!(
        msg,
        "program `prog` (section xdp): recursion: `f` calls `g` at pc 7, `g` calls `f` at pc 10; \
         the device has no recursion (bpf-to-bpf calls must not form a cycle): \
         rewrite it as a loop bounded by a constant"
    );
    // A function calling itself.
    let prog = asm_object(&[
        ("prog", &["call local f", "exit"]),
        ("f", &["call local f", "exit"]),
    ]);
    let e = refused(&prog);
    assert!(
        e.to_string().contains("recursion: `f` calls `f` at pc 4"),
        "{e}"
    );
}

/// `prog` calling `f1`, ..., `f{n-1}` in a chain (`n` frames); `last` is the
/// body of the deepest function.
fn call_chain(n: usize, last: &[&str]) -> Vec<u8> {
    let names: Vec<String> = (0..n)
        .map(|k| {
            if k == 0 {
                "prog".into()
            } else {
                format!("f{k}")
            }
        })
        .collect();
    let calls: Vec<[String; 2]> = (1..n)
        .map(|k| [format!("call local {}", names[k]), "exit".into()])
        .collect();
    let lines: Vec<Vec<&str>> = (0..n)
        .map(|k| {
            if k + 1 < n {
                calls[k].iter().map(String::as_str).collect()
            } else {
                last.to_vec()
            }
        })
        .collect();
    let funcs: Vec<(&str, &[&str])> = names
        .iter()
        .zip(&lines)
        .map(|(n, l)| (n.as_str(), l.as_slice()))
        .collect();
    asm_object(&funcs)
}

#[test]
fn call_depth_is_limited_to_the_devices_frames() {
    let frames = nfbpf_vm::contract::MAX_FRAMES;
    let ok = call_chain(frames, &["mov %r0, 2", "exit"]);
    let r = verify(&accepted(&ok)).unwrap();
    assert_eq!(r.frames, frames);
    let deep = call_chain(frames + 1, &["mov %r0, 2", "exit"]);
    let e = refused(&deep);
    let msg = e.to_string();
    eprintln!("{msg}");
    let Problem::CallDepth { chain, max } = &e.problem else {
        panic!("{msg}")
    };
    assert_eq!((chain.len(), *max), (frames + 1, frames));
    assert_eq!(chain[0].function, "prog");
    assert_eq!(chain[frames].function, format!("f{frames}"));
    assert!(
        msg.contains(&format!(
            "needs {} frames, the device has {frames}",
            frames + 1
        )),
        "{msg}"
    );
}

#[test]
fn stack_beyond_the_device_is_refused() {
    use nfbpf_vm::contract::{MAX_FRAMES, STACK_FRAME, STACK_SIZE};
    let over = format!("stxdw [%r10-{}], %r1", STACK_FRAME + 8);
    let full = format!("stxdw [%r10-{}], %r1", STACK_FRAME);
    // A caller beyond its frame overlaps its callee's frame.
    let prog = asm_object(&[
        ("prog", &[over.as_str(), "call local f", "exit"]),
        ("f", &["stxdw [%r10-8], %r1", "mov %r0, 2", "exit"]),
    ]);
    let e = refused(&prog);
    let msg = e.to_string();
    eprintln!("{msg}");
    let Problem::Stack {
        chain,
        bytes,
        deepest,
        rule,
    } = &e.problem
    else {
        panic!("{msg}")
    };
    assert_eq!(
        (chain.len(), *bytes, deepest.pc, *rule),
        (1, STACK_FRAME + 8, 2, StackRule::OverlapsCallee)
    );
    assert!(msg.contains(&over[..5]) && msg.contains("overlap"), "{msg}");

    // The same through a stack pointer the caller hands down: the callee's
    // store is in the caller's frame.
    let ptr = format!("add %r1, -{}", STACK_FRAME + 8);
    let prog = asm_object(&[
        (
            "prog",
            &["mov %r1, %r10", ptr.as_str(), "call local f", "exit"],
        ),
        ("f", &["stxdw [%r1+0], %r1", "mov %r0, 2", "exit"]),
    ]);
    let e = refused(&prog);
    let msg = e.to_string();
    eprintln!("{msg}");
    let Problem::Stack {
        chain,
        deepest,
        rule,
        ..
    } = &e.problem
    else {
        panic!("{msg}")
    };
    // Found at the call that hands the pointer down.
    assert_eq!(
        (chain.len(), deepest.pc, *rule),
        (1, 4, StackRule::OverlapsCallee)
    );

    // The deepest frame of a full chain reaching below the stack region.
    let last = [over.as_str(), "mov %r0, 2", "exit"];
    let e = refused(&call_chain(MAX_FRAMES, &last));
    let msg = e.to_string();
    eprintln!("{msg}");
    let Problem::Stack {
        chain: c,
        rule,
        bytes,
        ..
    } = &e.problem
    else {
        panic!("{msg}")
    };
    assert_eq!(
        (c.len(), *rule, *bytes),
        (MAX_FRAMES, StackRule::OutsideStack, STACK_FRAME + 8)
    );
    assert!(msg.contains(&format!("{STACK_SIZE}-byte stack")), "{msg}");

    // Every frame of a full chain using its whole frame fits.
    let last = [full.as_str(), "mov %r0, 2", "exit"];
    let r = verify(&accepted(&call_chain(MAX_FRAMES, &last))).unwrap();
    assert_eq!(r.stack.last().map(|s| s.1), Some(STACK_FRAME));
    // A leaf entry may use the stack below its frame: the region is one
    // block of MAX_FRAMES frames and nothing else runs below it.
    let leaf = asm_object(&[("prog", &[over.as_str(), "mov %r0, 2", "exit"])]);
    let r = verify(&accepted(&leaf)).unwrap();
    assert_eq!(r.stack, [("prog".to_string(), STACK_FRAME + 8)]);
}

/// The first instruction of `text`, assembled.
fn insn(text: &str) -> nfbpf_vm::Insn {
    assemble(text).unwrap()[0]
}

fn control_flow(image: &Image) -> String {
    let e = verify(image).unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(matches!(e.problem, Problem::ControlFlow { .. }), "{msg}");
    msg
}

#[test]
fn jumps_out_of_a_function_or_into_an_lddw_are_refused() {
    // The loader's linker already refuses these in objects; the check
    // refuses them in any image.
    let bad = asm_object(&[("prog", &["mov %r0, 1", "ja +5", "exit"])]);
    let e = load(&bad, &no_verify()).unwrap_err().to_string();
    assert!(e.contains("leaves function prog"), "{e}");

    // Prologue 2 slots: prog at 2..5, f at 5..7.
    let good = asm_object(&[
        ("prog", &["mov %r0, 1", "ja +0", "call local f", "exit"]),
        ("f", &["lddw %r0, 5", "exit"]),
    ]);
    let image = accepted(&good);
    let mut out = image.clone();
    out.insns[3] = insn("ja +3");
    let msg = control_flow(&out);
    assert!(
        msg.contains("pc 3 (`ja +3`) in function `prog` (section xdp): jump to pc 7 leaves function `prog` (pcs 0..6)"),
        "{msg}"
    );
    let mut out = image.clone();
    out.insns[3] = insn("ja -9");
    assert!(control_flow(&out).contains("jump to pc -5 leaves"));
    // f's `exit` (pc 8) becomes a jump back onto its lddw's second slot.
    let mut into = image.clone();
    into.insns[8] = insn("jeq %r0, 5, -2");
    let msg = control_flow(&into);
    assert!(
        msg.contains("jump to pc 7 lands in the second slot of the lddw at pc 6"),
        "{msg}"
    );
    let mut call = image.clone();
    call.insns[4] = insn("call local +2");
    let msg = control_flow(&call);
    assert!(
        msg.contains("call to pc 7, which is not the first instruction of a function"),
        "{msg}"
    );
    let mut off_end = image.clone();
    off_end.insns[8] = insn("mov %r0, 2");
    let msg = control_flow(&off_end);
    assert!(
        msg.contains("can run past the end of function `f`"),
        "{msg}"
    );
}

/// Every program `objects` of the refusal tests above loads when the check
/// is off (the device's instruction budget is then what stops them).
#[test]
fn verify_off_loads_what_the_check_refuses() {
    let mut objects = vec![
        asm_object(&[
            ("prog", &["call local f", "exit"]),
            ("f", &["call local f", "exit"]),
        ]),
        call_chain(nfbpf_vm::contract::MAX_FRAMES + 1, &["mov %r0, 2", "exit"]),
        asm_object(&[("prog", &["L:", "ja L", "exit"])]),
    ];
    if let Some(b) = xdp(PACKET_WORD_BOUND, Cpu::V3) {
        objects.push(b);
    }
    for o in &objects {
        assert!(matches!(
            load(o, &Options::default()),
            Err(LoadError::Verify(_))
        ));
        load(o, &no_verify()).unwrap();
    }
}

#[test]
fn every_program_of_programs_dir_is_accepted() {
    let mut names: Vec<String> = std::fs::read_dir(programs_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "c").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let Some(_) = clang() else { return };
    let mut xdp = 0;
    for cpu in CPUS {
        for name in &names {
            let path = programs_dir().join(format!("{name}.c"));
            let image = nfbpf_loader::load_file(&path, &Options::default())
                .unwrap_or_else(|e| panic!("{name} ({cpu:?}): {e}"));
            xdp += usize::from(image.abi == nfbpf_loader::Abi::Xdp);
            // Time the check alone (best of 5).
            let mut best = std::time::Duration::MAX;
            let mut report = None;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                report = Some(verify(&image).unwrap());
                best = best.min(t.elapsed());
            }
            let r = report.unwrap();
            eprintln!(
                "{name:>20} {cpu:?}: {:4} slots, explored {:5} instructions, {:3} states, {} frames, stack {:?}, {best:?}",
                image.insns.len(),
                r.explored,
                r.states,
                r.frames,
                r.stack
            );
        }
    }
    assert!(xdp >= 2 * 7, "{xdp} XDP images");
}

/// A deterministic pseudo-random program of `blocks` blocks: branches on
/// packet bytes over accumulators, loops with constant trip counts (some
/// nested), switches. It always finishes.
fn generated(seed: u64, blocks: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut l: Vec<String> = vec![
        "ldxw %r6, [%r1+0]".into(),
        "mov %r3, 0".into(),
        "mov %r4, 1".into(),
        "mov %r5, 2".into(),
    ];
    let alu = |r: &mut dyn FnMut(u64) -> u64| {
        let op = ["add", "xor", "mul", "lsh", "or", "sub"][r(6) as usize];
        format!("{op} %r{}, {}", 3 + r(3), r(7) + 1)
    };
    for b in 0..blocks {
        match rnd(4) {
            0 => {
                let n = rnd(4) + 1;
                l.push(format!("ldxb %r2, [%r6+{}]", rnd(64)));
                l.push(format!("jgt %r2, {}, +{n}", rnd(256)));
                for _ in 0..n {
                    l.push(alu(&mut rnd));
                }
            }
            1 => {
                l.push("mov %r7, 0".into());
                l.push(format!("L{b}:"));
                for _ in 0..rnd(3) + 1 {
                    l.push(alu(&mut rnd));
                }
                l.push("add %r7, 1".into());
                l.push(format!("jlt %r7, {}, L{b}", rnd(9) + 2));
            }
            2 => {
                l.push(format!("ldxh %r2, [%r6+{}]", 2 * rnd(32)));
                l.push(format!("jeq %r2, {}, +2", rnd(1 << 16)));
                l.push(alu(&mut rnd));
                l.push("ja +1".into());
                l.push(alu(&mut rnd));
            }
            _ => {
                l.push("mov %r8, 0".into());
                l.push(format!("O{b}:"));
                l.push("mov %r7, 0".into());
                l.push(format!("I{b}:"));
                l.push(alu(&mut rnd));
                l.push("add %r7, 1".into());
                l.push(format!("jlt %r7, {}, I{b}", rnd(4) + 1));
                l.push("add %r8, 1".into());
                l.push(format!("jlt %r8, {}, O{b}", rnd(4) + 1));
            }
        }
    }
    l.push("mov %r0, %r3".into());
    l.push("and %r0, 3".into());
    l.push("exit".into());
    let lines: Vec<&str> = l.iter().map(String::as_str).collect();
    asm_object(&[("big", &lines)])
}

#[test]
fn large_generated_programs_verify() {
    for seed in 1..=6 {
        let bytes = generated(seed, 400);
        let image = load(&bytes, &no_verify()).unwrap();
        let t = std::time::Instant::now();
        let r = verify(&image).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        eprintln!(
            "seed {seed}: {} slots, explored {} instructions, {} states, {:?}",
            image.insns.len(),
            r.explored,
            r.states,
            t.elapsed()
        );
        assert!(r.explored >= image.insns.len() as u64 / 2, "{r:?}");
    }
}

#[test]
fn the_kernel_verifier_reports_its_verdict_and_log() {
    use nfbpf_loader::kernel::kernel_verify;
    let src = "SEC(\"xdp\") int spin(struct xdp_md *ctx)\n\
               { for (;;) __sync_fetch_and_add(&hits, 1); return XDP_PASS; }";
    let Some(bytes) = xdp(src, Cpu::V3) else {
        return;
    };
    let spin = load(&bytes, &no_verify()).unwrap();
    let v = match kernel_verify(&spin, 1) {
        Ok(v) => v,
        Err(e) if e.is_unavailable() => {
            assert!(
                std::env::var_os("NFBPF_REQUIRE_KERNEL").is_none(),
                "the kernel verifier is required (NFBPF_REQUIRE_KERNEL is set): {e}"
            );
            eprintln!("SKIPPED: kernel verifier unavailable: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    eprintln!("{v:?}");
    assert!(!v.accepted && v.error.is_some(), "{v:?}");
    assert!(!v.log.is_empty());
    assert!(v.log.len() <= nfbpf_loader::kernel::VERDICT_LOG_MAX + 100);

    // An accepted program, with every instruction logged.
    let path = programs_dir().join("xdp_drop.c");
    let drop = nfbpf_loader::load_file(&path, &Options::default()).unwrap();
    let v = kernel_verify(&drop, 2).unwrap();
    eprintln!("{v:?}");
    assert!(v.accepted && v.error.is_none(), "{v:?}");
    assert!(!v.log.is_empty());
}

/// A random program mixing loops the check must accept (constant trip
/// counts, counting down, a bound of one packet byte, a counter spilled to
/// the stack) with loops that may never finish (`!=` exits a step can jump
/// over, a packet byte as the step, which may be 0).
fn risky(seed: u64, blocks: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut l: Vec<String> = vec![
        "ldxw %r6, [%r1+0]".into(),
        "mov %r3, 0".into(),
        "mov %r4, 0".into(),
    ];
    for b in 0..blocks {
        let k = rnd(32);
        match rnd(7) {
            0 => {
                // Up or down by a constant step, exit on <, <=, != or signed <.
                let (step, bound) = (rnd(3) + 1, rnd(20) + 1);
                let exit = ["jlt", "jle", "jne", "jslt", "jlt32"][rnd(5) as usize];
                l.push("mov %r7, 0".into());
                l.push(format!("L{b}:"));
                l.push("add %r3, %r7".into());
                l.push(format!("add %r7, {step}"));
                l.push(format!("{exit} %r7, {bound}, L{b}"));
            }
            1 => {
                l.push(format!("mov %r7, {}", rnd(12) + 1));
                l.push(format!("L{b}:"));
                l.push("xor %r3, %r7".into());
                l.push("sub %r7, 1".into());
                l.push(format!("jne %r7, 0, L{b}"));
            }
            2 => {
                // Bound: one packet byte.
                l.push(format!("ldxb %r8, [%r6+{k}]"));
                l.push("mov %r7, 0".into());
                l.push(format!("L{b}:"));
                l.push("add %r4, 1".into());
                l.push("add %r7, 1".into());
                l.push(format!("jlt %r7, %r8, L{b}"));
            }
            3 => {
                // Step: one packet byte (0 never finishes).
                l.push(format!("ldxb %r8, [%r6+{k}]"));
                l.push("mov %r7, 0".into());
                l.push(format!("L{b}:"));
                l.push("add %r7, %r8".into());
                l.push(format!("jlt %r7, {}, L{b}", rnd(100) + 1));
            }
            4 => {
                // The counter lives on the stack.
                l.push("stdw [%r10-8], 0".into());
                l.push(format!("L{b}:"));
                l.push("ldxdw %r7, [%r10-8]".into());
                l.push("add %r7, 1".into());
                l.push("stxdw [%r10-8], %r7".into());
                l.push(format!("jlt %r7, {}, L{b}", rnd(10) + 1));
            }
            _ => {
                l.push(format!("ldxb %r2, [%r6+{k}]"));
                l.push(format!("jgt %r2, {}, +1", rnd(256)));
                l.push("add %r3, 7".into());
            }
        }
    }
    l.push("mov %r0, %r3".into());
    l.push("and %r0, 3".into());
    l.push("exit".into());
    let lines: Vec<&str> = l.iter().map(String::as_str).collect();
    asm_object(&[("risky", &lines)])
}

#[test]
fn accepted_programs_finish_within_the_instructions_explored() {
    use nfbpf_vm::contract;
    use nfbpf_vm::helpers::Helpers;
    use nfbpf_vm::interp::{Config, add_stack, run};
    use nfbpf_vm::mem::Memory;
    use nfbpf_vm::trace::NoTrace;
    let (mut ok, mut no) = (0, 0);
    for seed in 0..300u64 {
        let image = load(&risky(seed, 1 + seed as usize % 6), &no_verify()).unwrap();
        let prog = image.program().unwrap();
        let Ok(r) = nfbpf_loader::verify::verify_with_limit(&image, 200_000) else {
            no += 1;
            continue;
        };
        ok += 1;
        for p in 0..16u64 {
            // Packets of random bytes, some with zeros (steps of 0).
            let packet: Vec<u8> = (0..64u64)
                .map(|i| {
                    let h = (seed * 31 + p * 7919 + i * 104_729).wrapping_mul(0x9e37_79b9);
                    if p % 4 == 0 { 0 } else { (h >> 24) as u8 }
                })
                .collect();
            let mut mem = Memory::new();
            add_stack(&mut mem).unwrap();
            let mut window = vec![0u8; contract::PKT_WINDOW];
            window[..64].copy_from_slice(&packet);
            mem.add("packet", contract::PKT_BASE, window, true).unwrap();
            let mut md = Vec::new();
            for w in [
                contract::PKT_BASE,
                contract::PKT_BASE + 64,
                contract::PKT_BASE,
                0,
                0,
                0,
            ] {
                md.extend_from_slice(&(w as u32).to_le_bytes());
            }
            mem.add("ctx", contract::CTX_BASE, md, false).unwrap();
            let cfg = Config {
                budget: r.explored,
                ..Config::default()
            };
            let out = run(
                &prog,
                &mut mem,
                &mut Helpers::new(),
                [0; 5],
                &cfg,
                &mut NoTrace,
            )
            .unwrap_or_else(|f| {
                panic!(
                    "seed {seed}, packet {p}: {f:?} within {} explored:\n{}",
                    r.explored,
                    image.listing()
                )
            });
            assert!(out.insns <= r.explored);
        }
    }
    eprintln!("{ok} accepted, {no} refused");
    assert!(ok >= 50 && no >= 50, "{ok} accepted, {no} refused");
}

#[test]
fn too_many_paths_are_reported_as_such() {
    // 24 branches on packet bytes, each storing one of two constants in its
    // own stack slot: 2^24 distinct states, and no loop to blame (a small
    // constant loop in front is not).
    let mut l: Vec<String> = vec![
        "ldxw %r6, [%r1+0]".into(),
        "mov %r7, 0".into(),
        "L:".into(),
        "add %r7, 1".into(),
        "jlt %r7, 4, L".into(),
    ];
    for k in 0..24 {
        l.push(format!("ldxb %r2, [%r6+{k}]"));
        l.push("jgt %r2, 100, +2".into());
        l.push(format!("stdw [%r10-{}], 1", 8 * (k + 1)));
        l.push("ja +1".into());
        l.push(format!("stdw [%r10-{}], 2", 8 * (k + 1)));
    }
    for k in 0..24 {
        l.push(format!("ldxdw %r2, [%r10-{}]", 8 * (k + 1)));
        l.push("jeq %r2, 3, +0".into());
    }
    l.push("mov %r0, 2".into());
    l.push("exit".into());
    let lines: Vec<&str> = l.iter().map(String::as_str).collect();
    let e = refused(&asm_object(&[("paths", &lines)]));
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(matches!(e.problem, Problem::Paths { .. }), "{msg}");
    assert!(msg.contains("too many paths"), "{msg}");
}
