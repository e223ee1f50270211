//! RFC 6962 / RFC 9162 Merkle tree hashing, Go-style stored-hash indexing,
//! proof generation and proof verification.
//!
//! Two families of functions live here. The "stored hash" family
//! ([`stored_hash_index`], [`stored_hashes_for_record_hash`], [`tree_hash`],
//! [`prove_record`], [`check_record`], [`prove_tree`], [`check_tree`]) follows
//! the design of Go's `golang.org/x/mod/sumdb/tlog`: every hash of every
//! complete subtree is stored once, in a single append-only sequence, and
//! proofs are computed by reading a few of those hashes through a
//! [`HashReader`]. The "RFC" family ([`verify_inclusion`],
//! [`verify_consistency`]) implements the verification algorithms of
//! RFC 9162 §2.1.3.2 and §2.1.4.2 verbatim, over raw byte slices, so that
//! untrusted proofs can be checked without first being coerced into hashes.

use sha2::{Digest, Sha256};

use crate::Error;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The size of a [`Hash`](type@Hash) in bytes.
pub const HASH_SIZE: usize = 32;

/// The largest tree size the stored-hash functions accept (2^62).
///
/// Stored-hash indexes grow to about twice the tree size, so this bound keeps
/// every index computation inside a `u64` without overflow.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Returns the RFC 6962 leaf hash of `data`: SHA-256(0x00 || data).
pub fn hash_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// Returns the RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Returns the hash of the empty tree: SHA-256 of the empty string.
pub fn empty_tree_hash() -> Hash {
    Sha256::digest([]).into()
}

/// Reads stored hashes by their stored-hash index.
///
/// Implementations return exactly one hash per requested index, in the order
/// requested. A log server backs this with its hash storage; a client backs it
/// with a [`crate::tile::TileHashReader`].
pub trait HashReader {
    /// Returns the hashes stored at `indexes`, in the same order.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error>;
}

impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|&i| usize::try_from(i).ok().and_then(|i| self.get(i)).copied().ok_or(Error::HashNotFound(i)))
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        self.as_slice().read_hashes(indexes)
    }
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        (**self).read_hashes(indexes)
    }
}

/// Reads hashes and checks that the reader returned one hash per index.
fn read_checked<R: HashReader + ?Sized>(reader: &R, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
    let hashes = reader.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::HashCount { want: indexes.len(), got: hashes.len() });
    }
    Ok(hashes)
}

/// Returns the stored-hash index of the hash at `level` with index `n`.
///
/// Level 0 holds the leaf hashes; the hash at level `l`, index `n` covers the
/// leaves `n * 2^l .. (n + 1) * 2^l`. Hashes are stored in the order they
/// become computable as leaves are appended. The result is meaningful only for
/// subtrees of trees no larger than [`MAX_TREE_SIZE`]; larger inputs wrap
/// rather than panic.
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    // Find the last leaf of the subtree: the hash is stored right after the
    // hashes of that leaf's lower levels.
    let mut n = n;
    for _ in 0..level {
        n = n.wrapping_mul(2).wrapping_add(1);
    }
    // Each leaf k contributes k's own hash plus one hash per trailing one bit,
    // so the hashes before leaf n number sum(n >> i) for i >= 0 (i.e. 2n - popcount(n)).
    let mut i: u64 = 0;
    while n > 0 {
        i = i.wrapping_add(n);
        n >>= 1;
    }
    i.wrapping_add(u64::from(level))
}

/// Splits a stored-hash index into its `(level, n)` pair, the inverse of
/// [`stored_hash_index`].
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    // Leaf n is stored at index 2n - popcount(n) <= 2n, so n >= index / 2 and
    // a short forward scan finds the last leaf stored at or before index.
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    loop {
        // The next leaf follows this leaf's hash and one hash per trailing
        // one bit of n (the completed parents).
        let x = index_n.saturating_add(1).saturating_add(u64::from(n.wrapping_add(1).trailing_zeros()));
        if x > index {
            break;
        }
        n += 1;
        index_n = x;
    }
    // Index distance from leaf n is the level (bounded by 64 trailing bits).
    let level = u8::try_from(index - index_n).unwrap_or(u8::MAX);
    (level, n.checked_shr(u32::from(level)).unwrap_or(0))
}

/// Returns the number of stored hashes for a tree of `n` records.
pub fn stored_hash_count(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // The last record's leaf hash, plus one parent per trailing one bit of n-1.
    let mut count = stored_hash_index(0, n - 1).wrapping_add(1);
    let mut i = n - 1;
    while i & 1 != 0 {
        count = count.wrapping_add(1);
        i >>= 1;
    }
    count
}

fn check_size(name: &str, size: u64) -> Result<(), Error> {
    if size > MAX_TREE_SIZE {
        return Err(Error::InvalidArgument(format!("{name} {size} exceeds the maximum tree size {MAX_TREE_SIZE}")));
    }
    Ok(())
}

/// Returns the hashes that must be appended to storage when record `n`, with
/// leaf hash `leaf_hash`, is added to a tree of `n` records.
///
/// The first returned hash is `leaf_hash` itself, followed by the hash of every
/// subtree that record `n` completes, lowest level first. `reader` must be able
/// to return the hashes already stored for records `0..n`.
pub fn stored_hashes_for_record_hash<R: HashReader + ?Sized>(
    n: u64,
    leaf_hash: &Hash,
    reader: &R,
) -> Result<Vec<Hash>, Error> {
    if n >= MAX_TREE_SIZE {
        return Err(Error::InvalidArgument(format!("record index {n} exceeds the maximum tree size")));
    }
    let mut hashes = vec![*leaf_hash];
    // Record n completes one subtree per trailing one bit of n.
    let m = (n + 1).trailing_zeros() as u8;
    let mut indexes = vec![0u64; usize::from(m)];
    for i in 0..m {
        // The left sibling at level i is the subtree just before ours.
        indexes[usize::from(m - 1 - i)] = stored_hash_index(i, (n >> i) - 1);
    }
    let old = read_checked(reader, &indexes)?;
    let mut h = *leaf_hash;
    for i in 0..usize::from(m) {
        h = hash_children(&old[usize::from(m) - 1 - i], &h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// Returns the stored hashes of the tree whose leaf hashes are `leaves`, in
/// storage order: a small tree built in memory (a batch of receipts), for
/// [`tree_hash`] and [`prove_record`].
pub fn stored_hashes_of_leaves(leaves: &[Hash]) -> Result<Vec<Hash>, Error> {
    let mut stored = Vec::with_capacity(leaves.len() * 2);
    for (n, leaf_hash) in (0u64..).zip(leaves) {
        let completed = stored_hashes_for_record_hash(n, leaf_hash, &stored)?;
        stored.extend(completed);
    }
    Ok(stored)
}

/// Returns `(k, level)` where `k = 2^level` is the largest power of two
/// strictly less than `n`. `n` must be at least 2.
fn maxpow2(n: u64) -> (u64, u8) {
    let level = 63 - (n - 1).leading_zeros();
    (1u64 << level, level as u8)
}

/// Appends the stored-hash indexes of the complete subtrees that make up the
/// range `lo..hi`, left to right.
fn sub_tree_index(mut lo: u64, hi: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    while lo < hi {
        let (k, level) = maxpow2(hi - lo + 1);
        if lo & (k - 1) != 0 {
            return Err(Error::Internal("bad subtree alignment"));
        }
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
    Ok(())
}

/// Computes the hash of the range `lo..hi` from the subtree hashes listed by
/// [`sub_tree_index`], consuming them from the front of `hashes`.
fn sub_tree_hash(mut lo: u64, hi: u64, hashes: &[Hash]) -> Result<(Hash, &[Hash]), Error> {
    let mut num_tree = 0usize;
    while lo < hi {
        let (k, _) = maxpow2(hi - lo + 1);
        lo += k;
        num_tree += 1;
    }
    if num_tree == 0 || hashes.len() < num_tree {
        return Err(Error::Internal("missing subtree hashes"));
    }
    let mut h = hashes[num_tree - 1];
    for i in (0..num_tree - 1).rev() {
        h = hash_children(&hashes[i], &h);
    }
    Ok((h, &hashes[num_tree..]))
}

/// Returns the Merkle tree hash of the tree with `n` records.
pub fn tree_hash<R: HashReader + ?Sized>(n: u64, reader: &R) -> Result<Hash, Error> {
    check_size("tree size", n)?;
    if n == 0 {
        return Ok(empty_tree_hash());
    }
    let mut indexes = Vec::new();
    sub_tree_index(0, n, &mut indexes)?;
    let hashes = read_checked(reader, &indexes)?;
    Ok(sub_tree_hash(0, n, &hashes)?.0)
}

fn leaf_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    if !(lo <= n && n < hi) {
        return Err(Error::Internal("leaf outside proof range"));
    }
    if lo + 1 == hi {
        return Ok(());
    }
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        leaf_proof_index(lo, lo + k, n, need)?;
        sub_tree_index(lo + k, hi, need)
    } else {
        sub_tree_index(lo, lo + k, need)?;
        leaf_proof_index(lo + k, hi, n, need)
    }
}

fn leaf_proof<'a>(lo: u64, hi: u64, n: u64, hashes: &'a [Hash], proof: &mut Vec<Hash>) -> Result<&'a [Hash], Error> {
    if lo + 1 == hi {
        return Ok(hashes);
    }
    let (k, _) = maxpow2(hi - lo);
    let (th, rest) = if n < lo + k {
        let rest = leaf_proof(lo, lo + k, n, hashes, proof)?;
        sub_tree_hash(lo + k, hi, rest)?
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        (th, leaf_proof(lo + k, hi, n, rest, proof)?)
    };
    proof.push(th);
    Ok(rest)
}

/// Returns the inclusion proof for record `index` in the tree of size
/// `tree_size`, ordered from the leaf's sibling up to the root's child, as in
/// RFC 6962 §2.1.1.
pub fn prove_record<R: HashReader + ?Sized>(tree_size: u64, index: u64, reader: &R) -> Result<Vec<Hash>, Error> {
    check_size("tree size", tree_size)?;
    if index >= tree_size {
        return Err(Error::InvalidArgument(format!("record index {index} is not below tree size {tree_size}")));
    }
    let mut indexes = Vec::new();
    leaf_proof_index(0, tree_size, index, &mut indexes)?;
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_checked(reader, &indexes)?;
    let mut proof = Vec::new();
    let rest = leaf_proof(0, tree_size, index, &hashes, &mut proof)?;
    if !rest.is_empty() {
        return Err(Error::Internal("unused hashes in record proof"));
    }
    Ok(proof)
}

fn run_record_proof(p: &[Hash], lo: u64, hi: u64, n: u64, leaf_hash: &Hash) -> Option<Hash> {
    if lo + 1 == hi {
        return p.is_empty().then_some(*leaf_hash);
    }
    let (last, rest) = p.split_last()?;
    let (k, _) = maxpow2(hi - lo);
    if n < lo + k {
        let th = run_record_proof(rest, lo, lo + k, n, leaf_hash)?;
        Some(hash_children(&th, last))
    } else {
        let th = run_record_proof(rest, lo + k, hi, n, leaf_hash)?;
        Some(hash_children(last, &th))
    }
}

/// Checks that `proof` proves that record `index`, with leaf hash `leaf_hash`,
/// is in the tree of size `tree_size` with root `tree_hash`.
pub fn check_record(
    proof: &[Hash],
    tree_size: u64,
    tree_hash: &Hash,
    index: u64,
    leaf_hash: &Hash,
) -> Result<(), Error> {
    if index >= tree_size {
        return Err(Error::InclusionProof("leaf index is not below tree size"));
    }
    match run_record_proof(proof, 0, tree_size, index, leaf_hash) {
        Some(h) if h == *tree_hash => Ok(()),
        Some(_) => Err(Error::InclusionProof("computed root does not match")),
        None => Err(Error::InclusionProof("proof has the wrong length")),
    }
}

fn tree_proof_index(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) -> Result<(), Error> {
    if !(lo < n && n <= hi) {
        return Err(Error::Internal("old size outside proof range"));
    }
    if n == hi {
        if lo == 0 {
            return Ok(());
        }
        return sub_tree_index(lo, hi, need);
    }
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        tree_proof_index(lo, lo + k, n, need)?;
        sub_tree_index(lo + k, hi, need)
    } else {
        sub_tree_index(lo, lo + k, need)?;
        tree_proof_index(lo + k, hi, n, need)
    }
}

fn tree_proof<'a>(lo: u64, hi: u64, n: u64, hashes: &'a [Hash], proof: &mut Vec<Hash>) -> Result<&'a [Hash], Error> {
    if n == hi {
        if lo == 0 {
            return Ok(hashes);
        }
        let (th, rest) = sub_tree_hash(lo, hi, hashes)?;
        proof.push(th);
        return Ok(rest);
    }
    let (k, _) = maxpow2(hi - lo);
    let (th, rest) = if n <= lo + k {
        let rest = tree_proof(lo, lo + k, n, hashes, proof)?;
        sub_tree_hash(lo + k, hi, rest)?
    } else {
        let (th, rest) = sub_tree_hash(lo, lo + k, hashes)?;
        (th, tree_proof(lo + k, hi, n, rest, proof)?)
    };
    proof.push(th);
    Ok(rest)
}

/// Returns the consistency proof from the tree of size `old_size` to the tree
/// of size `new_size` (RFC 6962 §2.1.2). Requires `1 <= old_size <= new_size`;
/// the proof is empty when the sizes are equal.
pub fn prove_tree<R: HashReader + ?Sized>(new_size: u64, old_size: u64, reader: &R) -> Result<Vec<Hash>, Error> {
    check_size("tree size", new_size)?;
    if old_size < 1 || old_size > new_size {
        return Err(Error::InvalidArgument(format!(
            "cannot prove consistency from size {old_size} to size {new_size}"
        )));
    }
    let mut indexes = Vec::new();
    tree_proof_index(0, new_size, old_size, &mut indexes)?;
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read_checked(reader, &indexes)?;
    let mut proof = Vec::new();
    let rest = tree_proof(0, new_size, old_size, &hashes, &mut proof)?;
    if !rest.is_empty() {
        return Err(Error::Internal("unused hashes in tree proof"));
    }
    Ok(proof)
}

/// Recomputes `(old root, new root)` from a consistency proof.
fn run_tree_proof(p: &[Hash], lo: u64, hi: u64, n: u64, old: &Hash) -> Option<(Hash, Hash)> {
    if n == hi {
        if lo == 0 {
            return p.is_empty().then_some((*old, *old));
        }
        return match p {
            [h] => Some((*h, *h)),
            _ => None,
        };
    }
    let (last, rest) = p.split_last()?;
    let (k, _) = maxpow2(hi - lo);
    if n <= lo + k {
        let (oh, th) = run_tree_proof(rest, lo, lo + k, n, old)?;
        Some((oh, hash_children(&th, last)))
    } else {
        let (oh, th) = run_tree_proof(rest, lo + k, hi, n, old)?;
        Some((hash_children(last, &oh), hash_children(last, &th)))
    }
}

/// Checks that `proof` proves the tree of size `old_size` with root
/// `old_hash` is a prefix of the tree of size `new_size` with root `new_hash`.
pub fn check_tree(proof: &[Hash], new_size: u64, new_hash: &Hash, old_size: u64, old_hash: &Hash) -> Result<(), Error> {
    if old_size < 1 || old_size > new_size {
        return Err(Error::ConsistencyProof("sizes are not 1 <= old <= new"));
    }
    match run_tree_proof(proof, 0, new_size, old_size, old_hash) {
        Some((oh, th)) if oh == *old_hash && th == *new_hash => Ok(()),
        Some((oh, _)) if oh != *old_hash => Err(Error::ConsistencyProof("old root does not match")),
        Some(_) => Err(Error::ConsistencyProof("new root does not match")),
        None => Err(Error::ConsistencyProof("proof has the wrong length")),
    }
}

fn to_hash(b: &[u8]) -> Option<Hash> {
    b.try_into().ok()
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 specifies.
///
/// Every input is a raw byte slice so that untrusted, possibly malformed
/// values can be passed straight through: a leaf hash or proof element that is
/// not 32 bytes long is an error, and the computed root is compared with
/// `root` byte for byte.
pub fn verify_inclusion<P: AsRef<[u8]>>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8],
    proof: &[P],
    root: &[u8],
) -> Result<(), Error> {
    let r = inclusion_root(leaf_index, tree_size, leaf_hash, proof)?;
    if r.as_slice() != root {
        return Err(Error::InclusionProof("computed root does not match"));
    }
    Ok(())
}

/// The root that an inclusion proof leads to from a leaf (RFC 9162
/// §2.1.3.2 without the final comparison): the proof verifies against a root
/// exactly when this returns that root.
pub fn inclusion_root<P: AsRef<[u8]>>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8],
    proof: &[P],
) -> Result<Hash, Error> {
    if leaf_index >= tree_size {
        return Err(Error::InclusionProof("leaf index is not below tree size"));
    }
    let mut r = to_hash(leaf_hash).ok_or(Error::InclusionProof("leaf hash is not 32 bytes"))?;
    let mut fnode = leaf_index;
    let mut snode = tree_size - 1;
    for p in proof {
        let p = to_hash(p.as_ref()).ok_or(Error::InclusionProof("proof element is not 32 bytes"))?;
        if snode == 0 {
            return Err(Error::InclusionProof("proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = hash_children(&p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = hash_children(&r, &p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::InclusionProof("proof is too short"));
    }
    Ok(r)
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 specifies.
///
/// The RFC defines proofs for `0 < size1 < size2`; in addition, equal sizes
/// are accepted with an empty proof when the roots are identical. A first
/// size of zero is rejected because a proof from the empty tree proves
/// nothing. Proof elements must be 32 bytes; roots are compared byte for byte.
pub fn verify_consistency<P: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[P],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), Error> {
    if size1 == 0 {
        return Err(Error::ConsistencyProof("a proof from the empty tree is meaningless"));
    }
    if size1 > size2 {
        return Err(Error::ConsistencyProof("first size is larger than second size"));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::ConsistencyProof("sizes are equal but the proof is not empty"));
        }
        if root1 != root2 {
            return Err(Error::ConsistencyProof("sizes are equal but the roots differ"));
        }
        return Ok(());
    }
    // Step 1: an empty path fails.
    if proof.is_empty() {
        return Err(Error::ConsistencyProof("proof is empty"));
    }
    let mut path = Vec::with_capacity(proof.len() + 1);
    // Step 2: a power-of-two first tree is its own first proof node.
    if size1.is_power_of_two() {
        path.push(to_hash(root1).ok_or(Error::ConsistencyProof("first root is not 32 bytes"))?);
    }
    for p in proof {
        path.push(to_hash(p.as_ref()).ok_or(Error::ConsistencyProof("proof element is not 32 bytes"))?);
    }
    // Steps 3 and 4.
    let mut fnode = size1 - 1;
    let mut snode = size2 - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let mut fr = path[0];
    let mut sr = path[0];
    // Step 6.
    for c in &path[1..] {
        if snode == 0 {
            return Err(Error::ConsistencyProof("proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = hash_children(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(Error::ConsistencyProof("proof is too short"));
    }
    if fr.as_slice() != root1 {
        return Err(Error::ConsistencyProof("first root does not match"));
    }
    if sr.as_slice() != root2 {
        return Err(Error::ConsistencyProof("second root does not match"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hash_index_round_trips() {
        for index in 0..5000u64 {
            let (level, n) = split_stored_hash_index(index);
            assert_eq!(stored_hash_index(level, n), index, "index {index}");
        }
    }

    #[test]
    fn stored_hash_count_matches_appends() {
        let mut hashes: Vec<Hash> = Vec::new();
        for n in 0..300u64 {
            assert_eq!(stored_hash_count(n), hashes.len() as u64);
            let add = stored_hashes_for_record_hash(n, &hash_leaf(&n.to_be_bytes()), &hashes).expect("append");
            hashes.extend(add);
        }
    }

    #[test]
    fn empty_tree_hash_is_sha256_of_nothing() {
        let want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let got: String = empty_tree_hash().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
    }
}
