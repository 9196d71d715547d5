//! An in-memory cookie jar (RFC 6265, the parts a client needs): `Set-Cookie` is stored per
//! domain and path, and sent back to matching URLs only (Secure cookies only over https).
//! Cookies are chosen again for every redirect hop, so a jar never leaks a cookie to another
//! origin. `Max-Age` and `Expires` (Max-Age wins) set an expiry; expired cookies are dropped
//! and never sent.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Uri};

#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    /// Seconds since the Unix epoch after which the cookie is gone (`None`: session cookie).
    expires: Option<i64>,
}

/// Now, in seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The jar.
#[derive(Debug, Default)]
pub(crate) struct Jar {
    cookies: Mutex<Vec<Cookie>>,
}

fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host.parse::<std::net::IpAddr>().is_err())
}

fn path_match(req: &str, cookie: &str) -> bool {
    req == cookie
        || (req.starts_with(cookie)
            && (cookie.ends_with('/') || req.as_bytes().get(cookie.len()) == Some(&b'/')))
}

fn default_path(uri: &Uri) -> String {
    let p = uri.path();
    match p.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => p[..i].to_string(),
    }
}

impl Jar {
    /// Stores the `Set-Cookie` fields of a response from `url`.
    pub(crate) fn store(&self, url: &Uri, headers: &HeaderMap) {
        let host = url.host().unwrap_or("").to_ascii_lowercase();
        let now = now();
        let mut jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        jar.retain(|c| c.expires.is_none_or(|e| e > now));
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let mut c = Cookie {
                name: name.to_string(),
                value: value.trim().to_string(),
                domain: host.clone(),
                host_only: true,
                path: default_path(url),
                secure: false,
                expires: None,
            };
            let mut delete = false;
            let (mut max_age, mut expires) = (None, None);
            for attr in parts {
                let (k, val) = attr.split_once('=').unwrap_or((attr, ""));
                let (k, val) = (k.trim().to_ascii_lowercase(), val.trim());
                match k.as_str() {
                    "domain" if !val.is_empty() => {
                        let d = val.trim_start_matches('.').to_ascii_lowercase();
                        if !domain_match(&host, &d) {
                            // A cookie for a domain the response did not come from.
                            delete = true;
                            c.name.clear();
                        }
                        c.domain = d;
                        c.host_only = false;
                    }
                    "path" if val.starts_with('/') => c.path = val.to_string(),
                    "secure" => c.secure = true,
                    "max-age" => {
                        if let Ok(n) = val.parse::<i64>() {
                            max_age = Some(n);
                        }
                    }
                    "expires" => {
                        if let Some(t) = super::cookie_date::parse(val) {
                            expires = Some(t);
                        }
                    }
                    _ => {}
                }
            }
            if c.name.is_empty() {
                continue;
            }
            // RFC 6265 §5.3 step 3: Max-Age wins over Expires.
            c.expires = match (max_age, expires) {
                (Some(n), _) => Some(now.saturating_add(n)),
                (None, e) => e,
            };
            delete |= c.expires.is_some_and(|e| e <= now);
            jar.retain(|o| !(o.name == c.name && o.domain == c.domain && o.path == c.path));
            if !delete {
                jar.push(c);
            }
        }
    }

    /// The `Cookie` value for a request to `url`, if any cookie matches.
    pub(crate) fn header_for(&self, url: &Uri) -> Option<HeaderValue> {
        let host = url.host().unwrap_or("").to_ascii_lowercase();
        let https = url.scheme_str() == Some("https");
        let path = url.path();
        let now = now();
        let jar = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for c in jar.iter().filter(|c| c.expires.is_none_or(|e| e > now)) {
            let host_ok = if c.host_only {
                host == c.domain
            } else {
                domain_match(&host, &c.domain)
            };
            if host_ok && path_match(path, &c.path) && (https || !c.secure) {
                if !out.is_empty() {
                    out.push_str("; ");
                }
                out.push_str(&c.name);
                out.push('=');
                out.push_str(&c.value);
            }
        }
        if out.is_empty() {
            return None;
        }
        HeaderValue::from_str(&out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(jar: &Jar, url: &str, cookies: &[&str]) {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        jar.store(&url.parse().unwrap(), &h);
    }

    fn get(jar: &Jar, url: &str) -> String {
        jar.header_for(&url.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn domain_path_secure_and_deletion() {
        let jar = Jar::default();
        set(
            &jar,
            "https://www.a.test/app/login",
            &[
                "sid=1; Path=/; Secure",
                "pref=dark",
                "wide=1; Domain=a.test; Path=/",
                "evil=1; Domain=b.test",
            ],
        );
        assert_eq!(
            get(&jar, "https://www.a.test/app/x"),
            "sid=1; pref=dark; wide=1"
        );
        assert_eq!(
            get(&jar, "http://www.a.test/"),
            "wide=1",
            "secure only over https"
        );
        assert_eq!(
            get(&jar, "https://other.a.test/"),
            "wide=1",
            "host-only cookies stay"
        );
        assert_eq!(get(&jar, "https://b.test/"), "");
        assert_eq!(get(&jar, "https://www.a.test/application"), "sid=1; wide=1");
        set(&jar, "https://www.a.test/", &["sid=; Max-Age=0; Path=/"]);
        assert_eq!(get(&jar, "https://www.a.test/app/"), "pref=dark; wide=1");
    }

    #[test]
    fn expires_and_max_age() {
        let jar = Jar::default();
        set(
            &jar,
            "http://e.test/",
            &[
                "future=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT",
                "past=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
                "bad-date=1; Expires=someday",
                // Max-Age wins over Expires, both ways.
                "kept=1; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
                "gone=1; Max-Age=0; Expires=Wed, 21 Oct 2099 07:28:00 GMT",
            ],
        );
        assert_eq!(get(&jar, "http://e.test/"), "future=1; bad-date=1; kept=1");
        // A cookie in the jar is deleted by a later Set-Cookie with a past Expires.
        set(
            &jar,
            "http://e.test/",
            &["future=; Expires=Sun, 06 Nov 1994 08:49:37 GMT"],
        );
        assert_eq!(get(&jar, "http://e.test/"), "bad-date=1; kept=1");
    }
}
