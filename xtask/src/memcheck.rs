//! Memory checking of the crates that contain `unsafe`: `cargo xtask valgrind` (stable),
//! `cargo xtask asan` and `cargo xtask miri` (both need nightly; they say "skipped" and succeed
//! when it is missing). None of them is part of `cargo xtask ci`.

use std::path::Path;
use std::process::{Command, ExitCode};

use crate::toolchain::{miri_missing, nightly_cargo, nightly_missing, works};
use crate::{cargo, root, run, Step};

/// Whether a Rust source line (comments stripped) uses `unsafe` as a keyword.
fn uses_unsafe(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("unsafe").any(|(i, _)| {
        let after = code[i + 6..].chars().next();
        let before = code[..i].chars().next_back();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
    })
}

fn dir_uses_unsafe(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            dir_uses_unsafe(&p)
        } else {
            p.extension().is_some_and(|x| x == "rs")
                && std::fs::read_to_string(&p).is_ok_and(|s| s.lines().any(uses_unsafe))
        }
    })
}

/// The workspace crates whose `src/` contains `unsafe` code, sorted.
pub fn unsafe_crates() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root().join("crates")) {
        for e in entries.flatten() {
            if dir_uses_unsafe(&e.path().join("src")) {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// `--crate NAME` (repeatable) narrows the set; default: every crate with `unsafe`.
fn selected(args: &[String]) -> Result<Vec<String>, String> {
    Ok(options(args)?.0)
}

/// The crates (see [`selected`]) and whether `--tests` asked for the integration tests too.
fn options(args: &[String]) -> Result<(Vec<String>, bool), String> {
    let mut picked = Vec::new();
    let mut integration = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tests" => integration = true,
            "--crate" => match it.next() {
                Some(c) => picked.push(c.clone()),
                None => return Err("--crate needs a crate name".into()),
            },
            _ => {
                return Err(format!(
                    "unexpected argument {a:?}; usage: [--crate NAME].. [--tests]"
                ))
            }
        }
    }
    if picked.is_empty() {
        picked = unsafe_crates();
    }
    Ok((picked, integration))
}

/// The test executables of `krate` (built on demand), from cargo's JSON messages: the unit
/// tests, and with `integration` every test target.
fn test_binaries(krate: &str, integration: bool) -> Result<Vec<String>, String> {
    let which = if integration { "--tests" } else { "--lib" };
    let out = cargo()
        .args([
            "test",
            "-p",
            krate,
            which,
            "--no-run",
            "--message-format=json",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the unit tests of {krate} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"executable\":\"";
    Ok(text
        .lines()
        .filter_map(|l| {
            let start = l.find(key)? + key.len();
            let end = l[start..].find('"')?;
            Some(l[start..start + end].to_string())
        })
        .collect())
}

/// Makes sure valgrind exists, installing it with apt-get if it does not (and saying so).
fn ensure_valgrind() -> Result<(), String> {
    if works(Command::new("valgrind").arg("--version")) {
        return Ok(());
    }
    eprintln!("xtask: valgrind not found; installing it: apt-get install -y valgrind");
    let ok = works(Command::new("apt-get").arg("update"))
        && Command::new("apt-get")
            .args(["install", "-y", "valgrind"])
            .status()
            .is_ok_and(|s| s.success());
    if ok && works(Command::new("valgrind").arg("--version")) {
        Ok(())
    } else {
        Err("valgrind is missing and `apt-get install -y valgrind` failed (need root?)".into())
    }
}

/// Entry point of `cargo xtask valgrind [--crate NAME].. [--tests]`.
pub fn valgrind(args: &[String]) -> ExitCode {
    let (crates, integration) = match options(args).and_then(|c| ensure_valgrind().map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: valgrind: {e}");
            return ExitCode::FAILURE;
        }
    };
    let logs = root().join("target/valgrind");
    let _ = std::fs::create_dir_all(&logs);
    let mut failed = Vec::new();
    for krate in &crates {
        let bins = match test_binaries(krate, integration) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("xtask: valgrind {krate}: {e}");
                failed.push(krate.clone());
                continue;
            }
        };
        for bin in bins {
            let stem = Path::new(&bin)
                .file_name()
                .map_or_else(|| krate.clone(), |f| f.to_string_lossy().into_owned());
            let log = logs.join(format!("{stem}.log"));
            eprintln!(
                "xtask: ==> valgrind {krate} ({bin}); full log: {}",
                log.display()
            );
            // Error exit code 99 separates memcheck findings from test failures.
            let status = Command::new("valgrind")
                .args([
                    "--tool=memcheck",
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite,indirect",
                    "--show-leak-kinds=definite,indirect",
                    "--error-exitcode=99",
                    "--fair-sched=yes",
                ])
                // glibc keeps a resolver state per thread that an exited resolver thread
                // (weft-reactor's getaddrinfo pool) never frees: not ours.
                .arg(format!(
                    "--suppressions={}",
                    root().join("xtask/valgrind.supp").display()
                ))
                .arg(format!("--log-file={}", log.display()))
                .arg(&bin)
                .arg("--test-threads=2")
                .env("WEFT_UNDER_VALGRIND", "1")
                .current_dir(root().join("crates").join(krate))
                .status();
            let summary = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|l| {
                    l.contains("ERROR SUMMARY")
                        || l.contains("definitely lost:")
                        || l.contains("indirectly lost:")
                })
                .map(|l| l.split_once("== ").map_or(l, |(_, r)| r).to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let verdict = match status.map(|s| s.code()) {
                Ok(Some(0)) => "clean".to_string(),
                Ok(Some(99)) => "MEMCHECK ERRORS".to_string(),
                Ok(code) => format!("TESTS FAILED under valgrind (exit {code:?})"),
                Err(e) => format!("could not run valgrind: {e}"),
            };
            eprintln!("xtask: valgrind {stem}: {verdict}: {summary}");
            if verdict != "clean" {
                failed.push(stem);
            }
        }
    }
    if failed.is_empty() {
        eprintln!("xtask: valgrind: all clean ({})", crates.join(", "));
        ExitCode::SUCCESS
    } else {
        eprintln!("xtask: valgrind: FAILED for {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// Entry point of `cargo xtask asan [--crate NAME]..`.
pub fn asan(args: &[String]) -> ExitCode {
    let crates = match selected(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: asan: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(why) = nightly_missing() {
        eprintln!(
            "xtask: asan: SKIPPED: AddressSanitizer needs `-Zsanitizer=address`, an unstable \
             flag that only a nightly compiler accepts, and there is {why}. Memory checking on \
             stable: `cargo xtask valgrind`."
        );
        return ExitCode::SUCCESS;
    }
    let steps = crates
        .iter()
        .map(|krate| {
            let mut cmd = nightly_cargo(&[
                "test",
                "-p",
                krate,
                "--lib",
                "--target",
                "x86_64-unknown-linux-gnu",
            ]);
            cmd.current_dir(root())
                .env("RUSTFLAGS", "-Zsanitizer=address")
                .env("RUSTDOCFLAGS", "-Zsanitizer=address")
                .env("ASAN_OPTIONS", "detect_leaks=1")
                .env("CARGO_TARGET_DIR", root().join("target/asan"));
            Step {
                name: format!("asan {krate}"),
                cmd,
            }
        })
        .collect();
    run(steps)
}

/// Entry point of `cargo xtask miri [--crate NAME]..`.
pub fn miri(args: &[String]) -> ExitCode {
    let crates = match selected(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: miri: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(why) = miri_missing() {
        eprintln!("xtask: miri: SKIPPED: {why}.");
        return ExitCode::SUCCESS;
    }
    let steps = crates
        .iter()
        .map(|krate| {
            let mut cmd = nightly_cargo(&["miri", "test", "-p", krate, "--lib"]);
            cmd.current_dir(root())
                .env("CARGO_TARGET_DIR", root().join("target/miri"));
            Step {
                name: format!("miri {krate}"),
                cmd,
            }
        })
        .collect();
    run(steps)
}
