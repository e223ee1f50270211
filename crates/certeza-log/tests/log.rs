//! Data-driven tests against the shared RFC 6962 / RFC 9162 test vectors.
#![allow(clippy::unwrap_used)]

// Every test of the crate is one binary, to keep link time down.
#[path = "log/merkle_props.rs"]
mod merkle_props;
#[path = "log/notes.rs"]
mod notes;
#[path = "log/protocol.rs"]
mod protocol;
#[path = "log/tiles.rs"]
mod tiles;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use certeza_log::merkle::{verify_consistency, verify_inclusion};
use serde_json::Value;

fn testdata() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/merkle");
    assert!(dir.is_dir(), "the shared Merkle test vectors are missing: expected a folder at {}", dir.display());
    dir
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().map(b64).collect(),
        other => panic!("unexpected proof {other}"),
    }
}

fn run(kind: &str, min_cases: usize, check: impl Fn(&Value) -> Result<(), certeza_log::Error>) {
    let mut files = Vec::new();
    json_files(&testdata().join(kind), &mut files);
    assert!(files.len() >= min_cases, "expected at least {min_cases} {kind} vectors, found {}", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let got = check(&v);
        if got.is_err() != want_err {
            failures.push(format!("{}: {:?} (wantErr {want_err}): {got:?}", f.display(), v["desc"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn inclusion_vectors() {
    run("inclusion", 50, |v| {
        verify_inclusion(
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &b64(&v["leafHash"]),
            &proof(&v["proof"]),
            &b64(&v["root"]),
        )
    });
}

#[test]
fn consistency_vectors() {
    run("consistency", 50, |v| {
        verify_consistency(
            v["size1"].as_u64().unwrap(),
            v["size2"].as_u64().unwrap(),
            &proof(&v["proof"]),
            &b64(&v["root1"]),
            &b64(&v["root2"]),
        )
    });
}
