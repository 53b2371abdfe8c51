//! End-to-end: hand-assembled programs through the reference interpreter,
//! calling the helper units through both ABIs.

use super::*;
use crate::Insn;
use crate::contract::map_handle;
use crate::maps::{MapDef, MapType};
use crate::units::UnitsConfig;

// A few opcodes, written out (tests only; the ISA table is the authority).
const MOV64_IMM: u8 = 0xb7;
const MOV64_REG: u8 = 0xbf;
const MOV32_IMM: u8 = 0xb4;
const ADD64_IMM: u8 = 0x07;
const XOR64_IMM: u8 = 0xa7;
const LDXB: u8 = 0x71;
const LDXH: u8 = 0x69;
const LDXW: u8 = 0x61;
const LDXDW: u8 = 0x79;
const STB: u8 = 0x72;
const STW: u8 = 0x62;
const STXDW: u8 = 0x7b;
const ATOMIC_DW: u8 = 0xdb;
const JEQ_IMM: u8 = 0x15;
const JNE_IMM: u8 = 0x55;
const JEQ_REG: u8 = 0x1d;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

fn i(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn::new(opc, dst, src, off, imm)
}

fn lddw(dst: u8, v: u64) -> [Insn; 2] {
    [
        i(0x18, dst, 0, 0, v as u32 as i32),
        i(0, 0, 0, 0, (v >> 32) as u32 as i32),
    ]
}

fn mov(dst: u8, imm: i32) -> Insn {
    i(MOV64_IMM, dst, 0, 0, imm)
}

fn call(id: u32) -> Insn {
    i(CALL, 0, 0, 0, id as i32)
}

fn exit() -> Insn {
    i(EXIT, 0, 0, 0, 0)
}

fn prog(parts: &[&[Insn]]) -> Program {
    Program::new(parts.concat()).unwrap()
}

fn device(defs: &[(usize, MapDef)]) -> SharedDeviceState {
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| {
        for (i, def) in defs {
            d.maps.configure(*i, def.clone()).unwrap();
        }
    });
    dev
}

fn frame(n: usize) -> Vec<u8> {
    (0..n).map(|x| x as u8).collect()
}

fn rx(port: u32) -> RxMeta {
    RxMeta {
        in_port: port,
        ..RxMeta::default()
    }
}

fn run(abi: Abi, p: &Program, dev: &SharedDeviceState, pkt: &[u8], port: u32) -> Execution {
    let x = execute_plain(abi, p, dev, 0, pkt, &rx(port)).unwrap();
    assert!(dev.with(|d| d.maps.is_home()), "values reclaimed");
    x
}

#[test]
fn xdp_context_layout() {
    let (mut m, a) = Abi::Xdp
        .context(
            &frame(60),
            &RxMeta {
                in_port: 2,
                rx_queue_index: 5,
                ..RxMeta::default()
            },
        )
        .unwrap();
    assert_eq!(a[0], contract::CTX_BASE);
    let w = |o| {
        m.load(contract::CTX_BASE + o, crate::isa::Width::W)
            .unwrap()
    };
    let data = contract::PKT_BASE + 256;
    assert_eq!(w(xdp_md::DATA), data);
    assert_eq!(w(xdp_md::DATA_END), data + 60);
    assert_eq!(w(xdp_md::DATA_META), data);
    assert_eq!(w(xdp_md::INGRESS_IFINDEX), 2);
    assert_eq!(w(xdp_md::RX_QUEUE_INDEX), 5);
    assert_eq!(m.load(data + 5, crate::isa::Width::B).unwrap(), 5);
    assert_eq!(
        m.region(PACKET_REGION).unwrap().data.len(),
        contract::PKT_WINDOW
    );
    assert!(
        m.store(contract::CTX_BASE, crate::isa::Width::W, 0)
            .is_err()
    );
    assert_eq!(Abi::Xdp.frame(&m).unwrap(), frame(60));
}

#[test]
fn sume_context_layout() {
    let r = RxMeta {
        in_port: 3,
        src_queue: 4,
        dst_queue: 5,
        timestamp_ns: 2_000_000_123,
        ..RxMeta::default()
    };
    let (m, a) = Abi::Sume.context(&frame(64), &r).unwrap();
    assert_eq!(a[0], contract::PKT_BASE);
    let w = &m.region(PACKET_REGION).unwrap().data;
    assert_eq!(&w[..3], &[3, 4, 5]);
    assert_eq!(&w[3..7], &2u32.to_le_bytes());
    assert_eq!(&w[7..11], &123u32.to_le_bytes());
    assert_eq!(&w[11..13], &64u16.to_le_bytes());
    assert_eq!(&w[13..32], &[0; 19]);
    assert_eq!(&w[32..96], &frame(64)[..]);
    assert_eq!(Abi::Sume.frame(&m).unwrap(), frame(64));
    assert!(Abi::Sume.context(&vec![0; 70_000], &r).is_err());
}

#[test]
fn verdict_decoding() {
    let r = rx(1);
    let x = |r0| Abi::Xdp.verdict(r0, &r, None);
    assert_eq!(x(0), Verdict::Aborted);
    assert_eq!(x(1), Verdict::Drop);
    assert_eq!(x(2), Verdict::Pass);
    assert_eq!(x(3), Verdict::Tx(1));
    assert_eq!(x(4), Verdict::Aborted, "redirect without a target");
    assert_eq!(x(5), Verdict::Aborted);
    assert_eq!(x(1 << 32 | 2), Verdict::Pass, "XDP actions are u32");
    assert_eq!(
        Abi::Xdp.verdict(4, &r, Some(RedirectTarget::Port(7))),
        Verdict::Redirect(7)
    );
    let s = |r0| Abi::Sume.verdict(r0, &r, None);
    assert_eq!(s(0), Verdict::Tx(0));
    assert_eq!(s(0xffef), Verdict::Tx(0xffef));
    assert_eq!(s(0xfff0), Verdict::Drop);
    assert_eq!(s(0xfff1), Verdict::Pass);
    assert_eq!(s(0xffff), Verdict::Flood);
    assert_eq!(s(0xfff2), Verdict::Aborted);
    assert_eq!(s(1 << 32), Verdict::Aborted);
}

/// `counter[0] += 1` through the lookup pointer with an atomic add.
fn xdp_counter() -> Program {
    prog(&[
        &[i(MOV64_REG, 6, 1, 0, 0), i(STW, 10, 0, -4, 0)],
        &lddw(1, map_handle(2)),
        &[
            i(MOV64_REG, 2, 10, 0, 0),
            i(ADD64_IMM, 2, 0, 0, -4),
            call(1),
            i(JEQ_IMM, 0, 0, 4, 0),
            mov(1, 1),
            i(ATOMIC_DW, 0, 1, 0, 0),
            mov(0, 2),
            exit(),
            mov(0, 0),
            exit(),
        ],
    ])
}

#[test]
fn xdp_array_counter_via_lookup_pointer() {
    let dev = device(&[(2, MapDef::new(MapType::Array, 4, 8, 4).named("cnt"))]);
    let p = xdp_counter();
    for n in 1..=3u64 {
        let x = run(Abi::Xdp, &p, &dev, &frame(64), 0);
        assert_eq!(x.verdict, Verdict::Pass);
        assert_eq!((x.helper_calls, x.helper_cycles), (1, 2));
        let v = dev.with(|d| d.maps.lookup_value(map_handle(2), &0u32.to_le_bytes()));
        assert_eq!(v.unwrap(), Some(n.to_le_bytes().to_vec()));
    }
    // The same program on a 4-entry HASH misses: 0 -> aborted.
    let dev = device(&[(2, MapDef::new(MapType::Hash, 4, 8, 4))]);
    let x = run(Abi::Xdp, &p, &dev, &frame(64), 0);
    let cam = crate::contract::CAM_READ_CYCLES as u64;
    assert_eq!((x.verdict, x.helper_cycles), (Verdict::Aborted, cam));
}

#[test]
fn xdp_hash_update_through_pointers() {
    let dev = device(&[(0, MapDef::new(MapType::Hash, 4, 8, 4))]);
    // key 7 at r10-4, value 0x1122334455667788 at r10-16, flags NOEXIST.
    let p = prog(&[
        &[i(STW, 10, 0, -4, 7)],
        &lddw(1, 0x1122_3344_5566_7788),
        &[i(STXDW, 10, 1, -16, 0)],
        &lddw(1, map_handle(0)),
        &[
            i(MOV64_REG, 2, 10, 0, 0),
            i(ADD64_IMM, 2, 0, 0, -4),
            i(MOV64_REG, 3, 10, 0, 0),
            i(ADD64_IMM, 3, 0, 0, -16),
            mov(4, 1),
            call(2),
            exit(),
        ],
    ]);
    let x = run(Abi::Xdp, &p, &dev, &frame(64), 0);
    assert_eq!(x.r0, 0);
    assert_eq!(x.helper_cycles, crate::contract::CAM_WRITE_CYCLES as u64);
    let x = run(Abi::Xdp, &p, &dev, &frame(64), 0);
    assert_eq!(x.r0, (-contract::EEXIST) as u64);
    let v = dev.with(|d| d.maps.lookup_value(map_handle(0), &7u32.to_le_bytes()));
    assert_eq!(
        v.unwrap(),
        Some(0x1122_3344_5566_7788u64.to_le_bytes().to_vec())
    );
}

fn redirect_map_prog(key: i32, flags: i32) -> Program {
    prog(&[
        &lddw(1, map_handle(1)),
        &[mov(2, key), mov(3, flags), call(51), exit()],
    ])
}

#[test]
fn xdp_redirect_map_and_redirect() {
    let dev = device(&[(1, MapDef::new(MapType::Devmap, 4, 4, 8))]);
    dev.with(|d| {
        d.maps
            .update(map_handle(1), &1u32.to_le_bytes(), &3u32.to_le_bytes(), 0)
    })
    .value
    .unwrap();
    let v = |key, flags| {
        run(
            Abi::Xdp,
            &redirect_map_prog(key, flags),
            &dev,
            &frame(64),
            0,
        )
    };
    assert_eq!(v(1, 0).verdict, Verdict::Redirect(3));
    assert_eq!(v(1, 0).helper_cycles, 2);
    assert_eq!(
        v(2, 1).verdict,
        Verdict::Drop,
        "miss returns the flags' action"
    );
    assert_eq!(v(2, 2).verdict, Verdict::Pass);
    assert_eq!(v(2, 0).verdict, Verdict::Aborted);
    assert_eq!(v(2, 8).verdict, Verdict::Flood, "broadcast");
    assert_eq!(v(1, 0x100).verdict, Verdict::Aborted, "unknown flag");
    let p = prog(&[&[mov(1, 5), mov(2, 0), call(23), exit()]]);
    assert_eq!(
        run(Abi::Xdp, &p, &dev, &frame(64), 0).verdict,
        Verdict::Redirect(5)
    );
    let p = prog(&[&[mov(1, 5), mov(2, 1), call(23), exit()]]);
    assert_eq!(
        run(Abi::Xdp, &p, &dev, &frame(64), 0).verdict,
        Verdict::Aborted
    );
    // A redirect target does not leak into the next packet.
    let p = prog(&[&[mov(0, 4), exit()]]);
    assert_eq!(
        run(Abi::Xdp, &p, &dev, &frame(64), 0).verdict,
        Verdict::Aborted
    );
    // XDP_TX goes back out of the input port.
    let p = prog(&[&[mov(0, 3), exit()]]);
    assert_eq!(
        run(Abi::Xdp, &p, &dev, &frame(64), 2).verdict,
        Verdict::Tx(2)
    );
}

/// adjust_head(delta); on success write 0xaa at the new data and pass.
fn adjust_prog(helper: u32, delta: i32) -> Program {
    prog(&[&[
        i(MOV64_REG, 6, 1, 0, 0),
        mov(2, delta),
        call(helper),
        i(JNE_IMM, 0, 0, 4, 0),
        i(LDXW, 2, 6, 0, 0),
        i(STB, 2, 0, 0, 0xaa),
        mov(0, 2),
        exit(),
        exit(),
    ]])
}

#[test]
fn xdp_adjust_head() {
    let dev = device(&[]);
    let pkt = frame(60);
    let x = run(Abi::Xdp, &adjust_prog(44, -14), &dev, &pkt, 0);
    assert_eq!(x.verdict, Verdict::Pass);
    assert_eq!(x.frame.len(), 74);
    assert_eq!(x.frame[0], 0xaa);
    assert_eq!(&x.frame[14..], &pkt[..]);
    let x = run(Abi::Xdp, &adjust_prog(44, 46), &dev, &pkt, 0);
    assert_eq!(x.frame.len(), 14);
    assert_eq!(x.frame[0], 0xaa);
    assert_eq!(x.frame[1..], pkt[47..]);
    // The first 40 bytes of the headroom are Linux's xdp_frame.
    let x = run(Abi::Xdp, &adjust_prog(44, -216), &dev, &pkt, 0);
    assert_eq!(x.frame.len(), 276);
    for bad in [47, -217, -256, i32::MIN] {
        let x = run(Abi::Xdp, &adjust_prog(44, bad), &dev, &pkt, 0);
        assert_eq!(x.r0, (-contract::EINVAL) as u64, "delta {bad}");
        assert_eq!(x.verdict, Verdict::Aborted);
        assert_eq!(x.frame, pkt);
    }
}

#[test]
fn xdp_adjust_tail() {
    let dev = device(&[]);
    let pkt = frame(60);
    let x = run(Abi::Xdp, &adjust_prog(65, -10), &dev, &pkt, 0);
    assert_eq!(x.frame.len(), 50);
    assert_eq!(x.frame[1..], pkt[1..50]);
    let x = run(Abi::Xdp, &adjust_prog(65, 100), &dev, &pkt, 0);
    assert_eq!(x.frame.len(), 160);
    assert_eq!(&x.frame[60..], &[0; 100][..]);
    // The window is PKT_WINDOW bytes; the frame starts 256 bytes in.
    let w = contract::PKT_WINDOW as i32;
    let room = w - 256 - 60;
    assert_eq!(
        run(Abi::Xdp, &adjust_prog(65, room), &dev, &pkt, 0)
            .frame
            .len() as i32,
        w - 256
    );
    for bad in [room + 1, -47] {
        let x = run(Abi::Xdp, &adjust_prog(65, bad), &dev, &pkt, 0);
        assert_eq!(x.r0, (-contract::EINVAL) as u64, "offset {bad}");
    }
    assert_eq!(
        run(Abi::Xdp, &adjust_prog(65, -46), &dev, &pkt, 0)
            .frame
            .len(),
        14
    );
}

#[test]
fn xdp_fault_aborts_and_returns_the_values() {
    let dev = device(&[(0, MapDef::new(MapType::Array, 4, 8, 1))]);
    // Write through a lookup pointer past the end of the map's values.
    let p = prog(&[
        &[i(STW, 10, 0, -4, 0)],
        &lddw(1, map_handle(0)),
        &[
            i(MOV64_REG, 2, 10, 0, 0),
            i(ADD64_IMM, 2, 0, 0, -4),
            call(1),
            i(STXDW, 0, 0, 8, 0),
            exit(),
        ],
    ]);
    let x = run(Abi::Xdp, &p, &dev, &frame(64), 0);
    assert_eq!(x.verdict, Verdict::Aborted);
    let f = x.fault.unwrap();
    assert!(f.to_string().contains("0x40000008"), "{f}");
    assert_eq!(x.helper_calls, 1);
}

#[test]
fn xdp_time_random_printk_csum() {
    let dev = device(&[]);
    dev.with(|d| d.advance(400));
    let p = prog(&[&[call(5), exit()]]);
    assert_eq!(run(Abi::Xdp, &p, &dev, &frame(64), 0).r0, 2000);
    let p = prog(&[&[call(7), exit()]]);
    let a = run(Abi::Xdp, &p, &dev, &frame(64), 0).r0;
    let b = run(Abi::Xdp, &p, &dev, &frame(64), 0).r0;
    let mut d2 = crate::units::DeviceState::default();
    assert_eq!((a, b), (d2.next_random() as u64, d2.next_random() as u64));
    // trace_printk("x=%d\n"-less, 42): "x=%d" + NUL on the stack.
    let p = prog(&[&[
        i(STW, 10, 0, -8, i32::from_le_bytes(*b"x=%d")),
        i(STB, 10, 0, -4, 0),
        i(MOV64_REG, 1, 10, 0, 0),
        i(ADD64_IMM, 1, 0, 0, -8),
        mov(2, 5),
        mov(3, 42),
        call(6),
        exit(),
    ]]);
    assert_eq!(run(Abi::Xdp, &p, &dev, &frame(64), 0).r0, 4);
    let log: Vec<_> = dev.with(|d| d.log.records().into_iter().cloned().collect());
    assert_eq!(
        (log[0].fmt.as_str(), log[0].text.as_str(), log[0].cycle),
        ("x=%d", "x=42", 400)
    );
    // csum_diff over the first 8 bytes of the frame (from) and 4 zero bytes
    // (to), seed 0.
    let p = prog(&[&[
        i(LDXW, 1, 1, 0, 0),
        i(STW, 10, 0, -4, 0),
        mov(2, 8),
        i(MOV64_REG, 3, 10, 0, 0),
        i(ADD64_IMM, 3, 0, 0, -4),
        mov(4, 4),
        mov(5, 0),
        call(28),
        exit(),
    ]]);
    let pkt = frame(64);
    let want = crate::units::csum_diff(&pkt[..8], &[0; 4], 0) as u64;
    let x = run(Abi::Xdp, &p, &dev, &pkt, 0);
    // contract::helper_mem_clocks: one clock, then one per 8-byte word of
    // each buffer (one of `from`, one of `to`).
    assert_eq!((x.r0, x.helper_cycles), (want, 3));
}

#[test]
fn sume_wire() {
    let dev = device(&[]);
    let p = prog(&[&[i(LDXB, 0, 1, 0, 0), i(XOR64_IMM, 0, 0, 0, 1), exit()]]);
    for port in 0..4 {
        let x = run(Abi::Sume, &p, &dev, &frame(64), port);
        assert_eq!(x.verdict, Verdict::Tx(port ^ 1));
        assert_eq!(x.frame, frame(64));
    }
}

/// Look the destination MAC (frame bytes 0..6, read as 8 bytes: the C
/// wrapper's habit) up by value; flood on a miss.
fn sume_switch() -> Program {
    prog(&[
        &[i(LDXDW, 2, 1, 32, 0)],
        &lddw(1, map_handle(0)),
        &[
            call(1),
            i(MOV32_IMM, 1, 0, 0, -1),
            i(JEQ_REG, 0, 1, 1, 0),
            exit(),
            mov(0, 0xffff),
            exit(),
        ],
    ])
}

#[test]
fn sume_lookup_by_value_masks_the_key() {
    let dev = device(&[(0, MapDef::new(MapType::Hash, 6, 2, 16))]);
    let mac = [0x02, 0, 0, 0, 0, 0x07];
    dev.with(|d| d.maps.update(map_handle(0), &mac, &3u16.to_le_bytes(), 0))
        .value
        .unwrap();
    let mut pkt = frame(64);
    pkt[..6].copy_from_slice(&mac);
    let x = run(Abi::Sume, &sume_switch(), &dev, &pkt, 0);
    assert_eq!(
        x.verdict,
        Verdict::Tx(3),
        "bytes 6..8 are cut by the key mask"
    );
    assert_eq!(x.helper_cycles, crate::contract::CAM_READ_CYCLES as u64);
    pkt[5] = 8;
    assert_eq!(
        run(Abi::Sume, &sume_switch(), &dev, &pkt, 0).verdict,
        Verdict::Flood
    );
}

#[test]
fn sume_learn_then_lookup_by_value() {
    let dev = device(&[(0, MapDef::new(MapType::Hash, 6, 2, 16))]);
    // update(map, key = src-like constant | garbage, value = 0xdead0002, ANY)
    // then return lookup(map, key): value cut to 2 bytes -> port 2.
    let key = 0xffff_0a0b_0c0d_0e0fu64;
    let p = prog(&[
        &lddw(1, map_handle(0)),
        &lddw(2, key),
        &lddw(3, 0xdead_0002),
        &[mov(4, 0), call(2), i(JNE_IMM, 0, 0, 6, 0)],
        &lddw(1, map_handle(0)),
        &lddw(2, key & 0xffff_ffff_ffff),
        &[call(1), exit(), mov(0, 0xfff0), exit()],
    ]);
    let x = run(Abi::Sume, &p, &dev, &frame(64), 0);
    assert_eq!(x.verdict, Verdict::Tx(2));
    let cam = crate::contract::CAM_READ_CYCLES + crate::contract::CAM_WRITE_CYCLES;
    assert_eq!((x.helper_calls, x.helper_cycles), (2, cam as u64));
    let v = dev.with(|d| d.maps.lookup_value(map_handle(0), &key.to_le_bytes()[..6]));
    assert_eq!(v.unwrap(), Some(vec![2, 0]));
    // Delete by value, then the lookup misses: 0xffffffff is not a port.
    let p = prog(&[&lddw(1, map_handle(0)), &lddw(2, key), &[call(3), exit()]]);
    assert_eq!(run(Abi::Sume, &p, &dev, &frame(64), 0).r0, 0);
    assert_eq!(
        run(Abi::Sume, &p, &dev, &frame(64), 0).r0,
        (-contract::ENOENT) as u64
    );
    let x = run(Abi::Sume, &sume_switch(), &dev, &frame(64), 0);
    assert_eq!(x.verdict, Verdict::Flood);
}

#[test]
fn sume_lpm_router_by_value() {
    // key = u32 prefixlen (low half) + 4 address bytes (high half).
    let dev = device(&[(0, MapDef::new(MapType::LpmTrie, 8, 2, 16))]);
    let route = |plen: u32, ip: [u8; 4], port: u16| {
        let mut k = plen.to_le_bytes().to_vec();
        k.extend_from_slice(&ip);
        dev.with(|d| d.maps.update(map_handle(0), &k, &port.to_le_bytes(), 0))
            .value
            .unwrap();
    };
    route(8, [10, 0, 0, 0], 1);
    route(24, [10, 1, 2, 0], 2);
    // Build the key from the IPv4 destination (frame bytes 30..34).
    let p = prog(&[
        &[
            i(LDXW, 2, 1, 32 + 30, 0),
            i(0x67, 2, 0, 0, 32), // lsh64 r2, 32
            i(0x47, 2, 0, 0, 32), // or64 r2, 32 (prefixlen)
        ],
        &lddw(1, map_handle(0)),
        &[call(1), exit()],
    ]);
    let mut pkt = frame(64);
    pkt[30..34].copy_from_slice(&[10, 1, 2, 9]);
    let x = run(Abi::Sume, &p, &dev, &pkt, 0);
    let tcam = crate::contract::TCAM_READ_CYCLES as u64;
    assert_eq!((x.verdict, x.helper_cycles), (Verdict::Tx(2), tcam));
    pkt[30..34].copy_from_slice(&[10, 9, 9, 9]);
    assert_eq!(run(Abi::Sume, &p, &dev, &pkt, 0).verdict, Verdict::Tx(1));
    pkt[30..34].copy_from_slice(&[11, 9, 9, 9]);
    assert_eq!(run(Abi::Sume, &p, &dev, &pkt, 0).r0, 0xffff_ffff);
}

#[test]
fn sume_reads_length_and_timestamp() {
    let dev = device(&[]);
    let p = prog(&[&[i(LDXH, 0, 1, 11, 0), exit()]]);
    assert_eq!(
        run(Abi::Sume, &p, &dev, &frame(99), 0).verdict,
        Verdict::Tx(99)
    );
    let p = prog(&[&[i(LDXW, 0, 1, 7, 0), exit()]]);
    let r = RxMeta {
        timestamp_ns: 5_000_000_777,
        ..RxMeta::default()
    };
    let x = execute_plain(Abi::Sume, &p, &dev, 0, &frame(64), &r).unwrap();
    assert_eq!(x.r0, 777);
    // A program may shorten the frame through `length`.
    let p = prog(&[&[i(0x6a, 1, 0, 11, 20), mov(0, 1), exit()]]);
    assert_eq!(run(Abi::Sume, &p, &dev, &frame(64), 0).frame, frame(20));
}

#[test]
fn engines_keep_their_own_redirect_state() {
    let dev = device(&[(1, MapDef::new(MapType::Devmap, 4, 4, 8))]);
    dev.with(|d| {
        d.maps
            .update(map_handle(1), &1u32.to_le_bytes(), &6u32.to_le_bytes(), 0)
    })
    .value
    .unwrap();
    let p = redirect_map_prog(1, 0);
    let x = execute_plain(Abi::Xdp, &p, &dev, 3, &frame(64), &rx(0)).unwrap();
    assert_eq!(x.verdict, Verdict::Redirect(6));
    assert_eq!(
        dev.with(|d| d.engine(3).redirect),
        Some(RedirectTarget::Port(6))
    );
    assert_eq!(dev.with(|d| d.engine(0).redirect), None);
}

/// CPUMAP and XSKMAP: a present index (first value word non-zero) sends the
/// packet to that host queue; an absent one takes the flags' action; the
/// broadcast flags abort, as Linux.
#[test]
fn redirect_map_to_host_queues() {
    use crate::units::HostQueue;
    for (kind, queue) in [
        (MapType::Cpumap, HostQueue::Cpu(2)),
        (MapType::Xskmap, HostQueue::Xsk(2)),
    ] {
        let dev = device(&[(1, MapDef::new(kind, 4, 4, 4))]);
        dev.with(|d| {
            d.maps
                .update(map_handle(1), &2u32.to_le_bytes(), &9u32.to_le_bytes(), 0)
        })
        .value
        .unwrap();
        let v = |key, flags| {
            run(
                Abi::Xdp,
                &redirect_map_prog(key, flags),
                &dev,
                &frame(64),
                0,
            )
        };
        let x = v(2, 0);
        assert_eq!(
            (x.r0, x.verdict),
            (contract::XDP_REDIRECT, Verdict::Host(queue))
        );
        assert_eq!(x.verdict.to_string(), format!("redirect:{queue}"));
        // Absent (never set, or set to 0): the action of the flags.
        assert_eq!(v(1, contract::XDP_PASS as i32).verdict, Verdict::Pass);
        dev.with(|d| {
            d.maps
                .update(map_handle(1), &2u32.to_le_bytes(), &0u32.to_le_bytes(), 0)
        })
        .value
        .unwrap();
        assert_eq!(v(2, contract::XDP_DROP as i32).verdict, Verdict::Drop);
        assert_eq!(
            v(2, contract::BPF_F_BROADCAST as i32).r0,
            contract::XDP_ABORTED
        );
    }
}

/// Software-only array kinds do not take the device's direct store: a
/// PERCPU_ARRAY larger than the store configures.
#[test]
fn software_arrays_do_not_take_the_direct_store() {
    let mut t = crate::maps::MapTable::default();
    t.configure(0, MapDef::new(MapType::PercpuArray, 4, 8, 65536))
        .unwrap();
    t.configure(1, MapDef::new(MapType::Xskmap, 4, 4, 4096))
        .unwrap();
    assert!(
        t.configure(2, MapDef::new(MapType::Array, 4, 8, 65536))
            .is_err()
    );
}

/// DEVMAP_HASH: any u32 key names a port; a miss takes the flags' action.
#[test]
fn redirect_map_through_a_devmap_hash() {
    let dev = device(&[(1, MapDef::new(MapType::DevmapHash, 4, 4, 4))]);
    dev.with(|d| {
        d.maps.update(
            map_handle(1),
            &0x1234_5678u32.to_le_bytes(),
            &3u32.to_le_bytes(),
            0,
        )
    })
    .value
    .unwrap();
    let v = |key, flags| {
        run(
            Abi::Xdp,
            &redirect_map_prog(key, flags),
            &dev,
            &frame(64),
            0,
        )
    };
    assert_eq!(v(0x1234_5678, 0).verdict, Verdict::Redirect(3));
    assert_eq!(v(7, contract::XDP_PASS as i32).verdict, Verdict::Pass);
    assert_eq!(
        v(7, contract::BPF_F_BROADCAST as i32).verdict,
        Verdict::Flood
    );
    let mut t = crate::maps::MapTable::default();
    assert!(
        t.configure(0, MapDef::new(MapType::DevmapHash, 4, 2, 4))
            .is_err()
    );
}

/// A [`Runner`] reused over packets gives what fresh [`execute_on`] runs
/// give, on both engines: map state carrying over (the counter), the
/// packet and context rewritten (adjust_head moving `data`), packets of
/// several sizes and ports, a fault in between.
#[test]
fn runner_reuse_matches_fresh_runs() {
    let def = (2, MapDef::new(MapType::Array, 4, 8, 4).named("cnt"));
    let progs = [xdp_counter(), adjust_prog(44, -14), adjust_prog(44, 47)];
    for kind in [EngineKind::Interp, EngineKind::Pipeline] {
        for p in &progs {
            let (fresh_dev, reused_dev) = (
                device(std::slice::from_ref(&def)),
                device(std::slice::from_ref(&def)),
            );
            let cfg = Config::default();
            let mut runner = Runner::new(kind, Abi::Xdp, p, &reused_dev, 0, &cfg);
            for (n, len) in [64usize, 60, 1500, 14, 64, 300].into_iter().enumerate() {
                let pkt = frame(len);
                let r = rx(n as u32 % 4);
                let want = execute_on(
                    kind,
                    Abi::Xdp,
                    p,
                    &fresh_dev,
                    0,
                    &pkt,
                    &r,
                    &cfg,
                    &mut crate::trace::NoTrace,
                )
                .unwrap();
                let got = runner.run(&pkt, &r, &mut crate::trace::NoTrace).unwrap();
                assert_eq!(got, want, "{kind:?}, packet {n}");
                assert!(reused_dev.with(|d| d.maps.is_home()), "values reclaimed");
            }
            let key = 0u32.to_le_bytes();
            let count = |d: &SharedDeviceState| {
                d.with(|d| d.maps.lookup_value(map_handle(2), &key))
                    .unwrap()
            };
            assert_eq!(count(&fresh_dev), count(&reused_dev));
        }
    }
}

// ---- tc ----

/// An Ethernet frame of `n` bytes with ethertype `et` and destination `dst`.
fn eth(n: usize, dst: [u8; 6], et: u16) -> Vec<u8> {
    let mut f = frame(n);
    f[..6].copy_from_slice(&dst);
    f[12..14].copy_from_slice(&et.to_be_bytes());
    f
}

fn tc_run(p: &Program, pkt: &[u8]) -> Execution {
    run(Abi::Tc, p, &device(&[]), pkt, 3)
}

#[test]
fn tc_context_layout() {
    let f = eth(80, [0x02, 0, 0, 0, 0, 1], 0x0800);
    let (m, a) = Abi::Tc.context(&f, &rx(4)).unwrap();
    assert_eq!(a[0], contract::CTX_BASE);
    let w = |o| {
        m.load(contract::CTX_BASE + o, crate::isa::Width::W)
            .unwrap()
    };
    let data = contract::PKT_BASE + contract::TC_HEADROOM as u64;
    assert_eq!(w(sk_buff::LEN), 80);
    assert_eq!(w(sk_buff::PKT_TYPE), 3, "other host");
    assert_eq!(w(sk_buff::PROTOCOL), 0x0008, "ETH_P_IP in network order");
    assert_eq!(w(sk_buff::INGRESS_IFINDEX), 4);
    assert_eq!(w(sk_buff::IFINDEX), 4);
    assert_eq!(w(sk_buff::DATA), data);
    assert_eq!(w(sk_buff::DATA_END), data + 80);
    assert_eq!(w(sk_buff::DATA_META), data);
    assert_eq!(w(sk_buff::WIRE_LEN), 80);
    for off in [
        sk_buff::MARK,
        sk_buff::VLAN_PRESENT,
        sk_buff::PRIORITY,
        sk_buff::CB + 16,
        sk_buff::HASH,
        sk_buff::TC_CLASSID,
        sk_buff::NAPI_ID,
        sk_buff::GSO_SIZE,
    ] {
        assert_eq!(w(off), 0, "offset {off}");
    }
    assert_eq!(
        m.load(contract::CTX_BASE + sk_buff::SK, crate::isa::Width::DW)
            .unwrap(),
        0,
        "no socket"
    );
    assert_eq!(Abi::Tc.frame(&m).unwrap(), f);
    assert_eq!(Abi::Tc.ctx_bytes(&m).len(), contract::SK_BUFF_SIZE);
    // The fields tc may not touch are not there.
    assert!(
        m.load(contract::CTX_BASE + sk_buff::FAMILY, crate::isa::Width::W)
            .is_err()
    );
    // Every field is where the uapi header puts it, and the table covers
    // the struct without overlaps.
    let mut end = 0;
    for &(name, off, size, _) in sk_buff::FIELDS {
        assert!(off >= end, "{name} overlaps");
        end = off + size;
        assert_eq!(sk_buff::field_at(off).unwrap().0, name);
    }
    assert!(end <= contract::SK_BUFF_SIZE as u64);
    assert_eq!(sk_buff::field_at(sk_buff::CB + 7).unwrap().0, "cb");
    // tc needs an Ethernet header.
    let e = Abi::Tc.context(&frame(13), &rx(0)).unwrap_err();
    assert_eq!(e, AbiError::TooShort(13, 14));
    assert!(e.to_string().contains("at least an Ethernet header"), "{e}");
}

#[test]
fn tc_pkt_type_and_protocol_follow_eth_type_trans() {
    let t = |dst| sk_buff::pkt_type(&eth(60, dst, 0x0800));
    assert_eq!(t([0; 6]), 0, "the port's own address");
    assert_eq!(t([0xff; 6]), 1);
    assert_eq!(t([0x01, 0, 0x5e, 0, 0, 1]), 2);
    assert_eq!(t([0x02, 0, 0, 0, 0, 1]), 3);
    let p = |f: &[u8]| sk_buff::protocol(f);
    assert_eq!(p(&eth(60, [0; 6], 0x86dd)), 0xdd86);
    assert_eq!(p(&eth(60, [0; 6], 0x0600)), 0x0006);
    let mut raw = eth(60, [0; 6], 0x0040);
    assert_eq!(p(&raw), 0x0400, "802.2");
    raw[14..16].copy_from_slice(&[0xff, 0xff]);
    assert_eq!(p(&raw), 0x0100, "raw 802.3");
}

#[test]
fn tc_writable_fields_and_read_only_faults() {
    // mark = 7, cb[4] = 9, tc_classid = 0x10, tstamp = 5; r0 = OK.
    let p = prog(&[&[
        i(STW, 1, 0, sk_buff::MARK as i16, 7),
        i(STW, 1, 0, (sk_buff::CB + 16) as i16, 9),
        i(STW, 1, 0, sk_buff::TC_CLASSID as i16, 0x10),
        mov(2, 5),
        i(STXDW, 1, 2, sk_buff::TSTAMP as i16, 0),
        mov(0, 0),
        exit(),
    ]]);
    let x = tc_run(&p, &frame(60));
    assert_eq!((x.fault, x.verdict), (None, Verdict::Pass));
    let c = |o: u64| u32::from_le_bytes(x.ctx[o as usize..o as usize + 4].try_into().unwrap());
    assert_eq!(c(sk_buff::MARK), 7);
    assert_eq!(c(sk_buff::CB + 16), 9);
    assert_eq!(c(sk_buff::TC_CLASSID), 0x10);
    assert_eq!(c(sk_buff::TSTAMP), 5);
    assert_eq!(c(sk_buff::LEN), 60);
    // A store into a read-only field faults naming it.
    for (off, name) in [
        (sk_buff::LEN, "__sk_buff.len"),
        (sk_buff::PROTOCOL, "__sk_buff.protocol"),
        (sk_buff::DATA, "__sk_buff.data"),
        (sk_buff::IFINDEX, "__sk_buff.ifindex"),
    ] {
        let p = prog(&[&[i(STW, 1, 0, off as i16, 1), mov(0, 0), exit()]]);
        let x = tc_run(&p, &frame(60));
        let f = x.fault.expect("fault");
        assert!(
            f.to_string().contains(&format!("read-only region {name}")),
            "{f}"
        );
        assert_eq!(x.verdict, Verdict::Aborted);
    }
    // A field tc may not access at all is not mapped.
    let p = prog(&[&[i(LDXW, 0, 1, sk_buff::REMOTE_IP4 as i16, 0), exit()]]);
    let f = tc_run(&p, &frame(60)).fault.expect("fault").to_string();
    assert!(
        f.contains("__sk_buff.remote_ip4, which tc programs may not access"),
        "{f}"
    );
    // Past the struct: the address map, the context's fields as one group.
    let p = prog(&[&[i(LDXW, 0, 1, 200, 0), exit()]]);
    let f = tc_run(&p, &frame(60)).fault.expect("fault").to_string();
    assert!(f.contains("__sk_buff.* 0x10000000..0x100000c0"), "{f}");
}

#[test]
fn tc_verdict_decoding() {
    let r = rx(1);
    let t = |r0: i64, red| Abi::Tc.verdict(r0 as u64, &r, red);
    assert_eq!(t(0, None), Verdict::Pass, "OK");
    assert_eq!(t(-1, None), Verdict::Pass, "UNSPEC");
    assert_eq!(t(0xffff_ffff, None), Verdict::Pass, "UNSPEC as u32");
    for pass in [1, 3, 5, 6, 9, 1000, -2] {
        assert_eq!(t(pass, None), Verdict::Pass, "cls_bpf: {pass} is UNSPEC");
    }
    for drop in [2, 4, 8] {
        assert_eq!(t(drop, None), Verdict::Drop, "{drop}");
    }
    assert_eq!(t(7, None), Verdict::Drop, "redirect without a target");
    assert_eq!(t(7, Some(RedirectTarget::Port(3))), Verdict::Redirect(3));
    assert_eq!(t(7, Some(RedirectTarget::Ingress(2))), Verdict::Ingress(2));
    assert_eq!(t(1 << 32 | 2, None), Verdict::Drop, "tc actions are 32-bit");
    assert_eq!(Verdict::Ingress(2).to_string(), "ingress:2");
}

#[test]
fn tc_redirect_helper() {
    // r0 = bpf_redirect(5, flags) with flags 0, BPF_F_INGRESS, 2.
    for (flags, want) in [
        (0, Verdict::Redirect(5)),
        (1, Verdict::Ingress(5)),
        (2, Verdict::Drop),
    ] {
        let p = prog(&[&[mov(1, 5), mov(2, flags), call(23), exit()]]);
        let x = tc_run(&p, &frame(60));
        assert_eq!(x.verdict, want, "flags {flags}");
        let r0 = if flags == 2 { 2 } else { 7 };
        assert_eq!(x.r0, r0);
    }
    // XDP's redirect_map is not a tc helper.
    assert!(!Abi::Tc.helper_known()(51));
}

#[test]
fn tc_helpers_rewrite_the_frame_and_the_context() {
    // bpf_skb_change_head(skb, 4, 0); r0 = skb->len.
    let p = prog(&[&[
        i(MOV64_REG, 6, 1, 0, 0),
        mov(2, 4),
        mov(3, 0),
        call(43),
        i(JNE_IMM, 0, 0, 2, 0),
        i(LDXW, 0, 6, sk_buff::LEN as i16, 0),
        exit(),
        mov(0, -1),
        exit(),
    ]]);
    let f = eth(60, [2, 0, 0, 0, 0, 1], 0x0800);
    let x = tc_run(&p, &f);
    assert_eq!(x.r0, 64);
    let mut want = vec![0; 4];
    want.extend_from_slice(&f);
    assert_eq!(x.frame, want);
    let c = |o: u64| u32::from_le_bytes(x.ctx[o as usize..o as usize + 4].try_into().unwrap());
    assert_eq!(c(sk_buff::DATA_END) - c(sk_buff::DATA), 64);
    assert_eq!(c(sk_buff::DATA_META), c(sk_buff::DATA));
    // vlan_push keeps the tag out of line: the frame is unchanged.
    let p = prog(&[&[
        i(MOV64_REG, 6, 1, 0, 0),
        mov(2, 0x0081),
        mov(3, 0x123),
        call(18),
        i(LDXW, 0, 6, sk_buff::VLAN_TCI as i16, 0),
        exit(),
    ]]);
    let x = tc_run(&p, &f);
    assert_eq!((x.r0, &x.frame), (0x123, &f));
    assert_eq!(x.ctx[sk_buff::VLAN_PRESENT as usize], 1);
    // Growing beyond the model's headroom faults, saying so.
    let p = prog(&[&[mov(2, 300), mov(3, 0), call(43), exit()]]);
    let x = tc_run(&p, &f);
    let e = x.fault.expect("fault").to_string();
    assert!(e.contains("tc headroom"), "{e}");
}

#[test]
fn helper_names_and_lists() {
    assert_eq!(crate::helpers::linux_name(1), Some("map_lookup_elem"));
    assert_eq!(crate::helpers::linux_name(23), Some("redirect"));
    assert_eq!(crate::helpers::linux_name(51), Some("redirect_map"));
    assert_eq!(crate::helpers::linux_name(65), Some("xdp_adjust_tail"));
    assert_eq!(crate::helpers::linux_name(12), Some("tail_call"));
    assert_eq!(crate::helpers::linux_name(211), Some("cgrp_storage_delete"));
    assert_eq!(crate::helpers::linux_name(0), None);
    assert_eq!(crate::helpers::linux_name(212), None);
    assert!(
        Abi::Xdp
            .helper_list()
            .starts_with("1 map_lookup_elem, 2 map_update_elem")
    );
    assert!(Abi::Sume.helper_known()(3));
    assert!(Abi::Sume.helper_known()(5));
    assert!(!Abi::Sume.helper_known()(23));
    assert!(Abi::Tc.helper_known()(9) && Abi::Tc.helper_known()(23));
    assert!(!Abi::Tc.helper_known()(51) && !Abi::Tc.helper_known()(44));
    assert!(
        Abi::Tc
            .helper_refusal(51)
            .unwrap()
            .contains("XDP programs only")
    );
    assert!(Abi::Tc.helper_refusal(13).unwrap().contains("two outputs"));
    assert_eq!(Abi::Xdp.helper_refusal(13), None);
    assert!(Abi::Tc.helper_list().contains("9 skb_store_bytes"));
}
