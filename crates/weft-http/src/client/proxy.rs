//! HTTP proxies, reached over TCP (`http://` proxy URLs) or TLS (`https://`): absolute-form
//! requests for `http://` targets, `CONNECT` tunnels for `https://` targets, `NO_PROXY` matching, and the `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment.

use std::fmt;

use http::Uri;

use crate::error::{Error, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Http,
    Https,
    All,
}

/// The proxy a request goes through, as part of the pool key (connections through different
/// proxies or credentials are never shared).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ProxyEndpoint {
    pub(crate) host: Box<str>,
    pub(crate) port: u16,
    /// Whether the connection to the proxy itself is TLS (an `https://` proxy URL).
    pub(crate) tls: bool,
    /// The `Proxy-Authorization` value, if any.
    pub(crate) auth: Option<Box<str>>,
}

impl fmt::Debug for ProxyEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        if self.auth.is_some() {
            f.write_str(" (with credentials)")?;
        }
        Ok(())
    }
}

/// A proxy for some or all requests.
///
/// ```
/// use weft_http::{Client, Proxy};
/// let client = Client::builder()
///     .proxy(Proxy::all("http://proxy.internal:3128")?.no_proxy("localhost, .corp.example"))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), weft_http::Error>(())
/// ```
#[derive(Clone)]
pub struct Proxy {
    scope: Scope,
    endpoint: ProxyEndpoint,
    no_proxy: Vec<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("scope", &self.scope)
            .field("endpoint", &self.endpoint)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    fn new(scope: Scope, url: &str) -> Result<Proxy, Error> {
        let with_scheme = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let u: Uri = with_scheme
            .parse()
            .map_err(|e| Error::builder(format!("invalid proxy URL {url:?}: {e}")))?;
        let tls = match u.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(Error::builder(format!(
                    "proxy URL {url:?}: only http:// and https:// proxies are supported"
                )))
            }
        };
        let authority = u
            .authority()
            .ok_or_else(|| Error::builder(format!("proxy URL {url:?} has no host")))?;
        let auth = authority
            .as_str()
            .rsplit_once('@')
            .map(|(userinfo, _)| basic(userinfo));
        Ok(Proxy {
            scope,
            endpoint: ProxyEndpoint {
                host: authority.host().to_ascii_lowercase().into_boxed_str(),
                port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
                tls,
                auth,
            },
            no_proxy: Vec::new(),
        })
    }

    /// A proxy for `http://` URLs.
    pub fn http(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::Http, url)
    }

    /// A proxy for `https://` URLs (through `CONNECT`).
    pub fn https(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::Https, url)
    }

    /// A proxy for every URL.
    pub fn all(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::All, url)
    }

    /// Credentials for the proxy (`Proxy-Authorization: Basic ...`).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        self.endpoint.auth = Some(basic(&format!("{user}:{password}")));
        self
    }

    /// Hosts that bypass this proxy: a comma-separated list as in `NO_PROXY` (`*` for all,
    /// `example.com` or `.example.com` for a domain and its subdomains, or an IP address).
    pub fn no_proxy(mut self, list: &str) -> Proxy {
        self.no_proxy.extend(
            list.split(',')
                .map(|s| s.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|s| !s.is_empty()),
        );
        self
    }

    fn bypass(&self, host: &str) -> bool {
        let host = super::connect::bare_host(host);
        self.no_proxy.iter().any(|p| {
            p == "*"
                || host == p
                || (host.len() > p.len()
                    && host.ends_with(p.as_str())
                    && host.as_bytes()[host.len() - p.len() - 1] == b'.')
        })
    }

    fn applies(&self, https: bool, host: &str) -> bool {
        let scheme_ok = match self.scope {
            Scope::All => true,
            Scope::Http => !https,
            Scope::Https => https,
        };
        scheme_ok && !self.bypass(host)
    }
}

fn basic(userinfo: &str) -> Box<str> {
    format!("Basic {}", super::request::base64(userinfo.as_bytes())).into_boxed_str()
}

/// The proxy for a request to `host` (`https` or not), if any.
pub(crate) fn select<'a>(
    proxies: &'a [Proxy],
    https: bool,
    host: &str,
) -> Option<&'a ProxyEndpoint> {
    proxies
        .iter()
        .find(|p| p.applies(https, host))
        .map(|p| &p.endpoint)
}

/// Proxies from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case).
pub(crate) fn from_env() -> Result<Vec<Proxy>, Error> {
    let var = |name: &str| {
        std::env::var(name)
            .or_else(|_| std::env::var(name.to_ascii_lowercase()))
            .ok()
            .filter(|v| !v.trim().is_empty())
    };
    let no_proxy = var("NO_PROXY").unwrap_or_default();
    let mut out = Vec::new();
    for (name, scope) in [
        ("HTTP_PROXY", Scope::Http),
        ("HTTPS_PROXY", Scope::Https),
        ("ALL_PROXY", Scope::All),
    ] {
        if let Some(v) = var(name) {
            out.push(Proxy::new(scope, v.trim())?.no_proxy(&no_proxy));
        }
    }
    Ok(out)
}

/// The error for a refused `CONNECT`.
pub(crate) fn connect_refused(status: http::StatusCode) -> Error {
    Error::new(ErrorKind::Connect).with_source(format!(
        "the proxy refused the CONNECT tunnel with status {status} (check the proxy address and \
         credentials)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credentials_and_no_proxy() {
        let p = Proxy::all("http://user:pw@Proxy.Local:3128")
            .unwrap()
            .no_proxy("localhost, .corp.test,*.x");
        assert_eq!(&*p.endpoint.host, "proxy.local");
        assert_eq!(p.endpoint.port, 3128);
        assert_eq!(p.endpoint.auth.as_deref(), Some("Basic dXNlcjpwdw=="));
        assert!(p.bypass("localhost"));
        assert!(p.bypass("a.corp.test"));
        assert!(p.bypass("corp.test"));
        assert!(!p.bypass("evilcorp.test"));
        assert!(!p.bypass("example.com"));
        assert!(Proxy::all("socks5://h:1").is_err());
        let tls = Proxy::all("https://secure.proxy").unwrap();
        assert!(tls.endpoint.tls);
        assert_eq!(tls.endpoint.port, 443);
        assert!(!p.endpoint.tls);
        assert_eq!(format!("{:?}", tls.endpoint), "https://secure.proxy:443");
        let list = [Proxy::https("h:8080").unwrap()];
        assert!(select(&list, false, "a").is_none());
        assert_eq!(select(&list, true, "a").unwrap().port, 8080);
    }
}
