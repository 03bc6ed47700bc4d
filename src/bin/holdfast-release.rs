//! `holdfast-release`: the vendor's tool for release keys and signed offline update bundles.
//! Never installed on an appliance.

// Included by path rather than declared in the library, so the appliance binary never links signing code.
#[path = "../update/sign.rs"]
mod sign;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::TimeDelta;
use clap::{Parser, Subcommand};
use holdfast::clock::{Clock, SystemClock};
use holdfast::update::bundle;
use sign::SignError;

#[derive(Debug, Parser)]
#[command(
    name = "holdfast-release",
    version,
    about = "Makes holdfast release keys, SBOMs and signed offline update bundles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a release key pair: DIR/release.key (secret, 0600) and DIR/release.pub.
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Build a signed update bundle around a .deb.
    Bundle {
        /// Secret key file; repeat to add signatures from several keys.
        #[arg(long = "key", value_name = "KEY", required = true)]
        keys: Vec<PathBuf>,
        /// Version of the release in the .deb (semver).
        #[arg(long)]
        version: semver::Version,
        #[arg(long, value_name = "FILE")]
        deb: PathBuf,
        /// Lowest installed version this bundle may update (default: any).
        #[arg(long, value_name = "V")]
        min_from: Option<semver::Version>,
        #[arg(long, value_name = "N", default_value_t = 90,
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_days: u32,
        /// Security epoch: appliances refuse bundles below the highest epoch they installed.
        #[arg(long, value_name = "N", default_value_t = 0)]
        epoch: u32,
        #[arg(long, value_name = "A", default_value = "amd64")]
        arch: String,
        #[arg(long, value_name = "TEXT")]
        notes: Option<String>,
        #[arg(long, value_name = "FILE.hfu")]
        out: PathBuf,
        /// Cargo.toml of the source tree the .deb was built from: the SBOM signed into the bundle
        /// is generated from it (cargo metadata and Cargo.lock, nothing fetched).
        #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
        manifest_path: PathBuf,
        /// Test bundles only: accept a --version other than the source tree's crate version. The
        /// SBOM still names the tree's real version.
        #[arg(long)]
        allow_version_mismatch: bool,
    },
    /// Write the CycloneDX SBOM of the source tree's binary (what `bundle` signs into a bundle).
    Sbom {
        #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
        manifest_path: PathBuf,
        #[arg(long, value_name = "A", default_value = "amd64")]
        arch: String,
        /// Output file (created, never overwritten); standard output without it.
        #[arg(long, value_name = "FILE.cdx.json")]
        out: Option<PathBuf>,
    },
    /// Print a bundle's manifest and signer key ids (does NOT check signatures or trust).
    Inspect { file: PathBuf },
}

fn say(text: &str) -> Result<(), SignError> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(|source| SignError::Io {
        what: "cannot write to standard output".into(),
        source,
    })
}

/// Creates a new public file (the SBOM), never replacing one and never through a link.
fn write_new_file(path: &std::path::Path, contents: &[u8]) -> Result<(), SignError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                SignError::Bundle(bundle::BundleError::OutputExists(path.to_path_buf()))
            } else {
                SignError::Io {
                    what: format!("cannot create {}", path.display()),
                    source: e,
                }
            }
        })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| SignError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })
}

fn run(command: Command) -> Result<(), SignError> {
    match command {
        Command::Keygen { out } => {
            let (key, public) = sign::keygen(&out)?;
            let text = std::fs::read_to_string(&public).map_err(|source| SignError::Io {
                what: format!("cannot read {}", public.display()),
                source,
            })?;
            say(&format!("secret key: {} (keep offline)", key.display()))?;
            say(&format!(
                "public key: {} (copy into packaging/keys/)",
                public.display()
            ))?;
            say(text.trim_end())
        }
        Command::Bundle {
            keys,
            version,
            deb,
            min_from,
            expires_days,
            epoch,
            arch,
            notes,
            out,
            manifest_path,
            allow_version_mismatch,
        } => {
            // The appliance refuses a bundle whose package is another version than it names;
            // refusing here keeps such a bundle from ever being signed.
            let package = holdfast::update::apply::package_version(&deb)
                .map_err(|e| SignError::BadSpec(format!("{}: {e}", deb.display())))?;
            if package != version.to_string() {
                return Err(SignError::BadSpec(format!(
                    "{} is holdfast {package}, the bundle would say {version}: give --version {package} or the package of {version}",
                    deb.display()
                )));
            }
            let signing_keys = keys
                .iter()
                .map(|k| sign::load_signing_key(k))
                .collect::<Result<Vec<_>, _>>()?;
            let created_at = SystemClock.now();
            let sbom = sign::sbom::generate(&sign::sbom::Request {
                manifest_path,
                arch: arch.clone(),
                created_at,
            })?;
            let described = bundle::sbom_summary(&sbom, bundle::PRODUCT)?;
            let same = semver::Version::parse(&described.subject_version)
                .is_ok_and(|v| v.cmp_precedence(&version) == std::cmp::Ordering::Equal);
            if !same && !allow_version_mismatch {
                return Err(SignError::BadSpec(format!(
                    "the source tree is holdfast {}, the bundle says {version}: build the .deb and the bundle from the release's tree",
                    described.subject_version
                )));
            }
            let spec = sign::BundleSpec {
                product: bundle::PRODUCT.to_string(),
                arch,
                version,
                min_from: min_from.unwrap_or(semver::Version::new(0, 0, 0)),
                security_epoch: epoch,
                created_at,
                expires_at: created_at + TimeDelta::days(i64::from(expires_days)),
                notes,
                sbom,
            };
            let manifest = sign::build_bundle(&signing_keys, &spec, &deb, &out)?;
            let ids: Vec<String> = signing_keys
                .iter()
                .map(|k| bundle::key_id(&k.verifying_key()))
                .collect();
            say(&format!(
                "wrote {}: {} {} {} (from {}, epoch {}), expires {}, signed by {}",
                out.display(),
                manifest.product,
                manifest.version,
                manifest.arch,
                manifest.min_from,
                manifest.security_epoch,
                manifest
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ids.join(", ")
            ))?;
            say(&format!(
                "SBOM: CycloneDX {}, {} components, for holdfast {}",
                described.spec_version, described.components, described.subject_version
            ))
        }
        Command::Sbom {
            manifest_path,
            arch,
            out,
        } => {
            let sbom = sign::sbom::generate(&sign::sbom::Request {
                manifest_path,
                arch,
                created_at: SystemClock.now(),
            })?;
            match out {
                Some(path) => write_new_file(&path, &sbom),
                None => std::io::stdout()
                    .lock()
                    .write_all(&sbom)
                    .map_err(|source| SignError::Io {
                        what: "cannot write to standard output".into(),
                        source,
                    }),
            }
        }
        Command::Inspect { file } => {
            // Only the header is read, and its sections have their own limits.
            let found = bundle::inspect(&file, u64::MAX)?;
            let json = serde_json::to_string_pretty(&found.manifest)
                .map_err(|e| SignError::BadSpec(format!("cannot print the manifest: {e}")))?;
            say(&json)?;
            say(&format!(
                "signed by (claimed, not verified): {}",
                if found.signer_key_ids.is_empty() {
                    "nobody".to_string()
                } else {
                    found.signer_key_ids.join(", ")
                }
            ))?;
            say(&format!("payload starts at byte {}", found.payload_offset))
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help / --version: clap's own output and exit status.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!(
                "holdfast-release: error: a command is required: keygen, sbom, bundle or inspect (see --help)"
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("holdfast-release: error: {first} (see --help)");
            return ExitCode::from(1);
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holdfast-release: error: {e}");
            ExitCode::from(1)
        }
    }
}
