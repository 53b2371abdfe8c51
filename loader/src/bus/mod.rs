//! Device targets: how the host reaches a device's registers.
//!
//! A target string names a device: `sim:PATH` is a simulated board (`nfbpf
//! device serve`, registers on a Unix socket, see [`socket`]); `sume:IFNAME`
//! is a NetFPGA SUME board through its driver's ioctls (see [`sume`]).
//! Everything that talks to a device (the loader's programming sequence,
//! status, maps, the agent) goes through [`RegisterBus`], whatever the target.

pub mod socket;
pub mod sume;

pub use nfbpf_vm::regs::{BusError, RegisterBus};

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A simulated board's register socket.
    Sim(std::path::PathBuf),
    /// A SUME board's network interface (e.g. `nf0`).
    Sume(String),
}

impl std::str::FromStr for Target {
    type Err = BusError;

    fn from_str(s: &str) -> Result<Self, BusError> {
        match s.split_once(':') {
            Some(("sim", p)) if !p.is_empty() => Ok(Target::Sim(p.into())),
            Some(("sume", i)) if !i.is_empty() => Ok(Target::Sume(i.to_string())),
            _ => Err(BusError::Transport(format!(
                "invalid target `{s}`: expected `sim:PATH` (a simulated board's socket) or `sume:IFNAME` (a SUME board, e.g. sume:nf0)"
            ))),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sim(p) => write!(f, "sim:{}", p.display()),
            Target::Sume(i) => write!(f, "sume:{i}"),
        }
    }
}

/// Open a target and check that a device of ours answers (ID register).
pub fn open(target: &Target) -> Result<Box<dyn RegisterBus + Send>, BusError> {
    let mut bus: Box<dyn RegisterBus + Send> = match target {
        Target::Sim(p) => Box::new(socket::SocketBus::connect(p)?),
        Target::Sume(i) => Box::new(sume::SumeBus::open(i)?),
    };
    check_id(&mut bus, &target.to_string())?;
    Ok(bus)
}

/// Fail clearly when the ID register is not ours.
pub fn check_id(bus: &mut dyn RegisterBus, what: &str) -> Result<(), BusError> {
    use nfbpf_vm::regs::{DEVICE_ID, ID};
    let id = bus.read32(ID)?;
    if id != DEVICE_ID {
        return Err(BusError::Transport(format!(
            "{what}: unexpected ID register {id:#010x} (an nfbpf device reads {DEVICE_ID:#010x}); is the nfbpf bitstream loaded?"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            "sim:/tmp/x.sock".parse::<Target>(),
            Ok(Target::Sim("/tmp/x.sock".into()))
        );
        assert_eq!("sume:nf0".parse::<Target>(), Ok(Target::Sume("nf0".into())));
        let e = "nf0".parse::<Target>().unwrap_err().to_string();
        assert!(e.contains("invalid target `nf0`"), "{e}");
        assert!("sim:".parse::<Target>().is_err());
    }
}
