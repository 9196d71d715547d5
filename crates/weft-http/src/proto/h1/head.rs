//! Response head parsing (httparse) and the framing rules of RFC 9112 §6, strictly.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, StatusCode, Version};

use super::{MAX_HEADERS, MAX_HEAD_BYTES};
use crate::error::{Error, ProtocolError};

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No body (HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection (never reusable).
    CloseDelimited,
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    /// How the body is framed.
    pub(crate) body: BodyKind,
    /// Whether the connection may carry another request after this response.
    pub(crate) keep_alive: bool,
}

fn malformed(what: impl Into<String>) -> Error {
    Error::protocol(ProtocolError::MalformedHead(what.into()))
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, or the head and its length in bytes.
/// `head_request` is whether the request was `HEAD` (its response never has a body).
pub(crate) fn parse(
    buf: &[u8],
    head_request: bool,
) -> Result<Option<(ResponseHead, usize)>, Error> {
    // Uninitialized slots: filling 100 empty headers (3.2 KiB) on every parse cost more than
    // parsing a short head.
    let mut raw = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut raw)
    {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD_BYTES {
                return Err(Error::protocol(ProtocolError::HeadTooLarge));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::protocol(ProtocolError::TooManyHeaders))
        }
        Err(e) => return Err(malformed(e.to_string())),
    };
    if len > MAX_HEAD_BYTES {
        return Err(Error::protocol(ProtocolError::HeadTooLarge));
    }
    let version = match resp.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let code = resp.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| malformed("status code out of range"))?;
    let mut headers = HeaderMap::with_capacity(resp.headers.len());
    // One copy of the head; every value is a slice of it (one allocation, not one per value).
    let shared = Bytes::copy_from_slice(&buf[..len]);
    let base = buf.as_ptr() as usize;
    for h in resp.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| malformed(format!("bad header name {:?}", h.name)))?;
        // httparse's values are sub-slices of `buf[..len]`.
        let start = (h.value.as_ptr() as usize).wrapping_sub(base);
        let value = match shared.get(start..start + h.value.len()) {
            Some(v) if v == h.value => {
                HeaderValue::from_maybe_shared(shared.slice(start..start + h.value.len()))
            }
            _ => HeaderValue::from_bytes(h.value),
        }
        .map_err(|_| malformed(format!("bad value for header {name}")))?;
        headers.append(name, value);
    }
    let (body, keep_alive) = framing(status, version, &headers, head_request)?;
    Ok(Some((
        ResponseHead {
            status,
            version,
            headers,
            body,
            keep_alive,
        },
        len,
    )))
}

/// Whether a comma-separated header (all its lines) contains `token` (case-insensitive).
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// Parses every `Content-Length` value; they must be plain decimal numbers and all equal.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Error> {
    let mut found: Option<u64> = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        for part in v.as_bytes().split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(Error::protocol(ProtocolError::InvalidContentLength));
            }
            let n = part
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            match found {
                Some(prev) if prev != n => {
                    return Err(Error::protocol(ProtocolError::ConflictingContentLength))
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// The body framing and keep-alive decision for a response (RFC 9112 §6.3, §9.3).
pub(crate) fn framing(
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
    head_request: bool,
) -> Result<(BodyKind, bool), Error> {
    let has_te = headers.contains_key(TRANSFER_ENCODING);
    let cl = content_length(headers)?;
    if has_te && headers.contains_key(CONTENT_LENGTH) {
        return Err(Error::protocol(
            ProtocolError::ContentLengthAndTransferEncoding,
        ));
    }
    if has_te && version == Version::HTTP_10 {
        return Err(Error::protocol(ProtocolError::TransferEncodingOnHttp10));
    }
    let mut keep_alive = if version == Version::HTTP_10 {
        has_token(headers, &CONNECTION, "keep-alive")
    } else {
        !has_token(headers, &CONNECTION, "close")
    };
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let body = if no_body {
        BodyKind::Empty
    } else if has_te {
        // The final coding must be `chunked`; anything else is read until close.
        let last = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .map(|t| t.trim_ascii())
            .rfind(|t| !t.is_empty())
            .unwrap_or(b"");
        if last.eq_ignore_ascii_case(b"chunked") {
            BodyKind::Chunked
        } else {
            BodyKind::CloseDelimited
        }
    } else {
        match cl {
            Some(0) => BodyKind::Empty,
            Some(n) => BodyKind::Length(n),
            None => BodyKind::CloseDelimited,
        }
    };
    if body == BodyKind::CloseDelimited {
        keep_alive = false;
    }
    Ok((body, keep_alive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn p(s: &str) -> Result<Option<(ResponseHead, usize)>, Error> {
        parse(s.as_bytes(), false)
    }

    fn proto(s: &str) -> ProtocolError {
        match p(s).unwrap_err().kind() {
            ErrorKind::Protocol(p) => p.clone(),
            k => panic!("expected a protocol error, got {k:?}"),
        }
    }

    #[test]
    fn simple_content_length() {
        let (h, n) = p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert_eq!(n, 38);
        assert_eq!(h.status, 200);
        assert_eq!(h.body, BodyKind::Length(5));
        assert!(h.keep_alive);
    }

    #[test]
    fn partial_head_needs_more() {
        assert!(p("HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
    }

    #[test]
    fn cl_and_te_is_rejected() {
        assert_eq!(
            proto("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ProtocolError::ContentLengthAndTransferEncoding
        );
        assert_eq!(
            proto("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
            ProtocolError::ContentLengthAndTransferEncoding
        );
    }

    #[test]
    fn conflicting_content_lengths_rejected_identical_collapsed() {
        assert_eq!(
            proto("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            ProtocolError::ConflictingContentLength
        );
        assert_eq!(
            proto("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"),
            ProtocolError::ConflictingContentLength
        );
        let (h, _) = p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.body, BodyKind::Length(5));
    }

    #[test]
    fn content_length_syntax_is_strict() {
        for bad in ["+5", "-5", "0x5", "5 5", "", "5a", "99999999999999999999"] {
            let s = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(proto(&s), ProtocolError::InvalidContentLength, "{bad:?}");
        }
    }

    #[test]
    fn head_over_64k_is_rejected() {
        let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(proto(&big), ProtocolError::HeadTooLarge);
        let complete = format!("{big}\r\n");
        assert_eq!(proto(&complete), ProtocolError::HeadTooLarge);
    }

    #[test]
    fn too_many_headers() {
        let mut s = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..=MAX_HEADERS {
            s.push_str(&format!("X-{i}: 1\r\n"));
        }
        s.push_str("\r\n");
        assert_eq!(proto(&s), ProtocolError::TooManyHeaders);
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |s: &str| p(s).unwrap().unwrap().0.keep_alive;
        assert!(!ka(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!ka("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(ka(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(
            !ka("HTTP/1.1 200 OK\r\n\r\n"),
            "close-delimited is never reusable"
        );
        assert!(ka("HTTP/1.1 204 No Content\r\n\r\n"));
        assert!(ka("HTTP/1.1 304 Not Modified\r\n\r\n"));
    }

    #[test]
    fn framing_choices() {
        let body = |s: &str| p(s).unwrap().unwrap().0.body;
        assert_eq!(
            body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            BodyKind::Chunked
        );
        assert_eq!(
            body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
            BodyKind::CloseDelimited
        );
        assert_eq!(body("HTTP/1.1 200 OK\r\n\r\n"), BodyKind::CloseDelimited);
        assert_eq!(body("HTTP/1.1 204 No Content\r\n\r\n"), BodyKind::Empty);
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
                .unwrap()
                .unwrap()
                .0
                .body,
            BodyKind::Empty
        );
        assert_eq!(
            proto("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ProtocolError::TransferEncodingOnHttp10
        );
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            proto("HTTX/1.1 200 OK\r\n\r\n"),
            ProtocolError::MalformedHead(_)
        ));
        assert!(matches!(
            proto("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"),
            ProtocolError::MalformedHead(_)
        ));
    }
}
