//! The `certeza` binary: one CLI for every capability.
//!
//! No unsafe code, but for one call that tunes the C allocator
//! ([`keep_c_heap_mapped`]).
#![deny(unsafe_code)]

mod audit;
mod bench;
mod config;
mod credential;
mod demo;
mod import;
mod logging;
mod output;
mod rp;
mod witness;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use certeza_core::{Clock, CredentialStatus, Curp, PERSON_CSV_HEADER, PopulationGenerator, SystemClock};
use certeza_crypto::KeyDirectory;
use certeza_store::Store;
use certeza_store::registry::PersonSealer;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{CONFIG_FILE_NAME, Config, FlagOverrides};
use crate::output::out;

/// mimalloc instead of the system allocator: the server allocates and frees
/// small buffers per request on every worker thread at once, where glibc's
/// allocator spent about a tenth of the verification path's CPU.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bytes freed at the top of a glibc heap that glibc keeps mapped rather
/// than giving back to the kernel, and the size from which an allocation gets
/// its own mapping ([`keep_c_heap_mapped`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const C_HEAP_TRIM_THRESHOLD_BYTES: i32 = 1 << 30;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const C_HEAP_MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Keeps the C allocator's memory mapped. SQLite allocates from glibc's
/// `malloc` (Rust code uses mimalloc): its page caches, emptied whenever
/// another connection commits, and its statement journals. With glibc's
/// defaults, freeing them gave memory back to the kernel (`munmap`,
/// `madvise`) many times a second, and every such call flushed the TLB of
/// both cores (`smp_call_function_many_cond` in `perf`) only for the next
/// allocation to fault the pages in again. The two thresholds keep that
/// memory for reuse: under `perf` at saturation, `madvise` went from 1.07% of
/// the server's samples to 0.06% and page clearing from 0.44% to 0.06%
/// (BENCHMARKS.md), for a resident size that stays at its peak.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_c_heap_mapped() {
    // SAFETY: mallopt only sets two of glibc malloc's tuning parameters; it
    // takes no pointers and is called before any other thread exists. A
    // value glibc refuses leaves its default in place (the result is 0),
    // which is only slower.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, C_HEAP_TRIM_THRESHOLD_BYTES);
        libc::mallopt(libc::M_MMAP_THRESHOLD, C_HEAP_MMAP_THRESHOLD_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_c_heap_mapped() {}

/// Certeza: digital-trust infrastructure for government services.
#[derive(Debug, Parser)]
#[command(name = "certeza", version, about = "Certeza: digital-trust infrastructure for government services.")]
struct Cli {
    /// The data directory (configuration, keys, SQLite database).
    #[arg(long, global = true, env = "CERTEZA_DATA", default_value = "certeza-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the data directory: configuration, keys and database.
    Init,
    /// Run the HTTP service.
    Serve {
        /// The address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Initialise a demo (synthetic people), then serve it.
    Demo {
        /// The address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// How many synthetic people the demo registry holds.
        #[arg(long, default_value_t = 10_000)]
        people: u64,
    },
    /// Check an identifier: exit 0 when valid, 1 with the reason otherwise.
    Validate {
        /// What kind of identifier VALUE is.
        kind: IdentifierKind,
        /// The value to check.
        value: String,
    },
    /// Synthetic populations.
    #[command(subcommand)]
    Population(PopulationCommand),
    /// The encrypted registry of people.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// The transparency log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Relying parties (banks, agencies) that verify credentials.
    #[command(subcommand)]
    Rp(RpCommand),
    /// Load generators for the benchmarks in BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Signed QR credentials: issue, verify, revoke, rotate-key, bench.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// Run a C2SP tlog-witness that cosigns the checkpoints of the given logs.
    Witness {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// A log to witness, as ORIGIN=VKEY (repeatable).
        #[arg(long = "log", value_name = "ORIGIN=VKEY")]
        logs: Vec<String>,
        /// The witness's key name (fixed when its key is created).
        #[arg(long, default_value = "certeza.example/witness")]
        name: String,
        /// Print the witness's cosigner verifier key and exit.
        #[arg(long)]
        print_vkey: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// HTTP load against the verification API or /healthz.
    Http(bench::HttpBench),
}

#[derive(Debug, Subcommand)]
enum RpCommand {
    /// Register a relying party and print its API key (shown once).
    Add(rp::AddRelyingParty),
    /// List relying parties and their policies.
    List,
    /// Revoke a relying party's key.
    Revoke {
        /// The relying party's name.
        name: String,
    },
    /// Check a verification answer's receipt offline, as a relying party
    /// would (needs no data directory).
    VerifyReceipt {
        /// The answer (the JSON body of `POST /v1/verifications`), or its `receipt` member alone.
        answer: PathBuf,
        /// The receipt key as a JWK file (`GET /v1/verifications/key`).
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Audit any Certeza log over HTTP: signature, every tile, root, consistency.
    Audit {
        /// The log's base URL (its `/log` prefix), e.g. http://127.0.0.1:8080/log.
        url: String,
        /// The log's verifier key (`name+hash+base64`).
        #[arg(long)]
        vkey: String,
        /// Where the last audited checkpoint is kept (for consistency checks).
        #[arg(long, default_value = "certeza-audit.state")]
        state: PathBuf,
    },
    /// Check a tlog-proof receipt offline.
    VerifyReceipt {
        /// The receipt file.
        file: PathBuf,
        /// The log's verifier key.
        #[arg(long)]
        vkey: String,
        /// The entry the receipt is for (its canonical bytes); without it the
        /// receipt's proof is checked against the entry stored at its index.
        #[arg(long)]
        entry: Option<PathBuf>,
    },
    /// Print this data directory's log verifier key.
    Vkey,
    /// Benchmark the sequencer's integrate path in process (temporary database).
    #[command(hide = true)]
    BenchEngine {
        /// How many entries to integrate.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// The largest batch the sequencer integrates at once.
        #[arg(long, default_value_t = certeza_log::sequencer::DEFAULT_MAX_BATCH)]
        batch: usize,
        /// Also run on this PostgreSQL database (its log tables must be empty).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Benchmark synchronous submission over HTTP against a running server.
    #[command(hide = true)]
    BenchHttp {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// The bearer token (log.submit_token).
        #[arg(long)]
        token: String,
        /// Concurrent submitters.
        #[arg(long, default_value_t = 256)]
        clients: usize,
        /// How long to submit, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum IdentifierKind {
    Curp,
    Clabe,
    ClaveElector,
    Cic,
    Ocr,
}

#[derive(Debug, Subcommand)]
enum PopulationCommand {
    /// Write fully synthetic, valid people as CSV (deterministic for a seed).
    Generate {
        /// How many people.
        #[arg(long)]
        count: u64,
        /// The seed; the same seed gives the same people.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The output CSV file (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Import a population CSV (upsert by CURP; bad rows go to a rejects file).
    Import {
        /// The CSV file, with the header row documented in the README.
        file: PathBuf,
        /// Where to list rejected rows (default: FILE with `.rejects.csv`).
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Print one person's decrypted record (operator use).
    Show {
        /// The person's CURP.
        curp: String,
    },
    /// Set the credential status of one person.
    Status {
        /// The person's CURP.
        curp: String,
        /// The new status.
        #[arg(long = "set")]
        status: String,
    },
    /// Count the people in the registry.
    Count,
}

fn main() -> ExitCode {
    keep_c_heap_mapped();
    let cli = Cli::parse();
    // Colours only on a terminal: a log redirected to a file or a collector
    // stays plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CERTEZA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init => {
            init(&cli.data)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen } => {
            let context = OpenedDataDirectory::open(&cli.data, &FlagOverrides { listen })?;
            serve_until_signal(context, false, |_| Ok(()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen, people } => {
            demo::run_demo(&cli.data, &FlagOverrides { listen }, people)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { kind, value } => Ok(validate(kind, &value)),
        Command::Population(PopulationCommand::Generate { count, seed, out }) => {
            generate_population(count, seed, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Registry(command) => registry_command(&cli.data, command),
        Command::Credential(command) => credential::run(&cli.data, command),
        Command::Log(LogCommand::Audit { url, vkey, state }) => audit::audit(&url, &vkey, &state),
        Command::Log(LogCommand::VerifyReceipt { file, vkey, entry }) => {
            audit::verify_receipt_file(&file, &vkey, entry.as_deref())
        }
        Command::Log(LogCommand::BenchEngine { entries, batch, postgres }) => {
            logging::bench_engine(entries, batch, postgres.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Log(LogCommand::BenchHttp { url, token, clients, seconds }) => {
            logging::bench_http(&url, &token, clients, seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Witness { listen, logs, name, print_vkey } => {
            if print_vkey {
                witness::print_vkey(&cli.data, &name)?;
            } else {
                witness::run_witness(&cli.data, &listen, &name, &logs)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Http(options)) => {
            bench::run(options)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rp(command) => {
            // Checking a receipt needs no data directory; the rest opens it.
            let open = || OpenedDataDirectory::open(&cli.data, &FlagOverrides::default());
            match command {
                RpCommand::Add(options) => {
                    let api_key = rp::add(&open()?.store, &options)?;
                    out!("registered {}; its API key (shown only now, keep it secret):", options.name.trim());
                    out!("{api_key}");
                    Ok(ExitCode::SUCCESS)
                }
                RpCommand::List => rp::list(&open()?.store),
                RpCommand::Revoke { name } => rp::revoke(&open()?.store, &name),
                RpCommand::VerifyReceipt { answer, key } => rp::verify_receipt_file(&answer, &key),
            }
        }
        Command::Log(LogCommand::Vkey) => {
            let context = OpenedDataDirectory::open(&cli.data, &FlagOverrides::default())?;
            out!("{}", context.log_signer()?.verifier_key_string());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configuration, database and keys of a data directory.
pub(crate) struct OpenedDataDirectory {
    pub(crate) data: PathBuf,
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) sealer: PersonSealer,
    pub(crate) log_seed: certeza_crypto::SecretBytes,
}

impl OpenedDataDirectory {
    pub(crate) fn open(data: &Path, flags: &FlagOverrides) -> anyhow::Result<Self> {
        if !data.join(CONFIG_FILE_NAME).exists() {
            bail!(
                "{} is not a Certeza data directory; run `certeza init --data {}` first",
                data.display(),
                data.display()
            );
        }
        let config = Config::load(data, std::env::vars(), flags)?;
        let store = Store::open(&config.database.url)?;
        let keys = KeyDirectory::new(data.join("keys")).load()?;
        let sealer = PersonSealer::new(&keys)?;
        Ok(Self { data: data.to_owned(), config, store, sealer, log_seed: keys.log_signing.secret })
    }

    /// The log's note signer, named after the configured origin.
    pub(crate) fn log_signer(&self) -> anyhow::Result<certeza_log::note::NoteSigner> {
        let seed: [u8; 32] =
            self.log_seed.expose().try_into().map_err(|_| anyhow::anyhow!("the log signing key must be 32 bytes"))?;
        certeza_log::note::NoteSigner::from_seed(&self.config.log.origin, seed)
            .with_context(|| format!("log.origin {:?} cannot name a note key", self.config.log.origin))
    }

    /// Where the log's tiles and checkpoint are published.
    pub(crate) fn tile_directory(&self) -> PathBuf {
        self.data.join("log")
    }
}

/// Creates the data directory, keys, configuration and database; idempotent.
pub(crate) fn init(data: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let config_path = data.join(CONFIG_FILE_NAME);
    if config_path.exists() {
        out!("{} already exists; keeping it", config_path.display());
    } else {
        std::fs::write(&config_path, config::initial_config_file())
            .with_context(|| format!("writing {}", config_path.display()))?;
        out!("wrote {}", config_path.display());
    }
    let keys = KeyDirectory::new(data.join("keys"));
    let now_seconds = SystemClock.now_unix_millis() / 1000;
    for kind in keys.ensure_all(now_seconds)? {
        out!("created the {} key in {}", kind.name(), keys.path().display());
    }
    let config = Config::load(data, std::env::vars(), &FlagOverrides::default())?;
    let store = Store::open(&config.database.url)?;
    out!(
        "database ready ({}, {}): {} people",
        store.backend_name(),
        certeza_store::redact_url(&config.database.url),
        store.registry().count_people()?
    );
    Ok(())
}

/// The server's TLS configuration, when `server.tls_certificate` is set.
fn tls_config(server: &config::ServerConfig) -> anyhow::Result<Option<std::sync::Arc<rustls::ServerConfig>>> {
    if server.tls_certificate.is_empty() && server.tls_private_key.is_empty() {
        if !server.tls_client_ca.is_empty() {
            bail!("server.tls_client_ca needs server.tls_certificate and server.tls_private_key (mutual TLS is TLS)");
        }
        return Ok(None);
    }
    if server.tls_certificate.is_empty() || server.tls_private_key.is_empty() {
        bail!("HTTPS needs both server.tls_certificate_file and server.tls_private_key_file");
    }
    let settings = certeza_server::tls::TlsSettings {
        certificate_chain_pem: server.tls_certificate.as_bytes().to_vec(),
        private_key_pem: server.tls_private_key.as_bytes().to_vec(),
        client_ca_pem: (!server.tls_client_ca.is_empty()).then(|| server.tls_client_ca.as_bytes().to_vec()),
    };
    Ok(Some(certeza_server::tls::server_config(&settings).context("setting up HTTPS")?))
}

/// Serves until Ctrl-C or SIGTERM; `on_bound` runs once the address is known.
pub(crate) fn serve_until_signal(
    context: OpenedDataDirectory,
    demo: bool,
    on_bound: impl FnOnce(std::net::SocketAddr) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let log_signer = context.log_signer()?;
    let signal = std::sync::Arc::new(certeza_log::sequencer::IntegrationSignal::new());
    let sequencer_signer = context.log_signer()?;
    let log_context = std::sync::Arc::new(certeza_server::log_routes::LogContext {
        origin: context.config.log.origin.clone(),
        verifier_key: log_signer.verifier_key_string(),
        signer: log_signer,
        tiles: certeza_store::log::FsTileStore::new(context.tile_directory()),
        signal: signal.clone(),
        submit_token_sha256: if context.config.log.submit_token.is_empty() {
            None
        } else {
            Some(certeza_server::sha256(context.config.log.submit_token.as_bytes()))
        },
        submit_timeout: std::time::Duration::from_secs(10),
        submitter: Default::default(),
    });

    let tile_directory = context.tile_directory();
    // Acting as a witness of other logs: POST /log/add-checkpoint on the same server.
    let witness_routes = if context.config.witness.follows.is_empty() {
        None
    } else {
        let (service, vkey) =
            witness::witness_service(&context.data, &context.config.witness.name, &context.config.witness.follows)?;
        out!("witnessing {} log(s) at /log/add-checkpoint; witness vkey: {vkey}", context.config.witness.follows.len());
        Some(certeza_server::witness_routes::witness_routes_under("/log", service))
    };
    let log_config = context.config.log.clone();
    let listen = context.config.server.listen.clone();
    let seed: [u8; 32] =
        context.log_seed.expose().try_into().map_err(|_| anyhow::anyhow!("the log signing key must be 32 bytes"))?;
    let verification_context = std::sync::Arc::new(certeza_server::verification::VerificationContext::new(
        std::sync::Arc::new(context.sealer),
        ed25519_dalek::SigningKey::from_bytes(&seed),
        context.config.log.origin.clone(),
        context.config.log.max_merge_delay_ms,
    ));
    let credentials = certeza_server::credential_routes::context(
        credential::authority(&context.data, &context.config),
        &context.config.credentials.issuer_token,
    );
    let store = std::sync::Arc::new(context.store);
    store.start_background_work().context("starting the database's background checkpoints")?;
    // Citizen sign-in codes: the demo's outbox; no production channel yet.
    let notifier: std::sync::Arc<dyn certeza_server::notifier::Notifier> = if demo {
        std::sync::Arc::new(certeza_server::notifier::OutboxNotifier::new(
            store.clone(),
            std::sync::Arc::new(SystemClock),
        ))
    } else {
        std::sync::Arc::new(certeza_server::notifier::UnavailableNotifier)
    };
    let citizen_context = std::sync::Arc::new(certeza_server::citizen::CitizenContext {
        notifier,
        secure_cookies: context.config.server.secure_cookies,
    });
    let tls = tls_config(&context.config.server)?;
    let sequencer = logging::start_sequencer(&log_config, tile_directory, sequencer_signer, store.clone(), signal)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        on_bound(address)?;
        tracing::info!(%address, "serving");
        let scheme = if tls.is_some() { "https" } else { "http" };
        out!("Certeza is serving at {scheme}://{address}/ (Ctrl-C to stop)");
        let state = certeza_server::AppState {
            store,
            demo,
            clock: std::sync::Arc::new(SystemClock),
            log: log_context,
            verification: verification_context,
            citizen: citizen_context,
            credentials,
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        };
        let terminate = async {
            #[cfg(unix)]
            if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                signal.recv().await;
            }
        };
        let mut router = certeza_server::router(state);
        if let Some(witness_routes) = witness_routes {
            router = router.merge(witness_routes);
        }
        let stop = async move {
            tokio::select! { () = shutdown => {}, () = terminate => {} }
        };
        match tls {
            Some(tls) => certeza_server::tls::serve_tls(listener, router, tls, stop).await.context("serving HTTPS"),
            None => certeza_server::serve(listener, router, stop).await.context("serving HTTP"),
        }
    });
    sequencer.stop();
    served
}

fn validate(kind: IdentifierKind, value: &str) -> ExitCode {
    let result: Result<String, String> = match kind {
        IdentifierKind::Curp => Curp::parse(value).map(|_| "valid CURP".to_owned()).map_err(|error| error.to_string()),
        IdentifierKind::Clabe => certeza_core::Clabe::parse(value)
            .map(|clabe| format!("valid CLABE ({})", clabe.bank_name()))
            .map_err(|error| error.to_string()),
        IdentifierKind::ClaveElector => certeza_core::ClaveElector::parse(value)
            .map(|_| "valid clave de elector".to_owned())
            .map_err(|error| error.to_string()),
        IdentifierKind::Cic => {
            certeza_core::Cic::parse(value).map(|_| "valid CIC".to_owned()).map_err(|error| error.to_string())
        }
        IdentifierKind::Ocr => {
            certeza_core::Ocr::parse(value).map(|_| "valid OCR".to_owned()).map_err(|error| error.to_string())
        }
    };
    match result {
        Ok(message) => {
            out!("{message}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("invalid: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn generate_population(count: u64, seed: u64, out: &Path) -> anyhow::Result<()> {
    let sink: Box<dyn Write> = if out == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?)
    };
    let started = std::time::Instant::now();
    let mut writer = csv::WriterBuilder::new().buffer_capacity(1 << 20).from_writer(sink);
    writer.write_record(PERSON_CSV_HEADER)?;
    for person in PopulationGenerator::new(seed).take(count as usize) {
        writer.write_record(person.to_csv_fields())?;
    }
    writer.flush().context("writing the population file")?;
    if out != Path::new("-") {
        eprintln!(
            "wrote {count} synthetic people (seed {seed}) to {} in {:.1} s",
            out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn registry_command(data: &Path, command: RegistryCommand) -> anyhow::Result<ExitCode> {
    let context = OpenedDataDirectory::open(data, &FlagOverrides::default())?;
    let registry = context.store.registry();
    match command {
        RegistryCommand::Import { file, rejects } => {
            let rejects = rejects.unwrap_or_else(|| import::default_rejects_path(&file));
            let summary = import_and_log(&context, &file, &rejects)?;
            eprintln!(
                "imported {} rows in {:.2} s ({:.0} persons/s): {} new or changed, {} unchanged, {} rejected{}",
                summary.rows_read,
                summary.elapsed.as_secs_f64(),
                summary.rows_per_second(),
                summary.written,
                summary.unchanged,
                summary.rejected,
                summary.rejects_file.as_ref().map(|path| format!(" (see {})", path.display())).unwrap_or_default(),
            );
            eprintln!("the import is recorded in the transparency log");
            Ok(if summary.rejected > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
        }
        RegistryCommand::Show { curp } => {
            let curp = Curp::parse(&curp).context("the CURP is not valid")?;
            let Some(sealed) =
                registry.find_person(certeza_store::PersonLookup::Curp, &context.sealer.person_id(&curp))?
            else {
                bail!("no person with that CURP is in the registry");
            };
            let person = context.sealer.open(&sealed)?;
            for (column, value) in PERSON_CSV_HEADER.iter().zip(person.to_csv_fields()) {
                out!("{column:>15}: {value}");
            }
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Status { curp, status } => {
            let curp = Curp::parse(&curp).context("the CURP is not valid")?;
            let status = CredentialStatus::parse(&status).with_context(
                || "unknown status; use vigente, reported_lost, reported_stolen, expired, replaced or cancelled",
            )?;
            set_status_and_log(&context, &curp, status)?;
            out!("status set to {}", status.as_str());
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Count => {
            out!("{}", registry.count_people()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sets a person's credential status and records it in the transparency log
/// (the entry carries only a hash of the pseudonymous record id and status).
pub(crate) fn set_status_and_log(
    context: &OpenedDataDirectory,
    curp: &Curp,
    status: CredentialStatus,
) -> anyhow::Result<()> {
    let now = SystemClock.now_unix_millis();
    let person_id = context.sealer.person_id(curp);
    if !context.store.registry().set_status(&person_id, status.as_str(), now)? {
        bail!("no person with that CURP is in the registry");
    }
    let mut details = person_id.to_vec();
    details.extend_from_slice(status.as_str().as_bytes());
    logging::log_operator_action(context, "registry.status", "registry-maintenance", &details)?;
    Ok(())
}

/// Imports a file and records the import (counts only) in the transparency log.
pub(crate) fn import_and_log(
    context: &OpenedDataDirectory,
    file: &Path,
    rejects: &Path,
) -> anyhow::Result<import::ImportSummary> {
    let summary = import_file(context, file, rejects, true)?;
    let details = format!(
        "rows={} written={} unchanged={} rejected={}",
        summary.rows_read, summary.written, summary.unchanged, summary.rejected
    );
    logging::log_operator_action(context, "registry.import", "registry-maintenance", details.as_bytes())?;
    Ok(summary)
}

/// A progress bar on standard error (hidden when it is not a terminal).
struct ProgressBar(indicatif::ProgressBar);

impl import::ImportProgress for ProgressBar {
    fn update(&self, bytes_read: u64, rows_read: u64) {
        self.0.set_position(bytes_read);
        let per_second = rows_read as f64 / self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!("{rows_read} rows, {per_second:.0} rows/s"));
    }
}

pub(crate) fn import_file(
    context: &OpenedDataDirectory,
    file: &Path,
    rejects: &Path,
    show_progress: bool,
) -> anyhow::Result<import::ImportSummary> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let length = input.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let bar = if show_progress { indicatif::ProgressBar::new(length) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg} ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = ProgressBar(bar);
    let input = std::io::BufReader::with_capacity(1 << 20, input);
    let summary = import::import_population(
        context.store.registry(),
        &context.sealer,
        input,
        rejects,
        SystemClock.now_unix_millis(),
        &progress,
    )?;
    progress.0.finish_and_clear();
    Ok(summary)
}
