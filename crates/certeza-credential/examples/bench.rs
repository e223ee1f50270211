//! Quick figures: issuance/s, verification/s against raw Ed25519, photo decode time.
//!
//! `cargo run --release -p certeza-credential --example bench`

fn main() {
    match certeza_credential::benchmark(std::time::Duration::from_secs(2), 21) {
        Ok(r) => {
            println!("code length:              {} chars", r.code_len);
            println!("issue:                    {:>10.0} /s", r.issue_per_s);
            println!("verify from string:       {:>10.0} /s", r.verify_per_s);
            println!("raw Ed25519 verify:       {:>10.0} /s", r.raw_ed25519_verify_per_s);
            println!("verify / raw:             {:>10.1} %", r.verify_ratio * 100.0);
            println!(
                "photo decode (1.2 MP):    {:>10.2} ms median, {}/{} decoded",
                r.photo_decode_median_ms, r.photos_decoded, r.photos
            );
        }
        Err(e) => eprintln!("benchmark failed: {e}"),
    }
}
