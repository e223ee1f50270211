//! HTTPS and mutual TLS over a real socket: a relying party bound to a client
//! certificate is served only over a connection that presented it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use certeza_server::tls::{ClientCertificate, TlsSettings, certificate_sha256_from_pem, serve_tls, server_config};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::verification::{body, fields_of, fixture, policy};

/// A certificate authority that signs test certificates.
struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Self { certificate: params.self_signed(&key).unwrap(), key }
    }

    /// A leaf certificate and its key, as PEM.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>()).unwrap();
        params.extended_key_usages = vec![usage];
        let certificate = params.signed_by(&key, &self.certificate, &self.key).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Sends one HTTP/1.1 request over TLS (with `client` as the client
/// certificate, if any) and returns the status code, or `None` when the
/// server ended the connection instead of answering.
async fn call(
    address: std::net::SocketAddr,
    server_ca_pem: &str,
    client: Option<&(String, String)>,
    request: &str,
) -> Option<u16> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(server_ca_pem.as_bytes()).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.ok()?;
    tls.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn verification_request(key: &str, body: &str) -> String {
    format!(
        "POST /v1/verifications HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_relying_party_bound_to_a_client_certificate_needs_it_over_mutual_tls() {
    let fixture = fixture();
    let server_authority = Authority::new("Certeza test server CA");
    let (server_certificate, server_key) = server_authority.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let client_authority = Authority::new("Certeza test client CA");
    let bank = client_authority.issue(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let impostor = client_authority.issue(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let outsider = Authority::new("Someone else").issue(&[], ExtendedKeyUsagePurpose::ClientAuth);

    let mut bound = policy(true, 1000, 0.9, 1000);
    bound.client_certificate_sha256 =
        Some(certeza_crypto::to_hex(&certificate_sha256_from_pem(bank.0.as_bytes()).unwrap()));
    let bound_policy = serde_json::to_string(&bound).unwrap();
    fixture
        .store
        .add_relying_party("Banco Con Certificado", &certeza_server::sha256(b"key-mtls"), &bound_policy, 1)
        .unwrap();

    let config = server_config(&TlsSettings {
        certificate_chain_pem: server_certificate.into_bytes(),
        private_key_pem: server_key.into_bytes(),
        client_ca_pem: Some(client_authority.certificate.pem().into_bytes()),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_tls(listener, fixture.app.clone(), config, async {
        let _ = stopped.await;
    }));
    let server_ca = server_authority.certificate.pem();
    let person = &fixture.people[0];
    let request = |key: &str, id: &str| verification_request(key, &body(id, fields_of(person)));

    // The bound relying party with its certificate is answered.
    assert_eq!(call(address, &server_ca, Some(&bank), &request("key-mtls", "t-1")).await, Some(200));
    // Without a certificate, with another one from the same CA: unauthorised.
    assert_eq!(call(address, &server_ca, None, &request("key-mtls", "t-2")).await, Some(401));
    assert_eq!(call(address, &server_ca, Some(&impostor), &request("key-mtls", "t-3")).await, Some(401));
    // A certificate from an unknown CA does not get through the handshake.
    assert_eq!(call(address, &server_ca, Some(&outsider), &request("key-mtls", "t-4")).await, None);
    // A relying party with no binding is served with its API key alone.
    assert_eq!(call(address, &server_ca, None, &request("key-uno", "t-5")).await, Some(200));
    let health = "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    assert_eq!(call(address, &server_ca, None, health).await, Some(200));

    // Over plain HTTP (no connection certificate at all) the bound party is refused.
    let (status, _, text) =
        super::verification::post(&fixture.app, Some("key-mtls"), body("t-6", fields_of(person))).await;
    assert_eq!(status, 401, "{text}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn bad_tls_material_is_a_clear_error() {
    let error = server_config(&TlsSettings {
        certificate_chain_pem: b"not a certificate".to_vec(),
        private_key_pem: Vec::new(),
        client_ca_pem: None,
    })
    .unwrap_err();
    assert!(error.to_string().contains("the server certificate"), "{error}");
    assert!(certificate_sha256_from_pem(b"").is_err());
    // The fingerprint is over the certificate's DER bytes.
    let (certificate, _) = Authority::new("x").issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let der = CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap();
    assert_eq!(certificate_sha256_from_pem(certificate.as_bytes()).unwrap(), certeza_server::sha256(der.as_ref()));
    let _ = ClientCertificate(None);
}
