//! Redirect policy, `Location` resolution, and what changes on a hop (method, body,
//! credentials).

use std::fmt;
use std::sync::Arc;

use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{HeaderMap, Method, StatusCode, Uri};

use crate::error::{Error, ProtocolError};

/// One redirect the policy is asked about.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The redirect's status.
    pub status: StatusCode,
    /// Where it points (already resolved against the current URL).
    pub next: &'a Uri,
    /// The URLs visited so far, the first request's included.
    pub previous: &'a [Uri],
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Follow the redirect.
    Follow,
    /// Return the redirect response as it is.
    Stop,
    /// Fail with [`ErrorKind::TooManyRedirects`](crate::ErrorKind::TooManyRedirects).
    TooMany,
}

type Custom = Arc<dyn Fn(&Attempt<'_>) -> Action + Send + Sync>;

/// Which redirects a client follows. The default is [`Policy::limited(10)`](Policy::limited).
///
/// ```
/// use weft_http::redirect::{Action, Policy};
/// // Follow only redirects that stay on the same host.
/// let p = Policy::custom(|a| {
///     if a.next.host() == a.previous[0].host() { Action::Follow } else { Action::Stop }
/// });
/// # let _ = p;
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: PolicyKind,
}

#[derive(Clone)]
enum PolicyKind {
    Limited(usize),
    None,
    Custom(Custom),
}

impl Policy {
    /// Follows up to `max` redirects; one more is an error.
    pub fn limited(max: usize) -> Policy {
        Policy {
            inner: PolicyKind::Limited(max),
        }
    }

    /// Follows none: the 3xx response is returned.
    pub fn none() -> Policy {
        Policy {
            inner: PolicyKind::None,
        }
    }

    /// Decides each redirect with `f`.
    pub fn custom(f: impl Fn(&Attempt<'_>) -> Action + Send + Sync + 'static) -> Policy {
        Policy {
            inner: PolicyKind::Custom(Arc::new(f)),
        }
    }

    pub(crate) fn decide(&self, a: &Attempt<'_>) -> Action {
        match &self.inner {
            PolicyKind::None => Action::Stop,
            PolicyKind::Limited(max) => {
                if a.previous.len() > *max {
                    Action::TooMany
                } else {
                    Action::Follow
                }
            }
            PolicyKind::Custom(f) => f(a),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        match self.inner {
            PolicyKind::Limited(n) => n,
            _ => 0,
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::limited(10)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            PolicyKind::Limited(n) => write!(f, "Policy::limited({n})"),
            PolicyKind::None => f.write_str("Policy::none()"),
            PolicyKind::Custom(_) => f.write_str("Policy::custom(..)"),
        }
    }
}

/// Whether `status` is a redirect we follow.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Resolves a `Location` value against `base` (RFC 3986 §5.2, without dot-segment removal
/// beyond what servers need in practice). Only http and https targets are accepted.
pub(crate) fn resolve(base: &Uri, location: &str) -> Result<Uri, Error> {
    let bad = |w: &str| Error::protocol(ProtocolError::BadRedirect(w.to_string()));
    let location = location.trim();
    if location.is_empty() {
        return Err(bad("empty Location"));
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or("");
    let abs = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.contains("://") {
        location.to_string()
    } else if location.starts_with('?') {
        format!("{scheme}://{authority}{}{location}", base.path())
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{location}")
    };
    let uri: Uri = abs
        .parse()
        .map_err(|_| bad(&format!("unparsable Location {location:?}")))?;
    match uri.scheme_str() {
        Some("http") | Some("https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        _ => Err(bad(&format!("Location {location:?} is not an http(s) URL"))),
    }
}

/// The origin of a URL: scheme, host and port (default ports filled in).
pub(crate) fn origin(u: &Uri) -> (String, String, u16) {
    let scheme = u.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let host = u.host().unwrap_or("").to_ascii_lowercase();
    let port = u
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    (scheme, host, port)
}

/// The method after a redirect: 303 → GET (except HEAD); 301/302 turn POST into GET.
pub(crate) fn next_method(status: StatusCode, method: &Method) -> Method {
    match status.as_u16() {
        303 if *method != Method::HEAD => Method::GET,
        301 | 302 if *method == Method::POST => Method::GET,
        _ => method.clone(),
    }
}

/// Removes the body headers (the method became GET).
pub(crate) fn strip_body_headers(h: &mut HeaderMap) {
    for name in [
        CONTENT_LENGTH,
        CONTENT_TYPE,
        CONTENT_ENCODING,
        TRANSFER_ENCODING,
    ] {
        h.remove(name);
    }
}

/// Removes every instance of the credential headers (a hop to another origin).
pub(crate) fn strip_credentials(h: &mut HeaderMap) {
    for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, HOST] {
        h.remove(name);
    }
    h.remove("cookie2");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        let base: Uri = "https://a.test:8443/x/y?q=1".parse().unwrap();
        let r = |l: &str| resolve(&base, l).unwrap().to_string();
        assert_eq!(r("/z"), "https://a.test:8443/z");
        assert_eq!(r("z"), "https://a.test:8443/x/z");
        assert_eq!(r("//b.test/p"), "https://b.test/p");
        assert_eq!(r("http://c.test/"), "http://c.test/");
        assert_eq!(r("?k=v"), "https://a.test:8443/x/y?k=v");
        assert!(resolve(&base, "ftp://x/").is_err());
        assert!(resolve(&base, "").is_err());
        // Fuzz finding F1: a network-path reference with an empty host.
        assert!(resolve(&base, "//:/x").is_err());
    }

    #[test]
    fn origin_includes_scheme_and_port() {
        let a: Uri = "https://a:8443/".parse().unwrap();
        let b: Uri = "http://a:8443/".parse().unwrap();
        assert_ne!(origin(&a), origin(&b));
        let c: Uri = "https://a/".parse().unwrap();
        let d: Uri = "https://A:443/x".parse().unwrap();
        assert_eq!(origin(&c), origin(&d));
    }

    #[test]
    fn methods_change_as_browsers_do() {
        assert_eq!(
            next_method(StatusCode::SEE_OTHER, &Method::POST),
            Method::GET
        );
        assert_eq!(
            next_method(StatusCode::SEE_OTHER, &Method::HEAD),
            Method::HEAD
        );
        assert_eq!(next_method(StatusCode::FOUND, &Method::POST), Method::GET);
        assert_eq!(
            next_method(StatusCode::TEMPORARY_REDIRECT, &Method::POST),
            Method::POST
        );
        assert_eq!(
            next_method(StatusCode::PERMANENT_REDIRECT, &Method::PUT),
            Method::PUT
        );
    }

    #[test]
    fn limited_policy() {
        let p = Policy::limited(2);
        let u: Uri = "http://a/".parse().unwrap();
        let prev = vec![u.clone(), u.clone()];
        let a = Attempt {
            status: StatusCode::FOUND,
            next: &u,
            previous: &prev,
        };
        assert_eq!(p.decide(&a), Action::Follow);
        let prev = vec![u.clone(), u.clone(), u.clone()];
        let a = Attempt {
            status: StatusCode::FOUND,
            next: &u,
            previous: &prev,
        };
        assert_eq!(p.decide(&a), Action::TooMany);
    }
}
