//! The engine RTL with its helper port answered by the units RTL
//! (`ebpf_units` through `UnitsPort`), against the pipeline model with the
//! model's SUME units: a program hammering HASH, LPM_TRIE, ARRAY and DEVMAP
//! maps and the PRNG runs cycle-exact (every cycle record compared), ends
//! with the same r0, and leaves the same map contents.

use nfbpf_sim::engine;
use nfbpf_sim::units_cosim::UnitsPort;
use nfbpf_vm::asm::assemble;
use nfbpf_vm::contract;
use nfbpf_vm::interp;
use nfbpf_vm::maps::{MapDef, MapType};
use nfbpf_vm::mem::Memory;
use nfbpf_vm::pipeline::{self, CollectCycles, HelperLatency};
use nfbpf_vm::program::Program;
use nfbpf_vm::regs;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{self, SharedDeviceState, UnitsConfig};
use std::sync::{Arc, Mutex};

/// (type, key bytes, value bytes, max entries) of maps 0..4.
const MAPS: [(MapType, u32, u32, u32); 4] = [
    (MapType::Hash, 4, 8, 16),
    (MapType::LpmTrie, 8, 4, 8),
    (MapType::Array, 4, 8, 10),
    (MapType::Devmap, 4, 4, 4),
];

const PROG: &str = "
    mov %r6, 0
    mov %r7, 0
loop:
    lddw %r1, 0x40000000
    mov %r2, %r6
    mul %r2, 7
    and %r2, 31
    mov %r3, %r6
    mov %r4, %r6
    mod %r4, 3
    call 2
    xor %r7, %r0
    lddw %r1, 0x40000000
    mov %r2, %r6
    mul %r2, 5
    and %r2, 31
    call 1
    add %r7, %r0
    lddw %r1, 0x40000000
    mov %r2, %r6
    mul %r2, 3
    and %r2, 31
    call 3
    xor %r7, %r0
    lddw %r1, 0x40100000
    mov %r2, %r6
    and %r2, 15
    lsh %r2, 36
    mov %r8, %r6
    and %r8, 7
    add %r8, 1
    or %r2, %r8
    mov %r3, %r6
    mov %r4, %r6
    mod %r4, 2
    call 2
    xor %r7, %r0
    lddw %r1, 0x40100000
    mov %r2, %r6
    mul %r2, 3
    and %r2, 15
    lsh %r2, 36
    or %r2, 32
    call 1
    add %r7, %r0
    lddw %r1, 0x40200000
    mov %r2, %r6
    mod %r2, 12
    mov %r3, %r7
    mov %r4, 0
    call 2
    xor %r7, %r0
    lddw %r1, 0x40200000
    mov %r2, %r6
    mul %r2, 7
    mod %r2, 12
    call 1
    add %r7, %r0
    lddw %r1, 0x40300000
    mov %r2, %r6
    mod %r2, 5
    mov %r3, %r6
    mod %r3, 3
    mov %r4, 0
    call 2
    xor %r7, %r0
    lddw %r1, 0x40300000
    mov %r2, %r6
    mod %r2, 4
    call 1
    add %r7, %r0
    call 7
    xor %r7, %r0
    add %r6, 1
    jlt %r6, 40, loop
    mov %r0, %r7
    exit";

/// Both sides' results and cycle records, the model's units and the RTL's.
struct Runs {
    want: Result<interp::Outcome, interp::Fault>,
    got: Result<interp::Outcome, interp::Fault>,
    model_cycles: CollectCycles,
    rtl_cycles: CollectCycles,
    dev: SharedDeviceState,
    port: Arc<Mutex<UnitsPort>>,
}

fn memory() -> Memory {
    let mut m = Memory::new();
    interp::add_stack(&mut m).expect("stack");
    m
}

fn both(src: &str) -> Runs {
    let prog = Program::new(assemble(src).unwrap_or_else(|e| panic!("{e}"))).expect("valid");
    let args = [1, 2, 3, 4, 5];

    // Model: the device's SUME units, latencies as they report them.
    let dev = SharedDeviceState::new(UnitsConfig::default());
    for (i, (kind, ks, vs, max)) in MAPS.into_iter().enumerate() {
        dev.with(|d| d.maps.configure(i, MapDef::new(kind, ks, vs, max)))
            .expect("valid map");
    }
    let mut h = units::sume_helpers(&dev, 0);
    let cfg = pipeline::Config {
        helper_latency: HelperLatency::from_device(dev.clone(), 0),
        ..pipeline::Config::default()
    };
    let mut model_cycles = CollectCycles::default();
    let mut mem = memory();
    let want = pipeline::run(
        &prog,
        &mut mem,
        &mut h,
        args,
        &cfg,
        &mut NoTrace,
        &mut model_cycles,
    );

    // RTL: engine core + ebpf_units, maps written through the registers.
    let port = Arc::new(Mutex::new(UnitsPort::new(0)));
    {
        let mut p = port.lock().expect("fresh");
        p.write(regs::NUMMAP, MAPS.len() as u32).expect("NUMMAP");
        for (kind, ks, vs, max) in MAPS {
            let d = MapDef::new(kind, ks, vs, max);
            for (r, v) in [
                (regs::TYPEMAP, kind.code()),
                (regs::HIKEYMASKMAP, (d.key_mask() >> 32) as u32),
                (regs::LOKEYMASKMAP, d.key_mask() as u32),
                (regs::HIVALUEMASKMAP, (d.value_mask() >> 32) as u32),
                (regs::LOVALUEMASKMAP, d.value_mask() as u32),
                (regs::MAXELEMSMAP, max),
            ] {
                p.write(r, v).expect("map row");
            }
        }
    }
    let (mut rh, lat) = UnitsPort::helpers(&port);
    let rcfg = pipeline::Config {
        helper_latency: lat,
        ..pipeline::Config::default()
    };
    let mut rtl_cycles = CollectCycles::default();
    let mut rmem = memory();
    let got = engine::run(
        &prog,
        &mut rmem,
        &mut rh,
        args,
        &rcfg,
        &mut NoTrace,
        &mut rtl_cycles,
    );
    Runs {
        want,
        got,
        model_cycles,
        rtl_cycles,
        dev,
        port,
    }
}

fn same_clocks(r: &Runs) {
    assert_eq!(r.model_cycles.0.len(), r.rtl_cycles.0.len(), "clocks");
    for (m, x) in r.model_cycles.0.iter().zip(&r.rtl_cycles.0) {
        assert_eq!(
            m.cleared_empty_stages(),
            x.cleared_empty_stages(),
            "cycle {}",
            m.cycle
        );
    }
}

#[test]
fn a_bad_handle_faults_at_the_same_clock() {
    // A good update, then a lookup on a map index with no map.
    let r = both(
        "lddw %r1, 0x40000000
        mov %r2, 9
        mov %r3, 1
        mov %r4, 0
        call 2
        lddw %r1, 0x40700000
        call 1
        exit",
    );
    same_clocks(&r);
    match (&r.want, &r.got) {
        (Err(m), Err(g)) => {
            assert_eq!(m.pc, g.pc);
            assert!(matches!(m.kind, interp::FaultKind::Helper { id: 1, .. }));
            assert!(matches!(g.kind, interp::FaultKind::Helper { id: 1, .. }));
        }
        other => panic!("both sides must fault: {other:?}"),
    }
}

#[test]
fn engine_rtl_with_units_rtl_matches_the_model() {
    let r = both(PROG);
    let (want, got) = match (&r.want, &r.got) {
        (Ok(w), Ok(g)) => (w, g),
        other => panic!("the program runs on both: {other:?}"),
    };
    assert_eq!(got.r0, want.r0, "r0");
    same_clocks(&r);
    let (model_cycles, dev, port) = (&r.model_cycles, &r.dev, &r.port);
    // 40 iterations of ten helper calls, most of them on the coprocessor.
    assert!(
        model_cycles.0.len() > 40 * 60,
        "{} clocks",
        model_cycles.0.len()
    );

    // Same map contents, read back through the registers.
    let mut p = port.lock().expect("unpoisoned");
    for (i, (kind, ..)) in MAPS.into_iter().enumerate() {
        let keys: Vec<u64> = match kind {
            MapType::LpmTrie => (0..16u64)
                .flat_map(|d| [(d << 36) | 32, (d << 36) | 4])
                .collect(),
            _ => (0..32).collect(),
        };
        for k in keys {
            let m = dev.with(|d| d.maps.lookup_u64(contract::map_handle(i), k).value);
            let (err, v) = p.host_op(i as u32, k, 0, 3).expect("host lookup");
            match m {
                Ok(Some(mv)) => assert_eq!((err, v), (0, mv), "map {i} key {k:#x}"),
                Ok(None) => assert_eq!(err, contract::ENOENT as u32, "map {i} key {k:#x}"),
                Err(e) => panic!("model lookup failed: {e}"),
            }
        }
    }
}
