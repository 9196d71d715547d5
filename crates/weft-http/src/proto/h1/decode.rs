//! Body decoders: Content-Length, chunked (with trailers and limits) and close-delimited.
//!
//! A decoder works in place on the connection's read buffer: [`Decoder::decode`] looks at the
//! buffered bytes and says how many it consumed and which of them (a sub-range) are body data.
//! Nothing is copied here.

use std::ops::Range;

use http::HeaderMap;

use super::head::BodyKind;
use super::{MAX_CHUNK_EXT_BYTES, MAX_CHUNK_LINE, MAX_HEADERS, MAX_TRAILER_BYTES};
use crate::error::{Error, ErrorKind, ProtocolError};

/// The result of one [`Decoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Bytes of the input consumed (data included).
    pub(crate) consumed: usize,
    /// The body data within the input (empty if none).
    pub(crate) data: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Expecting the trailer section (after the last chunk).
    Trailers,
}

/// A body decoder.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    ext_bytes: usize,
    /// Boxed: rare, and a response (which holds the decoder) is moved through every layer of
    /// `send`, so its size is paid in `memcpy` on every request.
    trailers: Option<Box<HeaderMap>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunked),
    Close,
    Done,
}

fn chunk_err(what: &'static str) -> Error {
    Error::protocol(ProtocolError::InvalidChunk(what))
}

/// Parses a chunk-size line (without its CRLF): `1*HEXDIG *( BWS ";" ext )`.
///
/// Stricter than `httparse::parse_chunk_size`: at least one digit, no overflow, no control byte
/// (bare LF or CR included) in extensions.
fn parse_size_line(line: &[u8]) -> Result<(u64, usize), Error> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(chunk_err("empty or non-hex chunk size"));
    }
    if digits > 16 {
        return Err(chunk_err("chunk size overflows 64 bits"));
    }
    let size = line[..digits].iter().fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(16).unwrap_or(0);
        (acc << 4) | u64::from(d)
    });
    let rest = &line[digits..];
    let ws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let ext = &rest[ws..];
    if ext.is_empty() {
        if ws > 0 {
            return Err(chunk_err("whitespace after chunk size"));
        }
        return Ok((size, 0));
    }
    if ext[0] != b';' {
        return Err(chunk_err("junk after chunk size"));
    }
    if ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(chunk_err("control byte in chunk extension"));
    }
    Ok((size, ext.len()))
}

impl Decoder {
    /// A decoder for a body framed as `kind`.
    pub(crate) fn new(kind: BodyKind) -> Decoder {
        let state = match kind {
            BodyKind::Empty | BodyKind::Length(0) => State::Done,
            BodyKind::Length(n) => State::Length(n),
            BodyKind::Chunked => State::Chunked(Chunked::Size),
            BodyKind::CloseDelimited => State::Close,
        };
        Decoder {
            state,
            ext_bytes: 0,
            trailers: None,
        }
    }

    /// Whether the whole body has been decoded.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The remaining byte count, if known (Content-Length framing).
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The trailer fields of a chunked body, once it is done.
    pub(crate) fn take_trailers(&mut self) -> Option<Box<HeaderMap>> {
        self.trailers.take()
    }

    /// Decodes from `input`. `consumed == 0` with empty data means: more input is needed.
    #[cfg(test)]
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        self.decode_max(input, usize::MAX)
    }

    /// Like [`decode`](Decoder::decode), returning at most `max` data bytes.
    pub(crate) fn decode_max(&mut self, input: &[u8], max: usize) -> Result<Decoded, Error> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Done => {
                    return Ok(Decoded {
                        consumed: pos,
                        data: pos..pos,
                    })
                }
                State::Close => {
                    let take = rest.len().min(max);
                    return Ok(Decoded {
                        consumed: pos + take,
                        data: pos..pos + take,
                    });
                }
                State::Length(n) => {
                    let take = (rest.len().min(max) as u64).min(n) as usize;
                    self.state = if take as u64 == n {
                        State::Done
                    } else {
                        State::Length(n - take as u64)
                    };
                    return Ok(Decoded {
                        consumed: pos + take,
                        data: pos..pos + take,
                    });
                }
                State::Chunked(Chunked::Data(n)) => {
                    if rest.is_empty() {
                        return Ok(Decoded {
                            consumed: pos,
                            data: pos..pos,
                        });
                    }
                    let take = (rest.len().min(max) as u64).min(n) as usize;
                    self.state = State::Chunked(if take as u64 == n {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(n - take as u64)
                    });
                    return Ok(Decoded {
                        consumed: pos + take,
                        data: pos..pos + take,
                    });
                }
                State::Chunked(Chunked::DataEnd) => {
                    if rest.len() < 2 {
                        if rest.first().is_some_and(|&b| b != b'\r') {
                            return Err(chunk_err("missing CRLF after chunk data"));
                        }
                        return Ok(Decoded {
                            consumed: pos,
                            data: pos..pos,
                        });
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(chunk_err("missing CRLF after chunk data"));
                    }
                    pos += 2;
                    self.state = State::Chunked(Chunked::Size);
                }
                State::Chunked(Chunked::Size) => {
                    let window = &rest[..rest.len().min(MAX_CHUNK_LINE)];
                    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
                        if rest.len() >= MAX_CHUNK_LINE {
                            return Err(chunk_err("chunk-size line longer than 4 KiB"));
                        }
                        return Ok(Decoded {
                            consumed: pos,
                            data: pos..pos,
                        });
                    };
                    if lf == 0 || rest[lf - 1] != b'\r' {
                        return Err(chunk_err("bare LF in chunk-size line"));
                    }
                    let (size, ext) = parse_size_line(&rest[..lf - 1])?;
                    self.ext_bytes += ext;
                    if self.ext_bytes > MAX_CHUNK_EXT_BYTES {
                        return Err(Error::protocol(ProtocolError::ChunkExtensionsTooLarge));
                    }
                    pos += lf + 1;
                    self.state = State::Chunked(if size == 0 {
                        Chunked::Trailers
                    } else {
                        Chunked::Data(size)
                    });
                }
                State::Chunked(Chunked::Trailers) => {
                    if rest.len() < 2 {
                        return Ok(Decoded {
                            consumed: pos,
                            data: pos..pos,
                        });
                    }
                    if &rest[..2] == b"\r\n" {
                        self.state = State::Done;
                        return Ok(Decoded {
                            consumed: pos + 2,
                            data: pos + 2..pos + 2,
                        });
                    }
                    let window = &rest[..rest.len().min(MAX_TRAILER_BYTES + 4)];
                    let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
                        if rest.len() > MAX_TRAILER_BYTES {
                            return Err(Error::protocol(ProtocolError::TrailersTooLarge));
                        }
                        return Ok(Decoded {
                            consumed: pos,
                            data: pos..pos,
                        });
                    };
                    let section = &rest[..end + 4];
                    if section.len() > MAX_TRAILER_BYTES {
                        return Err(Error::protocol(ProtocolError::TrailersTooLarge));
                    }
                    self.trailers = Some(Box::new(parse_trailers(section)?));
                    self.state = State::Done;
                    let c = pos + section.len();
                    return Ok(Decoded {
                        consumed: c,
                        data: c..c,
                    });
                }
            }
        }
    }

    /// The connection reached EOF. Fine for a close-delimited body; an error otherwise.
    pub(crate) fn eof(&mut self) -> Result<(), Error> {
        match self.state {
            State::Done => Ok(()),
            State::Close => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(Error::new(ErrorKind::IncompleteMessage)),
        }
    }
}

fn parse_trailers(section: &[u8]) -> Result<HeaderMap, Error> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(section, &mut raw) {
        Ok(httparse::Status::Complete((_, fields))) => {
            let mut map = HeaderMap::with_capacity(fields.len());
            for f in fields {
                let name = http::HeaderName::from_bytes(f.name.as_bytes())
                    .map_err(|_| chunk_err("bad trailer field name"))?;
                let value = http::HeaderValue::from_bytes(f.value)
                    .map_err(|_| chunk_err("bad trailer field value"))?;
                map.append(name, value);
            }
            Ok(map)
        }
        Ok(httparse::Status::Partial) => Err(chunk_err("truncated trailer section")),
        Err(httparse::Error::TooManyHeaders) => {
            Err(Error::protocol(ProtocolError::TrailersTooLarge))
        }
        Err(_) => Err(chunk_err("malformed trailer field")),
    }
}

/// Encodes `data` as one chunk (for streaming request bodies): size line, data, CRLF.
pub(crate) fn encode_chunk_header(dst: &mut Vec<u8>, len: usize) {
    use std::io::Write;
    let _ = write!(dst, "{len:X}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `input` in pieces split at `splits`, collecting data; returns (data, trailers).
    fn run(
        kind: BodyKind,
        input: &[u8],
        splits: &[usize],
    ) -> Result<(Vec<u8>, Option<HeaderMap>), Error> {
        let mut d = Decoder::new(kind);
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(input.len())).collect();
        cuts.push(input.len());
        cuts.sort_unstable();
        let mut fed = 0;
        for cut in cuts {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            loop {
                let r = d.decode(&buf)?;
                out.extend_from_slice(&buf[r.data.clone()]);
                buf.drain(..r.consumed);
                if r.consumed == 0 || d.is_done() {
                    break;
                }
            }
        }
        if !d.is_done() {
            d.eof()?;
        }
        assert!(buf.is_empty() || d.is_done());
        Ok((out, d.take_trailers().map(|t| *t)))
    }

    fn chunk_err_of(input: &str) -> ProtocolError {
        match run(BodyKind::Chunked, input.as_bytes(), &[])
            .unwrap_err()
            .kind()
        {
            ErrorKind::Protocol(p) => p.clone(),
            k => panic!("expected protocol error, got {k:?}"),
        }
    }

    #[test]
    fn length_body() {
        let (d, _) = run(BodyKind::Length(5), b"hello", &[2]).unwrap();
        assert_eq!(d, b"hello");
    }

    #[test]
    fn length_leaves_extra_bytes() {
        let mut d = Decoder::new(BodyKind::Length(3));
        let r = d.decode(b"abcdef").unwrap();
        assert_eq!(r.consumed, 3);
        assert!(d.is_done());
    }

    #[test]
    fn truncated_length_is_incomplete() {
        let e = run(BodyKind::Length(10), b"short", &[]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::IncompleteMessage);
    }

    #[test]
    fn chunked_with_trailers() {
        let (d, t) = run(
            BodyKind::Chunked,
            b"5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n",
            &[1, 7, 13],
        )
        .unwrap();
        assert_eq!(d, b"hello world");
        assert_eq!(t.unwrap()["x-sum"], "1");
    }

    #[test]
    fn chunked_rejects_empty_size() {
        assert!(matches!(
            chunk_err_of("\r\n"),
            ProtocolError::InvalidChunk(_)
        ));
    }

    #[test]
    fn chunked_rejects_lf_in_extension() {
        assert!(matches!(
            chunk_err_of("5;a\nb\r\nhello\r\n0\r\n\r\n"),
            ProtocolError::InvalidChunk(_)
        ));
        assert!(matches!(
            chunk_err_of("5\nhello\r\n0\r\n\r\n"),
            ProtocolError::InvalidChunk(_)
        ));
    }

    #[test]
    fn chunked_rejects_bad_sizes() {
        for bad in [
            "+5\r\n",
            "x\r\n",
            "11111111111111111\r\n",
            "5 \r\n",
            "5x\r\n",
        ] {
            assert!(
                matches!(chunk_err_of(bad), ProtocolError::InvalidChunk(_)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            chunk_err_of("3\r\nabcX\r\n"),
            ProtocolError::InvalidChunk(_)
        ));
    }

    #[test]
    fn chunk_extension_limit() {
        let ext = "a".repeat(3000);
        let mut s = String::new();
        for _ in 0..6 {
            s.push_str(&format!("1;{ext}\r\nx\r\n"));
        }
        assert_eq!(chunk_err_of(&s), ProtocolError::ChunkExtensionsTooLarge);
        let line = format!("1;{}\r\n", "a".repeat(MAX_CHUNK_LINE));
        assert!(matches!(
            chunk_err_of(&line),
            ProtocolError::InvalidChunk(_)
        ));
    }

    #[test]
    fn trailer_limits() {
        let big = format!("0\r\nX: {}\r\n\r\n", "a".repeat(MAX_TRAILER_BYTES));
        assert_eq!(chunk_err_of(&big), ProtocolError::TrailersTooLarge);
        let mut many = String::from("0\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("T{i}: 1\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(chunk_err_of(&many), ProtocolError::TrailersTooLarge);
    }

    #[test]
    fn truncated_chunked_is_incomplete() {
        let e = run(BodyKind::Chunked, b"5\r\nhel", &[]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::IncompleteMessage);
    }

    #[test]
    fn close_delimited_ends_at_eof() {
        let (d, _) = run(BodyKind::CloseDelimited, b"all of it", &[3]).unwrap();
        assert_eq!(d, b"all of it");
    }

    fn encode(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks.iter().filter(|c| !c.is_empty()) {
            encode_chunk_header(&mut out, c.len());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn chunked_round_trip(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            splits in proptest::collection::vec(0usize..3000, 0..10),
        ) {
            let wire = encode(&chunks);
            let (data, _) = run(BodyKind::Chunked, &wire, &splits).unwrap();
            let want: Vec<u8> = chunks.concat();
            prop_assert_eq!(data, want);
        }

        #[test]
        fn decoder_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200), splits in proptest::collection::vec(0usize..200, 0..5)) {
            let _ = run(BodyKind::Chunked, &input, &splits);
        }
    }
}
