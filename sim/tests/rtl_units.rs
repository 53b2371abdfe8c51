//! `rtl/ebpf_units.v` (helper units, map coprocessor and arbiter, map
//! registers) against the model, clock by clock: seeded random runs.
//! `NFBPF_UNITS_OPS` sets the operations per seed (default a CI-sized run).

use nfbpf_sim::units_cosim::{Mismatch, UnitsCosim, random_run};
use nfbpf_vm::contract;

fn ops() -> u64 {
    std::env::var("NFBPF_UNITS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8000)
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
        assert!(
            st.wide_ops > 0
                && st.dumped > 0
                && st.reloads > 0
                && st.refused_rows > 0
                && st.rows_read > 0,
            "seed {seed}: {st:?}"
        );
        eprintln!("seed {seed}: {st:?}");
        total += st.helper_calls + st.host_ops + st.wide_ops;
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
    // Four CAM writes in a clock: the pipelined map unit takes one a
    // clock, so the last answers three slots after the first, not three
    // CAM write latencies.
    assert_eq!(
        s.cycle() - start,
        3 * u64::from(contract::MAP_ISSUE_CLOCKS) + u64::from(contract::CAM_WRITE_CYCLES)
    );
    assert_eq!(s.stats.contended, 3);
    for e in 0..4 {
        s.host_op(0, e, 0, 3).unwrap();
    }
}

/// Configure one map through the registers: type, key and value bytes,
/// max_entries.
fn map(s: &mut UnitsCosim, kind: u32, ks: u32, vs: u32, max: u32) -> Result<(), Mismatch> {
    use nfbpf_vm::regs::*;
    let mask = |b: u32| {
        if b >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * b)) - 1
        }
    };
    s.write(TYPEMAP, kind)?;
    s.write(HIKEYMASKMAP, (mask(ks) >> 32) as u32)?;
    s.write(LOKEYMASKMAP, mask(ks) as u32)?;
    s.write(HIVALUEMASKMAP, (mask(vs) >> 32) as u32)?;
    s.write(LOVALUEMASKMAP, mask(vs) as u32)?;
    s.write(MAXELEMSMAP, max)?;
    Ok(())
}

#[test]
fn cam_and_tcam_fill_up_across_maps() {
    use nfbpf_vm::regs::*;
    let mut s = UnitsCosim::new();
    s.write(NUMMAP, 4).unwrap();
    // Two HASH maps share the CAM, two LPM maps the TCAM; each allows more
    // than the shared capacity.
    let cap = contract::CAM_ENTRIES as u64;
    let tcap = contract::TCAM_ENTRIES as u64;
    map(&mut s, contract::MAP_TYPE_HASH, 8, 8, 2 * cap as u32).unwrap();
    map(&mut s, contract::MAP_TYPE_HASH, 2, 4, 2 * cap as u32).unwrap();
    map(&mut s, contract::MAP_TYPE_LPM_TRIE, 8, 8, 2 * tcap as u32).unwrap();
    map(&mut s, contract::MAP_TYPE_LPM_TRIE, 6, 2, 2 * tcap as u32).unwrap();
    let upd = contract::HELPER_MAP_UPDATE_ELEM;
    // Engines take turns filling; the last inserts find the stores full.
    for i in 0..cap / 2 + 2 {
        for (e, m) in [(0usize, 0usize), (1, 1)] {
            s.issue(e, upd, [contract::map_handle(m), i * 7 + 1, i, 0, 0]);
        }
        // LPM keys: prefix length i % 33 (row 2) / i % 17 (row 3) over
        // varying data.
        s.issue(
            2,
            upd,
            [contract::map_handle(2), (i << 40) | (i % 33), i, 0, 0],
        );
        s.issue(
            3,
            upd,
            [contract::map_handle(3), (i << 36) | (i % 17), i, 1, 0],
        );
        s.drain().unwrap();
    }
    assert_eq!(s.read(CAMFULL).unwrap(), 1);
    s.read(TCAMFULL).unwrap();
    // Replacing an existing key still works when full; a new one does not.
    s.issue(0, upd, [contract::map_handle(0), 1, 99, 0, 0]);
    s.issue(1, upd, [contract::map_handle(1), 0xfffe, 99, 0, 0]);
    s.drain().unwrap();
    // Longest-prefix lookups over what the LPM maps hold.
    for k in 0..40u64 {
        s.issue(
            2,
            contract::HELPER_MAP_LOOKUP_ELEM,
            [contract::map_handle(2), (k << 40) | 32, 0, 0, 0],
        );
        s.issue(
            3,
            contract::HELPER_MAP_LOOKUP_ELEM,
            [contract::map_handle(3), (k << 36) | 16, 0, 0, 0],
        );
        s.drain().unwrap();
    }
    // Free a CAM entry from one map, insert into the other.
    s.issue(
        0,
        contract::HELPER_MAP_DELETE_ELEM,
        [contract::map_handle(0), 1, 0, 0, 0],
    );
    s.drain().unwrap();
    assert_eq!(s.read(CAMFULL).unwrap(), 0);
    s.issue(1, upd, [contract::map_handle(1), 0xfffe, 5, 0, 0]);
    s.drain().unwrap();
    assert_eq!(s.read(CAMFULL).unwrap(), 1);
    assert!(s.stats.errnos > 0, "{:?}", s.stats);
    // CLEAN empties everything.
    s.write(CLEAN, 1).unwrap();
    s.read(CAMFULL).unwrap();
    s.host_op(0, 7 + 1, 0, 3).unwrap();
}

/// The direct store (ARRAY and DEVMAP, `MapConfig::direct_words` words)
/// filling up, a row refused for lack of words on both sides, then a
/// MAPLOAD of one row taking the free end below the row that stays, its
/// words read as zero again; every step compared with the model.
#[test]
fn direct_store_fills_and_mapload_reuses_it() {
    use nfbpf_vm::regs::*;
    let words = nfbpf_vm::maps::MapConfig::default().direct_words;
    let (array, devmap) = (contract::MAP_TYPE_ARRAY, contract::MAP_TYPE_DEVMAP);
    let mut s = UnitsCosim::new();
    s.write(NUMMAP, 3).unwrap();
    let first = words / 2 + 88;
    map(&mut s, array, 4, 8, first).unwrap();
    // One word too many for the rest: refused by both (compared), and the
    // next row write goes to the same row.
    map(&mut s, devmap, 4, 4, words - first + 1).unwrap();
    assert!(s.last_refused, "a row past the direct store");
    map(&mut s, devmap, 4, 4, words - first).unwrap();
    assert!(!s.last_refused);
    assert_eq!(s.wide_op(0, 5, 0x55, 1, 0).unwrap(), 0);
    assert_eq!(s.wide_op(1, 3, 7, 1, 0).unwrap(), 0);
    // Row 2 was never written: no map there.
    assert_eq!(s.wide_op(2, 0, 0, 3, 0).unwrap(), 2);
    // Reload row 0: its window is below row 1's words, `first` of them.
    s.write(MAPLOAD, 1).unwrap();
    assert_eq!(s.wide_op(0, 5, 0, 3, 0).unwrap(), 2);
    map(&mut s, array, 4, 8, first + 1).unwrap();
    assert!(s.last_refused, "a row past the window");
    map(&mut s, array, 4, 8, first).unwrap();
    assert!(!s.last_refused);
    // The reloaded row reads zero where the old one held 0x55 (compared),
    // the row that stayed keeps its entry.
    assert_eq!(s.wide_op(0, 5, 0, 3, 0).unwrap(), 0);
    assert_eq!(s.wide_op(1, 3, 0, 3, 0).unwrap(), 0);
    assert_eq!(s.dump(1).unwrap(), 1);
    // Past the rows MAPLOAD opened: refused by both.
    map(&mut s, array, 4, 8, 1).unwrap();
    assert!(s.last_refused, "a row past MAPLOAD's");
}

/// A next-key scan (WIDEOP 4) clock by clock: WIDESTATUS read in every
/// clock from the write to done on both sides (every read compared), busy
/// until the clock the contract gives (`scan_clocks`): a HASH scan (the
/// whole CAM), DEVMAP walks and ARRAY steps, then the windows compared.
/// An OPERATION's ACK the same way (`HOST_OP_CLOCKS`). During a scan, a
/// second WIDEOP or an OPERATION is refused by both, and a NUMMAP ends it
/// with ENOENT `HOST_OP_CLOCKS` after its write (also in the clock the scan
/// starts).
#[test]
fn a_next_key_scan_reads_the_same_every_clock() {
    use contract::{ENOENT, HOST_OP_CLOCKS, ScanWalk, scan_clocks, scan_steps};
    use nfbpf_vm::regs::*;
    let (hash, array, devmap) = (
        contract::MAP_TYPE_HASH,
        contract::MAP_TYPE_ARRAY,
        contract::MAP_TYPE_DEVMAP,
    );
    let mut s = UnitsCosim::new();
    s.write(NUMMAP, 3).unwrap();
    map(&mut s, hash, 4, 8, 16).unwrap();
    map(&mut s, devmap, 4, 4, 16).unwrap();
    map(&mut s, array, 4, 8, 4).unwrap();
    for k in [9u64, 2, 0x100] {
        assert_eq!(s.wide_op(0, k, 3 * k, 1, 0).unwrap(), 0);
    }
    assert_eq!(s.wide_op(1, 12, 5, 1, 0).unwrap(), 0);
    fn done(v: u32) -> bool {
        v & 1 == 1
    }
    // WIDEOP `op` on `map` from `key`: the clocks from the write to done,
    // busy (bit 1, not done) in every clock before; the errno.
    let scan = |s: &mut UnitsCosim, map: u32, key: u32, op: u32| -> (u64, u32) {
        s.write(MAPSELECT, map).unwrap();
        s.write(WIDEKEY, key).unwrap();
        s.write(WIDEKEY + 4, 0).unwrap();
        let start = s.cycle();
        s.write(WIDEOP, op).unwrap();
        let t = s.trace(WIDESTATUS, done, 200).unwrap();
        let (&(at, last), busy) = t.split_last().unwrap();
        assert!(busy.iter().all(|&(_, v)| v & 3 == 2), "{t:x?}");
        for w in 0..2 {
            s.read(WIDEKEY + 4 * w).unwrap();
            s.read(WIDEVALUE + 4 * w).unwrap();
        }
        (at - start, last >> 16)
    };
    let cam = scan_clocks(scan_steps(ScanWalk::Cam));
    assert_eq!(cam, 67);
    assert_eq!(scan(&mut s, 0, 2, 4), (cam, 0));
    assert_eq!(s.read(WIDEKEY).unwrap(), 9);
    assert_eq!(scan(&mut s, 0, 0, 0x104), (cam, 0));
    assert_eq!(s.read(WIDEKEY).unwrap(), 2);
    assert_eq!(scan(&mut s, 0, 0x100, 4), (cam, ENOENT as u32));
    // DEVMAP: indices 4..=12 read, 12 present; from the first, 0..=12;
    // after 12, 13..=16 (16: past the end).
    let walk = |from, stop| scan_clocks(scan_steps(ScanWalk::Direct { from, stop }));
    assert_eq!(scan(&mut s, 1, 3, 4), (walk(4, 12), 0));
    assert_eq!(scan(&mut s, 1, 3, 0x104), (walk(0, 12), 0));
    assert_eq!(scan(&mut s, 1, 12, 4), (walk(13, 16), ENOENT as u32));
    // ARRAY: the next index is there (one read); after the last, none.
    assert_eq!(scan(&mut s, 2, 1, 4), (walk(2, 2), 0));
    assert_eq!(scan(&mut s, 2, 3, 4), (walk(4, 4), ENOENT as u32));
    assert_eq!(walk(4, 4), HOST_OP_CLOCKS + 2);
    // A lookup, an unknown operation and no such map: HOST_OP_CLOCKS.
    assert_eq!(scan(&mut s, 0, 9, 3), (HOST_OP_CLOCKS, 0));
    assert_eq!(scan(&mut s, 0, 9, 5), (HOST_OP_CLOCKS, 22));
    assert_eq!(scan(&mut s, 7, 9, 4), (HOST_OP_CLOCKS, ENOENT as u32));
    // OPERATION: ACK 0 until HOST_OP_CLOCKS after the write.
    s.write(MAPSELECT, 0).unwrap();
    s.write(HIKEY, 0).unwrap();
    s.write(LOKEY, 9).unwrap();
    let start = s.cycle();
    s.write(OPERATION, 3).unwrap();
    let t = s.trace(ACK, |v| v == 1, 20).unwrap();
    assert_eq!(t.last().unwrap().0 - start, HOST_OP_CLOCKS);
    assert_eq!(s.read(LODIN).unwrap(), 27);
    // A scan under way refuses another WIDEOP and an OPERATION.
    s.write(MAPSELECT, 0).unwrap();
    s.write(WIDEOP, 0x104).unwrap();
    for op in [WIDEOP, OPERATION] {
        s.write(op, 3).unwrap();
        assert!(s.last_refused, "{op:#x} during a scan");
    }
    s.trace(WIDESTATUS, done, 200).unwrap();
    s.read(WIDEKEY).unwrap();
    // A NUMMAP during a scan ends it: ENOENT, HOST_OP_CLOCKS later; also
    // in the clock right after the WIDEOP write (the scan's first).
    for wait in [10, 0] {
        s.write(NUMMAP, 1).unwrap();
        map(&mut s, hash, 4, 8, 16).unwrap();
        s.wide_op(0, 1, 1, 1, 0).unwrap();
        s.write(MAPSELECT, 0).unwrap();
        s.write(WIDEOP, 0x104).unwrap();
        for _ in 0..wait {
            s.read(WIDESTATUS).unwrap();
        }
        let start = s.cycle();
        s.write(NUMMAP, 1).unwrap();
        let t = s.trace(WIDESTATUS, done, 200).unwrap();
        let &(at, v) = t.last().unwrap();
        assert_eq!(
            (at - start, v >> 16),
            (HOST_OP_CLOCKS, ENOENT as u32),
            "{t:x?}"
        );
        s.read(WIDEKEY).unwrap();
        s.read(WIDEVALUE).unwrap();
    }
}
