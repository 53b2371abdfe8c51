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
