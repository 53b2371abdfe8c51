//! `nfbpf fn create|get|list|update|delete|invoke|queue|cancel|status`: the
//! client of the agent's HTTP API (`docs/api.md`). The agent is `--agent
//! URL`, else `$NFBPF_AGENT`, else `http://127.0.0.1:8080`. An error answer
//! prints the agent's message and exits with 3 for a 404 (not found), else
//! 1; an agent that cannot be reached exits with 4 (docs/cli.md).

use anyhow::{Context, anyhow};
use base64::Engine as _;
use nfbpf_agent::wire::{FunctionRequest, InvokeRequest};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub const DEFAULT_AGENT: &str = "http://127.0.0.1:8080";

#[derive(clap::Args)]
pub struct Args {
    /// The agent's URL (default: $NFBPF_AGENT, else http://127.0.0.1:8080).
    #[arg(long, global = true)]
    agent: Option<String>,
    /// Print the agent's JSON answer as it is.
    #[arg(long, global = true)]
    json: bool,
    /// Credentials file (lines `NAME:SECRET`, the agent's `--auth` file or
    /// one line of it); the first line is sent as HTTP basic auth. Default:
    /// $NFBPF_AGENT_AUTH.
    #[arg(long, global = true, value_name = "FILE")]
    auth: Option<PathBuf>,
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Args)]
struct FunctionArgs {
    /// Function name.
    name: String,
    /// C source (`.c`, compiled by the agent) or clang object (sent base64).
    file: PathBuf,
    /// ABI (`sume` or `xdp`; default: the agent's device's).
    #[arg(long)]
    abi: Option<String>,
    /// Default run time of an invocation, seconds (3..300).
    #[arg(long)]
    run_time: Option<u32>,
    /// Map rules, a rules file in either form of docs/rules.md: text
    /// (`MAP KEY VALUE` lines) or JSON (an array of {"map": NAME, "key": K,
    /// "value": V}); the agent checks them against the function's maps.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Where to look for the headers a C source includes with
    /// `#include "NAME.h"` (after the source's own directory); repeatable.
    /// The headers found are sent with the source (docs/api.md, `headers`).
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Instruction budget per packet on the device (default: the device's,
    /// one full-size frame time); a packet over it is aborted and counted
    /// as a fault.
    #[arg(long)]
    budget: Option<u32>,
    /// The program to load when the object has several: a function name or
    /// a section name (`xdp/drop`).
    #[arg(long, value_name = "NAME")]
    program: Option<String>,
    /// max_entries of map NAME, for maps declared without it (or with 0),
    /// or to override it. Repeatable.
    #[arg(long = "map-size", value_name = "NAME=N", value_parser = super::object::parse_map_size)]
    map_size: Vec<(String, u32)>,
}

#[derive(clap::Subcommand)]
enum What {
    /// Register a function (compiled and validated by the agent).
    Create(FunctionArgs),
    /// Replace a function's code and settings.
    Update(FunctionArgs),
    /// Show a function (with its source).
    Get { name: String },
    /// List the functions.
    List,
    /// Remove a function (not while invoked).
    Delete { name: String },
    /// Queue an invocation.
    Invoke {
        name: String,
        /// Run time, seconds (3..300; default: the function's).
        #[arg(long)]
        run_time: Option<u32>,
    },
    /// Show the queue.
    Queue,
    /// Cancel a queued or running invocation.
    Cancel { id: u64 },
    /// Running function, remaining time, queue, timeline, device counters.
    Status,
}

/// An HTTP client of the agent.
pub struct Client {
    base: String,
    http: ureq::Agent,
    /// The `Authorization` header sent with every request.
    authorization: Option<String>,
}

/// The credentials file a client uses: `--auth`, else `$NFBPF_AGENT_AUTH`.
pub fn auth_file(arg: Option<&Path>) -> Option<PathBuf> {
    arg.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("NFBPF_AGENT_AUTH").map(PathBuf::from))
}

/// An answer: status code and JSON body.
pub type Answer = (u16, Value);

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
            authorization: None,
        }
    }

    /// Send `NAME:SECRET` as HTTP basic auth with every request.
    pub fn with_auth_pair(mut self, pair: Option<&str>) -> Client {
        use base64::Engine as _;
        self.authorization = pair.map(|p| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(p)
            )
        });
        self
    }

    /// Send the first credential of `file` with every request.
    pub fn with_auth(mut self, file: Option<&Path>) -> anyhow::Result<Client> {
        if let Some(f) = file {
            let c = nfbpf_agent::auth::Credentials::from_file(f)?;
            self.authorization = c.basic_header();
        }
        Ok(self)
    }

    /// One request; transport failures are errors, HTTP errors answers.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .set("Content-Type", "application/json");
        if let Some(a) = &self.authorization {
            req = req.set("Authorization", a);
        }
        let r = match body {
            Some(b) => req.send_string(&b.to_string()),
            None => req.call(),
        };
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let refused = std::error::Error::source(&t)
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
                    || t.to_string().contains("Connection refused");
                let hint = if refused {
                    format!(
                        " (no agent listens there: start one with `nfbpf agent serve --listen {}`, or point --agent / $NFBPF_AGENT at a running one)",
                        listen_addr(&self.base)
                    )
                } else {
                    String::new()
                };
                return Err(super::exit::err(
                    super::exit::Code::Io,
                    format!("agent {}: {t}{hint}", self.base),
                ));
            }
        };
        let status = resp.status();
        let text = resp
            .into_string()
            .with_context(|| format!("agent {}: reading the answer", self.base))?;
        let v = serde_json::from_str(&text)
            .map_err(|e| anyhow!("agent {}: answer is not JSON ({e}): {text}", self.base))?;
        Ok((status, v))
    }
}

/// `HOST:PORT` of an agent URL, for `--listen`.
fn listen_addr(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

impl Client {
    /// A paginated listing (`GET path`), every page, its `key` arrays
    /// joined into the first answer.
    pub fn call_all(&self, path: &str, key: &str) -> anyhow::Result<Answer> {
        let (status, mut first) = self.call("GET", path, None)?;
        if status >= 400 {
            return Ok((status, first));
        }
        let mut next = first["next"].clone();
        while let Some(after) = next.as_str() {
            let (s, page) = self.call("GET", &format!("{path}?after={after}&limit=1000"), None)?;
            if s >= 400 {
                return Ok((s, page));
            }
            if let (Some(all), Some(more)) = (first[key].as_array_mut(), page[key].as_array()) {
                all.extend(more.iter().cloned());
            }
            next = page["next"].clone();
        }
        first["next"] = Value::Null;
        Ok((status, first))
    }
}

fn function_body(a: &FunctionArgs) -> anyhow::Result<FunctionRequest> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("{}", a.file.display()))?;
    let mut b = FunctionRequest {
        name: a.name.clone(),
        abi: a.abi.clone(),
        default_run_time: a.run_time,
        rules: a.rules.as_deref().map(read_rules).transpose()?,
        budget: a.budget,
        program: a.program.clone(),
        map_sizes: (!a.map_size.is_empty()).then(|| a.map_size.iter().cloned().collect()),
        ..FunctionRequest::default()
    };
    if a.file.extension().is_some_and(|e| e == "c") {
        let src = String::from_utf8(bytes)
            .map_err(|_| anyhow!("{}: not UTF-8 text", a.file.display()))?;
        let headers = collect_headers(&a.file, &src, &a.include)?;
        b.headers = (!headers.is_empty()).then_some(headers);
        b.source = Some(src);
    } else {
        if let Some(d) = a.include.first() {
            anyhow::bail!(
                "-I {}: include directories apply to a C source (`.c`), and {} is an object",
                d.display(),
                a.file.display()
            );
        }
        b.object = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    Ok(b)
}

/// A rules file as the agent takes it: the JSON form as a JSON array,
/// the text form as a string (the agent parses both with the one rules
/// parser, against the function's maps).
fn read_rules(p: &Path) -> anyhow::Result<Value> {
    let t = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
    if t.trim_start().starts_with('[') {
        return serde_json::from_str(&t).map_err(|e| {
            anyhow!(
                "{} line {}, column {}: not JSON: {e}",
                p.display(),
                e.line(),
                e.column()
            )
        });
    }
    Ok(Value::String(t))
}

/// The names of the `#include "NAME"` lines of a C text (the quoted form
/// only: `<...>` names the agent's own or the system's headers).
fn quoted_includes(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('#')?.trim_start();
            let rest = rest.strip_prefix("include")?.trim_start();
            let rest = rest.strip_prefix('"')?;
            rest.split_once('"').map(|(name, _)| name)
        })
        .collect()
}

/// The user's headers a C source includes, to send with it: each
/// `#include "NAME"` of the source, and of every header sent, looked up
/// beside the including file, then in the `-I` directories in order. A
/// name found nowhere is left to the agent (its built-in `sume.h` and
/// `nf_common.h`, or clang's error). What is found must be a plain
/// `NAME.h` file (the agent writes the headers beside the source), and all
/// of them fit the agent's default `headers` and `header-bytes` limits.
fn collect_headers(
    src_path: &Path,
    src: &str,
    dirs: &[PathBuf],
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    for d in dirs {
        if !d.is_dir() {
            anyhow::bail!("-I {}: not a directory", d.display());
        }
    }
    let limits = nfbpf_agent::limits::Limits::default();
    let here = |p: &Path| {
        p.parent()
            .map_or_else(|| PathBuf::from("."), |d| d.to_path_buf())
    };
    let mut found: std::collections::BTreeMap<String, (PathBuf, String)> = Default::default();
    let mut total = 0usize;
    let mut todo = vec![(src_path.to_path_buf(), src.to_string())];
    while let Some((from, text)) = todo.pop() {
        let beside = here(&from);
        for name in quoted_includes(&text) {
            let Some(path) = std::iter::once(&beside)
                .chain(dirs)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
            else {
                continue;
            };
            let at = || {
                format!(
                    "{}: #include \"{name}\" ({})",
                    from.display(),
                    path.display()
                )
            };
            if let Some(why) = nfbpf_agent::registry::header_name_problem(name) {
                anyhow::bail!("{}: cannot be sent to the agent: {why}", at());
            }
            let canon = path.canonicalize().with_context(at)?;
            if let Some((seen, _)) = found.get(name) {
                if *seen != canon {
                    anyhow::bail!(
                        "{}: another `{name}` ({}) is sent already; the agent puts all headers in one directory",
                        at(),
                        seen.display()
                    );
                }
                continue;
            }
            let bytes = std::fs::read(&path).with_context(at)?;
            let text = String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", at()))?;
            total += text.len();
            if found.len() + 1 > limits.headers {
                anyhow::bail!(
                    "{}: more than {} headers to send (the agent's headers limit)",
                    at(),
                    limits.headers
                );
            }
            if total > limits.header_bytes {
                anyhow::bail!(
                    "{}: the headers to send take more than {} bytes (the agent's header-bytes limit)",
                    at(),
                    limits.header_bytes
                );
            }
            found.insert(name.to_string(), (canon, text.clone()));
            todo.push((path, text));
        }
    }
    Ok(found.into_iter().map(|(k, (_, t))| (k, t)).collect())
}

/// A JSON value as a table cell: strings without quotes, `-` for null.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn print_status(s: &Value) {
    println!(
        "device: {}, clock {} (time scale {}), now {:.3} s{}",
        s["target"].as_str().unwrap_or("?"),
        s["clock"].as_str().unwrap_or("?"),
        s["time_scale"],
        f64_of(&s["now_s"]),
        s["cycle"]
            .as_u64()
            .map(|c| format!(", cycle {c}"))
            .unwrap_or_default()
    );
    match s["running"].as_object() {
        Some(r) => println!(
            "running: #{} {} (v{}), {:.2} of {} s, {:.2} s remaining",
            r["id"],
            r["function"].as_str().unwrap_or("?"),
            r["version"],
            f64_of(&r["elapsed_s"]),
            r["run_time"],
            f64_of(&r["remaining_s"])
        ),
        None => println!(
            "running: nothing{}",
            s["loaded"]
                .as_str()
                .map(|l| format!(" ({l} stays loaded)"))
                .unwrap_or_default()
        ),
    }
    if let Some(st) = s["next_staged"].as_object() {
        println!(
            "next: #{} {} written into the idle bank at {:.3} s",
            st["id"],
            st["function"].as_str().unwrap_or("?"),
            f64_of(&st["staged_at_s"])
        );
    }
    let q = &s["queue"];
    println!("queue: {} waiting", q["length"]);
    for i in q["head"].as_array().into_iter().flatten() {
        println!(
            "  #{} {} {} s",
            i["id"],
            i["function"].as_str().unwrap_or("?"),
            i["run_time"]
        );
    }
    println!("timeline:");
    let cols = [
        "id",
        "function",
        "outcome",
        "start_s",
        "end_s",
        "late_s",
        "ahead_s",
        "pkt_in",
        "pkt_out",
        "dropped",
        "rx_dropped",
    ];
    let mut t = super::table::new(&cols, &[&cols[..1], &cols[3..]].concat());
    for r in s["timeline"].as_array().into_iter().flatten() {
        let c = &r["counters"];
        t.add_row(vec![
            text(&r["id"]),
            text(&r["function"]),
            text(&r["outcome"]),
            format!("{:.3}", f64_of(&r["start_s"])),
            format!("{:.3}", f64_of(&r["end_s"])),
            format!("{:.3}", f64_of(&r["end_s"]) - f64_of(&r["deadline_s"])),
            r["staged_ahead_s"]
                .as_f64()
                .map_or("-".into(), |a| format!("{a:.3}")),
            text(&c["pkt_in"]),
            text(&c["pkt_out"]),
            text(&c["dropped"]),
            text(&c["rx_dropped"]),
        ]);
    }
    print!("{}", super::table::render(&t, "  "));
    if let Some(e) = s["last_error"].as_str() {
        println!("last error: {e}");
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let base = a
        .agent
        .clone()
        .or_else(|| std::env::var("NFBPF_AGENT").ok())
        .unwrap_or_else(|| DEFAULT_AGENT.to_string());
    let c = Client::new(&base).with_auth(auth_file(a.auth.as_deref()).as_deref())?;
    let (method, path, body) = match &a.what {
        What::Create(f) => (
            "POST",
            "/functions".to_string(),
            Some(serde_json::to_value(function_body(f)?)?),
        ),
        What::Update(f) => (
            "PUT",
            format!("/functions/{}", f.name),
            Some(serde_json::to_value(function_body(f)?)?),
        ),
        What::Get { name } => ("GET", format!("/functions/{name}"), None),
        What::List => ("GET", "/functions".into(), None),
        What::Delete { name } => ("DELETE", format!("/functions/{name}"), None),
        What::Invoke { name, run_time } => (
            "POST",
            format!("/functions/{name}/invoke"),
            Some(serde_json::to_value(InvokeRequest {
                run_time: *run_time,
            })?),
        ),
        What::Queue => ("GET", "/queue".into(), None),
        What::Cancel { id } => ("DELETE", format!("/queue/{id}"), None),
        What::Status => ("GET", "/status".into(), None),
    };
    let (status, v) = match &a.what {
        What::List => c.call_all(&path, "functions")?,
        What::Queue => c.call_all(&path, "queue")?,
        _ => c.call(method, &path, body.as_ref())?,
    };
    if status >= 400 {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        let code = if status == 404 {
            super::exit::Code::NotFound
        } else {
            super::exit::Code::No
        };
        return Err(super::exit::err(
            code,
            format!(
                "agent answered {status}: {}",
                v["error"].as_str().unwrap_or(&v.to_string())
            ),
        ));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &a.what {
        What::Create(_) | What::Update(_) => println!(
            "{} v{}: {} slots, {} maps, default run time {} s",
            v["name"].as_str().unwrap_or("?"),
            v["version"],
            v["slots"],
            v["maps"].as_array().map_or(0, Vec::len),
            v["default_run_time"]
        ),
        What::Get { .. } => {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.remove("object");
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        What::List => {
            let cols = [
                "name",
                "abi",
                "version",
                "slots",
                "maps",
                "default_run_time",
            ];
            let mut t = super::table::new(&cols, &cols[2..]);
            for f in v["functions"].as_array().into_iter().flatten() {
                t.add_row(vec![
                    text(&f["name"]),
                    text(&f["abi"]),
                    text(&f["version"]),
                    text(&f["slots"]),
                    f["maps"].as_array().map_or(0, Vec::len).to_string(),
                    text(&f["default_run_time"]),
                ]);
            }
            print!("{}", super::table::render(&t, ""));
        }
        What::Delete { name } => println!("{name} deleted"),
        What::Invoke { .. } => println!(
            "queued #{}: {} for {} s",
            v["id"],
            v["function"].as_str().unwrap_or("?"),
            v["run_time"]
        ),
        What::Queue => {
            let cols = ["id", "function", "run_time"];
            let mut t = super::table::new(&cols, &["id", "run_time"]);
            for i in v["queue"].as_array().into_iter().flatten() {
                t.add_row(vec![
                    text(&i["id"]),
                    text(&i["function"]),
                    text(&i["run_time"]),
                ]);
            }
            print!("{}", super::table::render(&t, ""));
        }
        What::Cancel { id } => println!("cancelled #{id} ({})", v["was"].as_str().unwrap_or("?")),
        What::Status => print_status(&v),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn quoted_includes_are_found_however_spaced() {
        let t = "#include \"a.h\"\n  #  include   \"b.h\" // x\n#include <sume.h>\n#define X \"c.h\"\n#include\"d.h\"\n";
        assert_eq!(quoted_includes(t), ["a.h", "b.h", "d.h"]);
    }

    #[test]
    fn headers_come_from_beside_the_source_then_the_include_dirs() {
        let d = tempfile::tempdir().unwrap();
        let (src_dir, inc) = (d.path().join("src"), d.path().join("inc"));
        std::fs::create_dir_all(&src_dir).unwrap();
        std::fs::create_dir_all(&inc).unwrap();
        let text = "#include \"sume.h\"\n#include \"near.h\"\n#include \"far.h\"\n";
        let src = write(&src_dir, "f.c", text);
        write(&src_dir, "near.h", "#include \"far.h\"\n#define NEAR 1\n");
        write(&inc, "far.h", "#include \"near.h\"\n#define FAR 2\n");
        let got = collect_headers(&src, text, std::slice::from_ref(&inc)).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["far.h", "near.h"]);
        assert!(got["far.h"].contains("FAR 2"));
        // Without the -I directory, far.h is left to the agent.
        let got = collect_headers(&src, text, &[]).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["near.h"]);
    }

    #[test]
    fn headers_that_cannot_be_sent_are_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        write(&d.path().join("sub"), "x.h", "");
        write(d.path(), "t.inc", "");
        let src = d.path().join("f.c");
        let e = collect_headers(&src, "#include \"sub/x.h\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("#include \"sub/x.h\"") && e.contains("without `/`"),
            "{e}"
        );
        let e = collect_headers(&src, "#include \"t.inc\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("only `.h` headers"), "{e}");
        let e = collect_headers(&src, "", &[d.path().join("none")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("none: not a directory"), "{e}");
        // Two different headers of one name cannot share the build directory.
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        write(&a, "one.h", "#include \"two.h\"\n");
        write(&a, "two.h", "");
        write(&b, "two.h", "");
        write(&b, "three.h", "#include \"two.h\"\n");
        let e = collect_headers(&src, "#include \"one.h\"\n#include \"three.h\"\n", &[a, b])
            .unwrap_err()
            .to_string();
        assert!(e.contains("another `two.h`"), "{e}");
        // Past the agent's default header-bytes limit.
        let big = nfbpf_agent::limits::Limits::default().header_bytes + 1;
        write(d.path(), "big.h", &"x".repeat(big));
        let e = collect_headers(&src, "#include \"big.h\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("header-bytes limit"), "{e}");
    }

    #[test]
    fn rules_files_go_as_json_or_as_text() {
        let d = tempfile::tempdir().unwrap();
        let j = write(
            d.path(),
            "r.json",
            " [{\"map\": \"m\", \"key\": 1, \"value\": 2}]",
        );
        assert!(read_rules(&j).unwrap().is_array());
        let t = write(d.path(), "r.rules", "m 1 2\n");
        assert_eq!(read_rules(&t).unwrap(), Value::String("m 1 2\n".into()));
        let bad = write(d.path(), "bad.json", "[{\"map\": }]");
        let e = read_rules(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.json line 1, column") && e.contains("not JSON"),
            "{e}"
        );
    }
}
