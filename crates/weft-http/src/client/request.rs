//! `RequestBuilder` and URL input.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};

use super::body::Body;
use super::{Client, Response};
use crate::error::Error;

/// Something that can be a request URL: `&str`, `String`, [`Uri`]. Relative strings are
/// resolved against the client's `base_url`.
pub trait IntoUrl {
    /// Parses (or passes through) the URL.
    fn into_url(self, base: Option<&Uri>) -> Result<Uri, Error>;
}

fn parse_url(s: &str, base: Option<&Uri>) -> Result<Uri, Error> {
    if let Some(base) = base {
        if !s.contains("://") {
            return super::redirect::resolve(base, s)
                .map_err(|_| Error::builder(format!("cannot join {s:?} to the base URL {base}")));
        }
    }
    let u: Uri = s
        .parse()
        .map_err(|e| Error::builder(format!("invalid URL {s:?}: {e}")))?;
    check_url(u)
}

fn check_url(u: Uri) -> Result<Uri, Error> {
    match u.scheme_str() {
        Some("http") | Some("https") => {}
        Some(other) => {
            return Err(Error::builder(format!(
                "unsupported URL scheme {other:?} in {u} (only http and https)"
            )))
        }
        None => {
            return Err(Error::builder(format!(
                "URL {u} has no scheme; write http://... or https://..., or set a base_url"
            )))
        }
    }
    if u.host().is_none_or(str::is_empty) {
        return Err(Error::builder(format!("URL {u} has no host")));
    }
    Ok(u)
}

impl IntoUrl for &str {
    fn into_url(self, base: Option<&Uri>) -> Result<Uri, Error> {
        parse_url(self, base)
    }
}

impl IntoUrl for String {
    fn into_url(self, base: Option<&Uri>) -> Result<Uri, Error> {
        parse_url(&self, base)
    }
}

impl IntoUrl for &String {
    fn into_url(self, base: Option<&Uri>) -> Result<Uri, Error> {
        parse_url(self, base)
    }
}

impl IntoUrl for Uri {
    fn into_url(self, _base: Option<&Uri>) -> Result<Uri, Error> {
        check_url(self)
    }
}

impl IntoUrl for &Uri {
    fn into_url(self, _base: Option<&Uri>) -> Result<Uri, Error> {
        check_url(self.clone())
    }
}

/// Percent-encodes for `application/x-www-form-urlencoded` (space as `+`).
pub(crate) fn form_encode(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode(&mut out, k.as_ref());
        out.push('=');
        form_encode(&mut out, v.as_ref());
    }
    out
}

/// Standard base64 with padding (RFC 4648), for Basic credentials.
pub(crate) fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A request to be sent.
pub(crate) struct RequestParts {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
    pub(crate) timeout: Option<Duration>,
    pub(crate) tls_server_name: Option<String>,
    pub(crate) expect_continue: bool,
}

/// A request being built; [`send`](RequestBuilder::send) sends it. Errors in the builder calls
/// (a bad URL or header) are reported by `send`.
#[must_use = "a RequestBuilder does nothing until .send() is awaited"]
pub struct RequestBuilder {
    client: Client,
    req: Result<RequestParts, Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.req {
            Ok(r) => f
                .debug_struct("RequestBuilder")
                .field("method", &r.method)
                .field("uri", &r.uri)
                .field("headers", &r.headers)
                .field("body", &r.body)
                .finish(),
            Err(e) => f.debug_tuple("RequestBuilder").field(e).finish(),
        }
    }
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: Result<Uri, Error>) -> RequestBuilder {
        RequestBuilder {
            client,
            req: url.map(|uri| RequestParts {
                method,
                uri,
                headers: HeaderMap::new(),
                body: Body::empty(),
                timeout: None,
                tls_server_name: None,
                expect_continue: false,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut RequestParts) -> Result<(), Error>) -> RequestBuilder {
        if let Ok(r) = &mut self.req {
            if let Err(e) = f(r) {
                self.req = Err(e);
            }
        }
        self
    }

    /// Adds a header (repeated names are all sent).
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let kv = (name.try_into(), value.try_into());
        self.with(|r| match kv {
            (Ok(k), Ok(v)) => {
                r.headers.append(k, v);
                Ok(())
            }
            (Err(_), _) => Err(Error::builder("invalid header name")),
            (_, Err(_)) => Err(Error::builder(
                "invalid header value (CR, LF and NUL are not allowed)",
            )),
        })
    }

    /// Adds every header of `headers`.
    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        self.with(|r| {
            for (k, v) in headers.iter() {
                r.headers.append(k.clone(), v.clone());
            }
            Ok(())
        })
    }

    /// Appends `?k=v&...` (form-encoded) to the URL.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(
        self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> RequestBuilder {
        let q = encode_pairs(pairs);
        self.with(|r| {
            if q.is_empty() {
                return Ok(());
            }
            let mut parts = r.uri.clone().into_parts();
            let pq = parts.path_and_query.as_ref().map_or("/", |p| p.as_str());
            let sep = if pq.contains('?') { '&' } else { '?' };
            let new = format!("{pq}{sep}{q}");
            parts.path_and_query = Some(
                new.parse()
                    .map_err(|_| Error::builder("query produced an invalid URL"))?,
            );
            r.uri = Uri::from_parts(parts)
                .map_err(|_| Error::builder("query produced an invalid URL"))?;
            Ok(())
        })
    }

    /// The body (bytes, a string, or a [`Body::wrap_stream`]).
    pub fn body(self, body: impl Into<Body>) -> RequestBuilder {
        let body = body.into();
        self.with(|r| {
            r.body = body;
            Ok(())
        })
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(
        self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> RequestBuilder {
        let encoded = encode_pairs(pairs);
        self.with(|r| {
            r.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            r.body = Body::from(encoded);
            Ok(())
        })
    }

    /// A JSON body (`application/json`).
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> RequestBuilder {
        let v = serde_json::to_vec(value);
        self.with(|r| {
            let v = v.map_err(|e| Error::builder(format!("JSON body: {e}")))?;
            r.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.body = Body::from(v);
            Ok(())
        })
    }

    /// `Authorization: Bearer <token>` (marked sensitive).
    pub fn bearer_auth(self, token: impl fmt::Display) -> RequestBuilder {
        let v = HeaderValue::try_from(format!("Bearer {token}"));
        self.with(|r| {
            let mut v = v.map_err(|_| Error::builder("invalid bearer token"))?;
            v.set_sensitive(true);
            r.headers.insert(AUTHORIZATION, v);
            Ok(())
        })
    }

    /// `Authorization: Basic ...` (marked sensitive).
    pub fn basic_auth(
        self,
        user: impl fmt::Display,
        password: Option<impl fmt::Display>,
    ) -> RequestBuilder {
        let raw = match password {
            Some(p) => format!("{user}:{p}"),
            None => format!("{user}:"),
        };
        let v = HeaderValue::try_from(format!("Basic {}", base64(raw.as_bytes())));
        self.with(|r| {
            let mut v = v.map_err(|_| Error::builder("invalid basic credentials"))?;
            v.set_sensitive(true);
            r.headers.insert(AUTHORIZATION, v);
            Ok(())
        })
    }

    /// A total timeout for this request (overrides the client's `total_timeout`).
    pub fn timeout(self, d: Duration) -> RequestBuilder {
        self.with(|r| {
            r.timeout = Some(d);
            Ok(())
        })
    }

    /// Verifies the server's certificate against `name` and sends it as SNI, instead of the URL's
    /// host (the connection is pooled separately).
    pub fn tls_server_name(self, name: &str) -> RequestBuilder {
        let name = name.to_string();
        self.with(|r| {
            r.tls_server_name = Some(name);
            Ok(())
        })
    }

    /// Sends `Expect: 100-continue` and holds the body back until the server answers
    /// `100 Continue` (or 1 s passes). If the server answers with a final status instead (for
    /// example 401 or 417), the body is never sent and the connection is closed after that
    /// response.
    pub fn expect_continue(self, yes: bool) -> RequestBuilder {
        self.with(|r| {
            r.expect_continue = yes;
            Ok(())
        })
    }

    /// Sends the request and waits for the response head (the body is read from the
    /// [`Response`]).
    ///
    /// Cancel-safe in the pool sense: dropping the future releases its pool slot or connection;
    /// a connection with a request half-written or a response half-read is closed, never reused.
    pub async fn send(self) -> Result<Response, Error> {
        let req = self.req?;
        self.client.execute_parts(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            encode_pairs([("a b", "c&d"), ("é", "=")]),
            "a+b=c%26d&%C3%A9=%3D"
        );
    }

    #[test]
    fn url_checks() {
        assert!("ftp://x/".into_url(None).is_err());
        assert!("/relative".into_url(None).is_err());
        let base: Uri = "http://h:1/a/".parse().unwrap();
        assert_eq!(
            "b".into_url(Some(&base)).unwrap().to_string(),
            "http://h:1/a/b"
        );
        assert!("http://h/x".into_url(Some(&base)).is_ok());
    }
}
