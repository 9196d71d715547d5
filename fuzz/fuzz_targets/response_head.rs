#![no_main]
//! cargo-fuzz target `response_head`: the body is `weft_fuzz::head::run` (shared with the stable replay tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_fuzz::head::run(data));
