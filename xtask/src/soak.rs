//! `cargo xtask soak [--minutes M]`: the long soak tests, M minutes each (default 5): the HTTP
//! client against a faulty local server (`crates/weft-http/tests/soak.rs`) and the runtime
//! spawn/cancel/join soak (`crates/weft/tests/soak.rs`). They are `#[ignore]`d tests run with
//! `--ignored` and `WEFT_SOAK_SECONDS`; CI runs only their short bounded variants.

use std::process::ExitCode;

use crate::{run, step};

/// The soak tests: (crate, test binary, test name).
const SOAKS: [(&str, &str, &str); 2] = [
    (
        "weft-http",
        "soak",
        "soak_http_client_against_faulty_server",
    ),
    ("weft", "soak", "soak_runtime_spawn_cancel_join"),
];

/// Entry point of `cargo xtask soak`.
pub fn main(args: &[String]) -> ExitCode {
    let minutes: u64 = match args {
        [] => 5,
        [flag, m] if flag == "--minutes" => match m.parse() {
            Ok(m) => m,
            Err(_) => {
                eprintln!("xtask: --minutes needs a whole number, not {m:?}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: cargo xtask soak [--minutes M]");
            return ExitCode::FAILURE;
        }
    };
    let steps = SOAKS
        .iter()
        .map(|(krate, test, name)| {
            let mut s = step(
                &format!("soak {krate} ({minutes} min)"),
                &[
                    "test",
                    "-p",
                    krate,
                    "--test",
                    test,
                    "--",
                    "--ignored",
                    "--exact",
                    name,
                    "--nocapture",
                ],
            );
            s.cmd.env("WEFT_SOAK_SECONDS", (minutes * 60).to_string());
            s
        })
        .collect();
    run(steps)
}
