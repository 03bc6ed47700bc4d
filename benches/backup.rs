//! Backup benchmark (not a test): `holdfast backup run`, `backup verify` and `restore` on a generated
//! instance of about 1 GB (database rows and documents), in MB/s and seconds, beside a hand-made
//! baseline in the same run (`sqlite3 .backup` + `tar | zstd -3 | openssl enc`, and the reverse).
//! Run with `cargo bench --bench backup`; `HOLDFAST_BENCH_SCALE=0.1` scales the instance. Nothing
//! is asserted; the baseline is skipped (with a message) when sqlite3, zstd or openssl is missing.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod common;

use common::*;
use holdfast::audit::{Actor, By};
use holdfast::hub::records::{HubError, create_in, validate};
use holdfast::schema::{CLIENTS, DOCUMENTS, PROJECTS, TIME_ENTRIES};
use serde_json::{Map, Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Database share of the instance (rows, indexes, full-text index, history), in bytes at scale 1.
const DB_TARGET: f64 = 500e6;
/// Document bytes at scale 1, in files of 100 KB–8 MB (the default upload limit is 25 MiB).
const DOCS_TARGET: f64 = 500e6;
/// Upper bound on generator batches, whatever the sizes say.
const MAX_BATCHES: usize = 2_000;
const CLIENTS_PER_BATCH: u64 = 1_000;
const PROJECTS_PER_BATCH: u64 = 200;
const TIME_PER_BATCH: u64 = 10_000;
const USER: &str = "bench";
const PASSWORD: &str = "velvet orchard signal 77";
/// For the baseline's `openssl enc -pbkdf2`; a benchmark fixture, not a secret.
const BASELINE_PASSPHRASE: &str = "bench-baseline-passphrase";

/// Text that compresses like prose (zstd -3 about 3:1): words drawn from a fixed vocabulary.
fn words(r: &mut Rng, vocab: &[String], bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    let mut line = 0;
    while s.len() < bytes {
        let w = r.pick(vocab);
        s.push_str(w);
        line += w.len() + 1;
        if line > 72 {
            s.push('\n');
            line = 0;
        } else {
            s.push(' ');
        }
    }
    s
}

fn vocabulary() -> Vec<String> {
    const C: &[u8] = b"bcdfghklmnprstvwz";
    const V: &[u8] = b"aeiouy";
    let mut r = Rng(0xB0C4);
    (0..4096)
        .map(|_| {
            let syllables = 1 + r.below(4);
            (0..syllables)
                .flat_map(|_| [*r.pick(C) as char, *r.pick(V) as char])
                .collect()
        })
        .collect()
}

fn scale() -> f64 {
    std::env::var("HOLDFAST_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 10.0)
        .unwrap_or(1.0)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn obj(v: Json) -> Map<String, Json> {
    v.as_object().cloned().unwrap_or_default()
}

/// Documents first (their records through `create_in` while the instance is still empty), then
/// database rows in batches until the database reaches its target size. Returns the instance's
/// document count; the plaintext documents are also written to `plain_docs` for the baseline.
fn build(dir: &Path, plain_docs: &Path, scale: f64) -> (usize, u64) {
    let inst = open_instance(dir, "default");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = chrono::Utc::now();
    let by = By {
        actor: Actor::Console,
        source: "console".into(),
        now,
    };
    let vocab = vocabulary();
    let mut r = Rng(0xBAC0_0001);

    std::fs::create_dir_all(plain_docs).expect("plain docs dir");
    let mut doc_bytes = 0u64;
    let mut docs = 0usize;
    while (doc_bytes as f64) < DOCS_TARGET * scale && docs < 5_000 {
        // Mostly small files, some large: 100 KB to 8 MB.
        let size = match r.below(10) {
            0..=5 => 100_000 + r.below(400_000),
            6..=8 => 500_000 + r.below(1_500_000),
            _ => 2_000_000 + r.below(6_000_000),
        } as usize;
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.extend_from_slice(words(&mut r, &vocab, size).as_bytes());
        let input = obj(json!({ "title": format!("Contract {docs}") }));
        let id = inst
            .db
            .write_blocking(|tx| -> Result<i64, HubError> {
                let values = validate(&DOCUMENTS, &input, false)?;
                Ok(create_in(tx, &DOCUMENTS, &values, &by, false)?.id)
            })
            .expect("document record");
        std::fs::write(plain_docs.join(format!("contract-{docs}.pdf")), &bytes).expect("plain doc");
        doc_bytes += bytes.len() as u64;
        rt.block_on(holdfast::hub::documents::upload(
            &inst,
            id,
            &format!("contract-{docs}.pdf"),
            bytes,
            25 * 1024 * 1024,
            by.clone(),
        ))
        .expect("upload");
        docs += 1;
    }

    let now_s = holdfast::clock::stamp(now);
    let actor = Actor::Console.name();
    let mut change = next_change_id(&inst);
    let mut clients: Vec<i64> = Vec::new();
    let mut projects: Vec<i64> = Vec::new();
    let mut batches = 0u64;
    for batch in 0..MAX_BATCHES {
        let size = inst
            .db
            .write_blocking(|tx| -> Result<u64, HubError> {
                tx.widen_cache_for_bulk_load(GENERATOR_CACHE_MIB)?;
                for i in 0..CLIENTS_PER_BATCH {
                    let n = batch as u64 * CLIENTS_PER_BATCH + i;
                    // Long notes (1–7 KB): what makes the rows part of the instance heavy.
                    let notes_len = 1_000 + r.below(6_000) as usize;
                    let input = obj(json!({
                        "name": format!("{} {} GmbH", r.pick(&vocab), r.pick(&vocab)),
                        "email": format!("office{n}@example.test"),
                        "address": words(&mut r, &vocab, 60),
                        "notes": words(&mut r, &vocab, notes_len),
                    }));
                    let values = validate(&CLIENTS, &input, false)?;
                    change += 1;
                    clients.push(bulk_insert(
                        tx,
                        &CLIENTS,
                        &values,
                        &now_s,
                        &actor,
                        change - 1,
                    )?);
                }
                for _ in 0..PROJECTS_PER_BATCH {
                    let input = obj(json!({
                        "name": words(&mut r, &vocab, 30),
                        "client_id": clients[r.below(clients.len() as u64) as usize],
                        "manager": USER,
                        "notes": words(&mut r, &vocab, 300),
                    }));
                    let values = validate(&PROJECTS, &input, false)?;
                    change += 1;
                    projects.push(bulk_insert(
                        tx,
                        &PROJECTS,
                        &values,
                        &now_s,
                        &actor,
                        change - 1,
                    )?);
                }
                for _ in 0..TIME_PER_BATCH {
                    let input = obj(json!({
                        "user": USER,
                        "project_id": projects[r.below(projects.len() as u64) as usize],
                        "date": format!("2026-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28)),
                        "minutes": 15 * (1 + r.below(32)),
                        "note": words(&mut r, &vocab, 40),
                    }));
                    let values = validate(&TIME_ENTRIES, &input, false)?;
                    change += 1;
                    bulk_insert(tx, &TIME_ENTRIES, &values, &now_s, &actor, change - 1)?;
                }
                // The database's size as it will be once checkpointed (the WAL holds this batch).
                Ok(tx.size_bytes()?)
            })
            .expect("fixture rows");
        batches += 1;
        if size as f64 >= DB_TARGET * scale {
            break;
        }
    }
    inst.db.checkpoint().expect("checkpoint");
    println!(
        "instance rows: {} clients (1–7 KB notes), {} projects, {} time entries",
        clients.len(),
        projects.len(),
        batches * TIME_PER_BATCH
    );
    (docs, doc_bytes)
}

/// Runs a console command and returns (seconds, stdout).
fn timed_console(dir: &Path, args: &[&str]) -> (f64, String) {
    let t = Instant::now();
    let out = console(dir, args, None);
    (t.elapsed().as_secs_f64(), out)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg(if tool == "openssl" {
            "version"
        } else {
            "--version"
        })
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `script` with bash (pipefail), returns its wall time; panics when it fails.
fn shell(script: &str) -> f64 {
    let t = Instant::now();
    let out = Command::new("bash")
        .args(["-c", &format!("set -euo pipefail\n{script}")])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "baseline step failed: {script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

/// A plaintext copy of the instance database (same rows, ordinary SQLite format) made with
/// SQLCipher's own `sqlcipher_export`: the sqlite3 CLI cannot read SQLCipher files, and this keeps
/// the baseline's database exactly the same data as holdfast's.
fn export_plain(inst_dir: &Path, key_hex: &str, plain: &Path) {
    let c = rusqlite::Connection::open(inst_dir.join("db.sqlite")).expect("open db");
    c.execute_batch(&format!("PRAGMA key = \"x'{key_hex}'\";"))
        .expect("key");
    c.execute(
        "ATTACH DATABASE ?1 AS plaintext KEY ''",
        [plain.display().to_string()],
    )
    .expect("attach");
    c.query_row("SELECT sqlcipher_export('plaintext')", [], |_| Ok(()))
        .expect("export");
    c.execute_batch("DETACH DATABASE plaintext;")
        .expect("detach");
}

fn main() {
    let scale = scale();
    println!(
        "backup benchmark, scale {scale} (instance target {:.0} MB: {:.0} MB database, {:.0} MB documents), load {}",
        (DB_TARGET + DOCS_TARGET) * scale / 1e6,
        DB_TARGET * scale / 1e6,
        DOCS_TARGET * scale / 1e6,
        loadavg()
    );
    let work = private_dir();
    let dir = work.path().join("data");
    let base = work.path().join("baseline");
    for d in [&dir, &base] {
        std::fs::create_dir(d).expect("dir");
    }
    console(&dir, &["init"], None);
    console(
        &dir,
        &[
            "admin",
            "user",
            "add",
            USER,
            "--email",
            "bench@example.test",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    let t = Instant::now();
    let (docs, doc_plain_bytes) = build(&dir, &base.join("files"), scale);
    let inst_dir = dir.join("instances/default");
    let db_bytes = db_bytes(&inst_dir);
    let files_bytes = dir_bytes(&inst_dir.join("files"));
    let inst_bytes = dir_bytes(&inst_dir);
    println!(
        "instance: database {:.0} MB + {docs} documents {:.0} MB (encrypted; {:.0} MB plaintext) = {:.0} MB; built in {:.0} s",
        mb(db_bytes),
        mb(files_bytes),
        mb(doc_plain_bytes),
        mb(inst_bytes),
        t.elapsed().as_secs_f64()
    );

    // holdfast: backup, verify, restore into a fresh data dir (restore checks before it swaps in).
    println!("load before the holdfast runs: {}", loadavg());
    let (backup_s, out) = timed_console(&dir, &["backup", "run", "--all"]);
    let archive: PathBuf = out
        .split_whitespace()
        .find(|w| w.ends_with(".hfb"))
        .map(PathBuf::from)
        .expect("archive path in the output");
    let archive_bytes = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "holdfast backup run --all: {backup_s:.1} s, {:.0} MB/s over the {:.0} MB instance (archive {:.0} MB, {:.0}% of the instance: pages and documents are already encrypted, so they barely compress)",
        mb(inst_bytes) / backup_s,
        mb(inst_bytes),
        mb(archive_bytes),
        100.0 * archive_bytes as f64 / inst_bytes.max(1) as f64
    );
    let (verify_s, _) = timed_console(&dir, &["backup", "verify", &archive.display().to_string()]);
    println!(
        "holdfast backup verify FILE (every chunk authenticated, test restore, integrity_check + cipher_integrity_check, every document decrypted): {verify_s:.1} s, {:.0} MB/s",
        mb(inst_bytes) / verify_s
    );
    let code = console(&dir, &["backup", "export-key"], None)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("HF1-"))
        .expect("recovery code")
        .to_string();
    let fresh = work.path().join("restored");
    std::fs::create_dir(&fresh).expect("dir");
    let (restore_s, _) = timed_console(
        &fresh,
        &[
            "restore",
            &archive.display().to_string(),
            "--recovery-code",
            &code,
        ],
    );
    let restored = open_instance(&fresh, "default");
    let clients: i64 = restored
        .db
        .read_blocking(|c| holdfast::storage::records::count(c, &CLIENTS, &Default::default()))
        .expect("count");
    drop(restored);
    println!(
        "holdfast restore FILE --recovery-code … into a fresh data dir (unpack, integrity_check + cipher_integrity_check, every document decrypted, swap in): {restore_s:.1} s, {:.0} MB/s; {:.1} s per GB; restored instance opens ({clients} clients)",
        mb(inst_bytes) / restore_s,
        restore_s / (inst_bytes as f64 / 1e9)
    );

    // Baseline: the same data unencrypted, with standard tools.
    let tools = ["sqlite3", "zstd", "openssl", "tar", "bash"];
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        println!(
            "baseline skipped: {} not installed (Debian: apt-get install sqlite3 zstd openssl)",
            missing.join(", ")
        );
        return;
    }
    let key_hex = {
        let inst = open_instance(&dir, "default");
        inst.db_key.to_hex().expose().to_string()
    };
    export_plain(&inst_dir, &key_hex, &base.join("plain.db"));
    let base_bytes = dir_bytes(&base);
    println!(
        "baseline input: plain SQLite copy of the same rows {:.0} MB + the same {docs} documents unencrypted {:.0} MB = {:.0} MB",
        mb(dir_bytes(&base) - dir_bytes(&base.join("files"))),
        mb(dir_bytes(&base.join("files"))),
        mb(base_bytes)
    );
    let b = base.display();
    let pass = BASELINE_PASSPHRASE;
    println!("load before the baseline runs: {}", loadavg());
    let copy_s = shell(&format!("cd {b}; sqlite3 plain.db \".backup copy.db\""));
    let pack_s = shell(&format!(
        "cd {b}; tar -cf - copy.db files | zstd -3 -q -c | openssl enc -aes-256-cbc -pbkdf2 -pass pass:{pass} -out archive.tar.zst.enc; sync archive.tar.zst.enc"
    ));
    let base_archive = std::fs::metadata(base.join("archive.tar.zst.enc"))
        .map(|m| m.len())
        .unwrap_or(0);
    let _ = std::fs::remove_file(base.join("copy.db"));
    let base_backup_s = copy_s + pack_s;
    println!(
        "baseline backup: sqlite3 .backup {copy_s:.1} s + tar | zstd -3 | openssl enc -aes-256-cbc -pbkdf2 + sync {pack_s:.1} s = {base_backup_s:.1} s, {:.0} MB/s (archive {:.0} MB, {:.0}%)",
        mb(base_bytes) / base_backup_s,
        mb(base_archive),
        100.0 * base_archive as f64 / base_bytes.max(1) as f64
    );
    let base_restore_s = shell(&format!(
        "cd {b}; mkdir out; openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:{pass} -in archive.tar.zst.enc | zstd -d -q -c | tar -xf - -C out; \
         test \"$(sqlite3 out/copy.db 'PRAGMA integrity_check')\" = ok; sync out/copy.db out/files/*"
    ));
    println!(
        "baseline restore: openssl enc -d | zstd -d | tar -x + sqlite3 PRAGMA integrity_check + sync: {base_restore_s:.1} s, {:.0} MB/s; {:.1} s per GB",
        mb(base_bytes) / base_restore_s,
        base_restore_s / (base_bytes as f64 / 1e9)
    );
    println!(
        "side by side (MB/s over each one's input): backup holdfast {:.0} vs baseline {:.0}; restore+verify holdfast {:.0} vs baseline {:.0} ({restore_s:.1} s vs {base_restore_s:.1} s); load {}",
        mb(inst_bytes) / backup_s,
        mb(base_bytes) / base_backup_s,
        mb(inst_bytes) / restore_s,
        mb(base_bytes) / base_restore_s,
        loadavg()
    );
    if std::env::var_os("HOLDFAST_BENCH_KEEP").is_some() {
        // For looking at the pieces afterwards; the caller removes it.
        println!("work dir kept: {}", work.keep().display());
    }
}
