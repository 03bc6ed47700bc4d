//! The backup container: an authenticated header, then zstd-compressed plaintext sealed in AES-256-GCM chunks.
//!
//! Layout (integers big-endian):
//!
//! ```text
//! "HFBK" | u16 format version | u32 header length | header JSON | 16-byte header tag
//! chunk, repeated: u32 length | ciphertext ‖ 16-byte tag      (the length counts the tag)
//! ```
//!
//! * Per-archive key = HKDF-SHA256(ikm = backup key, salt = 32 random bytes kept in the header,
//!   info = `holdfast-backup-v1`). A fresh key per archive is what makes fixed nonces safe.
//! * Header tag = AES-GCM over empty plaintext, AAD = magic ‖ version ‖ header bytes, nonce all zero.
//! * Chunk `i`: nonce = `00 00 00 01` ‖ u64 `i`; AAD = SHA-256(header bytes) ‖ u64 `i` ‖ u8 final flag.
//!   The index in nonce and AAD catches reordering, dropping and duplicating chunks; the header hash
//!   ties chunks to their header; the authenticated final flag catches truncation at a chunk boundary.
//! * Every chunk but the last carries exactly `chunk_size` plaintext bytes, the last one fewer (possibly
//!   zero). The reader therefore knows from a chunk's length whether it must be the final one, and never
//!   has to try both flags. Exactly one final chunk exists; bytes after it are refused.
//! * The plaintext is one zstd frame. Memory is one chunk buffer plus zstd's window, whatever the size.
//!
//! A reader hands out plaintext before the end has been verified (that is what streaming means): a
//! caller must treat any error, even one at the very end, as "this restore failed" and discard output.

use std::io::{self, BufRead, Read, Write};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::Key256;

/// First bytes of every archive.
pub const MAGIC: [u8; 4] = *b"HFBK";
/// The format version this code writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Compressed plaintext bytes per chunk unless [`WriterSettings`] says otherwise.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// zstd level used unless [`WriterSettings`] says otherwise.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Bounds on what a reader accepts, so a damaged length field cannot make it allocate without limit.
const MAX_HEADER_LEN: u32 = 64 * 1024;
const MIN_CHUNK_SIZE: u32 = 1024;
const MAX_CHUNK_SIZE: u32 = 16 << 20;

const TAG_LEN: usize = 16;
const LEN_PREFIX: usize = 4;
const SALT_LEN: usize = 32;
const KDF_INFO: &[u8] = b"holdfast-backup-v1";
const CHUNK_NONCE_PREFIX: [u8; 4] = [0, 0, 0, 1];

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Everything that can make an archive unusable, worded for the administrator who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("this file is not a holdfast backup archive")]
    NotAnArchive,
    #[error(
        "this archive has format version {found}, but this holdfast reads versions up to {supported}; \
         restore it with a newer holdfast"
    )]
    FormatTooNew { found: u16, supported: u16 },
    /// `expected_id` is the id of the key that was supplied, `archive_id` the one the archive needs.
    #[error(
        "the recovery code does not open this archive (archive key id {archive_id}, code key id {expected_id})"
    )]
    WrongKey {
        expected_id: String,
        archive_id: String,
    },
    #[error("archive damaged: {what}")]
    Corrupt { what: String },
    #[error(
        "archive truncated: it ends before its last chunk (incomplete copy, or the backup was interrupted)"
    )]
    Truncated,
    #[error("archive damaged: data appended after the end of the archive")]
    Appended,
    /// Not produced by this module: for the restore code, via [`Header::check_schema`].
    #[error(
        "this archive holds database schema version {found}, newer than the {supported} this holdfast \
         understands; install the holdfast version that made it (or newer) before restoring"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("input/output error on the archive: {0}")]
    Io(#[source] io::Error),
}

impl ArchiveError {
    /// Recovers the archive error carried inside an `io::Error` returned by [`ArchiveReader`]'s `Read`
    /// (or by anything stacked on it, such as the bundle unpacker).
    pub fn from_io(err: &io::Error) -> Option<&ArchiveError> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<ArchiveError>())
    }

    fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }

    /// A reader that failed keeps failing the same way; `io::Error` is not `Clone`, hence this.
    fn replay(&self) -> Self {
        match self {
            Self::NotAnArchive => Self::NotAnArchive,
            Self::FormatTooNew { found, supported } => Self::FormatTooNew {
                found: *found,
                supported: *supported,
            },
            Self::WrongKey {
                expected_id,
                archive_id,
            } => Self::WrongKey {
                expected_id: expected_id.clone(),
                archive_id: archive_id.clone(),
            },
            Self::Corrupt { what } => Self::corrupt(what.clone()),
            Self::Truncated => Self::Truncated,
            Self::Appended => Self::Appended,
            Self::SchemaTooNew { found, supported } => Self::SchemaTooNew {
                found: *found,
                supported: *supported,
            },
            Self::Io(e) => Self::Io(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// Through `Read`, archive problems are `InvalidData` with the [`ArchiveError`] inside; underlying I/O
/// failures keep their own kind (so retry logic still sees e.g. `TimedOut`) but are wrapped too, which
/// is how the reader tells them apart from errors raised by zstd.
impl From<ArchiveError> for io::Error {
    fn from(err: ArchiveError) -> Self {
        let kind = match &err {
            ArchiveError::Io(inner) => inner.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, err)
    }
}

/// The archive header, stored as JSON and authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u16,
    pub instance: String,
    pub app_version: String,
    pub schema_version: i64,
    /// RFC 3339, as supplied by the caller.
    pub created_at: String,
    /// [`Key256::id`] of the backup key, so a wrong key is named rather than reported as damage.
    pub key_id: String,
    /// Hex of the 32-byte HKDF salt.
    pub salt: String,
    pub chunk_size: u32,
}

impl Header {
    /// Refuses archives from a newer database schema; older ones are the caller's to migrate.
    pub fn check_schema(&self, supported: i64) -> Result<()> {
        if self.schema_version > supported {
            return Err(ArchiveError::SchemaTooNew {
                found: self.schema_version,
                supported,
            });
        }
        Ok(())
    }
}

/// What the caller says about the archive; the rest of the [`Header`] is filled in by the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMeta {
    pub instance: String,
    pub app_version: String,
    pub schema_version: i64,
    /// RFC 3339; passed in so the caller's clock (and tests) decide.
    pub created_at: String,
}

/// Tuning knobs; the defaults are what the requirements were measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// Compressed plaintext bytes per chunk, 1 KiB ..= 16 MiB.
    pub chunk_size: u32,
    pub zstd_level: i32,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

fn archive_cipher(key: &Key256, salt: &[u8]) -> Result<Aes256Gcm> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), key.expose())
        .expand(KDF_INFO, okm.as_mut())
        .map_err(|_| ArchiveError::Io(io::Error::other("key derivation failed")))?;
    Aes256Gcm::new_from_slice(okm.as_ref())
        .map_err(|_| ArchiveError::Io(io::Error::other("key derivation failed")))
}

fn header_aad(version: u16, header_bytes: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(MAGIC.len() + 2 + header_bytes.len());
    aad.extend_from_slice(&MAGIC);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(header_bytes);
    aad
}

fn chunk_nonce(index: u64) -> aes_gcm::aead::Nonce<Aes256Gcm> {
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&CHUNK_NONCE_PREFIX);
    nonce[4..].copy_from_slice(&index.to_be_bytes());
    nonce.into()
}

fn chunk_aad(header_hash: &[u8; 32], index: u64, last: bool) -> [u8; 41] {
    let mut aad = [0u8; 41];
    aad[..32].copy_from_slice(header_hash);
    aad[32..40].copy_from_slice(&index.to_be_bytes());
    aad[40] = u8::from(last);
    aad
}

/// Reads until `buf` is full or the input ends; returns how much was read. Short reads from pipes and
/// sockets are normal, so `read_exact`'s single EOF error would hide where the input actually ended.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::Io(e)),
        }
    }
    Ok(filled)
}

fn read_or_truncated(input: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    if read_full(input, buf)? < buf.len() {
        return Err(ArchiveError::Truncated);
    }
    Ok(())
}

/// Seals compressed bytes into chunks. Sits under the zstd encoder.
struct ChunkSealer<W: Write> {
    out: W,
    cipher: Aes256Gcm,
    header_hash: [u8; 32],
    chunk_size: usize,
    index: u64,
    /// Length prefix, plaintext, then room for the tag, so a chunk leaves in one `write_all`.
    /// Encryption happens in place, so only the unsealed tail ever holds plaintext.
    buf: Zeroizing<Vec<u8>>,
    /// Set after any failure: a chunk may be half written, so carrying on would emit a broken archive
    /// that looks whole.
    failed: bool,
}

impl<W: Write> ChunkSealer<W> {
    fn new(out: W, cipher: Aes256Gcm, header_hash: [u8; 32], chunk_size: usize) -> Self {
        let mut buf = Zeroizing::new(Vec::with_capacity(LEN_PREFIX + chunk_size + TAG_LEN));
        buf.extend_from_slice(&[0; LEN_PREFIX]);
        Self {
            out,
            cipher,
            header_hash,
            chunk_size,
            index: 0,
            buf,
            failed: false,
        }
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "the archive writer failed earlier; this archive is unusable",
            ));
        }
        Ok(())
    }

    fn seal_and_emit(&mut self, last: bool) -> io::Result<()> {
        self.failed = true;
        let nonce = chunk_nonce(self.index);
        let aad = chunk_aad(&self.header_hash, self.index, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &aad, (&mut self.buf[LEN_PREFIX..]).into())
            .map_err(|_| io::Error::other("chunk encryption failed"))?;
        self.buf.extend_from_slice(&tag);
        let len = u32::try_from(self.buf.len() - LEN_PREFIX)
            .map_err(|_| io::Error::other("chunk too large"))?;
        self.buf[..LEN_PREFIX].copy_from_slice(&len.to_be_bytes());
        self.out.write_all(&self.buf)?;
        self.buf.truncate(LEN_PREFIX);
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| io::Error::other("too many chunks"))?;
        self.failed = false;
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.check_usable()?;
        self.seal_and_emit(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ChunkSealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_usable()?;
        let room = LEN_PREFIX + self.chunk_size - self.buf.len();
        let take = room.min(data.len());
        self.buf.extend_from_slice(&data[..take]);
        // Sealing as soon as a chunk is full (not when more data arrives) is what keeps the last chunk
        // strictly shorter than `chunk_size`, the property the reader relies on.
        if self.buf.len() == LEN_PREFIX + self.chunk_size {
            self.seal_and_emit(false)?;
        }
        Ok(take)
    }

    /// Passes the flush on without sealing a partial chunk: a short non-final chunk is not allowed.
    fn flush(&mut self) -> io::Result<()> {
        self.check_usable()?;
        self.out.flush()
    }
}

/// Writes an archive: plaintext in, compressed and encrypted chunks out.
///
/// Dropping it without [`ArchiveWriter::finish`] leaves an archive with no final chunk, which every
/// reader refuses as truncated — an interrupted backup can never pass for a complete one.
pub struct ArchiveWriter<W: Write> {
    encoder: zstd::stream::write::Encoder<'static, ChunkSealer<W>>,
    header: Header,
}

impl<W: Write> ArchiveWriter<W> {
    /// Writes the header at once, with the default chunk size and compression level.
    pub fn new(out: W, key: &Key256, meta: HeaderMeta) -> Result<Self> {
        Self::with_settings(out, key, meta, WriterSettings::default())
    }

    pub fn with_settings(
        mut out: W,
        key: &Key256,
        meta: HeaderMeta,
        settings: WriterSettings,
    ) -> Result<Self> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&settings.chunk_size) {
            return Err(ArchiveError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes"),
            )));
        }
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| {
            ArchiveError::Io(io::Error::other(
                "the operating system's random number generator failed",
            ))
        })?;
        let header = Header {
            format: FORMAT_VERSION,
            instance: meta.instance,
            app_version: meta.app_version,
            schema_version: meta.schema_version,
            created_at: meta.created_at,
            key_id: key.id(),
            salt: hex::encode(salt),
            chunk_size: settings.chunk_size,
        };
        let header_bytes = serde_json::to_vec(&header)
            .map_err(|e| ArchiveError::Io(io::Error::other(e.to_string())))?;
        let header_len = u32::try_from(header_bytes.len())
            .ok()
            .filter(|len| *len <= MAX_HEADER_LEN)
            .ok_or_else(|| {
                ArchiveError::Io(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "archive header too large (instance or version strings too long)",
                ))
            })?;

        let cipher = archive_cipher(key, &salt)?;
        let header_tag = cipher
            .encrypt_inout_detached(
                &[0u8; 12].into(),
                &header_aad(FORMAT_VERSION, &header_bytes),
                (&mut [][..]).into(),
            )
            .map_err(|_| ArchiveError::Io(io::Error::other("header authentication failed")))?;

        let mut prologue = Vec::with_capacity(10 + header_bytes.len() + TAG_LEN);
        prologue.extend_from_slice(&MAGIC);
        prologue.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        prologue.extend_from_slice(&header_len.to_be_bytes());
        prologue.extend_from_slice(&header_bytes);
        prologue.extend_from_slice(&header_tag);
        out.write_all(&prologue).map_err(ArchiveError::Io)?;

        let header_hash: [u8; 32] = Sha256::digest(&header_bytes).into();
        let sealer = ChunkSealer::new(out, cipher, header_hash, settings.chunk_size as usize);
        let encoder = zstd::stream::write::Encoder::new(sealer, settings.zstd_level)
            .map_err(ArchiveError::Io)?;
        Ok(Self { encoder, header })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Ends the zstd frame, writes the final chunk, flushes, and hands back the output.
    pub fn finish(self) -> Result<W> {
        let sealer = self.encoder.finish().map_err(ArchiveError::Io)?;
        sealer.finish().map_err(ArchiveError::Io)
    }
}

impl<W: Write> Write for ArchiveWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.encoder.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

enum OpenerState {
    Chunks,
    Done,
    Failed(ArchiveError),
}

/// Verifies and decrypts chunks, yielding compressed bytes. Sits under the zstd decoder.
struct ChunkOpener<R: Read> {
    input: R,
    cipher: Aes256Gcm,
    header_hash: [u8; 32],
    chunk_size: usize,
    index: u64,
    /// One chunk's ciphertext, decrypted in place; `pos..end` is what is left to hand out.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    end: usize,
    state: OpenerState,
}

impl<R: Read> ChunkOpener<R> {
    fn new(input: R, cipher: Aes256Gcm, header_hash: [u8; 32], chunk_size: usize) -> Self {
        Self {
            input,
            cipher,
            header_hash,
            chunk_size,
            index: 0,
            buf: Zeroizing::new(vec![0u8; chunk_size + TAG_LEN]),
            pos: 0,
            end: 0,
            state: OpenerState::Chunks,
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.state, OpenerState::Done)
    }

    fn next_chunk(&mut self) -> Result<()> {
        let index = self.index;
        let mut len_bytes = [0u8; LEN_PREFIX];
        // Running out here, even cleanly between chunks, means the final chunk never came.
        read_or_truncated(&mut self.input, &mut len_bytes)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        if !(TAG_LEN..=self.chunk_size + TAG_LEN).contains(&len) {
            return Err(ArchiveError::corrupt(format!(
                "chunk {index} has an impossible length ({len} bytes)"
            )));
        }
        read_or_truncated(&mut self.input, &mut self.buf[..len])?;
        let plain_len = len - TAG_LEN;
        let last = plain_len < self.chunk_size;
        let (body, tag) = self.buf[..len].split_at_mut(plain_len);
        let tag = aes_gcm::aead::Tag::<Aes256Gcm>::try_from(&*tag)
            .map_err(|_| ArchiveError::corrupt(format!("chunk {index} failed authentication")))?;
        self.cipher
            .decrypt_inout_detached(
                &chunk_nonce(index),
                &chunk_aad(&self.header_hash, index, last),
                body.into(),
                &tag,
            )
            .map_err(|_| ArchiveError::corrupt(format!("chunk {index} failed authentication")))?;
        if last {
            // Checked before the last plaintext is released, so a reader that reaches EOF has seen
            // exactly what the writer wrote and nothing more.
            let mut probe = [0u8; 1];
            if read_full(&mut self.input, &mut probe)? != 0 {
                return Err(ArchiveError::Appended);
            }
            self.state = OpenerState::Done;
        }
        self.index = index
            .checked_add(1)
            .ok_or_else(|| ArchiveError::corrupt("too many chunks"))?;
        self.pos = 0;
        self.end = plain_len;
        Ok(())
    }
}

impl<R: Read> BufRead for ChunkOpener<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Loops because the final chunk may be empty.
        while self.pos == self.end {
            match &self.state {
                OpenerState::Done => break,
                OpenerState::Failed(err) => return Err(err.replay().into()),
                OpenerState::Chunks => {
                    if let Err(err) = self.next_chunk() {
                        let replay = err.replay();
                        self.state = OpenerState::Failed(err);
                        return Err(replay.into());
                    }
                }
            }
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.end);
    }
}

impl<R: Read> Read for ChunkOpener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Reads an archive: verifies every chunk as it arrives and yields the decompressed plaintext.
///
/// `Ok(0)` is returned only after the final chunk has been authenticated and nothing follows it.
pub struct ArchiveReader<R: Read> {
    decoder: zstd::stream::read::Decoder<'static, ChunkOpener<R>>,
}

impl<R: Read> ArchiveReader<R> {
    /// Reads and authenticates the header. Problems are reported in the order an administrator can
    /// act on them: not an archive, too new, wrong key, and only then damage.
    pub fn open(mut input: R, key: &Key256) -> Result<(Header, Self)> {
        let mut magic = [0u8; 4];
        if read_full(&mut input, &mut magic)? < magic.len() || magic != MAGIC {
            return Err(ArchiveError::NotAnArchive);
        }
        let mut version = [0u8; 2];
        read_or_truncated(&mut input, &mut version)?;
        let version = u16::from_be_bytes(version);
        if version > FORMAT_VERSION {
            return Err(ArchiveError::FormatTooNew {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(ArchiveError::corrupt("format version field is zero"));
        }
        let mut header_len = [0u8; 4];
        read_or_truncated(&mut input, &mut header_len)?;
        let header_len = u32::from_be_bytes(header_len);
        if header_len == 0 || header_len > MAX_HEADER_LEN {
            return Err(ArchiveError::corrupt(format!(
                "header length field is impossible ({header_len} bytes)"
            )));
        }
        let mut header_bytes = vec![0u8; header_len as usize];
        read_or_truncated(&mut input, &mut header_bytes)?;
        let mut tag = [0u8; TAG_LEN];
        read_or_truncated(&mut input, &mut tag)?;

        // Parsed before authentication only to learn key id and salt; nothing else is trusted yet.
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|_| ArchiveError::corrupt("header is unreadable"))?;
        let given_id = key.id();
        if header.key_id != given_id {
            return Err(ArchiveError::WrongKey {
                expected_id: given_id,
                archive_id: header.key_id,
            });
        }
        let salt = hex::decode(&header.salt)
            .ok()
            .filter(|salt| salt.len() == SALT_LEN)
            .ok_or_else(|| ArchiveError::corrupt("header salt is malformed"))?;
        let cipher = archive_cipher(key, &salt)?;
        cipher
            .decrypt_inout_detached(
                &[0u8; 12].into(),
                &header_aad(version, &header_bytes),
                (&mut [][..]).into(),
                &tag.into(),
            )
            .map_err(|_| ArchiveError::corrupt("header failed authentication"))?;
        if header.format != version {
            return Err(ArchiveError::corrupt(
                "header disagrees with the format version field",
            ));
        }
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&header.chunk_size) {
            return Err(ArchiveError::corrupt(format!(
                "header declares an unsupported chunk size ({} bytes)",
                header.chunk_size
            )));
        }

        let header_hash: [u8; 32] = Sha256::digest(&header_bytes).into();
        let opener = ChunkOpener::new(input, cipher, header_hash, header.chunk_size as usize);
        let decoder = zstd::stream::read::Decoder::with_buffer(opener).map_err(ArchiveError::Io)?;
        Ok((header, Self { decoder }))
    }
}

impl<R: Read> Read for ArchiveReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.decoder.read(buf) {
            // zstd stops only once the chunk layer reported its end; checked again so that a change in
            // zstd's behaviour could not turn a missing final chunk into a clean EOF.
            Ok(0) if !buf.is_empty() && !self.decoder.get_ref().is_done() => {
                Err(ArchiveError::Truncated.into())
            }
            Ok(n) => Ok(n),
            Err(e) if ArchiveError::from_io(&e).is_some() => Err(e),
            // Anything else comes from zstd itself, over data that passed authentication: only a
            // writer bug or a leaked key produces that, but the message must still say "damaged".
            Err(e) => {
                Err(ArchiveError::corrupt(format!("compressed data is invalid ({e})")).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key256 {
        Key256::from_bytes([byte; 32])
    }

    fn meta() -> HeaderMeta {
        HeaderMeta {
            instance: "hq-east".into(),
            app_version: "1.4.0".into(),
            schema_version: 7,
            created_at: "2026-03-01T02:00:00Z".into(),
        }
    }

    /// Deterministic bytes that zstd cannot shrink, so chunk counts are predictable.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    const SMALL_CHUNK: u32 = 4096;

    fn build(data: &[u8], chunk_size: u32) -> Vec<u8> {
        let settings = WriterSettings {
            chunk_size,
            ..WriterSettings::default()
        };
        let mut w = ArchiveWriter::with_settings(Vec::new(), &key(1), meta(), settings).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn read_all(archive: &[u8], k: &Key256) -> Result<(Header, Vec<u8>)> {
        let (header, mut r) = ArchiveReader::open(archive, k)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| {
            ArchiveError::from_io(&e)
                .map(ArchiveError::replay)
                .unwrap_or(ArchiveError::Io(e))
        })?;
        Ok((header, out))
    }

    /// Offsets of the chunk frames: (start of length prefix, total frame length).
    fn frames(archive: &[u8]) -> (usize, Vec<(usize, usize)>) {
        let header_len = u32::from_be_bytes(archive[6..10].try_into().unwrap()) as usize;
        let first = 10 + header_len + TAG_LEN;
        let mut at = first;
        let mut out = Vec::new();
        while at < archive.len() {
            let len = u32::from_be_bytes(archive[at..at + 4].try_into().unwrap()) as usize;
            out.push((at, 4 + len));
            at += 4 + len;
        }
        assert_eq!(at, archive.len());
        (first, out)
    }

    #[test]
    fn round_trips_empty_small_and_multi_chunk_data() {
        for data in [Vec::new(), b"hello".to_vec(), noise(50_000, 3)] {
            let archive = build(&data, SMALL_CHUNK);
            let (header, out) = read_all(&archive, &key(1)).unwrap();
            assert_eq!(out, data);
            assert_eq!(header.instance, "hq-east");
            assert_eq!(header.schema_version, 7);
            assert_eq!(header.key_id, key(1).id());
            assert_eq!(header.chunk_size, SMALL_CHUNK);
        }
        let (_, frames) = frames(&build(&noise(50_000, 3), SMALL_CHUNK));
        assert!(frames.len() >= 12, "{}", frames.len());
    }

    #[test]
    fn default_settings_use_one_mebibyte_chunks() {
        let data = noise(3 << 20, 9);
        let mut w = ArchiveWriter::new(Vec::new(), &key(1), meta()).unwrap();
        w.write_all(&data).unwrap();
        let archive = w.finish().unwrap();
        let (_, frames) = frames(&archive);
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0].1, 4 + (1 << 20) + TAG_LEN);
        assert_eq!(read_all(&archive, &key(1)).unwrap().1, data);
    }

    #[test]
    fn chunk_layer_emits_an_empty_final_chunk_after_an_exact_multiple() {
        let cipher = archive_cipher(&key(1), &[7; 32]).unwrap();
        let mut sealer = ChunkSealer::new(Vec::new(), cipher.clone(), [5; 32], 1024);
        sealer.write_all(&noise(2048, 1)).unwrap();
        let sealed = sealer.finish().unwrap();
        assert_eq!(sealed.len(), 2 * (4 + 1024 + TAG_LEN) + 4 + TAG_LEN);
        let mut opener = ChunkOpener::new(&sealed[..], cipher, [5; 32], 1024);
        let mut out = Vec::new();
        opener.read_to_end(&mut out).unwrap();
        assert_eq!(out, noise(2048, 1));
        assert!(opener.is_done());
    }

    #[test]
    fn fresh_salt_makes_every_archive_different() {
        let a = build(b"same", SMALL_CHUNK);
        let b = build(b"same", SMALL_CHUNK);
        assert_ne!(a, b);
    }

    fn kind(err: &ArchiveError) -> &'static str {
        match err {
            ArchiveError::NotAnArchive => "NotAnArchive",
            ArchiveError::FormatTooNew { .. } => "FormatTooNew",
            ArchiveError::WrongKey { .. } => "WrongKey",
            ArchiveError::Corrupt { .. } => "Corrupt",
            ArchiveError::Truncated => "Truncated",
            ArchiveError::Appended => "Appended",
            ArchiveError::SchemaTooNew { .. } => "SchemaTooNew",
            ArchiveError::Io(_) => "Io",
        }
    }

    #[test]
    fn every_flipped_byte_is_refused_with_the_matching_error() {
        let archive = build(&noise(40_000, 5), SMALL_CHUNK);
        let (first, frames) = frames(&archive);
        let header_text = std::str::from_utf8(&archive[10..first - TAG_LEN]).unwrap();
        let in_header = |needle: &str| 10 + header_text.find(needle).unwrap() + needle.len() + 1;
        let last = frames.len() - 1;
        let mid = frames.len() / 2;
        let body = |i: usize| frames[i].0 + 4;
        let end = |i: usize| frames[i].0 + frames[i].1 - 1;
        let cases: Vec<(&str, usize, &[&str])> = vec![
            ("magic", 0, &["NotAnArchive"]),
            ("magic end", 3, &["NotAnArchive"]),
            ("version high byte", 4, &["FormatTooNew"]),
            ("version low byte", 5, &["FormatTooNew", "Corrupt"]),
            ("header length high", 6, &["Corrupt"]),
            ("header length low", 9, &["Corrupt", "Truncated"]),
            ("header json brace", 10, &["Corrupt"]),
            ("header instance", in_header("\"instance\":"), &["Corrupt"]),
            (
                "header schema",
                in_header("\"schema_version\":") - 1,
                &["Corrupt"],
            ),
            (
                "header key id",
                in_header("\"key_id\":"),
                &["WrongKey", "Corrupt"],
            ),
            ("header salt", in_header("\"salt\":"), &["Corrupt"]),
            ("header tag first", first - TAG_LEN, &["Corrupt"]),
            ("header tag last", first - 1, &["Corrupt"]),
            ("first chunk length high", frames[0].0, &["Corrupt"]),
            ("first chunk length low", frames[0].0 + 3, &["Corrupt"]),
            ("first chunk body start", body(0), &["Corrupt"]),
            ("first chunk body middle", body(0) + 2000, &["Corrupt"]),
            ("first chunk tag", end(0), &["Corrupt"]),
            ("middle chunk body", body(mid) + 100, &["Corrupt"]),
            ("middle chunk tag", end(mid) - 8, &["Corrupt"]),
            ("chunk before final, tag", end(last - 1), &["Corrupt"]),
            (
                "final chunk length",
                frames[last].0 + 3,
                &["Corrupt", "Truncated"],
            ),
            ("final chunk body", body(last), &["Corrupt"]),
            ("final chunk tag", end(last), &["Corrupt"]),
        ];
        for (what, pos, expected) in cases {
            for flip in [0x01u8, 0x80] {
                let mut damaged = archive.clone();
                damaged[pos] ^= flip;
                let err = read_all(&damaged, &key(1)).expect_err(what);
                assert!(
                    expected.contains(&kind(&err)),
                    "{what} (byte {pos}, flip {flip:#x}): got {err}"
                );
            }
        }
    }

    #[test]
    fn chunk_damage_names_the_chunk() {
        let archive = build(&noise(40_000, 5), SMALL_CHUNK);
        let (_, frames) = frames(&archive);
        let mut damaged = archive.clone();
        damaged[frames[4].0 + 50] ^= 0x10;
        let err = read_all(&damaged, &key(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive damaged: chunk 4 failed authentication"
        );
    }

    #[test]
    fn truncation_anywhere_is_refused() {
        let archive = build(&noise(40_000, 6), SMALL_CHUNK);
        let (first, frames) = frames(&archive);
        for len in 0..4 {
            assert!(matches!(
                read_all(&archive[..len], &key(1)),
                Err(ArchiveError::NotAnArchive)
            ));
        }
        let mut cuts: Vec<usize> = vec![5, 8, 12, first - 1, first];
        for &(start, len) in &frames {
            cuts.extend([
                start,
                start + 2,
                start + 4,
                start + len / 2,
                start + len - 1,
            ]);
        }
        for cut in cuts {
            let err = read_all(&archive[..cut], &key(1)).expect_err("truncated archive accepted");
            assert!(
                matches!(err, ArchiveError::Truncated | ArchiveError::Corrupt { .. }),
                "cut at {cut}: {err}"
            );
        }
        // At a chunk boundary nothing is damaged, so the answer must be the precise one.
        for &(start, _) in &frames {
            assert!(matches!(
                read_all(&archive[..start], &key(1)),
                Err(ArchiveError::Truncated)
            ));
        }
    }

    #[test]
    fn a_writer_dropped_before_finish_leaves_a_truncated_archive() {
        let mut out = Vec::new();
        {
            let mut w = ArchiveWriter::with_settings(
                &mut out,
                &key(1),
                meta(),
                WriterSettings {
                    chunk_size: SMALL_CHUNK,
                    ..WriterSettings::default()
                },
            )
            .unwrap();
            w.write_all(&noise(20_000, 2)).unwrap();
        }
        assert!(matches!(
            read_all(&out, &key(1)),
            Err(ArchiveError::Truncated)
        ));
    }

    #[test]
    fn anything_after_the_final_chunk_is_refused() {
        let archive = build(&noise(20_000, 7), SMALL_CHUNK);
        let (_, frames) = frames(&archive);
        let (start, len) = frames[1];
        let (last_start, last_len) = frames[frames.len() - 1];
        let appendices: Vec<Vec<u8>> = vec![
            vec![0],
            noise(1000, 8),
            archive[start..start + len].to_vec(),
            archive[last_start..last_start + last_len].to_vec(),
            (16u32)
                .to_be_bytes()
                .iter()
                .copied()
                .chain([0; 16])
                .collect(),
        ];
        for extra in appendices {
            let mut longer = archive.clone();
            longer.extend_from_slice(&extra);
            let err = read_all(&longer, &key(1)).unwrap_err();
            assert!(matches!(err, ArchiveError::Appended), "{err}");
            assert_eq!(
                err.to_string(),
                "archive damaged: data appended after the end of the archive"
            );
        }
    }

    #[test]
    fn reordered_dropped_or_duplicated_chunks_are_refused() {
        let archive = build(&noise(30_000, 4), SMALL_CHUNK);
        let (first, frames) = frames(&archive);
        let frame = |i: usize| &archive[frames[i].0..frames[i].0 + frames[i].1];
        let assemble = |order: &[usize]| {
            let mut out = archive[..first].to_vec();
            for &i in order {
                out.extend_from_slice(frame(i));
            }
            out
        };
        let n = frames.len();
        let mut swapped: Vec<usize> = (0..n).collect();
        swapped.swap(1, 2);
        let dropped: Vec<usize> = (0..n).filter(|&i| i != 2).collect();
        let mut duplicated: Vec<usize> = (0..n).collect();
        duplicated.insert(3, 2);
        let mut final_moved: Vec<usize> = (0..n - 1).collect();
        final_moved.insert(2, n - 1);
        for order in [swapped, dropped, duplicated, final_moved] {
            let err = read_all(&assemble(&order), &key(1)).unwrap_err();
            assert!(
                matches!(err, ArchiveError::Corrupt { .. } | ArchiveError::Appended),
                "{order:?}: {err}"
            );
        }
        // Dropping only the final chunk is indistinguishable from truncation, and says so.
        let no_final: Vec<usize> = (0..n - 1).collect();
        assert!(matches!(
            read_all(&assemble(&no_final), &key(1)),
            Err(ArchiveError::Truncated)
        ));
    }

    #[test]
    fn chunks_cannot_be_moved_between_archives_of_the_same_key() {
        let a = build(&noise(20_000, 1), SMALL_CHUNK);
        let b = build(&noise(20_000, 1), SMALL_CHUNK);
        let (_, fa) = frames(&a);
        let (_, fb) = frames(&b);
        let mut mixed = a.clone();
        mixed[fa[1].0..fa[1].0 + fa[1].1].copy_from_slice(&b[fb[1].0..fb[1].0 + fb[1].1]);
        assert!(matches!(
            read_all(&mixed, &key(1)),
            Err(ArchiveError::Corrupt { .. })
        ));
    }

    #[test]
    fn wrong_key_is_named_without_revealing_either_key() {
        let archive = build(b"secret data", SMALL_CHUNK);
        let err = read_all(&archive, &key(2)).unwrap_err();
        let ArchiveError::WrongKey {
            expected_id,
            archive_id,
        } = &err
        else {
            panic!("expected WrongKey, got {err}");
        };
        assert_eq!(expected_id, &key(2).id());
        assert_eq!(archive_id, &key(1).id());
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(&key(1).id()) && shown.contains(&key(2).id()));
        assert!(!shown.contains("0101010101") && !shown.contains("0202020202"));
        assert!(shown.starts_with("the recovery code does not open this archive"));
    }

    #[test]
    fn newer_format_and_newer_schema_are_reported_as_such() {
        let mut archive = build(b"x", SMALL_CHUNK);
        archive[4..6].copy_from_slice(&2u16.to_be_bytes());
        let err = read_all(&archive, &key(1)).unwrap_err();
        assert!(matches!(
            err,
            ArchiveError::FormatTooNew {
                found: 2,
                supported: 1
            }
        ));
        assert!(err.to_string().contains("newer holdfast"), "{err}");

        let (header, _) = read_all(&build(b"x", SMALL_CHUNK), &key(1)).unwrap();
        assert!(header.check_schema(7).is_ok());
        assert!(header.check_schema(8).is_ok());
        let err = header.check_schema(6).unwrap_err();
        assert!(matches!(
            err,
            ArchiveError::SchemaTooNew {
                found: 7,
                supported: 6
            }
        ));
    }

    #[test]
    fn a_valid_looking_header_edit_fails_authentication() {
        let archive = build(b"x", SMALL_CHUNK);
        let needle = b"\"schema_version\":7";
        let at = archive
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        let mut damaged = archive.clone();
        damaged[at + needle.len() - 1] = b'9';
        let err = read_all(&damaged, &key(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive damaged: header failed authentication"
        );
    }

    #[test]
    fn errors_survive_the_trip_through_io_error() {
        let archive = build(&noise(20_000, 3), SMALL_CHUNK);
        let (_, mut r) = ArchiveReader::open(&archive[..archive.len() - 1], &key(1)).unwrap();
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(matches!(
            ArchiveError::from_io(&err),
            Some(ArchiveError::Truncated)
        ));
        // A failed reader keeps failing rather than pretending the stream ended.
        let again = r.read(&mut [0u8; 64]).unwrap_err();
        assert!(ArchiveError::from_io(&again).is_some(), "{again}");
        assert!(ArchiveError::from_io(&io::Error::other("plain")).is_none());
    }

    #[test]
    fn underlying_read_failures_keep_their_kind() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::TimedOut, "disk went away"))
            }
        }
        let archive = build(b"abc", SMALL_CHUNK);
        let (first, _) = frames(&archive);
        let input = (&archive[..first]).chain(Failing);
        let (_, mut r) = ArchiveReader::open(input, &key(1)).unwrap();
        let err = r.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(
            ArchiveError::from_io(&err),
            Some(ArchiveError::Io(_))
        ));
    }

    #[test]
    fn writer_rejects_absurd_chunk_sizes() {
        for chunk_size in [0, 100, MAX_CHUNK_SIZE + 1] {
            let settings = WriterSettings {
                chunk_size,
                ..WriterSettings::default()
            };
            assert!(ArchiveWriter::with_settings(Vec::new(), &key(1), meta(), settings).is_err());
        }
    }
}
