//! Named entries inside the archive stream (tar framing), with entry names and types checked both ways.
//!
//! An entry name is accepted only if it is UTF-8, at most 4096 bytes, relative, made of `/`-separated
//! components that are neither empty, `.` nor `..`, and free of backslashes and control characters.
//! Only regular files are accepted: links, devices, FIFOs and directories are refused, so a restore can
//! never be steered outside its target directory or onto something that is not a plain file.
//! Duplicate names are not detected here (that would need memory per entry): the caller should create
//! files with `create_new` so a second entry of the same name fails.

use std::io::{self, Read, Write};

use super::format::ArchiveError;

const MAX_NAME_LEN: usize = 4096;

pub type Result<T, E = PackError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("unsafe entry name {name:?} in the backup: {reason}")]
    UnsafeName { name: String, reason: &'static str },
    #[error("backup entry {name:?} is a {kind}; only regular files are allowed")]
    NotAFile { name: String, kind: String },
    #[error("{name} changed while being backed up (expected {expected} bytes, {found})")]
    SizeChanged {
        name: String,
        expected: u64,
        found: String,
    },
    /// Archive problems (wrong key, damage, truncation) arrive here; their own message is shown.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl PackError {
    /// The archive-level cause, if that is what went wrong, so callers can pick an exit code.
    pub fn archive_error(&self) -> Option<&ArchiveError> {
        match self {
            Self::Io(e) => ArchiveError::from_io(e),
            _ => None,
        }
    }
}

fn check_name(raw: &[u8]) -> Result<&str> {
    let refuse = |reason| PackError::UnsafeName {
        name: String::from_utf8_lossy(raw).into_owned(),
        reason,
    };
    if raw.is_empty() {
        return Err(refuse("empty name"));
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(refuse("name too long"));
    }
    let name = std::str::from_utf8(raw).map_err(|_| refuse("name is not UTF-8"))?;
    if name.starts_with('/') {
        return Err(refuse("absolute path"));
    }
    if name.contains('\\') {
        return Err(refuse("backslash in name"));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse("control character in name"));
    }
    for component in name.split('/') {
        match component {
            "" => return Err(refuse("empty path component")),
            "." => return Err(refuse("'.' path component")),
            ".." => return Err(refuse("'..' path component")),
            _ => {}
        }
    }
    Ok(name)
}

/// Hands tar exactly `size` bytes and notes whether the source disagreed; tar itself would pad or cut
/// silently and produce an archive whose framing no longer matches its headers.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
    short_by: Option<u64>,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            self.short_by = Some(self.remaining);
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "source ended early",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Writes entries into a stream, typically an [`super::format::ArchiveWriter`].
///
/// After any error the stream is unusable: drop the archive writer unfinished so it cannot pass for a
/// complete backup.
pub struct Packer<W: Write> {
    builder: tar::Builder<W>,
}

impl<W: Write> Packer<W> {
    pub fn new(out: W) -> Self {
        Self {
            builder: tar::Builder::new(out),
        }
    }

    /// Streams exactly `size` bytes from `reader` as entry `name`; a source that is shorter or longer
    /// than announced is an error, as the copy would not be a consistent snapshot.
    pub fn add_file(&mut self, name: &str, size: u64, reader: impl Read) -> Result<()> {
        check_name(name.as_bytes())?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o600);
        // Fixed metadata: the restore decides ownership and times, and identical input gives an
        // identical plaintext stream.
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let mut source = ExactReader {
            inner: reader,
            remaining: size,
            short_by: None,
        };
        let size_changed = |found: String| PackError::SizeChanged {
            name: name.to_owned(),
            expected: size,
            found,
        };
        if let Err(e) = self.builder.append_data(&mut header, name, &mut source) {
            return Err(match source.short_by {
                Some(missing) => size_changed(format!("{} bytes", size - missing)),
                None => PackError::Io(e),
            });
        }
        let mut probe = [0u8; 1];
        loop {
            match source.inner.read(&mut probe) {
                Ok(0) => return Ok(()),
                Ok(_) => return Err(size_changed("more".to_owned())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(PackError::Io(e)),
            }
        }
    }

    /// Writes the end-of-entries marker and returns the stream (still to be finished by its owner).
    pub fn finish(self) -> Result<W> {
        Ok(self.builder.into_inner()?)
    }
}

/// Reads entries from a stream, typically an [`super::format::ArchiveReader`].
pub struct Unpacker<R: Read> {
    archive: tar::Archive<R>,
}

impl<R: Read> Unpacker<R> {
    pub fn new(input: R) -> Self {
        Self {
            archive: tar::Archive::new(input),
        }
    }

    /// Calls `f(name, size, reader)` for each entry in order, after checking its name and type; the
    /// reader yields exactly that entry's bytes. Afterwards the rest of the stream is read to its end,
    /// because the archive layer verifies the final chunk (and that nothing is appended) only there.
    pub fn for_each<E, F>(self, mut f: F) -> Result<(), E>
    where
        E: From<PackError>,
        F: FnMut(&str, u64, &mut dyn Read) -> Result<(), E>,
    {
        let mut archive = self.archive;
        for entry in archive.entries().map_err(PackError::Io)? {
            let mut entry = entry.map_err(PackError::Io)?;
            let raw_name = entry.path_bytes().into_owned();
            let name = check_name(&raw_name)?;
            let kind = entry.header().entry_type();
            if kind != tar::EntryType::Regular {
                return Err(PackError::NotAFile {
                    name: name.to_owned(),
                    kind: describe(kind),
                }
                .into());
            }
            let size = entry.size();
            f(name, size, &mut entry)?;
        }
        let mut rest = archive.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(PackError::Io)?;
        Ok(())
    }
}

fn describe(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Symlink => "symbolic link".to_owned(),
        tar::EntryType::Link => "hard link".to_owned(),
        tar::EntryType::Char => "character device".to_owned(),
        tar::EntryType::Block => "block device".to_owned(),
        tar::EntryType::Directory => "directory".to_owned(),
        tar::EntryType::Fifo => "FIFO".to_owned(),
        other => format!("tar entry of type {:?}", other.as_byte() as char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut p = Packer::new(Vec::new());
        for (name, data) in entries {
            p.add_file(name, data.len() as u64, &data[..]).unwrap();
        }
        p.finish().unwrap()
    }

    fn unpack(stream: &[u8]) -> Result<Vec<(String, u64, Vec<u8>)>> {
        let mut seen = Vec::new();
        Unpacker::new(stream).for_each(|name, size, reader: &mut dyn Read| {
            let mut data = Vec::new();
            reader.read_to_end(&mut data)?;
            seen.push((name.to_owned(), size, data));
            Ok::<_, PackError>(())
        })?;
        Ok(seen)
    }

    #[test]
    fn entries_round_trip_including_long_and_unicode_names() {
        let long = format!("files/{}/doc.pdf", "d".repeat(150));
        let entries = vec![
            ("db.sqlite", vec![7u8; 10_000]),
            ("files/empty", Vec::new()),
            (long.as_str(), b"long name".to_vec()),
            ("files/Überweisung 2026 (final).pdf", b"umlaut".to_vec()),
        ];
        let got = unpack(&pack(&entries)).unwrap();
        assert_eq!(got.len(), entries.len());
        for ((name, size, data), (want_name, want_data)) in got.iter().zip(&entries) {
            assert_eq!(name, want_name);
            assert_eq!(*size, want_data.len() as u64);
            assert_eq!(data, want_data);
        }
    }

    #[test]
    fn packer_refuses_unsafe_names() {
        for name in [
            "",
            "/etc/passwd",
            "../escape",
            "files/../../escape",
            "./db.sqlite",
            "files//x",
            "files/",
            "files\\x",
            "a\0b",
            "line\nbreak",
        ] {
            let mut p = Packer::new(Vec::new());
            let err = p.add_file(name, 1, &b"x"[..]).unwrap_err();
            assert!(
                matches!(err, PackError::UnsafeName { .. }),
                "{name:?}: {err}"
            );
        }
        let mut p = Packer::new(Vec::new());
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(p.add_file(&too_long, 0, io::empty()).is_err());
    }

    #[test]
    fn packer_refuses_sources_that_change_size() {
        let mut p = Packer::new(Vec::new());
        let err = p.add_file("db.sqlite", 10, &b"short"[..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "db.sqlite changed while being backed up (expected 10 bytes, 5 bytes)"
        );
        let mut p = Packer::new(Vec::new());
        let err = p.add_file("db.sqlite", 3, &b"longer"[..]).unwrap_err();
        assert!(matches!(err, PackError::SizeChanged { .. }), "{err}");
    }

    /// A tar stream written header by header, the way a hostile or buggy tool could.
    fn raw_entry(name: &[u8], kind: tar::EntryType, link: Option<&[u8]>, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        if let Some(link) = link {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        }
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&header, data).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn unpacker_refuses_unsafe_names_and_entry_types() {
        use tar::EntryType as T;
        type Case<'a> = (&'a [u8], T, Option<&'a [u8]>);
        let cases: Vec<Case> = vec![
            (b"/etc/cron.d/evil", T::Regular, None),
            (b"../../root/.ssh/authorized_keys", T::Regular, None),
            (b"files/../../x", T::Regular, None),
            (b"./db.sqlite", T::Regular, None),
            (b"files//x", T::Regular, None),
            (b"files\\..\\x", T::Regular, None),
            (b"bad\xffutf8", T::Regular, None),
            (b"esc\x1b[2J", T::Regular, None),
            (b"files/link", T::Symlink, Some(b"/etc/shadow")),
            (b"files/hard", T::Link, Some(b"db.sqlite")),
            (b"files/dev", T::Char, None),
            (b"files/blk", T::Block, None),
            (b"files/fifo", T::Fifo, None),
            (b"files/dir/", T::Directory, None),
            (b"files/dir", T::Directory, None),
        ];
        for (name, kind, link) in cases {
            let mut stream = raw_entry(b"db.sqlite", T::Regular, None, b"fine");
            stream.truncate(stream.len() - 1024);
            stream.extend(raw_entry(name, kind, link, b""));
            let mut calls = Vec::new();
            let err = Unpacker::new(&stream[..])
                .for_each(|name, _, _: &mut dyn Read| {
                    calls.push(name.to_owned());
                    Ok::<_, PackError>(())
                })
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    PackError::UnsafeName { .. } | PackError::NotAFile { .. }
                ),
                "{:?}: {err}",
                String::from_utf8_lossy(name)
            );
            assert_eq!(calls, ["db.sqlite"], "{err}");
        }
    }

    #[test]
    fn refusal_messages_name_the_problem() {
        let stream = raw_entry(b"files/link", tar::EntryType::Symlink, Some(b"/x"), b"");
        let err = unpack(&stream).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup entry \"files/link\" is a symbolic link; only regular files are allowed"
        );
        let stream = raw_entry(b"../x", tar::EntryType::Regular, None, b"");
        assert_eq!(
            unpack(&stream).unwrap_err().to_string(),
            "unsafe entry name \"../x\" in the backup: '..' path component"
        );
    }

    #[test]
    fn callback_errors_stop_the_walk() {
        let stream = pack(&[("a", b"1".to_vec()), ("b", b"2".to_vec())]);
        let mut calls = 0;
        let err = Unpacker::new(&stream[..])
            .for_each(|_, _, _: &mut dyn Read| {
                calls += 1;
                Err(PackError::Io(io::Error::other("disk full")))
            })
            .unwrap_err();
        assert_eq!(calls, 1);
        assert_eq!(err.to_string(), "disk full");
    }
}
