//! Hub documents: versions that round-trip their bytes, type sniffing that refuses executables,
//! encryption at rest, the size limit, one-file uploads, sandboxed downloads, and files removed with
//! their document.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::json;
use std::collections::BTreeMap;

const CANARY: &str = "HOLDFAST-PLAINTEXT-CANARY-7731";

fn pdf(extra: &str) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    b.extend_from_slice(
        format!("1 0 obj << /Title ({CANARY}) /Subject ({extra}) >> endobj\n").as_bytes(),
    );
    b.extend((0u8..=255).cycle().take(4096)); // binary stream content
    b.extend_from_slice(b"\n%%EOF\n");
    b
}

#[tokio::test]
async fn documents_versions_round_trip_bytes_refuse_executables_and_are_encrypted_on_disk() {
    let env = Env::start();
    let s = env.admin().await;
    let client = s.create_id("clients", json!({ "name": "Umbrella" })).await;
    let doc = s
        .create(
            "documents",
            json!({ "title": "Service contract", "client_id": client }),
        )
        .await;
    let id = doc["id"].as_i64().unwrap();
    assert_eq!(doc["current_version"], 0);

    let v1 = pdf("first");
    // Without the CSRF header a browser session cannot upload.
    let r = s.upload(id, "contract.pdf", &v1, false).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = s.upload(id, "contract.pdf", &v1, true).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["version"], 1);
    let d = s.get(&format!("/api/v1/documents/{id}/file")).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.bytes, v1, "identical bytes");
    assert_eq!(d.header("content-type"), "application/pdf");
    let cd = d.header("content-disposition");
    assert!(cd.starts_with("attachment"), "{cd}");
    assert!(cd.contains("contract.pdf"), "{cd}");
    assert_eq!(d.header("x-content-type-options"), "nosniff");

    let v2 = pdf("second, longer version");
    let r = s.upload(id, "contract-v2.pdf", &v2, true).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let versions = r.json()["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    let listed: BTreeMap<i64, String> = versions
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["filename"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        BTreeMap::from([(1, "contract.pdf".into()), (2, "contract-v2.pdf".into())])
    );
    for v in &versions {
        assert!(
            v.get("storage_name").is_none(),
            "the disk name is not exposed"
        );
        assert_eq!(v["content_type"], "application/pdf");
    }
    assert_eq!(
        s.get(&format!("/api/v1/documents/{id}")).await.json()["current_version"],
        2
    );
    assert_eq!(
        s.get(&format!("/api/v1/documents/{id}/file")).await.bytes,
        v2
    );
    let old = s.get(&format!("/m/documents/{id}/download/1")).await;
    assert_eq!(old.status, 200);
    assert_eq!(old.bytes, v1, "the first version is kept");
    let card = s.get(&format!("/m/documents/{id}")).await;
    assert!(card.body.contains("contract.pdf") && card.body.contains("contract-v2.pdf"));

    // Executables are refused whatever they are called.
    let mut elf =
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    elf.extend_from_slice(CANARY.as_bytes());
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    exe.extend_from_slice(b"This program cannot be run in DOS mode.");
    for (name, bytes) in [
        ("report.pdf", &elf),
        ("report.pdf", &exe),
        ("invoice.docx", &exe),
    ] {
        let r = s.upload(id, name, bytes, true).await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], "file");
    }
    let r = s.upload(id, "empty.pdf", b"", true).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        s.get(&format!("/api/v1/documents/{id}")).await.json()["current_version"],
        2,
        "refused files add no version"
    );
    assert_eq!(s.upload(987_654, "x.pdf", &v1, true).await.status, 404);
    assert_eq!(s.get("/api/v1/documents/987654/file").await.status, 404);

    // At rest: encrypted, nothing of the plaintext on disk.
    let files = crate::support::files_below(&env.files_dir());
    assert_eq!(files.len(), 2, "{files:?}");
    for f in crate::support::files_below(env.data()) {
        assert!(
            !crate::support::file_contains(&f, CANARY.as_bytes()),
            "plaintext of the PDF found in {}",
            f.display()
        );
    }
    // Tokens: documents:read may download, not upload.
    let (_, t) = env.token("archive", "documents:read");
    let reader = env.bearer(&t);
    assert_eq!(
        reader
            .get(&format!("/api/v1/documents/{id}/file"))
            .await
            .bytes,
        v2
    );
    assert_eq!(reader.upload(id, "x.pdf", &v1, false).await.status, 403);
    let (_, w) = env.token("scanner", "documents:write,documents:read");
    let r = env
        .bearer(&w)
        .upload(id, "scan.pdf", &pdf("scan"), false)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn documents_over_the_configured_size_limit_are_refused() {
    let env = Env::with_config(Some("[documents]\nmax_size_mb = 1\n"));
    let api = env.full_token();
    let id = api
        .create_id("documents", json!({ "title": "Big scan" }))
        .await;
    let mut big = pdf("big");
    big.resize(1024 * 1024 + 512 * 1024, b'A');
    let r = api.upload(id, "big.pdf", &big, false).await;
    assert!(
        r.status == 422 || r.status == 413,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(r.header("content-type").starts_with("application/json"));
    assert_eq!(
        api.get(&format!("/api/v1/documents/{id}")).await.json()["current_version"],
        0
    );
    assert!(crate::support::files_below(&env.files_dir()).is_empty());
    let mut fits = pdf("fits");
    fits.resize(900 * 1024, b'B');
    let r = api.upload(id, "fits.pdf", &fits, false).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        api.get(&format!("/api/v1/documents/{id}/file")).await.bytes,
        fits
    );
}

/// The OpenAPI document says an upload is one `file` part and nothing else; schemathesis sent
/// extra parts and the server stored the file anyway (ST201). Now an extra part or a second file
/// is refused with 422 and nothing is stored.
#[tokio::test]
async fn an_upload_with_parts_besides_its_one_file_is_refused_and_stores_nothing() {
    let env = Env::start();
    let api = env.full_token();
    let id = api.create_id("documents", json!({ "title": "Scan" })).await;
    let boundary = "----holdfast-it-parts";
    let part = |name: &str, filename: Option<&str>, bytes: &[u8]| {
        let mut p =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").into_bytes();
        if let Some(f) = filename {
            p.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        p.extend_from_slice(b"\r\n\r\n");
        p.extend_from_slice(bytes);
        p.extend_from_slice(b"\r\n");
        p
    };
    let ct = format!("multipart/form-data; boundary={boundary}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an extra part after the file",
            [
                part("file", Some("a.pdf"), &pdf("a")),
                part("note", None, b"hello"),
            ]
            .concat(),
            "note",
        ),
        (
            "an extra part before the file",
            [
                part("", None, b"{}"),
                part("file", Some("a.pdf"), &pdf("a")),
            ]
            .concat(),
            "part",
        ),
        (
            "two files",
            [
                part("file", Some("a.pdf"), &pdf("a")),
                part("file", Some("b.pdf"), &pdf("b")),
            ]
            .concat(),
            "file",
        ),
    ];
    for (what, mut body, field) in cases {
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let r = api
            .send(
                "POST",
                &format!("/api/v1/documents/{id}/file"),
                &[("content-type", &ct)],
                &body,
                false,
            )
            .await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{what}: {}", r.body);
    }
    assert_eq!(
        api.get(&format!("/api/v1/documents/{id}")).await.json()["current_version"],
        0
    );
    assert!(crate::support::files_below(&env.files_dir()).is_empty());
    let r = api.upload(id, "a.pdf", &pdf("a"), false).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

// BUG (fixed): src/web/headers.rs:28 — the security-header middleware `insert`s the site-wide
// Content-Security-Policy on every response and so replaces the `default-src 'none'; sandbox`
// policy that src/web/documents.rs:175 sets on downloads ("even if a browser tried to render it,
// nothing in it may run"). Reproduction: upload any file, GET /api/v1/documents/{id}/file → the
// CSP is the page policy (script-src 'self' …) without `sandbox`.
#[tokio::test]
async fn document_downloads_keep_their_sandbox_policy() {
    let env = Env::start();
    let api = env.full_token();
    let id = api.create_id("documents", json!({ "title": "Note" })).await;
    let r = api
        .upload(id, "note.txt", b"hello <script>alert(1)</script>", false)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for path in [
        format!("/api/v1/documents/{id}/file"),
        format!("/m/documents/{id}/download/1"),
    ] {
        let s = env.admin().await;
        let d = s.get(&path).await;
        assert_eq!(d.status, 200);
        let csp = d.header("content-security-policy");
        assert!(
            csp.contains("sandbox"),
            "{path}: CSP without sandbox: {csp}"
        );
    }
}

// BUG (fixed): src/hub/records.rs:495 (`delete`) — deleting a document removes its rows (versions
// cascade) but leaves every encrypted version file in instances/<name>/files/ for ever
// (`storage::documents::storage_names` exists for this but is never used on delete); a deleted
// contract is still on disk and in every backup. Reproduction: create a document, upload a file,
// DELETE /api/v1/documents/{id} → 204, and the .hfd file is still there.
#[tokio::test]
async fn deleting_a_document_removes_its_stored_files() {
    let env = Env::start();
    let api = env.full_token();
    let id = api
        .create_id("documents", json!({ "title": "To be erased" }))
        .await;
    for v in ["one", "two"] {
        assert_eq!(api.upload(id, "f.pdf", &pdf(v), false).await.status, 201);
    }
    assert_eq!(crate::support::files_below(&env.files_dir()).len(), 2);
    assert_eq!(
        api.delete(&format!("/api/v1/documents/{id}")).await.status,
        204
    );
    assert_eq!(
        api.get(&format!("/api/v1/documents/{id}/file"))
            .await
            .status,
        404
    );
    let left = crate::support::files_below(&env.files_dir());
    assert!(
        left.is_empty(),
        "files of the deleted document remain: {left:?}"
    );
}
