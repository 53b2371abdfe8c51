use super::*;

const TABLE: &str = "\
# interfaces
dev 2 mac 02:00:00:00:00:02 mtu 1500
dev 3 mac 02:00:00:00:00:03 mtu 600
dev 4 mac 02:00:00:00:00:04 mtu 1500 forwarding off
route 10.0.0.0/8 via 192.168.1.1 dev 2 metric 5
route 10.1.0.0/16 dev 3 mtu 500
route 10.2.0.0/16 dev 4
route blackhole 10.9.0.0/16
route unreachable 10.8.0.0/16
route prohibit 10.7.0.0/16
route 172.16.0.0/16 via 192.168.4.4 dev 4 table 100
route 2001:db8::/32 via fe80::1 dev 2
route 2001:db8:2::/48 dev 2 mtu 1300
route blackhole 2001:db8:9::/48
neigh 192.168.1.1 lladdr 02:aa:00:00:00:01 dev 2
neigh 10.1.2.3 lladdr 02:aa:00:00:00:03 dev 3
neigh fe80::1 lladdr 02:aa:00:00:00:06 dev 2
";

fn v4(dst: [u8; 4], ifindex: u32, tot_len: u16) -> [u8; PARAMS_SIZE] {
    let mut p = [0u8; PARAMS_SIZE];
    p[params::FAMILY] = AF_INET;
    p[params::TOT_LEN..params::TOT_LEN + 2].copy_from_slice(&tot_len.to_le_bytes());
    p[params::IFINDEX..params::IFINDEX + 4].copy_from_slice(&ifindex.to_le_bytes());
    p[params::DST..params::DST + 4].copy_from_slice(&dst);
    p
}

fn v6(dst: &str, ifindex: u32) -> [u8; PARAMS_SIZE] {
    let mut p = [0u8; PARAMS_SIZE];
    p[params::FAMILY] = AF_INET6;
    p[params::IFINDEX..params::IFINDEX + 4].copy_from_slice(&ifindex.to_le_bytes());
    let a: Ipv6Addr = dst.parse().unwrap();
    p[params::DST..params::DST + 16].copy_from_slice(&a.octets());
    p
}

fn fib() -> Fib {
    Fib::parse(TABLE).unwrap()
}

#[test]
fn gateway_route_fills_the_struct_as_linux() {
    let f = fib();
    let mut p = v4([10, 5, 0, 1], 3, 100);
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, None), RET_SUCCESS);
    assert_eq!(u32_at(&p, params::IFINDEX), 2);
    assert_eq!(&p[params::DST..params::DST + 4], &[192, 168, 1, 1]);
    assert_eq!(u32_at(&p, params::RT_METRIC), 5);
    assert_eq!(&p[params::DMAC..params::DMAC + 6], &[2, 0xaa, 0, 0, 0, 1]);
    assert_eq!(&p[params::SMAC..params::SMAC + 6], &[2, 0, 0, 0, 0, 2]);
    // XDP checks the MTU always: mtu_result is the interface's.
    assert_eq!(u16_at(&p, params::TOT_LEN), 1500);
    assert_eq!(u32_at(&p, params::H_VLAN_PROTO), 0);
}

#[test]
fn return_codes() {
    let f = fib();
    let code =
        |dst, ifindex, tot, flags| fib_lookup(&f, &mut v4(dst, ifindex, tot), 64, flags, None);
    assert_eq!(code([10, 9, 1, 1], 2, 0, 0), RET_BLACKHOLE);
    assert_eq!(code([10, 8, 1, 1], 2, 0, 0), RET_UNREACHABLE);
    assert_eq!(code([10, 7, 1, 1], 2, 0, 0), RET_PROHIBIT);
    assert_eq!(code([11, 0, 0, 1], 2, 0, 0), RET_NOT_FWDED);
    assert_eq!(code([127, 0, 0, 1], 2, 0, 0), RET_NOT_FWDED);
    assert_eq!(code([10, 5, 0, 1], 4, 0, 0), RET_FWD_DISABLED);
    assert_eq!(code([10, 5, 0, 1], 1, 0, 0), RET_FWD_DISABLED);
    assert_eq!(code([10, 5, 0, 1], 9, 0, 0), (-19i64) as u64);
    // Direct route, neighbour missing; present.
    assert_eq!(code([10, 1, 9, 9], 2, 0, 0), RET_NO_NEIGH);
    assert_eq!(code([10, 1, 2, 3], 2, 0, 0), RET_SUCCESS);
    // The route's locked MTU, then the interface's.
    let mut p = v4([10, 1, 2, 3], 2, 501);
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, None), RET_FRAG_NEEDED);
    assert_eq!(u16_at(&p, params::TOT_LEN), 500);
    assert_eq!(code([10, 5, 0, 1], 2, 1501, 0), RET_FRAG_NEEDED);
    // SKIP_NEIGH: success, neither MAC address written (as Linux 6.18).
    let mut p = v4([10, 1, 9, 9], 2, 0);
    assert_eq!(
        fib_lookup(&f, &mut p, 64, LOOKUP_SKIP_NEIGH, None),
        RET_SUCCESS
    );
    assert_eq!(&p[params::DMAC..params::DMAC + 6], &[0; 6]);
    assert_eq!(&p[params::SMAC..params::SMAC + 6], &[0; 6]);
    assert_eq!(u32_at(&p, params::IFINDEX), 3);
    // OUTPUT: IPv4 takes only routes out of that interface.
    // (The /16 is out of 3, so out of 2 the /8 answers.)
    let mut p = v4([10, 1, 2, 3], 2, 0);
    assert_eq!(fib_lookup(&f, &mut p, 64, LOOKUP_OUTPUT, None), RET_SUCCESS);
    assert_eq!(u32_at(&p, params::IFINDEX), 2);
    assert_eq!(code([10, 1, 2, 3], 3, 0, LOOKUP_OUTPUT), RET_SUCCESS);
    let mut f4 = f.clone();
    f4.devs.get_mut(&4).unwrap().forwarding = true;
    assert_eq!(
        fib_lookup(&f4, &mut v4([10, 1, 2, 3], 4, 0), 64, LOOKUP_OUTPUT, None),
        RET_NOT_FWDED
    );
    // Tables: 100 only with DIRECT|TBID; a missing table is not forwarded.
    let mut p = v4([172, 16, 0, 1], 2, 0);
    p[params::TBID..params::TBID + 4].copy_from_slice(&100u32.to_le_bytes());
    assert_eq!(
        fib_lookup(&f, &mut p, 64, LOOKUP_DIRECT | LOOKUP_TBID, None),
        RET_NO_NEIGH
    );
    assert_eq!(u32_at(&p, params::IFINDEX), 4);
    assert_eq!(code([172, 16, 0, 1], 2, 0, LOOKUP_DIRECT), RET_NOT_FWDED);
    let mut p = v4([172, 16, 0, 1], 2, 0);
    p[params::TBID..params::TBID + 4].copy_from_slice(&77u32.to_le_bytes());
    assert_eq!(
        fib_lookup(&f, &mut p, 64, LOOKUP_DIRECT | LOOKUP_TBID, None),
        RET_NOT_FWDED
    );
    // The wrapper's checks.
    assert_eq!(
        fib_lookup(&f, &mut v4([10, 5, 0, 1], 2, 0), 63, 0, None),
        (-22i64) as u64
    );
    assert_eq!(
        fib_lookup(&f, &mut v4([10, 5, 0, 1], 2, 0), 64, 1 << 6, None),
        (-22i64) as u64
    );
    let mut p = v4([10, 5, 0, 1], 2, 0);
    p[0] = 7;
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, None), (-97i64) as u64);
}

#[test]
fn tc_checks_the_packet_against_the_output_interface() {
    let f = fib();
    // No tot_len: no MTU check in the lookup; the skb against dev 2's
    // 1500 + 18, and mtu_result its MTU.
    let mut p = v4([10, 5, 0, 1], 3, 0);
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, Some(1518)), RET_SUCCESS);
    assert_eq!(u16_at(&p, params::TOT_LEN), 1500);
    let mut p = v4([10, 5, 0, 1], 3, 0);
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, Some(1519)), RET_FRAG_NEEDED);
    assert_eq!(u16_at(&p, params::TOT_LEN), 1500);
}

#[test]
fn ipv6() {
    let f = fib();
    let mut p = v6("2001:db8:5::1", 2);
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, None), RET_SUCCESS);
    assert_eq!(
        &p[params::DST..params::DST + 16],
        &"fe80::1".parse::<Ipv6Addr>().unwrap().octets()
    );
    assert_eq!(u32_at(&p, params::RT_METRIC), IPV6_DEFAULT_METRIC);
    assert_eq!(&p[params::DMAC..params::DMAC + 6], &[2, 0xaa, 0, 0, 0, 6]);
    let code = |d: &str, i| fib_lookup(&f, &mut v6(d, i), 64, 0, None);
    assert_eq!(code("2001:db8:9::1", 2), RET_BLACKHOLE);
    assert_eq!(code("2001:db9::1", 2), RET_NOT_FWDED);
    assert_eq!(code("fe80::2", 2), RET_NOT_FWDED);
    assert_eq!(code("ff02::1", 99), RET_NOT_FWDED);
    // No IPv6 on an interface under 1280 bytes.
    assert_eq!(code("2001:db8:5::1", 3), RET_FWD_DISABLED);
    let mut p = v6("2001:db8:2::1", 2);
    p[params::TOT_LEN..params::TOT_LEN + 2].copy_from_slice(&1301u16.to_le_bytes());
    assert_eq!(fib_lookup(&f, &mut p, 64, 0, None), RET_FRAG_NEEDED);
    assert_eq!(u16_at(&p, params::TOT_LEN), 1300);
    // SRC: the loopback's addresses are the only ones.
    let mut p = v6("2001:db8:5::1", 2);
    assert_eq!(fib_lookup(&f, &mut p, 64, LOOKUP_SRC, None), RET_SUCCESS);
    assert_eq!(
        &p[params::SRC..params::SRC + 16],
        &Ipv6Addr::LOCALHOST.octets()
    );
}

#[test]
fn bad_lines_are_named() {
    let e = |t: &str| Fib::parse(t).unwrap_err().to_string();
    let m = e("dev 2 mac 02:00:00:00:00:02\nroute 10.0.0.0/8 via 1.2.3.4 dev 5\n");
    assert!(
        m.starts_with("fib line 2: `route 10.0.0.0/8 via 1.2.3.4 dev 5`: no interface 5"),
        "{m}"
    );
    let m = e("\n\ndev 2 mac 02:00:00:00:0g:02\n");
    assert!(
        m.contains("fib line 3") && m.contains("`02:00:00:00:0g:02` is not a MAC"),
        "{m}"
    );
    let m = e("route 10.0.0.1/8 dev 2\n");
    assert!(
        m.contains("fib line 1") && m.contains("bits set beyond its 8-bit prefix"),
        "{m}"
    );
    let m = e("rule 1\n");
    assert!(m.contains("unknown keyword `rule`"), "{m}");
    let m = e("dev 1 mac 02:00:00:00:00:01\n");
    assert!(m.contains("loopback"), "{m}");
    let m = e("dev 2 mac 02:00:00:00:00:02 mtu 1000\nroute 2001:db8::/32 dev 2\n");
    assert!(m.contains("fib line 2") && m.contains("no IPv6"), "{m}");
    let m =
        e("dev 2 mac 02:00:00:00:00:02\nroute 10.0.0.0/8 dev 2\nroute 10.0.0.0/8 dev 2 metric 3\n");
    assert!(m.contains("fib line 3") && m.contains("(line 2)"), "{m}");
    let m = e("route blackhole 10.0.0.0/8 dev 2\n");
    assert!(m.contains("has no `via` or `dev`"), "{m}");
    let m = e("dev 2 mac 02:00:00:00:00:02 mtu 9x\n");
    assert!(m.contains("`mtu 9x`: not a number"), "{m}");
}

#[test]
fn text_round_trip() {
    let f = fib();
    assert_eq!(
        Fib::parse(&f.to_text()).map(|g| g.to_text()),
        Ok(f.to_text())
    );
}

/// Through the helper unit: a params size under the struct's is -EINVAL
/// (as Linux); a size beyond the program's memory (which Linux's verifier
/// refuses) faults naming the helper, the bytes and the address.
#[test]
fn helper_params_size() {
    use crate::abi::{Abi, RxMeta, execute};
    use crate::units::{SharedDeviceState, UnitsConfig};
    let run = |size: i32, at: i16| {
        let prog = crate::Program::new(vec![
            crate::build::mov64_reg(2, 10),
            crate::build::add64_imm(2, i32::from(at)),
            crate::build::mov64_imm(3, size),
            crate::build::mov64_imm(4, 0),
            crate::build::call(69),
            crate::build::exit(),
        ])
        .unwrap();
        let dev = SharedDeviceState::new(UnitsConfig::default());
        dev.with(|s| s.fib = std::sync::Arc::new(fib()));
        let cfg = crate::interp::Config::default();
        execute(
            Abi::Xdp,
            &prog,
            &dev,
            0,
            &[0u8; 64],
            &RxMeta::default(),
            &cfg,
            &mut crate::trace::NoTrace,
        )
        .unwrap()
    };
    let ex = run(32, -64);
    assert!(ex.fault.is_none(), "{:?}", ex.fault);
    assert_eq!(ex.r0, (-22i64) as u64);
    let ex = run(64, -8);
    let f = ex.fault.expect("a fault").to_string();
    assert!(
        f.contains("fib_lookup: params: 64 bytes at 0x") && f.contains("(r2, the size in r3)"),
        "{f}"
    );
}
