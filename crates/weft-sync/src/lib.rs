//! Runtime-agnostic async synchronization primitives for weft.
//!
//! Works under any executor (weft, tokio, smol): nothing here depends on a runtime.

#![forbid(unsafe_code)]
