//! The bodies of weft's fuzz targets, as plain functions: `run(data)` panics when an invariant
//! breaks. The cargo-fuzz binaries in `fuzz_targets/` call them; the stable tests include the same
//! files with `#[path]` and replay `corpus/` and `regressions/` (and, in the xtask fallback, a
//! bounded random-input loop from [`driver`]).

pub mod chunked;
pub mod driver;
pub mod head;
pub mod redirect;
pub mod wheel;
