//! `cargo xtask fuzz [--seconds N]`: every target of `fuzz/` for N seconds (default 60).
//!
//! With a nightly toolchain and cargo-fuzz: `cargo +nightly fuzz run <target>` with
//! `-max_total_time=N` over the committed corpus (new inputs go to `target/fuzz-corpus/`). Otherwise it says which is missing and runs
//! the stable fallback instead: the corpus replay, then the bounded random-input loop
//! (`random_*` ignored tests of weft-http and weft-timer, `WEFT_FUZZ_SECONDS=N` each, one at a
//! time). A failing input is saved under `target/fuzz-crashes/` (fallback) or
//! `fuzz/artifacts/` (cargo-fuzz).

use std::process::ExitCode;

use crate::toolchain::{cargo_fuzz_missing, nightly_cargo};
use crate::{root, run, step, Step};

/// The cargo-fuzz targets and the test binary whose `random_<target>` replays each on stable.
const TARGETS: [(&str, &str, &str); 4] = [
    ("response_head", "weft-http", "fuzz_corpus"),
    ("chunked", "weft-http", "fuzz_corpus"),
    ("redirect", "weft-http", "fuzz_corpus"),
    ("timer_wheel", "weft-timer", "fuzz_wheel"),
];

fn parse_seconds(args: &[String]) -> Result<u64, String> {
    match args {
        [] => Ok(60),
        [flag, n] if flag == "--seconds" => n
            .parse()
            .map_err(|_| format!("--seconds needs a whole number of seconds, not {n:?}")),
        _ => Err("usage: cargo xtask fuzz [--seconds N]".into()),
    }
}

/// Entry point of `cargo xtask fuzz`.
pub fn main(args: &[String]) -> ExitCode {
    let secs = match parse_seconds(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::FAILURE;
        }
    };
    let steps = match cargo_fuzz_missing() {
        None => TARGETS
            .iter()
            .map(|(t, _, _)| {
                // New inputs go to the first corpus directory: a scratch one under target/,
                // so the committed seeds stay small; the committed corpus is read too.
                let scratch = root().join("target/fuzz-corpus").join(t);
                let _ = std::fs::create_dir_all(&scratch);
                let mut cmd = nightly_cargo(&["fuzz", "run", t]);
                cmd.arg(&scratch)
                    .arg(root().join("fuzz/corpus").join(t))
                    .arg("--")
                    .arg(format!("-max_total_time={secs}"))
                    .current_dir(root());
                Step {
                    name: format!("cargo-fuzz {t} ({secs} s)"),
                    cmd,
                }
            })
            .collect(),
        Some(why) => {
            eprintln!(
                "xtask: fuzz: cargo-fuzz SKIPPED: {why}. Running the stable fallback instead: \
                 corpus replay, then a bounded random-input loop (xorshift mutations of the \
                 corpus) over the same target functions, {secs} s per target."
            );
            fallback_steps(secs)
        }
    };
    run(steps)
}

fn fallback_steps(secs: u64) -> Vec<Step> {
    let mut steps = vec![
        step(
            "fuzz replay (weft-http)",
            &["test", "-p", "weft-http", "--test", "fuzz_corpus"],
        ),
        step(
            "fuzz replay (weft-timer)",
            &["test", "-p", "weft-timer", "--test", "fuzz_wheel"],
        ),
    ];
    for (target, krate, test) in TARGETS {
        let filter = format!("random_{target}");
        let mut s = step(
            &format!("fuzz fallback {target} ({secs} s)"),
            &[
                "test",
                "-p",
                krate,
                "--test",
                test,
                "--",
                "--ignored",
                "--exact",
                &filter,
                "--nocapture",
            ],
        );
        s.cmd.env("WEFT_FUZZ_SECONDS", secs.to_string());
        steps.push(s);
    }
    steps
}
