//! The container: writing and reading the header, manifest bytes and signature block with every
//! length checked before it is allocated, the bytes a signature covers, and the unchecked look
//! at a bundle that `inspect` gives.

use super::manifest::{Manifest, SignatureEntry, parse_manifest};
use super::{
    BundleError, FIXED_HEADER_LEN, FORMAT_VERSION, FORMAT_VERSION_WITHOUT_SBOM, KEY_ID_LEN, MAGIC,
    MAX_MANIFEST_LEN, MAX_SIGNATURE_BLOCK_LEN, MAX_SIGNATURES, SIGNING_CONTEXT, io_err, shown,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signature;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

/// The exact bytes every bundle signature covers.
pub fn signed_message(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + manifest_bytes.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(manifest_bytes);
    message
}

/// What a bundle says about itself, read without checking any signature: for display only.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub manifest: Manifest,
    pub signer_key_ids: Vec<String>,
    pub payload_offset: u64,
}

pub(super) struct Envelope {
    pub(super) manifest_bytes: Vec<u8>,
    pub(super) signatures: Vec<(String, Signature)>,
    pub(super) payload_offset: u64,
}

/// Writes everything before the payload. The payload files follow, in manifest order.
pub fn write_envelope(
    out: &mut impl Write,
    manifest_bytes: &[u8],
    signature_block: &[u8],
) -> Result<(), BundleError> {
    let manifest_len = section_len("manifest", manifest_bytes.len(), MAX_MANIFEST_LEN)?;
    let block_len = section_len(
        "signature block",
        signature_block.len(),
        MAX_SIGNATURE_BLOCK_LEN,
    )?;
    let write = |out: &mut dyn Write| -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_be_bytes())?;
        out.write_all(&manifest_len.to_be_bytes())?;
        out.write_all(manifest_bytes)?;
        out.write_all(&block_len.to_be_bytes())?;
        out.write_all(signature_block)
    };
    write(out).map_err(io_err("cannot write bundle header".into()))
}

fn section_len(what: &'static str, len: usize, limit: u32) -> Result<u32, BundleError> {
    match u32::try_from(len) {
        Ok(n) if n <= limit => Ok(n),
        _ => Err(BundleError::SectionTooLarge {
            what,
            len: len as u64,
            limit: u64::from(limit),
        }),
    }
}

pub(super) fn read_section(
    file: &mut impl Read,
    buf: &mut [u8],
    what: &str,
) -> Result<(), BundleError> {
    file.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            BundleError::Truncated(format!("file ends inside the {what}"))
        } else {
            BundleError::Io {
                what: format!("cannot read the bundle {what}"),
                source: e,
            }
        }
    })
}

fn read_u32(file: &mut impl Read, what: &str) -> Result<u32, BundleError> {
    let mut raw = [0u8; 4];
    read_section(file, &mut raw, what)?;
    Ok(u32::from_be_bytes(raw))
}

/// Reads the header, manifest bytes and signature block; lengths are checked against both the
/// limits and the file size before anything is allocated.
pub(super) fn read_envelope(file: &mut impl Read, file_len: u64) -> Result<Envelope, BundleError> {
    if file_len < FIXED_HEADER_LEN {
        let mut head = Vec::new();
        file.by_ref()
            .take(FIXED_HEADER_LEN)
            .read_to_end(&mut head)
            .map_err(io_err("cannot read the bundle header".into()))?;
        let n = head.len().min(MAGIC.len());
        if head[..n] != MAGIC[..n] {
            return Err(BundleError::BadMagic);
        }
        return Err(BundleError::Truncated("file ends inside the header".into()));
    }
    let mut magic = [0u8; 8];
    read_section(file, &mut magic, "header")?;
    if &magic != MAGIC {
        return Err(BundleError::BadMagic);
    }
    let mut version = [0u8; 2];
    read_section(file, &mut version, "header")?;
    let version = u16::from_be_bytes(version);
    if version == FORMAT_VERSION_WITHOUT_SBOM {
        return Err(BundleError::FormatWithoutSbom);
    }
    if version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedFormat(version));
    }

    let manifest_len = read_u32(file, "header")?;
    if manifest_len > MAX_MANIFEST_LEN {
        return Err(BundleError::SectionTooLarge {
            what: "manifest",
            len: u64::from(manifest_len),
            limit: u64::from(MAX_MANIFEST_LEN),
        });
    }
    let mut pos = FIXED_HEADER_LEN + u64::from(manifest_len);
    if pos + 4 > file_len {
        return Err(BundleError::Truncated(
            "file ends inside the manifest".into(),
        ));
    }
    let mut manifest_bytes = vec![0u8; manifest_len as usize];
    read_section(file, &mut manifest_bytes, "manifest")?;

    let block_len = read_u32(file, "signature block length")?;
    if block_len > MAX_SIGNATURE_BLOCK_LEN {
        return Err(BundleError::SectionTooLarge {
            what: "signature block",
            len: u64::from(block_len),
            limit: u64::from(MAX_SIGNATURE_BLOCK_LEN),
        });
    }
    pos += 4 + u64::from(block_len);
    if pos > file_len {
        return Err(BundleError::Truncated(
            "file ends inside the signature block".into(),
        ));
    }
    let mut block = vec![0u8; block_len as usize];
    read_section(file, &mut block, "signature block")?;

    Ok(Envelope {
        manifest_bytes,
        signatures: parse_signature_block(&block)?,
        payload_offset: pos,
    })
}

fn parse_signature_block(block: &[u8]) -> Result<Vec<(String, Signature)>, BundleError> {
    let entries: Vec<SignatureEntry> = serde_json::from_slice(block)
        .map_err(|e| BundleError::MalformedSignatureBlock(shown(&e.to_string())))?;
    if entries.len() > MAX_SIGNATURES {
        return Err(BundleError::TooManySignatures {
            count: entries.len(),
        });
    }
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let malformed = |reason| BundleError::MalformedSignature { index, reason };
        let id_ok = entry.key_id.len() == KEY_ID_LEN
            && entry
                .key_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !id_ok {
            return Err(malformed("key_id is not 16 lowercase hex digits"));
        }
        let raw = B64
            .decode(&entry.signature)
            .map_err(|_| malformed("signature is not valid base64"))?;
        let bytes: [u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| malformed("signature is not 64 bytes"))?;
        out.push((entry.key_id, Signature::from_bytes(&bytes)));
    }
    Ok(out)
}

/// Opens the bundle after checking its size from metadata, so an oversized file is refused
/// before a single byte of it is read; the size is checked again on the open handle in case the
/// path was swapped in between.
pub(super) fn open_bounded(path: &Path, max_size: u64) -> Result<(File, u64), BundleError> {
    let check = |meta: &fs::Metadata| {
        if !meta.is_file() {
            return Err(BundleError::NotRegularFile(path.to_path_buf()));
        }
        if meta.len() > max_size {
            return Err(BundleError::TooLarge {
                size: meta.len(),
                limit: max_size,
            });
        }
        Ok(meta.len())
    };
    let what = || format!("cannot read bundle {}", path.display());
    check(&fs::metadata(path).map_err(io_err(what()))?)?;
    let file = File::open(path).map_err(io_err(what()))?;
    let len = check(&file.metadata().map_err(io_err(what()))?)?;
    Ok((file, len))
}

/// Reads a bundle's manifest and signer key ids WITHOUT checking any signature or trust.
/// Nothing it returns may be relied on; use [`verify`](super::verify) for that.
pub fn inspect(path: &Path, max_size: u64) -> Result<Inspection, BundleError> {
    let (mut file, len) = open_bounded(path, max_size)?;
    inspect_from(&mut file, len)
}

fn inspect_from(file: &mut impl Read, len: u64) -> Result<Inspection, BundleError> {
    let envelope = read_envelope(file, len)?;
    let manifest = parse_manifest(&envelope.manifest_bytes)?;
    let payload_offset = envelope.payload_offset.saturating_add(manifest.sbom.size);
    // Found by the fuzz run: a manifest may claim an SBOM longer than the file.
    if payload_offset > len {
        return Err(BundleError::Truncated(format!(
            "the SBOM section claims {} bytes, more than the bundle holds",
            manifest.sbom.size
        )));
    }
    Ok(Inspection {
        manifest,
        signer_key_ids: envelope.signatures.into_iter().map(|(id, _)| id).collect(),
        payload_offset,
    })
}

/// What [`inspect`] reports, for a bundle already in memory (nothing is trusted).
pub fn inspect_bytes(bytes: &[u8]) -> Result<Inspection, BundleError> {
    inspect_from(&mut io::Cursor::new(bytes), bytes.len() as u64)
}
