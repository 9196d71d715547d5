//! `Content-Encoding: gzip` / `deflate` decoding (feature `gzip`), bounded by a decoded-size cap
//! that is checked every 1 KiB of input, so a decompression bomb costs at most about 1 MiB of
//! output beyond the cap before it is refused.

use http::HeaderMap;

#[cfg(feature = "gzip")]
mod imp {
    use std::io::Write;

    use http::header::CONTENT_ENCODING;
    use http::HeaderMap;

    use crate::error::{Error, ErrorKind, ProtocolError};

    enum Kind {
        Gzip(flate2::write::GzDecoder<Vec<u8>>),
        Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    }

    /// An incremental decoder for one body.
    pub(crate) struct Inflate {
        kind: Kind,
        produced: u64,
        cap: u64,
    }

    fn decode_err(e: std::io::Error) -> Error {
        Error::protocol(ProtocolError::Decode(e.to_string()))
    }

    impl Inflate {
        /// A decoder if the response is gzip- or deflate-encoded (a single coding).
        pub(crate) fn for_headers(headers: &HeaderMap, cap: u64) -> Option<Inflate> {
            let v = headers
                .get(CONTENT_ENCODING)?
                .to_str()
                .ok()?
                .trim()
                .to_ascii_lowercase();
            let kind = match v.as_str() {
                "gzip" | "x-gzip" => Kind::Gzip(flate2::write::GzDecoder::new(Vec::new())),
                "deflate" => Kind::Zlib(flate2::write::ZlibDecoder::new(Vec::new())),
                _ => return None,
            };
            Some(Inflate {
                kind,
                produced: 0,
                cap,
            })
        }

        fn take(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
            let buf = match &mut self.kind {
                Kind::Gzip(d) => d.get_mut(),
                Kind::Zlib(d) => d.get_mut(),
            };
            self.produced += buf.len() as u64;
            if self.produced > self.cap {
                return Err(Error::new(ErrorKind::BodyTooLarge(self.cap)));
            }
            out.append(buf);
            Ok(())
        }

        /// Decodes `input`, appending the output to `out`.
        pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
            for piece in input.chunks(1024) {
                match &mut self.kind {
                    Kind::Gzip(d) => d.write_all(piece),
                    Kind::Zlib(d) => d.write_all(piece),
                }
                .map_err(decode_err)?;
                self.take(out)?;
            }
            Ok(())
        }

        /// The compressed body ended: flushes the rest.
        pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
            match &mut self.kind {
                Kind::Gzip(d) => d.try_finish(),
                Kind::Zlib(d) => d.try_finish(),
            }
            .map_err(decode_err)?;
            self.take(out)
        }
    }
}

#[cfg(not(feature = "gzip"))]
mod imp {
    use http::HeaderMap;

    use crate::error::Error;

    /// Without the `gzip` feature bodies are passed through as they are.
    pub(crate) enum Inflate {}

    impl Inflate {
        pub(crate) fn for_headers(_: &HeaderMap, _: u64) -> Option<Inflate> {
            None
        }

        pub(crate) fn feed(&mut self, _: &[u8], _: &mut Vec<u8>) -> Result<(), Error> {
            match *self {}
        }

        pub(crate) fn finish(&mut self, _: &mut Vec<u8>) -> Result<(), Error> {
            match *self {}
        }
    }
}

pub(crate) use imp::Inflate;

/// Removes the headers that describe the encoded body once it is decoded for the user.
pub(crate) fn strip_encoding_headers(headers: &mut HeaderMap) {
    headers.remove(http::header::CONTENT_ENCODING);
    headers.remove(http::header::CONTENT_LENGTH);
}
