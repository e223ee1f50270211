//! End-to-end tests of `certeza credential …` with the real binary: issue, verify
//! (PNG, camera-like photo, tampered string, garbage), revoke, rotate-key, and EU DCC
//! codes against a PEM trust list.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use certeza_credential::qr;
use certeza_credential::synth::{Scene, photograph};

fn certeza(data: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(data)
        .args(arguments)
        .env_remove("CERTEZA_DATABASE__URL")
        .env_remove("CERTEZA_DATA")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeed(data: &Path, arguments: &[&str]) -> String {
    let output = certeza(data, arguments);
    assert!(output.status.success(), "{arguments:?}: {}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

/// Expects exit 1 and returns stdout + stderr.
fn fail(data: &Path, arguments: &[&str]) -> String {
    let output = certeza(data, arguments);
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{arguments:?}: {all}");
    assert!(!all.contains("panicked"), "{all}");
    all
}

/// A data directory with a few imported people; returns it and their CURPs (the
/// `vigente` ones first).
fn registry(directory: &Path) -> (PathBuf, Vec<String>) {
    let data = directory.join("data");
    succeed(&data, &["init"]);
    let csv = directory.join("people.csv");
    succeed(&data, &["population", "generate", "--count", "12", "--seed", "5", "--out", csv.to_str().unwrap()]);
    succeed(&data, &["registry", "import", csv.to_str().unwrap()]);
    let content = std::fs::read_to_string(&csv).unwrap();
    let mut curps: Vec<(bool, String)> = content
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields.last() != Some(&"vigente"), fields[0].to_owned())
        })
        .collect();
    curps.sort_by_key(|(not_vigente, _)| *not_vigente);
    assert!(!curps[0].0, "the sample has a vigente person");
    (data, curps.into_iter().map(|(_, curp)| curp).collect())
}

fn json(output: &str) -> serde_json::Value {
    serde_json::from_str(output).unwrap()
}

#[test]
fn issue_verify_tamper_revoke_and_rotate() {
    let directory = tempfile::tempdir().unwrap();
    let (data, curps) = registry(directory.path());
    let png = directory.path().join("credential.png");
    let code = succeed(&data, &["credential", "issue", "--curp", &curps[0], "--out", png.to_str().unwrap()]);
    let code = code.trim().to_owned();
    assert!(code.starts_with("CZ1:"), "{code}");

    // The PNG verifies, and the JSON shows the CURP field, the status check and the kid.
    let out = succeed(&data, &["credential", "verify", png.to_str().unwrap()]);
    assert!(out.starts_with("valid: cpv issued by certeza.example"), "{out}");
    let verdict = json(&succeed(&data, &["credential", "verify", png.to_str().unwrap(), "--json"]));
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["status"], "valid");
    assert_eq!(verdict["fields"]["curp"], curps[0].as_str());
    assert_eq!(verdict["code"], code.as_str());
    let old_kid = verdict["kid"].as_str().unwrap().to_owned();

    // A camera-like photo of it (perspective, blur, noise, busy background) verifies.
    let photo = photograph(&code, &Scene::camera_like(3)).unwrap();
    let photo_path = directory.path().join("photo.png");
    std::fs::write(&photo_path, qr::encode_png_luma(&photo.pixels, photo.width, photo.height).unwrap()).unwrap();
    succeed(&data, &["credential", "verify", photo_path.to_str().unwrap()]);

    // A flipped signature bit keeps Base45, zlib and CBOR valid: bad_signature.
    let mut decoded = certeza_credential::decode(&code).unwrap();
    decoded.cose.signature[5] ^= 0x01;
    let tampered = decoded.encode();
    assert!(fail(&data, &["credential", "verify", &tampered]).contains("bad_signature"));
    // A changed payload byte (the document, re-encoded without re-signing) too.
    let mut decoded = certeza_credential::decode(&code).unwrap();
    let position = decoded.cose.payload.windows(3).position(|w| w == b"cpv").unwrap();
    decoded.cose.payload[position] = b'x';
    decoded.claims = certeza_credential::cbor::decode(&decoded.cose.payload).unwrap();
    assert!(fail(&data, &["credential", "verify", &decoded.encode()]).contains("bad_signature"));

    // Garbage of every kind is `malformed`, never a panic.
    for garbage in ["garbage", "CZ1:", "CZ1:!!!!", "HC1:AAAA", "CZ1:NCF$70A90"] {
        assert!(fail(&data, &["credential", "verify", garbage]).contains("malformed"), "{garbage}");
    }
    let not_an_image = directory.path().join("junk.png");
    std::fs::write(&not_an_image, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    assert!(fail(&data, &["credential", "verify", not_an_image.to_str().unwrap()]).contains("malformed"));
    let verdict = json(&fail(&data, &["credential", "verify", "nonsense", "--json"]));
    assert_eq!(verdict["reason"], "malformed");

    // --at before issuance: not_yet_valid; far in the future: expired.
    assert!(fail(&data, &["credential", "verify", &code, "--at", "2001-01-01T00:00:00Z"]).contains("not_yet_valid"));
    assert!(fail(&data, &["credential", "verify", &code, "--at", "2199-01-01T00:00:00Z"]).contains("expired"));

    // Rotation: the old credential still verifies; a new one has a new kid.
    let rotated = succeed(&data, &["credential", "rotate-key"]);
    assert!(!rotated.contains(&old_kid), "{rotated}");
    succeed(&data, &["credential", "verify", &code]);
    let second = succeed(&data, &["credential", "issue", "--curp", &curps[0], "--type", "constancia"]);
    let verdict = json(&succeed(&data, &["credential", "verify", second.trim(), "--json"]));
    assert_ne!(verdict["kid"].as_str().unwrap(), old_kid);
    assert_eq!(verdict["type"], "constancia");

    // The published files work with --trust/--status from another (empty) directory
    // when the root key is there: here they are given explicitly from the data dir.
    let trust = data.join("credentials/trust-list.cose");
    let status = data.join("credentials/status-list.cose");
    succeed(
        &data,
        &["credential", "verify", &code, "--trust", trust.to_str().unwrap(), "--status", status.to_str().unwrap()],
    );

    // Revocation, by photo: the status bit is set and the list re-signed.
    succeed(&data, &["credential", "revoke", photo_path.to_str().unwrap()]);
    assert!(fail(&data, &["credential", "verify", png.to_str().unwrap()]).contains("revoked"));
    let verdict = json(&fail(&data, &["credential", "verify", &code, "--json"]));
    assert_eq!(verdict["reason"], "revoked");
    assert_eq!(verdict["status"], "revoked");
    // The other credential is untouched.
    succeed(&data, &["credential", "verify", second.trim()]);
    // Foreign or tampered codes cannot be revoked.
    let output = certeza(&data, &["credential", "revoke", &tampered]);
    assert_eq!(output.status.code(), Some(1));

    // Every issuance, revocation and rotation is queued for the transparency log,
    // and no log entry or output carries the CURP beyond the credential itself.
    let database = std::fs::read(data.join("certeza.db")).unwrap();
    assert!(!database.windows(curps[0].len()).any(|w| w == curps[0].as_bytes()));
}

#[test]
fn issuing_needs_a_known_vigente_person_and_a_known_output_format() {
    let directory = tempfile::tempdir().unwrap();
    let (data, curps) = registry(directory.path());
    let all = text(&certeza(&data, &["credential", "issue", "--curp", "BOXW310820HNERXN09"]).stderr);
    assert!(all.contains("no person with that CURP"), "{all}");
    let output = certeza(&data, &["credential", "issue", "--curp", "NOT-A-CURP"]);
    assert_eq!(output.status.code(), Some(1));
    let out = directory.path().join("x.gif");
    let output = certeza(&data, &["credential", "issue", "--curp", &curps[0], "--out", out.to_str().unwrap()]);
    assert!(text(&output.stderr).contains(".png, .svg or .txt"), "{}", text(&output.stderr));
    let svg = directory.path().join("c.svg");
    succeed(&data, &["credential", "issue", "--curp", &curps[0], "--out", svg.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let txt = directory.path().join("c.txt");
    succeed(&data, &["credential", "issue", "--curp", &curps[0], "--out", txt.to_str().unwrap()]);
    succeed(&data, &["credential", "verify", txt.to_str().unwrap()]);
}

fn dcc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/dcc")
}

#[test]
fn a_pem_trust_list_verifies_shared_eu_dcc_codes() {
    let directory = tempfile::tempdir().unwrap();
    let mut pem = String::new();
    let mut cases = Vec::new();
    for name in ["CO1", "CO2"] {
        let path = dcc_dir().join(format!("{name}.json"));
        let case: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("DCC test data missing at {} ({e})", path.display())),
        )
        .unwrap();
        let certificate = case["TESTCTX"]["CERTIFICATE"].as_str().unwrap();
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for chunk in certificate.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        cases.push(case);
    }
    let pem_path = directory.path().join("signers.pem");
    std::fs::write(&pem_path, pem).unwrap();
    // No data directory at all: the PEM is the whole trust.
    let data = directory.path().join("no-data");
    for case in &cases {
        let code = case["PREFIX"].as_str().unwrap();
        let at = case["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();
        let verdict = json(&succeed(
            &data,
            &["credential", "verify", code, "--trust", pem_path.to_str().unwrap(), "--at", at, "--json"],
        ));
        assert_eq!(verdict["format"], "eu_dcc");
        assert!(verdict["dcc"]["nam"]["fnt"].is_string(), "{verdict}");
        // Its QR photo verifies too.
        let png = directory.path().join("dcc.png");
        std::fs::write(&png, qr::render_png(code, 4).unwrap()).unwrap();
        succeed(
            &data,
            &["credential", "verify", png.to_str().unwrap(), "--trust", pem_path.to_str().unwrap(), "--at", at],
        );
    }
    // Without the signer's certificate: unknown_key.
    let empty = directory.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let code = cases[0]["PREFIX"].as_str().unwrap();
    let output = certeza(&data, &["credential", "verify", code, "--trust", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
}
