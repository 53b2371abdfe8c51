//! The forwarding table `bpf_fib_lookup` reads, and the helper's lookup.
//!
//! A host gives the software engines a table of interfaces, routes and
//! neighbours ([`Fib`], parsed from the text format of `docs/fib.md` by
//! [`Fib::parse`]); [`Fib::lookup`] answers one `struct bpf_fib_lookup` as
//! Linux's `bpf_ipv4_fib_lookup` / `bpf_ipv6_fib_lookup`
//! (`net/core/filter.c`) answer it in a network namespace holding exactly
//! that table: no interface addresses, so no local or connected routes, the
//! loopback (ifindex 1) up with its 127.0.0.1/8 and ::1, not forwarding, every neighbour
//! permanent, one route per prefix and table, a route's MTU locked (`ip
//! route ... mtu lock N`, the only route MTU Linux's lookup honours).
//!
//! The XDP and tc wrappers (`bpf_xdp_fib_lookup`, `bpf_skb_fib_lookup`:
//! size, flags and family checks, the tc MTU check against the output
//! device) are [`fib_lookup`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `sizeof(struct bpf_fib_lookup)`.
pub const PARAMS_SIZE: usize = 64;

/// Offsets in `struct bpf_fib_lookup` (Linux's uapi `linux/bpf.h`).
pub mod params {
    pub const FAMILY: usize = 0;
    pub const L4_PROTOCOL: usize = 1;
    pub const SPORT: usize = 2;
    pub const DPORT: usize = 4;
    /// `tot_len` in, `mtu_result` out (u16).
    pub const TOT_LEN: usize = 6;
    pub const IFINDEX: usize = 8;
    /// `tos` (IPv4) / `flowinfo` (IPv6) in, `rt_metric` out (u32).
    pub const RT_METRIC: usize = 12;
    pub const SRC: usize = 16;
    pub const DST: usize = 32;
    /// `h_vlan_proto` out (u16), overlapping `tbid` in (u32).
    pub const H_VLAN_PROTO: usize = 48;
    pub const H_VLAN_TCI: usize = 50;
    pub const TBID: usize = 48;
    /// `mark` in (u32), overlapping `smac` out.
    pub const SMAC: usize = 52;
    pub const DMAC: usize = 58;
}

/// `BPF_FIB_LOOKUP_*` flags.
pub const LOOKUP_DIRECT: u32 = 1 << 0;
pub const LOOKUP_OUTPUT: u32 = 1 << 1;
pub const LOOKUP_SKIP_NEIGH: u32 = 1 << 2;
pub const LOOKUP_TBID: u32 = 1 << 3;
pub const LOOKUP_SRC: u32 = 1 << 4;
pub const LOOKUP_MARK: u32 = 1 << 5;
/// Every flag Linux accepts.
pub const LOOKUP_MASK: u32 =
    LOOKUP_DIRECT | LOOKUP_OUTPUT | LOOKUP_SKIP_NEIGH | LOOKUP_TBID | LOOKUP_SRC | LOOKUP_MARK;

/// `BPF_FIB_LKUP_RET_*`.
pub const RET_SUCCESS: u64 = 0;
pub const RET_BLACKHOLE: u64 = 1;
pub const RET_UNREACHABLE: u64 = 2;
pub const RET_PROHIBIT: u64 = 3;
pub const RET_NOT_FWDED: u64 = 4;
pub const RET_FWD_DISABLED: u64 = 5;
pub const RET_UNSUPP_LWT: u64 = 6;
pub const RET_NO_NEIGH: u64 = 7;
pub const RET_FRAG_NEEDED: u64 = 8;
pub const RET_NO_SRC_ADDR: u64 = 9;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
const ENODEV: i64 = 19;
const EAFNOSUPPORT: i64 = 97;

/// The loopback's ifindex: always present in a namespace, never
/// forwarding (no `dev` line may name it).
pub const LOOPBACK_IFINDEX: u32 = 1;
/// Linux's main routing table (`tbid` 0 means it too).
pub const TABLE_MAIN: u32 = 254;
/// `RT_TABLE_DEFAULT`, looked in after the main table (IPv4).
pub const TABLE_DEFAULT: u32 = 253;
/// `RT_TABLE_LOCAL`: the kernel's own addresses; the model has none.
pub const TABLE_LOCAL: u32 = 255;
/// IPv6 keeps no IPv6 on an interface under this MTU.
pub const IPV6_MIN_MTU: u32 = 1280;
/// `IP_MAX_MTU`.
const IP_MAX_MTU: u32 = 0xfff0;
/// `IP6_RT_PRIO_USER`: the metric of an IPv6 route given none (or 0).
pub const IPV6_DEFAULT_METRIC: u32 = 1024;
/// `ETH_HLEN + VLAN_HLEN`: what `is_skb_forwardable` allows beyond the MTU.
const FORWARDABLE_SLACK: u32 = 14 + 4;

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dev {
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// `net.ipv{4,6}.conf.DEV.forwarding`.
    pub forwarding: bool,
    /// Line of the file that declared it.
    pub line: usize,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    /// Out of `dev`, to `via` (a gateway) or directly to the destination.
    Unicast {
        via: Option<IpAddr>,
        dev: u32,
    },
    Blackhole,
    Unreachable,
    Prohibit,
}

impl RouteType {
    /// The lookup's answer for a reject route.
    fn reject(self) -> Option<u64> {
        match self {
            RouteType::Unicast { .. } => None,
            RouteType::Blackhole => Some(RET_BLACKHOLE),
            RouteType::Unreachable => Some(RET_UNREACHABLE),
            RouteType::Prohibit => Some(RET_PROHIBIT),
        }
    }

    /// The `ip route` keyword, empty for unicast.
    pub fn keyword(self) -> &'static str {
        match self {
            RouteType::Unicast { .. } => "",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
        }
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix (no bits beyond `len`).
    pub dst: IpAddr,
    pub len: u8,
    pub kind: RouteType,
    pub table: u32,
    /// As given (`None`: 0 for IPv4, [`IPV6_DEFAULT_METRIC`] for IPv6).
    pub metric: Option<u32>,
    /// Locked path MTU.
    pub mtu: Option<u32>,
    pub line: usize,
}

impl Route {
    /// `rt_metric` as Linux reports it.
    pub fn metric(&self) -> u32 {
        match (self.dst, self.metric) {
            (IpAddr::V6(_), None | Some(0)) => IPV6_DEFAULT_METRIC,
            (_, m) => m.unwrap_or(0),
        }
    }

    fn matches(&self, a: IpAddr) -> bool {
        match (self.dst, a) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                prefix_bits(u32::from(a) as u128, 32, self.len) == u32::from(p) as u128
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => {
                prefix_bits(u128::from(a), 128, self.len) == u128::from(p)
            }
            _ => false,
        }
    }
}

fn prefix_bits(a: u128, width: u32, len: u8) -> u128 {
    let len = u32::from(len);
    if len == 0 {
        0
    } else {
        a & (u128::MAX >> (128 - width)) & !((1u128 << (width - len)) - 1)
    }
}

/// A line of the forwarding-table file that does not parse or does not fit
/// the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibError {
    pub line: usize,
    pub text: String,
    pub msg: String,
}

impl fmt::Display for FibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fib line {}: `{}`: {}", self.line, self.text, self.msg)
    }
}

impl std::error::Error for FibError {}

/// The forwarding table: interfaces, routes, neighbours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fib {
    pub devs: BTreeMap<u32, Dev>,
    pub routes: Vec<Route>,
    /// `(ifindex, address)` to MAC.
    pub neighs: BTreeMap<(u32, IpAddr), [u8; 6]>,
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let v: Vec<&str> = s.split(':').collect();
    if v.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (b, p) in m.iter_mut().zip(v) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

fn mac_str(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Fib {
    /// Parse the text format (`docs/fib.md`). Every error names its line.
    pub fn parse(text: &str) -> Result<Fib, FibError> {
        let mut fib = Fib::default();
        // Neighbour and route lines may come before the dev lines they
        // name: checked once every line is read.
        let mut pending: Vec<(usize, String, u32, bool)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let body = raw.split('#').next().unwrap_or("").trim();
            if body.is_empty() {
                continue;
            }
            let err = |msg: String| FibError {
                line,
                text: body.to_string(),
                msg,
            };
            let toks: Vec<&str> = body.split_whitespace().collect();
            match toks[0] {
                "dev" => {
                    let d = parse_dev(&toks[1..], line).map_err(err)?;
                    if let Some(o) = fib.devs.get(&d.ifindex) {
                        return Err(err(format!(
                            "interface {} is already declared on line {}",
                            d.ifindex, o.line
                        )));
                    }
                    fib.devs.insert(d.ifindex, d);
                }
                "route" => {
                    let r = parse_route(&toks[1..], line).map_err(err)?;
                    if let Some(o) = fib
                        .routes
                        .iter()
                        .find(|o| o.table == r.table && o.dst == r.dst && o.len == r.len)
                    {
                        return Err(err(format!(
                            "table {} already has a route to {}/{} (line {}): one route per prefix and table",
                            r.table, r.dst, r.len, o.line
                        )));
                    }
                    if let RouteType::Unicast { dev, .. } = r.kind {
                        pending.push((line, body.to_string(), dev, r.dst.is_ipv6()));
                    }
                    fib.routes.push(r);
                }
                "neigh" => {
                    let (ip, mac, dev) = parse_neigh(&toks[1..]).map_err(err)?;
                    if fib.neighs.insert((dev, ip), mac).is_some() {
                        return Err(err(format!("a second neighbour {ip} on interface {dev}")));
                    }
                    pending.push((line, body.to_string(), dev, ip.is_ipv6()));
                }
                w => {
                    return Err(err(format!(
                        "unknown keyword `{w}` (a line is `dev ...`, `route ...` or `neigh ...`)"
                    )));
                }
            }
        }
        for (line, text, dev, v6) in pending {
            let Some(d) = fib.devs.get(&dev) else {
                return Err(FibError {
                    line,
                    text,
                    msg: format!(
                        "no interface {dev}: declare it with a line `dev {dev} mac MAC mtu MTU`"
                    ),
                });
            };
            if v6 && d.mtu < IPV6_MIN_MTU {
                return Err(FibError {
                    line,
                    text,
                    msg: format!(
                        "interface {dev} has MTU {} (line {}): Linux keeps no IPv6 on an interface under {IPV6_MIN_MTU}",
                        d.mtu, d.line
                    ),
                });
            }
        }
        Ok(fib)
    }

    /// The table back in the text format.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for d in self.devs.values() {
            s += &format!("dev {} mac {} mtu {}", d.ifindex, mac_str(&d.mac), d.mtu);
            if !d.forwarding {
                s += " forwarding off";
            }
            s.push('\n');
        }
        for r in &self.routes {
            s += "route ";
            if let RouteType::Unicast { .. } = r.kind {
            } else {
                s += r.kind.keyword();
                s.push(' ');
            }
            s += &format!("{}/{}", r.dst, r.len);
            if let RouteType::Unicast { via, dev } = r.kind {
                if let Some(g) = via {
                    s += &format!(" via {g}");
                }
                s += &format!(" dev {dev}");
            }
            if let Some(m) = r.metric {
                s += &format!(" metric {m}");
            }
            if let Some(m) = r.mtu {
                s += &format!(" mtu {m}");
            }
            if r.table != TABLE_MAIN {
                s += &format!(" table {}", r.table);
            }
            s.push('\n');
        }
        for ((dev, ip), mac) in &self.neighs {
            s += &format!("neigh {ip} lladdr {} dev {dev}\n", mac_str(mac));
        }
        s
    }

    /// Does table `id` exist for this family (Linux creates a table with
    /// its first route; the main and local ones exist once the loopback
    /// has its addresses)?
    fn table_exists(&self, v6: bool, id: u32) -> bool {
        id == TABLE_MAIN
            || id == TABLE_LOCAL
            || self
                .routes
                .iter()
                .any(|r| r.table == id && r.dst.is_ipv6() == v6)
    }

    /// `fib_table_lookup`: the longest prefix of table `id` holding `dst`;
    /// a reject route answers with its code; IPv4 with an output interface
    /// skips the routes out of other interfaces (IPv6 prefers them but
    /// takes the one route of its prefix).
    fn table_lookup(&self, id: u32, dst: IpAddr, oif: Option<u32>) -> Result<&Route, u64> {
        // IPv4's local table shares the main one's trie (no policy rules):
        // both hold the loopback's local and broadcast routes of
        // 127.0.0.0/8, which are not forwarded.
        let id = if dst.is_ipv4() && id == TABLE_LOCAL {
            TABLE_MAIN
        } else {
            id
        };
        if let IpAddr::V4(a) = dst
            && id == TABLE_MAIN
            && a.is_loopback()
        {
            return Err(RET_NOT_FWDED);
        }
        let mut cands: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.table == id && r.matches(dst))
            .collect();
        cands.sort_by_key(|r| std::cmp::Reverse(r.len));
        for r in cands {
            if let Some(code) = r.kind.reject() {
                return Err(code);
            }
            if let (RouteType::Unicast { dev, .. }, Some(o), true) = (r.kind, oif, dst.is_ipv4())
                && dev != o
            {
                continue;
            }
            return Ok(r);
        }
        Err(RET_NOT_FWDED)
    }

    /// One `bpf_fib_lookup` on `p` (the 64 bytes of `struct
    /// bpf_fib_lookup`, rewritten as Linux rewrites them) with `flags`
    /// (already checked against [`LOOKUP_MASK`]); `check_mtu` as the
    /// wrapper decides. Returns r0.
    pub fn lookup(&self, p: &mut [u8; PARAMS_SIZE], flags: u32, check_mtu: bool) -> u64 {
        let v6 = p[params::FAMILY] == AF_INET6;
        let dst = if v6 {
            IpAddr::V6(Ipv6Addr::from(arr16(&p[params::DST..])))
        } else {
            IpAddr::V4(Ipv4Addr::from(arr4(&p[params::DST..])))
        };
        if v6 {
            let src = Ipv6Addr::from(arr16(&p[params::SRC..]));
            // Link-local, multicast and loopback addresses are never
            // forwarded (`rt6_need_strict`), checked before anything else.
            let strict = |a: &Ipv6Addr| {
                a.is_multicast() || a.is_loopback() || (a.segments()[0] & 0xffc0) == 0xfe80
            };
            if let IpAddr::V6(d) = dst
                && (strict(&d) || strict(&src))
            {
                return RET_NOT_FWDED;
            }
        }
        let ifindex = u32_at(p, params::IFINDEX);
        let Some(indev) = self.devs.get(&ifindex) else {
            return if ifindex == LOOPBACK_IFINDEX {
                RET_FWD_DISABLED
            } else {
                (-ENODEV) as u64
            };
        };
        if !indev.forwarding || (v6 && indev.mtu < IPV6_MIN_MTU) {
            return RET_FWD_DISABLED;
        }
        let oif = (flags & LOOKUP_OUTPUT != 0).then_some(ifindex);
        let res = if flags & LOOKUP_DIRECT != 0 {
            let mut tbid = TABLE_MAIN;
            if flags & LOOKUP_TBID != 0 {
                tbid = u32_at(p, params::TBID);
                put_u32(p, params::TBID, 0);
                if tbid == 0 {
                    tbid = TABLE_MAIN;
                }
            }
            if !self.table_exists(v6, tbid) {
                return RET_NOT_FWDED;
            }
            self.table_lookup(tbid, dst, oif)
        } else if v6 {
            // The local table (empty here), then the main one.
            self.table_lookup(TABLE_MAIN, dst, oif)
        } else if let IpAddr::V4(a) = dst
            && a.is_loopback()
        {
            // The loopback's local route answers: not forwarded.
            return RET_NOT_FWDED;
        } else {
            // The main table, then (when it exists) the default one.
            let r = self.table_lookup(TABLE_MAIN, dst, oif);
            if r.is_err() && self.table_exists(false, TABLE_DEFAULT) {
                self.table_lookup(TABLE_DEFAULT, dst, oif)
            } else {
                r
            }
        };
        let r = match res {
            Ok(r) => r,
            // IPv4 maps its lookup errors to these codes; IPv6 the route
            // types: the same answers.
            Err(code) => return code,
        };
        let RouteType::Unicast { via, dev } = r.kind else {
            return RET_NOT_FWDED;
        };
        let Some(out) = self.devs.get(&dev) else {
            return RET_NOT_FWDED;
        };
        let mut mtu = 0;
        if check_mtu {
            mtu = match r.mtu {
                Some(m) => m,
                None if v6 => out.mtu.max(IPV6_MIN_MTU),
                None => out.mtu.min(IP_MAX_MTU),
            };
            if u32::from(u16_at(p, params::TOT_LEN)) > mtu {
                put_u16(p, params::TOT_LEN, mtu as u16);
                return RET_FRAG_NEEDED;
            }
        }
        put_u32(p, params::RT_METRIC, r.metric());
        put_u32(p, params::IFINDEX, dev);
        let mut next = dst;
        if let Some(g) = via {
            next = g;
            match g {
                IpAddr::V4(a) => p[params::DST..params::DST + 4].copy_from_slice(&a.octets()),
                IpAddr::V6(a) => p[params::DST..params::DST + 16].copy_from_slice(&a.octets()),
            }
        }
        if flags & LOOKUP_SRC != 0 {
            // The only addresses are the loopback's: IPv6 selects ::1 for
            // any destination it forwards; IPv4 none (0.0.0.0), the
            // loopback's being of host scope.
            if v6 {
                p[params::SRC..params::SRC + 16].copy_from_slice(&Ipv6Addr::LOCALHOST.octets());
            } else {
                put_u32(p, params::SRC, 0);
            }
        }
        if flags & LOOKUP_SKIP_NEIGH == 0 {
            let Some(mac) = self.neighs.get(&(dev, next)) else {
                return RET_NO_NEIGH;
            };
            // SKIP_NEIGH leaves both MAC addresses as they were.
            p[params::DMAC..params::DMAC + 6].copy_from_slice(mac);
            p[params::SMAC..params::SMAC + 6].copy_from_slice(&out.mac);
        }
        put_u16(p, params::H_VLAN_TCI, 0);
        put_u16(p, params::H_VLAN_PROTO, 0);
        if mtu != 0 {
            put_u16(p, params::TOT_LEN, mtu as u16);
        }
        RET_SUCCESS
    }
}

/// The helper's checks and lookup, as `bpf_xdp_fib_lookup` (`skb_len:
/// None`) and `bpf_skb_fib_lookup` (`Some(skb->len)`) do them: a `plen`
/// under the struct's size or an unknown flag -EINVAL; a family other
/// than AF_INET and AF_INET6 -EAFNOSUPPORT; tc checks the MTU against
/// `tot_len` only when the program gives one, else the packet against the
/// output interface (`is_skb_forwardable`) after a success, and reports
/// that interface's MTU.
pub fn fib_lookup(
    fib: &Fib,
    p: &mut [u8; PARAMS_SIZE],
    plen: i32,
    flags: u32,
    skb_len: Option<u32>,
) -> u64 {
    if plen < PARAMS_SIZE as i32 || flags & !LOOKUP_MASK != 0 {
        return (-crate::contract::EINVAL) as u64;
    }
    let fam = p[params::FAMILY];
    if fam != AF_INET && fam != AF_INET6 {
        return (-EAFNOSUPPORT) as u64;
    }
    let check_mtu = skb_len.is_none() || u16_at(p, params::TOT_LEN) != 0;
    let rc = fib.lookup(p, flags, check_mtu);
    if let Some(len) = skb_len
        && rc == RET_SUCCESS
        && !check_mtu
        && let Some(out) = fib.devs.get(&u32_at(p, params::IFINDEX))
    {
        put_u16(p, params::TOT_LEN, out.mtu as u16);
        if len > out.mtu + FORWARDABLE_SLACK {
            return RET_FRAG_NEEDED;
        }
    }
    rc
}

fn arr4(b: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    a
}

fn arr16(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    a
}

fn u16_at(p: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([p[at], p[at + 1]])
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(arr4(&p[at..]))
}

fn put_u16(p: &mut [u8], at: usize, v: u16) {
    p[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(p: &mut [u8], at: usize, v: u32) {
    p[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn num(what: &str, s: Option<&&str>) -> Result<u32, String> {
    let s = s.ok_or_else(|| format!("`{what}` needs a number"))?;
    s.parse::<u32>()
        .map_err(|_| format!("`{what} {s}`: not a number"))
}

fn parse_dev(t: &[&str], line: usize) -> Result<Dev, String> {
    let ifindex = num("dev", t.first())?;
    if ifindex == 0 {
        return Err("ifindex 0 is no interface".into());
    }
    if ifindex == LOOPBACK_IFINDEX {
        return Err(
            "ifindex 1 is the loopback, which every namespace has and which does not forward: \
             give interfaces from 2 up"
                .into(),
        );
    }
    let (mut mac, mut mtu, mut forwarding) = (None, None, true);
    let mut i = 1;
    while i < t.len() {
        let v = t.get(i + 1);
        match t[i] {
            "mac" => {
                let s = v.ok_or("`mac` needs an address like 02:00:00:00:00:02")?;
                mac =
                    Some(parse_mac(s).ok_or_else(|| {
                        format!("`{s}` is not a MAC address (02:00:00:00:00:02)")
                    })?);
            }
            "mtu" => {
                let m = num("mtu", v)?;
                if !(68..=65535).contains(&m) {
                    return Err(format!("MTU {m} is outside 68..=65535"));
                }
                mtu = Some(m);
            }
            "forwarding" => {
                forwarding = match v.copied() {
                    Some("on") => true,
                    Some("off") => false,
                    other => {
                        return Err(format!(
                            "`forwarding` takes `on` or `off`, not `{}`",
                            other.unwrap_or("")
                        ));
                    }
                }
            }
            w => return Err(format!("unknown `dev` field `{w}` (mac, mtu, forwarding)")),
        }
        i += 2;
    }
    Ok(Dev {
        ifindex,
        mac: mac.ok_or("a `dev` line needs `mac MAC`")?,
        mtu: mtu.unwrap_or(1500),
        forwarding,
        line,
    })
}

fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not a prefix (ADDRESS/LENGTH)"))?;
    let ip: IpAddr = a
        .parse()
        .map_err(|_| format!("`{a}` is not an IPv4 or IPv6 address"))?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = l
        .parse()
        .ok()
        .filter(|&n: &u8| u32::from(n) <= width)
        .ok_or_else(|| format!("prefix length `{l}` is not 0..={width}"))?;
    let (bits, masked) = match ip {
        IpAddr::V4(v) => {
            let b = u32::from(v) as u128;
            (b, prefix_bits(b, 32, len))
        }
        IpAddr::V6(v) => {
            let b = u128::from(v);
            (b, prefix_bits(b, 128, len))
        }
    };
    if bits != masked {
        return Err(format!(
            "`{s}` has bits set beyond its {len}-bit prefix (Linux refuses it too)"
        ));
    }
    Ok((ip, len))
}

fn parse_route(t: &[&str], line: usize) -> Result<Route, String> {
    let mut i = 0;
    let kind_word = match t.first().copied() {
        Some(w @ ("blackhole" | "unreachable" | "prohibit")) => {
            i = 1;
            Some(w)
        }
        _ => None,
    };
    let (dst, len) = parse_prefix(t.get(i).ok_or("`route` needs a prefix")?)?;
    if let IpAddr::V4(a) = dst
        && a.is_loopback()
        && len >= 8
    {
        return Err("127.0.0.0/8 is the loopback's (its local routes)".into());
    }
    i += 1;
    let (mut via, mut dev, mut metric, mut mtu, mut table) = (None, None, None, None, TABLE_MAIN);
    while i < t.len() {
        let v = t.get(i + 1);
        match t[i] {
            "via" => {
                let s = v.ok_or("`via` needs a gateway address")?;
                let g: IpAddr = s
                    .parse()
                    .map_err(|_| format!("gateway `{s}` is not an IP address"))?;
                let bad = match g {
                    IpAddr::V4(a) => {
                        a.is_loopback()
                            || a.is_unspecified()
                            || a.is_multicast()
                            || a.is_broadcast()
                    }
                    IpAddr::V6(a) => a.is_loopback() || a.is_unspecified() || a.is_multicast(),
                };
                if bad {
                    return Err(format!(
                        "gateway {g} is not a unicast address of a neighbour"
                    ));
                }
                if g.is_ipv4() != dst.is_ipv4() {
                    return Err(format!(
                        "gateway {g} is not of the prefix's family (the model routes IPv4 via IPv4 and IPv6 via IPv6)"
                    ));
                }
                via = Some(g);
            }
            "dev" => {
                let d = num("dev", v)?;
                if d == LOOPBACK_IFINDEX {
                    return Err("routes out of the loopback (ifindex 1) are not modelled".into());
                }
                dev = Some(d);
            }
            "metric" => metric = Some(num("metric", v)?),
            "mtu" => {
                let m = num("mtu", v)?;
                let lo = if dst.is_ipv4() { 68 } else { IPV6_MIN_MTU };
                if !(lo..=65535).contains(&m) {
                    return Err(format!("route MTU {m} is outside {lo}..=65535"));
                }
                mtu = Some(m);
            }
            "table" => {
                let n = num("table", v)?;
                if n == 0 || n == TABLE_LOCAL {
                    return Err(format!(
                        "table {n}: routes go to the main table (254, the default) or a table of their own, not the kernel's local table (255) or 0"
                    ));
                }
                table = n;
            }
            w => {
                return Err(format!(
                    "unknown `route` field `{w}` (via, dev, metric, mtu, table)"
                ));
            }
        }
        i += 2;
    }
    let kind = match kind_word {
        None => RouteType::Unicast {
            via,
            dev: dev.ok_or("a unicast route needs `dev IFINDEX`")?,
        },
        Some(w) => {
            if via.is_some() || dev.is_some() {
                return Err(format!("a {w} route has no `via` or `dev`"));
            }
            match w {
                "blackhole" => RouteType::Blackhole,
                "unreachable" => RouteType::Unreachable,
                _ => RouteType::Prohibit,
            }
        }
    };
    Ok(Route {
        dst,
        len,
        kind,
        table,
        metric,
        mtu,
        line,
    })
}

fn parse_neigh(t: &[&str]) -> Result<(IpAddr, [u8; 6], u32), String> {
    let s = t.first().ok_or("`neigh` needs an address")?;
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("`{s}` is not an IP address"))?;
    let (mut mac, mut dev) = (None, None);
    let mut i = 1;
    while i < t.len() {
        let v = t.get(i + 1);
        match t[i] {
            "lladdr" => {
                let s = v.ok_or("`lladdr` needs a MAC address")?;
                mac = Some(parse_mac(s).ok_or_else(|| format!("`{s}` is not a MAC address"))?);
            }
            "dev" => dev = Some(num("dev", v)?),
            w => return Err(format!("unknown `neigh` field `{w}` (lladdr, dev)")),
        }
        i += 2;
    }
    Ok((
        ip,
        mac.ok_or("a `neigh` line needs `lladdr MAC`")?,
        dev.ok_or("a `neigh` line needs `dev IFINDEX`")?,
    ))
}

#[cfg(test)]
mod tests;
