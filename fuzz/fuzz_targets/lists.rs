//! Fuzzes the trust-list, status-list, PEM and certificate parsers.
#![no_main]

use certeza_credential::{Certificate, IssuerKey, StatusList, TrustList, TrustStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = IssuerKey::ed25519(&[1; 32], "root");
    let _ = TrustList::verify(data, &root.public(), 0);
    let mut trust = TrustStore::new();
    trust.add_issuer(&root);
    let _ = StatusList::from_signed(data, &trust, 0);
    let _ = Certificate::from_der(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = TrustStore::new().add_pem(s);
    }
});
