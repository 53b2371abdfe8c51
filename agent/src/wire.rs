//! The API's request bodies as types (`docs/api.md`): what `nfbpf fn`
//! sends, and the one list of fields the agent accepts in them. The agent
//! reads a body field by field (each with its own message, see `api.rs`);
//! [`FunctionRequest::FIELDS`] and [`InvokeRequest::FIELDS`] are the names
//! it allows, and the tests below hold them to these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The body of `POST /functions` (create) and `PUT /functions/NAME`
/// (update). Fields left `None` are not sent (the agent's defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionRequest {
    pub name: String,
    /// C source text, compiled by the agent (or `object`, not both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A clang object, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// `sume` or `xdp`; the agent's device must run it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    /// Seconds an invocation runs when it does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_run_time: Option<u32>,
    /// Map rules (docs/rules.md): the JSON form as an array, the text form
    /// as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Value>,
    /// Instruction budget per packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<u32>,
    /// The program to load (function or section name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// max_entries by map name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_sizes: Option<BTreeMap<String, u32>>,
    /// Headers the source includes, by file name (`source` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// `network` (the default: an invocation runs for a time) or `lambda`
    /// (an invocation is a request answered by the program,
    /// docs/lambdas.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A lambda's ID in its requests (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_id: Option<u16>,
    /// A lambda's UDP port (default 7380).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_port: Option<u16>,
}

impl FunctionRequest {
    /// The fields of the body, as the agent names them in its messages.
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "source",
        "object",
        "abi",
        "default_run_time",
        "rules",
        "budget",
        "program",
        "map_sizes",
        "headers",
        "kind",
        "lambda_id",
        "lambda_port",
    ];
}

/// The body of `POST /functions/NAME/invoke` (may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// Seconds to run (else the function's `default_run_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<u32>,
}

impl InvokeRequest {
    /// The fields of the body.
    pub const FIELDS: &'static [&'static str] = &["run_time"];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn sorted(f: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn the_field_lists_are_the_types_fields() {
        let full = FunctionRequest {
            name: "f".into(),
            source: Some(String::new()),
            object: Some(String::new()),
            abi: Some("sume".into()),
            default_run_time: Some(3),
            rules: Some(Value::String(String::new())),
            budget: Some(1),
            program: Some("p".into()),
            map_sizes: Some(BTreeMap::new()),
            headers: Some(BTreeMap::new()),
            kind: Some("lambda".into()),
            lambda_id: Some(2),
            lambda_port: Some(7380),
        };
        let v = serde_json::to_value(&full).unwrap();
        assert_eq!(keys(&v), sorted(FunctionRequest::FIELDS));
        assert_eq!(serde_json::from_value::<FunctionRequest>(v).unwrap(), full);
        let inv = serde_json::to_value(InvokeRequest { run_time: Some(5) }).unwrap();
        assert_eq!(keys(&inv), sorted(InvokeRequest::FIELDS));
    }

    #[test]
    fn unset_fields_are_not_sent_and_unknown_ones_refused() {
        let v = serde_json::to_value(FunctionRequest {
            name: "f".into(),
            ..FunctionRequest::default()
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({ "name": "f" }));
        assert_eq!(
            serde_json::to_value(InvokeRequest::default()).unwrap(),
            serde_json::json!({})
        );
        assert!(serde_json::from_str::<InvokeRequest>(r#"{"runtime": 5}"#).is_err());
    }
}
