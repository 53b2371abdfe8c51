//! The function registry's records and how a request becomes one: name and
//! run-time checks, compiling C source with clang (the Makefile's flags,
//! from `nfbpf_loader::compile`, in the sandbox of [`crate::sandbox`]), validating the object with the loader
//! for the agent's ABI (helpers, size, maps), and resolving map rules
//! (entries installed into the function's maps when it is swapped in)
//! against the object's maps.

use base64::Engine as _;
use nfbpf_loader::{Abi, Image, Options};
use serde::{Deserialize, Serialize};

/// Shortest and longest run time of an invocation, seconds (as in the
/// published system).
pub const RUN_TIME_MIN: u32 = 3;
pub const RUN_TIME_MAX: u32 = 300;
/// Run time when neither the invocation nor the function names one.
pub const RUN_TIME_DEFAULT: u32 = 5;
/// Largest instruction budget per packet a function may ask for: the
/// reference executors' (and the load-time check's) bound.
pub const BUDGET_MAX: u64 = nfbpf_vm::contract::DEFAULT_INSN_BUDGET;

/// An instruction budget per packet from a JSON value: an integer in
/// 1..=[`BUDGET_MAX`].
pub fn budget(v: &serde_json::Value) -> Result<u32, Reject> {
    match v.as_u64() {
        Some(n) if (1..=BUDGET_MAX).contains(&n) => Ok(n as u32),
        _ => Err(Reject::bad(format!(
            "budget {v}: the instruction budget per packet is an integer, 1..{BUDGET_MAX} (default: the device's, {} instructions, one full-size frame time)",
            nfbpf_vm::contract::DEVICE_INSN_BUDGET
        ))),
    }
}

/// Longest function name.
pub const NAME_MAX: usize = 64;

/// The headers every C function may include, the built-in ones of
/// `programs/include` (written into each build's `include/`).
pub const HEADERS: &[(&str, &str)] = nfbpf_loader::builtin::HEADERS;

/// One map entry installed when the function is swapped in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Map name, as in the object.
    pub map: String,
    /// Key bytes, little-endian at the map's key size.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    #[serde(with = "b64")]
    pub value: Vec<u8>,
}

/// `program` of a create/update body: a function or section name.
pub fn program(v: &serde_json::Value) -> Result<String, Reject> {
    match v.as_str() {
        Some(s) if !s.is_empty() && s.len() <= 256 => Ok(s.to_string()),
        _ => Err(Reject::bad(format!(
            "program {v}: expected the name of a function or section of the object (a non-empty string)"
        ))),
    }
}

/// `map_sizes` of a create/update body: `{"NAME": N, ...}`, N in
/// 1..=2^32-1.
pub fn map_sizes(v: &serde_json::Value) -> Result<std::collections::BTreeMap<String, u32>, Reject> {
    let Some(o) = v.as_object() else {
        return Err(Reject::bad(format!(
            "map_sizes {v}: expected an object {{\"MAP\": max_entries, ...}}"
        )));
    };
    o.iter()
        .map(
            |(k, n)| match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n > 0 => Ok((k.clone(), n)),
                _ => Err(Reject::bad(format!(
                    "map_sizes.{k} {n}: max_entries is an integer, 1..={}",
                    u32::MAX
                ))),
            },
        )
        .collect()
}

/// A map of a function, for the record (the loader's one description).
pub use nfbpf_loader::maps::MapInfo;

/// A registered function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub abi: String,
    pub default_run_time: u32,
    /// The C source, when created from source.
    pub source: Option<String>,
    /// The clang object the device runs (compiled from `source`, or given).
    #[serde(with = "b64")]
    pub object: Vec<u8>,
    pub rules: Vec<Rule>,
    /// Instruction slots of the loaded image (prologue included).
    pub slots: usize,
    pub maps: Vec<MapInfo>,
    /// 1 at creation, +1 per update.
    pub version: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// The client that created it (empty in records from before owners).
    #[serde(default)]
    pub owner: String,
    /// Instructions per packet the device allows it (its `BUDGET`); None:
    /// the device's default, one full-size frame time.
    #[serde(default)]
    pub budget: Option<u32>,
    /// The program of the object to load (a function or section name),
    /// for objects with several; None: the object's only program.
    #[serde(default)]
    pub program: Option<String>,
    /// `max_entries` by map name, for maps declared without it or to
    /// override it.
    #[serde(default)]
    pub map_sizes: std::collections::BTreeMap<String, u32>,
    /// A lambda (an invocation is a request its program answers,
    /// docs/lambdas.md); None: a network function (an invocation runs it
    /// for a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<Lambda>,
}

/// What the agent puts in a lambda's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lambda {
    /// The lambda ID of its requests' header.
    pub id: u16,
    /// The UDP destination port of its requests.
    pub port: u16,
}

/// A lambda's ID when the create request names none.
pub const LAMBDA_ID_DEFAULT: u16 = 1;

/// `kind`, `lambda_id` and `lambda_port` of a create or update body: the
/// lambda, or None for a network function.
pub fn lambda(o: &serde_json::Map<String, serde_json::Value>) -> Result<Option<Lambda>, Reject> {
    let num = |field: &str| -> Result<Option<u16>, Reject> {
        match o.get(field) {
            None => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(Reject::bad(format!("{field}: expected 1..65535, got {v}"))),
            },
        }
    };
    let (id, port) = (num("lambda_id")?, num("lambda_port")?);
    match o.get("kind").map(|k| (k, k.as_str())) {
        None | Some((_, Some("network"))) => {
            if id.is_some() || port.is_some() {
                return Err(Reject::bad(
                    "lambda_id and lambda_port are for \"kind\": \"lambda\" functions only",
                ));
            }
            Ok(None)
        }
        Some((_, Some("lambda"))) => Ok(Some(Lambda {
            id: id.unwrap_or(LAMBDA_ID_DEFAULT),
            port: port.unwrap_or(nfbpf_vm::contract::LAMBDA_DEFAULT_PORT),
        })),
        Some((k, _)) => Err(Reject::bad(format!(
            "kind {k}: expected \"network\" or \"lambda\""
        ))),
    }
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// Why a request cannot become a function: a message for the caller and
/// the HTTP status class (400 malformed, 422 does not compile/validate,
/// 500 the agent's own problem, 503 busy or unable to compile: retry or
/// send an object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub msg: String,
}

impl Reject {
    pub fn bad(msg: impl Into<String>) -> Reject {
        Reject {
            status: 400,
            msg: msg.into(),
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Reject {
        Reject {
            status: 422,
            msg: msg.into(),
        }
    }
}

/// A function name: 1..=64 of `A-Za-z0-9_.-`, not starting with `.`.
pub fn check_name(name: &str) -> Result<(), Reject> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Reject::bad(format!(
            "name `{}`: a function name is 1..{NAME_MAX} characters of A-Z a-z 0-9 _ - . (not starting with .)",
            name.escape_debug()
        )))
    }
}

/// Longest user header name, bytes.
pub const HEADER_NAME_MAX: usize = 128;

/// A user header's name: a plain file name (no directory, no `..`) of
/// `A-Za-z0-9_.+-`, 1..=[`HEADER_NAME_MAX`] bytes, ending in `.h`, not
/// starting with `.`. The reason it is not, otherwise.
pub fn header_name_problem(name: &str) -> Option<&'static str> {
    if name.contains('/') || name.contains('\\') {
        Some("a header name is a plain file name, without `/`")
    } else if name.contains("..") {
        Some("a header name may not contain `..`")
    } else if !name.ends_with(".h") || name.len() < 3 {
        Some("only `.h` headers can be sent, named NAME.h")
    } else if name.starts_with('.') {
        Some("a header name may not start with `.`")
    } else if name.len() > HEADER_NAME_MAX {
        Some("a header name is at most 128 bytes")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'))
    {
        Some("a header name is made of A-Z a-z 0-9 _ - . +")
    } else {
        None
    }
}

/// The `headers` of a create or update: a JSON object of header name ->
/// C text, each name checked by [`header_name_problem`], within the
/// `headers` and `header-bytes` limits. Anything else is a 400 naming the
/// header and the problem.
pub fn headers(
    v: &serde_json::Value,
    limits: &crate::limits::Limits,
) -> Result<Vec<(String, String)>, Reject> {
    let Some(o) = v.as_object() else {
        return Err(Reject::bad(format!(
            "headers: expected an object {{\"NAME.h\": TEXT, ...}}, got {}",
            kind_of(v)
        )));
    };
    if o.len() > limits.headers {
        return Err(Reject::bad(format!(
            "headers: {} headers, more than {} (the headers limit)",
            o.len(),
            limits.headers
        )));
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(o.len());
    for (name, text) in o {
        let shown = name.escape_debug();
        if let Some(why) = header_name_problem(name) {
            return Err(Reject::bad(format!("headers: `{shown}`: {why}")));
        }
        let Some(text) = text.as_str() else {
            return Err(Reject::bad(format!(
                "headers: `{shown}`: expected the header's C text (a string), got {}",
                kind_of(text)
            )));
        };
        total = total.saturating_add(text.len());
        if total > limits.header_bytes {
            return Err(Reject::bad(format!(
                "headers: `{shown}`: the headers take more than {} bytes (the header-bytes limit)",
                limits.header_bytes
            )));
        }
        out.push((name.clone(), text.to_string()));
    }
    Ok(out)
}

/// A JSON value's kind, for messages.
fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A run time in seconds from a JSON value: an integer in 3..=300.
pub fn run_time(field: &str, v: &serde_json::Value) -> Result<u32, Reject> {
    match v.as_u64() {
        Some(n) if (u64::from(RUN_TIME_MIN)..=u64::from(RUN_TIME_MAX)).contains(&n) => Ok(n as u32),
        _ => Err(Reject::bad(format!(
            "{field} {v}: the run time is an integer number of seconds, {RUN_TIME_MIN}..{RUN_TIME_MAX}"
        ))),
    }
}

pub fn abi_name(abi: Abi) -> &'static str {
    match abi {
        Abi::Sume => "sume",
        Abi::Xdp => "xdp",
        // Never parsed (the device runs no tc programs); named for messages.
        Abi::Tc => "tc",
    }
}

/// `sume` or `xdp`.
pub fn parse_abi(s: &str) -> Option<Abi> {
    match s {
        "sume" => Some(Abi::Sume),
        "xdp" => Some(Abi::Xdp),
        _ => None,
    }
}

/// Where the code comes from.
#[derive(Debug, Clone)]
pub enum Code {
    Source(String),
    Object(Vec<u8>),
}

/// How the registry compiles and validates.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub clang: std::path::PathBuf,
    /// The device's ABI: every function must use it.
    pub abi: Abi,
    /// clang in its sandbox, with its limits, queue and scratch directories.
    pub compiler: std::sync::Arc<crate::sandbox::Compiler>,
}

impl Toolchain {
    /// Loader options for this device.
    pub fn options(&self) -> Options {
        Options {
            abi: Some(self.abi),
            clang: self.clang.clone(),
            ..Options::default()
        }
    }

    /// C source -> object bytes, compiled in the sandbox
    /// ([`crate::sandbox`]). clang's message (with the file named `NAME.c`)
    /// comes back on failure (422), as does a limit the compile reached; a
    /// full compile queue or a missing sandbox is a 503.
    pub fn compile(&self, name: &str, src: &str) -> Result<Vec<u8>, Reject> {
        self.compile_with(name, src, &[])
    }

    /// [`Toolchain::compile`] with the user's headers (name, text; checked
    /// by [`headers`]) written beside the source.
    pub fn compile_with(
        &self,
        name: &str,
        src: &str,
        user: &[(String, String)],
    ) -> Result<Vec<u8>, Reject> {
        self.compiler
            .compile(name, src, self.options().cpu, HEADERS, user)
    }

    /// Object bytes -> the image the device will run, or the loader's
    /// error (unsupported helper, too large, bad map, not an object...).
    pub fn validate(&self, object: &[u8]) -> Result<Image, Reject> {
        self.validate_with(object, None, &std::collections::BTreeMap::new())
    }

    /// [`Toolchain::validate`] of the program named `program` (a function
    /// or section name), with `max_entries` from `map_sizes`.
    pub fn validate_with(
        &self,
        object: &[u8],
        program: Option<&str>,
        map_sizes: &std::collections::BTreeMap<String, u32>,
    ) -> Result<Image, Reject> {
        let opts = Options {
            program: program.map(String::from),
            map_sizes: map_sizes.clone(),
            ..self.options()
        };
        nfbpf_loader::load(object, &opts)
            .map_err(|e| Reject::invalid(format!("the loader rejects the object: {e}")))
    }

    /// [`Toolchain::validate_with`] with a function's choices.
    pub fn validate_function(&self, f: &Function) -> Result<Image, Reject> {
        self.validate_with(&f.object, f.program.as_deref(), &f.map_sizes)
    }
}

/// The maps of an image, for the record.
pub fn map_infos(image: &Image) -> Vec<MapInfo> {
    image.maps.iter().map(MapInfo::from).collect()
}

/// Map rules (`[{"map": NAME, "key": K, "value": V}, ...]`, docs/rules.md)
/// checked against the image's maps by the one rules parser,
/// [`nfbpf_loader::rules`]: a malformed rule is a 400, one that does not fit
/// the function's maps a 422. `v` is the JSON form (an array), or a string
/// holding a rules file (the text form, or the JSON form as text).
pub fn rules(v: &serde_json::Value, image: &Image) -> Result<Vec<Rule>, Reject> {
    let parsed = match v {
        serde_json::Value::String(text) => nfbpf_loader::rules::parse(text, &image.maps),
        _ => nfbpf_loader::rules::from_json(v, &image.maps),
    };
    let entries = parsed.map_err(|e| match e.problem {
        nfbpf_loader::rules::Problem::Syntax => Reject::bad(e.to_string()),
        nfbpf_loader::rules::Problem::Invalid => Reject::invalid(e.to_string()),
    })?;
    Ok(entries
        .into_iter()
        .map(|e| Rule {
            map: image.maps[e.map].name.clone(),
            key: e.key,
            value: e.value,
        })
        .collect())
}

/// Decode a base64 object.
pub fn object_b64(s: &str) -> Result<Vec<u8>, Reject> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| Reject::bad(format!("object: not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_lambda_settings() {
        let o = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(lambda(&o(serde_json::json!({}))), Ok(None));
        assert_eq!(lambda(&o(serde_json::json!({"kind": "network"}))), Ok(None));
        assert_eq!(
            lambda(&o(serde_json::json!({"kind": "lambda"}))),
            Ok(Some(Lambda { id: 1, port: 7380 }))
        );
        assert_eq!(
            lambda(&o(
                serde_json::json!({"kind": "lambda", "lambda_id": 3, "lambda_port": 9000})
            )),
            Ok(Some(Lambda { id: 3, port: 9000 }))
        );
        for (bad, says) in [
            (serde_json::json!({"kind": "lambada"}), "kind \"lambada\""),
            (serde_json::json!({"kind": 1}), "kind 1"),
            (
                serde_json::json!({"kind": "lambda", "lambda_id": 0}),
                "lambda_id",
            ),
            (
                serde_json::json!({"kind": "lambda", "lambda_port": 65536}),
                "lambda_port",
            ),
            (
                serde_json::json!({"kind": "lambda", "lambda_id": "2"}),
                "lambda_id",
            ),
            (
                serde_json::json!({"lambda_id": 2}),
                "for \"kind\": \"lambda\"",
            ),
        ] {
            let e = lambda(&o(bad.clone())).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.msg.contains(says), "{bad}: {}", e.msg);
        }
    }

    #[test]
    fn names_and_run_times() {
        assert!(check_name("wire_sume-2.v1").is_ok());
        for bad in ["", ".x", "a b", "a/b", &"x".repeat(65)] {
            assert_eq!(check_name(bad).unwrap_err().status, 400, "{bad}");
        }
        assert_eq!(run_time("run_time", &serde_json::json!(3)), Ok(3));
        assert_eq!(run_time("run_time", &serde_json::json!(300)), Ok(300));
        for bad in [
            serde_json::json!(2),
            serde_json::json!(301),
            serde_json::json!(4.5),
            serde_json::json!("5"),
            serde_json::json!(-3),
        ] {
            let e = run_time("run_time", &bad).unwrap_err();
            assert!(e.msg.contains("3..300"), "{}", e.msg);
        }
    }
}
