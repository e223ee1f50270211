//! The synthetic photo corpus shared by `tests/qr.rs` and `examples/qr_corpus.rs`.

use certeza_credential::qr::{LumaImage, decode_image, decode_luma, encode_png_luma};
use certeza_credential::synth::{Rng, Scene, photograph};
use certeza_credential::{Document, DocumentType, IssueOptions, IssuerKey, VerifierKey, issue_with};

/// The transforms of the corpus.
pub const TRANSFORMS: [&str; 9] = [
    "clean",
    "rotation",
    "perspective",
    "blur",
    "noise",
    "low_resolution",
    "jpeg_q25",
    "busy_background",
    "camera_1.2mp",
];

/// A realistic voter-credential code (public and sealed fields).
pub fn sample_code() -> String {
    let key = IssuerKey::ed25519(&[5; 32], "ine.mx");
    let vk = VerifierKey::new(b"casilla", [6; 32]);
    let doc = Document::new(DocumentType::Cpv)
        .with("nombre", "MARIA GUADALUPE HERNANDEZ LOPEZ")
        .with("seccion", 1234)
        .with("vigencia", 2033)
        .with_sealed("curp", "BOXW310820HNERXN09");
    let opts = IssueOptions {
        issued_at: 1_750_000_000,
        valid_for: 10 * 365 * 86_400,
        cti: Some(vec![1; 16]),
        status: None,
        seal: Some((&vk, [7; 12])),
    };
    issue_with(&doc, &key, &opts).unwrap_or_default()
}

fn jpeg(img: &LumaImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, quality);
    let (w, h) = (img.width as u16, img.height as u16);
    let _ = enc.encode(&img.pixels, w, h, jpeg_encoder::ColorType::Luma);
    out
}

/// Builds the image of one transform for one seed and returns whether it decodes to `code`.
pub fn decodes(code: &str, transform: &str, seed: u64) -> bool {
    let mut rng = Rng::new(seed.wrapping_mul(7919).wrapping_add(transform.len() as u64));
    let (w, h) = (480, 480);
    let mut scene = Scene::centred(w, h, rng.range(250.0, 320.0), rng.range(-4.0, 4.0));
    scene.seed = seed;
    let mut as_jpeg = None;
    match transform {
        "rotation" => scene = Scene { seed, ..Scene::centred(w, h, 280.0, rng.range(15.0, 345.0)) },
        "perspective" => {
            for c in &mut scene.corners {
                c.0 += rng.range(-45.0, 45.0);
                c.1 += rng.range(-45.0, 45.0);
            }
        }
        "blur" => scene.blur = 1 + (seed % 2) as usize,
        "noise" => scene.noise = 28.0,
        "low_resolution" => {
            // About 2.2 pixels per module, the edge of what a sampler can resolve.
            scene = Scene { seed, ..Scene::centred(240, 240, rng.range(180.0, 200.0), rng.range(-3.0, 3.0)) };
        }
        "jpeg_q25" => {
            scene = Scene { seed, ..Scene::centred(w, h, 260.0, rng.range(5.0, 25.0)) };
            scene.noise = 6.0;
            as_jpeg = Some(25);
        }
        "busy_background" => {
            scene.busy_background = true;
            scene.shading = 0.5;
        }
        "camera_1.2mp" => scene = Scene::camera_like(seed),
        _ => {}
    }
    let Ok(img) = photograph(code, &scene) else { return false };
    let got = match as_jpeg {
        Some(q) => decode_image(&jpeg(&img, q)),
        None if seed.is_multiple_of(2) => decode_luma(&img),
        None => encode_png_luma(&img.pixels, img.width, img.height).and_then(|png| decode_image(&png)),
    };
    got.is_ok_and(|s| s == code)
}
