//! The NetFPGA SUME board through its Linux driver.
//!
//! The driver exposes the AXI4-Lite register space through two private
//! ioctls on the board's network interface (`nf0` by default):
//! `SIOCREGWRITE = SIOCDEVPRIVATE + 1` and `SIOCREGREAD = SIOCDEVPRIVATE + 2`,
//! with `ifr_data` pointing at `struct { u32 addr; u32 val; }` where `addr`
//! is the absolute AXI address (`REG_BASE + offset`). This module encodes
//! those requests; it never falls back to a model when the board is absent.

use super::{BusError, RegisterBus};
use nfbpf_vm::regs::REG_BASE;

/// `SIOCDEVPRIVATE` of `<linux/sockios.h>`.
pub const SIOCDEVPRIVATE: u32 = 0x89f0;
pub const SIOCREGWRITE: u32 = SIOCDEVPRIVATE + 1;
pub const SIOCREGREAD: u32 = SIOCDEVPRIVATE + 2;
/// `IFNAMSIZ`.
pub const IFNAMSIZ: usize = 16;

/// The driver's request: absolute address and value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumeReq {
    pub addr: u32,
    pub val: u32,
}

/// `struct ifreq` with the `ifr_data` member of its union.
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    data: *mut SumeReq,
    _rest: [u8; 16],
}

/// The interface name as `ifr_name`: NUL-terminated, at most 15 bytes.
pub fn encode_name(ifname: &str) -> Result<[u8; IFNAMSIZ], BusError> {
    let b = ifname.as_bytes();
    if b.is_empty() || b.len() >= IFNAMSIZ || b.contains(&0) || b.contains(&b'/') {
        return Err(BusError::Transport(format!(
            "sume:{ifname}: invalid interface name (1..15 bytes, no NUL or '/')"
        )));
    }
    let mut n = [0u8; IFNAMSIZ];
    n[..b.len()].copy_from_slice(b);
    Ok(n)
}

/// The request for a register at `offset` from the module base.
pub fn request(offset: u32, val: u32) -> Result<SumeReq, BusError> {
    let addr = REG_BASE
        .checked_add(offset)
        .ok_or(BusError::Unmapped(offset))?;
    Ok(SumeReq { addr, val })
}

/// A SUME board's registers.
#[derive(Debug)]
pub struct SumeBus {
    ifname: String,
    name: [u8; IFNAMSIZ],
    fd: std::os::fd::OwnedFd,
}

impl SumeBus {
    /// Open the interface; fails clearly when it does not exist.
    pub fn open(ifname: &str) -> Result<Self, BusError> {
        let name = encode_name(ifname)?;
        let cname = std::ffi::CString::new(ifname)
            .map_err(|_| BusError::Transport(format!("sume:{ifname}: invalid interface name")))?;
        // SAFETY: `cname` is a valid NUL-terminated string for the call.
        #[allow(unsafe_code)]
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(BusError::Transport(format!(
                "sume:{ifname}: no network interface `{ifname}` (is the SUME driver loaded and the board programmed?)"
            )));
        }
        // SAFETY: plain socket(2) call; the result is checked below.
        #[allow(unsafe_code)]
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
        if fd < 0 {
            return Err(BusError::Transport(format!(
                "sume:{ifname}: socket: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        #[allow(unsafe_code)]
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(SumeBus {
            ifname: ifname.to_string(),
            name,
            fd,
        })
    }

    fn ioctl(&mut self, code: u32, req: &mut SumeReq) -> Result<(), BusError> {
        use std::os::fd::AsRawFd;
        let mut ifr = IfReq {
            name: self.name,
            data: req as *mut SumeReq,
            _rest: [0; 16],
        };
        // SAFETY: `ifr` is a properly laid out `struct ifreq` whose
        // `ifr_data` points at `req`, which outlives the call; the driver
        // reads and writes only those 8 bytes.
        #[allow(unsafe_code)]
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                code as libc::Ioctl,
                &mut ifr as *mut IfReq,
            )
        };
        if rc < 0 {
            let op = if code == SIOCREGREAD {
                "SIOCREGREAD"
            } else {
                "SIOCREGWRITE"
            };
            return Err(BusError::Transport(format!(
                "sume:{}: {op} at {:#010x} failed: {} (is this a SUME interface?)",
                self.ifname,
                req.addr,
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }
}

impl RegisterBus for SumeBus {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        let mut r = request(offset, 0)?;
        self.ioctl(SIOCREGREAD, &mut r)?;
        Ok(r.val)
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        let mut r = request(offset, value)?;
        self.ioctl(SIOCREGWRITE, &mut r)
    }

    /// The frame goes out on the driver's interface of port `port`
    /// ([`host_interface`]) through a raw packet socket (needs
    /// `CAP_NET_RAW`): the driver's DMA puts it on that port's host queue.
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        let ifname = host_interface(&self.ifname, port)?;
        send_raw(&ifname, frame)
    }

    /// Not on a board: the data plane cannot tell the host's frames from
    /// the wire's once they are in (the wrapper, `rtl/ebpf_sume_opl.v`,
    /// hands port i's frames and DMA queue i's frames to the same input i,
    /// `docs/sume.md`), so an answer goes where the program sends it. A
    /// lambda's `XDP_TX` is port i's 10G MAC, out on the wire, not DMA
    /// queue i: the host sees it only if that port is cabled back into an
    /// interface it reads, or for a program that answers with `XDP_PASS`
    /// (the source port's DMA queue, read on `nfN` by the kernel). Neither
    /// is built, so this is an error rather than a receive that never
    /// returns anything.
    fn host_recv(&mut self) -> Result<Option<nfbpf_vm::regs::HostFrame>, BusError> {
        Err(BusError::Transport(format!(
            "sume:{}: the board hands no answers back to the host: an XDP_TX answer to a frame sent from DMA queue N leaves by port N's 10G MAC, not by the DMA queue (receiving from nfN or a looped-back port is not built)",
            self.ifname
        )))
    }
}

/// The driver's interface of port `port` beside `ifname`: the SUME driver
/// names its four interfaces `nf0`..`nf3`, so the trailing number of
/// `ifname` is replaced with `port` (`nf0`, port 2: `nf2`).
pub fn host_interface(ifname: &str, port: usize) -> Result<String, BusError> {
    let stem = ifname.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == ifname.len() || port >= nfbpf_vm::device::PORTS {
        return Err(BusError::Transport(format!(
            "sume:{ifname}: no host interface for port {port} (expected an interface named like nf0, ports 0..{})",
            nfbpf_vm::device::PORTS - 1
        )));
    }
    Ok(format!("{stem}{port}"))
}

fn send_raw(ifname: &str, frame: &[u8]) -> Result<(), BusError> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let err = |what: &str| {
        BusError::Transport(format!(
            "sume:{ifname}: {what}: {} (sending frames from the host needs CAP_NET_RAW, e.g. sudo)",
            std::io::Error::last_os_error()
        ))
    };
    let cname = std::ffi::CString::new(ifname)
        .map_err(|_| BusError::Transport(format!("sume:{ifname}: invalid interface name")))?;
    // SAFETY: `cname` is a valid NUL-terminated string for the call.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(BusError::Transport(format!(
            "sume:{ifname}: no network interface `{ifname}` (is the SUME driver loaded?)"
        )));
    }
    // SAFETY: plain socket(2) call; the result is checked below.
    #[allow(unsafe_code)]
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        return Err(err("packet socket"));
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    #[allow(unsafe_code)]
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    #[allow(unsafe_code)]
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_ifindex = index as i32;
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(&frame[..6.min(frame.len())]);
    // SAFETY: `frame` and `sa` outlive the call; the lengths are theirs.
    #[allow(unsafe_code)]
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if n < 0 {
        return Err(err("send"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding() {
        assert_eq!(SIOCREGWRITE, 0x89f1);
        assert_eq!(SIOCREGREAD, 0x89f2);
        assert_eq!(
            request(0x1c, 5),
            Ok(SumeReq {
                addr: 0x4402_001c,
                val: 5
            })
        );
        assert_eq!(std::mem::size_of::<SumeReq>(), 8);
        // struct ifreq is 40 bytes on 64-bit Linux.
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        let n = encode_name("nf0").expect("valid name");
        assert_eq!(&n[..4], b"nf0\0");
        assert!(encode_name("").is_err());
        assert!(encode_name("a-very-long-ifname").is_err());
    }

    #[test]
    fn host_interfaces_are_the_drivers_port_interfaces() {
        assert_eq!(host_interface("nf0", 2).unwrap(), "nf2");
        assert_eq!(host_interface("nf3", 0).unwrap(), "nf0");
        let e = host_interface("eth", 1).unwrap_err().to_string();
        assert!(e.contains("no host interface for port 1"), "{e}");
        assert!(host_interface("nf0", 4).is_err());
    }

    #[test]
    fn missing_interface_is_a_clear_error() {
        let e = SumeBus::open("nfbpfnone9").unwrap_err().to_string();
        assert!(e.contains("no network interface `nfbpfnone9`"), "{e}");
    }

    #[test]
    fn non_sume_interface_fails_on_the_ioctl() {
        // The loopback interface exists but has no SUME driver behind it.
        let Ok(mut bus) = SumeBus::open("lo") else {
            return; // no loopback in this sandbox: nothing to check
        };
        let e = bus.read32(0).unwrap_err().to_string();
        assert!(e.contains("SIOCREGREAD at 0x44020000 failed"), "{e}");
    }
}
