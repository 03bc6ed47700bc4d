//! The fuzz targets: one per parser of outside bytes, each through the same entry point the real
//! code path uses, with the properties that parser promises checked on every input.

use super::Target;
use crate::audit::forward::{self, ForwardEvent};
use crate::backup::format::{ArchiveReader, ArchiveWriter, HeaderMeta, WriterSettings};
use crate::backup::pack::{Packer, Unpacker};
use crate::crypto::Key256;
use crate::schema::{self, Kind, ModuleDef};
use crate::update::bundle::{self as update, Manifest, PayloadFile, Policy, TrustedKeys};
use axum::extract::{FromRequest, Multipart, Request};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value};
use std::future::Future;
use std::io::{Cursor, Read};
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Every target, in the order the long run takes them.
pub fn all() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(Csv),
        Box::new(Multipart_),
        Box::new(UpdateBundle::new()),
        Box::new(BackupArchive::new()),
        Box::new(BackupEntries),
        Box::new(Config),
        Box::new(Json),
        Box::new(Syslog),
        Box::new(Smtp),
    ]
}

pub fn by_name(name: &str) -> Option<Box<dyn Target>> {
    all().into_iter().find(|t| t.name() == name)
}

/// Polls a future that needs no I/O (its body is already in memory) to completion. A future that
/// waits anyway would be a hang: reported as such instead of blocking.
fn ready<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    // Bounded: in-memory bodies yield at most once per frame, and inputs are small.
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Ok(v);
        }
    }
    Err("future over an in-memory body never completed".into())
}

// ---------------------------------------------------------------------------------------------
// CSV import

struct Csv;

fn sample_value(kind: Kind, row: usize) -> String {
    match kind {
        Kind::Text { .. } => format!("Sample {row}"),
        Kind::LongText => "line one\nline \"two\", with comma".to_string(),
        Kind::Email => format!("person{row}@example.test"),
        Kind::Date => "2026-11-22".to_string(),
        Kind::Bool => ["true", "false"][row % 2].to_string(),
        Kind::Int { min, .. } => (min + row as i64).to_string(),
        Kind::Money => "12345".to_string(),
        Kind::Choice(values) => values[row % values.len()].to_string(),
        Kind::Ref(_) => (row + 1).to_string(),
        Kind::User => "admin".to_string(),
    }
}

fn csv_seed(def: &ModuleDef, with_id: bool) -> Vec<u8> {
    let mut header: Vec<String> = Vec::new();
    if with_id {
        header.push("id".into());
    }
    header.extend(def.fields.iter().map(|f| f.name.to_string()));
    let mut out = crate::csv::row(&header);
    for row in 0..3 {
        let mut cells: Vec<String> = Vec::new();
        if with_id {
            cells.push((row + 10).to_string());
        }
        cells.extend(def.fields.iter().map(|f| sample_value(f.kind, row)));
        out.push_str(&crate::csv::row(&cells));
    }
    out.into_bytes()
}

impl Target for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds = Vec::new();
        for def in schema::ALL {
            seeds.push(csv_seed(def, false));
            seeds.push(csv_seed(def, true));
        }
        seeds.push(b"\xef\xbb\xbfname\r\n'=1+1\r\n\"a\"\"b\"\r\n".to_vec());
        seeds
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b",",
            b"\"",
            b"\"\"",
            b"\r\n",
            b"\n",
            b"\r",
            b"'",
            b"'=",
            b"=",
            b"+",
            b"-",
            b"@",
            b"\t",
            b"id",
            b"name",
            b"status",
            b"\xef\xbb\xbf",
            b",,,,",
            b"\"\r\n\"",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        for def in schema::ALL {
            if let Err(problems) = crate::hub::csvio::check(def, input) {
                if problems.is_empty() {
                    return Err(format!("{}: refused without naming a problem", def.slug));
                }
                if problems.iter().any(|p| p.message.is_empty()) {
                    return Err(format!("{}: a problem without a message", def.slug));
                }
            }
        }
        // Export then import gives every value back: the formula guard and the quoting undo.
        let value = String::from_utf8_lossy(&input[..input.len().min(4096)]);
        // Never the first cell of a file: the csv reader drops a leading byte-order mark, and an
        // export always starts with the header.
        let line = crate::csv::row(&["start", value.as_ref(), "end"]);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let record = reader
            .records()
            .next()
            .ok_or("an exported row read back as nothing")?
            .map_err(|e| format!("an exported row is not valid CSV: {e}"))?;
        let back = crate::csv::unneutralise(record.get(1).unwrap_or_default());
        if back != value || record.get(2) != Some("end") {
            return Err(format!("round trip changed {value:?} into {back:?}"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Document upload (multipart)

#[allow(non_camel_case_types)]
struct Multipart_;

const BOUNDARY: &str = "XyZzY-boundary-7MA4YWxkTrZu0gW";
const UPLOAD_MAX: u64 = 16 * 1024;

fn multipart_seed(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, data) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

impl Target for Multipart_ {
    fn name(&self) -> &'static str {
        "multipart"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            multipart_seed(&[("file", Some("report.pdf"), b"%PDF-1.7\n1 0 obj\n")]),
            multipart_seed(&[
                ("csrf", None, b"token"),
                ("file", Some("notes.txt"), b"plain text\nline two\n"),
            ]),
            multipart_seed(&[("file", Some("..\\..\\evil.bat"), b"PK\x03\x04zip")]),
            multipart_seed(&[("file", Some("photo.png"), b"\x89PNG\r\n\x1a\n\0\0")]),
            multipart_seed(&[("other", Some("a.txt"), b"x")]),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"\r\n",
            b"\r\n\r\n",
            b"--",
            b"--XyZzY-boundary-7MA4YWxkTrZu0gW",
            b"--XyZzY-boundary-7MA4YWxkTrZu0gW--",
            b"Content-Disposition: form-data; name=\"file\"; filename=\"",
            b"filename*=UTF-8''",
            b"Content-Type: ",
            b"\"",
            b";",
            b"%PDF-",
            b"PK\x03\x04",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let request = Request::builder()
            .method("POST")
            .uri("/api/v1/documents/1/upload")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(axum::body::Body::from(input.to_vec()))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        ready(async {
            let Ok(mut form) = Multipart::from_request(request, &()).await else {
                return Ok(());
            };
            match crate::web::documents::read_file(&mut form, UPLOAD_MAX).await {
                Ok((name, data)) => {
                    if data.len() as u64 > UPLOAD_MAX {
                        return Err(format!("{} bytes accepted over the limit", data.len()));
                    }
                    let clean = crate::hub::documents::clean_filename(&name);
                    if clean.is_empty()
                        || clean.chars().count() > 120
                        || clean
                            .chars()
                            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
                        || clean.starts_with('.')
                    {
                        return Err(format!("unsafe stored name {clean:?} from {name:?}"));
                    }
                    // The stored name follows the detected type and keeps the promises above.
                    if let Some(t) = crate::hub::filetype::detect(&data, &name) {
                        let stored = crate::hub::filetype::stored_name(&clean, t);
                        if stored
                            .chars()
                            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
                        {
                            return Err(format!("unsafe stored name {stored:?} from {name:?}"));
                        }
                    }
                    Ok(())
                }
                Err(_) => Ok(()),
            }
        })?
    }
}

// ---------------------------------------------------------------------------------------------
// Update bundle

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

struct UpdateBundle {
    keys: TrustedKeys,
    policy: Policy,
}

/// A fixed, public test key: the seeds are signed with it so that mutations start from bundles
/// that pass, and a change anywhere must make them fail.
fn update_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

impl UpdateBundle {
    fn new() -> Self {
        let mut keys = TrustedKeys::default();
        // The same fixed key as the seeds; insertion cannot fail for a single fresh key.
        let _ = keys.insert("fuzz", update_key().verifying_key());
        UpdateBundle {
            keys,
            policy: Policy {
                threshold: 1,
                product: update::PRODUCT.to_string(),
                arch: "amd64".to_string(),
                current_version: semver::Version::new(1, 0, 0),
                current_epoch: 1,
                now: at(1_780_272_000),
                last_seen_time: None,
                max_size: 1 << 20,
            },
        }
    }

    fn bundle(&self, payload: &[u8], path: &str, notes: Option<&str>) -> Vec<u8> {
        use sha2::Digest;
        let sbom = serde_json::json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "metadata": { "component": { "type": "application", "name": update::PRODUCT, "version": "1.1.0" } },
            "components": [{ "type": "library", "name": "serde", "version": "1.0.0" }],
        })
        .to_string()
        .into_bytes();
        let manifest = Manifest {
            product: update::PRODUCT.to_string(),
            arch: "amd64".to_string(),
            version: semver::Version::new(1, 1, 0),
            min_from: semver::Version::new(0, 9, 0),
            security_epoch: 1,
            created_at: at(1_777_593_600),
            expires_at: at(1_809_129_600),
            files: vec![PayloadFile {
                path: path.to_string(),
                size: payload.len() as u64,
                sha256: sha2::Sha256::digest(payload).into(),
            }],
            notes: notes.map(str::to_string),
            sbom: update::SbomRef {
                size: sbom.len() as u64,
                sha256: sha2::Sha256::digest(&sbom).into(),
            },
        };
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let key = update_key();
        let signature = key.sign(&update::signed_message(&manifest_bytes));
        let block = serde_json::to_vec(&[update::SignatureEntry {
            key_id: update::key_id(&key.verifying_key()),
            signature: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                signature.to_bytes(),
            ),
        }])
        .unwrap_or_default();
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = update::write_envelope(&mut out, &manifest_bytes, &block);
        out.extend_from_slice(&sbom);
        out.extend_from_slice(payload);
        out
    }
}

impl Target for UpdateBundle {
    fn name(&self) -> &'static str {
        "update-bundle"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            self.bundle(
                b"!<arch>\ndebian-binary   0  0  0  100644  4  `\n2.0\n",
                "holdfast_1.1.0_amd64.deb",
                None,
            ),
            self.bundle(
                &[0x5a; 300],
                "h.deb",
                Some("Security fixes.\nSee the notes."),
            ),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"HFUPDATE\x00\x02",
            b"\"sbom\": {",
            b"\"version\": \"",
            b"\"files\": [",
            b"\"path\": \"",
            b"../",
            b"\"size\": ",
            b"\"sha256\": \"",
            b"\"key_id\":\"",
            b"\"signature\":\"",
            b"\\u0000",
            b"-rc.1+build",
            b"T00:00:00Z",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let inspected = update::inspect_bytes(input);
        if let Ok(i) = &inspected {
            let _ = update::check_manifest_rules(&i.manifest, &self.policy);
            if i.payload_offset > input.len() as u64 {
                return Err("payload offset past the end of the bundle".into());
            }
        }
        if let Ok(v) = update::verify_bytes(input, &self.keys, &self.policy) {
            let Ok(i) = inspected else {
                return Err("verified, yet inspection refused it".into());
            };
            if &i.manifest != v.manifest() {
                return Err("verify and inspect read different manifests".into());
            }
            let payload: u64 = v.manifest().files.iter().map(|f| f.size).sum();
            if i.payload_offset + payload != input.len() as u64 {
                return Err("verified with bytes not covered by the manifest".into());
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Backup archive (encrypted chunk framing) and its entries (tar framing after authentication)

struct BackupArchive {
    key: Key256,
}

impl BackupArchive {
    fn new() -> Self {
        BackupArchive {
            key: Key256::from_bytes([9u8; 32]),
        }
    }

    fn archive(&self, entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let meta = HeaderMeta {
            instance: "default".into(),
            app_version: "1.0.0".into(),
            schema_version: 1,
            created_at: "2026-06-01T00:00:00Z".into(),
        };
        let settings = WriterSettings {
            chunk_size: 1024,
            zstd_level: 1,
        };
        let build = || -> Result<Vec<u8>, String> {
            let writer = ArchiveWriter::with_settings(Vec::new(), &self.key, meta, settings)
                .map_err(|e| e.to_string())?;
            let mut packer = Packer::new(writer);
            for (name, data) in entries {
                packer
                    .add_file(name, data.len() as u64, &data[..])
                    .map_err(|e| e.to_string())?;
            }
            packer
                .finish()
                .map_err(|e| e.to_string())?
                .finish()
                .map_err(|e| e.to_string())
        };
        build().unwrap_or_default()
    }
}

/// Reads every entry to its end, as a restore does, and checks each name that came through.
fn read_entries(input: impl Read) -> Result<(), String> {
    let mut broken = None;
    let _ = Unpacker::new(input).for_each(|name, _size, reader: &mut dyn Read| {
        if name.is_empty()
            || name.starts_with('/')
            || name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            || name.chars().any(char::is_control)
            || name.contains('\\')
        {
            broken = Some(format!("unsafe entry name {name:?} accepted"));
        }
        std::io::copy(reader, &mut std::io::sink()).map_err(crate::backup::pack::PackError::Io)?;
        Ok::<_, crate::backup::pack::PackError>(())
    });
    broken.map_or(Ok(()), Err)
}

impl Target for BackupArchive {
    fn name(&self) -> &'static str {
        "backup-archive"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let noise: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect();
        vec![
            self.archive(&[("db.sqlite", b"SQLite format 3\0".to_vec())]),
            self.archive(&[
                ("db.sqlite", noise.clone()),
                ("files/a/b.bin", noise[..100].to_vec()),
                ("files/empty", Vec::new()),
            ]),
            self.archive(&[]),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"HFBK\x00\x01",
            b"\"chunk_size\":",
            b"\"key_id\":\"",
            b"\"salt\":\"",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let Ok((_header, reader)) = ArchiveReader::open(Cursor::new(input), &self.key) else {
            return Ok(());
        };
        read_entries(reader)
    }
}

struct BackupEntries;

impl Target for BackupEntries {
    fn name(&self) -> &'static str {
        "backup-entries"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let pack = |entries: &[(&str, &[u8])]| {
            let mut p = Packer::new(Vec::new());
            for (name, data) in entries {
                let _ = p.add_file(name, data.len() as u64, *data);
            }
            p.finish().unwrap_or_default()
        };
        let long = format!("files/{}/x.pdf", "d".repeat(150));
        vec![
            pack(&[("db.sqlite", b"SQLite format 3\0")]),
            pack(&[("files/a", b"one"), (long.as_str(), b"long name")]),
            pack(&[("files/Überweisung.pdf", b"umlaut")]),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"../",
            b"/etc/passwd",
            b"././@LongLink\0",
            b"ustar\0",
            b"ustar  \0",
            b"00000000000\0",
            b"77777777777\0",
            b"path=",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        read_entries(Cursor::new(input))
    }
}

// ---------------------------------------------------------------------------------------------
// TOML configuration

struct Config;

impl Target for Config {
    fn name(&self) -> &'static str {
        "config"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds = vec![
            include_bytes!("../../debian/holdfast.toml").to_vec(),
            b"data_dir = \"/srv/holdfast\"\n[server]\nlisten = \"127.0.0.1:8443\"\nmax_connections = 100\n".to_vec(),
            b"[storage]\nread_connections = 4\n[hub]\ndocument_max_mb = 25\n".to_vec(),
        ];
        seeds.push(b"[server]\nlisten = \"[::1]:8443\" # comment\n".to_vec());
        seeds
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"[",
            b"]",
            b"[[",
            b"]]",
            b"=",
            b"\"",
            b"'''",
            b"\"\"\"",
            b"\n",
            b"#",
            b"{",
            b"}",
            b".",
            b"\\u",
            b"inf",
            b"nan",
            b"true",
            b"1979-05-27T07:32:00Z",
            b"[server]",
            b"[mail]",
            b"[update]",
            b"[syslog]",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        // The loader reads text; bytes that are not UTF-8 never reach the parser.
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(());
        };
        match crate::config::Config::from_text(Path::new("/etc/holdfast/holdfast.toml"), text) {
            Err(crate::config::ConfigError::Invalid { line, .. }) => {
                let lines = text.matches('\n').count() + 1;
                if line == 0 || line > lines {
                    return Err(format!("error on line {line} of a {lines}-line file"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON request bodies of the API

struct Json;

fn json_request(input: &[u8]) -> Result<Request, String> {
    Request::builder()
        .method("POST")
        .uri("/api/v1/x")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(input.to_vec()))
        .map_err(|e| format!("cannot build the request: {e}"))
}

fn body<T: serde::de::DeserializeOwned>(input: &[u8]) -> Result<Option<T>, String> {
    let req = json_request(input)?;
    let r = ready(crate::web::api::ApiJson::<T>::from_request(req, &()))?;
    Ok(r.ok().map(|crate::web::api::ApiJson(v)| v))
}

impl Target for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = vec![
            br#"{"username":"admin","password":"correct horse battery"}"#.to_vec(),
            br#"{"code":"123456"}"#.to_vec(),
            br#"{"current_password":"old","code":null,"new_password":"a much longer one"}"#
                .to_vec(),
            br#"{"current_password":"pw","code":"654321","email":"a@example.test"}"#.to_vec(),
            br#"{"description":"Work","quantity":"1.5","unit_price":12000,"tax_rate":23}"#.to_vec(),
            br#"{"project_id":3,"tax_rate":"8.5"}"#.to_vec(),
            br#"{"method":"totp"}"#.to_vec(),
        ];
        for def in schema::ALL {
            let mut m = Map::new();
            for (i, f) in def.fields.iter().enumerate() {
                let v = sample_value(f.kind, i);
                let value = match f.kind {
                    Kind::Int { .. } | Kind::Money | Kind::Ref(_) => v
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::String(v)),
                    Kind::Bool => Value::Bool(i % 2 == 0),
                    _ => Value::String(v),
                };
                m.insert(f.name.to_string(), value);
            }
            seeds.push(serde_json::to_vec(&m).unwrap_or_default());
        }
        seeds
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b":",
            b",",
            b"null",
            b"true",
            b"false",
            b"\\u0000",
            b"\\ud800",
            b"\\\"",
            b"1e999",
            b"-0",
            b"[[[[[[[[[[[[[[[[",
            b"{\"a\":{\"a\":",
            b"\"id\":1",
            b"\"version\":",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        use crate::web::api::{invoices, session};
        body::<session::SignInBody>(input)?;
        body::<session::CodeBody>(input)?;
        body::<session::PasswordBody>(input)?;
        body::<session::ProofBody>(input)?;
        body::<session::EmailBody>(input)?;
        body::<session::MethodBody>(input)?;
        body::<invoices::LineBody>(input)?;
        body::<invoices::FromProject>(input)?;
        if let Some(map) = body::<Map<String, Value>>(input)? {
            for def in schema::ALL {
                let _ = crate::hub::records::validate(def, &map, false);
                let _ = crate::hub::records::validate(def, &map, true);
            }
            // Invoice lines take quantity and tax rate as text or number.
            for key in ["quantity", "tax_rate"] {
                let text = match map.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => continue,
                };
                if let Ok(v) = crate::hub::invoices::parse_thousandths(key, &text, 1_000_000_000)
                    && !(0..=1_000_000_000).contains(&v)
                {
                    return Err(format!("{key} {text:?} parsed to {v}, outside its range"));
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Syslog forwarding: security-log values (chosen by users and attackers) rendered for a collector

struct Syslog;

impl Target for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            b"2026-11-22T10:00:00.123Z\0default\0sign_in\0alice\0alice\x00192.0.2.1\0success\0{\"method\":\"password\"}".to_vec(),
            "2026-11-22T10:00:00Z\0default\0account_locked\0Zo\u{eb}\0b\u{202e}ob\0console\0failure\0\"x]\\\"\"".as_bytes().to_vec(),
            b"\0\0\0\0\0\0\0\0".to_vec(),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"\0",
            b"]",
            b"\"",
            b"\\",
            b"\n",
            b"\r",
            b"\xe2\x80\xa8",
            b"\xe2\x80\xae",
            b"\xef\xbb\xbf",
            b"+01:00",
            b".123456",
            b"T23:59:59",
            b"success",
            b"_locked",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(input);
        let mut parts = text.split('\0').map(str::to_string);
        let mut next = || parts.next().unwrap_or_default();
        let at = next();
        let instance = next();
        let event = next();
        let actor = next();
        let target = next();
        let source = next();
        let outcome = next();
        let rest = next();
        let details = serde_json::from_str(&rest).unwrap_or(Value::String(rest));
        let e = ForwardEvent {
            at,
            instance,
            event,
            actor,
            target,
            source,
            outcome,
            details,
            id: input.len() as i64 - 1,
            hash: "ab".repeat(32),
        };
        let msg = forward::format_rfc5424(&e, "holdfast", "appliance", 4242);
        if msg.len() > forward::MAX_MESSAGE_LEN {
            return Err(format!("{} octets, over the limit", msg.len()));
        }
        if msg.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}')
                || ('\u{202A}'..='\u{202E}').contains(&c)
        }) {
            return Err(format!("control or separator character in {msg:?}"));
        }
        // HEADER: PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then structured data.
        let fields: Vec<&str> = msg.splitn(7, ' ').collect();
        if fields.len() < 7
            || !fields[0].starts_with('<')
            || fields[1..6].iter().any(|f| f.is_empty() || !f.is_ascii())
            || !fields[6].starts_with(&format!("[{}", forward::SD_ID))
        {
            return Err(format!("malformed header in {msg:?}"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP relay replies

struct Smtp;

impl Target for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            b"220 relay.example.test ESMTP ready\r\n".to_vec(),
            b"250-relay.example.test greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_vec(),
            b"535 5.7.8 Authentication credentials invalid\r\n".to_vec(),
            b"451-4.3.0 try again\r\n451 later\r\n".to_vec(),
            b"250 OK\r\n".to_vec(),
        ]
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[
            b"\r\n",
            b"250-",
            b"250 ",
            b"550 ",
            b"421 ",
            b"AUTH ",
            b"STARTTLS",
            b"SMTPUTF8",
            b"SIZE ",
            b"-",
            b" ",
        ]
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        // lettre reads the reply as UTF-8 text; anything else is refused before parsing.
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(());
        };
        let Ok(reply) = text.parse::<lettre::transport::smtp::response::Response>() else {
            return Ok(());
        };
        let _ = lettre::transport::smtp::extension::ServerInfo::from_response(&reply);
        let _ = reply.first_word();
        let lines = reply.message().count();
        if lines > text.len() + 1 {
            return Err(format!("{lines} reply lines from {} bytes", text.len()));
        }
        Ok(())
    }
}
