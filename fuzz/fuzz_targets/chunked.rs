#![no_main]
//! cargo-fuzz target `chunked`: the body is `weft_fuzz::chunked::run` (shared with the stable replay tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_fuzz::chunked::run(data));
