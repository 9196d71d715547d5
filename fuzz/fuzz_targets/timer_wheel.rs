#![no_main]
//! cargo-fuzz target `timer_wheel`: the body is `weft_fuzz::wheel::run` (shared with the stable replay tests).

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_fuzz::wheel::run(data));
