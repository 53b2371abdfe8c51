//! Map rules: entries to pre-load into a program's maps, checked against
//! its map table. The one parser of the project: `nfbpf run -r`, `nfbpf
//! cosim -r`, `nfbpf map load|lookup|update|delete` and the agent's
//! `"rules"` field all go through it. docs/rules.md describes the format.
//!
//! Two spellings of the same entries:
//!
//! - **text**, one entry per line, `#` starts a comment:
//!
//!   ```text
//!   routes    10.1.0.0/16  hex:0200000000160200000050010100000000
//!   tx_ports  1            3
//!   mac_table 0x0000020000000a 0xffffffffffffffff 0x2   # KEY MASK VALUE
//!   ```
//!
//!   `MAP KEY VALUE`, or `MAP KEY MASK VALUE` (the eBPFlow loader's line:
//!   64-bit integers; for an LPM_TRIE map the mask's leading one bits give
//!   the prefix length of a 32-bit key, for other maps the key is exact;
//!   for an LPM_TRIE of eBPFlow's own programs, whose key is the address
//!   as the program loads it, the mask's low N bits set give the prefix
//!   length N, as eBPFlow's rules files write it).
//! - **JSON**, an array of objects (a text whose first character other than
//!   white space is `[`):
//!
//!   ```json
//!   [{"map": "routes", "key": "10.1.0.0/16", "value": "hex:02000000..."},
//!    {"map": "tx_ports", "key": 1, "value": 3}]
//!   ```
//!
//!   A key or value is a JSON unsigned integer or a string holding any
//!   token of the text form.
//!
//! Tokens: an integer (decimal or `0x` hex) is stored little-endian at the
//! map's key or value size; `hex:` bytes must be exactly that size; an
//! LPM_TRIE key may be an IPv4 prefix `a.b.c.d/len` (Linux's layout: `u32`
//! prefix length, then the address in network order). A PROG_ARRAY's
//! value may be `prog:NAME` (a program of the object, by its function's
//! name), an ARRAY_OF_MAPS or HASH_OF_MAPS value `map:NAME` (a map
//! of the program that matches the inner map's definition).
//!
//! ```
//! use nfbpf_loader::maps::{ImageMap, MapDef, MapType};
//! use nfbpf_loader::rules;
//! // A program's map table (`Image::maps`): one HASH map, key 2 bytes, value 4.
//! let maps = [ImageMap::declared(MapDef::new(MapType::Hash, 2, 4, 16).named("ports"))];
//! let text = rules::parse("ports 53 0x1  # DNS\n", &maps).unwrap();
//! let json = rules::parse(r#"[{"map": "ports", "key": 53, "value": "0x1"}]"#, &maps).unwrap();
//! assert_eq!(text, json);
//! assert_eq!(text[0].key, vec![53, 0]);
//! assert_eq!(text[0].value, vec![1, 0, 0, 0]);
//! let e = rules::parse("ports 70000 1", &maps).unwrap_err();
//! assert_eq!(e.to_string(), "rules line 1: `ports 70000 1`: key `70000` does not fit in 2 bytes");
//! ```

use crate::maps::{ImageMap, MapType};

/// One entry, for the map at index `map` of the image's map table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub map: usize,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// What is wrong with a rules text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not the format: a line of the wrong shape, JSON that is not an array
    /// of `{"map", "key", "value"}` objects, a token that is not a number.
    Syntax,
    /// Well formed, but not for this program: a map it does not have, a
    /// key or value of the wrong size, more entries than the map holds.
    Invalid,
}

/// Why a rules text was refused: where (`rules line 3: ...` or `rules[2]`) and
/// what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {msg}")]
pub struct RulesError {
    pub at: String,
    pub msg: String,
    pub problem: Problem,
}

type Res<T> = Result<T, (Problem, String)>;

fn syntax<T>(msg: String) -> Res<T> {
    Err((Problem::Syntax, msg))
}

fn invalid<T>(msg: String) -> Res<T> {
    Err((Problem::Invalid, msg))
}

fn int(tok: &str) -> Res<u128> {
    let r = match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(h) => u128::from_str_radix(h, 16),
        None => tok.parse::<u128>(),
    };
    r.or_else(|_| syntax(format!("`{tok}` is not an integer")))
}

fn hex_bytes(h: &str, tok: &str, what: &str) -> Res<Vec<u8>> {
    let digits: String = h.split_whitespace().collect();
    if !digits.len().is_multiple_of(2) {
        return syntax(format!(
            "{what} `{tok}` has an odd number of hex digits ({})",
            digits.len()
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or((
                    Problem::Syntax,
                    format!("{what} `{tok}` is not hex bytes (at digit {i})"),
                ))
        })
        .collect()
}

/// Bytes of `tok` for a field of `size` bytes.
fn field(tok: &str, size: u32, what: &str) -> Res<Vec<u8>> {
    let size = size as usize;
    if let Some(h) = tok.strip_prefix("hex:") {
        let b = hex_bytes(h, tok, what)?;
        if b.len() != size {
            return invalid(format!(
                "{what} `{tok}` has {} bytes, the map's {what} is {size}",
                b.len()
            ));
        }
        return Ok(b);
    }
    let v = int(tok).map_err(|(p, m)| (p, format!("{what}: {m}")))?;
    if size < 16 && v >> (8 * size) != 0 {
        return invalid(format!("{what} `{tok}` does not fit in {size} bytes"));
    }
    let mut out = v.to_le_bytes()[..size.min(16)].to_vec();
    out.resize(size, 0);
    Ok(out)
}

/// `a.b.c.d/len` as an LPM key of `key_size` bytes.
fn prefix(tok: &str, key_size: u32) -> Res<Vec<u8>> {
    let Some((addr, len)) = tok.split_once('/') else {
        return syntax(format!("`{tok}` is not a prefix a.b.c.d/len"));
    };
    let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
        return syntax(format!("`{addr}` is not an IPv4 address"));
    };
    let Ok(len) = len.parse::<u32>() else {
        return syntax(format!("prefix length `{len}` is not a number"));
    };
    if len > 32 || key_size != 8 {
        return invalid(format!(
            "prefix `{tok}`: length must be 0..=32 and the key 4 + 4 bytes (this key is {key_size})"
        ));
    }
    let mut k = len.to_le_bytes().to_vec();
    k.extend_from_slice(&ip.octets());
    Ok(k)
}

/// The map named `name`: its index and definition. Maps holding global
/// data are the program's own and take no rules.
fn find<'a>(maps: &'a [ImageMap], name: &str) -> Res<(usize, &'a ImageMap)> {
    let Some((i, m)) = maps.iter().enumerate().find(|(_, m)| m.name == name) else {
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        return invalid(format!(
            "no map `{name}` (the program has: {})",
            if names.is_empty() {
                "no maps".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    if m.initial.is_some() {
        return invalid(format!(
            "map `{name}` holds the program's global data; rules fill its other maps"
        ));
    }
    Ok((i, m))
}

/// A key token: an LPM prefix where the map takes one, else a field.
fn key(tok: &str, m: &ImageMap) -> Res<Vec<u8>> {
    if m.kind == MapType::LpmTrie && tok.contains('/') {
        prefix(tok, m.key_size)
    } else {
        field(tok, m.key_size, "key")
    }
}

/// A value token: `prog:NAME` in a PROG_ARRAY (the id of a program of
/// the image's table, [`ImageMap::programs`]), `map:NAME` in an
/// ARRAY_OF_MAPS or HASH_OF_MAPS (the id, index + 1, of another map of the
/// image that matches the inner map's definition), else a field.
fn value(tok: &str, m: &ImageMap, maps: &[ImageMap]) -> Res<Vec<u8>> {
    if let Some(name) = tok.strip_prefix("prog:") {
        if m.kind != MapType::ProgArray {
            return invalid(format!(
                "`{tok}`: only a PROG_ARRAY holds programs, `{}` is a {}",
                m.name,
                m.kind.name()
            ));
        }
        let Some(k) = m.programs.iter().position(|p| p == name) else {
            return invalid(format!(
                "`{tok}`: no program `{name}` for PROG_ARRAY `{}` (its programs: {})",
                m.name,
                m.programs.join(", ")
            ));
        };
        return Ok((k as u32 + 1).to_le_bytes().to_vec());
    }
    if let Some(name) = tok.strip_prefix("map:") {
        let Some(inner) = m.inner.as_ref().filter(|_| m.kind.is_map_in_map()) else {
            return invalid(format!(
                "`{tok}`: only an ARRAY_OF_MAPS or a HASH_OF_MAPS holds maps, `{}` is a {}",
                m.name,
                m.kind.name()
            ));
        };
        let (i, t) = find(maps, name)?;
        if t.kind != inner.kind
            || t.key_size != inner.key_size
            || t.value_size != inner.value_size
            || t.max_entries != inner.max_entries
        {
            return invalid(format!(
                "`{tok}`: map `{name}` ({} key {} value {} max_entries {}) does not match the \
                 inner map of `{}` ({} key {} value {} max_entries {})",
                t.kind.name(),
                t.key_size,
                t.value_size,
                t.max_entries,
                m.name,
                inner.kind.name(),
                inner.key_size,
                inner.value_size,
                inner.max_entries
            ));
        }
        return Ok((i as u32 + 1).to_le_bytes().to_vec());
    }
    field(tok, m.value_size, "value")
}

/// One text line's fields.
fn line(toks: &[&str], maps: &[ImageMap]) -> Res<Entry> {
    let (map, m) = find(maps, toks[0])?;
    match toks.len() {
        3 => Ok(Entry {
            map,
            key: key(toks[1], m)?,
            value: value(toks[2], m, maps)?,
        }),
        4 => {
            let (k, mask, v) = (int(toks[1])?, int(toks[2])?, int(toks[3])?);
            let key = if m.data_key {
                data_key_prefix(k, mask, m)?
            } else if m.kind == MapType::LpmTrie {
                let len = (mask as u32).leading_ones();
                let mut key = len.to_le_bytes().to_vec();
                key.extend_from_slice(&((k as u32) & (mask as u32)).to_be_bytes());
                key.resize(m.key_size as usize, 0);
                key
            } else {
                field(&format!("{k}"), m.key_size, "key")?
            };
            Ok(Entry {
                map,
                key,
                value: field(&format!("{v}"), m.value_size, "value")?,
            })
        }
        n => syntax(format!(
            "expected `MAP KEY VALUE` or `MAP KEY MASK VALUE`, found {n} fields"
        )),
    }
}

/// The Linux-layout key of an eBPFlow `KEY MASK VALUE` line for an LPM_TRIE
/// map in eBPFlow's form ([`MapDef::data_key`]): KEY holds the data as the
/// program loads it (`*(u64 *)keyptr`: the first byte lowest), MASK its
/// low N bits set, N the prefix length (eBPFlow's `lpmf.rules` write /25
/// as `0x01FFFFFF`).
fn data_key_prefix(k: u128, mask: u128, m: &ImageMap) -> Res<Vec<u8>> {
    let data = m.lpm_data_size() as usize;
    let len = mask.trailing_ones();
    if mask.checked_add(1).is_some_and(|n| n & mask != 0) || len > m.max_prefixlen() {
        return syntax(format!(
            "mask {mask:#x} of LPM_TRIE map {:?}: eBPFlow's form takes the prefix as the low \
             N bits set (N at most {}), e.g. 0xffffff for a /24",
            m.name,
            m.max_prefixlen()
        ));
    }
    let mut key = len.to_le_bytes().to_vec();
    let data_bytes = k.to_le_bytes();
    key.extend_from_slice(&data_bytes[..data.min(data_bytes.len())]);
    key.resize(m.key_size as usize, 0);
    Ok(key)
}

/// Parse the text form.
pub fn parse_text(text: &str, maps: &[ImageMap]) -> Result<Vec<Entry>, RulesError> {
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let t = l.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        let e = line(&toks, maps).map_err(|(problem, msg)| RulesError {
            at: format!("rules line {}: `{t}`", n + 1),
            msg,
            problem,
        })?;
        out.push(e);
    }
    check_counts(&out, maps)?;
    Ok(out)
}

/// A JSON key or value: an unsigned integer or a string token.
fn json_token(v: &serde_json::Value, what: &str) -> Res<String> {
    match v {
        serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        serde_json::Value::String(s) => Ok(s.clone()),
        other => syntax(format!(
            "{what} {other}: expected an unsigned integer or a string (\"hex:..\", \"0x..\", \"a.b.c.d/len\")"
        )),
    }
}

/// Parse the JSON form, already parsed into a value.
pub fn from_json(v: &serde_json::Value, maps: &[ImageMap]) -> Result<Vec<Entry>, RulesError> {
    let err = |at: String, (problem, msg): (Problem, String)| RulesError { at, msg, problem };
    let Some(list) = v.as_array() else {
        return Err(err(
            "rules".into(),
            (
                Problem::Syntax,
                "expected an array of {\"map\": NAME, \"key\": K, \"value\": V}".into(),
            ),
        ));
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let at = format!("rules[{i}]");
        let one = || -> Res<Entry> {
            let Some(obj) = r.as_object() else {
                return syntax("expected an object {\"map\", \"key\", \"value\"}".into());
            };
            if let Some(k) = obj
                .keys()
                .find(|k| !["map", "key", "value"].contains(&k.as_str()))
            {
                return syntax(format!("unknown field `{k}`"));
            }
            let Some(name) = obj.get("map").and_then(|m| m.as_str()) else {
                return syntax("`map` (a map name) is missing".into());
            };
            let get = |f: &str| {
                obj.get(f)
                    .ok_or((Problem::Syntax, format!("`{f}` is missing")))
            };
            let (k, v) = (get("key")?, get("value")?);
            let (map, m) = find(maps, name)?;
            Ok(Entry {
                map,
                key: key(&json_token(k, "key")?, m)?,
                value: value(&json_token(v, "value")?, m, maps)?,
            })
        };
        out.push(one().map_err(|e| err(at, e))?);
    }
    check_counts(&out, maps)?;
    Ok(out)
}

/// Parse a rules text: JSON when its first character other than white
/// space is `[`, else the text form.
pub fn parse(text: &str, maps: &[ImageMap]) -> Result<Vec<Entry>, RulesError> {
    if text.trim_start().starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| RulesError {
            at: format!("rules line {}, column {}", e.line(), e.column()),
            msg: format!("not JSON: {e}"),
            problem: Problem::Syntax,
        })?;
        return from_json(&v, maps);
    }
    parse_text(text, maps)
}

/// No map gets more entries than it holds.
fn check_counts(entries: &[Entry], maps: &[ImageMap]) -> Result<(), RulesError> {
    for (i, m) in maps.iter().enumerate() {
        let n = entries.iter().filter(|e| e.map == i).count();
        if n > m.max_entries as usize {
            return Err(RulesError {
                at: "rules".into(),
                msg: format!(
                    "{n} entries for map `{}`, which holds {}",
                    m.name, m.max_entries
                ),
                problem: Problem::Invalid,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::MapDef;

    /// HASH `ports` (key 2, value 4) and LPM_TRIE `routes` (key 8, value 4),
    /// 16 entries each.
    fn example() -> Vec<ImageMap> {
        let map = |name: &str, kind, key_size, value_size| {
            ImageMap::declared(MapDef::new(kind, key_size, value_size, 16).named(name))
        };
        vec![
            map("ports", MapType::Hash, 2, 4),
            map("routes", MapType::LpmTrie, 8, 4),
        ]
    }

    #[test]
    fn text_and_json_agree() {
        let image = example();
        let text = "routes 10.1.0.0/16 7\nports 0x35 hex:01000000\nroutes 167837696 0xffff0000 7\n";
        let json = r#"[{"map":"routes","key":"10.1.0.0/16","value":7},
                       {"map":"ports","key":"0x35","value":"hex:01000000"},
                       {"map":"routes","key":"10.1.0.0/16","value":"7"}]"#;
        let a = parse(text, &image).unwrap();
        assert_eq!(a, parse(json, &image).unwrap());
        assert_eq!(a[0].key, vec![16, 0, 0, 0, 10, 1, 0, 0]);
        assert_eq!(a[0], a[2], "the KEY MASK VALUE line is the same prefix");
    }

    #[test]
    fn errors_name_where_and_what() {
        let image = example();
        let e = parse("\n\nnope 1 2\n", &image).unwrap_err();
        assert_eq!(e.at, "rules line 3: `nope 1 2`");
        assert_eq!(e.problem, Problem::Invalid);
        assert!(
            e.msg
                .contains("no map `nope` (the program has: ports, routes)")
        );
        let e = parse("ports 1\n", &image).unwrap_err();
        assert_eq!(e.problem, Problem::Syntax);
        let e = parse(r#"[{"map":"ports","key":1}]"#, &image).unwrap_err();
        assert_eq!(e.to_string(), "rules[0]: `value` is missing");
        let e = parse(r#"[{"map":"ports","key":-1,"value":1}]"#, &image).unwrap_err();
        assert!(e.msg.starts_with("key -1: expected an unsigned integer"));
        let e = parse("[{\"map\": ", &image).unwrap_err();
        assert!(e.msg.starts_with("not JSON"), "{e}");
        let e = parse("routes 10.0.0.0/40 1", &image).unwrap_err();
        assert!(e.msg.contains("length must be 0..=32"), "{e}");
        let many: String = (0..17).map(|i| format!("ports {i} 1\n")).collect();
        let e = parse(&many, &image).unwrap_err();
        assert_eq!(e.msg, "17 entries for map `ports`, which holds 16");
    }
}
