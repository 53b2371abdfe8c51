//! `rtl/ebpf_units.v` (helper units, map coprocessor and arbiter, map
//! registers) against the model, clock by clock: seeded random runs.
//! `NFBPF_UNITS_OPS` sets the operations per seed (default a CI-sized run).

use nfbpf_sim::units::{UnitsCosim, random_run};
use nfbpf_vm::contract;

fn ops() -> u64 {
    std::env::var("NFBPF_UNITS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn random_runs_match_the_model() {
    let mut total = 0;
    for seed in 1..=3 {
        let st = random_run(seed, ops()).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
        // The stimulus must exercise what it claims to.
        assert!(st.map_calls > st.helper_calls / 2, "seed {seed}: {st:?}");
        assert!(st.contended > 0, "seed {seed}: no contention: {st:?}");
        assert!(
            st.host_ops > 0 && st.lookup_hits > 0 && st.errnos > 0,
            "seed {seed}: {st:?}"
        );
        eprintln!("seed {seed}: {st:?}");
        total += st.helper_calls + st.host_ops;
    }
    eprintln!("{total} operations compared");
}

#[test]
fn four_engines_at_once_queue_in_rotating_order() {
    let mut s = UnitsCosim::new();
    // One HASH map of 8-byte keys and values.
    s.write(nfbpf_vm::regs::NUMMAP, 1).unwrap();
    s.write(nfbpf_vm::regs::TYPEMAP, contract::MAP_TYPE_HASH)
        .unwrap();
    for r in [
        nfbpf_vm::regs::HIKEYMASKMAP,
        nfbpf_vm::regs::LOKEYMASKMAP,
        nfbpf_vm::regs::HIVALUEMASKMAP,
        nfbpf_vm::regs::LOVALUEMASKMAP,
    ] {
        s.write(r, u32::MAX).unwrap();
    }
    s.write(nfbpf_vm::regs::MAXELEMSMAP, 16).unwrap();
    let h = contract::map_handle(0);
    for e in 0..4 {
        s.issue(
            e,
            contract::HELPER_MAP_UPDATE_ELEM,
            [h, e as u64, 100 + e as u64, 0, 0],
        );
    }
    let start = s.cycle();
    s.drain().unwrap();
    // Four CAM writes back to back.
    assert_eq!(s.cycle() - start, 4 * u64::from(contract::CAM_WRITE_CYCLES));
    assert_eq!(s.stats.contended, 3);
    for e in 0..4 {
        s.host_op(0, e, 0, 3).unwrap();
    }
}
