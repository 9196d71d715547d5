//! TLS with rustls (ring provider): certificates, the client configuration and error
//! classification. The stream itself is in [`tls_stream`](super::tls_stream).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::error::{Error, TlsFailure};

/// A PEM or DER certificate to trust as a root.
#[derive(Clone)]
pub struct Certificate {
    der: CertificateDer<'static>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate").finish_non_exhaustive()
    }
}

impl Certificate {
    /// A certificate from DER bytes.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Certificate {
        Certificate {
            der: CertificateDer::from(der.into()),
        }
    }

    /// Every certificate in a PEM document (errors if there is none or one is malformed).
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Certificate>, Error> {
        use rustls::pki_types::pem::PemObject;
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        let certs = certs.map_err(|e| Error::builder(format!("bad PEM certificate: {e}")))?;
        if certs.is_empty() {
            return Err(Error::builder("no certificate found in the PEM input"));
        }
        Ok(certs.into_iter().map(|der| Certificate { der }).collect())
    }

    /// The first certificate of a PEM document.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, Error> {
        Ok(Certificate::from_pem_bundle(pem)?.remove(0))
    }
}

/// A client certificate chain with its private key (mutual TLS).
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// From a PEM document holding the certificate chain and the private key (PKCS#8, PKCS#1
    /// or SEC1).
    pub fn from_pem(pem: &[u8]) -> Result<Identity, Error> {
        use rustls::pki_types::pem::PemObject;
        let chain: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        let chain = chain.map_err(|e| Error::builder(format!("bad PEM certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| Error::builder(format!("no usable private key in the PEM input: {e}")))?;
        if chain.is_empty() {
            return Err(Error::builder("no certificate found in the identity PEM"));
        }
        Ok(Identity { chain, key })
    }
}

/// The TLS settings a client was built with.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) extra_roots: Vec<Certificate>,
    pub(crate) builtin_roots: bool,
    pub(crate) accept_invalid_certs: bool,
    pub(crate) identity: Option<Identity>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration (once per client).
pub(crate) fn build_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::builder(format!("TLS configuration: {e}")))?;
    let builder = if opts.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        if opts.builtin_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for c in &opts.extra_roots {
            roots
                .add(c.der.clone())
                .map_err(|e| Error::builder(format!("bad root certificate: {e}")))?;
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &opts.identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| Error::builder(format!("bad client certificate or key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The verifier behind `danger_accept_invalid_certs`: any certificate, any name, but the
/// handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Maps a rustls error to what the user should know.
pub(crate) fn classify(e: &rustls::Error) -> TlsFailure {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::WrongHost
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsFailure::Expired,
            CertificateError::UnknownIssuer => TlsFailure::Untrusted,
            other => TlsFailure::Other(format!("{other:?}")),
        },
        other => TlsFailure::Other(other.to_string()),
    }
}
