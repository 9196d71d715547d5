//! The wire protocol. Only HTTP/1.1 for now.

pub(crate) mod h1;
