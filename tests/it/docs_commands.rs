//! The operator documentation's commands, run as written where a test can: a careful admin
//! follows them to the letter, so a wrong or dangerous block is a defect like any other.

use crate::support::*;
use std::path::Path;
use std::process::Command;

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// install.md section 6's block that moves the master key to offline media, with the two paths
/// pointed elsewhere and nothing else changed.
fn key_move_block() -> String {
    let doc = repo("docs/install.md");
    let start = doc
        .find("mountpoint -q /media/keysafe &&")
        .expect("the guarded key move is in install.md");
    let rest = &doc[start..];
    let end = rest.find("nothing was removed\"").expect("its end") + "nothing was removed\"".len();
    rest[..end].to_string()
}

fn run_block(block: &str, data_dir: &Path, media: &Path) -> std::process::Output {
    let script = block
        .replace("/var/lib/holdfast", data_dir.to_str().unwrap())
        .replace("/media/keysafe", media.to_str().unwrap());
    Command::new("bash").arg("-c").arg(script).output().unwrap()
}

/// Defect from the operator drill: `cp … /media/keysafe/…` and `shred -u …` were separate lines,
/// so with the medium not mounted the copy failed and the next line destroyed the only key.
#[test]
fn the_documented_key_move_never_destroys_the_key_when_the_medium_is_missing() {
    let block = key_move_block();
    let dir = data_dir();
    let d = dir.path();
    std::fs::create_dir_all(d.join("keys")).unwrap();
    let key = d.join("keys/master.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();

    // Not mounted: an ordinary directory where the medium should be.
    let not_mounted = data_dir();
    let out = run_block(&block, d, not_mounted.path());
    assert!(
        text(&out.stdout).contains("NOT moved"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(key.exists(), "the key was destroyed without a copy");
    assert!(!not_mounted.path().join("holdfast-master.key").exists());

    // Mounted (a tmpfs every Linux has): copied, verified, and only then removed.
    let shm = Path::new("/dev/shm");
    assert!(
        Command::new("mountpoint")
            .arg("-q")
            .arg(shm)
            .status()
            .unwrap()
            .success()
    );
    let copy = shm.join("holdfast-master.key");
    let _ = std::fs::remove_file(&copy);
    let original = std::fs::read(&key).unwrap();
    let out = run_block(&block, d, shm);
    let moved = std::fs::read(&copy);
    let _ = std::fs::remove_file(&copy);
    assert!(
        text(&out.stdout).contains("key moved"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(!key.exists());
    assert_eq!(moved.unwrap(), original);
}

/// Documented keys per section, from configuration.md's tables ("" is the top level).
fn documented_keys() -> Vec<(String, String)> {
    let doc = repo("docs/configuration.md");
    let body =
        &doc[doc.find("## Every setting").unwrap()..doc.find("## A complete example").unwrap()];
    let mut section = String::new();
    let mut out = Vec::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            section = h
                .trim_matches(|c| c == '`' || c == '[' || c == ']')
                .to_string();
            if section == "Top level" {
                section.clear();
            }
        } else if let Some(rest) = line.strip_prefix("| `") {
            let key = rest.split('`').next().unwrap().to_string();
            out.push((section.clone(), key));
        }
    }
    out
}

/// Keys in the shipped file per section, commented or not.
fn shipped_keys(file: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in file.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            section = t.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let t = t.trim_start_matches('#').trim_start();
        if let Some((k, _)) = t.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.push((section.clone(), k.to_string()));
            }
        }
    }
    out
}

/// Defect from the operator drill: the shipped holdfast.toml said "every setting is listed" but had
/// no `[backup]`. Now every documented key is in it (commented, with its default), nothing in it is
/// undocumented, and the file as shipped is one holdfast accepts.
#[test]
fn the_shipped_configuration_lists_every_documented_setting_and_loads() {
    let shipped = repo("debian/holdfast.toml");
    let documented = documented_keys();
    let listed = shipped_keys(&shipped);
    assert!(documented.len() > 40, "{documented:?}");
    let missing: Vec<_> = documented.iter().filter(|k| !listed.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "documented but not in debian/holdfast.toml: {missing:?}"
    );
    let unknown: Vec<_> = listed.iter().filter(|k| !documented.contains(k)).collect();
    assert!(
        unknown.is_empty(),
        "in debian/holdfast.toml but not documented: {unknown:?}"
    );

    // The shipped file as installed loads.
    let dir = data_dir();
    let d = dir.path();
    let cfg = d.join("holdfast.toml");
    std::fs::write(&cfg, &shipped).unwrap();
    let out = holdfast(d, &["--config", cfg.to_str().unwrap(), "routes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
