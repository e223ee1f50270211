//! QR rendering and decoding, including a small deterministic photo corpus (the full one
//! is `cargo run --release -p certeza-credential --example qr_corpus`).
#![allow(clippy::unwrap_used)]

use crate::support::corpus::{TRANSFORMS, decodes, sample_code};
use certeza_credential::{Error, qr};

#[test]
fn png_round_trip_and_svg() {
    let code = sample_code();
    assert!(code.starts_with("CZ1:"));
    let png = qr::render_png(&code, 4).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(qr::decode_image(&png).unwrap(), code);
    let svg = qr::render_svg(&code).unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    let (width, _) = qr::modules(&code).unwrap();
    assert!(svg.contains(&format!("viewBox=\"0 0 {w} {w}\"", w = width + 2 * qr::QUIET_ZONE)));
}

#[test]
fn garbage_images_are_errors_not_panics() {
    assert!(matches!(qr::decode_image(b"nope"), Err(Error::Image(_))));
    assert!(matches!(qr::decode_image(b"\x89PNG\r\n\x1a\nxxxx"), Err(Error::Image(_))));
    assert!(matches!(qr::decode_image(&[0xff, 0xd8, 0xff, 0x00]), Err(Error::Image(_))));
    let blank = qr::encode_png_luma(&[255; 64 * 64], 64, 64).unwrap();
    assert_eq!(qr::decode_image(&blank), Err(Error::QrNotFound));
    assert!(qr::render_png(&"A".repeat(5000), 1).is_err());
}

#[test]
fn photo_corpus_decodes() {
    let code = sample_code();
    let mut report = Vec::new();
    for t in TRANSFORMS {
        // The 1.2 MP camera scene is slow in debug builds: one sample here, many in the
        // release-mode example.
        let seeds: u64 = if t == "camera_1.2mp" { 1 } else { 3 };
        let ok = (0..seeds).filter(|&s| decodes(&code, t, s)).count();
        report.push(format!("{t}: {ok}/{seeds}"));
        // Blur and very low resolution sit at the physical limit (a blur radius of 2 px over
        // 3.5 px modules, about 2 px per module); they are reported, the rest must decode.
        if !matches!(t, "blur" | "low_resolution") {
            assert_eq!(ok as u64, seeds, "{t}: only {ok}/{seeds} decoded");
        }
    }
    println!("{}", report.join(", "));
}
