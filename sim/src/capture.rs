//! Capture files: reading pcap and pcapng packet by packet, writing pcapng
//! with declared timestamp resolution and one interface per port.
//!
//! [`Reader`] streams: it holds one buffer (the pcap library's, a few MB)
//! whatever the file's size, and [`Reader::next_into`] reuses the caller's
//! packet buffer. It accepts classic pcap (microsecond or nanosecond magic)
//! and pcapng with any declared timestamp resolution (`if_tsresol`, decimal
//! or binary; microseconds when absent) and offset (`if_tsoffset`), and
//! gives every packet its time in nanoseconds. Only Ethernet link types are
//! accepted: the programs parse Ethernet frames.
//!
//! [`Writer`] writes pcapng: a section header, then named interfaces
//! (Interface Description Blocks), each declaring nanosecond timestamps
//! (`if_tsresol` = 9), then Enhanced Packet Blocks on those interfaces,
//! through a buffer (one `write(2)` per buffer, not per packet).
//! [`Writer::egress`] is the layout of `nfbpf run --out`:
//!
//! | interface id | name | packets |
//! |---|---|---|
//! | 0..=3 | `port0`..`port3` | sent out of that port (XDP_TX, a redirect to the port, a SUME port; a flood once on every port but the input) |
//! | 4 | `host` | to the host: XDP_PASS, tc OK, SUME CONTROLLER, a redirect to a CPU or AF_XDP queue, a tc redirect to a port's ingress (`BPF_F_INGRESS`: the packet goes up the host's stack) |
//! | 5.. | `portN` | a redirect to port N >= 4 (no such port on the device), declared at its first packet |
//!
//! (`nfbpf run --engine kernel` adds one more, `redirect`, at its first
//! XDP_REDIRECT: the kernel's test run does not say where to.)
//!
//! Dropped and aborted packets are not written.

use nfbpf_vm::abi::Verdict;
use nfbpf_vm::device::PORTS;
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Duration;

/// A capture that cannot be read or written: the message names the file
/// and, where it applies, the packet (counted from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError(pub String);

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

/// One packet read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    /// Capture time (pcapng: with the interface's resolution and offset
    /// applied).
    pub ts: Duration,
    pub data: Vec<u8>,
    /// pcapng interface id (None for classic pcap and Simple Packet Blocks).
    pub iface: Option<u32>,
}

/// Timestamp units of one pcapng interface.
#[derive(Debug, Clone, Copy)]
struct IfTime {
    linktype: DataLink,
    /// `if_tsresol`: bit 7 clear, 10^-n s; set, 2^-n s.
    resol: u8,
    /// `if_tsoffset`, seconds.
    offset: i64,
}

enum Src {
    Pcap(PcapReader<Box<dyn Read>>),
    PcapNg {
        r: PcapNgReader<Box<dyn Read>>,
        ifaces: Vec<IfTime>,
    },
}

/// A pcap or pcapng file read packet by packet.
pub struct Reader {
    src: Src,
    name: String,
    index: u64,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("name", &self.name)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Nanoseconds of a raw pcapng timestamp in units of `resol`.
fn raw_to_ns(raw: u64, resol: u8) -> u128 {
    let raw = u128::from(raw);
    let n = u32::from(resol & 0x7f);
    if resol & 0x80 != 0 {
        // 2^-n s: raw * 1e9 fits u128 (< 2^94); a shift of 127 is defined.
        (raw * 1_000_000_000) >> n
    } else if n <= 9 {
        raw * 10u128.pow(9 - n)
    } else {
        10u128.checked_pow(n - 9).map_or(0, |d| raw / d)
    }
}

impl Reader {
    /// Open `path` (pcap or pcapng, told apart by the magic number).
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let f = File::open(path)
            .map_err(|e| CaptureError(format!("cannot read {}: {e}", path.display())))?;
        Self::new(f, &path.display().to_string())
    }

    /// Read a capture from `r`; `name` names it in errors.
    pub fn new<R: Read + 'static>(mut r: R, name: &str) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match r.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError(format!("{name}: {e}"))),
            }
        }
        if got < 4 {
            return Err(CaptureError(format!(
                "{name}: not a pcap or pcapng file: {got} bytes, shorter than any capture header"
            )));
        }
        let stream: Box<dyn Read> = Box::new(std::io::Cursor::new(magic).chain(r));
        // pcapng starts with a section header block (0x0a0d0d0a).
        let src = if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
            Src::PcapNg {
                r: PcapNgReader::new(stream)
                    .map_err(|e| CaptureError(format!("{name}: pcapng section header: {e}")))?,
                ifaces: Vec::new(),
            }
        } else {
            let r = PcapReader::new(stream)
                .map_err(|e| CaptureError(format!("{name}: not a pcap or pcapng file: {e}")))?;
            let dl = r.header().datalink;
            if dl != DataLink::ETHERNET {
                return Err(CaptureError(format!(
                    "{name}: link type {}: only Ethernet captures (link type 1) can be run",
                    u32::from(dl)
                )));
            }
            Src::Pcap(r)
        };
        Ok(Reader {
            src,
            name: name.to_string(),
            index: 0,
        })
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.index
    }

    /// The next packet into `p` (its buffer reused); false at the end.
    pub fn next_into(&mut self, p: &mut Packet) -> Result<bool, CaptureError> {
        let (name, index) = (&self.name, self.index);
        let err = |e: &dyn fmt::Display| CaptureError(format!("{name}: packet {index}: {e}"));
        match &mut self.src {
            Src::Pcap(r) => match r.next_packet() {
                None => return Ok(false),
                Some(Err(e)) => return Err(err(&e)),
                Some(Ok(pkt)) => {
                    p.ts = pkt.timestamp;
                    p.iface = None;
                    p.data.clear();
                    p.data.extend_from_slice(&pkt.data);
                }
            },
            Src::PcapNg { r, ifaces } => loop {
                let block = match r.next_block() {
                    None => return Ok(false),
                    Some(Err(e)) => return Err(err(&e)),
                    Some(Ok(b)) => b,
                };
                match block {
                    Block::SectionHeader(_) => ifaces.clear(),
                    Block::InterfaceDescription(idb) => {
                        let mut t = IfTime {
                            linktype: idb.linktype,
                            resol: 6,
                            offset: 0,
                        };
                        for o in &idb.options {
                            match o {
                                InterfaceDescriptionOption::IfTsResol(v) => t.resol = *v,
                                InterfaceDescriptionOption::IfTsOffset(v) => t.offset = *v as i64,
                                _ => {}
                            }
                        }
                        ifaces.push(t);
                    }
                    Block::EnhancedPacket(epb) => {
                        let id = epb.interface_id;
                        let Some(t) = ifaces.get(id as usize) else {
                            return Err(err(&format_args!(
                                "interface id {id}, but the section declares {} interfaces",
                                ifaces.len()
                            )));
                        };
                        if t.linktype != DataLink::ETHERNET {
                            return Err(err(&format_args!(
                                "interface {id} has link type {}: only Ethernet captures (link type 1) can be run",
                                u32::from(t.linktype)
                            )));
                        }
                        // The library reads the raw count as nanoseconds.
                        let raw = epb.timestamp.as_nanos() as u64;
                        let ns =
                            raw_to_ns(raw, t.resol) as i128 + i128::from(t.offset) * 1_000_000_000;
                        let ns = u64::try_from(ns).map_err(|_| {
                            err(&format_args!(
                                "timestamp {raw} (resolution {:#x}, offset {} s) is out of range",
                                t.resol, t.offset
                            ))
                        })?;
                        p.ts = Duration::from_nanos(ns);
                        p.iface = Some(id);
                        p.data.clear();
                        p.data.extend_from_slice(&epb.data);
                        break;
                    }
                    Block::SimplePacket(spb) => {
                        p.ts = Duration::ZERO;
                        p.iface = None;
                        p.data.clear();
                        p.data.extend_from_slice(&spb.data);
                        break;
                    }
                    _ => {}
                }
            },
        }
        self.index += 1;
        Ok(true)
    }
}

impl Iterator for Reader {
    type Item = Result<Packet, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut p = Packet::default();
        match self.next_into(&mut p) {
            Ok(true) => Some(Ok(p)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Read a whole capture (for small files; [`Reader`] streams).
pub fn read_all(path: &Path) -> Result<Vec<Packet>, CaptureError> {
    Reader::open(path)?.collect()
}

/// Interface id of the host in [`Writer::egress`]'s layout.
pub const HOST_INTERFACE: u32 = PORTS as u32;

/// A pcapng file written through a buffer, every interface declaring
/// nanosecond timestamps.
pub struct Writer<W: Write> {
    w: PcapNgWriter<BufWriter<W>>,
    name: String,
    interfaces: u32,
    /// Ports >= [`PORTS`] given an interface in the egress layout.
    extra_ports: Vec<(u32, u32)>,
    written: u64,
}

impl<W: Write> fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("name", &self.name)
            .field("interfaces", &self.interfaces)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Writer<File> {
    /// Create `path` with the interfaces `names` (ids 0, 1, ...).
    pub fn create(path: &Path, names: &[String]) -> Result<Self, CaptureError> {
        let f = File::create(path)
            .map_err(|e| CaptureError(format!("cannot create {}: {e}", path.display())))?;
        Self::new(f, &path.display().to_string(), names)
    }

    /// Create `path` in the egress layout of `nfbpf run --out`.
    pub fn create_egress(path: &Path) -> Result<Self, CaptureError> {
        Self::create(path, &egress_names())
    }
}

/// `port0`..`port3`, `host`.
fn egress_names() -> Vec<String> {
    (0..PORTS)
        .map(|p| format!("port{p}"))
        .chain(std::iter::once("host".to_string()))
        .collect()
}

impl<W: Write> Writer<W> {
    /// A pcapng stream on `w` with the interfaces `names` (ids 0, 1, ...);
    /// `name` names it in errors.
    pub fn new(w: W, name: &str, names: &[String]) -> Result<Self, CaptureError> {
        let w = PcapNgWriter::new(BufWriter::with_capacity(1 << 16, w))
            .map_err(|e| CaptureError(format!("{name}: {e}")))?;
        let mut s = Writer {
            w,
            name: name.to_string(),
            interfaces: 0,
            extra_ports: Vec::new(),
            written: 0,
        };
        for n in names {
            s.add_interface(n)?;
        }
        Ok(s)
    }

    /// The egress layout on `w` (see the module's table).
    pub fn egress(w: W, name: &str) -> Result<Self, CaptureError> {
        Self::new(w, name, &egress_names())
    }

    /// Declare one more Ethernet interface named `ifname`; its id.
    pub fn add_interface(&mut self, ifname: &str) -> Result<u32, CaptureError> {
        self.w
            .write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed(ifname)),
                    // 10^-9 s: the library writes timestamps in nanoseconds.
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            })
            .map_err(|e| CaptureError(format!("{}: {e}", self.name)))?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Interfaces declared.
    pub fn interfaces(&self) -> u32 {
        self.interfaces
    }

    /// Packets written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Write `frame` on interface `iface` at `ts`.
    pub fn write(&mut self, iface: u32, ts: Duration, frame: &[u8]) -> Result<(), CaptureError> {
        if iface >= self.interfaces {
            return Err(CaptureError(format!(
                "{}: interface {iface} not declared ({} are)",
                self.name, self.interfaces
            )));
        }
        let len = u32::try_from(frame.len()).map_err(|_| {
            CaptureError(format!(
                "{}: frame of {} bytes is too long for pcapng",
                self.name,
                frame.len()
            ))
        })?;
        self.w
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id: iface,
                timestamp: ts,
                original_len: len,
                data: Cow::Borrowed(frame),
                options: vec![],
            })
            .map_err(|e| CaptureError(format!("{}: packet {}: {e}", self.name, self.written)))?;
        self.written += 1;
        Ok(())
    }

    /// The interface of `port` in the egress layout (declared at first use
    /// for ports >= [`PORTS`]).
    fn port_interface(&mut self, port: u32) -> Result<u32, CaptureError> {
        if (port as usize) < PORTS {
            return Ok(port);
        }
        if let Some(&(_, id)) = self.extra_ports.iter().find(|(p, _)| *p == port) {
            return Ok(id);
        }
        let id = self.add_interface(&format!("port{port}"))?;
        self.extra_ports.push((port, id));
        Ok(id)
    }

    /// Write `frame` where `verdict` sends it, in the egress layout (see
    /// the module's table); a packet that arrived on `in_port`. Drops and
    /// aborts are not written. The number of packets written (a flood
    /// writes one per other port).
    pub fn write_verdict(
        &mut self,
        verdict: Verdict,
        in_port: u32,
        ts: Duration,
        frame: &[u8],
    ) -> Result<u32, CaptureError> {
        match verdict {
            Verdict::Drop | Verdict::Aborted => Ok(0),
            Verdict::Pass | Verdict::Host(_) | Verdict::Ingress(_) => {
                self.write(HOST_INTERFACE, ts, frame)?;
                Ok(1)
            }
            Verdict::Tx(p) | Verdict::Redirect(p) => {
                let id = self.port_interface(p)?;
                self.write(id, ts, frame)?;
                Ok(1)
            }
            Verdict::Flood => {
                let mut n = 0;
                for p in (0..PORTS as u32).filter(|&p| p != in_port) {
                    self.write(p, ts, frame)?;
                    n += 1;
                }
                Ok(n)
            }
        }
    }

    /// Flush the buffer; the underlying writer.
    pub fn finish(self) -> Result<W, CaptureError> {
        let name = self.name;
        self.w
            .into_inner()
            .into_inner()
            .map_err(|e| CaptureError(format!("{name}: {}", e.error())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        assert_eq!(raw_to_ns(5, 9), 5);
        assert_eq!(raw_to_ns(5, 6), 5_000);
        assert_eq!(raw_to_ns(5, 0), 5_000_000_000);
        assert_eq!(raw_to_ns(5_000, 12), 5);
        assert_eq!(raw_to_ns(1 << 20, 0x80 | 20), 1_000_000_000);
        assert_eq!(raw_to_ns(3, 0x80 | 1), 1_500_000_000);
        assert_eq!(raw_to_ns(u64::MAX, 127), 0);
        assert_eq!(raw_to_ns(u64::MAX, 0xff), 0);
    }

    fn idb(resol: Option<u8>, offset: Option<u64>) -> InterfaceDescriptionBlock<'static> {
        let mut options = vec![];
        if let Some(r) = resol {
            options.push(InterfaceDescriptionOption::IfTsResol(r));
        }
        if let Some(o) = offset {
            options.push(InterfaceDescriptionOption::IfTsOffset(o));
        }
        InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options,
        }
    }

    /// A pcapng of foreign resolutions (microseconds by default, 2^-10 s,
    /// an offset) reads back in nanoseconds on the right interfaces.
    #[test]
    fn reads_declared_resolutions() {
        let mut buf = Vec::new();
        {
            let mut w = PcapNgWriter::new(&mut buf).unwrap();
            w.write_pcapng_block(idb(None, None)).unwrap();
            w.write_pcapng_block(idb(Some(0x80 | 10), Some(100)))
                .unwrap();
            for (iface, raw) in [(0u32, 7u64), (1, 512)] {
                w.write_pcapng_block(EnhancedPacketBlock {
                    interface_id: iface,
                    timestamp: Duration::from_nanos(raw),
                    original_len: 3,
                    data: Cow::Borrowed(&[1, 2, 3]),
                    options: vec![],
                })
                .unwrap();
            }
        }
        let got: Vec<Packet> = Reader::new(std::io::Cursor::new(buf), "mem")
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].ts, Duration::from_micros(7));
        assert_eq!(got[0].iface, Some(0));
        assert_eq!(got[1].ts, Duration::from_millis(100_500));
        assert_eq!(got[1].iface, Some(1));
        assert_eq!(got[1].data, [1, 2, 3]);
    }

    #[test]
    fn writer_round_trip_and_egress_layout() {
        let mut w = Writer::egress(Vec::new(), "mem").unwrap();
        assert_eq!(w.interfaces(), 5);
        let t = Duration::from_nanos(1_234_567_891);
        assert_eq!(w.write_verdict(Verdict::Drop, 0, t, &[1]).unwrap(), 0);
        assert_eq!(w.write_verdict(Verdict::Tx(2), 0, t, &[2]).unwrap(), 1);
        assert_eq!(w.write_verdict(Verdict::Pass, 0, t, &[3]).unwrap(), 1);
        assert_eq!(w.write_verdict(Verdict::Flood, 1, t, &[4]).unwrap(), 3);
        assert_eq!(
            w.write_verdict(Verdict::Redirect(9), 1, t, &[5]).unwrap(),
            1
        );
        assert_eq!(
            w.write_verdict(Verdict::Redirect(9), 1, t, &[6]).unwrap(),
            1
        );
        assert_eq!(w.interfaces(), 6);
        assert!(
            w.write(6, t, &[0])
                .unwrap_err()
                .0
                .contains("interface 6 not declared")
        );
        let bytes = w.finish().unwrap();
        let got: Vec<Packet> = Reader::new(std::io::Cursor::new(bytes), "mem")
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let ifaces: Vec<(Option<u32>, u8)> = got.iter().map(|p| (p.iface, p.data[0])).collect();
        assert_eq!(
            ifaces,
            [
                (Some(2), 2),
                (Some(4), 3),
                (Some(0), 4),
                (Some(2), 4),
                (Some(3), 4),
                (Some(5), 5),
                (Some(5), 6)
            ]
        );
        assert!(got.iter().all(|p| p.ts == t));
    }

    #[test]
    fn bad_input_is_named() {
        let e = Reader::new(std::io::Cursor::new(vec![1, 2]), "x.pcap").unwrap_err();
        assert!(e.0.contains("x.pcap: not a pcap or pcapng file"), "{e}");
        let e = Reader::new(std::io::Cursor::new(vec![0u8; 64]), "y").unwrap_err();
        assert!(e.0.contains("y: not a pcap or pcapng file"), "{e}");
        // An EPB on an undeclared interface.
        // (The library's writer refuses it: the block is made by hand.)
        let mut buf = Vec::new();
        drop(PcapNgWriter::new(&mut buf).unwrap());
        let endian = buf[8..12].to_vec(); // the byte-order magic
        let le = endian == [0x4d, 0x3c, 0x2b, 0x1a];
        let word = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        for v in [6, 36, 3, 0, 0, 1, 1] {
            buf.extend_from_slice(&word(v));
        }
        buf.extend_from_slice(&[1, 0, 0, 0]);
        buf.extend_from_slice(&word(36));
        let mut r = Reader::new(std::io::Cursor::new(buf), "z").unwrap();
        let e = r.next_into(&mut Packet::default()).unwrap_err();
        assert!(
            e.0.contains("z: packet 0: interface id 3, but the section declares 0 interfaces"),
            "{e}"
        );
    }
}
