//! `nfbpf fn create|get|list|update|delete|invoke|queue|cancel|status`: the
//! client of the agent's HTTP API (`docs/api.md`). The agent is `--agent
//! URL`, else `$NFBPF_AGENT`, else `http://127.0.0.1:8080`. An error answer
//! prints the agent's message and exits with 3 for a 404 (not found), else
//! 1; an agent that cannot be reached exits with 4 (docs/cli.md).

use nfbpf_agent::client::{self, Answer, Client, ClientError, FunctionSummary, Status};
use nfbpf_agent::wire::{FunctionRequest, InvokeRequest};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// `network` (default: an invocation runs it for a time) or `lambda`
    /// (an invocation is a request it answers, docs/lambdas.md).
    #[arg(long, value_parser = ["network", "lambda"])]
    kind: Option<String>,
    /// A lambda's ID in its requests (default 1; lambda_kv answers 2,
    /// lambda_gray 3).
    #[arg(long)]
    lambda_id: Option<u16>,
    /// A lambda's UDP port (default 7380).
    #[arg(long)]
    lambda_port: Option<u16>,
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
    /// Queue an invocation; of a lambda, send a request and print its
    /// response.
    Invoke {
        name: String,
        /// Run time, seconds (3..300; default: the function's).
        #[arg(long)]
        run_time: Option<u32>,
        /// A lambda's request body, from FILE (`-`: standard input); the
        /// response body is written to standard output as it is.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "run_time"])]
        body: Option<PathBuf>,
        /// A lambda's request body as text (e.g. `"get k\r\n"` with real
        /// CR LF: use $'...' in the shell).
        #[arg(long, conflicts_with = "run_time")]
        data: Option<String>,
    },
    /// Show the queue.
    Queue,
    /// Cancel a queued or running invocation.
    Cancel { id: u64 },
    /// Running function, remaining time, queue, timeline, device counters.
    Status,
}

/// The body of a create or update (`nfbpf_agent::client::function_request`
/// with the settings of the flags).
fn function_body(a: &FunctionArgs) -> anyhow::Result<FunctionRequest> {
    let mut b = client::function_request(&a.name, &a.file, &a.include, a.rules.as_deref())?;
    b.abi = a.abi.clone();
    b.default_run_time = a.run_time;
    b.budget = a.budget;
    b.program = a.program.clone();
    b.map_sizes = (!a.map_size.is_empty()).then(|| a.map_size.iter().cloned().collect());
    b.kind = a.kind.clone();
    b.lambda_id = a.lambda_id;
    b.lambda_port = a.lambda_port;
    Ok(b)
}

fn print_status(s: &Status) {
    if s.devices.len() > 1 {
        // Each device has its own clock, run and staged program.
        println!("devices: {}, time scale {}", s.target, s.time_scale);
    } else {
        println!(
            "device: {}, clock {} (time scale {}), now {:.3} s{}",
            s.target,
            s.clock,
            s.time_scale,
            s.now_s.unwrap_or(0.0),
            s.cycle.map(|c| format!(", cycle {c}")).unwrap_or_default()
        );
        match &s.running {
            Some(r) => println!(
                "running: #{} {} (v{}), {:.2} of {} s, {:.2} s remaining",
                r.id, r.function, r.version, r.elapsed_s, r.run_time, r.remaining_s
            ),
            None => println!(
                "running: nothing{}",
                s.loaded
                    .as_deref()
                    .map(|l| format!(" ({l} stays loaded)"))
                    .unwrap_or_default()
            ),
        }
        if let Some(st) = &s.next_staged {
            println!(
                "next: #{} {} written into the idle bank at {:.3} s",
                st.id, st.function, st.staged_at_s
            );
        }
        if let Some(d) = s.devices.first()
            && let Some(st) = &d.stopped
        {
            println!("the device does not answer: {}", st.reason);
        }
    }
    if s.devices.len() > 1 {
        println!("devices: {} of {} answering", s.answering, s.devices.len());
        for d in &s.devices {
            let what = match (&d.stopped, &d.running) {
                (Some(st), _) => format!("STOPPED: {}", st.reason),
                (None, Some(r)) => format!(
                    "running #{} {}, {:.2} s remaining",
                    r.id, r.function, r.remaining_s
                ),
                (None, None) => match &d.loaded {
                    Some(l) => format!("idle ({l} stays loaded)"),
                    None => "idle".to_string(),
                },
            };
            let next = d
                .next_staged
                .as_ref()
                .map(|n| format!("; next #{} {}", n.id, n.function))
                .unwrap_or_default();
            println!(
                "  {}: {} engines, {} run{} started, {what}{next}",
                d.target,
                d.engines,
                d.runs,
                if d.runs == 1 { "" } else { "s" }
            );
        }
    }
    for p in &s.pending {
        println!(
            "pending: #{} {} after {:.2} s{}",
            p.id,
            p.function,
            p.elapsed_s,
            p.moved_from
                .as_deref()
                .map(|d| format!(", moved off {d}"))
                .unwrap_or_else(|| ", interrupted by a restart".to_string())
        );
    }
    for i in &s.interrupted {
        println!(
            "interrupted: #{} {} on {} after {:.2} s: {}",
            i.id, i.function, i.device, i.elapsed_s, i.reason
        );
    }
    println!("queue: {} waiting", s.queue.length);
    for i in &s.queue.head {
        println!("  #{} {} {} s", i.id, i.function, i.run_time);
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
    for r in &s.timeline {
        let c = &r.counters;
        t.add_row(vec![
            r.id.to_string(),
            r.function.clone(),
            r.outcome.clone(),
            format!("{:.3}", r.start_s),
            format!("{:.3}", r.end_s),
            format!("{:.3}", r.end_s - r.deadline_s),
            r.staged_ahead_s.map_or("-".into(), |a| format!("{a:.3}")),
            c.pkt_in.to_string(),
            c.pkt_out.to_string(),
            c.dropped.to_string(),
            c.rx_dropped.to_string(),
        ]);
    }
    print!("{}", super::table::render(&t, "  "));
    if let Some(e) = &s.last_error {
        println!("last error: {e}");
    }
}

fn print_function(f: &FunctionSummary) {
    println!(
        "{} v{}: {} slots, {} maps, default run time {} s{}",
        f.name,
        f.version,
        f.slots,
        f.maps.len(),
        f.default_run_time,
        f.lambda
            .map(|l| format!(", lambda ID {} on UDP port {}", l.id, l.port))
            .unwrap_or_default()
    );
}

/// An answer printed: its JSON with `--json`, else as `text` prints it.
/// An error answer's JSON is printed with `--json` too, before the error
/// (exit code 3 for a 404, else 1: `super::exit::classify`).
fn show<T>(
    json: bool,
    r: Result<Answer<T>, ClientError>,
    text: impl FnOnce(Answer<T>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match r {
        Err(e) => {
            if let (true, ClientError::Status { body, .. }) = (json, &e) {
                println!("{}", serde_json::to_string_pretty(body)?);
            }
            Err(e.into())
        }
        Ok(a) if json => {
            println!("{}", serde_json::to_string_pretty(&a.json)?);
            Ok(())
        }
        Ok(a) => text(a),
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let c = Client::new(&client::agent_url(a.agent.as_deref()))
        .with_auth(client::auth_file(a.auth.as_deref()).as_deref())?;
    let json = a.json;
    match a.what {
        What::Create(f) => show(json, c.create(&function_body(&f)?), |v| {
            print_function(&v);
            Ok(())
        }),
        What::Update(f) => show(json, c.update(&function_body(&f)?), |v| {
            print_function(&v);
            Ok(())
        }),
        What::Get { name } => show(json, c.get(&name), |v| {
            let mut v = v.json;
            if let Some(o) = v.as_object_mut() {
                o.remove("object");
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }),
        What::List => show(json, c.list(), |v| {
            let cols = [
                "name",
                "abi",
                "version",
                "slots",
                "maps",
                "default_run_time",
            ];
            let mut t = super::table::new(&cols, &cols[2..]);
            for f in &v.functions {
                t.add_row(vec![
                    f.name.clone(),
                    f.abi.clone(),
                    f.version.to_string(),
                    f.slots.to_string(),
                    f.maps.len().to_string(),
                    f.default_run_time.to_string(),
                ]);
            }
            print!("{}", super::table::render(&t, ""));
            Ok(())
        }),
        What::Delete { name } => show(json, c.delete(&name), |_| {
            println!("{name} deleted");
            Ok(())
        }),
        What::Invoke {
            name, body, data, ..
        } if body.is_some() || data.is_some() => {
            let request = match (body, data) {
                (Some(p), _) if p.as_os_str() == "-" => {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
                    b
                }
                (Some(p), _) => {
                    std::fs::read(&p).map_err(|e| anyhow::anyhow!("--body {}: {e}", p.display()))?
                }
                (None, Some(d)) => d.into_bytes(),
                (None, None) => Vec::new(),
            };
            let b = c.invoke_lambda(&name, &request)?;
            std::io::Write::write_all(&mut std::io::stdout(), &b)?;
            Ok(())
        }
        What::Invoke { name, run_time, .. } => {
            show(json, c.invoke(&name, &InvokeRequest { run_time }), |v| {
                println!("queued #{}: {} for {} s", v.id, v.function, v.run_time);
                Ok(())
            })
        }
        What::Queue => show(json, c.queue(), |v| {
            let cols = ["id", "function", "run_time"];
            let mut t = super::table::new(&cols, &["id", "run_time"]);
            for i in &v.queue {
                t.add_row(vec![
                    i.id.to_string(),
                    i.function.clone(),
                    i.run_time.to_string(),
                ]);
            }
            print!("{}", super::table::render(&t, ""));
            Ok(())
        }),
        What::Cancel { id } => show(json, c.cancel(id), |v| {
            println!("cancelled #{id} ({})", v.was);
            Ok(())
        }),
        What::Status => show(json, c.status(), |v| {
            print_status(&v);
            Ok(())
        }),
    }?;
    Ok(ExitCode::SUCCESS)
}
