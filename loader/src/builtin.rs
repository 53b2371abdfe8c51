//! The network functions of `programs/` and the headers of
//! `programs/include/`, built into the library: the CLI's default programs
//! (`builtin:l2_switch_sume`, ...) and a C file of the user's that includes
//! `sume.h`, `nf_common.h` or `lambda.h` compile from any directory, without the
//! repository beside them. [`crate::compile::compile`] writes the headers
//! into the temporary directory of each build and puts it last on clang's
//! include path, so a header of the same name beside the source or in a
//! `-I` directory takes precedence.

use crate::error::LoadError;
use std::path::Path;

/// How a built-in program is named where a file is expected:
/// `builtin:NAME` (NAME as in `programs/NAME.c`).
pub const PREFIX: &str = "builtin:";

/// `programs/include/*.h`: (file name, text).
pub const HEADERS: &[(&str, &str)] = &[
    ("lambda.h", include_str!("../../programs/include/lambda.h")),
    (
        "nf_common.h",
        include_str!("../../programs/include/nf_common.h"),
    ),
    ("sume.h", include_str!("../../programs/include/sume.h")),
];

/// `programs/*.c`: (NAME, source), by name.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("ddos", include_str!("../../programs/ddos.c")),
    ("ddos_sume", include_str!("../../programs/ddos_sume.c")),
    ("firewall", include_str!("../../programs/firewall.c")),
    ("flow_router", include_str!("../../programs/flow_router.c")),
    (
        "flow_router_legacy",
        include_str!("../../programs/flow_router_legacy.c"),
    ),
    ("l2_switch", include_str!("../../programs/l2_switch.c")),
    (
        "l2_switch_sume",
        include_str!("../../programs/l2_switch_sume.c"),
    ),
    ("lambda_gray", include_str!("../../programs/lambda_gray.c")),
    ("lambda_kv", include_str!("../../programs/lambda_kv.c")),
    ("lambda_web", include_str!("../../programs/lambda_web.c")),
    ("port0_sume", include_str!("../../programs/port0_sume.c")),
    ("port1_sume", include_str!("../../programs/port1_sume.c")),
    ("router", include_str!("../../programs/router.c")),
    ("router_sume", include_str!("../../programs/router_sume.c")),
    ("wire", include_str!("../../programs/wire.c")),
    ("wire_sume", include_str!("../../programs/wire_sume.c")),
    ("xdp_drop", include_str!("../../programs/xdp_drop.c")),
];

/// NAME of a path spelled `builtin:NAME`, else None.
pub fn name_of(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(PREFIX)
}

/// The source of built-in program `name`; the error lists the built-in
/// programs.
pub fn source(name: &str) -> Result<&'static str, LoadError> {
    PROGRAMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| LoadError::UnknownBuiltin {
            name: name.to_string(),
            known: PROGRAMS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Write [`HEADERS`] into `dir` (created if needed).
pub fn write_headers(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in HEADERS {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str, ext: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|f| f.strip_suffix(ext).map(str::to_string))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_program_and_header_is_built_in() {
        let progs: Vec<String> = PROGRAMS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            progs,
            files("programs", ".c"),
            "programs/*.c and PROGRAMS differ"
        );
        let hdrs: Vec<String> = HEADERS
            .iter()
            .map(|(n, _)| n.trim_end_matches(".h").to_string())
            .collect();
        assert_eq!(hdrs, files("programs/include", ".h"));
    }

    #[test]
    fn names_and_sources() {
        assert_eq!(name_of(Path::new("builtin:wire_sume")), Some("wire_sume"));
        assert_eq!(name_of(Path::new("programs/wire_sume.c")), None);
        assert!(source("wire_sume").is_ok_and(|s| s.contains("in_port ^ 1")));
        let e = source("nope").unwrap_err().to_string();
        assert!(e.contains("no built-in program `nope`"), "{e}");
        assert!(e.contains("l2_switch_sume"), "{e}");
    }
}
