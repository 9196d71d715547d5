//! Request head encoding: one buffer, written in one go.
//!
//! The `http` crate's types already refuse CR, LF and NUL in methods, paths, header names and
//! values, so nothing written here can split the message (aiohttp CVE-2023-49081/49082).

use std::io::Write;

use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Uri};

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFraming {
    /// No body and no `Content-Length` (GET, HEAD, ... without a body).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (a stream of unknown length).
    Chunked,
}

/// Where a request goes: the URL, its `Host` value, and how a proxy (if any) wants it.
pub(crate) struct Target<'a> {
    pub(crate) uri: &'a Uri,
    /// The `Host` value (used unless the headers have one).
    pub(crate) host: HostHeader<'a>,
    /// Absolute-form request target (`GET http://host/path`), for a forwarding proxy.
    pub(crate) absolute: bool,
    /// A `Proxy-Authorization` value for a forwarding proxy.
    pub(crate) proxy_auth: Option<&'a str>,
}

/// The header that asks the server to confirm before the body is sent.
pub(crate) const EXPECT_CONTINUE: &[u8] = b"expect: 100-continue\r\n";

/// Appends the request head to `dst`.
///
/// Framing headers in `headers` are replaced by the ones `framing` implies.
pub(crate) fn encode_head(
    dst: &mut Vec<u8>,
    method: &Method,
    target: &Target<'_>,
    headers: &HeaderMap,
    framing: RequestFraming,
) {
    let (uri, host) = (target.uri, target.host);
    dst.extend_from_slice(method.as_str().as_bytes());
    dst.push(b' ');
    if target.absolute {
        dst.extend_from_slice(uri.scheme_str().unwrap_or("http").as_bytes());
        dst.extend_from_slice(b"://");
        dst.extend_from_slice(uri.authority().map_or("", |a| a.as_str()).as_bytes());
    }
    match uri.path_and_query() {
        Some(pq) if !pq.as_str().is_empty() => {
            let s = pq.as_str();
            if !s.starts_with('/') && s != "*" {
                dst.push(b'/');
            }
            dst.extend_from_slice(s.as_bytes());
        }
        _ => dst.push(b'/'),
    }
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(HOST) {
        dst.extend_from_slice(b"host: ");
        host.write(dst);
        dst.extend_from_slice(b"\r\n");
    }
    if let Some(auth) = target.proxy_auth {
        dst.extend_from_slice(b"proxy-authorization: ");
        dst.extend_from_slice(auth.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => {
            let _ = write!(dst, "content-length: {n}\r\n");
        }
        RequestFraming::Chunked => dst.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    dst.extend_from_slice(b"\r\n");
}

/// A `Host` header value: the host, plus the port when it is not the scheme's default. Written
/// straight into the head (no string is built per request).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostHeader<'a> {
    host: &'a str,
    port: Option<u16>,
}

impl HostHeader<'_> {
    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(self.host.as_bytes());
        if let Some(p) = self.port {
            let _ = write!(dst, ":{p}");
        }
    }
}

/// The `Host` header value for `host`, `port` and the scheme.
pub(crate) fn host_header(host: &str, port: u16, https: bool) -> HostHeader<'_> {
    let default = if https { 443 } else { 80 };
    HostHeader {
        host,
        port: (port != default).then_some(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn get_head() {
        let mut out = Vec::new();
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("*/*"));
        h.insert("content-length", HeaderValue::from_static("99"));
        let uri: Uri = "http://example.com:8080/a?b=1".parse().unwrap();
        let host = host_header("example.com", 8080, false);
        let t = Target {
            uri: &uri,
            host,
            absolute: false,
            proxy_auth: None,
        };
        encode_head(&mut out, &Method::GET, &t, &h, RequestFraming::None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /a?b=1 HTTP/1.1\r\nhost: example.com:8080\r\naccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn post_with_length_and_root_path() {
        let mut out = Vec::new();
        let uri: Uri = "https://example.com".parse().unwrap();
        let host = host_header("example.com", 443, true);
        let t = Target {
            uri: &uri,
            host,
            absolute: false,
            proxy_auth: None,
        };
        encode_head(
            &mut out,
            &Method::POST,
            &t,
            &HeaderMap::new(),
            RequestFraming::Length(3),
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST / HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\n"
        );
        let mut out = Vec::new();
        let uri: Uri = "http://a.test:81/p?q".parse().unwrap();
        let t = Target {
            uri: &uri,
            host: host_header("a.test", 81, false),
            absolute: true,
            proxy_auth: Some("Basic x"),
        };
        encode_head(
            &mut out,
            &Method::GET,
            &t,
            &HeaderMap::new(),
            RequestFraming::None,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET http://a.test:81/p?q HTTP/1.1\r\nhost: a.test:81\r\nproxy-authorization: Basic x\r\n\r\n"
        );
    }

    #[test]
    fn header_values_cannot_carry_crlf() {
        assert!(HeaderValue::from_str("a\r\nInjected: 1").is_err());
        assert!("http://h/a\r\nb".parse::<Uri>().is_err());
    }
}
