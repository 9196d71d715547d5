//! `cargo xtask <command>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `ci`: the gate. fmt check, clippy (warnings denied), tests (unit, integration, doc),
//!   rustdoc (warnings denied), then the loom models with bounded preemptions. Stops at the
//!   first failing step and names it.
//! - `loom`: only the loom models (`--cfg loom`), every crate with a `tests/loom.rs`.
//! - `bench [--quick | --test] [--no-report | --plan] [--bench FILE].. [FILTER..]`: the
//!   side-by-side benchmarks in `benches/` (weft vs its peers), interleaved; prints the
//!   schedule's projected duration first (`--plan`: only that); regenerates
//!   `docs/benchmarks.md` and the charts in `docs/bench/`. `bench report` only regenerates
//!   them from the last results (see `bench/mod.rs`).
//! - `syscalls [--quick] [RUNTIME..]`: system calls per request of hyper's server on weft, tokio
//!   and smol under `strace -f -c` (see `syscalls.rs`). Not part of `ci`.
//! - `fuzz [--seconds N]`, `valgrind`, `asan`, `miri`, `soak [--minutes M]`: hardening steps,
//!   not part of `ci` (see `fuzz.rs`, `memcheck.rs`, `soak.rs` and `docs/reliability.md`).

#![forbid(unsafe_code)]

mod bench;
mod fuzz;
mod memcheck;
mod soak;
mod syscalls;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// One step of a task: a name for the log and the command to run.
struct Step {
    name: String,
    cmd: Command,
}

/// `cargo`, without the variables `cargo run` set for xtask itself (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...): some build scripts (ring's) rerun when those change, so inheriting them
/// would rebuild half the dependency tree in release mode on every `cargo xtask bench` or
/// `cargo xtask syscalls` and again on the next plain `cargo bench` / `cargo build --release`.
/// Every cargo that xtask starts (ci steps, bench, syscalls, memcheck) comes from here, so none
/// can inherit them.
pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || matches!(
                k.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            c.env_remove(k.as_ref());
        }
    }
    c
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn step(name: &str, args: &[&str]) -> Step {
    let mut cmd = cargo();
    cmd.args(args).current_dir(root());
    Step {
        name: name.to_string(),
        cmd,
    }
}

fn ci_steps() -> Vec<Step> {
    let mut steps = vec![
        step("fmt", &["fmt", "--all", "--", "--check"]),
        step(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        step(
            "test",
            &[
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
            ],
        ),
        step("doctest", &["test", "--workspace", "--doc"]),
    ];
    let mut doc = step("doc", &["doc", "--workspace", "--no-deps"]);
    doc.cmd.env("RUSTDOCFLAGS", "-D warnings");
    steps.push(doc);
    // Bounded so the gate stays within minutes; `cargo xtask loom` alone can go deeper.
    steps.extend(loom_steps(Some("2")));
    steps
}

/// Crates that carry loom models: those with a `tests/loom.rs`.
fn loom_crates() -> Vec<String> {
    let mut crates = Vec::new();
    let Ok(entries) = std::fs::read_dir(root().join("crates")) else {
        return crates;
    };
    for entry in entries.flatten() {
        if entry.path().join("tests/loom.rs").is_file() {
            crates.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    crates.sort();
    crates
}

fn loom_steps(max_preemptions: Option<&str>) -> Vec<Step> {
    loom_crates()
        .into_iter()
        .map(|krate| {
            let mut s = step(
                &format!("loom {krate}"),
                &["test", "--profile", "loom", "-p", &krate, "--test", "loom"],
            );
            // A separate target dir: `--cfg loom` rebuilds every dependency.
            s.cmd
                .env("RUSTFLAGS", "--cfg loom")
                .env("CARGO_TARGET_DIR", root().join("target/loom"));
            if let Some(n) = max_preemptions {
                if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
                    s.cmd.env("LOOM_MAX_PREEMPTIONS", n);
                }
            }
            s
        })
        .collect()
}

fn run(steps: Vec<Step>) -> ExitCode {
    let total = Instant::now();
    for mut s in steps {
        eprintln!("xtask: ==> {}", s.name);
        let start = Instant::now();
        let status = s.cmd.status();
        let secs = start.elapsed().as_secs_f64();
        match status {
            Ok(st) if st.success() => eprintln!("xtask: ok   {} ({secs:.1}s)", s.name),
            Ok(st) => {
                eprintln!(
                    "xtask: FAILED at step `{}` ({st}, after {secs:.1}s)",
                    s.name
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!(
                    "xtask: FAILED at step `{}`: could not run cargo: {e}",
                    s.name
                );
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "xtask: all steps passed ({:.1}s)",
        total.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => run(ci_steps()),
        Some("loom") => run(loom_steps(None)),
        Some("bench") => bench::main(&args[1..]),
        Some("syscalls") => syscalls::main(&args[1..]),
        Some("fuzz") => fuzz::main(&args[1..]),
        Some("valgrind") => memcheck::valgrind(&args[1..]),
        Some("asan") => memcheck::asan(&args[1..]),
        Some("miri") => memcheck::miri(&args[1..]),
        Some("soak") => soak::main(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | loom | bench [--quick|--test] [--no-report|--plan] \
                 [--bench FILE].. [FILTER..] \
                 | bench report | syscalls [--quick] \
                 | fuzz [--seconds N] | valgrind | asan | miri | soak [--minutes M]>"
            );
            ExitCode::FAILURE
        }
    }
}

/// The variables `cmd` removes from its inherited environment (for tests).
#[cfg(test)]
pub(crate) fn removed_env(cmd: &Command) -> Vec<String> {
    cmd.get_envs()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_cargo_does_not_inherit_xtask_own_package_variables() {
        // `cargo test` sets CARGO_MANIFEST_DIR for this process, as `cargo run` does for xtask.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let removed = removed_env(&cargo());
        assert!(
            removed.iter().any(|k| k == "CARGO_MANIFEST_DIR"),
            "{removed:?}"
        );
        assert!(removed.iter().any(|k| k == "CARGO_PKG_NAME"), "{removed:?}");
    }
}
