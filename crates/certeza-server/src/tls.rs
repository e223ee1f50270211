//! HTTPS, with optional mutual TLS: a relying party whose policy names a
//! client certificate is only served over a connection that presented it.
//!
//! [`serve_tls`] is [`crate::serve`] over TLS. Each connection's client
//! certificate (when the server asks for one and the client sent one that
//! chains to the configured client CA) is put into every request of that
//! connection as a [`ClientCertificate`] extension, holding the SHA-256 of the
//! certificate's DER bytes; handlers compare it with the fingerprint bound to
//! the caller. Clients without a certificate are still served: the binding is
//! per relying party, not per server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::ServiceExt as _;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file held no certificate or no key, or could not be parsed.
    #[error("{what}: {reason}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the certificates or key.
    #[error("the TLS configuration was refused: {0}")]
    Rustls(String),
}

/// The certificate, key and client CA, as PEM.
pub struct TlsSettings {
    /// The server's certificate chain, leaf first.
    pub certificate_chain_pem: Vec<u8>,
    /// The server's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: Vec<u8>,
    /// CA certificates that client certificates must chain to; `None` asks
    /// clients for no certificate (no mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlsSettings")
            .field("private_key_pem", &"[redacted]")
            .field("client_ca", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of the DER certificate the client presented on this
/// connection, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientCertificate(pub Option<[u8; 32]>);

/// Parses PEM certificates (every `CERTIFICATE` block).
pub fn certificates_from_pem(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Pem { what, reason: error.to_string() })?;
    if certificates.is_empty() {
        return Err(TlsError::Pem { what, reason: "no CERTIFICATE block found".to_owned() });
    }
    Ok(certificates)
}

/// The fingerprint [`ClientCertificate`] carries for the first certificate of `pem`.
pub fn certificate_sha256_from_pem(pem: &[u8]) -> Result<[u8; 32], TlsError> {
    let certificates = certificates_from_pem(pem, "the client certificate")?;
    Ok(crate::sha256(certificates[0].as_ref()))
}

/// Builds the rustls server configuration.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates_from_pem(&settings.certificate_chain_pem, "the server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&settings.private_key_pem)
        .map_err(|error| TlsError::Pem { what: "the server private key", reason: error.to_string() })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Rustls(error.to_string()))?;
    let builder = match &settings.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates_from_pem(pem, "the client CA")? {
                roots.add(certificate).map_err(|error| TlsError::Rustls(error.to_string()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|error| TlsError::Rustls(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| TlsError::Rustls(error.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` over TLS on `listener` until `shutdown` completes, then
/// stops accepting and waits for open connections to finish their requests.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                // A failed or slow handshake is the client's problem.
                _ => return,
            };
            let fingerprint = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certificates| certificates.first())
                .map(|certificate| crate::sha256(certificate.as_ref()));
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ClientCertificate(fingerprint));
                router.clone().oneshot(request)
            });
            let connection =
                hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            let _ = watcher.watch(connection).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
