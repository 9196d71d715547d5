//! `Content-Encoding` decoding: `gzip`/`deflate` (feature `gzip`) and `br` (feature `brotli`),
//! bounded by a decoded-size cap enforced on every write of decoded output, so a decompression
//! bomb is refused as soon as its output passes the cap (brotli's ratio is unbounded in
//! practice: kilobytes can expand to gigabytes).

use http::HeaderMap;

/// The `Accept-Encoding` the client sends by default: the codings it can decode.
pub(crate) const ACCEPT_ENCODING: Option<&str> = if cfg!(all(feature = "gzip", feature = "brotli"))
{
    Some("gzip, deflate, br")
} else if cfg!(feature = "gzip") {
    Some("gzip, deflate")
} else if cfg!(feature = "brotli") {
    Some("br")
} else {
    None
};

#[cfg(any(feature = "gzip", feature = "brotli"))]
mod imp {
    use std::io::{self, Write};

    use http::header::CONTENT_ENCODING;
    use http::HeaderMap;

    use crate::error::{Error, ErrorKind, ProtocolError};

    /// Decoded output, refusing any write that would pass the cap.
    struct Capped {
        buf: Vec<u8>,
        produced: u64,
        cap: u64,
        over: bool,
    }

    impl Write for Capped {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.produced + b.len() as u64 > self.cap {
                self.over = true;
                return Err(io::Error::other("the decoded-size cap was reached"));
            }
            self.produced += b.len() as u64;
            self.buf.extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    enum Kind {
        #[cfg(feature = "gzip")]
        Gzip(flate2::write::GzDecoder<Capped>),
        #[cfg(feature = "gzip")]
        Zlib(flate2::write::ZlibDecoder<Capped>),
        #[cfg(feature = "brotli")]
        Brotli(Box<brotli_decompressor::DecompressorWriter<Capped>>),
    }

    /// An incremental decoder for one body.
    pub(crate) struct Inflate {
        kind: Kind,
        cap: u64,
    }

    impl Inflate {
        /// A decoder if the response is encoded with one coding this build decodes.
        pub(crate) fn for_headers(headers: &HeaderMap, cap: u64) -> Option<Inflate> {
            let v = headers
                .get(CONTENT_ENCODING)?
                .to_str()
                .ok()?
                .trim()
                .to_ascii_lowercase();
            let sink = Capped {
                buf: Vec::new(),
                produced: 0,
                cap,
                over: false,
            };
            let kind = match v.as_str() {
                #[cfg(feature = "gzip")]
                "gzip" | "x-gzip" => Kind::Gzip(flate2::write::GzDecoder::new(sink)),
                #[cfg(feature = "gzip")]
                "deflate" => Kind::Zlib(flate2::write::ZlibDecoder::new(sink)),
                #[cfg(feature = "brotli")]
                "br" => Kind::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                    sink, 4096,
                ))),
                _ => return None,
            };
            Some(Inflate { kind, cap })
        }

        fn sink(&mut self) -> &mut Capped {
            match &mut self.kind {
                #[cfg(feature = "gzip")]
                Kind::Gzip(d) => d.get_mut(),
                #[cfg(feature = "gzip")]
                Kind::Zlib(d) => d.get_mut(),
                #[cfg(feature = "brotli")]
                Kind::Brotli(d) => d.get_mut(),
            }
        }

        /// Moves decoded output to `out`, or names the failure.
        fn take(&mut self, res: io::Result<()>, out: &mut Vec<u8>) -> Result<(), Error> {
            let cap = self.cap;
            let sink = self.sink();
            if sink.over {
                return Err(Error::new(ErrorKind::BodyTooLarge(cap)));
            }
            res.map_err(|e| Error::protocol(ProtocolError::Decode(e.to_string())))?;
            out.append(&mut sink.buf);
            Ok(())
        }

        /// Decodes `input`, appending the output to `out`.
        pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
            let res = match &mut self.kind {
                #[cfg(feature = "gzip")]
                Kind::Gzip(d) => d.write_all(input),
                #[cfg(feature = "gzip")]
                Kind::Zlib(d) => d.write_all(input),
                #[cfg(feature = "brotli")]
                Kind::Brotli(d) => d.write_all(input),
            };
            self.take(res, out)
        }

        /// The compressed body ended: flushes the rest (a truncated stream is an error).
        pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
            let res = match &mut self.kind {
                #[cfg(feature = "gzip")]
                Kind::Gzip(d) => d.try_finish(),
                #[cfg(feature = "gzip")]
                Kind::Zlib(d) => d.try_finish(),
                #[cfg(feature = "brotli")]
                Kind::Brotli(d) => d.close(),
            };
            self.take(res, out)
        }
    }
}

#[cfg(not(any(feature = "gzip", feature = "brotli")))]
mod imp {
    use http::HeaderMap;

    use crate::error::Error;

    /// Without the `gzip` and `brotli` features bodies are passed through as they are.
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
