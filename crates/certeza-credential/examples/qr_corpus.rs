//! Decode rate per transform over the deterministic photo corpus.
//!
//! `cargo run --release -p certeza-credential --example qr_corpus [samples]`

#[path = "../tests/support/corpus.rs"]
mod corpus;

fn main() {
    let samples: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let code = corpus::sample_code();
    println!("code length {} chars; {samples} samples per transform", code.len());
    for t in corpus::TRANSFORMS {
        let start = std::time::Instant::now();
        let ok = (0..samples).filter(|&s| corpus::decodes(&code, t, s)).count();
        println!(
            "{t:>16}: {ok:>3}/{samples} ({:5.1}%), {:.1} ms per image incl. synthesis",
            100.0 * ok as f64 / samples as f64,
            start.elapsed().as_secs_f64() * 1000.0 / samples as f64
        );
    }
}
