//! Signed-note, checkpoint and cosignature tests, including the published
//! examples from Go's `golang.org/x/mod/sumdb` test suite.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use certeza_log::Error;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::cosignature::*;
use certeza_log::merkle::hash_leaf;
use certeza_log::note::*;
use proptest::prelude::*;

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signer() -> NoteSigner {
    // The Go test's private key is "PRIVATE+KEY+PeterNeumann+c74f20a3+" followed by base64(0x01 || seed).
    let raw = STANDARD.decode(PETER_SKEY_B64).unwrap();
    assert_eq!(raw[0], 0x01);
    NoteSigner::from_seed("PeterNeumann", raw[1..].try_into().unwrap()).unwrap()
}

#[test]
fn go_signer_reproduces_published_key_and_signature() {
    let s = peter_signer();
    assert_eq!(s.key_hash(), 0xc74f20a3);
    assert_eq!(s.verifier_key_string(), PETER_VKEY);
    let note = sign_note(TEXT, &[&s]).unwrap();
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_verifier_key_parses_and_manglings_fail() {
    let v = NoteVerifier::parse(PETER_VKEY).unwrap();
    assert_eq!(v.key_hash(), 0xc74f20a3);
    assert_eq!(v.verifier_key_string(), PETER_VKEY);
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let s = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(NoteVerifier::parse(s).is_err(), "{s:?} accepted");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let s = String::from_utf8(m).unwrap();
        assert!(NoteVerifier::parse(&s).is_err(), "{s:?} accepted");
    }
    assert!(NoteVerifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").is_err());
    assert!(NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
    // A cosignature verifier refuses an Ed25519 note key and vice versa.
    assert!(CosignatureVerifier::parse(PETER_VKEY).is_err());
}

#[test]
fn go_open_examples() {
    let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
    let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    let n = open_note(msg.as_bytes(), &[&peter]).unwrap();
    assert_eq!(n.text, TEXT);
    assert_eq!(n.verified.len(), 1);
    assert_eq!(n.verified[0].key_hash, 0xc74f20a3);
    assert_eq!(n.unverified.len(), 1);
    assert_eq!(n.unverified[0].name, "EnochRoot");

    let n = open_note(msg.as_bytes(), &[&peter, &enoch]).unwrap();
    assert_eq!(n.verified.len(), 2);
    assert!(n.unverified.is_empty());

    assert_eq!(open_note(msg.as_bytes(), &[]).unwrap_err(), Error::UnverifiedNote);

    let err = open_note(format!("{TEXT}\n{ENOCH_SIG}").as_bytes(), &[&enoch, &peter, &enoch]).unwrap_err();
    assert!(matches!(err, Error::AmbiguousKey { .. }), "{err}");
    assert!(open_note(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &[&enoch, &peter, &enoch]).is_ok());

    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(matches!(open_note(many.as_bytes(), &[&peter]), Err(Error::MalformedNote(_))));

    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(open_note(bad.as_bytes(), &[&peter]), Err(Error::InvalidSignature { key_hash: 0xc74f20a3, .. })));

    // Duplicates are dropped.
    let enoch_bad = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_bad}");
    let n = open_note(dup.as_bytes(), &[&peter]).unwrap();
    assert_eq!(n.verified.len(), 1);
    assert_eq!(n.unverified.len(), 2);

    for bad in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(matches!(open_note(bad.as_bytes(), &[&peter]), Err(Error::MalformedNote(_))), "{bad:?}");
    }
    let mut invalid_utf8 = vec![0xff];
    invalid_utf8.extend_from_slice(msg.as_bytes());
    assert!(matches!(open_note(&invalid_utf8, &[&peter]), Err(Error::MalformedNote(_))));
}

#[test]
fn key_names_and_texts_are_checked() {
    assert!(NoteSigner::from_seed("a+b", [1; 32]).is_err());
    assert!(NoteSigner::from_seed("a b", [1; 32]).is_err());
    assert!(NoteSigner::from_seed("", [1; 32]).is_err());
    let s = NoteSigner::from_seed("example.com/log", [1; 32]).unwrap();
    assert!(sign_note("no newline", &[&s]).is_err());
    assert!(sign_note("tab\there\n", &[&s]).is_err());
    assert!(sign_note("ok\n", &[]).is_err());
    // Blank lines inside the text survive a round trip.
    let note = sign_note("a\n\nb\n\n", &[&s]).unwrap();
    let n = open_note(note.as_bytes(), &[&s.verifier()]).unwrap();
    assert_eq!(n.text, "a\n\nb\n\n");
}

#[test]
fn go_sumdb_tree_checkpoint_parses() {
    // From golang.org/x/mod/sumdb/tlog note_test.go: the go.sum database tree format.
    let text = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!(cp.origin, "go.sum database tree");
    assert_eq!(cp.size, 123_456_789_012);
    assert_eq!(cp.root, hash_leaf(b"hello world"));
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_note_text().unwrap(), text);
    for bad in [
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
        "go.sum database tree\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
        "go.sum database tree\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n",
        "\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
    // The C2SP example checkpoint body.
    let cp = Checkpoint::parse("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
        .unwrap();
    assert_eq!(cp.size, 20_852_163);
    let ext = Checkpoint::parse("o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next one\n").unwrap();
    assert_eq!(ext.extensions, vec!["ext one".to_owned()]);
}

#[test]
fn cosignatures_round_trip_and_bind_everything() {
    let w = CosignatureSigner::from_seed("witness.example/w1", [9; 32]).unwrap();
    let v = CosignatureVerifier::parse(&w.verifier_key_string()).unwrap();
    assert_eq!(v, w.verifier());
    // The key ID uses algorithm byte 0x04.
    let vkey = w.verifier_key_string();
    let raw = STANDARD.decode(vkey.rsplit('+').next().unwrap()).unwrap();
    assert_eq!(raw[0], 0x04);
    assert_eq!(w.key_hash(), key_hash("witness.example/w1", 0x04, &raw[1..]));

    let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(cosigned_message(text, 1679315147), format!("cosignature/v1\ntime 1679315147\n{text}"));
    let line = w.cosign(text, 1679315147).unwrap();
    assert!(line.starts_with("— witness.example/w1 ") && line.ends_with('\n'));
    let payload = STANDARD.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(payload.len(), 4 + 8 + 64);
    assert_eq!(&payload[4..12], &1679315147u64.to_be_bytes());
    assert_eq!(v.verify_line(text, &line).unwrap(), 1679315147);
    assert!(v.verify_line("other\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", &line).is_err());
    assert!(w.cosign(text, 1 << 63).is_err());

    // A cosigned checkpoint opens with the log key and the witness key.
    let log = NoteSigner::from_seed("example.com/behind-the-sofa", [3; 32]).unwrap();
    let note = format!("{}{}", sign_note(text, &[&log]).unwrap(), line);
    let opened = open_note(note.as_bytes(), &[&log.verifier(), &v]).unwrap();
    assert_eq!(opened.verified.len(), 2);
    assert_eq!(cosignature_timestamp(&opened.verified[1]).unwrap(), 1679315147);
    // Changing the timestamp bytes breaks the signature.
    let mut p = payload.clone();
    p[11] ^= 1;
    let forged = format!("— witness.example/w1 {}\n", STANDARD.encode(p));
    assert!(v.verify_line(text, &forged).is_err());
}

proptest! {
    #[test]
    fn open_note_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400), s in "\\PC{0,80}") {
        let v = NoteVerifier::parse(PETER_VKEY).unwrap();
        let _ = open_note(&data, &[&v]);
        let _ = open_note(format!("{s}\n\n— {s} AAAAAAA=\n").as_bytes(), &[&v]);
        let _ = NoteVerifier::parse(&s);
        let _ = CosignatureVerifier::parse(&s);
        let _ = Checkpoint::parse(&s);
    }

    #[test]
    fn sign_open_round_trip(lines in proptest::collection::vec("[^\\p{Cc}]{0,30}", 1..5), seed in any::<[u8; 32]>()) {
        let text = format!("{}\n", lines.join("\n"));
        let s = NoteSigner::from_seed("example.com/k", seed).unwrap();
        let note = sign_note(&text, &[&s]).unwrap();
        let n = open_note(note.as_bytes(), &[&s.verifier()]).unwrap();
        prop_assert_eq!(n.text, text);
    }

    #[test]
    fn checkpoint_round_trip(origin in "[^\\p{Cc}]{1,30}", size in any::<u64>(), root in any::<[u8; 32]>(), ext in proptest::collection::vec("[^\\p{Cc}]{1,20}", 0..3)) {
        let cp = Checkpoint { origin, size, root, extensions: ext };
        let text = cp.to_note_text().unwrap();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
    }
}
