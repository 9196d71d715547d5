//! Certificates made at run time for the TLS cells of the HTTP client benchmark (issue 19): a
//! test CA (rcgen) signs a server certificate for `localhost` and `127.0.0.1`; the server gets
//! [`Pki::server_config`], and every client trusts the CA: rustls-based Rust clients through
//! [`Pki::client_config`] or [`Pki::ca_der`], aiohttp (Python's `ssl`) through the PEM file
//! [`Pki::write_ca_pem`] writes. Only rustls' `ring` provider is used (no aws-lc).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the server certificate is valid for; clients connect to `https://127.0.0.1:<port>`.
pub const SERVER_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A run-time CA and the server certificate it signed.
pub struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

/// rustls' `ring` provider (the only one the bench crate builds).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Pki {
    /// Makes a CA and a server certificate for [`SERVER_NAMES`].
    ///
    /// # Errors
    /// If rcgen cannot make or sign a key (a message says which step).
    pub fn new() -> Result<Pki, rcgen::Error> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "weft-benches run-time CA");
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;

        let mut leaf = CertificateParams::new(vec![SERVER_NAMES[0].to_string()])?;
        leaf.subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate()?;
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key)?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server_cert: cert.der().clone(),
            server_key: key.serialize_der(),
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Writes the CA's PEM into `dir` and returns the file's path (for clients outside this
    /// process, such as aiohttp).
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_ca_pem(&self, dir: &Path) -> io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("weft-bench-ca-{}.pem", std::process::id()));
        std::fs::write(&path, &self.ca_pem)?;
        Ok(path)
    }

    /// A rustls server configuration with the server certificate, ALPN `http/1.1`.
    ///
    /// # Errors
    /// If rustls rejects the key or the protocol versions.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.server_cert.clone()], key)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }

    /// A rustls client configuration that trusts only the CA, ALPN `http/1.1`.
    ///
    /// # Errors
    /// If rustls rejects the CA certificate or the protocol versions.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        client_config_trusting(&self.ca_der)
    }
}

/// A rustls client configuration that trusts only `ca` (a [`Pki::ca_der`], also in another
/// process), ALPN `http/1.1`.
///
/// # Errors
/// If rustls rejects the CA certificate or the protocol versions.
pub fn client_config_trusting(
    ca: &CertificateDer<'static>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone())?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::hyper_server::HttpServer;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_tls_server_answers_a_client_that_trusts_the_run_time_ca() {
        let pki = Pki::new().unwrap();
        assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let server = HttpServer::start_tls(pki.server_config().unwrap()).unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(pki.client_config().unwrap()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let reply = rt.block_on(async {
            let fut = async {
                let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
                let name = rustls::pki_types::ServerName::try_from(SERVER_NAMES[1]).unwrap();
                let mut s = connector.connect(name, tcp).await.unwrap();
                s.write_all(b"GET /bytes/5 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out).await; // close_notify may be missing
                String::from_utf8_lossy(&out).into_owned()
            };
            tokio::time::timeout(std::time::Duration::from_secs(60), fut)
                .await
                .expect("TLS round trip hung for 60 s")
        });
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nxxxxx"), "{reply}");
    }
}
