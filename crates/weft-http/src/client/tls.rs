//! TLS with rustls (ring provider): configuration, a small async adapter over the reactor's
//! socket, the handshake, the idle probe, and error classification.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
};

use crate::error::{Error, ErrorKind, TlsFailure};
use crate::proto::h1::io::{Probe, Socket};

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

/// A TLS client stream over a reactor socket.
pub(crate) struct TlsStream {
    sock: Socket,
    tls: ClientConnection,
}

fn tls_io_err(e: rustls::Error) -> io::Error {
    let kind = classify(&e);
    io::Error::other(Error::new(ErrorKind::Tls(kind)).with_source(e))
}

impl TlsStream {
    /// Runs the handshake for `name` over `sock`.
    pub(crate) async fn connect(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        sock: Socket,
    ) -> Result<TlsStream, Error> {
        let tls = ClientConnection::new(config, name)
            .map_err(|e| Error::new(ErrorKind::Tls(classify(&e))).with_source(e))?;
        let mut s = TlsStream { sock, tls };
        poll_fn(|cx| s.poll_handshake(cx))
            .await
            .map_err(Error::io)?;
        Ok(s)
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.tls.wants_write() {
                match self.write_tls() {
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match self.sock.poll_writable(cx) {
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Pending => return Poll::Pending,
                        }
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            if !self.tls.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            match self.read_tls() {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during the TLS handshake",
                    )))
                }
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        // Best effort: tell the server why (the alert is queued).
                        let _ = self.write_tls();
                        return Poll::Ready(Err(tls_io_err(e)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.sock.poll_readable(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn read_tls(&mut self) -> io::Result<usize> {
        let mut r: &std::net::TcpStream = self.sock.get_ref();
        self.tls.read_tls(&mut r)
    }

    fn write_tls(&mut self) -> io::Result<usize> {
        let mut w: &std::net::TcpStream = self.sock.get_ref();
        self.tls.write_tls(&mut w)
    }

    /// The socket underneath.
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Reads plaintext. EOF without close_notify is `UnexpectedEof` (truncation).
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            if self.tls.wants_write() {
                let _ = self.write_tls();
            }
            match self.read_tls() {
                Ok(_) => {
                    if let Err(e) = self.tls.process_new_packets() {
                        let _ = self.write_tls();
                        return Poll::Ready(Err(tls_io_err(e)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.sock.poll_readable(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Writes plaintext (buffered in rustls), then pushes records out as far as possible.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = self.tls.writer().write(buf)?;
        match self.poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ if n > 0 => Poll::Ready(Ok(n)),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(0)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes every queued TLS record.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            match self.write_tls() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.sock.poll_writable(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Looks at an idle TLS connection: session tickets and key updates keep it alive;
    /// close_notify or EOF close it; plaintext poisons it.
    pub(crate) fn probe(&mut self) -> Probe {
        loop {
            match self.read_tls() {
                Ok(0) => return Probe::Closed,
                Ok(_) => {
                    if self.tls.process_new_packets().is_err() {
                        return Probe::Closed;
                    }
                    let mut b = [0u8; 1];
                    match self.tls.reader().read(&mut b) {
                        Ok(0) => return Probe::Closed,
                        Ok(_) => return Probe::Garbage,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Probe::Closed,
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Probe::Alive,
                Err(_) => return Probe::Closed,
            }
        }
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        // Best-effort close_notify; never wait for the peer's (aiohttp#11091).
        self.tls.send_close_notify();
        let _ = self.write_tls();
    }
}
