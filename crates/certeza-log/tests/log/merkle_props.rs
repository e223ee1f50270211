//! Property tests for stored-hash trees, proofs and the RFC verifiers.
#![allow(clippy::unwrap_used)]

use certeza_log::merkle::*;
use proptest::prelude::*;

/// The RFC 6962 Merkle tree hash, computed naively by recursion.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_tree_hash(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            hash_children(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn build(n: u64) -> (Vec<Hash>, Vec<Hash>) {
    let mut stored = Vec::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let leaf = hash_leaf(format!("entry {i}").as_bytes());
        leaves.push(leaf);
        let add = stored_hashes_for_record_hash(i, &leaf, &stored).unwrap();
        stored.extend(add);
    }
    assert_eq!(stored.len() as u64, stored_hash_count(n));
    (stored, leaves)
}

#[test]
fn tree_hash_matches_naive_for_every_small_size() {
    let (stored, leaves) = build(300);
    for n in 0..=300u64 {
        assert_eq!(tree_hash(n, &stored).unwrap(), mth(&leaves[..n as usize]), "size {n}");
    }
}

#[test]
fn a_tree_built_from_its_leaves_has_the_naive_root_and_its_proofs_lead_there() {
    for size in 1..=70usize {
        let leaves: Vec<Hash> = (0..size).map(|i| hash_leaf(format!("receipt {i}").as_bytes())).collect();
        let stored = stored_hashes_of_leaves(&leaves).unwrap();
        let root = tree_hash(size as u64, &stored).unwrap();
        assert_eq!(root, mth(&leaves), "size {size}");
        for (index, leaf) in (0u64..).zip(&leaves) {
            let proof = prove_record(size as u64, index, &stored).unwrap();
            assert_eq!(inclusion_root(index, size as u64, leaf, &proof).unwrap(), root);
            // Another leaf, or the right leaf at another place, leads elsewhere.
            let other = hash_leaf(b"another receipt");
            assert_ne!(inclusion_root(index, size as u64, &other, &proof).unwrap(), root);
            if size > 1 {
                let moved = (index + 1) % size as u64;
                assert!(!inclusion_root(moved, size as u64, leaf, &proof).is_ok_and(|moved_root| moved_root == root));
            }
        }
    }
}

#[test]
fn exhaustive_small_proofs() {
    let (stored, leaves) = build(40);
    for size in 1..=40u64 {
        let root = tree_hash(size, &stored).unwrap();
        for i in 0..size {
            let p = prove_record(size, i, &stored).unwrap();
            check_record(&p, size, &root, i, &leaves[i as usize]).unwrap();
            verify_inclusion(i, size, &leaves[i as usize], &p, &root).unwrap();
            assert!(verify_inclusion(i, size, &leaves[((i + 1) % size) as usize], &p, &root).is_err() || size == 1);
        }
        for old in 1..=size {
            let old_root = tree_hash(old, &stored).unwrap();
            let p = prove_tree(size, old, &stored).unwrap();
            check_tree(&p, size, &root, old, &old_root).unwrap();
            verify_consistency(old, size, &p, &old_root, &root).unwrap();
            if old < size {
                assert!(verify_consistency(old, size, &p, &root, &root).is_err());
                assert!(check_tree(&p, size, &old_root, old, &old_root).is_err());
            }
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let (stored, _) = build(5);
    assert!(prove_record(5, 5, &stored).is_err());
    assert!(prove_record(0, 0, &stored).is_err());
    assert!(prove_tree(5, 0, &stored).is_err());
    assert!(prove_tree(5, 6, &stored).is_err());
    assert!(tree_hash(6, &stored).is_err(), "reading past the stored hashes must fail");
    assert!(tree_hash(u64::MAX, &stored).is_err());
    assert!(stored_hashes_for_record_hash(u64::MAX, &[0; 32], &stored).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_agree_with_rfc_verifiers(size in 1u64..2000, a in any::<u64>(), b in any::<u64>()) {
        let (stored, leaves) = build(size);
        let root = tree_hash(size, &stored).unwrap();
        prop_assert_eq!(root, mth(&leaves));
        let i = a % size;
        let p = prove_record(size, i, &stored).unwrap();
        prop_assert!(check_record(&p, size, &root, i, &leaves[i as usize]).is_ok());
        prop_assert!(verify_inclusion(i, size, &leaves[i as usize], &p, &root).is_ok());
        let old = 1 + b % size;
        let old_root = tree_hash(old, &stored).unwrap();
        let c = prove_tree(size, old, &stored).unwrap();
        prop_assert!(check_tree(&c, size, &root, old, &old_root).is_ok());
        prop_assert!(verify_consistency(old, size, &c, &old_root, &root).is_ok());
    }

    #[test]
    fn split_inverts_stored_hash_index(level in 0u8..40, n in 0u64..(1 << 20)) {
        let n = n >> level.min(20);
        let idx = stored_hash_index(level, n);
        prop_assert_eq!(split_stored_hash_index(idx), (level, n));
    }

    #[test]
    fn verifiers_never_panic(
        idx in any::<u64>(), size in any::<u64>(),
        leaf in proptest::collection::vec(any::<u8>(), 0..40),
        proof in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..70),
        root in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let _ = verify_inclusion(idx, size, &leaf, &proof, &root);
        let _ = verify_consistency(idx, size, &proof, &leaf, &root);
        let hashes: Vec<Hash> = proof.iter().map(|p| { let mut h = [0u8; 32]; let l = p.len().min(32); h[..l].copy_from_slice(&p[..l]); h }).collect();
        let _ = check_record(&hashes, size, &[0; 32], idx, &[1; 32]);
        let _ = check_tree(&hashes, size, &[0; 32], idx, &[1; 32]);
        let _ = split_stored_hash_index(idx);
        let _ = stored_hash_count(size);
    }
}
