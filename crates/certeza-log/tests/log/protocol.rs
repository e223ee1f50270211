//! Witness state-transition, tlog-proof receipt and log entry tests.
#![allow(clippy::unwrap_used)]

use certeza_log::Error;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::cosignature::CosignatureSigner;
use certeza_log::entry::*;
use certeza_log::merkle::*;
use certeza_log::note::*;
use certeza_log::proof::*;
use certeza_log::witness::*;
use proptest::prelude::*;

const ORIGIN: &str = "log.certeza.example/test";

struct Log {
    signer: NoteSigner,
    stored: Vec<Hash>,
    leaves: Vec<Hash>,
}

impl Log {
    fn new() -> Log {
        Log { signer: NoteSigner::from_seed(ORIGIN, [5; 32]).unwrap(), stored: Vec::new(), leaves: Vec::new() }
    }
    fn grow(&mut self, to: u64) {
        for i in self.leaves.len() as u64..to {
            let leaf = hash_leaf(format!("e{i}").as_bytes());
            let add = stored_hashes_for_record_hash(i, &leaf, &self.stored).unwrap();
            self.stored.extend(add);
            self.leaves.push(leaf);
        }
    }
    fn checkpoint(&self, size: u64) -> (String, Hash) {
        let root = tree_hash(size, &self.stored).unwrap();
        let text = Checkpoint { origin: ORIGIN.to_owned(), size, root, extensions: vec![] }.to_note_text().unwrap();
        (sign_note(&text, &[&self.signer]).unwrap(), root)
    }
    fn request(&self, old: u64, new: u64) -> Vec<u8> {
        let proof = if old == 0 { vec![] } else { prove_tree(new, old, &self.stored).unwrap() };
        AddCheckpointRequest { old_size: old, proof, checkpoint: self.checkpoint(new).0 }.encode().unwrap().into_bytes()
    }
}

fn witness(log: &Log) -> Witness {
    let mut w = Witness::new(CosignatureSigner::from_seed("witness.example/w1", [8; 32]).unwrap());
    w.add_log(ORIGIN, vec![log.signer.verifier()]);
    w
}

#[test]
fn add_checkpoint_request_matches_spec_example() {
    let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    let req = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(req.encode().unwrap(), body);
    for bad in ["old 01\n\nx\n", "old 1\n", "old 1\n\n", "new 1\n\nx", "old 1\nnothash\n\nx", "old -1\n\nx"] {
        assert!(AddCheckpointRequest::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    let too_many = format!("old 1\n{}\nx", "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64));
    assert!(AddCheckpointRequest::parse(too_many.as_bytes()).is_err());
}

#[test]
fn witness_follows_the_spec_state_machine() {
    let mut log = Log::new();
    log.grow(100);
    let w = witness(&log);
    let cosig_verifier = w.cosigner().verifier();

    // First contact: old size 0, no stored state.
    let out = w.add_checkpoint(&log.request(0, 10), 1_700_000_000, |_| None);
    let AddCheckpointOutcome::Cosigned { origin, new_state, signatures } = &out else { panic!("{out:?}") };
    assert_eq!(out.status(), 200);
    assert_eq!(origin, ORIGIN);
    assert_eq!(new_state.size, 10);
    let (note, _) = log.checkpoint(10);
    let text = parse_note(note.as_bytes()).unwrap().text;
    assert_eq!(cosig_verifier.verify_line(&text, signatures).unwrap(), 1_700_000_000);
    let state = *new_state;

    // A consistent extension.
    let out = w.add_checkpoint(&log.request(10, 57), 1_700_000_100, |_| Some(state));
    assert_eq!(out.status(), 200, "{out:?}");

    // Old size mismatch: 409 with the stored size as the body.
    let out = w.add_checkpoint(&log.request(5, 57), 1, |_| Some(state));
    assert_eq!((out.status(), out.body(), out.content_type()), (409, "10\n".to_owned(), "text/x.tlog.size"));
    let out = w.add_checkpoint(&log.request(5, 57), 1, |_| None);
    assert_eq!((out.status(), out.body()), (409, "0\n".to_owned()));

    // Old size larger than the checkpoint: 400.
    let mut req = AddCheckpointRequest::parse(&log.request(10, 57)).unwrap();
    req.old_size = 58;
    assert_eq!(w.add_checkpoint(req.encode().unwrap().as_bytes(), 1, |_| Some(state)).status(), 400);

    // Bad proof: 422.
    let mut req = AddCheckpointRequest::parse(&log.request(10, 57)).unwrap();
    req.proof[0][0] ^= 1;
    assert_eq!(w.add_checkpoint(req.encode().unwrap().as_bytes(), 1, |_| Some(state)).status(), 422);
    // A proof with old size zero: 422.
    let mut req = AddCheckpointRequest::parse(&log.request(10, 57)).unwrap();
    req.old_size = 0;
    assert_eq!(w.add_checkpoint(req.encode().unwrap().as_bytes(), 1, |_| None).status(), 422);

    // Same size, different root: 409; same size, same root: 200.
    let fork = TreeState { size: 10, root: [1; 32] };
    assert_eq!(w.add_checkpoint(&log.request(10, 10), 1, |_| Some(fork)).status(), 409);
    assert_eq!(w.add_checkpoint(&log.request(10, 10), 1, |_| Some(state)).status(), 200);

    // Unknown origin: 404; unknown key: 403; malformed: 400.
    let other =
        Log { signer: NoteSigner::from_seed(ORIGIN, [6; 32]).unwrap(), stored: log.stored.clone(), leaves: vec![] };
    assert_eq!(w.add_checkpoint(&other.request(10, 57), 1, |_| Some(state)).status(), 403);
    let stranger = NoteSigner::from_seed("other.example/log", [6; 32]).unwrap();
    let text = Checkpoint { origin: "other.example/log".into(), size: 1, root: [0; 32], extensions: vec![] }
        .to_note_text()
        .unwrap();
    let body = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint: sign_note(&text, &[&stranger]).unwrap() }
        .encode()
        .unwrap();
    assert_eq!(w.add_checkpoint(body.as_bytes(), 1, |_| None).status(), 404);
    assert_eq!(w.add_checkpoint(b"garbage", 1, |_| None).status(), 400);

    // A clock beyond 2^63 - 1 cannot be cosigned.
    assert_eq!(w.add_checkpoint(&log.request(10, 57), u64::MAX, |_| Some(state)).status(), 500);
}

#[test]
fn receipts_verify_and_round_trip() {
    let mut log = Log::new();
    log.grow(1000);
    let w = witness(&log);
    let (note, _root) = log.checkpoint(1000);
    let out = w.add_checkpoint(&log.request(0, 1000), 1_700_000_000, |_| None);
    let AddCheckpointOutcome::Cosigned { signatures, .. } = out else { panic!() };
    let cosigned = format!("{note}{signatures}");
    let index = 737;
    let receipt = Receipt {
        extra: Some(b"context".to_vec()),
        index,
        proof: prove_record(1000, index, &log.stored).unwrap(),
        checkpoint: cosigned,
    };
    let text = receipt.encode().unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra Y29udGV4dA==\nindex 737\n"));
    let parsed = Receipt::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, receipt);
    let lv = log.signer.verifier();
    let wv = w.cosigner().verifier();
    let ok = verify_receipt(&parsed, ORIGIN, &log.leaves[index as usize], &[&lv], &[&wv]).unwrap();
    assert_eq!(ok.checkpoint.size, 1000);
    assert_eq!(ok.witness_cosignatures.len(), 1);
    assert_eq!(ok.witness_cosignatures[0].1, 1_700_000_000);
    // Wrong leaf, wrong origin, or no log key: rejected.
    assert!(verify_receipt(&parsed, ORIGIN, &log.leaves[1], &[&lv], &[&wv]).is_err());
    assert!(verify_receipt(&parsed, "other", &log.leaves[index as usize], &[&lv], &[&wv]).is_err());
    assert!(verify_receipt(&parsed, ORIGIN, &log.leaves[index as usize], &[], &[&wv]).is_err());
    // Without extra data the line is omitted.
    let plain = Receipt { extra: None, ..receipt };
    let text = plain.encode().unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 737\n"));
    assert_eq!(Receipt::parse(text.as_bytes()).unwrap(), plain);
    for bad in [
        "c2sp.org/tlog-proof@v2\nindex 1\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        "c2sp.org/tlog-proof@v1\nextra \nindex 1\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 1\n\n",
    ] {
        assert!(Receipt::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

#[test]
fn entry_encoding_is_canonical() {
    let e = LogEntry {
        v: 1,
        kind: "credential.issued".into(),
        time_unix_millis: 1_700_000_000_123,
        actor: "registry \"civil\"\\office".into(),
        purpose: "issuance\n".into(),
        subject_commitment: Some(subject_commitment(b"token", &[0; 16])),
        details_hash: None,
    };
    let bytes = e.encode().unwrap();
    let s = String::from_utf8(bytes.clone()).unwrap();
    assert!(s.starts_with(r#"{"v":1,"kind":"credential.issued","time":1700000000123,"actor":"registry \"civil\"\\office","purpose":"issuance\n","subject":""#), "{s}");
    assert!(s.ends_with("\"}"));
    assert_eq!(LogEntry::decode(&bytes).unwrap(), e);
    for bad in [
        s.replace("{\"v\":1,", "{ \"v\":1,"),
        s.replace("\"v\":1", "\"v\":2"),
        s.replace("\"v\":1,\"kind\":\"credential.issued\"", "\"kind\":\"credential.issued\",\"v\":1"),
        s.replace("}", ",\"extra\":1}"),
        s.replace("}", ",\"details\":null}"),
        s.replace("issuance\\n", "issuance\\u000a"),
        s.to_uppercase(),
    ] {
        assert!(LogEntry::decode(bad.as_bytes()).is_err(), "{bad}");
    }
    assert!(LogEntry { kind: "Bad".into(), ..e.clone() }.encode().is_err());
    assert!(LogEntry { actor: String::new(), ..e.clone() }.encode().is_err());
    assert!(matches!(LogEntry::decode(b"{}"), Err(Error::MalformedEntry(_))));
}

fn arb_entry() -> impl Strategy<Value = LogEntry> {
    (
        "[a-z][a-z0-9._-]{0,20}",
        any::<u64>(),
        "\\PC{1,40}",
        "[\\x00-\\x7f]{1,40}",
        proptest::option::of(any::<[u8; 32]>()),
        proptest::option::of(any::<[u8; 32]>()),
    )
        .prop_map(|(kind, time, actor, purpose, subject, details)| LogEntry {
            v: 1,
            kind,
            time_unix_millis: time,
            actor,
            purpose,
            subject_commitment: subject,
            details_hash: details,
        })
}

proptest! {
    #[test]
    fn entry_round_trip(e in arb_entry()) {
        let bytes = e.encode().unwrap();
        prop_assert_eq!(LogEntry::decode(&bytes).unwrap(), e);
    }

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300), s in "\\PC{0,200}") {
        let _ = LogEntry::decode(&data);
        let _ = LogEntry::decode(s.as_bytes());
        let _ = Receipt::parse(&data);
        let _ = Receipt::parse(s.as_bytes());
        let _ = AddCheckpointRequest::parse(&data);
        let _ = AddCheckpointRequest::parse(s.as_bytes());
    }

    #[test]
    fn request_and_receipt_round_trip(old in any::<u64>(), proof in proptest::collection::vec(any::<[u8; 32]>(), 0..63), extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)), cp in "[^\\p{Cc}]{1,40}\n") {
        let req = AddCheckpointRequest { old_size: old, proof: proof.clone(), checkpoint: cp.clone() };
        prop_assert_eq!(AddCheckpointRequest::parse(req.encode().unwrap().as_bytes()).unwrap(), req);
        let r = Receipt { extra, index: old, proof, checkpoint: cp };
        prop_assert_eq!(Receipt::parse(r.encode().unwrap().as_bytes()).unwrap(), r);
    }

    #[test]
    fn witness_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), now in any::<u64>()) {
        let log = Log::new();
        let w = witness(&log);
        let out = w.add_checkpoint(&body, now, |_| None);
        prop_assert!(out.status() != 200);
    }
}
