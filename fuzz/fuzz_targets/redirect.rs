#![no_main]
//! cargo-fuzz target `redirect`: the body is `weft_fuzz::redirect::run` (shared with the stable
//! replay tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_fuzz::redirect::run(data));
