//! Vendor side of the software bill of materials: a CycloneDX 1.6 JSON document of every crate
//! compiled into the holdfast binary, generated from `cargo metadata` and `Cargo.lock`.
//! Compiled only into `holdfast-release` (included by `sign.rs`), never into the appliance.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The CycloneDX version written; the appliance accepts 1.5 and 1.6.
pub const SPEC_VERSION: &str = "1.6";
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("cannot run `{cargo} metadata`: {source}")]
    Spawn {
        cargo: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`cargo metadata` failed: {0}")]
    Metadata(String),
    #[error("cannot read {path}: {reason}")]
    Lockfile { path: PathBuf, reason: String },
    #[error("no Rust target is known for Debian architecture `{0}`")]
    UnknownArch(String),
    #[error("the SBOM is inconsistent: {0}")]
    Inconsistent(String),
    #[error("the random number generator failed: {0}")]
    Random(String),
}

/// The parts of `cargo metadata --format-version 1` the SBOM uses.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    resolve: Resolve,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
    root: Option<String>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// What the SBOM is generated for.
#[derive(Debug, Clone)]
pub struct Request {
    /// `Cargo.toml` of the holdfast source tree the `.deb` was built from.
    pub manifest_path: PathBuf,
    /// Debian architecture of the package (`amd64`, `arm64`): selects the crates compiled for it.
    pub arch: String,
    /// Recorded as the SBOM's timestamp (the bundle's creation time).
    pub created_at: DateTime<Utc>,
}

/// Rust target triple of the Debian architecture the `.deb` is built for.
pub fn target_for_arch(arch: &str) -> Result<&'static str, SbomError> {
    match arch {
        "amd64" => Ok("x86_64-unknown-linux-gnu"),
        "arm64" => Ok("aarch64-unknown-linux-gnu"),
        other => Err(SbomError::UnknownArch(other.to_string())),
    }
}

/// Runs `cargo metadata` on the source tree (frozen: exactly `Cargo.lock`, nothing fetched) and
/// returns the SBOM as pretty JSON. `cargo` is the one running us when there is one (`$CARGO`).
pub fn generate(req: &Request) -> Result<Vec<u8>, SbomError> {
    let target = target_for_arch(&req.arch)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--frozen"])
        .args(["--filter-platform", target, "--manifest-path"])
        .arg(&req.manifest_path)
        .output()
        .map_err(|source| SbomError::Spawn {
            cargo: cargo.clone(),
            source,
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(SbomError::Metadata(last.trim().to_string()));
    }
    let metadata: Metadata = serde_json::from_slice(&out.stdout)
        .map_err(|e| SbomError::Metadata(format!("unexpected output: {e}")))?;
    let lock_path = metadata.workspace_root.join("Cargo.lock");
    let lock_text = std::fs::read_to_string(&lock_path).map_err(|e| SbomError::Lockfile {
        path: lock_path.clone(),
        reason: e.to_string(),
    })?;
    let lock: Lockfile = toml::from_str(&lock_text).map_err(|e| SbomError::Lockfile {
        path: lock_path.clone(),
        reason: e.to_string(),
    })?;
    let doc = build(&metadata, &lock, target, req.created_at, serial_number()?)?;
    serde_json::to_vec_pretty(&doc)
        .map_err(|e| SbomError::Inconsistent(format!("cannot encode the SBOM: {e}")))
}

/// A random RFC 4122 version 4 UUID, as CycloneDX wants for `serialNumber`.
fn serial_number() -> Result<String, SbomError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| SbomError::Random(e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Crates reachable from `root` through normal and build dependencies (dev-dependencies never
/// reach the binary), and which of them are reachable through normal dependencies alone.
fn closure(
    nodes: &BTreeMap<&str, &Node>,
    root: &str,
) -> Result<(BTreeSet<String>, BTreeSet<String>), SbomError> {
    let walk = |with_build: bool| -> Result<BTreeSet<String>, SbomError> {
        let mut seen = BTreeSet::from([root.to_string()]);
        let mut queue = VecDeque::from([root.to_string()]);
        while let Some(id) = queue.pop_front() {
            let node = nodes
                .get(id.as_str())
                .ok_or_else(|| SbomError::Inconsistent(format!("{id} is not in the resolve")))?;
            for dep in &node.deps {
                let used = dep.dep_kinds.iter().any(|k| match k.kind.as_deref() {
                    None => true,
                    Some("build") => with_build,
                    _ => false,
                });
                if used && seen.insert(dep.pkg.clone()) {
                    queue.push_back(dep.pkg.clone());
                }
            }
        }
        Ok(seen)
    };
    Ok((walk(true)?, walk(false)?))
}

/// Cargo still accepts the old `MIT/Apache-2.0` spelling; SPDX says `OR`.
fn spdx_expression(license: &str) -> String {
    license
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn component(pkg: &Package, checksum: Option<&str>, build_only: bool, kind: &str) -> Value {
    let mut c = json!({
        "type": kind,
        "bom-ref": pkg.id,
        "name": pkg.name,
        "version": pkg.version,
    });
    if pkg.source.as_deref() == Some(CRATES_IO) {
        c["purl"] = json!(format!("pkg:cargo/{}@{}", pkg.name, pkg.version));
    }
    if let Some(sum) = checksum {
        // Cargo.lock's checksum is the SHA-256 of the .crate file downloaded from the registry.
        c["hashes"] = json!([{ "alg": "SHA-256", "content": sum }]);
    }
    if let Some(license) = &pkg.license {
        c["licenses"] = json!([{ "expression": spdx_expression(license) }]);
    }
    if build_only {
        // Still in the SBOM: build scripts ran on the release machine, and some (openssl-src,
        // sqlcipher-src) compile C code that ends up inside the binary.
        c["properties"] = json!([{ "name": "holdfast:dependency-kind", "value": "build" }]);
    }
    c
}

fn build(
    metadata: &Metadata,
    lock: &Lockfile,
    target: &str,
    created_at: DateTime<Utc>,
    serial: String,
) -> Result<Value, SbomError> {
    let root = metadata
        .resolve
        .root
        .as_deref()
        .ok_or_else(|| SbomError::Inconsistent("the manifest is a virtual workspace".into()))?;
    let nodes: BTreeMap<&str, &Node> = metadata
        .resolve
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n))
        .collect();
    let packages: BTreeMap<&str, &Package> = metadata
        .packages
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let checksums: BTreeMap<(&str, &str, Option<&str>), &str> = lock
        .package
        .iter()
        .filter_map(|p| {
            let sum = p.checksum.as_deref()?;
            Some((
                (p.name.as_str(), p.version.as_str(), p.source.as_deref()),
                sum,
            ))
        })
        .collect();
    let (all, runtime) = closure(&nodes, root)?;
    let package = |id: &str| {
        packages
            .get(id)
            .copied()
            .ok_or_else(|| SbomError::Inconsistent(format!("{id} has no package entry")))
    };

    let root_pkg = package(root)?;
    // Cargo's id of a path package holds the vendor's build directory: not for the customer.
    let root_ref = format!("{}@{}", root_pkg.name, root_pkg.version);
    let bom_ref = |id: &str| {
        if id == root {
            root_ref.clone()
        } else {
            id.to_string()
        }
    };
    let mut components = Vec::new();
    for id in all.iter().filter(|id| id.as_str() != root) {
        let pkg = package(id)?;
        let sum = checksums
            .get(&(
                pkg.name.as_str(),
                pkg.version.as_str(),
                pkg.source.as_deref(),
            ))
            .copied();
        if pkg.source.as_deref() == Some(CRATES_IO) && sum.is_none() {
            return Err(SbomError::Inconsistent(format!(
                "{}@{} has no checksum in Cargo.lock",
                pkg.name, pkg.version
            )));
        }
        components.push(component(pkg, sum, !runtime.contains(id), "library"));
    }
    let dependencies: Vec<Value> = all
        .iter()
        .map(|id| {
            let depends_on: BTreeSet<String> = nodes
                .get(id.as_str())
                .map(|n| {
                    n.deps
                        .iter()
                        .filter(|d| all.contains(&d.pkg))
                        .filter(|d| d.dep_kinds.iter().any(|k| k.kind.as_deref() != Some("dev")))
                        .map(|d| bom_ref(&d.pkg))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "ref": bom_ref(id), "dependsOn": depends_on })
        })
        .collect();

    let mut root_component = component(root_pkg, None, false, "application");
    root_component["bom-ref"] = json!(root_ref);
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "holdfast-release",
                    "version": env!("CARGO_PKG_VERSION"),
                }]
            },
            "component": root_component,
            "properties": [
                { "name": "holdfast:rust-target", "value": target },
                { "name": "holdfast:source", "value": "cargo metadata --frozen and Cargo.lock" },
            ],
        },
        "components": components,
        "dependencies": dependencies,
    }))
}
