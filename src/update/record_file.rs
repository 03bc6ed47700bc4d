//! The small JSON records the update machinery keeps on disk (journal, run record, update state):
//! read when present, written durably and privately, and the one error type for both.

use crate::fsutil;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Why a record file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordFileError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
}

/// The record at `path`, or `None` when there is no file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RecordFileError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| RecordFileError::Parse {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RecordFileError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the record durably (temp file, fsync, rename, fsync of the directory), mode 0600.
pub fn write<T: Serialize>(path: &Path, record: &T) -> Result<(), RecordFileError> {
    let text = serde_json::to_vec_pretty(record).map_err(RecordFileError::Encode)?;
    fsutil::write_atomic(path, &text, 0o600).map_err(|source| RecordFileError::Write {
        path: path.to_path_buf(),
        source,
    })
}
