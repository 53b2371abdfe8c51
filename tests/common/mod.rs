//! Helpers shared by the cross-crate tests: running the CLI, the clang
//! requirement, and crafted frames.

#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::process::Command;

/// Run the `nfbpf` binary: (exit code, stdout, stderr).
pub fn nfbpf(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
        .args(args)
        .output()
        .expect("run nfbpf");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Is clang-19 here? Without it a test prints SKIPPED, unless
/// `NFBPF_REQUIRE_CLANG` is set (`make test` sets it), when it fails.
pub fn clang() -> bool {
    let ok = Command::new("clang-19")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("NFBPF_REQUIRE_CLANG").is_none(),
            "clang-19 is required (NFBPF_REQUIRE_CLANG is set): run `make deps`"
        );
        eprintln!("SKIPPED: clang-19 not installed (run `make deps`)");
    }
    ok
}

/// The directory of `part` of the conformance suite, or a failed test with
/// the one message that says where the suite was looked for and how to get
/// it ([`nfbpf_vm::conformance::suite_dir`]).
pub fn suite(part: nfbpf_vm::conformance::Part) -> PathBuf {
    nfbpf_vm::conformance::suite_dir(part).unwrap_or_else(|e| panic!("{e}"))
}

/// The number of `.data` files in `dir`.
pub fn data_files(dir: &std::path::Path) -> usize {
    nfbpf_vm::conformance::collect(&[dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .len()
}

/// `programs/NAME`.
pub fn program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(name)
}

/// An Ethernet + IPv4 (correct header checksum) + UDP/TCP frame of `len`
/// bytes: MACs 02:00:00:00:00:dmac/smac, source port 1234.
pub fn ipv4_frame(
    dmac: u8,
    smac: u8,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    dport: u16,
    len: usize,
) -> Vec<u8> {
    let mut f = vec![0u8; len.max(38)];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, dmac]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, smac]);
    f[12] = 0x08;
    let ip = [
        0x45, 0, 0, 50, 0, 1, 0x40, 0, 64, proto, 0, 0, src[0], src[1], src[2], src[3], dst[0],
        dst[1], dst[2], dst[3],
    ];
    f[14..34].copy_from_slice(&ip);
    let csum = !ones_sum(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f
}

/// The folded ones-complement sum of 16-bit big-endian words.
pub fn ones_sum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|w| u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// A broadcast ARP frame (not IPv4).
pub fn arp() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[12] = 0x08;
    f[13] = 0x06;
    f
}

/// The C source of a SUME function that sends everything out of `port`,
/// written into a temporary directory of its own: the directory (removed
/// when dropped; keep it while the file is used) and the file.
pub fn fixed_port_source(port: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = dir.path().join(format!("to{port}.c"));
    std::fs::write(
        &p,
        format!("unsigned long long f(void *md) {{ return {port}; }}\n"),
    )
    .expect("write the source");
    (dir, p)
}

/// Clocks a frame of `len` bytes occupies on a 10 Gb/s port at 200 MHz
/// (preamble and inter-frame gap included), in hundredths.
pub fn wire_centiclocks(len: usize) -> u64 {
    (len as u64 + nfbpf_vm::contract::WIRE_OVERHEAD_BYTES) * 16
}

/// Offer `frames` (port, bytes) to the model and the RTL in lockstep at
/// line rate per port; `clock` moves both sides on by a clock or more (a
/// step, a register access).
pub fn offer(
    c: &mut nfbpf_sim::devcosim::DevCosim,
    frames: &[(usize, Vec<u8>)],
    mut clock: impl FnMut(&mut nfbpf_sim::devcosim::DevCosim),
) {
    let mut next = [0u64; 4];
    let mut i = 0;
    while i < frames.len() {
        let now = c.cycle() * 100;
        while i < frames.len() {
            let (p, f) = &frames[i];
            if next[*p] > now || !c.port_free(*p) {
                break;
            }
            if let Err(e) = c.rx(*p, f) {
                panic!("{e}");
            }
            next[*p] = now.max(next[*p]) + wire_centiclocks(f.len());
            i += 1;
        }
        clock(c);
    }
}

/// Map entries a program of `programs/` needs before traffic (router
/// tables, blocked ports): (map index, key, value), written through the
/// wide-entry registers on the devices and directly on references.
pub fn map_entries(name: &str) -> Vec<(u32, Vec<u8>, Vec<u8>)> {
    let route = |len: u32, net: [u8; 4], dmac: u8, slot: u32| {
        let mut k = len.to_le_bytes().to_vec();
        k.extend_from_slice(&net);
        let mut v = vec![2, 0, 0, 0, 0xd0, dmac, 2, 0, 0, 0, 0x50, 1];
        v.extend_from_slice(&slot.to_le_bytes());
        (0, k, v)
    };
    match name {
        "router" => vec![
            route(8, [10, 0, 0, 0], 8, 0),
            route(16, [10, 1, 0, 0], 16, 1),
            (1, 0u32.to_le_bytes().to_vec(), 2u32.to_le_bytes().to_vec()),
            (1, 1u32.to_le_bytes().to_vec(), 3u32.to_le_bytes().to_vec()),
        ],
        "router_sume" => {
            let mut k = 16u32.to_le_bytes().to_vec();
            k.extend_from_slice(&[10, 1, 0, 0]);
            vec![(
                0,
                k,
                ((0x0200_0000_0016u64 << 16) | 3).to_le_bytes().to_vec(),
            )]
        }
        "firewall" => vec![(1, 80u16.to_be_bytes().to_vec(), vec![1])],
        "ddos_sume" => vec![(0, 443u16.to_le_bytes().to_vec(), vec![1])],
        _ => vec![],
    }
}

/// xorshift64*: random traffic that is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// `nfbpf device serve` in its own process: a simulated board on a Unix
/// socket. Dropping it kills the process (SIGKILL, as pulling the board's
/// power would) and removes the socket's directory, unless the directory
/// was given ([`DeviceServer::start_at`]).
pub struct DeviceServer {
    pub child: std::process::Child,
    /// The socket's path.
    pub sock: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl DeviceServer {
    /// A board on a fresh socket named after `tag`, with extra arguments
    /// (`--backend rtl`, `--traffic ...`).
    pub fn start(tag: &str, extra: &[&str]) -> DeviceServer {
        let dir = tempfile::tempdir().unwrap();
        let mut s = DeviceServer::start_at(&dir.path().join(format!("{tag}.sock")), extra);
        s._dir = Some(dir);
        s
    }

    /// A board on the socket `sock` (a board back at the same place after
    /// [`DeviceServer::kill`]).
    pub fn start_at(sock: &std::path::Path, extra: &[&str]) -> DeviceServer {
        let _ = std::fs::remove_file(sock);
        let child = Command::new(env!("CARGO_BIN_EXE_nfbpf"))
            .args(["device", "serve", "--socket"])
            .arg(sock)
            .args(extra)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        while !sock.exists() {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(30),
                "nfbpf device serve did not open {}",
                sock.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        DeviceServer {
            child,
            sock: sock.to_path_buf(),
            _dir: None,
        }
    }

    /// The target naming it: `sim:PATH`.
    pub fn target(&self) -> String {
        format!("sim:{}", self.sock.display())
    }

    /// SIGKILL: the board stops answering mid-access.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DeviceServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Lambda requests (docs/lambdas.md), built byte by byte from the
/// format, not from `programs/include/lambda.h`.
pub mod lambda {
    use super::ones_sum;
    use nfbpf_vm::contract;

    pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xc1];
    pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x5e];
    pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 7];
    pub const SERVER_IP: [u8; 4] = [10, 0, 0, 1];
    pub const CLIENT_PORT: u16 = 40123;

    /// The grayscale formula of `lambda_gray.c`, in Rust: one RGBA pixel.
    pub fn gray(px: &[u8]) -> u8 {
        ((77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2])) >> 8) as u8
    }

    /// What a request carries besides its body.
    #[derive(Clone, Copy, Debug)]
    pub struct Req {
        pub lambda: u16,
        pub flags: u8,
        pub request_id: u32,
        pub chunk_index: u16,
        pub chunk_count: u16,
        pub port: u16,
    }

    impl Req {
        /// A one-chunk request to lambda `lambda` on the default port.
        pub fn to(lambda: u16) -> Req {
            Req {
                lambda,
                flags: 0,
                request_id: 0x1234_5678,
                chunk_index: 0,
                chunk_count: 1,
                port: contract::LAMBDA_DEFAULT_PORT,
            }
        }
    }

    /// The request frame: Ethernet, IPv4 (checksum computed here), UDP
    /// (checksum 0), the 16-byte lambda header, `body`, then `room` zero
    /// bytes of room for the answer in the datagram, then `pad` zero bytes
    /// of Ethernet padding after it.
    pub fn request_with(r: &Req, body: &[u8], room: usize, pad: usize) -> Vec<u8> {
        let udp_len = 8 + contract::LAMBDA_HDR_BYTES + body.len() + room;
        let ip_len = 20 + udp_len;
        let mut f = Vec::new();
        f.extend_from_slice(&SERVER_MAC);
        f.extend_from_slice(&CLIENT_MAC);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&(ip_len as u16).to_be_bytes());
        ip.extend_from_slice(&[0xab, 0xcd, 0x40, 0x00, 17, 17, 0, 0]);
        ip.extend_from_slice(&CLIENT_IP);
        ip.extend_from_slice(&SERVER_IP);
        let c = !ones_sum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&CLIENT_PORT.to_be_bytes());
        f.extend_from_slice(&r.port.to_be_bytes());
        f.extend_from_slice(&(udp_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&contract::LAMBDA_MAGIC.to_be_bytes());
        f.push(contract::LAMBDA_VERSION);
        f.push(r.flags);
        f.extend_from_slice(&r.lambda.to_be_bytes());
        f.extend_from_slice(&(body.len() as u16).to_be_bytes());
        f.extend_from_slice(&r.request_id.to_be_bytes());
        f.extend_from_slice(&r.chunk_index.to_be_bytes());
        f.extend_from_slice(&r.chunk_count.to_be_bytes());
        f.extend_from_slice(body);
        f.resize(f.len() + room + pad, 0);
        f
    }

    /// [`request_with`] without room or padding.
    pub fn request(r: &Req, body: &[u8]) -> Vec<u8> {
        request_with(r, body, 0, 0)
    }
}
