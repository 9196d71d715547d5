//! Target `redirect`: `Location` resolution (`weft_http::__fuzz::resolve_redirect`) and URL
//! parsing with a base (`IntoUrl`). Input: `base\nlocation` (lossy UTF-8); a base that is not an
//! absolute http(s) URL is replaced by a fixed one.
//!
//! Invariants: no panic; errors carry a message; a resolved URL is http(s) with a non-empty host,
//! survives a print/parse round trip, and keeps the base's authority for an absolute-path
//! reference (`/x`, not `//host`).

use weft_http::__fuzz::resolve_redirect;
use weft_http::{IntoUrl, Uri};

/// The target body.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (base, location) = text.split_once('\n').unwrap_or(("", &text));
    let base = match base.parse::<Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => u,
        _ => Uri::from_static("http://example.com/a/b?q=1"),
    };
    match resolve_redirect(&base, location) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(u) => {
            assert!(
                matches!(u.scheme_str(), Some("http" | "https")),
                "scheme of {u}"
            );
            assert!(u.host().is_some_and(|h| !h.is_empty()), "empty host in {u}");
            let printed = u.to_string();
            let back: Uri = printed
                .parse()
                .unwrap_or_else(|e| panic!("resolved URL {printed:?} does not reparse: {e}"));
            assert_eq!(back, u, "round trip of {printed:?}");
            let loc = location.trim();
            if loc.starts_with('/') && !loc.starts_with("//") {
                assert_eq!(u.authority(), base.authority(), "{loc:?} against {base}");
            }
        }
    }
    for b in [Some(&base), None] {
        if let Err(e) = location.into_url(b) {
            assert!(!e.to_string().is_empty());
        }
    }
}
