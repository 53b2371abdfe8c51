//! T3 stream: one engine on a stream of packets, model against RTL in
//! lockstep: packets queued behind the running one in FIFO_MD (ring slots
//! wrapping the 64 words, a full FIFO refused the same way), words arriving
//! at 10 Gb/s while earlier packets run, and the two-bank instruction memory
//! written through the host port and swapped at a packet boundary (a write
//! to a bank still in use refused on both sides).

use nfbpf_sim::cosim::{self, Event};
use nfbpf_vm::asm::assemble;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::pipeline::{self, Pacing, randprog};
use nfbpf_vm::program::Program;

fn args(len: usize) -> [u64; 5] {
    [contract::PKT_BASE, len as u64, 0, 0, 0]
}

#[test]
fn queued_packets_and_ring_wrap_are_cycle_exact() {
    let mut verdicts = 0;
    for seed in 0..300u64 {
        let case = randprog::generate(seed);
        let prog = Program::new(case.insns.clone()).expect("valid");
        let cfg = pipeline::Config {
            budget: case.budget,
            pacing: if case.paced {
                Pacing::default()
            } else {
                Pacing::Instant
            },
            ..pipeline::Config::default()
        };
        let (mem, _) = conformance_memory(&case.packet);
        // Same length each time (the packet region is resized per packet
        // on both sides); contents vary.
        let len = case.packet.len();
        let pkt = |k: u8| -> Vec<u8> { case.packet.iter().map(|b| b ^ k).collect() };
        let mut events = Vec::new();
        for (k, at) in [0u64, 0, 2, 30, 31, 200, 201, 202].iter().enumerate() {
            events.push((*at, Event::Push(pkt(k as u8), args(len))));
        }
        match cosim::cosim_stream(
            &prog,
            &mem,
            randprog::helpers,
            &cfg,
            &events,
            8 * 80 * case.budget.min(1 << 14) + 10_000,
        ) {
            Ok(r) => verdicts += r.verdicts.len(),
            Err(m) => panic!("seed {seed}: {m}"),
        }
    }
    assert!(verdicts > 300 * 6, "{verdicts} verdicts");
}

#[test]
fn full_fifo_and_ring_wrap() {
    // 300-byte packets take 10 words: FIFO_WORDS / 10 fit, the next is
    // refused, and later ones wrap the ring.
    let fit = nfbpf_vm::contract::FIFO_WORDS / 10;
    let prog = Program::new(
        assemble("ldxdw %r3, [%r1+290]\nstxdw [%r1+0], %r3\nldxb %r0, [%r1+299]\nexit")
            .expect("asm"),
    )
    .expect("valid");
    for pacing in [Pacing::Instant, Pacing::default()] {
        let cfg = pipeline::Config {
            pacing,
            ..pipeline::Config::default()
        };
        let (mem, _) = conformance_memory(&[0u8; 300]);
        let mut events = Vec::new();
        for k in 0..=fit as u8 {
            events.push((0, Event::Push(vec![k; 300], args(300))));
        }
        for k in fit as u8 + 1..=2 * fit as u8 + 1 {
            events.push((400 + 60 * k as u64, Event::Push(vec![k; 300], args(300))));
        }
        let r = cosim::cosim_stream(&prog, &mem, Helpers::conformance, &cfg, &events, 100_000)
            .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(
            r.verdicts.len(),
            2 * fit + 1,
            "{fit} fit, the next is refused"
        );
    }
}

#[test]
fn bank_swap_at_packet_boundary() {
    let a = Program::new(assemble("mov %r0, 1\nexit").expect("asm")).expect("valid");
    let b = Program::new(assemble("ldxb %r0, [%r1+0]\nadd %r0, 2\nmov %r2, 0\nexit").expect("asm"))
        .expect("valid");
    let cfg = pipeline::Config::default();
    let (mem, _) = conformance_memory(&[5u8; 64]);
    let pkt = || Event::Push(vec![5u8; 64], args(64));
    let events = vec![
        (0, pkt()),
        (0, pkt()),
        // bank 1 is idle: written while packets run on bank 0
        (1, Event::WriteIdle(b.clone())),
        (10, pkt()),
        // swap once the writes are through; the running packet keeps bank 0
        (12, Event::Swap),
        (12, pkt()),
        // bank 0 is idle now but may still be in use: refused while it is
        (13, Event::WriteIdle(a.clone())),
        (60, Event::WriteIdle(a.clone())),
        (70, Event::Swap),
        (70, pkt()),
    ];
    let r = cosim::cosim_stream(&a, &mem, Helpers::conformance, &cfg, &events, 10_000)
        .unwrap_or_else(|m| panic!("{m}"));
    let banks: Vec<u8> = r.verdicts.iter().map(|v| v.bank).collect();
    assert!(banks.contains(&0) && banks.contains(&1), "{banks:?}");
}
