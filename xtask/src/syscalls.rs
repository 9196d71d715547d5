//! `cargo xtask syscalls [--quick] [--requests N] [--conns N] [RUNTIME..]`: system calls per
//! request of hyper's HTTP/1.1 server on weft, tokio and smol (issue 13).
//!
//! For each runtime, the server (`weft-bench-http serve <rt>`, from the `weft-benches` crate)
//! runs under `strace -f -c`, and the load generator (`weft-bench-http load ..`) runs outside
//! it, so only the server side is counted. The table divides each syscall's count by the
//! requests served. Not part of `cargo xtask ci`: it needs ptrace and takes a while.
//!
//! Each runtime's total also goes to the benchmark results file (the JSON-lines format of
//! `weft_benches::report`, written here directly since xtask has no dependencies): group `io`,
//! workload `syscalls/request`, unit `syscalls/req`, lower is better, one sample per run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::{cargo, root};

const RUNTIMES: [&str; 3] = ["weft", "tokio", "smol"];
const BIN: &str = "weft-bench-http";

struct Options {
    requests: u64,
    conns: usize,
    runtimes: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        requests: 100_000,
        conns: 64,
        runtimes: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.requests = 20_000,
            "--requests" | "--conns" => {
                let v = it.next().ok_or(format!("{a} needs a number"))?;
                let n: u64 = v.parse().map_err(|_| format!("{a} {v}: not a number"))?;
                if a == "--requests" {
                    o.requests = n;
                } else {
                    o.conns = usize::try_from(n).map_err(|e| e.to_string())?;
                }
            }
            rt if RUNTIMES.contains(&rt) => o.runtimes.push(rt.to_string()),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (expected --quick, --requests N, --conns N, or \
                     one of {RUNTIMES:?})"
                ))
            }
        }
    }
    if o.runtimes.is_empty() {
        o.runtimes = RUNTIMES.iter().map(|s| s.to_string()).collect();
    }
    Ok(o)
}

fn has_strace() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether strace may trace a child here (ptrace can be forbidden in containers).
fn can_trace() -> bool {
    Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure strace is there, installing it with apt-get if not. `false`: not available.
fn ensure_strace() -> bool {
    if has_strace() {
        return true;
    }
    eprintln!(
        "xtask syscalls: strace is not installed; installing it with `apt-get install -y strace`"
    );
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "strace"]) {
        let _ = apt(&["update"]);
        let _ = apt(&["install", "-y", "strace"]);
    }
    has_strace()
}

/// One runtime's result: its name, the requests served, and the counts per syscall.
type Measured = (String, (u64, BTreeMap<String, Count>));

/// One syscall's line of `strace -c`: calls and errors.
#[derive(Default, Clone, Copy)]
struct Count {
    calls: u64,
    errors: u64,
}

/// Parses `strace -c` output: rows between the two dashed lines, `% time, seconds,
/// usecs/call, calls, [errors], syscall`.
fn parse_strace(text: &str) -> BTreeMap<String, Count> {
    let mut out = BTreeMap::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("------") {
            if in_table {
                break;
            }
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (calls, errors) = match f.len() {
            6 => (f[3].parse().ok(), f[4].parse().ok()),
            5 => (f[3].parse().ok(), Some(0)),
            _ => (None, None),
        };
        if let (Some(calls), Some(errors), Some(name)) = (calls, errors, f.last()) {
            out.insert(name.to_string(), Count { calls, errors });
        }
    }
    out
}

fn bench_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("release").join(BIN)
}

/// Runs one runtime's server under strace and the load against it; returns (requests, counts).
fn measure(
    bin: &Path,
    rt: &str,
    o: &Options,
    dir: &Path,
) -> Result<(u64, BTreeMap<String, Count>), String> {
    let out_file = dir.join(format!("strace-{rt}.txt"));
    let mut server = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out_file)
        .arg(bin)
        .args(["serve", rt])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    let mut line = String::new();
    let stdout = server.stdout.take().ok_or("no server stdout")?;
    let _ = BufReader::new(stdout).read_line(&mut line);
    let Some(addr) = line.trim().strip_prefix("listening ") else {
        let _ = server.kill();
        let _ = server.wait();
        return Err(format!("the {rt} server did not start (printed {line:?})"));
    };
    // Bounded by count, and by time in case the server stalls.
    let load = Command::new(bin)
        .args([
            "load",
            addr,
            &o.conns.to_string(),
            "120",
            &o.requests.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run the load generator: {e}"));
    drop(server.stdin.take()); // the server exits when its stdin closes
    let _ = server.wait();
    let load = load?;
    let text = String::from_utf8_lossy(&load.stdout);
    let requests: u64 = text
        .split_whitespace()
        .skip_while(|w| *w != "requests")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .ok_or(format!("load generator printed {text:?}"))?;
    eprintln!("xtask syscalls: {rt}: {}", text.trim());
    let st =
        std::fs::read_to_string(&out_file).map_err(|e| format!("{}: {e}", out_file.display()))?;
    Ok((requests, parse_strace(&st)))
}

/// The subcommand.
pub fn main(args: &[String]) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask syscalls: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !ensure_strace() {
        eprintln!(
            "xtask syscalls: strace is not available and could not be installed (apt-get failed); \
             nothing measured. Install strace and run `cargo xtask syscalls` again."
        );
        return ExitCode::SUCCESS;
    }
    if !can_trace() {
        eprintln!(
            "xtask syscalls: strace is installed but cannot trace here (`strace -f -c true` \
             failed: ptrace is probably not permitted in this container); nothing measured."
        );
        return ExitCode::SUCCESS;
    }
    let built = build_command().status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("xtask syscalls: FAILED to build {BIN}");
        return ExitCode::FAILURE;
    }
    let bin = bench_binary();
    let dir = std::env::temp_dir().join(format!("weft-syscalls-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("xtask syscalls: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut results = Vec::new();
    for rt in &o.runtimes {
        match measure(&bin, rt, &o, &dir) {
            Ok(r) => results.push((rt.clone(), r)),
            Err(e) => {
                eprintln!("xtask syscalls: {rt}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    report(&results, &o);
    record_results(&results);
    eprintln!("xtask syscalls: raw strace output in {}", dir.display());
    ExitCode::SUCCESS
}

/// The release build of the load/server binary. Through [`cargo`], so the variables `cargo run`
/// set for xtask do not leak in (they made every run rebuild ring and its dependents).
fn build_command() -> Command {
    let mut c = cargo();
    c.args(["build", "--release", "-p", "weft-benches", "--bin", BIN])
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(root());
    c
}

/// All syscalls per request served (the `total` row of the table).
fn per_request(req: u64, counts: &BTreeMap<String, Count>) -> f64 {
    let all: u64 = counts
        .iter()
        .filter(|(k, _)| *k != "total")
        .map(|(_, c)| c.calls)
        .sum();
    all as f64 / req.max(1) as f64
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One results line, as `weft_benches::report::record` writes it.
fn result_line(contender: &str, value: f64) -> String {
    format!(
        "{{\"group\":\"io\",\"workload\":\"syscalls/request\",\"contender\":{},\
         \"unit\":\"syscalls/req\",\"higher_is_better\":false,\"samples\":[{value}]}}",
        json_str(contender)
    )
}

/// `$WEFT_BENCH_RESULTS`, else `<workspace>/target/weft-bench/results.jsonl` (as the bench
/// crate's `report::results_path`).
fn results_path() -> PathBuf {
    std::env::var_os("WEFT_BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/weft-bench/results.jsonl"))
}

/// Appends one results line per runtime; a write failure is reported, not fatal.
fn record_results(results: &[Measured]) {
    use std::io::Write;
    let path = results_path();
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        for (rt, (req, counts)) in results {
            writeln!(f, "{}", result_line(rt, per_request(*req, counts)))?;
        }
        Ok(())
    };
    match write() {
        Ok(()) => eprintln!("xtask syscalls: results appended to {}", path.display()),
        Err(e) => eprintln!(
            "xtask syscalls: could not append to {}: {e}",
            path.display()
        ),
    }
}

/// Prints syscalls per request, per kind, one column per runtime.
fn report(results: &[Measured], o: &Options) {
    println!(
        "\n## syscalls per request: hyper HTTP/1.1 server, 1 server thread, {} connections, \
         server side under `strace -f -c`\n",
        o.conns
    );
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, (_, counts)) in results {
        for (k, c) in counts {
            if k != "total" {
                *kinds.entry(k).or_default() += c.calls;
            }
        }
    }
    let mut kinds: Vec<(&str, u64)> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    let per = |c: Count, req: u64| -> String {
        let r = req.max(1) as f64;
        let calls = c.calls as f64 / r;
        if calls < 0.005 {
            "·".to_string()
        } else if c.errors > 0 {
            format!("{calls:.2} ({:.2} err)", c.errors as f64 / r)
        } else {
            format!("{calls:.2}")
        }
    };
    let header: Vec<&str> = results.iter().map(|(rt, _)| rt.as_str()).collect();
    println!("| syscall | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(header.len()));
    for (kind, _) in &kinds {
        let cells: Vec<String> = results
            .iter()
            .map(|(_, (req, counts))| per(counts.get(*kind).copied().unwrap_or_default(), *req))
            .collect();
        if cells.iter().all(|c| c == "·") {
            continue;
        }
        println!("| {kind} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = results
        .iter()
        .map(|(_, (req, counts))| format!("**{:.2}**", per_request(*req, counts)))
        .collect();
    println!("| **total** | {} |", totals.join(" | "));
    let reqs: Vec<String> = results.iter().map(|(_, (r, _))| r.to_string()).collect();
    println!("| requests served | {} |", reqs.join(" | "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strace_summary_rows_with_and_without_errors() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
------ ----------- ----------- --------- --------- ----------------\n\
 60.00    0.000600           3       200        50 recvfrom\n\
 40.00    0.000400           2       100           sendto\n\
------ ----------- ----------- --------- --------- ----------------\n\
100.00    0.001000           3       300        50 total\n";
        let m = parse_strace(text);
        assert_eq!(m["recvfrom"].calls, 200);
        assert_eq!(m["recvfrom"].errors, 50);
        assert_eq!(m["sendto"].calls, 100);
        assert_eq!(m["sendto"].errors, 0);
        assert!(!m.contains_key("total"));
    }

    #[test]
    fn result_lines_use_the_bench_results_format() {
        let mut counts = BTreeMap::new();
        counts.insert(
            "sendto".to_string(),
            Count {
                calls: 30,
                errors: 0,
            },
        );
        counts.insert(
            "recvfrom".to_string(),
            Count {
                calls: 20,
                errors: 5,
            },
        );
        counts.insert(
            "total".to_string(),
            Count {
                calls: 50,
                errors: 5,
            },
        );
        assert_eq!(per_request(25, &counts), 2.0);
        assert_eq!(
            result_line("weft", 2.0),
            r#"{"group":"io","workload":"syscalls/request","contender":"weft","unit":"syscalls/req","higher_is_better":false,"samples":[2]}"#
        );
        assert_eq!(json_str("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn the_release_build_does_not_inherit_xtask_own_cargo_variables() {
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let removed = crate::removed_env(&build_command());
        assert!(
            removed.iter().any(|k| k == "CARGO_MANIFEST_DIR"),
            "{removed:?}"
        );
    }

    #[test]
    fn options_default_to_every_runtime() {
        let o = parse(&["--quick".to_string()]).unwrap();
        assert_eq!(o.requests, 20_000);
        assert_eq!(o.runtimes, RUNTIMES);
        assert!(parse(&["bogus".to_string()]).is_err());
    }
}
