//! `certeza witness`: a C2SP tlog-witness that cosigns the checkpoints of the
//! logs it follows, never two inconsistent ones.
//!
//! Its state lives in its data directory:
//!
//! * `witness.key`: the Ed25519 cosigning seed and the witness's key name,
//!   created on the first run with mode 0600
//!   (`certeza-witness-key/v1 <name> <hex seed>`);
//! * `witness-state.json`: for each log origin, the size and root of the
//!   latest checkpoint it cosigned. It is replaced atomically (temporary
//!   file, fsync, rename, fsync of the directory) before any cosignature
//!   leaves the process, so a restart (or a crash) never cosigns a checkpoint
//!   inconsistent with one it already cosigned.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::output::out;
use anyhow::{Context, bail};
use certeza_core::SystemClock;
use certeza_log::cosignature::CosignatureSigner;
use certeza_log::note::NoteVerifier;
use certeza_log::witness::{TreeState, Witness};
use certeza_server::witness_routes::{WitnessService, witness_router};
use serde::{Deserialize, Serialize};

/// The witness key file inside the data directory.
pub(crate) const KEY_FILE: &str = "witness.key";

/// The witness state file inside the data directory.
pub(crate) const STATE_FILE: &str = "witness-state.json";

const KEY_MAGIC: &str = "certeza-witness-key/v1";

/// The witness service of a data directory (key and state created on first
/// use) following `logs` (each `ORIGIN=VKEY`), and its cosigner vkey.
pub(crate) fn witness_service(
    data: &Path,
    name: &str,
    logs: &[String],
) -> anyhow::Result<(Arc<WitnessService>, String)> {
    if logs.is_empty() {
        bail!("a witness follows at least one log: pass --log ORIGIN=VKEY");
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let cosigner = load_or_create_key(&data.join(KEY_FILE), name)?;
    let mut witness = Witness::new(cosigner);
    for log in logs {
        let (origin, vkey) = log.split_once('=').with_context(|| format!("--log {log:?} is not ORIGIN=VKEY"))?;
        let verifier = NoteVerifier::parse(vkey)
            .with_context(|| format!("the verifier key of log {origin:?} is not a valid note verifier key"))?;
        witness.add_log(origin, vec![verifier]);
    }
    let state_path = data.join(STATE_FILE);
    let states = read_state(&state_path)?;
    let vkey = witness.cosigner().verifier_key_string();
    let persist_path = state_path.clone();
    let service = Arc::new(WitnessService::new(
        witness,
        states,
        Box::new(move |states| write_state(&persist_path, states).map_err(|error| format!("{error:#}"))),
        Arc::new(SystemClock),
    ));
    Ok((service, vkey))
}

/// Runs the witness until Ctrl-C or SIGTERM.
pub(crate) fn run_witness(data: &Path, listen: &str, name: &str, logs: &[String]) -> anyhow::Result<()> {
    let (service, vkey) = witness_service(data, name, logs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        out!("witness vkey: {vkey}");
        out!("Certeza witness listening at http://{address}/ (POST /add-checkpoint; Ctrl-C to stop)");
        tracing::info!(%address, "witness serving");
        let shutdown = async {
            let terminate = async {
                #[cfg(unix)]
                if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    signal.recv().await;
                }
            };
            tokio::select! { _ = tokio::signal::ctrl_c() => {}, () = terminate => {} }
        };
        certeza_server::serve(listener, witness_router(service), shutdown).await.context("serving HTTP")
    })
}

/// Prints the witness's cosigner verifier key (creating the key if needed).
pub(crate) fn print_vkey(data: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    out!("{}", load_or_create_key(&data.join(KEY_FILE), name)?.verifier_key_string());
    Ok(())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Reads the witness key, or creates it (mode 0600) on the first run. The
/// key name is fixed at creation; a different `--name` later is an error.
fn load_or_create_key(path: &Path, name: &str) -> anyhow::Result<CosignatureSigner> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let corrupt = || anyhow::anyhow!("the witness key file {} is corrupt", path.display());
            let mut fields = text.trim_end().split(' ');
            let (Some(KEY_MAGIC), Some(stored_name), Some(seed), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(corrupt());
            };
            if stored_name != name {
                bail!(
                    "the witness key in {} is named {stored_name:?}, not {name:?}; pass --name {stored_name}",
                    path.display()
                );
            }
            let seed: [u8; 32] = decode_hex(seed).and_then(|s| s.try_into().ok()).ok_or_else(corrupt)?;
            Ok(CosignatureSigner::from_seed(stored_name, seed)?)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            certeza_crypto::os_random(&mut seed)?;
            let signer = CosignatureSigner::from_seed(name, seed)
                .with_context(|| format!("{name:?} cannot name a witness key (no spaces or '+')"))?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(format!("{KEY_MAGIC} {name} {}\n", certeza_crypto::to_hex(&seed)).as_bytes())?;
            file.sync_all()?;
            sync_directory(path)?;
            Ok(signer)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTree {
    size: u64,
    root: String,
}

fn read_state(path: &Path) -> anyhow::Result<BTreeMap<String, TreeState>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let stored: BTreeMap<String, StoredTree> =
        serde_json::from_str(&text).with_context(|| format!("the witness state {} is corrupt", path.display()))?;
    stored
        .into_iter()
        .map(|(origin, tree)| {
            let root = decode_hex(&tree.root)
                .and_then(|r| r.try_into().ok())
                .with_context(|| format!("the witness state {} has a bad root", path.display()))?;
            Ok((origin, TreeState { size: tree.size, root }))
        })
        .collect()
}

/// Replaces the state file atomically and durably.
fn write_state(path: &Path, states: &BTreeMap<String, TreeState>) -> anyhow::Result<()> {
    let stored: BTreeMap<&str, StoredTree> = states
        .iter()
        .map(|(origin, tree)| {
            (origin.as_str(), StoredTree { size: tree.size, root: certeza_crypto::to_hex(&tree.root) })
        })
        .collect();
    let text = serde_json::to_string_pretty(&stored)? + "\n";
    let temporary: PathBuf = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    sync_directory(path)
}

fn sync_directory(path: &Path) -> anyhow::Result<()> {
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", directory.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn state_round_trips_and_key_is_stable() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(STATE_FILE);
        assert!(read_state(&path).unwrap().is_empty());
        let mut states = BTreeMap::new();
        states.insert("a.example/log".to_owned(), TreeState { size: 7, root: [3; 32] });
        write_state(&path, &states).unwrap();
        assert_eq!(read_state(&path).unwrap(), states);

        let key = directory.path().join(KEY_FILE);
        let first = load_or_create_key(&key, "w.example").unwrap().verifier_key_string();
        assert_eq!(load_or_create_key(&key, "w.example").unwrap().verifier_key_string(), first);
        assert!(load_or_create_key(&key, "other").is_err());
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
