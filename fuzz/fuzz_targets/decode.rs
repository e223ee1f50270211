//! Fuzzes the credential decoder and verifier with arbitrary text, raw and behind both
//! prefixes, and with arbitrary bytes behind the Base45 and zlib layers.
#![no_main]

use certeza_credential::{TrustStore, base45, decode, verify, zlib};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = decode(s);
        let _ = verify(&format!("CZ1:{s}"), &TrustStore::new(), None, 0);
    }
    // Reach the CBOR and COSE layers directly with well-formed outer layers.
    let code = format!("HC1:{}", base45::encode(&zlib::compress(data)));
    let _ = verify(&code, &TrustStore::new(), None, 0);
    let code = format!("CZ1:{}", base45::encode(&zlib::compress(data)));
    if let Ok(d) = decode(&code) {
        // Anything that decodes must re-encode and decode again.
        let again = decode(&d.encode());
        assert!(again.is_ok());
    }
});
