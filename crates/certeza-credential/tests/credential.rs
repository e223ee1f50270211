//! End-to-end tests of issuing, decoding and verifying credentials, trust lists and status
//! lists.
#![allow(clippy::unwrap_used)]

// Every test of the crate is one binary, to keep link time down.
#[path = "credential_parts/dcc.rs"]
mod dcc;
#[path = "credential_parts/qr.rs"]
mod qr;
mod support;

use certeza_credential::{
    Document, DocumentType, Error, FieldValue, Format, IssueOptions, IssuerKey, Reason, Sealed, StatusCheck,
    StatusList, StatusRef, TrustList, TrustListEntry, TrustStore, VerifierKey, decode, issue, issue_with, verify,
};
use proptest::prelude::*;

const NOW: i64 = 1_750_000_000;
const DAY: i64 = 86_400;

fn key() -> IssuerKey {
    IssuerKey::ed25519(&[1; 32], "ine.mx")
}

fn doc() -> Document {
    Document::new(DocumentType::Cpv)
        .with("nombre", "ANA MARIA LOPEZ")
        .with("seccion", 1234)
        .with("vigente", FieldValue::Bool(true))
}

fn store(key: &IssuerKey) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_issuer(key);
    t
}

#[test]
fn issue_then_verify_reports_everything() {
    let key = key();
    let code = issue(&doc(), &key, NOW, DAY).unwrap();
    assert!(code.starts_with("CZ1:"));
    let v = verify(&code, &store(&key), None, NOW + 1);
    assert!(v.valid, "{v:?}");
    assert_eq!(v.reason, None);
    assert_eq!(v.format, Some(Format::Certeza));
    assert_eq!(v.issuer.as_deref(), Some("ine.mx"));
    assert_eq!(v.kid, Some(key.kid().to_hex()));
    assert_eq!(v.issued_at, Some(NOW));
    assert_eq!(v.expires_at, Some(NOW + DAY));
    assert_eq!(v.doc_type.as_deref(), Some("cpv"));
    assert_eq!(v.fields.get("seccion"), Some(&FieldValue::Integer(1234)));
    assert_eq!(v.sealed, Sealed::Absent);
    assert_eq!(v.status, StatusCheck::NotReferenced);
    assert_eq!(v.code, code);
    let json = v.to_json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["fields"]["nombre"], "ANA MARIA LOPEZ");
}

#[test]
fn es256_issuers_work_too() {
    let key = IssuerKey::p256(&[3; 32], "sre.mx").unwrap();
    let code = issue(&Document::new(DocumentType::Cita).with("oficina", "CDMX-1"), &key, NOW, DAY).unwrap();
    let v = verify(&code, &store(&key), None, NOW);
    assert!(v.valid, "{v:?}");
    assert_eq!(v.doc_type.as_deref(), Some("cita"));
}

#[test]
fn every_reason_is_reachable() {
    let key = key();
    let trust = store(&key);
    let code = issue(&doc(), &key, NOW, DAY).unwrap();
    let reason = |code: &str, trust: &TrustStore, now: i64| verify(code, trust, None, now).reason;
    assert_eq!(reason("CZ1:???", &trust, NOW), Some(Reason::Malformed));
    assert_eq!(reason("XX1:ABC", &trust, NOW), Some(Reason::Malformed));
    assert_eq!(reason(&code, &TrustStore::new(), NOW), Some(Reason::UnknownKey));
    assert_eq!(reason(&code, &trust, NOW - 1), Some(Reason::NotYetValid));
    assert_eq!(reason(&code, &trust, NOW + DAY), Some(Reason::Expired));
    assert_eq!(reason(&code, &trust, NOW + DAY - 1), None);

    // A forged signature under the same kid: re-sign the payload with the right kid but
    // flip one signature byte.
    let mut d = decode(&code).unwrap();
    d.cose.signature[5] ^= 1;
    assert_eq!(reason(&d.encode(), &trust, NOW), Some(Reason::BadSignature));
    // Changing a claim breaks the signature too.
    let mut d = decode(&code).unwrap();
    d.cose.payload.clear();
    if let certeza_credential::cbor::Value::Map(m) = &mut d.claims {
        m.retain(|(k, _)| k.as_i64() != Some(6));
        m.push((certeza_credential::cbor::Value::int(6), certeza_credential::cbor::Value::int(NOW - 10)));
    }
    assert_eq!(reason(&d.encode(), &trust, NOW), Some(Reason::BadSignature));
    for r in [
        Reason::Malformed,
        Reason::UnknownKey,
        Reason::BadSignature,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::Revoked,
    ] {
        assert!(r.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    }
}

#[test]
fn another_issuer_name_under_the_same_key_is_unknown() {
    let key = key();
    let impostor = IssuerKey::ed25519(&[1; 32], "not-ine.mx");
    let code = issue(&doc(), &impostor, NOW, DAY).unwrap();
    assert_eq!(verify(&code, &store(&key), None, NOW).reason, Some(Reason::UnknownKey));
}

#[test]
fn sealed_fields_open_only_for_authorised_verifiers() {
    let key = key();
    let vk = VerifierKey::new(b"verificador-1", [9; 32]);
    let doc = doc().with_sealed("curp", "BOXW310820HNERXN09");
    assert!(matches!(issue(&doc, &key, NOW, DAY), Err(Error::Document(_))));
    let opts = IssueOptions {
        issued_at: NOW,
        valid_for: DAY,
        cti: Some(vec![1, 2, 3]),
        status: None,
        seal: Some((&vk, [4; 12])),
    };
    let code = issue_with(&doc, &key, &opts).unwrap();
    let public = verify(&code, &store(&key), None, NOW);
    assert!(public.valid);
    assert!(matches!(public.sealed, Sealed::Sealed { .. }));
    assert!(!public.fields.contains_key("curp"));
    let mut authorised = store(&key);
    authorised.add_verifier_key(vk);
    let v = verify(&code, &authorised, None, NOW);
    let Sealed::Revealed(fields) = v.sealed else { panic!("not revealed") };
    assert_eq!(fields.get("curp"), Some(&FieldValue::Text("BOXW310820HNERXN09".into())));
    let mut wrong = store(&key);
    wrong.add_verifier_key(VerifierKey::new(b"verificador-1", [8; 32]));
    assert!(matches!(verify(&code, &wrong, None, NOW).sealed, Sealed::Sealed { .. }));
}

#[test]
fn status_list_revocation_round_trip() {
    let key = key();
    let uri = "https://certeza.example/status/1";
    let opts = |idx| IssueOptions {
        issued_at: NOW,
        valid_for: DAY,
        cti: None,
        status: Some(StatusRef { idx, uri: uri.into() }),
        seal: None,
    };
    let good = issue_with(&doc(), &key, &opts(3)).unwrap();
    let bad = issue_with(&doc(), &key, &opts(7)).unwrap();
    let mut list = StatusList::new(uri, 1000);
    list.set_revoked(7).unwrap();
    let signed = list.sign(&key, NOW, Some(NOW + DAY), Some(3600));
    let trust = store(&key);
    let cached = StatusList::from_signed(&signed, &trust, NOW + 5).unwrap();
    assert_eq!(cached.len(), 1000);
    assert_eq!(cached.is_revoked(7), Some(true));
    let v = verify(&good, &trust, Some(&cached), NOW + 5);
    assert!(v.valid);
    assert_eq!(v.status, StatusCheck::Valid);
    let v = verify(&bad, &trust, Some(&cached), NOW + 5);
    assert_eq!(v.reason, Some(Reason::Revoked));
    assert_eq!(v.status, StatusCheck::Revoked);
    assert_eq!(verify(&bad, &trust, None, NOW + 5).status, StatusCheck::NotChecked);
    assert!(StatusList::from_signed(&signed, &trust, NOW + DAY).is_err(), "stale list");
    assert!(StatusList::from_signed(&signed, &TrustStore::new(), NOW).is_err());
    let mut tampered = signed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(StatusList::from_signed(&tampered, &trust, NOW).is_err());
}

#[test]
fn trust_list_rotation_keeps_old_credentials_verifiable() {
    let root = IssuerKey::ed25519(&[42; 32], "certeza-root");
    let old = IssuerKey::ed25519(&[10; 32], "ine.mx");
    let new = IssuerKey::p256(&[11; 32], "ine.mx").unwrap();
    let rotation = NOW + 100 * DAY;
    let list = TrustList {
        issued_at: rotation,
        expires_at: Some(rotation + 30 * DAY),
        sequence: 2,
        entries: vec![
            TrustListEntry {
                issuer: "ine.mx".into(),
                key: old.public(),
                not_before: NOW - DAY,
                not_after: Some(rotation),
            },
            TrustListEntry { issuer: "ine.mx".into(), key: new.public(), not_before: rotation, not_after: None },
        ],
    };
    let bytes = list.sign(&root);
    assert_eq!(TrustList::verify(&bytes, &root.public(), rotation).unwrap(), list);
    let trust = TrustStore::load(&bytes, Some(&root.public()), rotation + DAY).unwrap();
    let check = rotation + 2 * DAY;
    let before = issue(&doc(), &old, NOW, 365 * DAY).unwrap();
    assert!(verify(&before, &trust, None, check).valid, "old key, issued in its window");
    let late = issue(&doc(), &old, rotation + DAY, 365 * DAY).unwrap();
    assert_eq!(verify(&late, &trust, None, check).reason, Some(Reason::UnknownKey));
    let after = issue(&doc(), &new, rotation + DAY, 365 * DAY).unwrap();
    assert!(verify(&after, &trust, None, check).valid);

    // Wrong root, tampering, expiry and a missing root are all refused.
    let other_root = IssuerKey::ed25519(&[43; 32], "x");
    assert!(TrustList::verify(&bytes, &other_root.public(), rotation).is_err());
    let mut tampered = bytes.clone();
    let i = tampered.len() / 2;
    tampered[i] ^= 1;
    assert!(TrustList::verify(&tampered, &root.public(), rotation).is_err());
    assert!(matches!(TrustList::verify(&bytes, &root.public(), rotation + 31 * DAY), Err(Error::Stale(_))));
    assert!(TrustStore::load(&bytes, None, rotation).is_err());
}

#[test]
fn issued_codes_decode_and_reencode_identically() {
    let code = issue(&doc(), &key(), NOW, DAY).unwrap();
    let d = decode(&code).unwrap();
    assert_eq!(d.encode(), code);
    assert_eq!(decode(&format!("  {code}\n")).unwrap().code, code);
}

#[test]
fn strictness_rejects_oversized_and_trailing_data() {
    use certeza_credential::{base45, zlib};
    let code = issue(&doc(), &key(), NOW, DAY).unwrap();
    let body = base45::decode(&code[4..]).unwrap();
    let mut cose = zlib::decompress_bounded(&body, 1 << 16).unwrap();
    cose.push(0);
    let recoded = format!("CZ1:{}", base45::encode(&zlib::compress(&cose)));
    assert!(matches!(decode(&recoded), Err(Error::Cbor(_))));
    let bomb = vec![0u8; 200_000];
    let recoded = format!("CZ1:{}", base45::encode(&zlib::compress(&bomb)));
    assert!(matches!(decode(&recoded), Err(Error::Compression(_))));
    // Tag 98 (COSE_Sign) is not accepted.
    let mut tagged = vec![0xd8, 0x62];
    tagged.extend_from_slice(&zlib::decompress_bounded(&body, 1 << 16).unwrap()[1..]);
    let recoded = format!("CZ1:{}", base45::encode(&zlib::compress(&tagged)));
    assert!(matches!(decode(&recoded), Err(Error::Cose(_))));
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        ".{0,40}".prop_map(FieldValue::Text),
        any::<i64>().prop_map(FieldValue::Integer),
        any::<bool>().prop_map(FieldValue::Bool),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(FieldValue::Bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_encode_is_stable(
        fields in proptest::collection::btree_map("[a-z_]{1,12}", field_value(), 0..8),
        iat in 0i64..4_000_000_000,
        ttl in 1i64..100_000_000,
    ) {
        let mut d = Document::new(DocumentType::Constancia);
        d.fields = fields.into_iter().filter(|(k, _)| k != "t").collect();
        let code = issue(&d, &key(), iat, ttl).unwrap();
        let decoded = decode(&code).unwrap();
        prop_assert_eq!(&decoded.fields, &d.fields);
        let again = decoded.encode();
        prop_assert_eq!(&again, &code);
        prop_assert_eq!(decode(&again).unwrap(), decoded);
        prop_assert!(verify(&code, &store(&key()), None, iat).valid);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_strings(s in ".{0,300}") {
        let _ = decode(&s);
        let _ = decode(&format!("CZ1:{s}"));
        let _ = verify(&format!("HC1:{s}"), &TrustStore::new(), None, 0);
    }

    #[test]
    fn decode_never_panics_on_mutated_codes(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        layer in 0u8..3,
    ) {
        use certeza_credential::{base45, zlib};
        let code = issue(&doc().with_sealed("x", "y"), &key(), NOW, DAY).ok();
        let code = code.unwrap_or_else(|| issue(&doc(), &key(), NOW, DAY).unwrap());
        let mutated = match layer {
            0 => {
                let mut b = code.into_bytes();
                for (i, v) in &edits {
                    let n = b.len();
                    b[i % n] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"[usize::from(*v) % 45];
                }
                String::from_utf8(b).unwrap()
            }
            _ => {
                let mut cose = zlib::decompress_bounded(&base45::decode(&code[4..]).unwrap(), 1 << 16).unwrap();
                for (i, v) in &edits {
                    let n = cose.len();
                    if layer == 1 { cose[i % n] = *v } else { cose.truncate((i % n).max(1)) }
                }
                format!("CZ1:{}", base45::encode(&zlib::compress(&cose)))
            }
        };
        let _ = decode(&mutated);
        let v = verify(&mutated, &store(&key()), None, NOW);
        // A mutation may hit an unsigned part (or nothing that matters), but a valid
        // verdict must then carry the original content.
        if v.valid {
            prop_assert_eq!(v.fields.get("nombre"), Some(&FieldValue::Text("ANA MARIA LOPEZ".into())));
        }
    }
}
