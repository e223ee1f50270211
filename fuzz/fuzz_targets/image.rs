//! Fuzzes PNG/JPEG loading and QR detection.
#![no_main]

use certeza_credential::qr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = qr::decode_image(data);
});
