//! T4 (function level): every program of `programs/`, compiled by clang and
//! loaded by the loader, over crafted traffic on both engine models. Each
//! packet's verdict is the expected one, and the interpreter and the
//! pipeline agree on r0, verdict, rewritten frame and instruction count.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::{arp, clang, ones_sum};
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::abi::{Abi, EngineKind, Execution, RxMeta, Verdict, execute_on};
use nfbpf_vm::contract::map_handle;
use nfbpf_vm::interp::Config;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};

mod common;

/// A 64-byte Ethernet + IPv4 + UDP/TCP frame.
fn frame(dmac: u8, smac: u8, src: [u8; 4], dst: [u8; 4], proto: u8, dport: u16) -> Vec<u8> {
    common::ipv4_frame(dmac, smac, src, dst, proto, dport, 64)
}

/// A program on two separate devices (one per engine model), so map state
/// evolves identically on both.
struct Pair {
    abi: Abi,
    prog: nfbpf_vm::Program,
    devs: [SharedDeviceState; 2],
}

impl Pair {
    fn new(name: &str) -> Pair {
        let path = common::program(&format!("{name}.c"));
        let image = load_file(&path, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let abi = image.abi;
        let prog = image.program().unwrap_or_else(|e| panic!("{name}: {e}"));
        let devs = [0, 1].map(|_| {
            let d = SharedDeviceState::new(UnitsConfig::default());
            d.with(|s| nfbpf_loader::install::configure_maps(&image, &mut s.maps))
                .unwrap();
            d
        });
        Pair { abi, prog, devs }
    }

    /// Update map `index` on both devices.
    fn update(&self, index: usize, key: &[u8], value: &[u8]) {
        for d in &self.devs {
            d.with(|s| s.maps.update(map_handle(index), key, value, 0).value)
                .unwrap();
        }
    }

    /// Run one packet on both models; they must agree. Returns the result.
    fn send(&self, pkt: &[u8], in_port: u32) -> Execution {
        let rx = RxMeta {
            in_port,
            ..RxMeta::default()
        };
        let cfg = Config::default();
        let run =
            |k, d| execute_on(k, self.abi, &self.prog, d, 0, pkt, &rx, &cfg, &mut NoTrace).unwrap();
        let a = run(EngineKind::Interp, &self.devs[0]);
        let b = run(EngineKind::Pipeline, &self.devs[1]);
        assert_eq!(a.fault, b.fault, "faults differ");
        assert_eq!(
            (a.r0, a.verdict, &a.frame, a.insns),
            (b.r0, b.verdict, &b.frame, b.insns),
            "engines differ"
        );
        assert!(
            b.cycles.unwrap() >= b.insns,
            "a pipeline run takes at least one clock per instruction"
        );
        assert!(a.fault.is_none(), "fault: {:?}", a.fault);
        b
    }
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 1, 2, 3];
const FAR: [u8; 4] = [192, 168, 7, 7];

#[test]
fn wire_and_drop() {
    if !clang() {
        return;
    }
    let w = Pair::new("wire");
    for port in 0..4 {
        assert_eq!(
            w.send(&frame(1, 2, A, B, 17, 53), port).verdict,
            Verdict::Redirect(port ^ 1)
        );
    }
    let ws = Pair::new("wire_sume");
    for port in 0..4 {
        assert_eq!(
            ws.send(&frame(1, 2, A, B, 17, 53), port).verdict,
            Verdict::Tx(port ^ 1)
        );
    }
    let d = Pair::new("xdp_drop");
    assert_eq!(d.send(&arp(), 0).verdict, Verdict::Drop);
    assert_eq!(d.send(&frame(1, 2, A, B, 6, 80), 3).verdict, Verdict::Drop);
}

#[test]
fn l2_switches_learn() {
    if !clang() {
        return;
    }
    let s = Pair::new("l2_switch");
    // Unknown destination: to the host stack; the source is learned.
    assert_eq!(
        s.send(&frame(0xb, 0xa, A, B, 17, 9), 0).verdict,
        Verdict::Pass
    );
    // B answers from port 1: A is known on port 0.
    assert_eq!(
        s.send(&frame(0xa, 0xb, B, A, 17, 9), 1).verdict,
        Verdict::Redirect(0)
    );
    assert_eq!(
        s.send(&frame(0xb, 0xa, A, B, 17, 9), 0).verdict,
        Verdict::Redirect(1)
    );

    let s = Pair::new("l2_switch_sume");
    assert_eq!(
        s.send(&frame(0xb, 0xa, A, B, 17, 9), 0).verdict,
        Verdict::Flood
    );
    assert_eq!(
        s.send(&frame(0xa, 0xb, B, A, 17, 9), 1).verdict,
        Verdict::Tx(0)
    );
    assert_eq!(
        s.send(&frame(0xb, 0xa, A, B, 17, 9), 2).verdict,
        Verdict::Tx(1)
    );
}

#[test]
fn router_forwards_by_longest_prefix() {
    if !clang() {
        return;
    }
    let r = Pair::new("router");
    let route = |len: u32, net: [u8; 4], dmac: u8, port: u32| {
        let mut k = len.to_le_bytes().to_vec();
        k.extend_from_slice(&net);
        let mut v = vec![2, 0, 0, 0, 0xd0, dmac, 2, 0, 0, 0, 0x50, 0x01];
        v.extend_from_slice(&port.to_le_bytes());
        r.update(0, &k, &v);
    };
    route(8, [10, 0, 0, 0], 0x08, 0);
    route(16, [10, 1, 0, 0], 0x16, 1);
    for (slot, port) in [(0u32, 2u32), (1, 3)] {
        r.update(1, &slot.to_le_bytes(), &port.to_le_bytes());
    }
    let out = r.send(&frame(1, 2, A, B, 17, 53), 0);
    assert_eq!(out.verdict, Verdict::Redirect(3), "10.1.2.3 takes the /16");
    assert_eq!(out.frame[5], 0x16, "destination MAC rewritten");
    assert_eq!(out.frame[22], 63, "TTL decremented");
    // The checksum still verifies after the RFC 1624 update.
    assert_eq!(ones_sum(&out.frame[14..34]), 0xffff, "checksum still valid");
    assert_eq!(
        r.send(&frame(1, 2, B, A, 17, 53), 0).verdict,
        Verdict::Redirect(2),
        "10.0.0.1 takes the /8"
    );
    assert_eq!(
        r.send(&frame(1, 2, A, FAR, 17, 53), 0).verdict,
        Verdict::Pass,
        "no route"
    );
    assert_eq!(r.send(&arp(), 0).verdict, Verdict::Pass);
}

#[test]
fn ddos_drops_a_flooding_source() {
    if !clang() {
        return;
    }
    let d = Pair::new("ddos");
    assert_eq!(d.send(&frame(1, 2, A, B, 17, 53), 0).verdict, Verdict::Pass);
    assert_eq!(d.send(&frame(1, 2, A, B, 17, 53), 0).verdict, Verdict::Pass);
    // Bring A's counter to the threshold (1000, in .rodata).
    d.update(0, &A, &1000u64.to_le_bytes());
    assert_eq!(d.send(&frame(1, 2, A, B, 17, 53), 0).verdict, Verdict::Drop);
    assert_eq!(
        d.send(&frame(1, 2, B, A, 17, 53), 0).verdict,
        Verdict::Pass,
        "other sources pass"
    );
}

#[test]
fn firewall_blocks_ports_and_flows() {
    if !clang() {
        return;
    }
    let f = Pair::new("firewall");
    assert_eq!(f.send(&frame(1, 2, A, B, 17, 53), 0).verdict, Verdict::Pass);
    // blocked_ports is map 1 (legacy maps in section order).
    f.update(1, &53u16.to_be_bytes(), &[1]);
    assert_eq!(f.send(&frame(1, 2, A, B, 17, 53), 0).verdict, Verdict::Drop);
    assert_eq!(f.send(&frame(1, 2, A, B, 6, 80), 0).verdict, Verdict::Pass);
    assert_eq!(f.send(&arp(), 0).verdict, Verdict::Pass);
}

#[test]
fn sume_router_and_ddos() {
    if !clang() {
        return;
    }
    let r = Pair::new("router_sume");
    // 10.1.0.0/16 -> next hop 02:00:00:00:00:16 on port 3 (value by value).
    let mut key = 16u32.to_le_bytes().to_vec();
    key.extend_from_slice(&[10, 1, 0, 0]);
    r.update(0, &key, &((0x0200_0000_0016u64 << 16) | 3).to_le_bytes());
    let out = r.send(&frame(1, 2, A, B, 17, 53), 0);
    assert_eq!(out.verdict, Verdict::Tx(3));
    assert_eq!(&out.frame[..6], &[2, 0, 0, 0, 0, 0x16]);
    assert_eq!(out.frame[22], 63, "TTL decremented");
    assert_eq!(ones_sum(&out.frame[14..34]), 0xffff, "checksum still valid");
    assert_eq!(
        r.send(&frame(1, 2, B, FAR, 17, 53), 0).verdict,
        Verdict::Pass,
        "no route: controller"
    );
    assert_eq!(r.send(&arp(), 1).verdict, Verdict::Pass);

    let d = Pair::new("ddos_sume");
    assert_eq!(
        d.send(&frame(1, 2, A, B, 17, 53), 0).verdict,
        Verdict::Tx(1)
    );
    d.update(0, &53u16.to_le_bytes(), &[1]);
    assert_eq!(
        d.send(&frame(1, 2, A, B, 17, 53), 2).verdict,
        Verdict::Drop,
        "blocked port"
    );
    assert_eq!(d.send(&frame(1, 2, A, B, 6, 80), 2).verdict, Verdict::Tx(3));
    d.update(
        1,
        &u32::from_be_bytes(B).to_le_bytes(),
        &1000u64.to_le_bytes(),
    );
    assert_eq!(
        d.send(&frame(1, 2, B, A, 6, 80), 0).verdict,
        Verdict::Drop,
        "over the threshold"
    );
}

/// The HASH counter, LPM_TRIE route and ARRAY config maps in one function,
/// with BTF-defined and with legacy maps: both load, run, and agree.
#[test]
fn flow_router_btf_and_legacy() {
    if !clang() {
        return;
    }
    for name in ["flow_router", "flow_router_legacy"] {
        let f = Pair::new(name);
        // Disabled by default (config zeroed): everything passes.
        assert_eq!(
            f.send(&frame(1, 2, A, B, 17, 53), 0).verdict,
            Verdict::Pass,
            "{name}"
        );
        // config = {enabled 1, default_port 7}; route 10.1.0.0/16 -> port 3.
        let mut cfg = 1u32.to_le_bytes().to_vec();
        cfg.extend_from_slice(&7u32.to_le_bytes());
        f.update(0, &0u32.to_le_bytes(), &cfg);
        let mut k = 16u32.to_le_bytes().to_vec();
        k.extend_from_slice(&[10, 1, 0, 0]);
        f.update(2, &k, &3u32.to_le_bytes());
        for _ in 0..3 {
            assert_eq!(
                f.send(&frame(1, 2, A, B, 17, 53), 0).verdict,
                Verdict::Redirect(3),
                "{name}"
            );
        }
        assert_eq!(
            f.send(&frame(1, 2, A, FAR, 6, 80), 0).verdict,
            Verdict::Redirect(7),
            "{name}: default"
        );
        assert_eq!(f.send(&arp(), 0).verdict, Verdict::Pass, "{name}");
        // A's counter: 4 IPv4 packets since enabling, the same on both devices.
        for d in &f.devs {
            let n = d
                .with(|s| s.maps.lookup_value(nfbpf_vm::contract::map_handle(1), &A))
                .unwrap();
            assert_eq!(n, Some(4u64.to_le_bytes().to_vec()), "{name}");
        }
    }
}
