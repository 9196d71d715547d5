//! Target `response_head`: the client's response head parser and framing rules
//! (`weft_http::__fuzz::parse_head`) on arbitrary bytes, with and without a `HEAD` request.
//!
//! Invariants: no panic; errors are typed protocol errors with a message; `Ok(None)` (need more)
//! only below the head size limit; a complete head is no longer than the input or the limit,
//! parses identically on its own, and no proper prefix of it is complete; the framing obeys
//! RFC 9112 §6 (no body for HEAD/1xx/204/304, no Content-Length beside Transfer-Encoding, no
//! Transfer-Encoding on HTTP/1.0, a close-delimited body never keeps the connection alive, a
//! length body matches every Content-Length value).

use weft_http::__fuzz::{parse_head, Framing};
use weft_http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use weft_http::{ErrorKind, Version, MAX_HEAD_BYTES};

/// The target body.
pub fn run(data: &[u8]) {
    check(data, false);
    check(data, true);
}

fn check(buf: &[u8], head_request: bool) {
    let (len, status, version, headers, framing, keep_alive) = match parse_head(buf, head_request) {
        Err(e) => {
            assert!(
                matches!(e.kind(), ErrorKind::Protocol(_)),
                "untyped head error {e:?}"
            );
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(None) => {
            assert!(
                buf.len() <= MAX_HEAD_BYTES,
                "need-more beyond the head limit"
            );
            return;
        }
        Ok(Some(h)) => h,
    };
    assert!(
        len > 0 && len <= buf.len() && len <= MAX_HEAD_BYTES,
        "bad head length {len}"
    );
    let again = parse_head(&buf[..len], head_request)
        .expect("the head alone must parse")
        .expect("the head alone must be complete");
    assert_eq!(
        (again.0, again.1, again.2, again.4, again.5),
        (len, status, version, framing, keep_alive),
        "the head parses differently on its own"
    );
    for k in [len - 1, len / 2] {
        assert!(
            !matches!(parse_head(&buf[..k], head_request), Ok(Some(_))),
            "a prefix of {k} bytes of a {len}-byte head is complete"
        );
    }
    let code = status.as_u16();
    if head_request || (100..200).contains(&code) || code == 204 || code == 304 {
        assert_eq!(
            framing,
            Framing::Empty,
            "status {code} (HEAD: {head_request}) has a body"
        );
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        assert!(
            !headers.contains_key(CONTENT_LENGTH),
            "CL and TE both accepted"
        );
        assert_eq!(version, Version::HTTP_11, "TE accepted on HTTP/1.0");
    }
    if framing == Framing::CloseDelimited {
        assert!(
            !keep_alive,
            "close-delimited body keeps the connection alive"
        );
    }
    if let Framing::Length(n) = framing {
        assert!(n > 0);
        for v in headers.get_all(CONTENT_LENGTH) {
            for part in v.to_str().expect("accepted CL is ASCII").split(',') {
                assert_eq!(part.trim().parse::<u64>().ok(), Some(n), "CL {v:?} vs {n}");
            }
        }
    }
}
