//! Tests for tile paths, tile data, entry bundles and the authenticating
//! tile hash reader.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;

use certeza_log::Error;
use certeza_log::merkle::*;
use certeza_log::tile::*;
use proptest::prelude::*;

fn build(n: u64) -> Vec<Hash> {
    let mut stored = Vec::new();
    for i in 0..n {
        let leaf = hash_leaf(&i.to_be_bytes());
        let add = stored_hashes_for_record_hash(i, &leaf, &stored).unwrap();
        stored.extend(add);
    }
    stored
}

/// A tile server backed by the log's own stored hashes, with an optional
/// tampering hook, that records what it was asked for.
struct Server<'a> {
    stored: &'a [Hash],
    tamper: Option<(usize, usize)>,
    calls: RefCell<Vec<Tile>>,
    saved: RefCell<usize>,
}

impl TileReader for Server<'_> {
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        for (i, t) in tiles.iter().enumerate() {
            self.calls.borrow_mut().push(*t);
            let mut d = read_tile_data(t, self.stored)?;
            if let Some((ti, byte)) = self.tamper
                && ti == i
            {
                let b = byte % d.len();
                d[b] ^= 1;
            }
            out.push(d);
        }
        Ok(out)
    }
    fn save_tiles(&self, tiles: &[Tile], _data: &[Vec<u8>]) {
        *self.saved.borrow_mut() += tiles.len();
    }
}

#[test]
fn parse_path_accepts_canonical_and_rejects_the_rest() {
    let t = Tile::parse_path("tile/0/x001/x234/067").unwrap();
    assert_eq!((t.level(), t.index(), t.width()), (0, 1_234_067, 256));
    let t = Tile::parse_path("tile/3/000.p/255").unwrap();
    assert_eq!((t.level(), t.index(), t.width()), (3, 0, 255));
    let t = Tile::parse_entries_path("tile/entries/x005/123.p/1").unwrap();
    assert_eq!((t.level(), t.index(), t.width()), (0, 5123, 1));
    for bad in [
        "tile/0/067.p/256",
        "tile/0/067.p/0",
        "tile/0/067.p/01",
        "tile/0/067.p/",
        "tile/00/067",
        "tile/64/067",
        "tile/-1/067",
        "tile/0/67",
        "tile/0/0067",
        "tile/0/x000/067",
        "tile/0/001/067",
        "tile/0/x001/x067",
        "tile/0/x1/067",
        "/tile/0/067",
        "xtile/0/067",
        "tile/0/067/",
        "tile/0/067.p/5/",
        "tile/0/067.p/5.p/5",
        "tile/0/+67",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/entries/067.p/256",
        "tile/entries/x000/067",
        "tile/1/entries/067",
        "tile/0/",
        "",
    ] {
        assert!(Tile::parse_path(bad).is_err() && Tile::parse_entries_path(bad).is_err(), "{bad:?} was accepted");
    }
    // The largest index parses.
    let t = Tile::parse_path("tile/0/x018/x446/x744/x073/x709/x551/615").unwrap();
    assert_eq!(t.index(), u64::MAX);
}

#[test]
fn tiles_for_size_cover_the_tree() {
    // Growing step by step publishes a tile for every new width.
    assert!(tiles_for_size(5, 5).is_empty());
    assert!(tiles_for_size(6, 5).is_empty());
    let t = tiles_for_size(0, 256);
    assert_eq!(t.iter().map(Tile::path).collect::<Vec<_>>(), vec!["tile/0/000", "tile/1/000.p/1"]);
    let t = tiles_for_size(300, 600);
    assert_eq!(t.iter().map(Tile::path).collect::<Vec<_>>(), vec!["tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"]);
}

#[test]
fn tile_data_hashes_match_the_tree() {
    let n = 70_000;
    let stored = build(n);
    let root = tree_hash(n, &stored).unwrap();
    // Recompute the root from the partial tiles alone via the tile reader.
    let server = Server { stored: &stored, tamper: None, calls: RefCell::new(Vec::new()), saved: RefCell::new(0) };
    let reader = TileHashReader::new(n, root, &server).unwrap();
    assert_eq!(tree_hash(n, &reader).unwrap(), root);
    for i in [0u64, 1, 255, 256, 65535, 65536, 69_999] {
        let p = prove_record(n, i, &reader).unwrap();
        assert_eq!(p, prove_record(n, i, &stored).unwrap());
    }
    for old in [1u64, 256, 65536, 69_000] {
        assert_eq!(prove_tree(n, old, &reader).unwrap(), prove_tree(n, old, &stored).unwrap());
    }
    assert!(*server.saved.borrow() > 0);
    // Asking for a hash beyond the tree fails.
    assert!(reader.read_hashes(&[stored_hash_index(0, n)]).is_err());
}

impl TileReader for &Server<'_> {
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
        (**self).read_tiles(tiles)
    }
    fn save_tiles(&self, tiles: &[Tile], data: &[Vec<u8>]) {
        (**self).save_tiles(tiles, data)
    }
}

#[test]
fn wrong_tree_hash_names_the_tiles() {
    let stored = build(1000);
    let server = Server { stored: &stored, tamper: None, calls: RefCell::new(Vec::new()), saved: RefCell::new(0) };
    let reader = TileHashReader::new(1000, [7; 32], &server).unwrap();
    let err = reader.read_hashes(&[0]).unwrap_err();
    assert!(err.to_string().contains("tile/0/003.p/232"), "{err}");
    assert_eq!(*server.saved.borrow(), 0);
}

#[test]
fn short_tile_is_rejected() {
    struct Short<'a>(&'a [Hash]);
    impl TileReader for Short<'_> {
        fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
            tiles
                .iter()
                .map(|t| {
                    read_tile_data(t, self.0).map(|mut d| {
                        d.pop();
                        d
                    })
                })
                .collect()
        }
    }
    let stored = build(10);
    let root = tree_hash(10, &stored).unwrap();
    let reader = TileHashReader::new(10, root, Short(&stored)).unwrap();
    assert!(reader.read_hashes(&[0]).is_err());
}

#[test]
fn entry_bundles_are_strict() {
    let b = encode_entry_bundle(&[b"a", b"", b"xyz"]).unwrap();
    assert_eq!(b, vec![0, 1, b'a', 0, 0, 0, 3, b'x', b'y', b'z']);
    assert_eq!(parse_entry_bundle(&b).unwrap(), vec![&b"a"[..], b"", b"xyz"]);
    assert!(parse_entry_bundle(&b[..b.len() - 1]).is_err());
    assert!(parse_entry_bundle(&[0]).is_err());
    assert!(parse_entry_bundle(&[]).is_err());
    assert!(encode_entry_bundle(&[]).is_err());
    let big = vec![0u8; 65536];
    assert!(encode_entry_bundle(&[&big]).is_err());
    let many: Vec<&[u8]> = vec![b"x"; 257];
    assert!(encode_entry_bundle(&many).is_err());
    let mut data = encode_entry_bundle(&many[..256]).unwrap();
    assert_eq!(parse_entry_bundle(&data).unwrap().len(), 256);
    data.extend_from_slice(&[0, 0]);
    assert!(parse_entry_bundle(&data).is_err());
    let tile = Tile::new(0, 0, 3).unwrap();
    assert!(parse_entry_bundle_for_tile(&tile, &b).is_ok());
    assert!(parse_entry_bundle_for_tile(&Tile::new(0, 0, 2).unwrap(), &b).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn tampering_with_any_fetched_tile_is_detected(n in 1u64..3000, x in any::<u64>(), which in any::<usize>(), byte in any::<usize>()) {
        let stored = build(n);
        let root = tree_hash(n, &stored).unwrap();
        let index = x % stored_hash_index(0, n);
        // Learn which tiles this read fetches.
        let honest = Server { stored: &stored, tamper: None, calls: RefCell::new(Vec::new()), saved: RefCell::new(0) };
        let got = TileHashReader::new(n, root, &honest).unwrap().read_hashes(&[index]).unwrap();
        prop_assert_eq!(got, vec![stored[index as usize]]);
        let count = honest.calls.borrow().len();
        // Flip one bit of one tile: the read must fail.
        let evil = Server { stored: &stored, tamper: Some((which % count, byte)), calls: RefCell::new(Vec::new()), saved: RefCell::new(0) };
        let res = TileHashReader::new(n, root, &evil).unwrap().read_hashes(&[index]);
        prop_assert!(res.is_err());
        prop_assert_eq!(*evil.saved.borrow(), 0);
    }

    #[test]
    fn hash_from_tile_agrees_with_storage(n in 1u64..3000, x in any::<u64>()) {
        let stored = build(n);
        let index = x % stored.len() as u64;
        let tile = tile_for_stored_hash_index(index);
        let data = read_tile_data(&tile, &stored[..]).unwrap();
        prop_assert_eq!(hash_from_tile(&tile, &data, index).unwrap(), stored[index as usize]);
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let t = Tile::new(level, index, width).unwrap();
        prop_assert_eq!(Tile::parse_path(&t.path()).unwrap(), t);
        let e = Tile::new(0, index, width).unwrap();
        prop_assert_eq!(Tile::parse_entries_path(&e.entries_path()).unwrap(), e);
    }

    #[test]
    fn tile_path_parsing_never_panics(s in "\\PC*", t in "tile/[0-9x./pe]{0,30}") {
        let _ = Tile::parse_path(&s);
        let _ = Tile::parse_entries_path(&s);
        if let Ok(tile) = Tile::parse_path(&t) {
            prop_assert_eq!(tile.path(), t.clone());
        }
    }

    #[test]
    fn hash_from_tile_never_panics(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256, x in any::<u64>(), len in 0usize..9000) {
        let t = Tile::new(level, index, width).unwrap();
        let _ = hash_from_tile(&t, &vec![0u8; len], x);
        let _ = tile_for_stored_hash_index(x);
    }

    #[test]
    fn entry_bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..50)) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let data = encode_entry_bundle(&refs).unwrap();
        prop_assert_eq!(parse_entry_bundle(&data).unwrap(), refs);
    }

    #[test]
    fn entry_bundle_parsing_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(e) = parse_entry_bundle(&data) {
            prop_assert_eq!(encode_entry_bundle(&e).unwrap(), data);
        }
    }
}
