//! The register socket of a simulated board.
//!
//! Protocol (one request per line, ASCII, over a Unix stream socket; offsets
//! are from `REG_BASE`, numbers in hex with `0x`):
//!
//! ```text
//! R 0x0000001c            ->  OK 0x00000000
//! W 0x0000001c 0x00000005 ->  OK
//! F 0x00000001 0011..ff   ->  OK
//! H                       ->  OK                       (nothing waiting)
//! H                       ->  OK 0x00000001 port:1 0011..ff
//! anything wrong          ->  ERR <message>
//! ```
//!
//! `H` takes the next frame from the host receive queue
//! ([`RegisterBus::host_recv`]): the output of a frame sent with `F`,
//! wherever the data plane sent it: the host queue it was sent on, where it
//! left (`port:N`, `flood` or `host`) and its bytes in hex. A reply is at
//! most one frame ([`MAX_REPLY_FRAME`] bytes, the longest a program can
//! make of a full-size frame); the queue is the server's, bounded there
//! (`sim::host`), and a board without the receive path answers `ERR`.
//!
//! `F PORT HEX` sends a frame (its bytes in hex, 14 to
//! [`MAX_FRAME_BYTES`] bytes) from the host's DMA queue of port `PORT`
//! into the data plane ([`RegisterBus::host_send`]), as the host's
//! interface of that port does on a board.
//!
//! A request counts only with its newline: bytes after the last newline
//! when the client closes are dropped, not executed.
//!
//! The server ([`serve`], one thread per client running
//! [`serve_connection`]) answers from any [`RegisterBus`], so
//! `nfbpf device serve --backend model|rtl` serves the model and the RTL the
//! same way, and `socat - UNIX-CONNECT:PATH` is enough to poke a register
//! by hand.
//!
//! The server holds out against hostile or broken clients within
//! [`Limits`]: a request line longer than [`MAX_LINE`] bytes gets one `ERR`
//! line and the connection is closed without reading the rest; past
//! [`MAX_CONNECTIONS`] clients at once, a new one gets one `ERR` line (the
//! device is busy) and is closed; a client silent (or not reading its
//! replies) for [`IDLE_TIMEOUT`] is closed. Nothing a client sends panics
//! the server: a panic of the device on a request is caught and answered
//! with an `ERR`. [`prepare_socket_path`] makes room for the socket without
//! deleting anything but a stale socket.

use super::{BusError, RegisterBus};
use nfbpf_vm::device::Dest;
use nfbpf_vm::regs::HostFrame;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The longest request line the server reads, newline included. The
/// longest request of the protocol, `F` with a full-size frame
/// ([`MAX_FRAME_BYTES`] bytes in hex), is 3050 bytes with its newline; the
/// rest is room for extra blanks and leading zeros. A longer line gets
/// `ERR` and the connection is closed.
pub const MAX_LINE: usize = 4096;

/// Clients served at once (one thread each). A client past the cap gets
/// one `ERR` line saying the device is busy and is closed.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a connection may stay silent (no byte arrives) or leave its
/// replies unread (a write cannot proceed) before the server closes it, so
/// held-open connections do not pin their thread and slot forever.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The server's limits on its clients; [`Limits::default`] is
/// [`MAX_LINE`], [`MAX_CONNECTIONS`] and [`IDLE_TIMEOUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest request line, newline included, in bytes.
    pub max_line: usize,
    /// Clients served at once.
    pub max_connections: usize,
    /// Silence after which a client is closed; `None` (or zero): never.
    pub idle_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: MAX_LINE,
            max_connections: MAX_CONNECTIONS,
            idle_timeout: Some(IDLE_TIMEOUT),
        }
    }
}

/// Client side: a simulated board's registers.
#[derive(Debug)]
pub struct SocketBus {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    what: String,
}

impl SocketBus {
    pub fn connect(path: &Path) -> Result<Self, BusError> {
        let what = format!("sim:{}", path.display());
        let s = UnixStream::connect(path).map_err(|e| {
            BusError::Transport(format!(
                "{what}: cannot connect: {e} (is `nfbpf device serve --socket {}` running?)",
                path.display()
            ))
        })?;
        let writer = s
            .try_clone()
            .map_err(|e| BusError::Transport(format!("{what}: {e}")))?;
        Ok(SocketBus {
            reader: BufReader::new(s),
            writer,
            what,
        })
    }

    fn request(&mut self, line: &str) -> Result<String, BusError> {
        let io = |e: std::io::Error| BusError::Transport(format!("{}: {e}", self.what));
        let mut reply = String::new();
        if let Err(e) = self.writer.write_all(line.as_bytes()) {
            // A server that closed on us (busy, idle) said why first.
            if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
                && self.reader.read_line(&mut reply).is_ok()
                && let Some(msg) = reply.trim_end().strip_prefix("ERR ")
            {
                return Err(BusError::Transport(format!("{}: {msg}", self.what)));
            }
            return Err(io(e));
        }
        let n = self
            .reader
            .read_line(&mut reply)
            .map_err(|e| BusError::Transport(format!("{}: {e}", self.what)))?;
        if n == 0 {
            return Err(BusError::Transport(format!(
                "{}: the device closed the connection",
                self.what
            )));
        }
        let reply = reply.trim_end();
        if let Some(msg) = reply.strip_prefix("ERR ") {
            return Err(decode_err(msg));
        }
        match reply.strip_prefix("OK") {
            Some(rest) => Ok(rest.trim().to_string()),
            None => Err(BusError::Transport(format!(
                "{}: malformed reply `{reply}`",
                self.what
            ))),
        }
    }
}

impl RegisterBus for SocketBus {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        let v = self.request(&format!("R {offset:#010x}\n"))?;
        parse_hex(&v)
            .ok_or_else(|| BusError::Transport(format!("{}: malformed value `{v}`", self.what)))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        self.request(&format!("W {offset:#010x} {value:#010x}\n"))
            .map(|_| ())
    }

    fn host_recv(&mut self) -> Result<Option<HostFrame>, BusError> {
        let r = self.request("H\n")?;
        if r.is_empty() {
            return Ok(None);
        }
        let bad = || BusError::Transport(format!("{}: malformed `H` reply `{r}`", self.what));
        let mut it = r.split_whitespace();
        let port = it.next().and_then(parse_hex).ok_or_else(bad)? as usize;
        let dest = it.next().and_then(parse_dest).ok_or_else(bad)?;
        let frame = it.next().and_then(parse_frame).ok_or_else(bad)?;
        if it.next().is_some() || port >= nfbpf_vm::device::PORTS {
            return Err(bad());
        }
        Ok(Some(HostFrame { port, dest, frame }))
    }

    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        check_frame(frame).map_err(|m| BusError::Transport(format!("{}: {m}", self.what)))?;
        let mut line = format!("F {port:#010x} ");
        for b in frame {
            line.push_str(&format!("{b:02x}"));
        }
        line.push('\n');
        self.request(&line).map(|_| ())
    }
}

/// The longest frame `F` carries: a full-size Ethernet frame
/// (`contract::MAX_FRAME_BYTES`), which fits [`MAX_LINE`] in hex.
pub const MAX_FRAME_BYTES: usize = nfbpf_vm::contract::MAX_FRAME_BYTES as usize;

/// The longest frame an `H` reply carries: a full-size frame grown into
/// its whole XDP headroom by the program (`bpf_xdp_adjust_head`).
pub const MAX_REPLY_FRAME: usize = MAX_FRAME_BYTES + nfbpf_vm::contract::XDP_HEADROOM;

fn dest_text(d: Dest) -> String {
    match d {
        Dest::Port(p) => format!("port:{p}"),
        Dest::Flood => "flood".into(),
        Dest::Host => "host".into(),
    }
}

fn parse_dest(s: &str) -> Option<Dest> {
    match s {
        "flood" => Some(Dest::Flood),
        "host" => Some(Dest::Host),
        _ => s.strip_prefix("port:")?.parse().ok().map(Dest::Port),
    }
}

fn check_frame(frame: &[u8]) -> Result<(), String> {
    if (14..=MAX_FRAME_BYTES).contains(&frame.len()) {
        Ok(())
    } else {
        Err(format!(
            "a frame of {} bytes: the host queues take 14 to {MAX_FRAME_BYTES} bytes",
            frame.len()
        ))
    }
}

fn parse_frame(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

fn parse_hex(s: &str) -> Option<u32> {
    let h = s.strip_prefix("0x")?;
    u32::from_str_radix(h, 16).ok()
}

/// `ERR` messages carry an unmapped offset as `unmapped 0x...` so the client
/// gets the same error value as an in-process device.
fn decode_err(msg: &str) -> BusError {
    match msg.strip_prefix("unmapped ").and_then(parse_hex) {
        Some(off) => BusError::Unmapped(off),
        None => BusError::Transport(msg.to_string()),
    }
}

fn encode_err(e: &BusError) -> String {
    match e {
        BusError::Unmapped(off) => format!("ERR unmapped {off:#010x}\n"),
        BusError::Transport(m) => format!("ERR {}\n", m.replace('\n', " ")),
    }
}

/// Answer one request line.
pub fn answer(bus: &mut dyn RegisterBus, line: &str) -> String {
    let mut it = line.split_whitespace();
    let op = it.next();
    let a = it.next().map(|x| (x, parse_hex(x)));
    let b = it.next().map(|x| (x, parse_hex(x)));
    let extra = it.next();
    let r = match (op, a, b, extra) {
        (Some("R"), Some((_, Some(off))), None, None) => {
            bus.read32(off).map(|v| format!("OK {v:#010x}\n"))
        }
        (Some("W"), Some((_, Some(off))), Some((_, Some(v))), None) => {
            bus.write32(off, v).map(|()| "OK\n".to_string())
        }
        (Some("F"), Some((_, Some(port))), Some((hex, _)), None) => {
            let Some(frame) = parse_frame(hex) else {
                return "ERR malformed frame: expected its bytes as an even number of hex digits\n"
                    .to_string();
            };
            if let Err(m) = check_frame(&frame) {
                return format!("ERR {m}\n");
            }
            bus.host_send(port as usize, &frame)
                .map(|()| "OK\n".to_string())
        }
        (Some("H"), None, None, None) => bus.host_recv().map(|f| match f {
            None => "OK\n".to_string(),
            Some(f) if f.frame.len() > MAX_REPLY_FRAME => format!(
                "ERR a frame of {} bytes came back: replies carry at most {MAX_REPLY_FRAME}\n",
                f.frame.len()
            ),
            Some(f) => {
                let mut line = format!("OK {:#010x} {} ", f.port, dest_text(f.dest));
                for b in &f.frame {
                    line.push_str(&format!("{b:02x}"));
                }
                line.push('\n');
                line
            }
        }),
        _ => {
            return format!(
                "ERR malformed request `{}`: expected `R 0xOFFSET`, `W 0xOFFSET 0xVALUE`, `F 0xPORT HEXBYTES` or `H`\n",
                line.trim()
            );
        }
    };
    r.unwrap_or_else(|e| encode_err(&e))
}

/// [`answer`], with a panic of the device on the request caught (the
/// caller's lock is still held here, so it is not poisoned) and answered
/// with an `ERR`: no request can stop the server.
fn answer_caught(bus: &mut dyn RegisterBus, line: &str) -> String {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(bus, line))).unwrap_or_else(
        |p| {
            let why = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!(
                "ERR internal error: the device panicked on `{}`: {}\n",
                line.trim(),
                why.replace('\n', " ")
            )
        },
    )
}

/// What [`read_line`] got.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    /// A line (in the buffer, without its newline).
    Line,
    /// The client closed the connection. Bytes after its last newline are
    /// dropped: a client that dies in the middle of `W 0x1c 0x000000ff`
    /// must not leave `W 0x1c 0x00` behind.
    End,
    /// The line is longer than the limit; what was read of it is dropped.
    TooLong,
}

/// Read one line into `buf`, never holding more than `max` bytes of it.
fn read_line(r: &mut impl BufRead, max: usize, buf: &mut Vec<u8>) -> std::io::Result<Got> {
    buf.clear();
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            buf.clear();
            return Ok(Got::End);
        }
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        // The line so far plus its newline (still to come if !done).
        if buf.len() + take + 1 > max {
            buf.clear();
            return Ok(Got::TooLong);
        }
        buf.extend_from_slice(&avail[..take]);
        r.consume(take + usize::from(done));
        if done {
            return Ok(Got::Line);
        }
    }
}

/// Serve one client until it disconnects, sends a line longer than
/// `limits.max_line` (answered with `ERR`, then closed) or stays idle for
/// `limits.idle_timeout` (closed). The device is locked per request by the
/// caller's `with` function, so several clients may share it. Errors are
/// the connection's (a reset, a write to a closed client).
pub fn serve_connection(
    stream: UnixStream,
    limits: &Limits,
    mut with: impl FnMut(&mut dyn FnMut(&mut dyn RegisterBus) -> String) -> String,
) -> std::io::Result<()> {
    let timeout = limits.idle_timeout.filter(|d| !d.is_zero());
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    // Only printed once a timeout fired, so there is one.
    let idle = timeout.unwrap_or_default();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        match read_line(&mut reader, limits.max_line, &mut buf) {
            Ok(Got::Line) => {}
            Ok(Got::End) => return Ok(()),
            Ok(Got::TooLong) => {
                // The rest of the line is never read: the connection closes.
                let msg = format!(
                    "ERR request line longer than {} bytes (the limit); closing the connection\n",
                    limits.max_line
                );
                return writer.write_all(msg.as_bytes());
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let msg = format!(
                    "ERR idle for {} s; closing the connection\n",
                    idle.as_secs_f64()
                );
                // Best effort: an idle client may not read either.
                let _ = writer.write_all(msg.as_bytes());
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        let reply = with(&mut |bus| answer_caught(bus, &line));
        writer.write_all(reply.as_bytes()).map_err(|e| {
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the client left its replies unread for {} s; closed",
                        idle.as_secs_f64()
                    ),
                )
            } else {
                e
            }
        })?;
    }
}

/// A held connection slot; frees itself when the connection's thread ends,
/// however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serve the protocol on `listener`: each client in a thread of its own
/// ([`serve_connection`], with the `with` function `new_client` returns for
/// it), at most `limits.max_connections` at once; a client past the cap
/// gets `ERR the device is busy ...` and is closed. Accept errors (out of
/// file descriptors, say) are logged and retried after a pause; never
/// returns.
pub fn serve<W>(listener: &UnixListener, limits: &Limits, mut new_client: impl FnMut() -> W) -> !
where
    W: FnMut(&mut dyn FnMut(&mut dyn RegisterBus) -> String) -> String + Send + 'static,
{
    let active = Arc::new(AtomicUsize::new(0));
    let limits = *limits;
    loop {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                eprintln!("nfbpf device: accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= limits.max_connections {
            active.fetch_sub(1, Ordering::AcqRel);
            let msg = format!(
                "ERR the device is busy: {} clients connected (the limit); try again later\n",
                limits.max_connections
            );
            // Never block the accept loop on a client: the line fits in the
            // fresh socket's buffer, or it is lost.
            let _ = stream.set_nonblocking(true);
            let _ = stream.write_all(msg.as_bytes());
            continue;
        }
        let slot = Slot(Arc::clone(&active));
        let with = new_client();
        let spawned = std::thread::Builder::new()
            .name("nfbpf-device-client".into())
            .spawn(move || {
                let _slot = slot;
                if let Err(e) = serve_connection(stream, &limits, with) {
                    eprintln!("nfbpf device: connection: {e}");
                }
            });
        // Without a thread the client is closed (its slot freed with it).
        if let Err(e) = spawned {
            eprintln!("nfbpf device: cannot start a thread for a client: {e}");
        }
    }
}

/// Make room for a device's socket at `path`: nothing there is fine; a
/// stale socket (nobody answers on it) is removed. Anything else is left
/// alone and refused: a socket a device still serves (`another device
/// serves PATH`) or any other kind of file (a regular file, a directory, a
/// symbolic link, ...), named in the error.
pub fn prepare_socket_path(path: &Path) -> std::io::Result<()> {
    let p = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(std::io::Error::new(e.kind(), format!("{p}: {e}"))),
    };
    let t = meta.file_type();
    if !t.is_socket() {
        let what = if t.is_file() {
            "a regular file"
        } else if t.is_dir() {
            "a directory"
        } else if t.is_symlink() {
            "a symbolic link"
        } else if t.is_fifo() {
            "a named pipe"
        } else if t.is_block_device() || t.is_char_device() {
            "a device file"
        } else {
            "not a socket"
        };
        return Err(std::io::Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{p} is {what}, not a socket: refusing to replace it (remove it yourself or choose another path)"
            ),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(std::io::Error::new(
            ErrorKind::AddrInUse,
            format!("another device serves {p}"),
        )),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                format!("{p} is a stale socket and cannot be removed: {e}"),
            )),
        },
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("{p} is a socket that cannot be probed ({e}): refusing to replace it"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A register file that accepts offsets below 0x10.
    #[derive(Default)]
    struct Fake(HashMap<u32, u32>);

    impl RegisterBus for Fake {
        fn read32(&mut self, o: u32) -> Result<u32, BusError> {
            if o >= 0x10 {
                return Err(BusError::Unmapped(o));
            }
            Ok(self.0.get(&o).copied().unwrap_or(0))
        }
        fn write32(&mut self, o: u32, v: u32) -> Result<(), BusError> {
            if o >= 0x10 {
                return Err(BusError::Unmapped(o));
            }
            self.0.insert(o, v);
            Ok(())
        }
    }

    #[test]
    fn protocol_lines() {
        let mut f = Fake::default();
        assert_eq!(answer(&mut f, "W 0x4 0x1234"), "OK\n");
        assert_eq!(answer(&mut f, "R 0x4"), "OK 0x00001234\n");
        assert_eq!(answer(&mut f, "R 0x40"), "ERR unmapped 0x00000040\n");
        assert!(answer(&mut f, "X 1").starts_with("ERR malformed request `X 1`"));
        assert!(answer(&mut f, "W 0x4").starts_with("ERR malformed"));
        assert!(answer(&mut f, "R 12").starts_with("ERR malformed"));
    }

    #[test]
    fn client_and_server_over_a_socket() {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&dir).expect("bind");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut dev = Fake::default();
            serve_connection(s, &Limits::default(), |f| f(&mut dev)).expect("serve");
        });
        let mut bus = SocketBus::connect(&dir).expect("connect");
        bus.write32(8, 0xdead_beef).expect("write");
        assert_eq!(bus.read32(8), Ok(0xdead_beef));
        assert_eq!(bus.read32(0x100), Err(BusError::Unmapped(0x100)));
        drop(bus);
        server.join().expect("server thread");
        let _ = std::fs::remove_file(&dir);
        let e = SocketBus::connect(&dir).unwrap_err().to_string();
        assert!(e.contains("cannot connect"), "{e}");
    }
}
