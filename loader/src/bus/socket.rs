//! The register socket of a simulated board.
//!
//! Protocol (one request per line, ASCII, over a Unix stream socket; offsets
//! are from `REG_BASE`, numbers in hex with `0x`):
//!
//! ```text
//! R 0x0000001c            ->  OK 0x00000000
//! W 0x0000001c 0x00000005 ->  OK
//! anything wrong          ->  ERR <message>
//! ```
//!
//! The server ([`serve_connection`]) answers from any [`RegisterBus`], so
//! `nfbpf device serve --backend model|rtl` serves the model and the RTL the
//! same way, and `socat - UNIX-CONNECT:PATH` is enough to poke a register
//! by hand.

use super::{BusError, RegisterBus};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

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
        self.writer.write_all(line.as_bytes()).map_err(io)?;
        let mut reply = String::new();
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
        _ => {
            return format!(
                "ERR malformed request `{}`: expected `R 0xOFFSET` or `W 0xOFFSET 0xVALUE`\n",
                line.trim()
            );
        }
    };
    r.unwrap_or_else(|e| encode_err(&e))
}

/// Serve one client until it disconnects. The device is locked per request
/// by the caller's `with` function, so several clients may share it.
pub fn serve_connection(
    stream: UnixStream,
    mut with: impl FnMut(&mut dyn FnMut(&mut dyn RegisterBus) -> String) -> String,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let reader = BufReader::new(stream);
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = with(&mut |bus| answer(bus, &line));
        writer.write_all(reply.as_bytes())?;
    }
    Ok(())
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
        let dir = std::env::temp_dir().join(format!("nfbpf-sock-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = std::os::unix::net::UnixListener::bind(&dir).expect("bind");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut dev = Fake::default();
            serve_connection(s, |f| f(&mut dev)).expect("serve");
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
