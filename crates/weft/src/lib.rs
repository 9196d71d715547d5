//! weft: an async runtime toolkit for Rust with every asyncio pattern.
//!
//! ```
//! assert_eq!(weft::block_on(async { 40 + 2 }), 42);
//! ```

#![forbid(unsafe_code)]

pub use weft_reactor::block_on;
