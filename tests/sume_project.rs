//! `nfbpf regs --sume-project DIR` (what `make sume-project` runs): the
//! files a hardware user takes to the vendor tools, checked for everything
//! that can be checked without them: every file the IP script reads exists
//! and every RTL file is read; the three register-define formats carry
//! every register of `vm::regs` at its address and nothing else; the
//! placement script's window is the register map's base and holds it; the
//! scripts' braces balance; the bus interfaces the IP script names are
//! ports of the wrapper.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use nfbpf_vm::regs::{REG_BASE, REGISTERS};
use std::collections::BTreeMap;
use std::path::Path;

mod common;

/// Every register of the map, arrays expanded: name -> offset.
fn expected() -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for r in REGISTERS {
        for i in 0..r.count {
            let n = if r.count > 1 {
                format!("{}_{i}", r.name)
            } else {
                r.name.to_string()
            };
            // identifiers: anything but letters, digits and `_` is `_`
            let n: String = n
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            m.insert(n, r.offset + 4 * i);
        }
    }
    m
}

fn hex(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i64;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[test]
fn sume_project_files_match_the_rtl_and_the_register_map() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sume");
    let (code, stdout, err) = common::nfbpf(&["regs", "--sume-project", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{err}");
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap();
    for n in [
        "ebpf_sume_opl_ip.tcl",
        "ebpf_sume_opl_place.tcl",
        "ebpf_sume_opl_regs_defines.h",
        "ebpf_sume_opl_regs_defines.tcl",
        "ebpf_sume_opl_regs_defines.txt",
    ] {
        assert!(stdout.contains(n), "{n} not listed: {stdout}");
    }

    // IP script: the RTL directory, every file read exists, every RTL file read.
    let rtl = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl")).unwrap();
    let ip = read("ebpf_sume_opl_ip.tcl");
    assert!(balanced(&ip), "unbalanced braces in the IP script");
    assert!(
        ip.contains(&format!("set rtl {{{}}}", rtl.display())),
        "{ip}"
    );
    let mut named = Vec::new();
    for line in ip.lines() {
        let mut w = line.split_whitespace();
        let f = match (w.next(), w.next(), w.next()) {
            (Some("read_verilog"), Some(f), None) => f,
            (Some("add_files"), Some("-norecurse"), Some(f)) => f,
            _ => continue,
        };
        let f = f
            .strip_prefix("$rtl/")
            .unwrap_or_else(|| panic!("not under $rtl: {line}"));
        assert!(
            rtl.join(f).is_file(),
            "{f}: named by the IP script, not in rtl/"
        );
        named.push(f.to_string());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&rtl)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".v") || n.ends_with(".vh"))
        .collect();
    on_disk.sort();
    named.sort();
    assert_eq!(named, on_disk, "the IP script reads exactly rtl/");
    assert!(ip.contains("set_property top ebpf_sume_opl"));
    // The bus interfaces and clocks it names are the wrapper's ports.
    let wrapper = std::fs::read_to_string(rtl.join("ebpf_sume_opl.v")).unwrap();
    for port in [
        "axis_aclk",
        "axis_resetn",
        "S_AXI_ACLK",
        "S_AXI_ARESETN",
        "s_axis_tuser",
        "m_axis_tuser",
        "S_AXI_AWADDR",
        "S_AXI_RDATA",
    ] {
        assert!(
            wrapper.contains(port),
            "{port} is not a port of the wrapper"
        );
    }
    for busif in [
        "-busif s_axis -clock axis_aclk",
        "-busif m_axis -clock axis_aclk",
        "-busif S_AXI -clock S_AXI_ACLK",
    ] {
        assert!(ip.contains(busif), "{busif}");
    }

    // Register defines, three formats, against vm::regs.
    let want = expected();
    let end = want.values().max().unwrap() + 4;
    let mut h = BTreeMap::new();
    let mut base_h = None;
    for line in read("ebpf_sume_opl_regs_defines.h").lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["#define", name, v] = w[..] {
            if let Some(n) = name
                .strip_prefix("SUME_EBPF_SUME_OPL_")
                .and_then(|n| n.strip_suffix("_0_OFFSET"))
            {
                assert!(h.insert(n.to_string(), hex(v)).is_none(), "{n} twice");
            }
            if name == "SUME_OUTPUT_PORT_LOOKUP_0_BASEADDR" {
                base_h = Some(hex(v));
            }
        }
    }
    assert_eq!(h, want, ".h offsets");
    assert_eq!(base_h, Some(REG_BASE));

    let mut t = BTreeMap::new();
    for line in read("ebpf_sume_opl_regs_defines.tcl").lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["set", name, v] = w[..]
            && let Some(n) = name
                .strip_prefix("EBPF_SUME_OPL_REGS_")
                .and_then(|n| n.strip_suffix("_0_OFFSET"))
        {
            t.insert(n.to_string(), hex(v));
        }
    }
    assert_eq!(t, want, ".tcl offsets");

    // The text form: words; the register name is what lies between the
    // module's words and OFFSET (underscores as blanks).
    let mut x = BTreeMap::new();
    for line in read("ebpf_sume_opl_regs_defines.txt").lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() >= 7
            && w[..5] == ["#define", "SUME", "EBPF", "SUME", "OPL"]
            && w[w.len() - 2] == "OFFSET"
        {
            x.insert(w[5..w.len() - 2].join("_"), hex(w[w.len() - 1]));
        }
    }
    assert_eq!(x, want, ".txt offsets");

    // Placement: the slot's window at the map's base, holding it.
    let place = read("ebpf_sume_opl_place.tcl");
    assert!(
        balanced(&place),
        "unbalanced braces in the placement script"
    );
    let var = |n: &str| {
        place
            .lines()
            .find_map(|l| l.strip_prefix(&format!("set {n} ")))
            .map(hex)
            .unwrap_or_else(|| panic!("{n} not set"))
    };
    assert_eq!(var("OUTPUT_PORT_LOOKUP_BASEADDR"), REG_BASE);
    let size = var("OUTPUT_PORT_LOOKUP_SIZEADDR");
    assert!(size >= end, "window {size:#x} < map end {end:#x}");
    assert_eq!(var("OUTPUT_PORT_LOOKUP_HIGHADDR"), REG_BASE + size - 1);
    assert!(place.contains("-module_name output_port_lookup_ip"));
}
