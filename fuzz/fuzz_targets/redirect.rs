#![no_main]
//! cargo-fuzz target `redirect`: the body is `weft_fuzz::redirect::run` (shared with the stable
//! replay tests), without the empty-host check until finding F1 (docs/hardening.md) is fixed;
//! then call `run` here again.

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_fuzz::redirect::run_tolerating_open_findings(data));
