//! Who may use the agent: credentials read from a file, checked on every
//! request but `GET /healthz`.
//!
//! The file (`nfbpf agent serve --auth FILE`) holds one credential per line,
//! `NAME:SECRET`; blank lines and lines starting with `#` are ignored. A
//! client proves it holds a line either as HTTP basic auth (`Authorization:
//! Basic base64(NAME:SECRET)`, what the OpenFaaS gateway sends its provider)
//! or as a bearer token (`Authorization: Bearer SECRET`). NAME is then the
//! client's identity for the per-client limits. Secrets are compared in
//! constant time (the `subtle` crate), against every line, so the time of an
//! answer tells nothing about how much of a guess was right or which line
//! it was closest to.

use base64::Engine as _;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// Shortest secret accepted in the file (a guessable secret is refused at
/// start rather than trusted).
pub const SECRET_MIN: usize = 16;

/// The agent's credentials.
#[derive(Clone)]
pub struct Credentials {
    entries: Vec<(String, Vec<u8>)>,
    path: PathBuf,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("Credentials")
            .field("path", &self.path)
            .field(
                "names",
                &self.entries.iter().map(|e| &e.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error("credentials file {path}: {e}")]
    Io {
        path: PathBuf,
        #[source]
        e: std::io::Error,
    },
    #[error("credentials file {path}, line {line}: {msg}")]
    Line {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("credentials file {path}: no credential in it (lines are NAME:SECRET)")]
    Empty { path: PathBuf },
}

impl Credentials {
    /// Read `path`.
    pub fn from_file(path: &Path) -> Result<Credentials, AuthFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| AuthFileError::Io {
            path: path.to_path_buf(),
            e,
        })?;
        Credentials::parse(path, &text)
    }

    /// Parse the text of a credentials file (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Credentials, AuthFileError> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |msg: String| AuthFileError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                msg,
            };
            let Some((name, secret)) = line.split_once(':') else {
                return Err(bad("expected NAME:SECRET".into()));
            };
            let ok_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
            if !ok_name {
                return Err(bad(format!(
                    "name `{}`: 1..64 characters of A-Z a-z 0-9 _ - . @",
                    name.escape_debug()
                )));
            }
            if secret.len() < SECRET_MIN {
                return Err(bad(format!(
                    "the secret of `{name}` has {} characters; at least {SECRET_MIN} are required",
                    secret.len()
                )));
            }
            if entries.iter().any(|(n, _)| n == name) {
                return Err(bad(format!("name `{name}` appears twice")));
            }
            entries.push((name.to_string(), secret.as_bytes().to_vec()));
        }
        if entries.is_empty() {
            return Err(AuthFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Credentials {
            entries,
            path: path.to_path_buf(),
        })
    }

    /// The file the credentials came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The client named by an `Authorization` header value, if it holds a
    /// credential of the file.
    pub fn check(&self, authorization: Option<&[u8]>) -> Option<String> {
        let h = authorization?;
        let h = std::str::from_utf8(h).ok()?.trim();
        let (scheme, rest) = h.split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let text = String::from_utf8(raw).ok()?;
            let (name, secret) = text.split_once(':')?;
            self.find(|n, s| {
                // Both compared, whatever the first gives.
                n.as_bytes().ct_eq(name.as_bytes()) & s.ct_eq(secret.as_bytes())
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.find(|_, s| s.ct_eq(rest.as_bytes()))
        } else {
            None
        }
    }

    /// The name of the entry `matches` accepts, every entry compared.
    fn find(&self, matches: impl Fn(&str, &[u8]) -> subtle::Choice) -> Option<String> {
        let mut found = None;
        for (n, s) in &self.entries {
            if bool::from(matches(n, s)) {
                found = Some(n.clone());
            }
        }
        found
    }

    /// The first credential as an `Authorization` header value (basic), for
    /// clients that read the same file.
    pub fn basic_header(&self) -> Option<String> {
        self.entries.first().map(|(n, s)| {
            let pair = [n.as_bytes(), b":", s].concat();
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        })
    }
}

/// Is the credentials file readable by others than its owner? (The agent
/// warns: anyone who can read it can use the agent.)
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::parse(
            Path::new("c"),
            "# agent users\nadmin:0123456789abcdef0123\n\nci:fedcba9876543210fedc\n",
        )
        .expect("valid file")
    }

    fn basic(pair: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
        .into_bytes()
    }

    #[test]
    fn basic_and_bearer_name_the_client() {
        let c = creds();
        assert_eq!(
            c.check(Some(&basic("admin:0123456789abcdef0123"))),
            Some("admin".into())
        );
        assert_eq!(
            c.check(Some(b"Bearer fedcba9876543210fedc")),
            Some("ci".into())
        );
        assert_eq!(
            c.check(Some(b"bearer  fedcba9876543210fedc ")),
            Some("ci".into())
        );
        let h = c.basic_header().expect("an entry");
        assert_eq!(c.check(Some(h.as_bytes())), Some("admin".into()));
    }

    #[test]
    fn wrong_or_missing_credentials_are_refused() {
        let c = creds();
        for bad in [
            basic("admin:0123456789abcdef012"),
            basic("admin:fedcba9876543210fedc"),
            basic("ci:0123456789abcdef0123"),
            basic("admin"),
            basic(""),
            b"Basic !!!".to_vec(),
            b"Bearer ".to_vec(),
            b"Bearer 0123456789abcdef012".to_vec(),
            b"Digest x".to_vec(),
            b"0123456789abcdef0123".to_vec(),
            vec![0xff, 0xfe],
        ] {
            assert_eq!(
                c.check(Some(&bad)),
                None,
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
        assert_eq!(c.check(None), None);
    }

    #[test]
    fn bad_files_name_the_line() {
        for (text, msg) in [
            ("admin\n", "line 1: expected NAME:SECRET"),
            ("# c\nadmin:short\n", "line 2: the secret of `admin` has 5"),
            ("a b:0123456789abcdef0\n", "name `a b`"),
            (
                "a:0123456789abcdef0\na:0123456789abcdef1\n",
                "line 2: name `a` appears twice",
            ),
            ("# nothing\n\n", "no credential"),
        ] {
            let e = Credentials::parse(Path::new("creds"), text)
                .expect_err(text)
                .to_string();
            assert!(e.contains(msg), "{e} lacks {msg}");
            assert!(e.contains("creds"), "{e}");
        }
        let dbg = format!("{:?}", creds());
        assert!(!dbg.contains("0123456789"), "{dbg}");
    }
}
