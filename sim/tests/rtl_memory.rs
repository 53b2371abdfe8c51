//! T3: the engine RTL's external memory port (context, map values, and
//! accesses the packet window and the stack do not hold) and its faults, in
//! co-simulation with the model: loads, stores and atomics on regions the
//! harness serves, read-only regions, an access straddling the stack's end,
//! a read-only packet, and accesses spanning two FIFO_MD words while the
//! packet is still arriving.

use nfbpf_sim::cosim;
use nfbpf_vm::asm::assemble;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp;
use nfbpf_vm::mem::Memory;
use nfbpf_vm::pipeline::{self, Pacing};
use nfbpf_vm::program::Program;

fn memory(packet: &[u8], packet_writable: bool) -> Memory {
    let mut m = Memory::new();
    interp::add_stack(&mut m).expect("stack");
    m.add("ctx", contract::CTX_BASE, (0..24u8).collect(), false)
        .expect("ctx");
    m.add("map0", contract::MAP_BASE, vec![0x11; 64], true)
        .expect("map");
    if !packet.is_empty() {
        m.add(
            "packet",
            contract::PKT_BASE,
            packet.to_vec(),
            packet_writable,
        )
        .expect("packet");
    }
    m
}

fn check(src: &str, mem: &Memory, pacing: Pacing) -> cosim::Report {
    let prog = Program::new(assemble(src).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = pipeline::Config {
        pacing,
        ..pipeline::Config::default()
    };
    let args = [contract::PKT_BASE, 0, 0, 0, 0];
    cosim::cosim(&prog, mem, Helpers::conformance, args, &cfg).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn context_and_map_values_through_the_external_port() {
    let src = "
        lddw %r2, 0x10000000
        ldxw %r0, [%r2+4]
        ldxb %r4, [%r2+23]
        lddw %r3, 0x40000000
        stxdw [%r3+8], %r0
        lock add [%r3+8], %r0
        lock fetch add [%r3+8], %r4
        mov %r0, 7
        lock cmpxchg [%r3+8], %r4
        lock xchg [%r3+16], %r0
        ldxdw %r0, [%r3+8]
        add %r0, %r4
        exit";
    let rep = check(src, &memory(&[], true), Pacing::Instant);
    assert!(rep.result.is_ok(), "{:?}", rep.result);
}

#[test]
fn faults_on_the_external_port_match() {
    let cases = [
        // store to the read-only context
        "lddw %r2, 0x10000000\nstw [%r2+0], 1\nexit",
        // 8 bytes from 4 below the stack's top
        "ldxdw %r0, [%r10-4]\nexit",
        // unmapped
        "lddw %r2, 0x50000000\nldxw %r0, [%r2+0]\nexit",
        // atomic on the read-only context
        "lddw %r2, 0x10000000\nlock add [%r2+0], %r1\nexit",
        // atomic past the end of a map value area
        "lddw %r2, 0x40000000\nlock add [%r2+60], %r1\nexit",
    ];
    for src in cases {
        let rep = check(src, &memory(&[0; 64], true), Pacing::Instant);
        assert!(rep.result.is_err(), "{src}: {:?}", rep.result);
    }
    // A read-only packet: loads work, the store faults.
    let rep = check(
        "ldxb %r0, [%r1+3]\nstb [%r1+3], 1\nexit",
        &memory(&[9; 64], false),
        Pacing::Instant,
    );
    assert!(rep.result.is_err(), "{:?}", rep.result);
}

#[test]
fn packet_accesses_spanning_words_while_arriving() {
    let packet: Vec<u8> = (0..200u8).collect();
    let src = "
        ldxdw %r2, [%r1+28]
        ldxdw %r3, [%r1+60]
        stxdw [%r1+92], %r2
        lock add [%r1+124], %r3
        lock fetch xor [%r1+188], %r2
        ldxdw %r0, [%r1+124]
        add %r0, %r2
        exit";
    for pacing in [Pacing::Instant, Pacing::default()] {
        let rep = check(src, &memory(&packet, true), pacing);
        assert!(rep.result.is_ok(), "{:?}", rep.result);
    }
}

#[test]
fn oversized_packet_runs_from_memory() {
    // Larger than FIFO_MD: as pipeline::run, the bytes stay in memory and
    // every packet access goes out on the external port.
    let packet: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let src = "
        ldxdw %r2, [%r1+2500]
        stxdw [%r1+2990], %r2
        ldxb %r0, [%r1+2991]
        exit";
    let rep = check(src, &memory(&packet, true), Pacing::default());
    assert_eq!(rep.result.map(|o| o.r0), Ok((2501 % 256) as u64));
}

#[test]
fn helper_latency_table_and_device_report() {
    // Per-id latencies from the table, one overridden after the call (as a
    // device's helper units report them), with the packet and the stack
    // passed to the helper through pointers.
    let helpers = || {
        let mut h = Helpers::conformance();
        h.register(1, "sum", |m, a| {
            let x = m
                .load(a[0], nfbpf_vm::isa::Width::DW)
                .map_err(|e| e.to_string())?;
            m.store(a[1], nfbpf_vm::isa::Width::W, x ^ 0x55)
                .map_err(|e| e.to_string())?;
            Ok(nfbpf_vm::helpers::HelperOutcome::Return(x.wrapping_add(1)))
        });
        h
    };
    let src = "
        stdw [%r10-8], 77
        mov %r6, %r1
        mov %r1, %r10
        add %r1, -8
        mov %r2, %r6
        add %r2, 4
        call 1
        ldxw %r3, [%r6+4]
        add %r0, %r3
        mov %r1, %r6
        mov %r2, %r10
        add %r2, -16
        call 1
        ldxw %r3, [%r10-16]
        add %r0, %r3
        exit";
    let prog = Program::new(assemble(src).unwrap_or_else(|e| panic!("{e}"))).expect("valid");
    let mut cfg = pipeline::Config::default();
    cfg.helper_latency.by_id.insert(1, 9);
    cfg.helper_latency.after_call = Some(std::sync::Arc::new(|id| (id == 1).then_some(13)));
    let mem = memory(&[3u8; 64], true);
    let args = [contract::PKT_BASE, 64, 0, 0, 0];
    let rep = cosim::cosim(&prog, &mem, helpers, args, &cfg).unwrap_or_else(|e| panic!("{e}"));
    assert!(rep.result.is_ok(), "{:?}", rep.result);
}
