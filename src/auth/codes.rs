//! Owns one-time sign-in codes sent by e-mail: generation and the hashed form that is stored.
//!
//! A 6-digit code has only about 20 bits, so the caller must limit attempts per sign-in
//! attempt and expire codes quickly (OWASP ASVS 5.0 allows out-of-band codes at most ten
//! minutes). The stored SHA-256 form keeps a database reader from using a live code
//! directly; it is not meant to resist offline guessing, which the short lifetime covers.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::AuthError;
use crate::crypto::Secret;

/// Fewest digits accepted: 10^6 codes, the ASVS minimum of 20 bits for such codes.
pub const MIN_DIGITS: usize = 6;
/// Most digits accepted; more would only make the code harder to type.
pub const MAX_DIGITS: usize = 20;

/// A random code of `digits` decimal digits, each of the 10^digits codes equally likely.
/// Leading zeros are kept: "004711" is a valid six-digit code.
pub fn new_email_code(digits: usize) -> Result<Secret<String>, AuthError> {
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        return Err(AuthError::Malformed(format!(
            "an e-mailed code must have {MIN_DIGITS} to {MAX_DIGITS} digits"
        )));
    }
    let mut code = String::with_capacity(digits);
    let mut buf = [0u8; 32];
    while code.len() < digits {
        getrandom::fill(&mut buf).map_err(|_| AuthError::Random)?;
        for &b in &buf {
            // 250 is the largest multiple of 10 below 256; bytes above it would favour
            // the digits 0–5, so they are thrown away.
            if b < 250 && code.len() < digits {
                code.push(char::from(b'0' + b % 10));
            }
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(Secret::new(code))
}

/// The stored form of a code: lower-case hex SHA-256 of `context ‖ 0x00 ‖ code`. `context`
/// binds the code to one sign-in attempt (pass its id), so a code issued for one attempt
/// is worthless for another. Use a context without NUL bytes (or of fixed length) so the
/// separator is unambiguous.
pub fn hash_code(context: &[u8], code: &str) -> String {
    let mut h = Sha256::new();
    h.update(context);
    h.update([0u8]);
    h.update(code.as_bytes());
    hex::encode(h.finalize())
}

/// Whether a typed code matches a stored `hash_code` value, compared in constant time.
pub fn code_matches(context: &[u8], typed: &str, stored_hex: &str) -> bool {
    hash_code(context, typed)
        .as_bytes()
        .ct_eq(stored_hex.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_digits() {
        for digits in [6, 8, 20] {
            for _ in 0..50 {
                let c = new_email_code(digits).unwrap();
                assert_eq!(c.expose().len(), digits);
                assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn leading_zeros_kept() {
        // One code in ten starts with 0; 2,000 draws all missing one is a 10^-91 event.
        let found = (0..2_000).any(|_| new_email_code(6).unwrap().expose().starts_with('0'));
        assert!(found);
    }

    #[test]
    fn bad_digit_counts_refused() {
        for digits in [0, 1, 5, 21] {
            assert!(matches!(
                new_email_code(digits),
                Err(AuthError::Malformed(_))
            ));
        }
    }

    #[test]
    fn hash_binds_context() {
        let a = hash_code(b"attempt-1", "123456");
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(a, hash_code(b"attempt-1", "123456"));
        assert_ne!(a, hash_code(b"attempt-2", "123456"));
        assert_ne!(a, hash_code(b"attempt-1", "123457"));
        // The separator keeps context and code apart.
        assert_ne!(hash_code(b"ab", "c"), hash_code(b"a", "bc"));
        // SHA-256("x\0" "123456"), computed independently.
        assert_eq!(
            hash_code(b"x", "123456"),
            hex::encode(Sha256::digest(b"x\x00123456"))
        );
        assert!(code_matches(b"attempt-1", "123456", &a));
        assert!(!code_matches(b"attempt-1", "654321", &a));
        assert!(!code_matches(b"attempt-2", "123456", &a));
        assert!(!code_matches(b"attempt-1", "123456", ""));
    }
}
