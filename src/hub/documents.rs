//! Documents: each uploaded version is checked by its content (not its name), encrypted with the
//! instance's files key (AES-256-GCM, bound to its storage name) and written atomically to `files/`.

use super::records::HubError;
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::crypto::{self, Secret};
use crate::i18n::Sentence;
use crate::instances::Instance;
use crate::storage::documents::{self as store, NewVersion};

pub use crate::storage::documents::VersionRow;
use serde_json::json;

/// A file name that is safe in a Content-Disposition header and on any disk.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == ' ').to_string();
    if cleaned.is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

fn context(instance: &str, storage_name: &str) -> Vec<u8> {
    format!("holdfast:document:v1:{instance}:{storage_name}").into_bytes()
}

/// Why a file over the instance's limit of `max` bytes was refused (also said by the upload page,
/// which stops reading such a file before it reaches here).
pub fn too_large(max: u64) -> Sentence {
    let mib = max / 1024 / 1024;
    Sentence::new(
        "problem-file-too-large",
        format!("the file is larger than the limit of {mib} MiB"),
    )
    .arg("mib", mib)
}

/// A file that could not be sealed or written (the English detail names why).
fn not_stored(english: String) -> HubError {
    HubError::stored_data("conflict-file-not-stored", english)
}

/// Stores a new version of document `id`.
pub async fn upload(
    inst: &Instance,
    id: i64,
    filename: &str,
    bytes: Vec<u8>,
    max: u64,
    by: By,
) -> Result<i64, HubError> {
    if bytes.is_empty() {
        return Err(HubError::field(
            "file",
            Sentence::new("problem-file-empty", "the file is empty"),
        ));
    }
    if bytes.len() as u64 > max {
        return Err(HubError::field("file", too_large(max)));
    }
    let kind = super::filetype::detect(&bytes, filename).ok_or_else(|| {
        HubError::field(
            "file",
            Sentence::new(
                "problem-file-kind",
                "this kind of file is not accepted (PDF, PNG, JPEG, GIF, Word/Excel/PowerPoint and OpenDocument files without macros, ZIP and plain text are)",
            ),
        )
    })?;
    // The name's extension follows what the content is, never what the uploader called it.
    let filename = super::filetype::stored_name(filename, kind);
    let content_type = kind.mime;
    let sha = crypto::sha256_hex(&bytes);
    let size = bytes.len() as i64;
    let storage_name = format!(
        "{}.hfd",
        crypto::random_token(18)
            .map_err(|e| not_stored(e.to_string()))?
            .expose()
    );
    let sealed = crypto::seal(&inst.files_key, &context(&inst.name, &storage_name), &bytes)
        .map_err(|e| not_stored(e.to_string()))?;
    drop(bytes);
    let dir = inst.dir.join("files");
    crate::fsutil::ensure_private_dir(&dir)
        .map_err(|e| not_stored(format!("cannot store the file: {e}")))?;
    let path = dir.join(&storage_name);
    // The file is durable before the row that points at it commits; a crash in between leaves an
    // unreferenced encrypted file, never a row without its file.
    crate::fsutil::write_new_private(&path, &sealed)
        .map_err(|e| not_stored(format!("cannot store the file: {e}")))?;
    let ct = content_type.to_string();
    let result = inst
        .db
        .write(move |tx| -> Result<i64, HubError> {
            if crate::storage::records::get(tx, &crate::schema::DOCUMENTS, id)?.is_none() {
                return Err(HubError::NotFound);
            }
            let v = store::add_version(
                tx,
                id,
                &NewVersion {
                    filename: &filename,
                    content_type: &ct,
                    size,
                    sha256: &sha,
                    storage_name: &storage_name,
                    uploaded_by: &by.actor.name(),
                    now: &stamp(by.now),
                },
            )?;
            audit::write(
                tx,
                by.now,
                Entry::new(Event::RecordUpdated, by.actor.clone(), format!("documents/{id}"), by.source.clone())
                    .with(json!({ "uploaded_version": v, "filename": filename, "size": size, "sha256": sha })),
            )?;
            super::records::notify(tx, by.now, &crate::schema::DOCUMENTS, id, "uploaded")?;
            Ok(v)
        })
        .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    result
}

pub async fn versions(inst: &Instance, id: i64) -> Result<Vec<VersionRow>, HubError> {
    Ok(inst.db.read(move |c| store::versions(c, id)).await?)
}

/// The decrypted bytes of one version (0 = current) with its metadata.
pub async fn download(
    inst: &Instance,
    id: i64,
    version: i64,
) -> Result<(VersionRow, Secret<Vec<u8>>), HubError> {
    let row = inst
        .db
        .read(move |c| -> Result<Option<VersionRow>, HubError> {
            let v = if version == 0 {
                store::versions(c, id)?.into_iter().next()
            } else {
                store::version(c, id, version)?
            };
            Ok(v)
        })
        .await?
        .ok_or(HubError::NotFound)?;
    let sealed = std::fs::read(inst.dir.join("files").join(&row.storage_name)).map_err(|e| {
        HubError::stored_data(
            "conflict-file-missing",
            format!("the stored file is missing: {e}"),
        )
    })?;
    let plain = crypto::open(
        &inst.files_key,
        &context(&inst.name, &row.storage_name),
        &sealed,
    )
    .map_err(|_| {
        HubError::stored_data(
            "conflict-file-damaged",
            "the stored file is damaged (authentication failed)",
        )
    })?;
    if crypto::sha256_hex(plain.expose()) != row.sha256 {
        return Err(HubError::stored_data(
            "conflict-file-damaged",
            "the stored file does not match its checksum",
        ));
    }
    Ok((row, plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\"b;c.pdf"), "a_b_c.pdf");
        assert_eq!(clean_filename("..."), "document");
    }
}
