//! `cargo xtask bench [--quick | --test] [--no-report | --plan] [--bench FILE].. [FILTER..]`
//! and `cargo xtask bench report` (issue 19).
//!
//! A run clears `target/weft-bench/results.jsonl`, builds every bench file of `weft-benches`
//! once (release `bench` profile, `CARGO_INCREMENTAL=0`), prints the schedule's projected
//! duration (each file's `--plan`, see `schedule.rs`; `--plan` alone stops there), runs each
//! in turn with the mode flag
//! and the filters (a bench file that fails is reported and the others still run), saves the
//! facts about the run in `target/weft-bench/run.json`, and then does what `report` does:
//! reads the JSON lines and rewrites the generated block of `docs/benchmarks.md` (between its
//! markers) and the charts `docs/bench/<group>.svg` + `docs/bench/headline.svg`. A group
//! without results gets a line saying it was not run; a malformed line is a warning.

mod chart;
mod page;
mod results;
mod schedule;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::{cargo, root};

/// Peer crates whose versions the page lists (from Cargo.lock).
const PEERS: &[&str] = &[
    "tokio",
    "smol",
    "async-executor",
    "async-io",
    "async-lock",
    "async-channel",
    "async-broadcast",
    "event-listener",
    "flume",
    "crossbeam-channel",
    "blocking",
    "async-fs",
    "hyper",
    "hyper-util",
    "reqwest",
    "ureq",
];

struct Options {
    mode: Option<&'static str>,
    /// `--no-report`: run and keep the results, leave docs/ alone (e.g. a CI smoke run).
    no_report: bool,
    /// `--plan`: build, print the schedule's projection, run nothing.
    plan_only: bool,
    files: Vec<String>,
    filters: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        mode: None,
        no_report: false,
        plan_only: false,
        files: Vec::new(),
        filters: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.mode = Some("--quick"),
            "--test" => o.mode = Some("--test"),
            "--no-report" => o.no_report = true,
            "--plan" => o.plan_only = true,
            "--bench" => o
                .files
                .push(it.next().ok_or("--bench needs a file name")?.clone()),
            "--" => {}
            f if f.starts_with('-') => {
                return Err(format!(
                    "unknown flag {f:?} (expected --quick, --test, --no-report, --plan, --bench \
                     FILE, filters, or `report`)"
                ))
            }
            f => o.filters.push(f.to_string()),
        }
    }
    Ok(o)
}

fn out_dir() -> PathBuf {
    root().join("target/weft-bench")
}

/// The `[[bench]]` names of `benches/Cargo.toml`, in file order.
fn bench_files() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("benches/Cargo.toml")).unwrap_or_default();
    let mut names = Vec::new();
    let mut in_bench = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bench = line == "[[bench]]";
        } else if in_bench {
            if let Some(v) = line.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                names.push(v.to_string());
            }
        }
    }
    names
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Machine, load, rustc and date, as the page's header lines.
fn machine_lines() -> Vec<String> {
    let cpu = read(Path::new("/proc/cpuinfo"))
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = read(Path::new("/proc/sys/kernel/osrelease")).map_or_else(
        || std::env::consts::OS.to_string(),
        |k| format!("Linux {}", k.trim()),
    );
    let load = read(Path::new("/proc/loadavg"))
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    let rustc = command_line("rustc", &["-V"]).unwrap_or_else(|| "rustc (unknown)".into());
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    vec![
        format!("Machine: {cpu}, {cores} logical CPUs, {kernel}; load average at start {load} (1, 5, 15 min)."),
        format!("Toolchain: {rustc}, `bench` profile (release, thin LTO)."),
        format!("Date: {date}."),
    ]
}

fn versions() -> Vec<String> {
    let lock = read(&root().join("Cargo.lock")).unwrap_or_default();
    let mut out = Vec::new();
    let mut name = String::new();
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = n.trim_matches('"').to_string();
        } else if let Some(v) = line.strip_prefix("version = ") {
            if PEERS.contains(&name.as_str()) {
                out.push(format!("{name} {}", v.trim_matches('"')));
            }
        }
    }
    out.sort_by_key(|s| PEERS.iter().position(|p| s.starts_with(&format!("{p} "))));
    out
}

fn secs(s: f64) -> String {
    if s >= 60.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.0} s")
    }
}

fn run_suite(o: &Options) -> (Vec<String>, Vec<String>) {
    let dir = out_dir();
    let results = dir.join("results.jsonl");
    let _ = std::fs::create_dir_all(&dir);
    if !o.plan_only {
        let _ = std::fs::remove_file(&results);
    }
    let mut lines = machine_lines();
    let mut warnings = Vec::new();
    let files: Vec<String> = if o.files.is_empty() {
        bench_files()
    } else {
        o.files.clone()
    };
    let total = Instant::now();
    eprintln!("xtask: building the bench files (release, CARGO_INCREMENTAL=0)");
    let build = Instant::now();
    let mut b = cargo();
    b.args([
        "bench",
        "-p",
        "weft-benches",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for f in &files {
        b.args(["--bench", f]);
    }
    let built = b
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output();
    let build_secs = build.elapsed().as_secs_f64();
    let exes = match built {
        Ok(out) if out.status.success() => {
            schedule::executables(&String::from_utf8_lossy(&out.stdout))
        }
        _ => {
            warnings.push("building the bench files failed: nothing ran".into());
            return (lines, warnings);
        }
    };
    // `--test` is a smoke run (one round of one iteration): nothing worth projecting.
    let projected = if o.mode == Some("--test") {
        None
    } else {
        project(&files, &exes, o)
    };
    if o.plan_only {
        if projected.is_none() {
            warnings.push("no bench file printed a schedule".into());
        }
        return (lines, warnings);
    }
    let mut per_file = Vec::new();
    for f in &files {
        eprintln!("xtask: ==> bench {f}");
        let start = Instant::now();
        let mut c = cargo();
        c.args(["bench", "-p", "weft-benches", "--bench", f, "--"]);
        if let Some(m) = o.mode {
            c.arg(m);
        }
        c.args(&o.filters)
            .env("CARGO_INCREMENTAL", "0")
            .env("WEFT_BENCH_RESULTS", &results)
            .current_dir(root());
        let ok = c.status().is_ok_and(|s| s.success());
        let s = start.elapsed().as_secs_f64();
        per_file.push(format!("{f} {}", secs(s)));
        if !ok {
            warnings.push(format!(
                "bench file `{f}` failed (its groups may be missing or partial)"
            ));
        }
    }
    let mode = o.mode.map_or("full", |m| m.trim_start_matches('-'));
    let filters = if o.filters.is_empty() {
        String::new()
    } else {
        format!(", filters {:?}", o.filters)
    };
    lines.push(format!(
        "Run: `{mode}` mode{filters}, {} in all: build {}, then {} (the schedule projected {}).",
        secs(total.elapsed().as_secs_f64()),
        secs(build_secs),
        per_file.join(", "),
        projected.map_or("nothing (test mode or no plan)".to_string(), secs)
    ));
    let saved = serde_json::json!({ "lines": lines, "warnings": warnings });
    let _ = std::fs::write(dir.join("run.json"), saved.to_string());
    (lines, warnings)
}

/// Asks every bench file for its schedule (`--plan`), prints it per file and in all, and
/// returns the projected seconds (`None` if no file answered).
fn project(files: &[String], exes: &[(String, String)], o: &Options) -> Option<f64> {
    let mut total = 0.0;
    let mut parts = Vec::new();
    for f in files {
        let Some((_, exe)) = exes.iter().find(|(n, _)| n == f) else {
            continue;
        };
        if let Some((n, s)) =
            schedule::plan_of(Path::new(exe), o.mode, &o.filters, &root().join("benches"))
        {
            if n > 0 {
                parts.push(format!("{f} {} ({n})", secs(s)));
                total += s;
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    eprintln!(
        "xtask: schedule: {}; projected {} in all (workloads in parentheses; \
         contenders × (rounds + warm-up) × turn, build not included)",
        parts.join(", "),
        secs(total)
    );
    Some(total)
}

/// Rewrites `docs/benchmarks.md`'s generated block and the charts from the results file.
fn report(lines: Option<Vec<String>>, mut warnings: Vec<String>) -> ExitCode {
    let dir = out_dir();
    let lines = lines.unwrap_or_else(|| {
        let saved: Option<serde_json::Value> =
            read(&dir.join("run.json")).and_then(|t| serde_json::from_str(&t).ok());
        match saved {
            Some(v) => {
                let get = |k: &str| -> Vec<String> {
                    v.get(k)
                        .and_then(|a| a.as_array())
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                        .unwrap_or_default()
                };
                warnings.extend(get("warnings"));
                get("lines")
            }
            None => {
                let mut l = machine_lines();
                l.push("Run: unknown (no target/weft-bench/run.json); machine facts are from report time.".into());
                l
            }
        }
    });
    let results_path = dir.join("results.jsonl");
    let text = match read(&results_path) {
        Some(t) => t,
        None => {
            warnings.push(format!("no results file at {}", results_path.display()));
            String::new()
        }
    };
    let (recs, bad) = results::parse(&text);
    warnings.extend(bad);
    let groups = results::group(&recs);

    let charts_dir = root().join("docs/bench");
    let _ = std::fs::create_dir_all(&charts_dir);
    let mut charts = Vec::new();
    for (g, ws) in &groups {
        let title = page::KNOWN
            .iter()
            .find(|(k, _, _)| k == g)
            .map_or(g.as_str(), |(_, t, _)| t);
        match chart::group_chart(&charts_dir.join(format!("{g}.svg")), title, ws) {
            Ok(()) => charts.push(g.clone()),
            Err(e) => warnings.push(format!("chart for `{g}` failed: {e}")),
        }
    }
    let head = page::headline(&groups);
    if let Err(e) = chart::headline_chart(&charts_dir.join("headline.svg"), &head) {
        warnings.push(format!("headline chart failed: {e}"));
    }
    let page_path = root().join("docs/benchmarks.md");
    let old = read(&page_path).unwrap_or_else(|| "# Benchmarks\n".into());
    let header = page::Header {
        lines,
        versions: versions(),
        warnings,
        analysis: page::analysis(&old),
    };
    for w in &header.warnings {
        eprintln!("xtask: warning: {w}");
    }
    let block = page::render(&groups, &header, &charts);
    if let Err(e) = std::fs::write(&page_path, page::splice(&old, &block)) {
        eprintln!("xtask: could not write {}: {e}", page_path.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "xtask: wrote {} ({} groups, {} charts + headline)",
        page_path.display(),
        groups.len(),
        charts.len()
    );
    ExitCode::SUCCESS
}

/// Entry point of `cargo xtask bench ..`.
pub fn main(args: &[String]) -> ExitCode {
    if args.first().map(String::as_str) == Some("report") {
        return report(None, Vec::new());
    }
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (lines, warnings) = run_suite(&o);
    if o.no_report || o.plan_only {
        for w in &warnings {
            eprintln!("xtask: warning: {w}");
        }
        return if warnings.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    report(Some(lines), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_into_mode_files_and_filters() {
        let a: Vec<String> = ["--quick", "--bench", "sync", "--", "mutex"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse(&a).unwrap();
        assert_eq!(o.mode, Some("--quick"));
        assert_eq!(o.files, ["sync"]);
        assert_eq!(o.filters, ["mutex"]);
        assert!(parse(&["--fast".to_string()]).is_err());
    }

    #[test]
    fn bench_files_are_read_from_the_manifest() {
        let files = bench_files();
        assert!(files.iter().any(|f| f == "rt_multi_threaded"), "{files:?}");
        assert!(files.iter().any(|f| f == "timers"));
    }
}
