use super::*;
use crate::abi::{Abi, RxMeta};
use crate::maps::MapDef;
use proptest::prelude::*;

/// Literal model of x86-64 `csum_partial`: 64-bit adds with carry, the
/// zero-padded tail, `csum_finalize_sum`.
fn x86_csum_partial(buf: &[u8], seed: u32) -> u32 {
    let adc = |t: u64, x: u64| {
        let (r, c) = t.overflowing_add(x);
        r + c as u64
    };
    let mut t = seed as u64;
    let mut it = buf.chunks_exact(8);
    for c in &mut it {
        t = adc(t, u64::from_le_bytes(c.try_into().unwrap()));
    }
    let rem = it.remainder();
    if !rem.is_empty() {
        let mut b = [0u8; 8];
        b[..rem.len()].copy_from_slice(rem);
        t = adc(t, u64::from_le_bytes(b));
    }
    (t.wrapping_add(t.rotate_right(32)) >> 32) as u32
}

/// Linux's `bpf_csum_diff` before it lost its scratch pad (x86-64, sizes
/// multiples of 4): the unfolded sum of `~from` then `to`.
fn old_csum_diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    let mut pad = Vec::new();
    for w in from.chunks_exact(4) {
        pad.extend_from_slice(&(!u32::from_le_bytes(w.try_into().unwrap())).to_le_bytes());
    }
    pad.extend_from_slice(to);
    x86_csum_partial(&pad, seed)
}

/// 16-bit ones-complement sum of little-endian u16 words (RFC 1071), an
/// odd last byte zero-padded.
fn ones16(buf: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for w in buf.chunks(2) {
        s += u16::from_le_bytes([w[0], w.get(1).copied().unwrap_or(0)]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn fold16(x: u32) -> u16 {
    let mut s = (x & 0xffff) + (x >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

fn words() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut v| {
        v.truncate(v.len() / 4 * 4);
        v
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..80)
}

/// Equal as ones-complement 16-bit numbers (0 and 0xffff are both zero).
fn same16(a: u32, b: u32) -> bool {
    a <= 0xffff && b <= 0xffff && a % 0xffff == b % 0xffff
}

proptest! {
    /// Any sizes: seed + sum(to) - sum(from), in 16 bits.
    #[test]
    fn csum_diff_is_the_ones_complement_difference(
        from in bytes(), to in bytes(), seed in any::<u32>()
    ) {
        let want = (u32::from(fold16(seed)) + u32::from(ones16(&to))
            + u32::from(!ones16(&from))) % 0xffff;
        prop_assert!(same16(csum_diff(&from, &to, seed), want));
    }

    /// The fold of what older x86-64 kernels returned, for the sizes they
    /// took.
    #[test]
    fn csum_diff_folds_the_old_result(from in words(), to in words(), seed in any::<u32>()) {
        let old = old_csum_diff(&from, &to, seed);
        prop_assert!(same16(csum_diff(&from, &to, seed), csum_from32to16(old)));
    }

    #[test]
    fn csum_diff_of_to_alone_is_the_rfc1071_sum(to in bytes()) {
        prop_assert!(same16(csum_diff(&[], &to, 0), u32::from(ones16(&to))));
    }
}

#[test]
fn csum_diff_edge_cases() {
    assert_eq!(csum_diff(&[], &[], 0), 0);
    assert_eq!(csum_diff(&[], &[], 0x1234), 0x1234);
    assert_eq!(csum_diff(&[], &[], 0x1234_5678), 0x68ac);
    assert_eq!(csum_diff(&[], &[0xff; 4], 0), 0xffff);
    // `from` alone: the complement of its sum, seeded.
    assert_eq!(csum_diff(&[0; 4], &[], 0), 0);
    assert_eq!(csum_diff(&[1, 0, 0, 0], &[], 0), 0xfffe);
    // Same from and to: the diff is a ones-complement zero.
    let w = [1, 2, 3, 4];
    assert_eq!(csum_diff(&w, &w, 0), 0xffff);
    // Odd sizes: the last bytes zero-padded.
    assert_eq!(csum_diff(&[], &[1, 2, 3], 0), 0x0201 + 0x0003);
    assert_eq!(csum_from32to16(0xffff_ffff), 0xffff);
    // Incremental IPv4 checksum update (RFC 1624): change TTL 64 -> 63.
    let mut hdr: [u8; 20] = [
        0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let sum = !ones16_be(&hdr);
    hdr[10..12].copy_from_slice(&sum.to_be_bytes());
    let old = hdr[8..12].to_vec();
    hdr[8] = 63;
    let mut new = hdr[8..12].to_vec();
    new[2..4].copy_from_slice(&[0, 0]);
    let mut oldz = old.clone();
    oldz[2..4].copy_from_slice(&[0, 0]);
    let d = csum_diff(&oldz, &new, !(sum.swap_bytes() as u32) & 0xffff);
    let updated = !fold16(d);
    hdr[10..12].copy_from_slice(&updated.to_le_bytes());
    assert_eq!(ones16_be(&hdr), 0xffff, "header checksum verifies");
}

fn ones16_be(buf: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for w in buf.chunks_exact(2) {
        s += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[test]
fn prandom_is_seeded_and_deterministic() {
    let cfg = |seed| UnitsConfig {
        seed,
        ..UnitsConfig::default()
    };
    let mut a = DeviceState::new(cfg(7));
    let mut b = DeviceState::new(cfg(7));
    let mut c = DeviceState::new(cfg(8));
    let sa: Vec<u32> = (0..8).map(|_| a.next_random()).collect();
    let sb: Vec<u32> = (0..8).map(|_| b.next_random()).collect();
    let sc: Vec<u32> = (0..8).map(|_| c.next_random()).collect();
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    // xorshift32 from 1: 270369, 67634689, ...
    let mut d = DeviceState::new(cfg(1));
    assert_eq!(d.next_random(), 270_369);
    assert_eq!(d.next_random(), 67_634_689);
    let mut z = DeviceState::new(cfg(0));
    let mut dflt = DeviceState::default();
    assert_eq!(z.next_random(), dflt.next_random());
}

#[test]
fn timer_converts_cycles_at_200_mhz() {
    let mut d = DeviceState::default();
    d.advance(200);
    assert_eq!(d.now_ns(), 1000);
    d.advance(200_000_000 - 200);
    assert_eq!(d.now_ns(), 1_000_000_000);
}

#[test]
fn printk_formats() {
    let m = Memory::new();
    let f = |s: &str, a: [u64; 3]| format_printk(s, &a, &m);
    assert_eq!(f("x=%d y=%u", [-5i64 as u64, 7, 0]).unwrap(), "x=-5 y=7");
    assert_eq!(
        f("%x %lx %X", [0x1_0000_00ab, 0x1_0000_00ab, 255]).unwrap(),
        "ab 1000000ab FF"
    );
    assert_eq!(f("%lld|%llu", [-1i64 as u64, 3, 0]).unwrap(), "-1|3");
    assert_eq!(
        f("%5d|%-4d|%04d", [42, 7, -9i64 as u64]).unwrap(),
        "   42|7   |-009"
    );
    assert_eq!(f("100%%", [0; 3]).unwrap(), "100%");
    assert_eq!(f("%q", [0; 3]), None);
    assert_eq!(f("%d %d %d %d", [0; 3]), None);
    assert_eq!(f("%s", [0; 3]).unwrap(), "(efault)");
}

fn xdp_setup(defs: &[(usize, MapDef)]) -> (SharedDeviceState, Memory, Helpers) {
    let dev = SharedDeviceState::default();
    dev.with(|d| {
        for (i, def) in defs {
            d.maps.configure(*i, def.clone()).unwrap();
        }
    });
    let (mut mem, _) = Abi::Xdp.context(&[0u8; 60], &RxMeta::default()).unwrap();
    dev.with(|d| d.maps.lend(&mut mem)).unwrap();
    let h = Abi::Xdp.helpers(&dev);
    (dev, mem, h)
}

fn call(h: &mut Helpers, mem: &mut Memory, id: u32, a: [u64; 5]) -> Result<u64, String> {
    match h.call(id, mem, a).unwrap()? {
        HelperOutcome::Return(v) => Ok(v),
        HelperOutcome::Unwind(v) => Err(format!("unwind {v}")),
    }
}

const SP: u64 = contract::STACK_TOP - 16;

#[test]
fn map_helpers_record_latency_and_errors() {
    let (dev, mut mem, mut h) = xdp_setup(&[
        (0, MapDef::new(MapType::Hash, 4, 4, 2)),
        (1, MapDef::new(MapType::LpmTrie, 8, 4, 2)),
    ]);
    let hash = contract::map_handle(0);
    mem.write_bytes(SP, &[1, 0, 0, 0, 9, 0, 0, 0]).unwrap();
    assert_eq!(call(&mut h, &mut mem, 1, [hash, SP, 0, 0, 0]), Ok(0));
    let last = || dev.with(|d| d.engine(0).last_call);
    let (read, write) = (contract::CAM_READ_CYCLES, contract::CAM_WRITE_CYCLES);
    assert_eq!(
        last(),
        Some(CallRecord {
            id: 1,
            cycles: read
        })
    );
    assert_eq!(call(&mut h, &mut mem, 2, [hash, SP, SP + 4, 0, 0]), Ok(0));
    assert_eq!(
        last(),
        Some(CallRecord {
            id: 2,
            cycles: write
        })
    );
    assert_eq!(
        call(&mut h, &mut mem, 2, [hash, SP, SP + 4, 1, 0]),
        Ok((-contract::EEXIST) as u64)
    );
    assert_eq!(
        call(&mut h, &mut mem, 2, [hash, SP, SP + 4, 5, 0]),
        Ok((-contract::EINVAL) as u64)
    );
    let p = call(&mut h, &mut mem, 1, [hash, SP, 0, 0, 0]).unwrap();
    assert_eq!(p, hash);
    assert_eq!(mem.load(p, Width::W).unwrap(), 9);
    assert_eq!(call(&mut h, &mut mem, 3, [hash, SP, 0, 0, 0]), Ok(0));
    assert_eq!(
        call(&mut h, &mut mem, 3, [hash, SP, 0, 0, 0]),
        Ok((-contract::ENOENT) as u64)
    );
    // LPM update costs a TCAM write.
    let lpm = contract::map_handle(1);
    mem.write_bytes(SP, &[24, 0, 0, 0, 10, 0, 0, 0]).unwrap();
    assert_eq!(call(&mut h, &mut mem, 2, [lpm, SP, SP, 0, 0]), Ok(0));
    let tcam_write = contract::TCAM_WRITE_CYCLES;
    assert_eq!(
        last(),
        Some(CallRecord {
            id: 2,
            cycles: tcam_write
        })
    );
    // Bad handles and bad pointers fault.
    assert!(call(&mut h, &mut mem, 1, [0x1234, SP, 0, 0, 0]).is_err());
    assert!(call(&mut h, &mut mem, 1, [hash, 8, 0, 0, 0]).is_err());
    let e = dev.with(|d| d.engine(0));
    assert_eq!(e.helper_calls, 10);
    assert_eq!(
        e.helper_cycles,
        u64::from(read + write + write + write + read + write + write + tcam_write + 1 + read)
    );
    // A key or value in the context faults, naming it (Linux's verifier
    // refuses it; the RTL's helper memory port does not reach it).
    let c = contract::CTX_BASE;
    for (id, a) in [
        (1, [hash, c, 0, 0, 0]),
        (2, [hash, c + 4, SP, 0, 0]),
        (2, [hash, SP, c + 8, 0, 0]),
        (3, [hash, c, 0, 0, 0]),
    ] {
        let e = call(&mut h, &mut mem, id, a).unwrap_err();
        assert!(e.contains("in the context"), "{id}: {e}");
    }
    assert_eq!(call(&mut h, &mut mem, 1, [hash, SP, 0, 0, 0]), Ok(0));
}

/// An XDP update reads its key and value a port word a clock: past the
/// write latency, one clock a word (`contract::ptr_update_cycles`); a
/// lookup and a delete keep theirs, and so does the SUME ABI's by-value
/// update.
#[test]
fn wide_value_updates_take_a_clock_a_word() {
    let (dev, mut mem, mut h) = xdp_setup(&[
        (0, MapDef::new(MapType::Array, 4, 64, 2)),
        (1, MapDef::new(MapType::Array, 4, 16, 2)),
        (2, MapDef::new(MapType::Array, 4, 8, 2)),
        (3, MapDef::new(MapType::Hash, 16, 64, 2)),
    ]);
    let last = || dev.with(|d| d.engine(0).last_call.unwrap().cycles);
    let at = SP - 96;
    mem.write_bytes(at, &[0; 96]).unwrap();
    let cam16 = contract::ptr_update_cycles(contract::CAM_WRITE_CYCLES, 16, 64);
    for (row, cycles) in [(0, 9), (1, 3), (2, 2), (3, cam16)] {
        let m = contract::map_handle(row);
        assert_eq!(call(&mut h, &mut mem, 2, [m, at, at + 16, 0, 0]), Ok(0));
        assert_eq!(last(), cycles, "row {row}");
        call(&mut h, &mut mem, 1, [m, at, 0, 0, 0]).unwrap();
        let read = if row == 3 {
            contract::CAM_READ_CYCLES
        } else {
            contract::ARRAY_READ_CYCLES
        };
        assert_eq!(last(), read, "row {row} lookup");
    }
    let sume = SharedDeviceState::default();
    sume.with(|d| d.maps.configure(0, MapDef::new(MapType::Array, 4, 64, 2)))
        .unwrap();
    let mut hs = Abi::Sume.helpers(&sume);
    let _ = hs.call(2, &mut mem, [contract::map_handle(0), 0, 0, 0, 0]);
    assert_eq!(sume.with(|d| d.engine(0).last_call.unwrap().cycles), 2);
}

/// `xdp_adjust_head` costs a port word read and written a clock of the
/// metadata it moves (as the call finds it, taken or not); the metadata
/// lands at the new `data_meta`.
#[test]
fn adjust_head_moves_the_metadata_a_word_a_clock() {
    let (dev, mut mem, mut h) = xdp_setup(&[]);
    let last = || dev.with(|d| d.engine(0).last_call.map(|c| c.cycles));
    let ctx = |mem: &Memory, off| mem.load(contract::CTX_BASE + off, Width::W).unwrap();
    assert_eq!(
        call(&mut h, &mut mem, 44, [contract::CTX_BASE, 4, 0, 0, 0]),
        Ok(0)
    );
    assert_eq!(last(), Some(1));
    assert_eq!(
        call(
            &mut h,
            &mut mem,
            44,
            [contract::CTX_BASE, -4i64 as u64, 0, 0, 0]
        ),
        Ok(0)
    );
    // 20 bytes of metadata: 3 words.
    assert_eq!(
        call(
            &mut h,
            &mut mem,
            54,
            [contract::CTX_BASE, -20i64 as u64, 0, 0, 0]
        ),
        Ok(0)
    );
    let meta = ctx(&mem, abi::xdp_md::DATA_META);
    let m: Vec<u8> = (1..=20).collect();
    mem.write_bytes(meta, &m).unwrap();
    for delta in [-6i64, 3, 9, -100, 0] {
        assert_eq!(
            call(
                &mut h,
                &mut mem,
                44,
                [contract::CTX_BASE, delta as u64, 0, 0, 0]
            ),
            Ok(0)
        );
        assert_eq!(last(), Some(4), "delta {delta}");
        let meta = ctx(&mem, abi::xdp_md::DATA_META);
        assert_eq!(ctx(&mem, abi::xdp_md::DATA) - meta, 20);
        assert_eq!(mem.read_bytes(meta, 20).unwrap(), &m[..], "delta {delta}");
    }
    // Refused (-EINVAL): the same latency, nothing moves.
    let meta = ctx(&mem, abi::xdp_md::DATA_META);
    assert_eq!(
        call(&mut h, &mut mem, 44, [contract::CTX_BASE, 10_000, 0, 0, 0]),
        Ok((-contract::EINVAL) as u64)
    );
    assert_eq!(last(), Some(4));
    assert_eq!(ctx(&mem, abi::xdp_md::DATA_META), meta);
}

/// The map unit takes an operation a clock (`MapIssue::Pipelined`, the
/// RTL's): of operations requested in one clock each waits for the slots
/// of those before it (one clock, or while a pointer key's and an update
/// value's words are read), not for their latencies; an update's value
/// lands in the clock after the unit runs it. The published preset
/// (`MapIssue::Serial`) holds the unit for each operation's whole latency.
#[test]
fn the_map_unit_takes_an_operation_a_clock() {
    for issue in [contract::MapIssue::Pipelined, contract::MapIssue::Serial] {
        let mut cfg = UnitsConfig::default();
        cfg.maps.timing.issue = issue;
        let dev = SharedDeviceState::new(cfg);
        dev.with(|d| {
            d.maps
                .configure(0, MapDef::new(MapType::Array, 4, 64, 4))
                .unwrap();
            d.maps
                .configure(1, MapDef::new(MapType::Hash, 16, 8, 4))
                .unwrap();
        });
        let (mut mem, _) = Abi::Xdp.context(&[0u8; 60], &RxMeta::default()).unwrap();
        dev.with(|d| d.maps.lend(&mut mem)).unwrap();
        let mut h: Vec<Helpers> = (0..3).map(|e| Abi::Xdp.engine_helpers(&dev, e)).collect();
        dev.with(|d| {
            d.arbitrate = true;
            d.cycle = 100;
        });
        let (arr, hash) = (contract::map_handle(0), contract::map_handle(1));
        mem.write_bytes(SP - 64, &[0x5a; 64]).unwrap();
        mem.write_bytes(SP, &[1u8; 16]).unwrap();
        // In one clock, engines 0, 1, 2 in turn: a 64-byte ARRAY update of
        // index 2 (its key at SP + 8), a HASH lookup with a two-word key
        // (16 bytes at SP) and an ARRAY lookup of index 2.
        mem.write_bytes(SP + 8, &2u32.to_le_bytes()).unwrap();
        let cycles = |e: usize| dev.with(|d| d.engine(e).last_call.unwrap().cycles);
        assert_eq!(
            call(&mut h[0], &mut mem, 2, [arr, SP + 8, SP - 64, 0, 0]),
            Ok(0)
        );
        assert_eq!(call(&mut h[1], &mut mem, 1, [hash, SP, 0, 0, 0]), Ok(0));
        assert_eq!(
            call(&mut h[2], &mut mem, 1, [arr, SP + 8, 0, 0, 0]).map(|p| p != 0),
            Ok(true)
        );
        let update = contract::ptr_update_cycles(contract::ARRAY_WRITE_CYCLES, 4, 64);
        let (c0, c1, c2) = (cycles(0), cycles(1), cycles(2));
        assert_eq!(c0, update, "{issue:?}");
        match issue {
            contract::MapIssue::Pipelined => {
                // The update holds 8 slots (its key and 7 of its 8 value
                // words), the HASH lookup 2 (its key's words).
                assert_eq!(c1, 8 + contract::CAM_READ_CYCLES);
                assert_eq!(c2, 8 + 2 + contract::ARRAY_READ_CYCLES);
            }
            contract::MapIssue::Serial => {
                assert_eq!(c1, update + contract::CAM_READ_CYCLES);
                assert_eq!(
                    c2,
                    update + contract::CAM_READ_CYCLES + contract::ARRAY_READ_CYCLES
                );
            }
        }
        // The update runs in the clock of its last value word (100 + 8),
        // its value landing in the next, whatever the preset.
        let p = dev.with(|d| d.pending.clone());
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].at, p[0].addr), (109, arr + 2 * 64), "{issue:?}");
        assert_eq!(p[0].bytes, vec![0x5a; 64]);
    }
}

/// On the data plane (an arbitrating device) a buffer in a map value is
/// read a port word a clock, as the RTL's port reads it: a word changed
/// before its clock is seen; a copy into a map value lands a word at a
/// time, two clocks after each word's read (the last word first: the
/// destination is above the packet).
#[test]
fn map_value_buffers_are_read_a_word_a_clock() {
    let (dev, mut mem, mut h) = xdp_setup(&[(0, MapDef::new(MapType::Array, 4, 24, 2))]);
    dev.with(|d| {
        d.arbitrate = true;
        d.cycle = 100;
    });
    let v = contract::map_handle(0);
    mem.write_bytes(v, &[1u8; 24]).unwrap();
    let r0 = call(&mut h, &mut mem, 28, [v, 16, 0, 0, 0]).unwrap();
    assert_eq!(r0, u64::from(csum_diff(&[1; 16], &[], 0)));
    mem.write_bytes(v, &[9u8; 16]).unwrap();
    dev.with(|d| d.cycle = 101);
    assert_eq!(h.tick(&mut mem, 1), Tick::default());
    dev.with(|d| d.cycle = 102);
    let mut want = [1u8; 16];
    want[8..].fill(9);
    assert_eq!(
        h.tick(&mut mem, 2).answer,
        Some(Ok(HelperOutcome::Return(u64::from(csum_diff(
            &want,
            &[],
            0
        )))))
    );
    // Done: a later clock changes nothing.
    dev.with(|d| d.cycle = 103);
    assert_eq!(h.tick(&mut mem, 3), Tick::default());
    assert_eq!(
        call(&mut h, &mut mem, 189, [contract::CTX_BASE, 0, v + 4, 12, 0]),
        Ok(0)
    );
    let p = dev.with(|d| d.pending.clone());
    let p: Vec<_> = p.iter().map(|w| (w.at, w.addr, w.bytes.len())).collect();
    assert_eq!(p, vec![(106, v + 4, 8), (105, v + 12, 4)]);
    // xdp_store_bytes from the value: the packet written from the words
    // as read, at the answer.
    dev.with(|d| d.cycle = 200);
    assert_eq!(
        call(&mut h, &mut mem, 190, [contract::CTX_BASE, 2, v, 10, 0]),
        Ok(0)
    );
    mem.write_bytes(v, &[7u8; 16]).unwrap();
    dev.with(|d| d.cycle = 201);
    assert_eq!(h.tick(&mut mem, 1), Tick::default());
    dev.with(|d| d.cycle = 202);
    let t = h.tick(&mut mem, 2);
    let data = mem.load(contract::CTX_BASE, Width::W).unwrap();
    assert_eq!(t.answer, None);
    assert_eq!(
        t.packet,
        Some((data + 2, vec![9, 9, 9, 9, 9, 9, 9, 9, 7, 7]))
    );
}

/// Writes landing in one clock on the same map value bytes land in the
/// RTL's order (the value memory's always block in `rtl/ebpf_units.v`):
/// an update's value first, then the `xdp_load_bytes` words in engine
/// index order, whatever order the calls came in. Both cases here are ones
/// where landing in call order kept the other write's bytes.
#[test]
fn same_clock_value_writes_land_in_the_rtl_order() {
    let (dev, mut mem, mut h0) = xdp_setup(&[(0, MapDef::new(MapType::Array, 4, 8, 8))]);
    let mut h1 = Abi::Xdp.engine_helpers(&dev, 1);
    dev.with(|d| {
        d.arbitrate = true;
        d.cycle = 100;
    });
    let v = contract::map_handle(0);
    let ctx = contract::CTX_BASE;
    let data = mem.load(ctx, Width::W).unwrap();
    let pkt: Vec<u8> = (1..=60).collect();
    mem.write_bytes(data, &pkt).unwrap();
    let value = |mem: &Memory, i: u64| mem.read_bytes(v + 8 * i, 8).unwrap().to_vec();

    // Two engines' copies into value 0 in one clock, engine 1 stepped
    // first (the clock's rotation), engine 0 after it: both words land in
    // clock 102, engine 1's last, so its bytes stay.
    assert_eq!(call(&mut h1, &mut mem, 189, [ctx, 0, v, 8, 0]), Ok(0));
    assert_eq!(call(&mut h0, &mut mem, 189, [ctx, 8, v, 8, 0]), Ok(0));
    dev.with(|d| d.land_pending(&mut mem, Some(101)));
    assert_eq!(value(&mem, 0), vec![0; 8], "nothing lands before clock 102");
    dev.with(|d| d.land_pending(&mut mem, Some(102)));
    assert_eq!(value(&mem, 0), pkt[0..8].to_vec(), "engine 1's copy stays");
    assert!(dev.with(|d| d.pending.is_empty()));

    // A copy of seven words by engine 0 from clock 200 (the destination is
    // above the packet: the last word first, word j landing in clock
    // 200 + (6 - j) + 2) and, requested a clock later by engine 1, an
    // update of the value whose copy word lands in the clock the update's
    // value does (201 + its latency): the copy's word stays.
    // The update runs once its slot's words are read, its value landing in
    // the clock after.
    let ran = 1 + u64::from(contract::ptr_map_issue_clocks(true, 4, 8));
    assert!(
        (1..=7).contains(&ran),
        "runs {ran} clocks after the request"
    );
    let j = 6 - (ran - 1);
    dev.with(|d| d.cycle = 200);
    assert_eq!(call(&mut h0, &mut mem, 189, [ctx, 0, v, 56, 0]), Ok(0));
    mem.write_bytes(SP, &[0xee; 8]).unwrap();
    mem.write_bytes(SP + 8, &(j as u32).to_le_bytes()).unwrap();
    dev.with(|d| d.cycle = 201);
    assert_eq!(call(&mut h1, &mut mem, 2, [v, SP + 8, SP, 0, 0]), Ok(0));
    let at = 201 + ran;
    let p = dev.with(|d| d.pending.clone());
    let both: Vec<_> = p
        .iter()
        .filter(|w| w.at == at && w.addr == v + 8 * j)
        .map(|w| (w.source, w.engine))
        .collect();
    assert_eq!(
        both,
        vec![(WriteSource::Copy, 0), (WriteSource::Update, 1)],
        "{p:?}"
    );
    // Landing clock by clock and landing everything at once (a host
    // register access) agree.
    let mut all = mem.clone();
    dev.with(|d| {
        let mut d2 = d.clone();
        d2.land_pending(&mut all, None);
    });
    for now in 202..=208 {
        dev.with(|d| d.land_pending(&mut mem, Some(now)));
    }
    assert!(dev.with(|d| d.pending.is_empty()));
    for m in [&mem, &all] {
        for i in 0..7 {
            let off = 8 * i as usize;
            assert_eq!(value(m, i), pkt[off..off + 8].to_vec(), "value {i}");
        }
    }
}

#[test]
fn csum_diff_helper_takes_any_size() {
    let (_, mut mem, mut h) = xdp_setup(&[]);
    mem.write_bytes(SP, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    // Sizes that are not multiples of 4 are summed, zero-padded.
    assert_eq!(
        call(&mut h, &mut mem, 28, [SP, 3, SP, 5, 0]),
        Ok(csum_diff(&[1, 2, 3], &[1, 2, 3, 4, 5], 0) as u64)
    );
    // Any total size (the kernel's 512-byte limit went with its scratch
    // pad); memory beyond the regions faults.
    let low = SP - 400;
    assert_eq!(
        call(&mut h, &mut mem, 28, [low, 400, low, 300, 0]),
        Ok(csum_diff(
            mem.read_bytes(low, 400).unwrap(),
            mem.read_bytes(low, 300).unwrap(),
            0
        ) as u64)
    );
    assert!(call(&mut h, &mut mem, 28, [SP, 256, SP, 260, 0]).is_err());
    assert_eq!(call(&mut h, &mut mem, 28, [0, 0, 0, 0, 77]), Ok(77));
    assert_eq!(
        call(&mut h, &mut mem, 28, [SP, 4, SP + 4, 4, 0]),
        Ok(csum_diff(&[1, 2, 3, 4], &[5, 6, 7, 8], 0) as u64)
    );
    assert!(call(&mut h, &mut mem, 28, [8, 4, 0, 0, 0]).is_err());
    // A buffer in the context: Linux's verifier refuses it; the model
    // faults, naming it.
    let c = contract::CTX_BASE;
    let e = call(&mut h, &mut mem, 28, [c, 4, SP, 4, 0]).unwrap_err();
    assert!(
        e.contains("from (r1)") && e.contains("in the context"),
        "{e}"
    );
    let e = call(&mut h, &mut mem, 28, [SP, 4, c + 20, 8, 0]).unwrap_err();
    assert!(e.contains("to (r3)") && e.contains("in the context"), "{e}");
    assert!(call(&mut h, &mut mem, 28, [c, 0, SP, 4, 0]).is_ok());
    for id in [189, 190] {
        let e = call(&mut h, &mut mem, id, [c, 0, c + 4, 4, 0]).unwrap_err();
        assert!(
            e.contains("buf (r3)") && e.contains("in the context"),
            "{e}"
        );
        // The argument errors come first, as on the RTL.
        assert_eq!(
            call(&mut h, &mut mem, id, [c, 0x10000, c + 4, 4, 0]),
            Ok((-contract::EFAULT) as u64)
        );
    }
}

#[test]
fn every_unit_has_a_distinct_id_and_name() {
    for (i, u) in UNITS.iter().enumerate() {
        for v in &UNITS[i + 1..] {
            assert_ne!(u.id, v.id);
            assert_ne!(u.name, v.name);
        }
        assert!(unit(u.id).is_some());
    }
    let d = DeviceState::default();
    let m0 = Memory::new();
    // csum_diff: one clock, then 8 bytes a clock of from and of to.
    assert_eq!((unit(28).unwrap().latency)(&d, &m0, &[0, 64, 0, 64, 0]), 17);
    assert_eq!((unit(28).unwrap().latency)(&d, &m0, &[0, 3, 0, 5, 0]), 3);
    assert_eq!((unit(28).unwrap().latency)(&d, &m0, &[0, 0, 0, 0, 0]), 1);
    // The copies: len is r4; a size counts up to 8 KiB.
    assert_eq!((unit(189).unwrap().latency)(&d, &m0, &[0, 0, 0, 17, 0]), 4);
    assert_eq!(
        (unit(190).unwrap().latency)(&d, &m0, &[0, 0, 0, 1 << 31, 0]),
        1025
    );
    // xdp_adjust_tail: one clock, growing zeroes the new bytes a word a clock.
    assert_eq!(
        (unit(65).unwrap().latency)(&d, &m0, &[0, -20i64 as u64, 0, 0, 0]),
        1
    );
    assert_eq!((unit(65).unwrap().latency)(&d, &m0, &[0, 0, 0, 0, 0]), 1);
    assert_eq!((unit(65).unwrap().latency)(&d, &m0, &[0, 20, 0, 0, 0]), 4);
    assert_eq!((unit(5).unwrap().latency)(&d, &m0, &[0; 5]), 1);
    // Every unit is some ABI's helper, registered under its name.
    let h = Abi::Xdp.helpers(&SharedDeviceState::default());
    let t = Abi::Tc.helpers(&SharedDeviceState::default());
    for u in UNITS {
        let name = h.name(u.id).or(t.name(u.id));
        assert_eq!(name, Some(u.name), "helper {}", u.id);
    }
    for &id in TC_HELPER_IDS {
        assert!(t.contains(id) && unit(id).is_some(), "tc helper {id}");
    }
    assert!(!t.contains(51) && !t.contains(44) && h.contains(51) && !h.contains(9));
    let s = Abi::Sume.helpers(&SharedDeviceState::default());
    assert!(s.contains(1) && !s.contains(51));
}

#[test]
fn abis_name_their_helpers_for_the_validator() {
    use crate::validate::Limits;
    let call51 = [crate::build::call(51), crate::build::exit()];
    for (abi, ok) in [(Abi::Xdp, true), (Abi::Tc, false), (Abi::Sume, false)] {
        let limits = Limits {
            helper_known: Some(abi.helper_known()),
            ..Limits::default()
        };
        let p = crate::Program::with_limits(call51.to_vec(), &limits);
        assert_eq!(p.is_ok(), ok, "{abi:?}");
    }
    assert!(sume_helper_known(7) && !sume_helper_known(4) && !sume_helper_known(23));
    assert!(xdp_helper_known(65) && !xdp_helper_known(4));
    assert!(tc_helper_known(9) && tc_helper_known(125) && !tc_helper_known(65));
    assert!(tc_helper_refusal(34).unwrap().contains("random per-boot"));
    assert_eq!(tc_helper_refusal(9), None);
    let maps: Vec<u32> = UNITS
        .iter()
        .filter(|u| u.coprocessor)
        .map(|u| u.id)
        .collect();
    assert_eq!(maps, vec![1, 2, 3, 51]);
}

#[test]
fn contract_numbers_match_the_spec() {
    use crate::contract as c;
    // The published hardware's latencies: CAM write 12 / read 10, TCAM
    // write 26 / read 10 (the project's unit's: docs/rtl.md, "Map
    // latencies").
    assert_eq!(
        (c::PUBLISHED_CAM_READ_CYCLES, c::PUBLISHED_CAM_WRITE_CYCLES),
        (10, 12)
    );
    assert_eq!(
        (
            c::PUBLISHED_TCAM_READ_CYCLES,
            c::PUBLISHED_TCAM_WRITE_CYCLES
        ),
        (10, 26)
    );
    // Linux helper numbers and XDP actions.
    let ids = [
        c::HELPER_MAP_LOOKUP_ELEM,
        c::HELPER_MAP_UPDATE_ELEM,
        c::HELPER_MAP_DELETE_ELEM,
        c::HELPER_KTIME_GET_NS,
        c::HELPER_TRACE_PRINTK,
        c::HELPER_GET_PRANDOM_U32,
        c::HELPER_REDIRECT,
        c::HELPER_CSUM_DIFF,
        c::HELPER_XDP_ADJUST_HEAD,
        c::HELPER_REDIRECT_MAP,
        c::HELPER_XDP_ADJUST_TAIL,
    ];
    assert_eq!(ids, [1, 2, 3, 5, 6, 7, 23, 28, 44, 51, 65]);
    let acts = [
        c::XDP_ABORTED,
        c::XDP_DROP,
        c::XDP_PASS,
        c::XDP_TX,
        c::XDP_REDIRECT,
    ];
    assert_eq!(acts, [0, 1, 2, 3, 4]);
    assert_eq!(
        (c::SUME_DROP, c::SUME_CONTROLLER, c::SUME_FLOOD),
        (0xfff0, 0xfff1, 0xffff)
    );
    let types = [
        c::MAP_TYPE_HASH,
        c::MAP_TYPE_ARRAY,
        c::MAP_TYPE_LPM_TRIE,
        c::MAP_TYPE_DEVMAP,
    ];
    assert_eq!(types, [1, 2, 11, 14]);
    // SUME header: 1+1+1+4+4+2+19 bytes.
    assert_eq!(c::SUME_MD_SIZE, 32);
    assert_eq!(crate::abi::sume_md::HEADROOM + 19, c::SUME_MD_SIZE);
    assert_eq!(c::XDP_MD_SIZE, 6 * 4);
    // The XDP window fits below 4 GiB with its headroom (compile time).
    const _: () = assert!(c::PKT_BASE + (c::PKT_WINDOW as u64) < 1 << 32);
    const _: () = assert!(c::XDP_HEADROOM < c::PKT_WINDOW);
}

/// RFC 1071 checksum of `b` as the 16-bit value a little-endian load of
/// the stored (big-endian) field gives.
fn ip_csum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    (!(s as u16)).swap_bytes()
}

proptest! {
    /// The incremental updates agree with recomputing the checksum, for
    /// 16- and 32-bit fields (as Linux's csum_replace2/4 do).
    #[test]
    fn tc_csum_replace_matches_a_recomputed_checksum(
        mut hdr in proptest::collection::vec(any::<u8>(), 20),
        new16 in any::<u16>(),
        new32 in any::<u32>(),
    ) {
        hdr[10] = 0;
        hdr[11] = 0;
        let sum = ip_csum(&hdr);
        let le16 = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let le32 = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let (old16, old32) = (le16(&hdr, 8), le32(&hdr, 12));
        let mut h2 = hdr.clone();
        h2[8..10].copy_from_slice(&new16.to_le_bytes());
        let a = tc::csum_replace2(sum, old16, new16);
        prop_assert_eq!(fold_eq(a), fold_eq(ip_csum(&h2)));
        h2[12..16].copy_from_slice(&new32.to_le_bytes());
        let b = tc::csum_replace4(a, old32, new32);
        prop_assert_eq!(fold_eq(b), fold_eq(ip_csum(&h2)));
        let diff = csum_diff(&hdr[12..16], &h2[12..16], 0);
        let c = tc::csum_replace_by_diff(a, diff);
        prop_assert_eq!(fold_eq(c), fold_eq(ip_csum(&h2)));
    }
}

/// Ones'-complement checksums have two zeros (0x0000 and 0xffff).
fn fold_eq(x: u16) -> u16 {
    if x == 0xffff { 0 } else { x }
}

#[test]
fn tc_csum_fold() {
    assert_eq!(tc::csum_fold(0), 0xffff);
    assert_eq!(tc::csum_fold(0xffff), 0);
    assert_eq!(tc::csum_fold(0x0001_fffe), 0);
    assert_eq!(tc::csum_fold(0x1234_0000), !0x1234);
}

/// trace_printk's latency is the format's port words and
/// [`contract::PRINTK_STR_WORDS`] of each `%s` of a valid format; its
/// return the formatted length (bytes, not characters); a bad format,
/// a missing NUL or a size past [`contract::PRINTK_FMT_MAX_BYTES`]
/// answer -EINVAL after the format's words; a width saturates at
/// [`contract::PRINTK_WIDTH_MAX`].
#[test]
fn printk_latency_reads_strings_and_returns_bytes() {
    let (dev, mut mem, mut h) = xdp_setup(&[]);
    let fmt = SP - 96;
    let put = |mem: &mut Memory, at: u64, b: &[u8]| mem.write_bytes(at, b).unwrap();
    put(&mut mem, SP - 32, b"abc\0");
    // "s=%s|%5s|%-2c" + NUL: 14 bytes, two words; two strings.
    put(&mut mem, fmt, b"s=%s|%5s|%-2c\0");
    let r = call(
        &mut h,
        &mut mem,
        6,
        [fmt, 14, SP - 32, SP - 30, u64::from(b'z')],
    );
    assert_eq!(r, Ok(2 + 3 + 1 + 5 + 1 + 2));
    let last = || dev.with(|d| d.engine(0).last_call.unwrap().cycles);
    assert_eq!(last(), 1 + 2 + 2 * contract::PRINTK_STR_WORDS);
    let rec = dev.with(|d| d.log.records()[0].clone());
    assert_eq!(rec.text, "s=abc|    c|z ");
    // The record the host reads: the format's two words, then the two
    // strings' eight words each; the host's text from them alone.
    assert_eq!(
        rec.raw.words.len(),
        2 + 2 * contract::PRINTK_STR_WORDS as usize
    );
    assert_eq!(rec.raw.words[2], u64::from_le_bytes(*b"abc\0\0\0\0\0"));
    assert_eq!((rec.raw.ret, rec.raw.strings, rec.raw.efault), (14, 2, 0));
    assert_eq!(rec.raw.decode(), Some((rec.fmt.clone(), rec.text.clone())));
    // A non-UTF-8 byte counts one; no strings: the format's words only.
    put(&mut mem, fmt, b"\xff%d\0");
    assert_eq!(call(&mut h, &mut mem, 6, [fmt, 4, 7, 0, 0]), Ok(2));
    assert_eq!(last(), 2);
    // A bad conversion: -EINVAL, and its %s is not read.
    put(&mut mem, fmt, b"%s %q\0");
    let einval = (-contract::EINVAL) as u64;
    assert_eq!(
        call(&mut h, &mut mem, 6, [fmt, 6, SP - 32, 0, 0]),
        Ok(einval)
    );
    assert_eq!(last(), 2);
    // No NUL in the size; size 0.
    put(&mut mem, fmt, b"%d!\0");
    assert_eq!(call(&mut h, &mut mem, 6, [fmt, 3, 1, 0, 0]), Ok(einval));
    assert_eq!(call(&mut h, &mut mem, 6, [fmt, 0, 1, 0, 0]), Ok(einval));
    assert_eq!(last(), 1);
    // A width past FIELD_WIDTH_MAX saturates.
    put(&mut mem, fmt, b"%099999999999d\0");
    let r = call(&mut h, &mut mem, 6, [fmt, 15, 5, 0, 0]);
    assert_eq!(r, Ok(u64::from(contract::PRINTK_WIDTH_MAX)));
    // A string running off the stack's end prints "(efault)".
    put(&mut mem, contract::STACK_TOP - 3, b"xyz");
    put(&mut mem, fmt, b"%s\0");
    let r = call(&mut h, &mut mem, 6, [fmt, 3, contract::STACK_TOP - 3, 0, 0]);
    assert_eq!(r, Ok(contract::PRINTK_EFAULT_TEXT.len() as u64));
    let rec = dev.with(|d| d.log.records().last().copied().cloned().unwrap());
    assert_eq!((rec.text.as_str(), rec.raw.efault), ("(efault)", 1));
    assert_eq!(rec.raw.words[1], u64::from_le_bytes(*b"xyz\0\0\0\0\0"));
    assert_eq!(rec.raw.decode(), Some((rec.fmt.clone(), rec.text.clone())));
    // An unreadable format faults after its words.
    assert!(call(&mut h, &mut mem, 6, [8, 16, 0, 0, 0]).is_err());
    assert_eq!(last(), 3);
}

/// The trace FIFO keeps [`contract::TRACE_FIFO_RECORDS`] records and
/// counts the rest dropped; draining empties it.
#[test]
fn trace_fifo_is_bounded() {
    let (dev, mut mem, mut h) = xdp_setup(&[]);
    mem.write_bytes(SP - 8, b"n=%d\0").unwrap();
    let n = contract::TRACE_FIFO_RECORDS as u64 + 5;
    for i in 0..n {
        assert_eq!(
            call(&mut h, &mut mem, 6, [SP - 8, 5, i, 0, 0]),
            Ok(2 + i.to_string().len() as u64)
        );
    }
    let (recs, dropped) = dev.with(|d| (d.log.drain(), d.log.dropped()));
    assert_eq!(recs.len(), contract::TRACE_FIFO_RECORDS);
    assert_eq!(dropped, 5);
    assert_eq!(recs[0].text, "n=0");
    assert_eq!(recs[recs.len() - 1].text, format!("n={}", recs.len() - 1));
    assert!(dev.with(|d| d.log.is_empty()));
}

/// A call is taken only with its words free in the FIFO (each argument
/// counted as a %s): a long format fills the words before the records.
#[test]
fn trace_fifo_counts_words() {
    let (dev, mut mem, mut h) = xdp_setup(&[]);
    // 255 bytes and a NUL: 32 words, plus 3 * 8 for the arguments: 56.
    let mut fmt = vec![b'a'; 255];
    fmt.push(0);
    mem.write_bytes(SP - 256, &fmt).unwrap();
    let need = contract::trace_record_words(256, 0, 3) as usize;
    assert_eq!(need, 56);
    for _ in 0..20 {
        assert_eq!(call(&mut h, &mut mem, 6, [SP - 256, 256, 0, 0, 0]), Ok(255));
    }
    let q = dev.with(|d| d.log.queue(0).cloned().unwrap());
    // Each kept record holds its 32 words (no strings): the k-th call is
    // taken while 32 * k + 56 <= 512, so 15 are, and 5 dropped.
    let kept = (0..)
        .take_while(|k| k * 32 + need <= contract::TRACE_FIFO_WORDS)
        .count();
    assert_eq!(kept, 15);
    assert_eq!(q.count(u64::MAX), kept);
    assert_eq!(q.dropped(u64::MAX), 20 - kept as u64);
    // The host takes the head out: its words are free again.
    let mut q2 = q.clone();
    assert_eq!(q2.pop(u64::MAX).map(|r| r.raw.words.len()), Some(32));
    assert_eq!(q2.count(u64::MAX), q.count(u64::MAX) - 1);
}

/// trace_vprintk's record: the format's words, then the array's; the
/// host's text from them.
#[test]
fn vprintk_record_holds_the_array() {
    let (dev, mut mem, mut h) = xdp_setup(&[]);
    mem.write_bytes(SP - 16, b"%d-%x\0").unwrap();
    let arr: Vec<u8> = [7u64, 255].iter().flat_map(|v| v.to_le_bytes()).collect();
    mem.write_bytes(SP - 32, &arr).unwrap();
    let id = contract::HELPER_TRACE_VPRINTK;
    assert_eq!(
        call(&mut h, &mut mem, id, [SP - 16, 6, SP - 32, 16, 0]),
        Ok(4)
    );
    let rec = dev.with(|d| d.log.records()[0].clone());
    assert_eq!(rec.text, "7-ff");
    assert!(rec.raw.vprintk);
    assert_eq!(rec.raw.words[1..], [7, 255]);
    assert_eq!(rec.raw.decode(), Some((rec.fmt.clone(), rec.text.clone())));
}
