//! The register socket's server against hostile and broken clients: long
//! lines, too many clients, idle clients, clients that vanish mid-line,
//! requests that panic the device, and the socket path's checks.

#![allow(clippy::unwrap_used)]

use nfbpf_loader::bus::socket::{self, Limits, MAX_LINE, SocketBus, prepare_socket_path};
use nfbpf_loader::bus::{BusError, RegisterBus};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A register file: offsets below 0x100 hold values; reading 0xbad0
/// panics (a device bug a client can reach).
#[derive(Default)]
struct Fake(HashMap<u32, u32>);

impl RegisterBus for Fake {
    fn read32(&mut self, o: u32) -> Result<u32, BusError> {
        assert!(o != 0xbad0, "the fake device fell over at {o:#x}");
        if o >= 0x100 {
            return Err(BusError::Unmapped(o));
        }
        Ok(self.0.get(&o).copied().unwrap_or(0))
    }
    fn write32(&mut self, o: u32, v: u32) -> Result<(), BusError> {
        if o >= 0x100 {
            return Err(BusError::Unmapped(o));
        }
        self.0.insert(o, v);
        Ok(())
    }
}

/// A fresh path for a socket (nothing there), in a temporary directory of
/// its own: the directory (removed when dropped) and the path.
fn sock_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    (d, p)
}

/// A server's socket path, unlinked when the test ends (the server thread
/// itself runs on until the test process ends).
struct Sock {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Sock {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Sock {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A server on a new socket with `limits`, serving one shared [`Fake`];
/// `answered` gets a message after each request the device answered. The
/// server thread runs until the test process ends.
fn start(
    name: &str,
    limits: Limits,
    answered: Option<mpsc::Sender<()>>,
) -> (Sock, Arc<Mutex<Fake>>) {
    let (dir, path) = sock_path(name);
    let listener = UnixListener::bind(&path).unwrap();
    let dev = Arc::new(Mutex::new(Fake::default()));
    let d = Arc::clone(&dev);
    std::thread::spawn(move || {
        socket::serve(&listener, &limits, || {
            let d = Arc::clone(&d);
            let answered = answered.clone();
            move |f: &mut dyn FnMut(&mut dyn RegisterBus) -> String| {
                let reply = f(&mut *d.lock().unwrap());
                if let Some(a) = &answered {
                    let _ = a.send(());
                }
                reply
            }
        })
    });
    (Sock { path, _dir: dir }, dev)
}

/// One reply line on a raw connection.
fn reply(r: &mut BufReader<UnixStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

fn raw(path: &Path) -> (UnixStream, BufReader<UnixStream>) {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

/// Until `f` holds, for at most 10 s (the server frees a slot when the
/// client's thread sees its end, a moment after the client closes).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_line_at_the_limit_is_served_and_one_byte_more_is_refused() {
    let (path, _) = start("edge", Limits::default(), None);
    let (mut s, mut r) = raw(&path);
    // `W 0x4 0x1234`, blanks to exactly MAX_LINE bytes with the newline.
    let req = "W 0x4 0x1234";
    let at = format!("{req}{}\n", " ".repeat(MAX_LINE - req.len() - 1));
    assert_eq!(at.len(), MAX_LINE);
    s.write_all(at.as_bytes()).unwrap();
    assert_eq!(reply(&mut r), "OK\n");
    let over = format!("{req}{}\n", " ".repeat(MAX_LINE - req.len()));
    s.write_all(over.as_bytes()).unwrap();
    let e = reply(&mut r);
    assert_eq!(
        e,
        format!(
            "ERR request line longer than {MAX_LINE} bytes (the limit); closing the connection\n"
        )
    );
    // Then the server closes the connection.
    assert_eq!(reply(&mut r), "");
}

#[test]
fn an_endless_line_is_refused_without_being_buffered_and_others_are_served() {
    let (path, dev) = start("long", Limits::default(), None);
    let mut other = SocketBus::connect(&path).unwrap();
    other.write32(8, 0xdead_beef).unwrap();

    // 256 MiB without a newline, in a thread: the writes fail as soon as
    // the server gives up on the line and closes.
    let (s, mut r) = raw(&path);
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'R'; 64 * 1024];
        let mut sent = 0usize;
        while sent < 256 << 20 {
            match w.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) => return (sent, Some(e.kind())),
            }
        }
        (sent, None)
    });
    let e = reply(&mut r);
    assert!(
        e.starts_with("ERR request line longer than 4096 bytes"),
        "{e}"
    );
    let (sent, err) = writer.join().unwrap();
    assert!(
        matches!(
            err,
            Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
        ),
        "the server read on: {sent} bytes sent, {err:?}"
    );
    // What was sent before the close: the server's read buffer plus the
    // kernel's socket buffers, far from the 256 MiB.
    assert!(sent < 16 << 20, "{sent} bytes were taken");
    drop(s);

    // The server and the device go on.
    assert_eq!(other.read32(8), Ok(0xdead_beef));
    let mut late = SocketBus::connect(&path).unwrap();
    assert_eq!(late.read32(8), Ok(0xdead_beef));
    assert_eq!(dev.lock().unwrap().0.get(&8), Some(&0xdead_beef));
}

#[test]
fn the_connection_cap_refuses_the_next_client_and_admits_again_after_one_closes() {
    let limits = Limits {
        max_connections: 3,
        ..Limits::default()
    };
    let (path, _) = start("cap", limits, None);
    let mut held: Vec<SocketBus> = (0..3)
        .map(|i| {
            let mut b = SocketBus::connect(&path).unwrap();
            b.write32(4 * i, i).unwrap();
            b
        })
        .collect();

    // The fourth gets one ERR line, then the end of the connection.
    let (_s, mut r) = raw(&path);
    assert_eq!(
        reply(&mut r),
        "ERR the device is busy: 3 clients connected (the limit); try again later\n"
    );
    assert_eq!(reply(&mut r), "");
    // Through the client: an error saying so.
    let e = SocketBus::connect(&path)
        .unwrap()
        .read32(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("the device is busy"), "{e}");

    // The three are still served.
    for (i, b) in held.iter_mut().enumerate() {
        assert_eq!(b.read32(4 * i as u32), Ok(i as u32));
    }
    // One leaves: a new client gets its slot (once the server has seen the
    // end of the one that left), and holds it.
    held.pop();
    let mut again = None;
    eventually("a slot frees", || {
        again = SocketBus::connect(&path)
            .and_then(|mut b| b.read32(4).map(|v| (b, v)))
            .ok();
        again.is_some()
    });
    let (mut again, v) = again.unwrap();
    assert_eq!(v, 1);
    // The cap holds again with the slot taken.
    let e = SocketBus::connect(&path).unwrap().read32(0).unwrap_err();
    assert!(e.to_string().contains("busy"), "{e}");
    assert_eq!(again.read32(8), Ok(2));
}

#[test]
fn half_a_line_then_a_reset_leaves_the_device_and_the_server_alone() {
    let (tx, rx) = mpsc::channel();
    let (path, dev) = start("reset", Limits::default(), Some(tx));
    let mut other = SocketBus::connect(&path).unwrap();
    other.write32(4, 7).unwrap();
    rx.recv().unwrap();

    let mut s = UnixStream::connect(&path).unwrap();
    // A whole request whose reply is left unread, then half of a write.
    s.write_all(b"R 0x4\nW 0x4 0x0000").unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Closing with the reply unread makes Linux reset the connection (if
    // the reply is not there yet, the server sees a plain close instead).
    std::thread::sleep(Duration::from_millis(100));
    drop(s);

    // The half write was not executed; the server serves on.
    assert_eq!(other.read32(4), Ok(7));
    let mut late = SocketBus::connect(&path).unwrap();
    assert_eq!(late.read32(4), Ok(7));
    assert_eq!(dev.lock().unwrap().0.get(&4), Some(&7));

    // The same with a clean close after half a line.
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"W 0x4 0x000").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "a request without its newline was answered");
    assert_eq!(late.read32(4), Ok(7));
}

#[test]
fn an_idle_client_is_closed_and_frees_its_slot() {
    let limits = Limits {
        max_connections: 1,
        idle_timeout: Some(Duration::from_millis(200)),
        ..Limits::default()
    };
    let (path, _) = start("idle", limits, None);
    let t = Instant::now();
    let (_s, mut r) = raw(&path);
    assert_eq!(
        reply(&mut r),
        "ERR idle for 0.2 s; closing the connection\n"
    );
    assert_eq!(reply(&mut r), "");
    assert!(t.elapsed() >= Duration::from_millis(200));
    // The single slot is free again.
    eventually("the idle client's slot frees", || {
        SocketBus::connect(&path)
            .and_then(|mut b| b.read32(0))
            .is_ok()
    });
}

#[test]
fn a_request_that_panics_the_device_gets_err_and_the_device_serves_on() {
    let (path, dev) = start("panic", Limits::default(), None);
    let mut a = SocketBus::connect(&path).unwrap();
    a.write32(0xc, 3).unwrap();
    let e = a.read32(0xbad0).unwrap_err().to_string();
    assert!(
        e.contains("internal error: the device panicked on `R 0x0000bad0`")
            && e.contains("fell over at 0xbad0"),
        "{e}"
    );
    // Same connection, another one, and the device's lock is not poisoned.
    assert_eq!(a.read32(0xc), Ok(3));
    assert_eq!(SocketBus::connect(&path).unwrap().read32(0xc), Ok(3));
    assert!(!dev.is_poisoned());
}

#[test]
fn garbage_gets_err_and_the_connection_goes_on() {
    let (path, _) = start("garbage", Limits::default(), None);
    let (mut s, mut r) = raw(&path);
    for bad in [
        &b"\xff\xfe\x00 binary\n"[..],
        b"R 0x1ffffffff\n",
        b"W 0x4 0x5 0x6\n",
        b"R\n",
        b"r 0x4\n",
        b"\x1b[2J\n",
    ] {
        s.write_all(bad).unwrap();
        let e = reply(&mut r);
        assert!(e.starts_with("ERR malformed request"), "{bad:?}: {e}");
    }
    // Blank lines are skipped; CR LF is fine.
    s.write_all(b"\n \r\nW 0x4 0x9\r\nR 0x4\n").unwrap();
    assert_eq!(reply(&mut r), "OK\n");
    assert_eq!(reply(&mut r), "OK 0x00000009\n");
}

/// Every mapped and unmapped register offset, read and written with
/// boundary values, plus malformed lines, against the data plane model:
/// the device answers each request (`OK` or `ERR`), it never panics.
#[test]
fn no_request_panics_the_model() {
    use nfbpf_vm::device::{Device, DeviceConfig};
    let mut dev = Device::new(DeviceConfig::default()).unwrap();
    let values = [
        0u32,
        1,
        2,
        3,
        0xff,
        0x100,
        0x1ff,
        0xffff,
        0x1_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
    ];
    for off in (0..0x1000u32).step_by(4).chain([0x1001, 0xffff_fffc]) {
        for &v in &values {
            for req in [format!("W {off:#x} {v:#x}"), format!("R {off:#x}")] {
                let a = socket::answer(&mut dev, &req);
                assert!(
                    a.ends_with('\n') && (a.starts_with("OK") || a.starts_with("ERR ")),
                    "{req}: {a}"
                );
            }
        }
    }
}

#[test]
fn prepare_socket_path_refuses_what_is_not_a_stale_socket() {
    // Nothing there.
    let (_dir_none, p) = sock_path("none");
    prepare_socket_path(&p).unwrap();
    assert!(!p.exists());

    // A regular file is kept, and named.
    let (_dir_file, p) = sock_path("file");
    std::fs::write(&p, b"precious").unwrap();
    let e = prepare_socket_path(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let m = e.to_string();
    assert!(
        m.contains(&p.display().to_string()) && m.contains("is a regular file, not a socket"),
        "{m}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), b"precious");
    std::fs::remove_file(&p).unwrap();

    // A directory too.
    let (_dir_dir, p) = sock_path("dir");
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("inside"), b"x").unwrap();
    let m = prepare_socket_path(&p).unwrap_err().to_string();
    assert!(
        m.contains(&p.display().to_string()) && m.contains("is a directory"),
        "{m}"
    );
    assert!(p.join("inside").exists());
    std::fs::remove_dir_all(&p).unwrap();

    // A symbolic link (even to a stale socket) is not followed or removed.
    let (_dir_target, target) = sock_path("target");
    drop(UnixListener::bind(&target).unwrap());
    let (_dir_link, p) = sock_path("link");
    std::os::unix::fs::symlink(&target, &p).unwrap();
    let m = prepare_socket_path(&p).unwrap_err().to_string();
    assert!(m.contains("is a symbolic link"), "{m}");
    assert!(p.symlink_metadata().is_ok() && target.exists());
    std::fs::remove_file(&p).unwrap();
    std::fs::remove_file(&target).unwrap();
}

#[test]
fn prepare_socket_path_replaces_only_a_stale_socket() {
    // Stale: bound, then its listener gone (the file stays).
    let (_dir_stale, p) = sock_path("stale");
    drop(UnixListener::bind(&p).unwrap());
    assert!(p.exists());
    prepare_socket_path(&p).unwrap();
    assert!(!p.exists());
    let rebound = UnixListener::bind(&p).unwrap();

    // Live: someone listens on it.
    let (live, _) = start("live", Limits::default(), None);
    let e = prepare_socket_path(&live).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    assert_eq!(
        e.to_string(),
        format!("another device serves {}", live.display())
    );
    assert!(live.exists());
    assert_eq!(SocketBus::connect(&live).unwrap().read32(0), Ok(0));
    drop(rebound);
    let _ = std::fs::remove_file(&p);
}
