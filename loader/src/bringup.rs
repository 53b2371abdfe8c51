//! Bring-up of a new board: the sequence `nfbpf bringup -t TARGET` runs
//! before any program is loaded for real, against any [`RegisterBus`] (a
//! SUME board, a simulated board of either backend).
//!
//! The steps, in order; each stops the sequence when it fails, since the
//! later ones rely on it:
//!
//! 1. **identification**: `ID` and `VERSION` are what this build expects
//!    ([`regs::DEVICE_ID`], [`regs::DEVICE_VERSION`]), `NUMENGINES` is
//!    1..[`MAX_ENGINES`], `IMEMSLOTS` is [`contract::IMEM_SLOTS`];
//! 2. **scratch**: `DEBUG` written with [`SCRATCH_PATTERNS`] and read back
//!    after each write (every bit both ways), its old value put back;
//! 3. **bank flip**: the Wire program staged into the idle bank, read back
//!    slot by slot, `FLIP`: `CURRINSTMEM` moves to the other bank; a second
//!    time, back to the first (both banks written, read and swapped in);
//! 4. **traffic**: with Wire running, [`FRAMES_PER_PORT`] frames from the
//!    host's DMA queue of each port that has an engine
//!    ([`RegisterBus::host_send`]); the port's `PORTRX` and the neighbour
//!    port's `PORTTX` (Wire sends port p's frames to port p ^ 1) must grow
//!    by that many, `PORTRXDROP` must not grow, within the given timeout
//!    ([`TRAFFIC_TIMEOUT`] by default).
//!
//! A failure names the register, the expected and the read value
//! ([`Failure`]).

use crate::Image;
use nfbpf_vm::contract;
use nfbpf_vm::device::{MAX_ENGINES, PORTS};
use nfbpf_vm::regs::{self, BusError, RegisterBus};
use std::time::{Duration, Instant};

/// The values `DEBUG` is written with, in order: every bit set and cleared.
pub const SCRATCH_PATTERNS: [u32; 4] = [0xa5a5_5a5a, 0x5a5a_a5a5, 0xffff_ffff, 0x0000_0000];

/// Frames sent from each port's host queue in the traffic step.
pub const FRAMES_PER_PORT: u32 = 4;

/// How long the traffic step waits for the counters by default
/// (wall-clock time: a simulated board runs slower than a real one).
pub const TRAFFIC_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A register read something other than expected.
    Register {
        /// The register, as `docs/registers.md` names it (`PORTTX[1]` for
        /// the selected port's counter).
        register: String,
        expected: String,
        read: String,
        /// What the mismatch means, or what to look at.
        hint: String,
    },
    /// The bus itself failed (transport, a refused access).
    Bus(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Register {
                register,
                expected,
                read,
                hint,
            } => {
                write!(f, "{register}: expected {expected}, read {read}")?;
                if !hint.is_empty() {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            Failure::Bus(m) => f.write_str(m),
        }
    }
}

impl From<BusError> for Failure {
    fn from(e: BusError) -> Self {
        Failure::Bus(e.to_string())
    }
}

/// One check of a step and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The step: `identification`, `scratch`, `bank flip`, `traffic`.
    pub step: &'static str,
    /// What was checked, e.g. `ID` or `port 0 -> 1`.
    pub what: String,
    /// What was found (on success) or why it failed.
    pub result: Result<String, Failure>,
}

/// Run the whole sequence, calling `report` with each check as it is done;
/// stops at the first failure. `wire` is the Wire program (SUME ABI,
/// `in_port ^ 1`); `timeout` bounds the wait for the traffic counters.
/// True when every check passed.
pub fn run(
    bus: &mut dyn RegisterBus,
    wire: &Image,
    timeout: Duration,
    report: &mut dyn FnMut(&Check),
) -> bool {
    let mut ok = true;
    let mut emit = |step: &'static str, what: String, result: Result<String, Failure>| {
        let c = Check { step, what, result };
        ok &= c.result.is_ok();
        report(&c);
        c.result.is_ok()
    };
    let engines = match identification(bus, &mut emit) {
        Some(n) => n,
        None => return false,
    };
    if !scratch(bus, &mut emit) || !bank_flip(bus, wire, &mut emit) {
        return false;
    }
    traffic(bus, engines, timeout, &mut emit);
    ok
}

type Emit<'a> = dyn FnMut(&'static str, String, Result<String, Failure>) -> bool + 'a;

fn expect(register: &str, expected: u32, read: u32, hint: &str) -> Result<String, Failure> {
    if read == expected {
        Ok(format!("{read:#010x}"))
    } else {
        Err(Failure::Register {
            register: register.into(),
            expected: format!("{expected:#010x}"),
            read: format!("{read:#010x}"),
            hint: hint.into(),
        })
    }
}

/// Step 1; the number of engines when it passed.
fn identification(bus: &mut dyn RegisterBus, emit: &mut Emit<'_>) -> Option<u32> {
    const STEP: &str = "identification";
    let id = bus.read32(regs::ID).map_err(Failure::from).and_then(|v| {
        expect(
            "ID",
            regs::DEVICE_ID,
            v,
            "not an nfbpf device at the block's base address: is the nfbpf bitstream loaded?",
        )
    });
    if !emit(STEP, "ID".into(), id) {
        return None;
    }
    let version = bus
        .read32(regs::VERSION)
        .map_err(Failure::from)
        .and_then(|v| {
            expect(
                "VERSION",
                regs::DEVICE_VERSION,
                v,
                "the bitstream was built from another version of the register map than this nfbpf",
            )
        });
    if !emit(STEP, "VERSION".into(), version) {
        return None;
    }
    let engines = bus.read32(regs::NUMENGINES);
    let n = match engines {
        Ok(n) if (1..=MAX_ENGINES as u32).contains(&n) => {
            emit(STEP, "NUMENGINES".into(), Ok(format!("{n}")));
            n
        }
        Ok(n) => {
            emit(
                STEP,
                "NUMENGINES".into(),
                Err(Failure::Register {
                    register: "NUMENGINES".into(),
                    expected: format!("1..{MAX_ENGINES}"),
                    read: format!("{n}"),
                    hint: "the engine count of the build".into(),
                }),
            );
            return None;
        }
        Err(e) => {
            emit(STEP, "NUMENGINES".into(), Err(e.into()));
            return None;
        }
    };
    let slots = bus
        .read32(regs::IMEMSLOTS)
        .map_err(Failure::from)
        .and_then(|v| {
            if v == contract::IMEM_SLOTS as u32 {
                Ok(format!("{v}"))
            } else {
                Err(Failure::Register {
                    register: "IMEMSLOTS".into(),
                    expected: format!("{}", contract::IMEM_SLOTS),
                    read: format!("{v}"),
                    hint: "instruction slots per bank of this build".into(),
                })
            }
        });
    emit(STEP, "IMEMSLOTS".into(), slots).then_some(n)
}

/// Step 2.
fn scratch(bus: &mut dyn RegisterBus, emit: &mut Emit<'_>) -> bool {
    const STEP: &str = "scratch";
    let old = match bus.read32(regs::DEBUG) {
        Ok(v) => v,
        Err(e) => return emit(STEP, "DEBUG".into(), Err(e.into())),
    };
    for p in SCRATCH_PATTERNS {
        let r = bus
            .write32(regs::DEBUG, p)
            .and_then(|()| bus.read32(regs::DEBUG))
            .map_err(Failure::from)
            .and_then(|v| {
                expect(
                    "DEBUG",
                    p,
                    v,
                    "the scratch register does not keep what was written: check the AXI4-Lite path",
                )
            })
            .map(|v| format!("wrote and read {v}"));
        if !emit(STEP, format!("DEBUG <- {p:#010x}"), r) {
            return false;
        }
    }
    let r = bus
        .write32(regs::DEBUG, old)
        .map(|()| format!("{old:#010x} put back"))
        .map_err(Failure::from);
    emit(STEP, "DEBUG restored".into(), r)
}

/// Step 3: Wire into each bank in turn.
fn bank_flip(bus: &mut dyn RegisterBus, wire: &Image, emit: &mut Emit<'_>) -> bool {
    const STEP: &str = "bank flip";
    let first = match bus.read32(regs::CURRINSTMEM) {
        Ok(b) if b <= 1 => b,
        Ok(b) => {
            return emit(
                STEP,
                "CURRINSTMEM".into(),
                Err(Failure::Register {
                    register: "CURRINSTMEM".into(),
                    expected: "0 or 1".into(),
                    read: format!("{b}"),
                    hint: "the active instruction bank".into(),
                }),
            );
        }
        Err(e) => return emit(STEP, "CURRINSTMEM".into(), Err(e.into())),
    };
    if let Err(e) = crate::device::configure(bus, wire) {
        return emit(
            STEP,
            "ABIMODE and map table".into(),
            Err(program_failure(e)),
        );
    }
    for (k, from) in [(1, first), (2, first ^ 1)] {
        let what = format!("flip {k}: bank {from} -> {}", from ^ 1);
        let staged = match crate::device::stage(bus, wire) {
            Ok(s) => s,
            Err(e) => return emit(STEP, what, Err(program_failure(e))),
        };
        let r = bus
            .write32(regs::FLIP, 1)
            .and_then(|()| bus.read32(regs::CURRINSTMEM))
            .map_err(Failure::from)
            .and_then(|b| {
                if b == from ^ 1 {
                    Ok(format!(
                        "Wire ({} slots) written to bank {b} and read back; CURRINSTMEM {b}",
                        staged.slots
                    ))
                } else {
                    Err(Failure::Register {
                        register: "CURRINSTMEM".into(),
                        expected: format!("{}", from ^ 1),
                        read: format!("{b}"),
                        hint: "FLIP did not swap the instruction banks".into(),
                    })
                }
            });
        if !emit(STEP, what, r) {
            return false;
        }
    }
    true
}

fn program_failure(e: crate::device::ProgramError) -> Failure {
    match e {
        crate::device::ProgramError::ReadBack { slot, wrote, read } => Failure::Register {
            register: format!("RDINSTHI/RDINSTLO (RDINSTADDR {slot})"),
            expected: format!("{wrote:#018x}"),
            read: format!("{read:#018x}"),
            hint: "the idle bank does not hold what was written".into(),
        },
        other => Failure::Bus(other.to_string()),
    }
}

/// A frame from the host's queue of `port`: broadcast destination, a
/// locally administered source naming the port, the local experimental
/// EtherType 0x88b5 and `seq` in the payload; 60 bytes (the minimum
/// without the FCS).
pub fn test_frame(port: usize, seq: u32) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0x6e, 0x66, 0x62, 0x00, port as u8]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..27].copy_from_slice(b"nfbpf bringup");
    f[28..32].copy_from_slice(&seq.to_be_bytes());
    f
}

/// Port `port`'s counter at `off` (`PORTRX`, `PORTRXDROP`, `PORTTX`).
fn port_counter(bus: &mut dyn RegisterBus, port: usize, off: u32) -> Result<u32, BusError> {
    bus.write32(regs::PORTSELECT, port as u32)?;
    bus.read32(off)
}

/// Step 4.
fn traffic(
    bus: &mut dyn RegisterBus,
    engines: u32,
    timeout: Duration,
    emit: &mut Emit<'_>,
) -> bool {
    const STEP: &str = "traffic";
    // Engine e serves port e % PORTS: ports without an engine drop
    // everything, so only the others are tried.
    let ports = (engines as usize).min(PORTS);
    for p in 0..ports {
        let to = p ^ 1;
        let what = format!("host queue {p} -> port {to}");
        let r = port_traffic(bus, p, to, timeout);
        if !emit(STEP, what, r) {
            return false;
        }
    }
    true
}

fn port_traffic(
    bus: &mut dyn RegisterBus,
    p: usize,
    to: usize,
    timeout: Duration,
) -> Result<String, Failure> {
    let rx0 = port_counter(bus, p, regs::PORTRX)?;
    let drop0 = port_counter(bus, p, regs::PORTRXDROP)?;
    let tx0 = port_counter(bus, to, regs::PORTTX)?;
    for k in 0..FRAMES_PER_PORT {
        bus.host_send(p, &test_frame(p, k))?;
    }
    let n = FRAMES_PER_PORT;
    let t0 = Instant::now();
    loop {
        let rx = port_counter(bus, p, regs::PORTRX)?;
        let drop = port_counter(bus, p, regs::PORTRXDROP)?;
        let tx = port_counter(bus, to, regs::PORTTX)?;
        let (drx, ddrop, dtx) = (
            rx.wrapping_sub(rx0),
            drop.wrapping_sub(drop0),
            tx.wrapping_sub(tx0),
        );
        if ddrop != 0 {
            return Err(Failure::Register {
                register: format!("PORTRXDROP[{p}]"),
                expected: format!("{drop0} (no frame dropped)"),
                read: format!("{drop}"),
                hint: format!("the engines of port {p} had no room for the frames"),
            });
        }
        if drx == n && dtx == n {
            return Ok(format!(
                "{n} frames: PORTRX[{p}] {rx0} -> {rx}, PORTTX[{to}] {tx0} -> {tx}"
            ));
        }
        if drx > n || dtx > n || t0.elapsed() > timeout {
            let (register, base, read, hint) = if drx != n {
                (
                    format!("PORTRX[{p}]"),
                    rx0,
                    rx,
                    format!("frames from the host's queue of port {p} did not all arrive"),
                )
            } else {
                (
                    format!("PORTTX[{to}]"),
                    tx0,
                    tx,
                    format!("Wire sends port {p}'s frames to port {to}"),
                )
            };
            let after = if t0.elapsed() > timeout {
                format!(" after {} s", timeout.as_secs_f64())
            } else {
                String::new()
            };
            return Err(Failure::Register {
                register,
                expected: format!("{}", base.wrapping_add(n)),
                read: format!("{read}{after}"),
                hint,
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfbpf_vm::device::{Device, DeviceConfig};

    #[test]
    fn test_frames_are_minimum_size_and_name_their_port() {
        let f = test_frame(2, 7);
        assert_eq!(f.len(), 60);
        assert_eq!(f[11], 2);
        assert_eq!(&f[28..32], &7u32.to_be_bytes());
    }

    /// A bus that answers one register wrong.
    struct Wrong<B> {
        inner: B,
        off: u32,
        value: u32,
    }

    impl<B: RegisterBus> RegisterBus for Wrong<B> {
        fn read32(&mut self, off: u32) -> Result<u32, BusError> {
            let v = self.inner.read32(off)?;
            Ok(if off == self.off { self.value } else { v })
        }
        fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
            self.inner.write32(off, v)
        }
    }

    #[test]
    fn identification_and_scratch_fail_naming_the_register() {
        let dev = Device::new(DeviceConfig::default()).unwrap();
        let mut bus = Wrong {
            inner: dev,
            off: regs::DEBUG,
            value: 0x1234_5678,
        };
        let mut checks = Vec::new();
        let mut emit = |s: &'static str, w: String, r: Result<String, Failure>| {
            let ok = r.is_ok();
            checks.push(Check {
                step: s,
                what: w,
                result: r,
            });
            ok
        };
        assert_eq!(identification(&mut bus, &mut emit), Some(4));
        assert!(!scratch(&mut bus, &mut emit));
        let last = checks.last().unwrap();
        let e = last.result.as_ref().unwrap_err().to_string();
        assert_eq!(last.step, "scratch");
        assert!(
            e.starts_with("DEBUG: expected 0xa5a55a5a, read 0x12345678"),
            "{e}"
        );
    }
}
