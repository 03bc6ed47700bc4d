//! Owns `AuthError`, the error type shared by the authentication modules; no message carries a secret.

/// Failures of the authentication modules. Messages are safe to log and to show.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The hashing pool's queue is full; the web layer answers 503.
    #[error("too many sign-ins are being processed; try again in a moment")]
    Busy,
    /// The operating system's random number generator failed.
    #[error("the system random number generator is unavailable")]
    Random,
    /// Hashing failed or the hashing pool is not running.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// An input (stored hash, parameter, code) is not in the expected form.
    #[error("malformed input: {0}")]
    Malformed(String),
}
