//! Encrypted backups: the archive engine (format, entries, recovery code, retention) and the
//! operations on instances (run, verify, restore), the backup key, and the recorded status.

pub mod engine;
pub mod format;
pub mod job;
pub mod keyfile;
pub mod pack;
pub mod recovery;
pub mod retention;
pub mod status;

#[cfg(test)]
mod tests;
