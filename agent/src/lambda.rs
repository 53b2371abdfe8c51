//! A lambda's request and response as the agent sends and reads them
//! (the format of `docs/lambdas.md`, numbers from `contract::LAMBDA_*`):
//! [`requests`] cuts a request body into chunk datagrams, each padded with
//! room for its answer; [`Exchange`] follows one invocation's chunks (which
//! are out, which are answered) and puts the answers back together in
//! chunk order.
//!
//! The agent is the client of its own device: its frames come from
//! [`CLIENT_MAC`] / [`CLIENT_IP`] / [`CLIENT_PORT`] to [`SERVER_MAC`] /
//! [`SERVER_IP`] and the function's lambda port, and every chunk carries
//! [`CHUNK_BODY`] bytes of the body at most, then zero bytes of room up to
//! a full-size frame (the answer may be up to `LAMBDA_MAX_BODY` +
//! `LAMBDA_MAX_GROW` bytes; room is not counted in `body_len`).

use nfbpf_vm::contract::{
    LAMBDA_FLAG_ERROR, LAMBDA_FLAG_MORE, LAMBDA_FLAG_RESPONSE, LAMBDA_HDR_BYTES, LAMBDA_MAGIC,
    LAMBDA_MAX_BODY, LAMBDA_VERSION,
};
use nfbpf_vm::device::Dest;
use nfbpf_vm::regs::HostFrame;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa9];
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 2];
pub const SERVER_IP: [u8; 4] = [10, 0, 0, 1];
pub const CLIENT_PORT: u16 = 40000;
/// Most body bytes in one chunk: 256 RGBA pixels, what `lambda_gray`
/// takes in one datagram (and a multiple of 4, so no pixel is split).
pub const CHUNK_BODY: usize = 1024;
/// Answers left over from earlier requests dropped before a new exchange,
/// at most (the host receive queue holds fewer).
pub const STALE_MAX: usize = 1024;
/// Headers in front of the body: Ethernet, IPv4, UDP, the lambda header.
const HEADERS: usize = 14 + 20 + 8 + LAMBDA_HDR_BYTES;

/// The IPv4 header checksum of `h` (its checksum field zero).
fn ip_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The request frames of `body` for lambda `lambda_id` on UDP port
/// `port`, request ID `request_id`: one chunk per [`CHUNK_BODY`] bytes (one
/// empty chunk for an empty body), MORE on all but the last. `None` when
/// the body needs more than `u16::MAX` chunks.
pub fn requests(lambda_id: u16, port: u16, request_id: u32, body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let parts: Vec<&[u8]> = if body.is_empty() {
        vec![&[]]
    } else {
        body.chunks(CHUNK_BODY).collect()
    };
    let count = u16::try_from(parts.len()).ok()?;
    Some(
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let more = if i + 1 < parts.len() {
                    LAMBDA_FLAG_MORE
                } else {
                    0
                };
                frame(lambda_id, port, request_id, i as u16, count, more, part)
            })
            .collect(),
    )
}

fn frame(
    lambda_id: u16,
    port: u16,
    request_id: u32,
    index: u16,
    count: u16,
    flags: u8,
    body: &[u8],
) -> Vec<u8> {
    let room = LAMBDA_MAX_BODY.saturating_sub(body.len());
    let udp_len = 8 + LAMBDA_HDR_BYTES + body.len() + room;
    let ip_len = 20 + udp_len;
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&SERVER_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&(ip_len as u16).to_be_bytes());
    ip.extend_from_slice(&(index.wrapping_add(request_id as u16)).to_be_bytes());
    ip.extend_from_slice(&[0x40, 0x00, 64, 17, 0, 0]);
    ip.extend_from_slice(&CLIENT_IP);
    ip.extend_from_slice(&SERVER_IP);
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&CLIENT_PORT.to_be_bytes());
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&LAMBDA_MAGIC.to_be_bytes());
    f.push(LAMBDA_VERSION);
    f.push(flags);
    f.extend_from_slice(&lambda_id.to_be_bytes());
    f.extend_from_slice(&(body.len() as u16).to_be_bytes());
    f.extend_from_slice(&request_id.to_be_bytes());
    f.extend_from_slice(&index.to_be_bytes());
    f.extend_from_slice(&count.to_be_bytes());
    f.extend_from_slice(body);
    f.resize(f.len() + room, 0);
    f
}

/// How an invocation's exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every chunk answered: the response body, in chunk order.
    Answered(Vec<u8>),
    /// The lambda refused a chunk (ERROR): its message.
    Refused(String),
    /// The request came back unanswered, passed to the host or sent on
    /// unchanged: the program did not take it as its request.
    NotTaken(String),
}

/// One invocation's chunks on the device.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub lambda_id: u16,
    pub port: u16,
    pub request_id: u32,
    pub frames: Vec<Vec<u8>>,
    answers: Vec<Option<Vec<u8>>>,
    /// When each chunk was last sent (None: not yet).
    sent: Vec<Option<std::time::Instant>>,
    ended: Option<Outcome>,
}

impl Exchange {
    pub fn new(lambda_id: u16, port: u16, request_id: u32, body: &[u8]) -> Option<Exchange> {
        let frames = requests(lambda_id, port, request_id, body)?;
        let n = frames.len();
        Some(Exchange {
            lambda_id,
            port,
            request_id,
            frames,
            answers: vec![None; n],
            sent: vec![None; n],
            ended: None,
        })
    }

    /// The outcome, once every chunk is answered or one failed.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.ended.as_ref()
    }

    /// Chunks answered so far, of all.
    pub fn progress(&self) -> (usize, usize) {
        (
            self.answers.iter().filter(|a| a.is_some()).count(),
            self.answers.len(),
        )
    }

    /// The chunks to send now: at most `window` unanswered ones out at
    /// once, each sent again after `resend` without an answer (a frame the
    /// device had no room for is lost, as on a wire).
    pub fn due(&mut self, window: usize, resend: std::time::Duration) -> Vec<usize> {
        if self.ended.is_some() {
            return Vec::new();
        }
        let now = std::time::Instant::now();
        let mut out = Vec::new();
        let mut outstanding = 0;
        for i in 0..self.frames.len() {
            if self.answers[i].is_some() {
                continue;
            }
            match self.sent[i] {
                Some(t) if now.duration_since(t) < resend => outstanding += 1,
                Some(_) => out.push(i),
                None if outstanding + out.len() < window => out.push(i),
                None => {}
            }
        }
        for &i in &out {
            self.sent[i] = Some(now);
        }
        out
    }

    /// Take a frame the device handed back: an answer to one of this
    /// exchange's chunks is kept (repeats ignored); anything else is not
    /// this exchange's (false).
    pub fn take(&mut self, f: &HostFrame) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let fr = &f.frame;
        if fr.len() < HEADERS || fr[12..14] != [0x08, 0x00] {
            return false;
        }
        let h = &fr[42..HEADERS];
        if h[0..2] != LAMBDA_MAGIC.to_be_bytes()
            || h[4..6] != self.lambda_id.to_be_bytes()
            || h[8..12] != self.request_id.to_be_bytes()
        {
            return false;
        }
        let index = u16::from_be_bytes([h[12], h[13]]) as usize;
        let Some(req) = self.frames.get(index) else {
            return false;
        };
        let flags = h[3];
        if flags & LAMBDA_FLAG_RESPONSE == 0 {
            // Our own request back: passed to the host, or sent on.
            if fr[..] == req[..] || f.dest == Dest::Host {
                self.ended = Some(Outcome::NotTaken(format!(
                    "chunk {index} came back unanswered ({}): the program did not take it as a request for lambda ID {} on UDP port {} (are those the ID and port it answers?)",
                    match f.dest {
                        Dest::Host => "passed to the host".to_string(),
                        Dest::Flood => "flooded".to_string(),
                        Dest::Port(p) => format!("sent to port {p}"),
                    },
                    self.lambda_id,
                    self.port
                )));
                return true;
            }
            return false;
        }
        let n = u16::from_be_bytes([h[6], h[7]]) as usize;
        let Some(body) = fr.get(HEADERS..HEADERS + n) else {
            self.ended = Some(Outcome::Refused(format!(
                "the answer to chunk {index} says {n} bytes of body but carries {}",
                fr.len() - HEADERS
            )));
            return true;
        };
        if flags & LAMBDA_FLAG_ERROR != 0 {
            self.ended = Some(Outcome::Refused(format!(
                "chunk {index}: {}",
                String::from_utf8_lossy(body)
            )));
            return true;
        }
        if self.answers[index].is_none() {
            self.answers[index] = Some(body.to_vec());
        }
        if self.answers.iter().all(Option::is_some) {
            self.ended = Some(Outcome::Answered(
                self.answers.iter().flatten().flatten().copied().collect(),
            ));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_reassembly() {
        let body: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let mut x = Exchange::new(3, 7380, 9, &body).unwrap();
        assert_eq!(x.frames.len(), 3);
        for (i, f) in x.frames.iter().enumerate() {
            assert_eq!(f.len(), 14 + 1500, "full-size frame with room");
            assert_eq!(f[45] & LAMBDA_FLAG_MORE != 0, i < 2, "MORE");
            assert_eq!(ip_checksum(&f[14..34]), 0, "IPv4 checksum");
        }
        assert_eq!(x.due(2, std::time::Duration::from_secs(60)), vec![0, 1]);
        assert!(x.due(2, std::time::Duration::from_secs(60)).is_empty());
        // Answers in reverse order, each the chunk's first byte.
        for i in (0..3usize).rev() {
            let mut f = x.frames[i][..HEADERS].to_vec();
            f[45] |= LAMBDA_FLAG_RESPONSE;
            f[48..50].copy_from_slice(&1u16.to_be_bytes());
            f.push(i as u8 + 100);
            let hf = HostFrame {
                port: 0,
                dest: Dest::Port(0),
                frame: f,
            };
            assert!(x.take(&hf));
            // A repeat is ours (ignored) until the exchange ends.
            assert_eq!(x.take(&hf), i > 0);
        }
        assert_eq!(x.outcome(), Some(&Outcome::Answered(vec![100, 101, 102])));
        // Another request's answer is not ours; our request passed is.
        let mut y = Exchange::new(1, 7380, 10, b"GET / HTTP/1.0").unwrap();
        let other = HostFrame {
            port: 0,
            dest: Dest::Host,
            frame: x.frames[0].clone(),
        };
        assert!(!y.take(&other));
        let back = HostFrame {
            port: 0,
            dest: Dest::Host,
            frame: y.frames[0].clone(),
        };
        assert!(y.take(&back));
        assert!(matches!(y.outcome(), Some(Outcome::NotTaken(m)) if m.contains("lambda ID 1")));
        assert!(requests(1, 1, 1, &vec![0; CHUNK_BODY * 70000]).is_none());
    }
}
