//! C2SP tlog-tiles: tile coordinates and paths, entry bundles, and an
//! authenticating [`HashReader`] over fetched tiles.
//!
//! A tile is a run of up to 256 consecutive hashes at one "tile level": level
//! 0 holds leaf hashes, and each hash of a level `L` tile is the root of a full
//! 256-wide tile at level `L - 1` (tile height 8, so tile level `L` holds
//! Merkle level `8 * L`). Partial tiles, narrower than 256, exist only at the
//! right edge of the tree.

use std::collections::HashMap;

use crate::Error;
use crate::merkle::{
    HASH_SIZE, Hash, HashReader, MAX_TREE_SIZE, hash_children, split_stored_hash_index, stored_hash_index,
};

/// The number of Merkle levels a tile spans.
pub const TILE_HEIGHT: u8 = 8;

/// The number of hashes in a full tile (and entries in a full bundle).
pub const TILE_WIDTH: u16 = 256;

/// The largest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// A tile's coordinates: its level, its index within the level, and its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

impl Tile {
    /// Creates a tile, checking `level <= 63` and `1 <= width <= 256`.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Tile, Error> {
        if level > MAX_TILE_LEVEL {
            return Err(Error::InvalidArgument(format!("tile level {level} exceeds 63")));
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(Error::InvalidArgument(format!("tile width {width} is not in 1..=256")));
        }
        Ok(Tile { level, index, width })
    }

    /// The tile level (Merkle level divided by 8).
    pub fn level(&self) -> u8 {
        self.level
    }

    /// The index of the tile within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The number of hashes in the tile, 1 to 256.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is partial (narrower than 256 hashes).
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The expected size of the tile's data in bytes (`width * 32`).
    pub fn data_len(&self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }

    /// The tile's path, `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// The path of the entry bundle matching this tile's index and width,
    /// `tile/entries/<N>[.p/<W>]`. Entry bundles correspond to level-0 tiles.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.suffix())
    }

    fn suffix(&self) -> String {
        let n = format_index(self.index);
        if self.width < TILE_WIDTH { format!("{n}.p/{}", self.width) } else { n }
    }

    /// Parses a tile path `tile/<L>/<N>[.p/<W>]`, accepting only the
    /// canonical form the specification mandates.
    pub fn parse_path(path: &str) -> Result<Tile, Error> {
        let bad = |reason| Error::MalformedTilePath { path: path.to_owned(), reason };
        let rest = path.strip_prefix("tile/").ok_or(bad("missing tile/ prefix"))?;
        let (level, rest) = rest.split_once('/').ok_or(bad("missing level"))?;
        let level = parse_decimal(level).ok_or(bad("level is not a canonical decimal"))?;
        let level = u8::try_from(level).ok().filter(|l| *l <= MAX_TILE_LEVEL).ok_or(bad("level exceeds 63"))?;
        let (index, width) = parse_suffix(rest).map_err(bad)?;
        Ok(Tile { level, index, width })
    }

    /// Parses an entry bundle path `tile/entries/<N>[.p/<W>]` into the
    /// matching level-0 tile, accepting only the canonical form.
    pub fn parse_entries_path(path: &str) -> Result<Tile, Error> {
        let bad = |reason| Error::MalformedTilePath { path: path.to_owned(), reason };
        let rest = path.strip_prefix("tile/entries/").ok_or(bad("missing tile/entries/ prefix"))?;
        let (index, width) = parse_suffix(rest).map_err(bad)?;
        Ok(Tile { level: 0, index, width })
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// Formats a tile index as 3-digit groups, all but the last prefixed `x`.
fn format_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Parses a decimal with no sign and no leading zeroes (other than `0`).
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
}

/// Parses `<N>[.p/<W>]`.
fn parse_suffix(s: &str) -> Result<(u64, u16), &'static str> {
    let (index_part, width) = match s.split_once(".p/") {
        Some((i, w)) => {
            let w = parse_decimal(w).ok_or("width is not a canonical decimal")?;
            let w = u16::try_from(w)
                .ok()
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or("partial width is not in 1..=255")?;
            (i, w)
        }
        None => (s, TILE_WIDTH),
    };
    let groups: Vec<&str> = index_part.split('/').collect();
    let (last, init) = groups.split_last().ok_or("missing index")?;
    let mut n: u64 = 0;
    for (i, g) in init.iter().enumerate() {
        let digits = g.strip_prefix('x').ok_or("index group lacks the x prefix")?;
        let v = three_digits(digits).ok_or("index group is not three digits")?;
        if i == 0 && v == 0 {
            return Err("index has a leading zero group");
        }
        n = n.checked_mul(1000).and_then(|n| n.checked_add(v)).ok_or("index overflows")?;
    }
    let v = three_digits(last).ok_or("last index group is not three digits")?;
    n = n.checked_mul(1000).and_then(|n| n.checked_add(v)).ok_or("index overflows")?;
    Ok((n, width))
}

/// Returns the tiles to publish when the tree grows from `old_size` to
/// `new_size` records: every new or grown tile at every level, including the
/// partial tiles for `new_size`. Returns nothing unless `old_size < new_size`.
pub fn tiles_for_size(old_size: u64, new_size: u64) -> Vec<Tile> {
    let mut tiles = Vec::new();
    if old_size >= new_size {
        return tiles;
    }
    let h = u32::from(TILE_HEIGHT);
    let mut level: u8 = 0;
    while u32::from(level) * h < 64 && new_size >> (u32::from(level) * h) > 0 {
        let shift = u32::from(level) * h;
        let old_n = old_size >> shift;
        let new_n = new_size >> shift;
        if old_n != new_n {
            for n in (old_n >> h)..(new_n >> h) {
                tiles.push(Tile { level, index: n, width: TILE_WIDTH });
            }
            let n = new_n >> h;
            let w = new_n - (n << h);
            if w > 0 {
                tiles.push(Tile {
                    level,
                    index: n,
                    // w < 256 because it is new_n modulo 256.
                    width: w as u16,
                });
            }
        }
        level += 1;
    }
    tiles
}

/// Returns the tile holding stored hash `index`, with the smallest width that
/// includes it, together with the byte range within the tile's data whose
/// Merkle hash is the stored hash.
fn tile_for_index(index: u64) -> (Tile, usize, usize) {
    let (level, n) = split_stored_hash_index(index);
    let tile_level = level / TILE_HEIGHT;
    let sub = u32::from(level - tile_level * TILE_HEIGHT);
    let h = u32::from(TILE_HEIGHT);
    let tile_index = n.wrapping_shl(sub) >> h;
    // Position within the tile at the sub-level; below 256 >> sub for every
    // index of a tree within MAX_TREE_SIZE, and clamped for absurd ones.
    let pos = n.wrapping_sub(tile_index.wrapping_shl(h) >> sub).min(255 >> sub);
    let start = (pos << sub) as usize;
    let end = ((pos + 1) << sub) as usize;
    let tile = Tile { level: tile_level, index: tile_index, width: end as u16 };
    (tile, start * HASH_SIZE, end * HASH_SIZE)
}

/// Returns the smallest tile that holds the stored hash with index `index`.
pub fn tile_for_stored_hash_index(index: u64) -> Tile {
    tile_for_index(index).0
}

/// Returns the Merkle hash of tile data (a run of hashes treated as leaves
/// whose hashes are already computed). `data` must hold at least one hash and
/// be a multiple of 32 bytes.
fn tile_root(data: &[u8]) -> Hash {
    let n = data.len() / HASH_SIZE;
    if n <= 1 {
        let mut h = [0u8; HASH_SIZE];
        let len = data.len().min(HASH_SIZE);
        h[..len].copy_from_slice(&data[..len]);
        return h;
    }
    let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
    hash_children(&tile_root(&data[..k * HASH_SIZE]), &tile_root(&data[k * HASH_SIZE..]))
}

/// Returns the data of `tile`: its hashes concatenated, read from `reader`.
pub fn read_tile_data<R: HashReader + ?Sized>(tile: &Tile, reader: &R) -> Result<Vec<u8>, Error> {
    let start = tile
        .index
        .checked_mul(u64::from(TILE_WIDTH))
        .ok_or_else(|| Error::InvalidArgument(format!("tile {tile} is out of range")))?;
    let level = tile.level * TILE_HEIGHT;
    let indexes: Vec<u64> = (0..u64::from(tile.width)).map(|i| stored_hash_index(level, start + i)).collect();
    let hashes = reader.read_hashes(&indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::HashCount { want: indexes.len(), got: hashes.len() });
    }
    Ok(hashes.concat())
}

/// Returns the stored hash with index `index` computed from `tile`'s `data`.
///
/// Fails if `data` is not exactly `tile.width() * 32` bytes or if the hash is
/// not inside the tile.
pub fn hash_from_tile(tile: &Tile, data: &[u8], index: u64) -> Result<Hash, Error> {
    if data.len() != tile.data_len() {
        return Err(Error::MalformedTile {
            tile: tile.path(),
            reason: format!("data is {} bytes, want {}", data.len(), tile.data_len()),
        });
    }
    if index >= stored_hash_index(0, MAX_TREE_SIZE) {
        return Err(Error::InvalidArgument(format!("stored hash {index} is beyond the maximum tree size")));
    }
    let (t1, start, end) = tile_for_index(index);
    if tile.level != t1.level || tile.index != t1.index || tile.width < t1.width {
        return Err(Error::InvalidArgument(format!("stored hash {index} is not in tile {tile}")));
    }
    let range = data
        .get(start..end)
        .ok_or_else(|| Error::InvalidArgument(format!("stored hash {index} is not in tile {tile}")))?;
    Ok(tile_root(range))
}

/// Fetches tiles. The fetching itself (HTTP, disk, cache) is the caller's IO.
pub trait TileReader {
    /// Returns the data of each tile in `tiles`, in the same order.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error>;

    /// Called with tiles that were fully authenticated against the signed
    /// tree hash, so the caller may cache them. The default does nothing.
    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// A [`HashReader`] that serves hashes from tiles fetched through a
/// [`TileReader`], authenticating every tile it reads against a signed tree.
///
/// The partial tiles at the right edge of the tree are authenticated by
/// recomputing the signed tree hash from them; each of them is then fully
/// covered by that computation. Every other tile is full and is authenticated
/// by checking its Merkle hash against its parent tile, which is itself
/// authenticated first. No hash is returned unless every tile fetched for the
/// request passed.
#[derive(Debug, Clone)]
pub struct TileHashReader<R> {
    tree_size: u64,
    tree_hash: Hash,
    reader: R,
}

impl<R: TileReader> TileHashReader<R> {
    /// Creates a reader for the tree of `tree_size` records whose signed root
    /// is `tree_hash`. The caller must have verified the checkpoint signature.
    pub fn new(tree_size: u64, tree_hash: Hash, reader: R) -> Result<Self, Error> {
        if tree_size > MAX_TREE_SIZE {
            return Err(Error::InvalidArgument(format!("tree size {tree_size} exceeds the maximum")));
        }
        Ok(TileHashReader { tree_size, tree_hash, reader })
    }

    /// The underlying tile reader.
    pub fn tile_reader(&self) -> &R {
        &self.reader
    }
}

/// Returns the `k`-th ancestor of `t` (`k = 0` is `t` itself) widened to the
/// widest tile that exists in a tree of `n` records, or `None` if it is empty.
fn tile_parent(t: &Tile, k: u8, n: u64) -> Option<Tile> {
    let level = t.level.checked_add(k)?;
    if level > MAX_TILE_LEVEL {
        return None;
    }
    let h = u32::from(TILE_HEIGHT);
    let index = t.index.checked_shr(u32::from(k) * h)?;
    let max = n.checked_shr(u32::from(level) * h).unwrap_or(0);
    let start = index.checked_shl(h)?;
    if start >> h != index || max <= start {
        return None;
    }
    let width = (max - start).min(u64::from(TILE_WIDTH)) as u16;
    Some(Tile { level, index, width })
}

impl<R: TileReader> HashReader for TileHashReader<R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        let n = self.tree_size;
        let mut tile_order: HashMap<Tile, usize> = HashMap::new();
        let mut tiles: Vec<Tile> = Vec::new();

        // Plan the tiles that recompute the tree hash: the partial tiles at the
        // right edge. They are listed first.
        let mut stx = Vec::new();
        if n > 0 {
            let mut lo = 0u64;
            while lo < n {
                let (k, level) = maxpow2(n - lo + 1);
                stx.push(stored_hash_index(level, lo >> level));
                lo += k;
            }
        }
        let mut stx_tile = Vec::with_capacity(stx.len());
        for &x in &stx {
            let (t, _, _) = tile_for_index(x);
            let t = tile_parent(&t, 0, n).ok_or(Error::Internal("tree hash tile is empty"))?;
            let j = *tile_order.entry(t).or_insert_with(|| {
                tiles.push(t);
                tiles.len() - 1
            });
            stx_tile.push(j);
        }
        let num_root_tiles = tiles.len();

        // Plan the tiles holding the requested hashes, each preceded by the
        // chain of full ancestor tiles that authenticates it.
        let limit = stored_hash_index(0, n);
        let mut index_tile = Vec::with_capacity(indexes.len());
        for &x in indexes {
            if x >= limit {
                return Err(Error::InvalidArgument(format!("stored hash {x} is not in the tree of size {n}")));
            }
            let (t, _, _) = tile_for_index(x);
            let mut k: u8 = 0;
            let mut found = None;
            while k <= MAX_TILE_LEVEL {
                let p = tile_parent(&t, k, n).ok_or(Error::Internal("lost tile ancestor"))?;
                if let Some(&j) = tile_order.get(&p) {
                    found = Some(j);
                    break;
                }
                k += 1;
            }
            let found = found.ok_or(Error::Internal("no authenticated ancestor tile"))?;
            if k == 0 {
                index_tile.push(found);
                continue;
            }
            // Record the chain below the authenticated ancestor, parents first.
            for kk in (0..k).rev() {
                let p = tile_parent(&t, kk, n).ok_or(Error::Internal("lost tile ancestor"))?;
                if p.width != TILE_WIDTH {
                    return Err(Error::Internal("tile with a parent is not full"));
                }
                tile_order.insert(p, tiles.len());
                tiles.push(p);
            }
            index_tile.push(tiles.len() - 1);
        }

        let data = self.reader.read_tiles(&tiles)?;
        if data.len() != tiles.len() {
            return Err(Error::TileRead(format!(
                "tile reader returned {} tiles for {} requested",
                data.len(),
                tiles.len()
            )));
        }
        for (t, d) in tiles.iter().zip(&data) {
            if d.len() != t.data_len() {
                return Err(Error::TileAuthentication {
                    tile: t.path(),
                    reason: format!("tile is {} bytes, want {}", d.len(), t.data_len()),
                });
            }
        }

        // Authenticate the edge tiles against the signed tree hash, and make
        // sure the recomputation covered every byte of them.
        if n > 0 {
            let mut covered: Vec<Vec<bool>> =
                (0..num_root_tiles).map(|i| vec![false; usize::from(tiles[i].width)]).collect();
            let mut th: Option<Hash> = None;
            for (i, &x) in stx.iter().enumerate().rev() {
                let j = stx_tile[i];
                let h = hash_from_tile(&tiles[j], &data[j], x)?;
                let (_, start, end) = tile_for_index(x);
                for c in &mut covered[j][start / HASH_SIZE..end / HASH_SIZE] {
                    *c = true;
                }
                th = Some(match th {
                    None => h,
                    Some(right) => hash_children(&h, &right),
                });
            }
            if th != Some(self.tree_hash) {
                let names: Vec<String> = tiles[..num_root_tiles].iter().map(Tile::path).collect();
                return Err(Error::TileAuthentication {
                    tile: names.join(", "),
                    reason: format!("tiles do not match the signed tree hash for size {n}"),
                });
            }
            if let Some(j) = covered.iter().position(|c| c.iter().any(|b| !b)) {
                return Err(Error::TileAuthentication {
                    tile: tiles[j].path(),
                    reason: "tile is not fully covered by the tree hash".to_owned(),
                });
            }
        }

        // Authenticate every remaining tile, all full, against its parent,
        // which precedes it in the list and so is already authenticated.
        for i in num_root_tiles..tiles.len() {
            let t = tiles[i];
            let p = tile_parent(&t, 1, n).ok_or(Error::Internal("lost parent tile"))?;
            let j = *tile_order
                .get(&p)
                .filter(|&&j| j < i)
                .ok_or(Error::Internal("parent tile not authenticated first"))?;
            let want = hash_from_tile(&p, &data[j], stored_hash_index(p.level * TILE_HEIGHT, t.index))?;
            if tile_root(&data[i]) != want {
                return Err(Error::TileAuthentication {
                    tile: t.path(),
                    reason: format!("tile does not match its parent {}", p.path()),
                });
            }
        }

        self.reader.save_tiles(&tiles, &data);

        indexes.iter().zip(&index_tile).map(|(&x, &j)| hash_from_tile(&tiles[j], &data[j], x)).collect()
    }
}

fn maxpow2(n: u64) -> (u64, u8) {
    let level = 63 - (n - 1).leading_zeros();
    (1u64 << level, level as u8)
}

/// The largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Encodes an entry bundle: each entry as a big-endian `u16` length followed
/// by its bytes. Fails for an empty bundle, more than 256 entries, or an entry
/// longer than 65535 bytes.
pub fn encode_entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, Error> {
    if entries.is_empty() {
        return Err(Error::MalformedEntryBundle("bundle is empty".to_owned()));
    }
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(Error::MalformedEntryBundle(format!("{} entries exceed 256", entries.len())));
    }
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for (i, e) in entries.iter().enumerate() {
        let len = u16::try_from(e.len())
            .map_err(|_| Error::MalformedEntryBundle(format!("entry {i} is {} bytes, over 65535", e.len())))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Parses an entry bundle strictly: 1 to 256 length-prefixed entries that
/// consume the data exactly.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(Error::MalformedEntryBundle("more than 256 entries".to_owned()));
        }
        let [a, b, tail @ ..] = rest else {
            return Err(Error::MalformedEntryBundle("truncated length prefix".to_owned()));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(Error::MalformedEntryBundle(format!("entry {} is truncated", entries.len())));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    if entries.is_empty() {
        return Err(Error::MalformedEntryBundle("bundle is empty".to_owned()));
    }
    Ok(entries)
}

/// Parses the entry bundle for `tile` and checks it holds exactly
/// `tile.width()` entries.
pub fn parse_entry_bundle_for_tile<'a>(tile: &Tile, data: &'a [u8]) -> Result<Vec<&'a [u8]>, Error> {
    let entries = parse_entry_bundle(data)?;
    if entries.len() != usize::from(tile.width) {
        return Err(Error::MalformedEntryBundle(format!(
            "bundle {} holds {} entries, want {}",
            tile.entries_path(),
            entries.len(),
            tile.width
        )));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_specification() {
        let t = Tile::new(0, 1_234_067, 256).expect("tile");
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        let t = Tile::new(2, 5, 17).expect("tile");
        assert_eq!(t.path(), "tile/2/005.p/17");
        assert_eq!(t.entries_path(), "tile/entries/005.p/17");
    }

    #[test]
    fn tiles_for_70000_match_the_specification() {
        // A tree of 70,000 has 273 full level-0 tiles, a partial level-0 tile
        // of width 112, one full level-1 tile, a partial level-1 tile of width
        // 17, and a partial level-2 tile of width 1.
        let tiles = tiles_for_size(0, 70_000);
        let l0: Vec<_> = tiles.iter().filter(|t| t.level == 0).collect();
        assert_eq!(l0.len(), 274);
        assert_eq!(l0.iter().filter(|t| !t.is_partial()).count(), 273);
        assert_eq!(l0.last().map(|t| t.width), Some(112));
        let l1: Vec<_> = tiles.iter().filter(|t| t.level == 1).collect();
        assert_eq!(l1.len(), 2);
        assert_eq!(l1[1].width, 17);
        let l2: Vec<_> = tiles.iter().filter(|t| t.level == 2).collect();
        assert_eq!(l2.len(), 1);
        assert_eq!(l2[0].width, 1);
        assert_eq!(tiles.len(), 277);
    }
}
