//! `holdfast update verify|status` on the real binary, with bundles made by the real vendor tool.

use crate::support::*;
use std::process::Command;

#[test]
fn verify_accepts_a_signed_bundle_and_refuses_a_tampered_one() {
    let dir = data_dir();
    let d = dir.path();
    assert!(holdfast(d, &["init"]).status.success());
    let (keys, trusted) = vendor_keys();
    let cfg = d.join("holdfast.toml");
    std::fs::write(
        &cfg,
        format!(
            "[update]\ntrusted_keys_dir = \"{}\"\n",
            trusted.path().display()
        ),
    )
    .unwrap();
    let deb = d.join("holdfast_0.2.0_amd64.deb");
    std::fs::write(
        &deb,
        b"!<arch>\ndebian-binary   a fake package body for the test".repeat(100),
    )
    .unwrap();
    let bundle = d.join("holdfast-0.2.0.hfu");
    let out = Command::new(RELEASE)
        .args(["bundle", "--key"])
        .arg(keys.path().join("release.key"))
        .args([
            "--version",
            "0.2.0",
            "--min-from",
            "0.1.0",
            "--allow-version-mismatch",
            "--deb",
        ])
        .arg(&deb)
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cfg_s = cfg.display().to_string();
    let bundle_s = bundle.display().to_string();

    let ok = holdfast(d, &["--config", &cfg_s, "update", "verify", &bundle_s]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("bundle OK") && text(&ok.stdout).contains("0.2.0"),
        "{}",
        text(&ok.stdout)
    );

    // The SBOM summary, and the SBOM itself exactly as signed into the bundle.
    let summary = text(&ok.stdout);
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("SBOM CycloneDX 1.6: "))
        .unwrap_or_else(|| panic!("no SBOM line: {summary}"));
    let sbom = holdfast(
        d,
        &["--config", &cfg_s, "update", "verify", &bundle_s, "--sbom"],
    );
    assert!(sbom.status.success(), "{}", text(&sbom.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
    let count = doc["components"].as_array().unwrap().len();
    assert!(
        line.contains(&format!(": {count} components of holdfast ")),
        "{line}"
    );
    let raw = std::fs::read(&bundle).unwrap();
    assert!(raw.windows(sbom.stdout.len()).any(|w| w == sbom.stdout));

    // One byte of the SBOM changed: refused, and --sbom prints nothing.
    let at = raw
        .windows(13)
        .position(|w| w == b"\"bomFormat\": ")
        .unwrap()
        + 14;
    let mut altered = raw.clone();
    altered[at] ^= 0x20;
    let bad_sbom = d.join("sbom-altered.hfu");
    std::fs::write(&bad_sbom, &altered).unwrap();
    let out = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            &bad_sbom.display().to_string(),
            "--sbom",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("the SBOM does not match the signed manifest"),
        "{}",
        text(&out.stderr)
    );

    let payload_dir = d.join("payload");
    let ex = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "extract",
            &bundle_s,
            "--to",
            &payload_dir.display().to_string(),
        ],
    );
    assert!(ex.status.success(), "{}", text(&ex.stderr));
    assert_eq!(
        std::fs::read(payload_dir.join("holdfast_0.2.0_amd64.deb")).unwrap(),
        std::fs::read(&deb).unwrap()
    );

    // One flipped byte in the payload: refused, with a reason.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    let bad = d.join("tampered.hfu");
    std::fs::write(&bad, &bytes).unwrap();
    let refused = holdfast(
        d,
        &[
            "--config",
            &cfg_s,
            "update",
            "verify",
            &bad.display().to_string(),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("refused"),
        "{}",
        text(&refused.stderr)
    );

    // Without the vendor key in the trusted directory, the same good bundle is refused.
    let plain = holdfast(d, &["update", "verify", &bundle_s]);
    assert!(
        !plain.status.success(),
        "a bundle signed by an untrusted key was accepted"
    );

    let status = text(&holdfast(d, &["--config", &cfg_s, "update", "status"]).stdout);
    assert!(
        status.contains("accepted") && status.contains("refused"),
        "{status}"
    );
    let log = text(&holdfast(d, &["admin", "audit", "--json"]).stdout);
    assert!(
        log.contains("update_verified") && log.contains("update_refused"),
        "{log}"
    );
}
