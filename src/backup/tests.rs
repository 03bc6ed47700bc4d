//! Cross-module tests: a whole backup and restore through bundle + format, and a throughput probe.

use std::io::{self, Read, Write};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::format::{ArchiveError, ArchiveReader, ArchiveWriter, HeaderMeta, WriterSettings};
use super::pack::{PackError, Packer, Unpacker};
use crate::crypto::Key256;

fn meta() -> HeaderMeta {
    HeaderMeta {
        instance: "mod-archive-01".into(),
        app_version: "1.4.0".into(),
        schema_version: 12,
        created_at: "2026-03-10T02:00:00Z".into(),
    }
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    getrandom::fill(&mut out).unwrap();
    out
}

fn sha256_of(reader: &mut dyn Read) -> io::Result<(u64, [u8; 32])> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((total, hasher.finalize().into()));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

struct Backup {
    key: Key256,
    entries: Vec<(String, Vec<u8>)>,
    archive: Vec<u8>,
}

fn make_backup(db_len: usize, docs: usize) -> Backup {
    let key = Key256::generate().unwrap();
    let mut entries = vec![("db.sqlite".to_owned(), random_bytes(db_len))];
    for i in 0..docs {
        let body = format!("document {i}: ")
            .repeat(i * 7 % 300 + 1)
            .into_bytes();
        entries.push((format!("files/{:02x}/{i:04}-report.pdf", i % 16), body));
    }
    entries.push(("files/empty.txt".to_owned(), Vec::new()));

    let mut writer = ArchiveWriter::new(Vec::new(), &key, meta()).unwrap();
    let mut packer = Packer::new(&mut writer);
    for (name, data) in &entries {
        packer.add_file(name, data.len() as u64, &data[..]).unwrap();
    }
    packer.finish().unwrap();
    let archive = writer.finish().unwrap();
    Backup {
        key,
        entries,
        archive,
    }
}

fn restore(archive: &[u8], key: &Key256) -> Result<Vec<(String, u64, [u8; 32])>, PackError> {
    let (header, reader) =
        ArchiveReader::open(archive, key).map_err(|e| PackError::Io(io::Error::from(e)))?;
    assert_eq!(header.instance, "mod-archive-01");
    let mut seen = Vec::new();
    Unpacker::new(reader).for_each(|name, size, entry: &mut dyn Read| {
        let (read, digest) = sha256_of(entry)?;
        assert_eq!(read, size);
        seen.push((name.to_owned(), size, digest));
        Ok::<_, PackError>(())
    })?;
    Ok(seen)
}

#[test]
fn database_and_documents_survive_backup_and_restore() {
    let backup = make_backup(20 << 20, 50);
    assert!(backup.archive.len() > 20 << 20);
    let restored = restore(&backup.archive, &backup.key).unwrap();
    assert_eq!(restored.len(), 52);
    for ((name, size, digest), (want_name, want_data)) in restored.iter().zip(&backup.entries) {
        assert_eq!(name, want_name);
        assert_eq!(*size, want_data.len() as u64);
        assert_eq!(digest, &<[u8; 32]>::from(Sha256::digest(want_data)));
    }
}

#[test]
fn restore_surfaces_archive_errors_through_the_unpacker() {
    let backup = make_backup(3 << 20, 5);
    let archive = &backup.archive;
    let kind_of = |bytes: &[u8], key: &Key256| -> String {
        let err = restore(bytes, key).unwrap_err();
        match err.archive_error() {
            Some(ArchiveError::Corrupt { what }) => format!("Corrupt: {what}"),
            Some(ArchiveError::Truncated) => "Truncated".into(),
            Some(ArchiveError::Appended) => "Appended".into(),
            Some(ArchiveError::WrongKey { .. }) => "WrongKey".into(),
            other => format!("unexpected {other:?} / {err}"),
        }
    };

    let mut damaged = archive.clone();
    let middle = archive.len() / 2;
    damaged[middle] ^= 0x04;
    assert!(kind_of(&damaged, &backup.key).starts_with("Corrupt: chunk "));

    assert_eq!(
        kind_of(&archive[..archive.len() - 10], &backup.key),
        "Truncated"
    );

    let mut longer = archive.clone();
    longer.extend_from_slice(b"junk");
    assert_eq!(kind_of(&longer, &backup.key), "Appended");

    let other = Key256::generate().unwrap();
    assert_eq!(kind_of(archive, &other), "WrongKey");
}

/// Semi-compressible input: log-like text with a quarter of random bytes mixed in, in 1 MiB blocks.
/// 16 distinct blocks are cycled, 16 MiB apart, beyond zstd's window, so repetition is not exploited.
fn semi_compressible_pool() -> Vec<Vec<u8>> {
    // HFBK_DATA=random models a page-encrypted database file, which no compressor can shrink.
    if std::env::var("HFBK_DATA").as_deref() == Ok("random") {
        return (0..16).map(|_| random_bytes(1 << 20)).collect();
    }
    (0..16)
        .map(|block| {
            let mut out = Vec::with_capacity(1 << 20);
            let noise = random_bytes(1 << 20);
            let mut line = 0usize;
            while out.len() < 1 << 20 {
                let text = format!(
                    "2026-03-10T02:{:02}:{:02}Z INFO audit user=user{} action=document.view doc={} ip=10.1.{}.{}\n",
                    line / 60 % 60,
                    line % 60,
                    line * 7 % 113,
                    block * 100_000 + line,
                    line % 250,
                    line * 3 % 250
                );
                out.extend_from_slice(text.as_bytes());
                let random_len = text.len() / 3;
                let at = (line * 4099) % (noise.len() - random_len);
                out.extend_from_slice(&noise[at..at + random_len]);
                line += 1;
            }
            out.truncate(1 << 20);
            out
        })
        .collect()
}

/// Hands out `remaining` bytes by cycling through the pool, without copying it up front.
struct Cycle<'a> {
    pool: &'a [Vec<u8>],
    offset: usize,
    remaining: usize,
}

impl Read for Cycle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let block = &self.pool[(self.offset >> 20) % self.pool.len()];
        let within = self.offset & ((1 << 20) - 1);
        let n = buf.len().min(self.remaining).min(block.len() - within);
        buf[..n].copy_from_slice(&block[within..within + n]);
        self.offset += n;
        self.remaining -= n;
        Ok(n)
    }
}

fn peak_rss_kib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `cargo test --release --lib -- --ignored --nocapture throughput`
/// (`HFBK_LEVELS=1,3` to compare levels, `HFBK_DATA=random` for incompressible input).
#[test]
#[ignore = "throughput probe; run in release mode"]
fn throughput() {
    const TOTAL_MIB: usize = 256;
    let pool = semi_compressible_pool();
    let key = Key256::generate().unwrap();
    let path = std::env::temp_dir().join(format!("hfbk-throughput-{}.hfbk", std::process::id()));
    let levels: Vec<i32> = std::env::var("HFBK_LEVELS")
        .ok()
        .map(|s| s.split(',').filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![3]);
    for level in levels {
        let started = Instant::now();
        let file = std::fs::File::create(&path).unwrap();
        let settings = WriterSettings {
            zstd_level: level,
            ..WriterSettings::default()
        };
        let mut writer = ArchiveWriter::with_settings(file, &key, meta(), settings).unwrap();
        let mut packer = Packer::new(&mut writer);
        let mut source = Cycle {
            pool: &pool,
            offset: 0,
            remaining: TOTAL_MIB << 20,
        };
        packer
            .add_file("db.sqlite", (TOTAL_MIB << 20) as u64, &mut source)
            .unwrap();
        packer.finish().unwrap();
        writer.finish().unwrap().sync_all().unwrap();
        let write_secs = started.elapsed().as_secs_f64();
        let archive_len = std::fs::metadata(&path).unwrap().len();

        let started = Instant::now();
        let (_, reader) = ArchiveReader::open(std::fs::File::open(&path).unwrap(), &key).unwrap();
        let mut restored = 0u64;
        Unpacker::new(reader)
            .for_each(|_, _, entry: &mut dyn Read| {
                restored += io::copy(entry, &mut io::sink())?;
                Ok::<_, PackError>(())
            })
            .unwrap();
        let read_secs = started.elapsed().as_secs_f64();
        assert_eq!(restored, (TOTAL_MIB << 20) as u64);

        let mb = (TOTAL_MIB << 20) as f64 / 1e6;
        println!(
            "zstd level {level}: {TOTAL_MIB} MiB plaintext -> {:.1} MB archive ({:.0}%); \
             write {:.0} MB/s ({write_secs:.2} s), read+verify {:.0} MB/s ({read_secs:.2} s); peak RSS {}",
            archive_len as f64 / 1e6,
            100.0 * archive_len as f64 / (TOTAL_MIB << 20) as f64,
            mb / write_secs,
            mb / read_secs,
            peak_rss_kib()
        );
    }
    let _ = std::fs::remove_file(&path);
    let _ = io::stdout().flush();
}
