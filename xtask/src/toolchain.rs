//! What the machine offers beyond the stable toolchain: a nightly toolchain, cargo-fuzz, Miri,
//! valgrind. Each probe runs the tool's `--version` and never installs anything.

use std::process::{Command, Stdio};

/// Whether `cmd` runs and exits successfully (output discarded).
pub fn works(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo +nightly <args>`. Through rustup's proxy: plain `cargo`, not `$CARGO`, which points
/// at the stable toolchain's binary when run by `cargo xtask`.
pub fn nightly_cargo(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").args(args);
    // `cargo xtask` exports the stable toolchain's RUSTC/RUSTDOC paths; nightly needs its own.
    c.env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN");
    c
}

/// Why nightly is unusable, or `None` when `cargo +nightly` works.
pub fn nightly_missing() -> Option<String> {
    if works(&mut nightly_cargo(&["--version"])) {
        None
    } else {
        Some("no nightly toolchain (`rustup toolchain install nightly`)".into())
    }
}

/// Why `cargo +nightly fuzz` is unusable, or `None`.
pub fn cargo_fuzz_missing() -> Option<String> {
    nightly_missing().or_else(|| {
        (!works(&mut nightly_cargo(&["fuzz", "--version"])))
            .then(|| "cargo-fuzz is not installed (`cargo install cargo-fuzz`)".into())
    })
}

/// Why `cargo +nightly miri` is unusable, or `None`.
pub fn miri_missing() -> Option<String> {
    nightly_missing().or_else(|| {
        (!works(&mut nightly_cargo(&["miri", "--version"]))).then(|| {
            "Miri is not installed for nightly (`rustup +nightly component add miri`)".into()
        })
    })
}
