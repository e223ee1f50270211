//! A quick, self-contained benchmark for `certeza credential bench`.

use crate::credential::{Document, DocumentType, issue, verify};
use crate::error::Result;
use crate::keys::IssuerKey;
use crate::qr::decode_luma;
use crate::synth::{Scene, photograph};
use crate::trust::TrustStore;
use std::time::{Duration, Instant};

/// Benchmark figures, measured in one run on the same thread.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Credentials issued per second (Ed25519, from document to `CZ1:` string).
    pub issue_per_s: f64,
    /// Credentials verified per second from the `CZ1:` string (full pipeline).
    pub verify_per_s: f64,
    /// Raw Ed25519 signature verifications per second on the same message size.
    pub raw_ed25519_verify_per_s: f64,
    /// `verify_per_s / raw_ed25519_verify_per_s`.
    pub verify_ratio: f64,
    /// Median time to decode a QR code from a 1.2 MP camera-like photo, milliseconds.
    pub photo_decode_median_ms: f64,
    /// Photos decoded correctly, out of `photos`.
    pub photos_decoded: usize,
    /// Photos tried.
    pub photos: usize,
    /// Length of the benchmarked code in characters.
    pub code_len: usize,
}

fn rate(budget: Duration, mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            if !f() {
                return 0.0;
            }
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Runs the benchmark, spending about `budget` on each throughput figure and decoding
/// `photos` synthetic photos.
///
/// # Errors
///
/// Only if issuing the sample credential fails, which would be a bug.
pub fn benchmark(budget: Duration, photos: usize) -> Result<BenchReport> {
    use ed25519_dalek::{Signer as _, Verifier as _};
    let key = IssuerKey::ed25519(&[7; 32], "certeza-bench");
    let now = 1_750_000_000;
    let doc = Document::new(DocumentType::Cpv)
        .with("nombre", "MARIA GUADALUPE HERNANDEZ LOPEZ")
        .with("clave_elector", "HRLPMR85030209M700")
        .with("seccion", 1234)
        .with("vigencia", 2033);
    let code = issue(&doc, &key, now, 86_400 * 365)?;
    let mut trust = TrustStore::new();
    trust.add_issuer(&key);
    let issue_per_s = rate(budget, || issue(&doc, &key, now, 86_400).is_ok());
    let verify_per_s = rate(budget, || verify(&code, &trust, None, now + 1).valid);
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let msg = vec![0x5a; code.len() * 2 / 3];
    let sig = sk.sign(&msg);
    let vk = sk.verifying_key();
    let raw = rate(budget, || vk.verify(&msg, &sig).is_ok());
    let mut times = Vec::with_capacity(photos);
    let mut decoded = 0;
    for seed in 0..photos as u64 {
        let img = photograph(&code, &Scene::camera_like(seed))?;
        let t = Instant::now();
        let ok = decode_luma(&img).is_ok_and(|s| s == code);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        decoded += usize::from(ok);
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    Ok(BenchReport {
        issue_per_s,
        verify_per_s,
        raw_ed25519_verify_per_s: raw,
        verify_ratio: if raw > 0.0 { verify_per_s / raw } else { 0.0 },
        photo_decode_median_ms: median,
        photos_decoded: decoded,
        photos,
        code_len: code.len(),
    })
}
