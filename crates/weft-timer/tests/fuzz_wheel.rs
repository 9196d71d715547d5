//! The `timer_wheel` fuzz target of `fuzz/` on the stable toolchain: the committed corpus and
//! regressions are replayed (in CI), plus a few thousand mutated programs with a fixed seed; the
//! `#[ignore]`d `random_timer_wheel` runs the bounded random loop for `WEFT_FUZZ_SECONDS`
//! (default 10), which `cargo xtask fuzz` falls back to without nightly and cargo-fuzz.

#[path = "../../../fuzz/src/driver.rs"]
mod driver;
#[path = "../../../fuzz/src/wheel.rs"]
mod wheel;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn replay_timer_wheel() {
    assert!(driver::replay(&fuzz_dir(), "timer_wheel", wheel::run) > 0);
    assert!(driver::findings(&fuzz_dir(), "timer_wheel").is_empty());
}

#[test]
fn mutated_smoke() {
    driver::smoke(&fuzz_dir(), "timer_wheel", wheel::run, 2000);
}

#[test]
#[ignore = "bounded random fuzzing; run by `cargo xtask fuzz`"]
fn random_timer_wheel() {
    driver::random_from_env(&fuzz_dir(), "timer_wheel", wheel::run);
}
