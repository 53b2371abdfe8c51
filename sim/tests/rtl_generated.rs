//! The generated RTL sources match the model: `rtl/ebpf_params.vh` (from
//! `vm::contract` and the pipeline's enums) and `rtl/ebpf_decode_rom.v` (from
//! the ISA table). Run with `NFBPF_BLESS=1` to rewrite them after a change.

use nfbpf_sim::rtlgen;
use std::path::PathBuf;

fn check(name: &str, want: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../rtl")
        .join(name);
    if std::env::var_os("NFBPF_BLESS").is_some() {
        std::fs::write(&path, want).expect("write the generated file");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(have.lines().count().min(want.lines().count()));
        panic!(
            "rtl/{name} differs from what the model generates (first difference at line {}); \
             regenerate with `NFBPF_BLESS=1 cargo test -p nfbpf-sim --test rtl_generated`",
            line + 1
        );
    }
}

#[test]
fn params_vh_matches_contract() {
    check("ebpf_params.vh", &rtlgen::params_vh());
}

#[test]
fn decode_rom_matches_isa_table() {
    check("ebpf_decode_rom.v", &rtlgen::decode_rom_v());
}

#[test]
fn units_params_vh_matches_contract() {
    check("ebpf_units_params.vh", &rtlgen::units_params_vh());
}

#[test]
fn dp_params_vh_matches_model() {
    // rtl/ebpf_dataplane.v has one AXI4-Stream slave per input port.
    assert_eq!(
        nfbpf_vm::device::PORTS,
        4,
        "ebpf_dataplane has 4 ingress ports"
    );
    check("ebpf_dp_params.vh", &rtlgen::dp_params_vh());
}
