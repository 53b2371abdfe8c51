//! A forwarding table ([`Fib`]) as the kernel's own: a fresh network
//! namespace holding exactly its interfaces, routes and neighbours, so that
//! `bpf_fib_lookup` in a test run answers from the same table as the
//! software engines.
//!
//! The calling thread moves into the namespace ([`FibNamespace::enter`])
//! and back when the guard is dropped (the namespace and its interfaces go
//! with it). Test runs happen in the namespace of the thread that asks for
//! them, so a program loaded anywhere runs against the table. Interfaces
//! are veth devices `nfbN` with ifindex N, the MAC and MTU of their `dev`
//! line, no addresses (`addrgenmode none`), up with their peer (`nfpN`,
//! ifindex 2^20 + N, so that they have a carrier), and `forwarding` per
//! family as given; routes are `ip route` lines (a gateway `onlink`, as no
//! interface has an address; a route MTU
//! `mtu lock N`); neighbours `nud permanent`. The loopback is up (127.0.0.1/8,
//! ::1) and does not forward.
//! Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); `ip` (iproute2) does the
//! work.

use super::KernelError;
use nfbpf_vm::fib::{Fib, RouteType, TABLE_MAIN};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;

/// The calling thread inside a namespace built from a [`Fib`]; dropping it
/// returns the thread to the namespace it came from.
#[derive(Debug)]
pub struct FibNamespace {
    old: Option<OwnedFd>,
}

fn err(msg: String) -> KernelError {
    KernelError::Unsupported(msg)
}

/// The interface name of ifindex `n`.
pub fn dev_name(n: u32) -> String {
    format!("nfb{n}")
}

/// The other end of interface `n`'s veth pair (`nfpN`, ifindex
/// [`PEER_INDEX`] + N: out of the table's way).
fn peer_name(n: u32) -> String {
    format!("nfp{n}")
}

const PEER_INDEX: u32 = 1 << 20;

fn ip(args: &[String], line: Option<usize>) -> Result<(), KernelError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| err(format!("fib namespace: cannot run `ip` (iproute2): {e}")))?;
    if !out.status.success() {
        let at = line.map(|l| format!(" (fib line {l})")).unwrap_or_default();
        return Err(err(format!(
            "fib namespace: `ip {}`{at} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn sysctl(path: &str, v: &str) -> Result<(), KernelError> {
    std::fs::write(path, v).map_err(|e| err(format!("fib namespace: writing {v} to {path}: {e}")))
}

impl FibNamespace {
    /// Move the calling thread into a new network namespace holding `fib`.
    pub fn enter(fib: &Fib) -> Result<FibNamespace, KernelError> {
        let old = std::fs::File::open("/proc/thread-self/ns/net")
            .map_err(|e| err(format!("fib namespace: /proc/thread-self/ns/net: {e}")))?;
        // SAFETY: unshare(2) with a flag; it changes only this thread's
        // namespace.
        #[allow(unsafe_code)]
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EPERM) {
                KernelError::Permission {
                    op: "unshare(CLONE_NEWNET)",
                    source: e,
                }
            } else {
                KernelError::Sys {
                    op: "unshare(CLONE_NEWNET)",
                    source: e,
                }
            });
        }
        let ns = FibNamespace {
            old: Some(OwnedFd::from(old)),
        };
        ns.build(fib)?;
        Ok(ns)
    }

    fn build(&self, fib: &Fib) -> Result<(), KernelError> {
        let s = |x: &str| x.to_string();
        // The loopback up (Linux then has its local table, which `onlink`
        // gateways are checked against) and, as the model's, not
        // forwarding, whatever a new namespace inherits.
        ip(&[s("link"), s("set"), s("lo"), s("up")], None)?;
        sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "0")?;
        sysctl("/proc/sys/net/ipv6/conf/lo/forwarding", "0")?;
        for d in fib.devs.values() {
            if d.ifindex >= PEER_INDEX {
                return Err(err(format!(
                    "fib line {}: ifindex {} is beyond the namespace's {PEER_INDEX} (its veth peers start there)",
                    d.line, d.ifindex
                )));
            }
            let name = dev_name(d.ifindex);
            let mac = d
                .mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            ip(
                &[
                    s("link"),
                    s("add"),
                    s("name"),
                    name.clone(),
                    s("index"),
                    d.ifindex.to_string(),
                    s("address"),
                    mac,
                    s("mtu"),
                    d.mtu.to_string(),
                    s("type"),
                    s("veth"),
                    s("peer"),
                    s("name"),
                    peer_name(d.ifindex),
                    s("index"),
                    (PEER_INDEX + d.ifindex).to_string(),
                ],
                Some(d.line),
            )?;
            for n in [name.clone(), peer_name(d.ifindex)] {
                // (An interface under 1280 bytes has no IPv6 to configure.)
                if n != name || d.mtu >= nfbpf_vm::fib::IPV6_MIN_MTU {
                    ip(
                        &[s("link"), s("set"), n.clone(), s("addrgenmode"), s("none")],
                        Some(d.line),
                    )?;
                }
                ip(&[s("link"), s("set"), n, s("up")], Some(d.line))?;
            }
            let fwd = if d.forwarding { "1" } else { "0" };
            sysctl(&format!("/proc/sys/net/ipv4/conf/{name}/forwarding"), fwd)?;
            // No IPv6 on an interface under 1280 bytes.
            let v6 = format!("/proc/sys/net/ipv6/conf/{name}/forwarding");
            if std::path::Path::new(&v6).exists() {
                sysctl(&v6, fwd)?;
            }
        }
        for r in &fib.routes {
            let mut a = vec![
                if r.dst.is_ipv6() { s("-6") } else { s("-4") },
                s("route"),
                s("add"),
            ];
            if !matches!(r.kind, RouteType::Unicast { .. }) {
                a.push(s(r.kind.keyword()));
            }
            a.push(format!("{}/{}", r.dst, r.len));
            if let RouteType::Unicast { via, dev } = r.kind {
                if let Some(g) = via {
                    a.extend([s("via"), g.to_string()]);
                }
                a.extend([s("dev"), dev_name(dev)]);
                if via.is_some() {
                    a.push(s("onlink"));
                }
            }
            if let Some(m) = r.metric {
                a.extend([s("metric"), m.to_string()]);
            }
            if let Some(m) = r.mtu {
                a.extend([s("mtu"), s("lock"), m.to_string()]);
            }
            if r.table != TABLE_MAIN {
                a.extend([s("table"), r.table.to_string()]);
            }
            ip(&a, Some(r.line))?;
        }
        for ((dev, addr), mac) in &fib.neighs {
            let mac = mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            ip(
                &[
                    s("neigh"),
                    s("add"),
                    addr.to_string(),
                    s("lladdr"),
                    mac,
                    s("dev"),
                    dev_name(*dev),
                    s("nud"),
                    s("permanent"),
                ],
                None,
            )?;
        }
        Ok(())
    }
}

impl Drop for FibNamespace {
    fn drop(&mut self) {
        if let Some(fd) = self.old.take() {
            // SAFETY: setns(2) on a namespace file this guard opened; it
            // changes only this thread's namespace.
            #[allow(unsafe_code)]
            unsafe {
                libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET)
            };
        }
    }
}
