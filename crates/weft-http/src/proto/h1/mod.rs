//! HTTP/1.1: request head encoding, response head parsing and framing, body decoders, buffered
//! connection I/O.

pub(crate) mod decode;
pub(crate) mod head;
pub(crate) mod io;
pub(crate) mod role;

/// The largest response head accepted (status line and header fields).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields accepted in a response head (and in a trailer section).
pub const MAX_HEADERS: usize = 100;
/// The largest trailer section accepted.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// The most chunk-extension bytes accepted in one body.
pub const MAX_CHUNK_EXT_BYTES: usize = 16 * 1024;
/// The longest chunk-size line accepted.
pub const MAX_CHUNK_LINE: usize = 4 * 1024;
