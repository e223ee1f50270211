//! Fuzzes the strict CBOR reader: decode → encode → decode must be stable.
#![no_main]

use certeza_credential::cbor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = cbor::decode(data) {
        let bytes = v.to_vec();
        let again = cbor::decode(&bytes).expect("re-encoded CBOR must decode");
        assert_eq!(again.to_vec(), bytes);
    }
    let _ = cbor::decode(data).map(|v| certeza_credential::dcc::to_json(&v));
});
