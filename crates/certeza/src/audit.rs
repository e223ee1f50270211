//! `certeza log audit` and `certeza log verify-receipt`: checking any Certeza
//! log from the outside, trusting nothing but its verifier key.
//!
//! The audit fetches the signed checkpoint, verifies its signature, then reads
//! every hash tile and entry bundle of the tree. Every tile is authenticated
//! against the signed root (through `TileHashReader`, which checks each tile
//! against its parent, edge tiles by recomputing the root), every entry bundle
//! is hashed and compared with the level-0 tiles, the root is recomputed from
//! the tiles, and the tree is checked to extend the last checkpoint this
//! auditor saw (kept in a state file).

use std::path::Path;
use std::process::ExitCode;

use crate::output::out;
use anyhow::{Context, bail};
use certeza_log::Error as LogError;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::merkle::{Hash, HashReader, hash_leaf, stored_hash_index, tree_hash};
use certeza_log::note::{NoteVerifier, Verifier, open_note};
use certeza_log::proof::{Receipt, verify_receipt};
use certeza_log::tile::{Tile, TileHashReader, TileReader, parse_entry_bundle_for_tile};

/// Largest file the auditor accepts from a log (a full tile is 8 KiB; an
/// entry bundle of 256 entries of at most 64 KiB each bounds the rest).
const MAX_RESPONSE_BYTES: u64 = 17 * 1024 * 1024;

/// Leaves whose hashes are read in one request to the tile reader.
const LEAVES_PER_ROUND: u64 = 256 * 256;

struct HttpLog {
    base: String,
    agent: ureq::Agent,
}

impl HttpLog {
    fn new(base: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .http_status_as_error(false)
            .build();
        Self { base: base.trim_end_matches('/').to_owned(), agent: config.into() }
    }

    fn fetch(&self, path: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/{path}", self.base);
        let response = self.agent.get(&url).call().map_err(|error| format!("fetching {path}: {error}"))?;
        let status = response.status();
        if status != 200 {
            return Err(format!("fetching {path}: HTTP {status}"));
        }
        response
            .into_body()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|error| format!("reading {path}: {error}"))
    }
}

impl TileReader for &HttpLog {
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, LogError> {
        tiles
            .iter()
            .map(|tile| {
                let data = self.fetch(&tile.path()).map_err(LogError::Storage)?;
                if data.len() != tile.data_len() {
                    return Err(LogError::Storage(format!(
                        "tile {} has {} bytes, expected {}",
                        tile.path(),
                        data.len(),
                        tile.data_len()
                    )));
                }
                Ok(data)
            })
            .collect()
    }
}

/// The last checkpoint an auditor saw: the checkpoint text (origin, size, root).
fn read_state(path: &Path) -> anyhow::Result<Option<Checkpoint>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            Checkpoint::parse(&text).with_context(|| format!("the audit state file {} is corrupt", path.display()))?,
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Audits the log at `url` (the prefix under which `checkpoint` and `tile/`
/// are served). Exit 0 when everything checks; an error names what is wrong.
pub(crate) fn audit(url: &str, vkey: &str, state_path: &Path) -> anyhow::Result<ExitCode> {
    let verifier = NoteVerifier::parse(vkey).context("the verifier key is not a valid note verifier key")?;
    let log = HttpLog::new(url);
    let note = log.fetch("checkpoint").map_err(|error| anyhow::anyhow!(error))?;
    let opened = open_note(&note, &[&verifier as &dyn Verifier])
        .context("the checkpoint is not signed by the given verifier key")?;
    let checkpoint = Checkpoint::parse(&opened.text).context("the checkpoint is malformed")?;
    if checkpoint.origin != verifier.name() {
        bail!("the checkpoint's origin {:?} is not the key's name {:?}", checkpoint.origin, verifier.name());
    }
    let size = checkpoint.size;
    let reader = TileHashReader::new(size, checkpoint.root, &log)?;

    // Every entry bundle, hashed, must equal the authenticated level-0 hashes.
    let mut bundles = 0u64;
    let mut start = 0u64;
    while start < size {
        let end = (start + LEAVES_PER_ROUND).min(size);
        let indexes: Vec<u64> = (start..end).map(|leaf| stored_hash_index(0, leaf)).collect();
        let hashes = reader
            .read_hashes(&indexes)
            .with_context(|| format!("authenticating the tiles of entries {start}..{end}"))?;
        let mut first_leaf = start;
        while first_leaf < end {
            let tile_index = first_leaf / 256;
            let width = (size - tile_index * 256).min(256) as u16;
            let tile = Tile::new(0, tile_index, width)?;
            let path = tile.entries_path();
            let data = log.fetch(&path).map_err(|error| anyhow::anyhow!(error))?;
            let entries = parse_entry_bundle_for_tile(&tile, &data)
                .with_context(|| format!("entry bundle {path} is malformed"))?;
            for (offset, entry) in entries.iter().enumerate() {
                let leaf = tile_index * 256 + offset as u64;
                if hash_leaf(entry) != hashes[(leaf - start) as usize] {
                    bail!("entry bundle {path}: entry {leaf} does not match the signed tree");
                }
            }
            bundles += 1;
            first_leaf = tile_index * 256 + u64::from(width);
        }
        start = end;
    }

    // The root, recomputed from the tiles, must be the signed one.
    let recomputed: Hash = tree_hash(size, &reader).context("recomputing the root from the tiles")?;
    if recomputed != checkpoint.root {
        bail!("the root recomputed from the tiles differs from the signed root of size {size}");
    }

    // The tree must extend the last checkpoint this auditor saw.
    let previous = read_state(state_path)?;
    let consistency = match &previous {
        Some(old) if old.origin != checkpoint.origin => {
            bail!("the state file {} is for another log ({:?})", state_path.display(), old.origin)
        }
        Some(old) if old.size > size => {
            bail!("the log shrank: it was {} entries at the last audit and is {size} now", old.size)
        }
        Some(old) => {
            let old_root = tree_hash(old.size, &reader)
                .with_context(|| format!("recomputing the root of the earlier size {}", old.size))?;
            if old_root != old.root {
                bail!("the log is inconsistent with the checkpoint of size {} seen at the last audit", old.size);
            }
            format!("consistent with the checkpoint of size {} seen before", old.size)
        }
        None => "first audit: no earlier checkpoint to compare".to_owned(),
    };
    let state_text = checkpoint.to_note_text()?;
    std::fs::write(state_path, state_text).with_context(|| format!("writing {}", state_path.display()))?;
    out!(
        "log {}: checkpoint of size {size} verified; {bundles} entry bundles and every tile authenticated; root recomputed; {consistency}",
        checkpoint.origin
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks a tlog-proof receipt offline against the log's verifier key.
pub(crate) fn verify_receipt_file(file: &Path, vkey: &str, entry_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let verifier = NoteVerifier::parse(vkey).context("the verifier key is not a valid note verifier key")?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let receipt = Receipt::parse(&bytes).context("the receipt is malformed")?;
    let entry = match entry_file {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => receipt.extra.clone().context("the receipt carries no entry; pass it with --entry FILE")?,
    };
    let verified = verify_receipt(&receipt, verifier.name(), &hash_leaf(&entry), &[&verifier as &dyn Verifier], &[])
        .context("the receipt does not verify")?;
    out!(
        "receipt valid: entry {} is in log {} (checkpoint of size {})",
        receipt.index,
        verified.checkpoint.origin,
        verified.checkpoint.size
    );
    if let Ok(decoded) = certeza_log::entry::LogEntry::decode(&entry) {
        out!(
            "entry: kind {} by {} for {} at {} ms",
            decoded.kind,
            decoded.actor,
            decoded.purpose,
            decoded.time_unix_millis
        );
    }
    Ok(ExitCode::SUCCESS)
}
