//! Target `chunked`: the client's chunked body decoder (`weft_http::__fuzz::BodyDecoder`).
//!
//! Two checks per input:
//! 1. The input as a raw chunked body: decoding it in one buffer and decoding it fed in pieces
//!    with small read limits (both derived from the input) give the same data, the same outcome
//!    (complete, error, or incomplete at EOF), the same bytes consumed and the same trailers.
//!    Errors are typed (protocol or incomplete-message).
//! 2. The input as payload: cut into chunks, encoded (sizes in either case, optional extensions,
//!    an optional trailer), decoded in pieces: exactly the payload and the trailer come back.

use weft_http::__fuzz::{BodyDecoder, Framing};
use weft_http::{ErrorKind, HeaderMap};

/// How a decode ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done {
        consumed: usize,
        trailers: Option<HeaderMap>,
    },
    Error,
    IncompleteAtEof,
}

/// Feeds `input` in pieces of `pieces` sizes (cycled; 0 means all at once), reading at most `max`
/// data bytes per call. Returns the data and how it ended.
fn decode(input: &[u8], pieces: &[usize], max: usize) -> (Vec<u8>, End) {
    let mut d = BodyDecoder::new(Framing::Chunked);
    let (mut buf, mut data) = (Vec::new(), Vec::new());
    let (mut fed, mut consumed, mut turn) = (0, 0, 0);
    loop {
        match d.decode(&buf, max) {
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Protocol(_) | ErrorKind::IncompleteMessage
                    ),
                    "untyped decode error {e:?}"
                );
                assert!(!e.to_string().is_empty());
                return (data, End::Error);
            }
            Ok((used, range)) => {
                assert!(used <= buf.len() && range.end <= used && range.start <= range.end);
                data.extend_from_slice(&buf[range.clone()]);
                buf.drain(..used);
                consumed += used;
                if d.is_done() {
                    let trailers = d.take_trailers();
                    return (data, End::Done { consumed, trailers });
                }
                if used > 0 || !range.is_empty() {
                    continue;
                }
            }
        }
        if fed == input.len() {
            assert!(d.eof().is_err(), "EOF accepted inside a chunked body");
            return (data, End::IncompleteAtEof);
        }
        let step = pieces.get(turn % pieces.len().max(1)).copied().unwrap_or(0);
        turn += 1;
        let n = if step == 0 {
            input.len() - fed
        } else {
            step.min(input.len() - fed)
        };
        buf.extend_from_slice(&input[fed..fed + n]);
        fed += n;
    }
}

fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The target body.
pub fn run(data: &[u8]) {
    let h = hash(data);
    let pieces: Vec<usize> = (0..4)
        .map(|i| ((h >> (i * 8)) & 0x7) as usize + 1)
        .collect();
    let max = ((h >> 40) & 0xf) as usize + 1;
    let whole = decode(data, &[0], usize::MAX);
    let split = decode(data, &pieces, max);
    assert_eq!(
        whole, split,
        "one-shot and piecewise decoding differ (pieces {pieces:?}, max {max})"
    );
    round_trip(data, h);
}

fn round_trip(payload: &[u8], h: u64) {
    let mut wire = Vec::new();
    let mut rest = payload;
    let mut i = 0;
    while !rest.is_empty() {
        let n = (((h >> (i % 8 * 8)) & 0x1f) as usize + 1).min(rest.len());
        if (h >> (i % 64)) & 1 == 0 {
            wire.extend_from_slice(format!("{n:x}").as_bytes());
        } else {
            wire.extend_from_slice(format!("{n:X}").as_bytes());
        }
        if i < 256 && (h >> ((i + 7) % 64)) & 1 == 1 {
            wire.extend_from_slice(b";ext=\"v\"");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&rest[..n]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    wire.extend_from_slice(b"0\r\n");
    let with_trailer = h & 0x100 != 0;
    if with_trailer {
        wire.extend_from_slice(b"x-check: done\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    let end = wire.len();
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n"); // pipelined bytes must not be consumed
    let (data, how) = decode(&wire, &[3, 1, 7, 2], 5);
    assert_eq!(data, payload, "round trip lost or changed data");
    match how {
        End::Done { consumed, trailers } => {
            assert_eq!(consumed, end, "consumed past the body's end");
            let got = trailers
                .as_ref()
                .and_then(|t| t.get("x-check"))
                .map(|v| v.as_bytes());
            assert_eq!(got, with_trailer.then_some(&b"done"[..]), "trailer lost");
        }
        other => panic!("well-formed chunked body ended as {other:?}"),
    }
}
