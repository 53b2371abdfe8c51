//! The generated RTL sources match the model: `rtl/ebpf_params.vh` and
//! `rtl/ebpf_widths.vh` (from `vm::contract` and the pipeline's enums) and `rtl/ebpf_decode_rom.v` (from
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
fn widths_vh_matches_contract() {
    check("ebpf_widths.vh", &rtlgen::widths_vh());
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

/// Names a generated header declares.
fn generated_names() -> std::collections::BTreeSet<String> {
    [
        rtlgen::params_vh(),
        rtlgen::units_params_vh(),
        rtlgen::dp_params_vh(),
    ]
    .iter()
    .flat_map(|h| h.lines().filter_map(localparam_name).collect::<Vec<_>>())
    .collect()
}

/// The name a `localparam` line declares (first one on the line).
fn localparam_name(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("localparam")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("integer").unwrap_or(rest).trim_start();
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']')?.1.trim_start(),
        None => rest,
    };
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// No hand-written RTL module declares its own copy of a constant the
/// generated headers hold (a functional-unit, condition, ALU, map-kind or
/// control code written again by hand would drift unseen): every
/// `localparam` name in rtl/*.v that is not generated must be new.
#[test]
fn no_hand_written_copies_of_generated_constants() {
    let names = generated_names();
    // The families the headers own: a local name in one of them is a copy
    // even if the header spells it differently.
    let families = [
        "U_", "COND_", "ALU_", "CTL_", "MAPK_", "MOP_", "WR_", "W_", "AOP_", "K_", "STALL_",
        "FWD_", "FAULT_",
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rtl");
    let mut copies = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(&dir).expect("read rtl/") {
        let path = e.expect("rtl/ entry").path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if !file.ends_with(".v") || file == "ebpf_decode_rom.v" {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("read an RTL file");
        for (n, line) in text.lines().enumerate() {
            // A line may declare several: `localparam [1:0] A = 0, B = 1;`.
            let Some(first) = localparam_name(line) else {
                continue;
            };
            let mut declared = vec![first];
            for part in line.split(',').skip(1) {
                let name: String = part
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if part.contains('=') && !name.is_empty() {
                    declared.push(name);
                }
            }
            for d in declared {
                if names.contains(&d) || families.iter().any(|f| d.starts_with(f)) {
                    copies.push(format!("rtl/{file}:{}: localparam {d}", n + 1));
                }
            }
        }
    }
    assert!(files > 20, "found only {files} RTL modules in {dir:?}");
    assert!(
        copies.is_empty(),
        "hand-written copies of generated constants (use the generated names):\n{}",
        copies.join("\n")
    );
}

#[test]
fn localparam_names_parse() {
    assert_eq!(
        localparam_name("  localparam [3:0] U_MUL = 4'd1, U_DIV = 4'd2;"),
        Some("U_MUL".into())
    );
    assert_eq!(
        localparam_name("localparam integer MUL_CYCLES = 4;"),
        Some("MUL_CYCLES".into())
    );
    assert_eq!(localparam_name("wire x;"), None);
    assert!(generated_names().contains("CTL_FINAL"));
    assert!(generated_names().contains("MAPK_LPMTRIE"));
}
