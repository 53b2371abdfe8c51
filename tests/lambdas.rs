//! The lambda programs of `programs/` (`lambda_web.c`, `lambda_kv.c`,
//! `lambda_gray.c`; the request format in docs/lambdas.md) answer requests
//! built here byte by byte, independently of `programs/include/lambda.h`:
//! each request runs on the reference interpreter and on the data plane
//! model (loaded and given its map entries only through registers), both
//! must give the same verdict and frame, and the response is checked field
//! by field: addresses and ports swapped, lengths, a valid IPv4 header
//! checksum, UDP checksum 0, the header's flags and numbers, and the body
//! against the answer computed here (pages from a map the test fills, SET
//! then GET, the grayscale formula in Rust). Packets that are not requests
//! for the program (another lambda ID, another port, a response, not
//! UDP...) must pass to the host untouched.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use common::{clang, ones_sum};
use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::Program;
use nfbpf_vm::abi::{EngineKind, Execution, RxMeta, Verdict, execute_on};
use nfbpf_vm::contract::{self, map_handle};
use nfbpf_vm::device::{Dest, Device, DeviceConfig};
use nfbpf_vm::interp::Config;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};

mod common;

use common::lambda::{
    CLIENT_IP, CLIENT_MAC, CLIENT_PORT, Req, SERVER_IP, SERVER_MAC, gray, request, request_with,
};
/// The input port of every request.
const IN_PORT: u32 = 2;

/// A response, decoded and checked against the request it answers: the
/// body and the flags.
fn response(req: &Req, frame: &[u8]) -> (u8, Vec<u8>) {
    assert!(frame.len() >= 58, "response of {} bytes", frame.len());
    assert_eq!(frame[0..6], CLIENT_MAC, "destination MAC");
    assert_eq!(frame[6..12], SERVER_MAC, "source MAC");
    assert_eq!(frame[12..14], [0x08, 0x00], "ethertype");
    let ip = &frame[14..34];
    assert_eq!(ip[0], 0x45, "version and IHL");
    let ip_len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    assert_eq!(ip_len + 14, frame.len(), "IPv4 total length vs the frame");
    assert_eq!(ip[9], 17, "protocol");
    assert_eq!(ip[8], 64, "TTL");
    assert_eq!(ones_sum(ip), 0xffff, "IPv4 header checksum of {ip:02x?}");
    assert_eq!(ip[12..16], SERVER_IP, "source address");
    assert_eq!(ip[16..20], CLIENT_IP, "destination address");
    let udp = &frame[34..42];
    assert_eq!(udp[0..2], req.port.to_be_bytes(), "source port");
    assert_eq!(udp[2..4], CLIENT_PORT.to_be_bytes(), "destination port");
    let udp_len = u16::from_be_bytes([udp[4], udp[5]]) as usize;
    assert_eq!(udp_len, ip_len - 20, "UDP length");
    assert_eq!(udp[6..8], [0, 0], "UDP checksum (0: none)");
    let h = &frame[42..58];
    assert_eq!(h[0..2], contract::LAMBDA_MAGIC.to_be_bytes(), "magic");
    assert_eq!(h[2], contract::LAMBDA_VERSION, "version");
    let flags = h[3];
    assert_ne!(flags & contract::LAMBDA_FLAG_RESPONSE, 0, "RESPONSE flag");
    assert_eq!(
        flags & contract::LAMBDA_FLAG_MORE,
        req.flags & contract::LAMBDA_FLAG_MORE,
        "MORE flag kept"
    );
    assert_eq!(h[4..6], req.lambda.to_be_bytes(), "lambda ID");
    let body_len = u16::from_be_bytes([h[6], h[7]]) as usize;
    assert_eq!(body_len, udp_len - 8 - 16, "body length");
    assert_eq!(h[8..12], req.request_id.to_be_bytes(), "request ID");
    assert_eq!(h[12..14], req.chunk_index.to_be_bytes(), "chunk index");
    assert_eq!(h[14..16], req.chunk_count.to_be_bytes(), "chunk count");
    (flags, frame[58..].to_vec())
}

/// One lambda program on the interpreter and on the device model.
struct Lambda {
    name: String,
    img: Image,
    prog: Program,
    refdev: SharedDeviceState,
    dev: Device,
    /// Most instructions one request took on the interpreter, and most
    /// clocks on the device from its arrival to its verdict.
    longest: u64,
    longest_clocks: u64,
}

impl Lambda {
    fn new(name: &str) -> Option<Lambda> {
        if !clang() {
            return None;
        }
        let img = load_file(&common::program(&format!("{name}.c")), &Options::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .with_budget(Some(contract::LAMBDA_INSN_BUDGET as u32));
        let prog = img.program().unwrap();
        let refdev = SharedDeviceState::new(UnitsConfig::default());
        refdev
            .with(|d| nfbpf_loader::install::configure_maps(&img, &mut d.maps))
            .unwrap();
        let mut dev = Device::new(DeviceConfig::default()).unwrap();
        nfbpf_loader::device::program(&mut dev, &img).unwrap_or_else(|e| panic!("{name}: {e}"));
        Some(Lambda {
            name: name.to_string(),
            img,
            prog,
            refdev,
            dev,
            longest: 0,
            longest_clocks: 0,
        })
    }

    /// Set an entry of map `map` on both sides (the device through its
    /// registers).
    fn update(&mut self, map: &str, key: &[u8], value: &[u8]) {
        let (i, m) = self.img.map(map).unwrap();
        let kind = m.kind;
        self.refdev
            .with(|d| d.maps.update(map_handle(i), key, value, 0).value)
            .unwrap();
        nfbpf_loader::device::update_entry(&mut self.dev, i, kind, key, value)
            .unwrap_or_else(|e| panic!("{}: {map}: {e}", self.name));
    }

    /// The value of `key` in map `map` on both sides (which must agree).
    fn lookup(&mut self, map: &str, key: &[u8]) -> Option<Vec<u8>> {
        let (i, m) = self.img.map(map).unwrap();
        let size = m.value_size as usize;
        let ours = self
            .refdev
            .with(|d| d.maps.lookup_value(map_handle(i), key).unwrap());
        let dev = nfbpf_loader::device::lookup_entry(&mut self.dev, i, key, size).unwrap();
        assert_eq!(ours, dev, "{}: map {map}: interpreter vs device", self.name);
        ours
    }

    /// Run `frame` on both; they must agree. The interpreter's run and the
    /// device's output (`None`: dropped).
    fn send(&mut self, frame: &[u8]) -> Execution {
        let rx = RxMeta {
            in_port: IN_PORT,
            ..RxMeta::default()
        };
        let want = execute_on(
            EngineKind::Interp,
            self.img.abi,
            &self.prog,
            &self.refdev,
            0,
            frame,
            &rx,
            &Config::default(),
            &mut NoTrace,
        )
        .unwrap();
        assert!(
            want.fault.is_none(),
            "{}: fault {:?} on {frame:02x?}",
            self.name,
            want.fault
        );
        assert!(
            want.insns <= contract::LAMBDA_INSN_BUDGET,
            "{}: {} instructions, over the lambda budget",
            self.name,
            want.insns
        );
        self.longest = self.longest.max(want.insns);
        assert!(
            self.dev.rx(IN_PORT as usize, frame),
            "{}: rx refused",
            self.name
        );
        self.dev.drain(10_000_000);
        let out = self.dev.take_outputs();
        match want.verdict {
            Verdict::Drop | Verdict::Aborted => {
                assert!(out.is_empty(), "{}: device sent {out:?}", self.name)
            }
            v => {
                let counters: Vec<_> = (0..self.dev.config().engines)
                    .map(|e| self.dev.engine_counters(e).unwrap())
                    .collect();
                assert_eq!(
                    out.len(),
                    1,
                    "{}: device outputs for {v}; engines {counters:?}, bank budget {}",
                    self.name,
                    self.dev.bank_budget(self.dev.active_bank())
                );
                assert_eq!(out[0].verdict, v, "{}: device verdict", self.name);
                assert_eq!(out[0].frame, want.frame, "{}: device frame", self.name);
                self.longest_clocks = self.longest_clocks.max(out[0].done - out[0].arrival);
                if v == Verdict::Tx(IN_PORT) {
                    assert_eq!(out[0].dest, Dest::Port(IN_PORT), "{}", self.name);
                }
            }
        }
        for e in 0..self.dev.config().engines {
            let c = self.dev.engine_counters(e).unwrap();
            assert_eq!(c.faults, 0, "{}: engine {e}: {c:?}", self.name);
        }
        want
    }

    /// Send request `r` with `body`; it must be answered (XDP_TX out of
    /// the input port): the response's flags and body.
    fn ask(&mut self, r: &Req, body: &[u8]) -> (u8, Vec<u8>) {
        let ex = self.send(&request(r, body));
        assert_eq!(
            ex.verdict,
            Verdict::Tx(IN_PORT),
            "{}: request {r:?} body {:?}",
            self.name,
            String::from_utf8_lossy(body)
        );
        response(r, &ex.frame)
    }

    fn report(&self) {
        eprintln!(
            "{}: longest request {} instructions (budget {}), {} clocks on the device from arrival to verdict",
            self.name,
            self.longest,
            contract::LAMBDA_INSN_BUDGET,
            self.longest_clocks
        );
    }

    /// `frame` must go to the host unchanged.
    fn passes(&mut self, frame: &[u8], what: &str) {
        let ex = self.send(frame);
        assert_eq!(ex.verdict, Verdict::Pass, "{}: {what}", self.name);
        assert_eq!(ex.frame, frame, "{}: {what}: frame changed", self.name);
    }
}

#[test]
fn gray_converts_pixels() {
    let Some(mut l) = Lambda::new("lambda_gray") else {
        return;
    };
    let mut rng = common::Rng(0x6a7e);
    let id = contract::LAMBDA_ID_GRAY;
    // Known pixels: black, white, pure red, green, blue (alpha ignored).
    let known = [
        [0, 0, 0, 255],
        [255, 255, 255, 0],
        [255, 0, 0, 255],
        [0, 255, 0, 255],
        [0, 0, 255, 255],
    ];
    let body: Vec<u8> = known.concat();
    let (flags, out) = l.ask(&Req::to(id), &body);
    assert_eq!(flags, contract::LAMBDA_FLAG_RESPONSE);
    assert_eq!(out, [0, 255, 76, 149, 28]);
    // Random chunks of every size class, up to the largest.
    for n in [0usize, 1, 2, 3, 15, 16, 17, 64, 100, 255, 256] {
        let body: Vec<u8> = (0..4 * n).map(|_| rng.next() as u8).collect();
        let r = Req {
            request_id: rng.next() as u32,
            chunk_index: 3,
            chunk_count: 9,
            flags: contract::LAMBDA_FLAG_MORE,
            ..Req::to(id)
        };
        let (flags, out) = l.ask(&r, &body);
        assert_eq!(flags & contract::LAMBDA_FLAG_ERROR, 0, "{n} pixels");
        let want: Vec<u8> = body.chunks(4).map(gray).collect();
        assert_eq!(out, want, "{n} pixels");
    }
    // Ethernet padding after a short request goes away in the response.
    let r = Req::to(id);
    let ex = l.send(&request_with(&r, &[10, 20, 30, 40], 0, 8));
    let (_, out) = response(&r, &ex.frame);
    assert_eq!(out, [gray(&[10, 20, 30])]);
    // Refused: not whole pixels, too many pixels.
    for (body, msg) in [
        (vec![1u8; 5], "body is not whole RGBA pixels"),
        (vec![1u8; 4 * 257], "more than 256 pixels in one chunk"),
    ] {
        let (flags, out) = l.ask(&r, &body);
        assert_eq!(
            flags,
            contract::LAMBDA_FLAG_RESPONSE | contract::LAMBDA_FLAG_ERROR
        );
        assert_eq!(String::from_utf8_lossy(&out), msg);
    }
    l.report();
}

/// The page entries of `lambda_web.c`: the path key (32 bytes,
/// zero-padded) and the `{len, first_chunk}` value.
fn page_key(path: &str) -> Vec<u8> {
    let mut k = path.as_bytes().to_vec();
    k.resize(32, 0);
    k
}

/// Store `page` at chunks `first..` of `page_chunks` and its entry in
/// `pages`.
fn put_page(l: &mut Lambda, path: &str, page: &[u8], first: u32) {
    for (c, chunk) in page.chunks(64).enumerate() {
        let mut v = chunk.to_vec();
        v.resize(64, 0);
        l.update("page_chunks", &(first + c as u32).to_le_bytes(), &v);
    }
    let mut v = (page.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&first.to_le_bytes());
    l.update("pages", &page_key(path), &v);
}

fn http_ok(page: &[u8]) -> Vec<u8> {
    let mut v = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", page.len()).into_bytes();
    v.extend_from_slice(page);
    v
}

fn http_status(line: &str) -> Vec<u8> {
    format!("{line}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[test]
fn web_serves_pages_from_its_maps() {
    let Some(mut l) = Lambda::new("lambda_web") else {
        return;
    };
    let id = contract::LAMBDA_ID_WEB;
    let mut rng = common::Rng(0x3eb);
    let index = b"<html><body>hello from the NIC</body></html>".to_vec();
    let mid: Vec<u8> = (0..300).map(|i| b'a' + (i % 26) as u8).collect();
    let big: Vec<u8> = (0..1024).map(|_| b' ' + (rng.below(95)) as u8).collect();
    let long_path = format!("/{}", "p".repeat(31));
    put_page(&mut l, "/", &index, 0);
    put_page(&mut l, "/mid.html", &mid, 1);
    put_page(&mut l, "/big", &big, 6);
    put_page(&mut l, "/empty", b"", 22);
    put_page(&mut l, &long_path, b"32-byte path", 23);
    // An entry whose chunks run past page_chunks (64 of them).
    let mut v = 512u32.to_le_bytes().to_vec();
    v.extend_from_slice(&60u32.to_le_bytes());
    l.update("pages", &page_key("/broken"), &v);

    let r = Req::to(id);
    let ok = |l: &mut Lambda, line: &str, page: &[u8], room: usize| {
        let ex = l.send(&request_with(&r, line.as_bytes(), room, 0));
        assert_eq!(ex.verdict, Verdict::Tx(IN_PORT), "{line:?}");
        let (flags, out) = response(&r, &ex.frame);
        assert_eq!(flags, contract::LAMBDA_FLAG_RESPONSE, "{line:?}");
        assert_eq!(out, http_ok(page), "{line:?}");
    };
    ok(&mut l, "GET / HTTP/1.0\r\n", &index, 0);
    ok(&mut l, "GET / HTTP/1.1", &index, 0);
    ok(&mut l, "GET / HTTP/1.1\r\nHost: nic\r\n\r\n", &index, 0);
    ok(&mut l, "GET /empty HTTP/1.0\r\n", b"", 0);
    ok(
        &mut l,
        &format!("GET {long_path} HTTP/1.0\r\n"),
        b"32-byte path",
        0,
    );
    // Pages longer than the headroom allows need room in the request.
    ok(&mut l, "GET /mid.html HTTP/1.0\r\n", &mid, 120);
    ok(&mut l, "GET /big HTTP/1.0\r\n", &big, 850);
    for line in ["GET /mid.html HTTP/1.0\r\n", "GET /big HTTP/1.0\r\n"] {
        let (flags, out) = l.ask(&r, line.as_bytes());
        assert_eq!(
            flags,
            contract::LAMBDA_FLAG_RESPONSE | contract::LAMBDA_FLAG_ERROR
        );
        assert_eq!(out, b"no room for the answer: pad the request", "{line:?}");
    }
    // 1,024 + 38 bytes of answer for 19 of request: 216 from the headroom
    // and 807 of room are 20 short.
    let ex = l.send(&request_with(&r, b"GET /big HTTP/1.0\r\n", 807, 0));
    let (flags, out) = response(&r, &ex.frame);
    assert_ne!(flags & contract::LAMBDA_FLAG_ERROR, 0);
    assert_eq!(out, b"no room for the answer: pad the request");

    let status = |l: &mut Lambda, line: &[u8], want: &str| {
        let (flags, out) = l.ask(&r, line);
        assert_eq!(flags, contract::LAMBDA_FLAG_RESPONSE, "{line:?}");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&http_status(want)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    };
    let not_found = "HTTP/1.0 404 Not Found";
    let bad = "HTTP/1.0 400 Bad Request";
    status(&mut l, b"GET /missing HTTP/1.0\r\n", not_found);
    status(&mut l, b"GET /index.html HTTP/1.0\r\n", not_found);
    status(
        &mut l,
        format!("GET {long_path}x HTTP/1.0\r\n").as_bytes(),
        not_found,
    );
    status(
        &mut l,
        b"GET /broken HTTP/1.0\r\n",
        "HTTP/1.0 500 Internal Server Error",
    );
    for line in [
        &b"POST / HTTP/1.0\r\n"[..],
        b"GET  / HTTP/1.0\r\n",
        b"GET / HTTP/2.0\r\n",
        b"GET / FTP/1.0\r\n",
        b"GET / HTTP/1.0xx",
        b"GET / HTTP/1.0\r",
        b"GET / HTTP/1.",
        b"GET /a b HTTP/1.0\r\n",
        b"GET /\x01 HTTP/1.0\r\n",
        b"GET /\xc3\xa9 HTTP/1.0\r\n",
        b"GET /",
        b"get / HTTP/1.0\r\n",
        b"",
    ] {
        status(&mut l, line, bad);
    }
    // A web request is one chunk.
    let two = Req {
        chunk_count: 2,
        ..r
    };
    let (flags, out) = l.ask(&two, b"GET / HTTP/1.0\r\n");
    assert_ne!(flags & contract::LAMBDA_FLAG_ERROR, 0);
    assert_eq!(out, b"a web request is one chunk");
    l.report();
}

#[test]
fn kv_sets_gets_and_deletes_like_memcached() {
    let Some(mut l) = Lambda::new("lambda_kv") else {
        return;
    };
    let r = Req::to(contract::LAMBDA_ID_KV);
    let say = |l: &mut Lambda, cmd: &[u8], want: &[u8]| {
        let (flags, out) = l.ask(&r, cmd);
        assert_eq!(
            flags,
            contract::LAMBDA_FLAG_RESPONSE,
            "{:?}",
            String::from_utf8_lossy(cmd)
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(want),
            "{:?}",
            String::from_utf8_lossy(cmd)
        );
    };
    let set = |key: &str, flags: u32, data: &[u8]| {
        let mut v = format!("set {key} {flags} 0 {}\r\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\n");
        v
    };
    let value = |key: &str, flags: u32, data: &[u8]| {
        let mut v = format!("VALUE {key} {flags} {}\r\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\nEND\r\n");
        v
    };
    // The map entry as the program stores it: flags, length, 56 data bytes.
    let entry = |flags: u32, data: &[u8]| {
        let mut v = flags.to_le_bytes().to_vec();
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v.resize(64, 0);
        v
    };
    let key = |k: &str| {
        let mut v = k.as_bytes().to_vec();
        v.resize(32, 0);
        v
    };

    say(&mut l, b"get greeting\r\n", b"END\r\n");
    say(&mut l, &set("greeting", 0, b"hello"), b"STORED\r\n");
    assert_eq!(l.lookup("kv", &key("greeting")), Some(entry(0, b"hello")));
    say(&mut l, b"get greeting\r\n", &value("greeting", 0, b"hello"));
    // Replaced; the largest flags and value; data bytes are any bytes.
    let data: Vec<u8> = (0..56u8).map(|i| i.wrapping_mul(37) ^ 0x0d).collect();
    say(&mut l, &set("greeting", u32::MAX, &data), b"STORED\r\n");
    say(
        &mut l,
        b"get greeting\r\n",
        &value("greeting", u32::MAX, &data),
    );
    let k32 = "k".repeat(32);
    say(&mut l, &set(&k32, 7, b""), b"STORED\r\n");
    say(
        &mut l,
        format!("get {k32}\r\n").as_bytes(),
        &value(&k32, 7, b""),
    );
    say(&mut l, &set("n", 1234567, b"0123456789"), b"STORED\r\n");
    say(&mut l, b"get n\r\n", &value("n", 1234567, b"0123456789"));
    say(&mut l, b"delete n\r\n", b"DELETED\r\n");
    assert_eq!(l.lookup("kv", &key("n")), None);
    say(&mut l, b"get n\r\n", b"END\r\n");
    say(&mut l, b"delete n\r\n", b"NOT_FOUND\r\n");
    // An entry written by the host with a length past the value.
    let mut broken = entry(0, b"x");
    broken[4..8].copy_from_slice(&57u32.to_le_bytes());
    l.update("kv", &key("broken"), &broken);
    say(
        &mut l,
        b"get broken\r\n",
        b"SERVER_ERROR bad value in the map\r\n",
    );

    say(&mut l, b"delete broken\r\n", b"DELETED\r\n");

    let bad_line = b"CLIENT_ERROR bad command line format\r\n";
    let bad_chunk = b"CLIENT_ERROR bad data chunk\r\n";
    for (cmd, want) in [
        (&b"flush_all\r\n"[..], &b"ERROR\r\n"[..]),
        (b"GET a\r\n", b"ERROR\r\n"),
        (b"", b"ERROR\r\n"),
        (b"get", b"ERROR\r\n"),
        (b"get \r\n", bad_line),
        (b"get a b\r\n", bad_line),
        (b"get a", bad_line),
        (b"get a\n", bad_line),
        (b"get a\r\nget b\r\n", bad_line),
        (b"get a\x01b\r\n", bad_line),
        (format!("get {k32}k\r\n").as_bytes(), bad_line),
        (b"set a 0 0\r\nx\r\n", bad_line),
        (b"set a x 0 1\r\nx\r\n", bad_line),
        (b"set a 4294967296 0 1\r\nx\r\n", bad_line),
        (b"set a 0 0 1 noreply\r\nx\r\n", bad_line),
        (b"set a 0 0 1\nx\r\n", bad_line),
        (
            b"set a 0 5 1\r\nx\r\n",
            b"CLIENT_ERROR expiration not supported\r\n",
        ),
        (
            &set("a", 0, &[b'v'; 57]),
            b"SERVER_ERROR object too large for cache\r\n",
        ),
        (b"set a 0 0 3\r\nabcd\r\n", bad_chunk),
        (b"set a 0 0 3\r\nabc", bad_chunk),
        (b"set a 0 0 3\r\nabcxy", bad_chunk),
    ] {
        say(&mut l, cmd, want);
    }
    assert_eq!(l.lookup("kv", &key("a")), None, "a refused set stored");

    // 32 entries at most: the 33rd set is refused, as memcached words it.
    for i in 0..30 {
        say(&mut l, &set(&format!("fill{i}"), 0, b"x"), b"STORED\r\n");
    }
    say(
        &mut l,
        &set("one-too-many", 0, b"x"),
        b"SERVER_ERROR out of memory storing object\r\n",
    );
    say(&mut l, &set("fill3", 0, b"replaced"), b"STORED\r\n");
    say(&mut l, b"get fill3\r\n", &value("fill3", 0, b"replaced"));

    let two = Req {
        chunk_count: 2,
        ..r
    };
    let (flags, out) = l.ask(&two, b"get a\r\n");
    assert_ne!(flags & contract::LAMBDA_FLAG_ERROR, 0);
    assert_eq!(out, b"a key-value request is one chunk");
    l.report();
}

/// What every lambda program does with packets that are not its requests
/// (they pass to the host untouched), with inconsistent headers (an error
/// response), and with a port and lambda ID set through its `.rodata`.
#[test]
fn every_lambda_passes_what_is_not_its_request() {
    for (name, id, body) in [
        (
            "lambda_web",
            contract::LAMBDA_ID_WEB,
            &b"GET / HTTP/1.0\r\n"[..],
        ),
        ("lambda_kv", contract::LAMBDA_ID_KV, b"get a\r\n"),
        ("lambda_gray", contract::LAMBDA_ID_GRAY, &[1, 2, 3, 4]),
    ] {
        let Some(mut l) = Lambda::new(name) else {
            return;
        };
        let r = Req::to(id);
        // The request itself is answered.
        l.ask(&r, body);
        let other = if id == contract::LAMBDA_ID_WEB {
            contract::LAMBDA_ID_KV
        } else {
            contract::LAMBDA_ID_WEB
        };
        let good = request(&r, body);
        let patched = |at: usize, bytes: &[u8]| {
            let mut f = good.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            f
        };
        let not_mine: Vec<(&str, Vec<u8>)> = vec![
            ("another lambda ID", request(&Req::to(other), body)),
            ("lambda ID 0", request(&Req::to(0), body)),
            (
                "another UDP port",
                request(
                    &Req {
                        port: contract::LAMBDA_DEFAULT_PORT + 1,
                        ..r
                    },
                    body,
                ),
            ),
            (
                "a response",
                request(
                    &Req {
                        flags: contract::LAMBDA_FLAG_RESPONSE,
                        ..r
                    },
                    body,
                ),
            ),
            ("a wrong magic", patched(42, b"LN")),
            ("version 2", patched(44, &[2])),
            ("TCP", patched(23, &[6])),
            ("IPv4 options (IHL 6)", patched(14, &[0x46])),
            ("a fragment", patched(20, &[0x20, 0x00])),
            ("an IPv6 ethertype", patched(12, &[0x86, 0xdd])),
            ("IP length past the frame", patched(16, &[0x05, 0xdc])),
            ("UDP length not the IP payload", patched(38, &[0x00, 0x19])),
            ("the frame cut in the header", good[..50].to_vec()),
            ("ARP", common::arp()),
        ];
        for (what, f) in &not_mine {
            l.passes(f, what);
        }
        // An inconsistent header for this lambda: an error response.
        let long = patched(48, &((body.len() + 1) as u16).to_be_bytes());
        let ex = l.send(&long);
        let (flags, out) = response(&r, &ex.frame);
        assert_ne!(flags & contract::LAMBDA_FLAG_ERROR, 0, "{name}");
        assert_eq!(out, b"body_len past the end of the datagram", "{name}");
        for (index, count) in [(0u16, 0u16), (2, 2), (7, 3)] {
            let bad = Req {
                chunk_index: index,
                chunk_count: count,
                ..r
            };
            let (flags, out) = l.ask(&bad, body);
            assert_ne!(flags & contract::LAMBDA_FLAG_ERROR, 0, "{name}");
            assert_eq!(out, b"chunk_index not below chunk_count", "{name}");
        }

        // The port and ID from `.rodata`: requests to the default port
        // pass from then on, requests to the new port and ID are answered.
        let mut conf = 9000u16.to_le_bytes().to_vec();
        conf.extend_from_slice(&40u16.to_le_bytes());
        l.update(".rodata", &0u32.to_le_bytes(), &conf);
        l.passes(&good, "the default port after the change");
        let moved = Req {
            port: 9000,
            lambda: 40,
            ..r
        };
        let (flags, _) = l.ask(&moved, body);
        assert_eq!(flags & contract::LAMBDA_FLAG_ERROR, 0, "{name}");
        l.passes(
            &request(&Req { port: 9000, ..r }, body),
            "the old lambda ID on the new port",
        );
    }
}

/// The C header restates the contract's numbers: they agree.
#[test]
fn lambda_h_agrees_with_the_contract() {
    let h = std::fs::read_to_string(common::program("include/lambda.h")).unwrap();
    let define = |name: &str| -> u64 {
        let line = h
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("no #define {name} in lambda.h"));
        let v = line.split_whitespace().nth(2).unwrap();
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => v.parse().unwrap(),
        }
    };
    use contract::*;
    for (name, want) in [
        ("LAMBDA_DEFAULT_PORT", u64::from(LAMBDA_DEFAULT_PORT)),
        ("LAMBDA_MAGIC", u64::from(LAMBDA_MAGIC)),
        ("LAMBDA_VERSION", u64::from(LAMBDA_VERSION)),
        ("LAMBDA_F_RESPONSE", u64::from(LAMBDA_FLAG_RESPONSE)),
        ("LAMBDA_F_MORE", u64::from(LAMBDA_FLAG_MORE)),
        ("LAMBDA_F_ERROR", u64::from(LAMBDA_FLAG_ERROR)),
        ("LAMBDA_HDR_BYTES", LAMBDA_HDR_BYTES as u64),
        ("LAMBDA_BODY_OFF", 14 + 20 + 8 + LAMBDA_HDR_BYTES as u64),
        ("LAMBDA_MAX_BODY", LAMBDA_MAX_BODY as u64),
        ("LAMBDA_MAX_GROW", LAMBDA_MAX_GROW as u64),
        ("LAMBDA_ID_WEB", u64::from(LAMBDA_ID_WEB)),
        ("LAMBDA_ID_KV", u64::from(LAMBDA_ID_KV)),
        ("LAMBDA_ID_GRAY", u64::from(LAMBDA_ID_GRAY)),
    ] {
        assert_eq!(define(name), want, "{name}");
    }
}

/// An image larger than one datagram: 40 x 30 RGBA pixels (4,800 bytes)
/// sent as five chunks of at most 256 pixels, in a shuffled order; the
/// responses, put back together by their chunk numbers, are the grayscale
/// image computed here.
#[test]
fn gray_image_in_chunks() {
    let Some(mut l) = Lambda::new("lambda_gray") else {
        return;
    };
    let mut rng = common::Rng(0x1a6e);
    let (w, h) = (40usize, 30usize);
    let image: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 6) as u8, (y * 8) as u8, rng.next() as u8, 255]
        })
        .collect();
    let chunks: Vec<&[u8]> = image.chunks(256 * 4).collect();
    let count = chunks.len() as u16;
    assert_eq!(count, 5);
    let mut order: Vec<u16> = (0..count).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut parts: Vec<Option<Vec<u8>>> = vec![None; chunks.len()];
    for &k in &order {
        let r = Req {
            request_id: 0xfeed_0001,
            chunk_index: k,
            chunk_count: count,
            flags: if k + 1 < count {
                contract::LAMBDA_FLAG_MORE
            } else {
                0
            },
            ..Req::to(contract::LAMBDA_ID_GRAY)
        };
        let (flags, out) = l.ask(&r, chunks[k as usize]);
        assert_eq!(flags & contract::LAMBDA_FLAG_ERROR, 0, "chunk {k}");
        parts[k as usize] = Some(out);
    }
    let gray_image: Vec<u8> = parts.into_iter().flat_map(Option::unwrap).collect();
    let want: Vec<u8> = image.chunks(4).map(gray).collect();
    assert_eq!(gray_image.len(), w * h);
    assert_eq!(gray_image, want);
    l.report();
}

/// `nfbpf traffic --lambda gray` writes requests in the lambda format:
/// `nfbpf run builtin:lambda_gray` answers every one, each answer the
/// grayscale of its own request's pixels (checked field by field here);
/// `--lambda kv` and `--lambda web` requests are answered too.
#[test]
fn traffic_writes_requests_the_lambdas_answer() {
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (kind, n) in [("gray", 12), ("kv", 10), ("web", 6)] {
        let inp = dir.path().join(format!("{kind}.pcapng"));
        let out = dir.path().join(format!("{kind}-answers.pcapng"));
        let (code, stdout, stderr) = common::nfbpf(&[
            "traffic",
            "--lambda",
            kind,
            "--count",
            &n.to_string(),
            "--ports",
            "0,1,2,3",
            "--seed",
            "7",
            "--out",
            inp.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(&format!("{n} frames")), "{stdout}");
        let (code, stdout, stderr) = common::nfbpf(&[
            "run",
            &format!("builtin:lambda_{kind}"),
            "--pcap",
            inp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains(&format!("{n} packets: tx {n}")),
            "{kind}: {stdout}"
        );
        let reqs = nfbpf_sim::capture::read_all(&inp).unwrap();
        let got = nfbpf_sim::capture::read_all(&out).unwrap();
        assert_eq!(got.len(), n);
        // The agent's addresses are its own; the lambda header says whose
        // answer it is (RESPONSE, the request's lambda and ID, the body's
        // length).
        for (k, (q, a)) in reqs.iter().zip(&got).enumerate() {
            let (q, a) = (&q.data, &a.data);
            assert_eq!(q[50..54], (k as u32 + 1).to_be_bytes(), "request ID");
            assert_eq!(a[42..45], q[42..45], "{kind} {k}: magic and version");
            let flags = a[45];
            assert_ne!(flags & contract::LAMBDA_FLAG_RESPONSE, 0, "{kind} {k}");
            assert_eq!(a[46..48], q[46..48], "{kind} {k}: lambda ID");
            assert_eq!(a[50..54], q[50..54], "{kind} {k}: request ID");
            let len = u16::from_be_bytes([a[48], a[49]]) as usize;
            assert_eq!(
                a.len(),
                58 + len,
                "{kind} {k}: the frame ends with the body"
            );
            if kind == "gray" {
                assert_eq!(flags & contract::LAMBDA_FLAG_ERROR, 0, "request {k}");
                let n = u16::from_be_bytes([q[48], q[49]]) as usize;
                let want: Vec<u8> = q[58..58 + n].chunks(4).map(gray).collect();
                assert_eq!(a[58..], want[..], "request {k}");
            }
        }
    }
}

/// As a user runs it: `nfbpf run builtin:lambda_web --pcap` with the page
/// in a rules file, on both engines; the response in `--out` is the page.
#[test]
fn web_on_the_command_line() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    if !clang() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    let r = Req::to(contract::LAMBDA_ID_WEB);
    let frames = [
        request(&r, b"GET /hi HTTP/1.0\r\n"),
        common::arp(),
        request(&r, b"GET /nope HTTP/1.0\r\n"),
    ];
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        let t = std::time::Duration::from_micros(i as u64);
        w.write_packet(&PcapPacket::new(t, f.len() as u32, f))
            .unwrap();
    }
    drop(w);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut chunk = b"hello, world".to_vec();
    chunk.resize(64, 0);
    let rules = dir.path().join("pages.rules");
    std::fs::write(
        &rules,
        format!(
            "pages hex:{} hex:{}\npage_chunks 5 hex:{}\n",
            hex(&page_key("/hi")),
            hex(&[12, 0, 0, 0, 5, 0, 0, 0]),
            hex(&chunk)
        ),
    )
    .unwrap();
    for engine in ["interp", "pipeline"] {
        let out = dir.path().join(format!("{engine}.pcapng"));
        let (code, stdout, stderr) = common::nfbpf(&[
            "run",
            "builtin:lambda_web",
            "--pcap",
            pcap.to_str().unwrap(),
            "-r",
            rules.to_str().unwrap(),
            "--engine",
            engine,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("3 packets: pass 1, tx 2"), "{stdout}");
        let got = nfbpf_sim::capture::read_all(&out).unwrap();
        assert_eq!(got.len(), 3, "{engine}");
        let (_, body) = response(&r, &got[0].data);
        assert_eq!(body, http_ok(b"hello, world"), "{engine}");
        assert_eq!(got[1].data, frames[1], "{engine}: the ARP frame");
        let (_, body) = response(&r, &got[2].data);
        assert_eq!(body, http_status("HTTP/1.0 404 Not Found"), "{engine}");
    }
}
