//! Owns TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s), enrolment URIs and QR codes, and recovery codes.

use std::fmt::Write as _;

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::auth::AuthError;
use crate::crypto::Secret;

/// Seconds per TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Digits in the codes users type.
pub const DIGITS: u32 = 6;
/// Bytes of a new TOTP secret: 160 bits, the HMAC-SHA1 output size RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// Steps accepted either side of the current one, to absorb clock drift on phones.
pub const WINDOW: i64 = 1;

/// HMAC-SHA1's block size; keys are padded or pre-hashed to this length.
const SHA1_BLOCK: usize = 64;

/// A fresh random TOTP secret.
pub fn new_secret() -> Result<Secret<Vec<u8>>, AuthError> {
    let mut bytes = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Random)?;
    Ok(Secret::new(bytes))
}

/// The secret as authenticator apps expect it: RFC 4648 base32, upper-case, no padding.
pub fn secret_base32(secret: &[u8]) -> Secret<String> {
    Secret::new(BASE32_NOPAD.encode(secret))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so names with spaces,
/// colons, `@`, `&` or non-ASCII letters cannot break the URI's structure.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The `otpauth://` URI that enrols the secret in an authenticator app (the Key Uri Format
/// understood by the common apps). The label is `issuer:account`; a colon inside either name
/// is percent-encoded, which the apps decode but some then display oddly, so avoid colons
/// in names.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> Secret<String> {
    let issuer = percent_encode(issuer);
    Secret::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = percent_encode(secret_b32),
    ))
}

/// HOTP (RFC 4226) value for a counter, reduced to `digits` decimal digits.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC pads a short key with zeros to the block size and hashes a long one first; doing
    // it here makes the key a fixed-size array, so building the MAC cannot fail.
    let mut key = [0u8; SHA1_BLOCK];
    if secret.len() > SHA1_BLOCK {
        let digest = Sha1::digest(secret);
        key[..digest.len()].copy_from_slice(&digest);
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let mut mac = <Hmac<Sha1> as KeyInit>::new(&key.into());
    key.zeroize();
    mac.update(&counter.to_be_bytes());
    let mut h = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks four bytes.
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    h.zeroize();
    match 10u32.checked_pow(digits) {
        Some(m) => bin % m,
        // More than nine digits: the 31-bit value is already smaller than the modulus.
        None => bin,
    }
}

/// The step number a time falls in; times before 1970 fall in step 0.
fn step_of(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECONDS).max(0)
}

/// The 6-digit code for a time.
pub fn code_at(secret: &[u8], unix_time: i64) -> u32 {
    code_at_digits(secret, unix_time, DIGITS)
}

/// The code for a time with another number of digits (RFC 6238's test vectors use 8).
pub fn code_at_digits(secret: &[u8], unix_time: i64, digits: u32) -> u32 {
    hotp(secret, step_of(unix_time).unsigned_abs(), digits)
}

/// Checks a typed code. Returns the step it matched, which the caller must store and pass
/// back as `last_used_step` next time: a code for that step or any earlier one is refused,
/// so a code cannot be replayed, not even within its own 30 seconds.
///
/// Only exactly six ASCII digits are considered (no spaces; strip them before calling if
/// the form allows them). Steps from one before to one after the current step are tried.
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_time: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let bytes = code.as_bytes();
    if bytes.len() != DIGITS as usize || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let now = step_of(unix_time);
    let mut matched = None;
    // Every candidate is computed and compared, so the time taken does not reveal which
    // step (if any) matched.
    for step in (now - WINDOW)..=(now + WINDOW) {
        let allowed = step >= 0 && last_used_step.is_none_or(|last| step > last);
        let expected = format!(
            "{:0width$}",
            hotp(secret, step.unsigned_abs(), DIGITS),
            width = DIGITS as usize
        );
        let equal: bool = expected.as_bytes().ct_eq(bytes).into();
        if equal && allowed {
            matched = Some(step);
        }
    }
    matched
}

/// Renders `data` (normally the otpauth URI) as a standalone SVG QR code: black on white,
/// with the quiet zone, at least 240 px square. The SVG holds only a rectangle and one
/// path, so it is safe to inline: no script, no external reference.
pub fn qr_svg(data: &str) -> Result<String, AuthError> {
    let code = qrcode::QrCode::new(data.as_bytes())
        .map_err(|e| AuthError::Malformed(format!("cannot make a QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .dark_color(qrcode::render::svg::Color("#000"))
        .light_color(qrcode::render::svg::Color("#fff"))
        .quiet_zone(true)
        .min_dimensions(240, 240)
        .build())
}

/// Recovery-code alphabet: digits and lower-case letters without i, l, o and u (Crockford's
/// base32 set), so nothing can be misread; `normalise_recovery_code` maps i/l to 1 and o to 0.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters per recovery code: 12 × 5 bits = 60 bits.
const RECOVERY_CHARS: usize = 12;

/// `n` fresh recovery codes shaped like `k7qd-3m9x-p2vf` (60 random bits each).
///
/// With fewer than 112 bits each, OWASP ASVS 5.0 requires the stored form to use a salted
/// password hash: store `normalise_recovery_code(code)` through `PasswordHasher::hash`
/// (Argon2id), not a plain digest, and mark a code used once it has matched.
pub fn new_recovery_codes(n: usize) -> Result<Vec<Secret<String>>, AuthError> {
    let mut codes = Vec::with_capacity(n);
    let mut raw = [0u8; RECOVERY_CHARS];
    for _ in 0..n {
        getrandom::fill(&mut raw).map_err(|_| AuthError::Random)?;
        let mut code = String::with_capacity(RECOVERY_CHARS + 2);
        for (i, b) in raw.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            // 32 divides 256, so masking keeps every symbol equally likely.
            code.push(char::from(RECOVERY_ALPHABET[usize::from(b & 31)]));
        }
        codes.push(Secret::new(code));
    }
    raw.zeroize();
    Ok(codes)
}

/// Canonical form of a typed recovery code: without spaces or dashes, lower-case, and with
/// the look-alikes `o`→`0` and `i`/`l`→`1` folded, ready to hash and compare.
pub fn normalise_recovery_code(input: &str) -> Secret<String> {
    Secret::new(
        input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .map(|c| match c {
                'o' => '0',
                'i' | 'l' => '1',
                other => other,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() {
        for (t, code) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(code_at_digits(RFC_SECRET, t, 8), code, "T={t}");
            assert_eq!(code_at(RFC_SECRET, t), code % 1_000_000, "T={t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *code);
        }
    }

    #[test]
    fn long_keys_match_hmac_definition() {
        let long = [7u8; 100];
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&long).unwrap();
        mac.update(&5u64.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let off = usize::from(h[19] & 0x0f);
        let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
        assert_eq!(hotp(&long, 5, 6), bin % 1_000_000);
    }

    fn code_str(secret: &[u8], t: i64) -> String {
        format!("{:06}", code_at(secret, t))
    }

    #[test]
    fn window_and_replay() {
        let s = new_secret().unwrap();
        let s = s.expose().as_slice();
        let t = 1_700_000_015; // step 56_666_667
        let step = t / 30;
        assert_eq!(verify(s, &code_str(s, t), t, None), Some(step));
        assert_eq!(verify(s, &code_str(s, t - 30), t, None), Some(step - 1));
        assert_eq!(verify(s, &code_str(s, t + 30), t, None), Some(step + 1));
        assert_eq!(verify(s, &code_str(s, t - 60), t, None), None);
        assert_eq!(verify(s, &code_str(s, t + 60), t, None), None);
        // Replay of the same code, and of an older one, is refused.
        assert_eq!(verify(s, &code_str(s, t), t, Some(step)), None);
        assert_eq!(verify(s, &code_str(s, t - 30), t, Some(step)), None);
        assert_eq!(
            verify(s, &code_str(s, t + 30), t, Some(step)),
            Some(step + 1)
        );
        assert_eq!(
            verify(s, &code_str(s, t - 30), t, Some(step - 2)),
            Some(step - 1)
        );
    }

    #[test]
    fn only_six_ascii_digits() {
        let t = 1_234_567_890;
        let good = code_str(RFC_SECRET, t);
        assert_eq!(good, "005924");
        assert!(verify(RFC_SECRET, &good, t, None).is_some());
        for bad in [
            "",
            "00592",
            "0059244",
            " 005924",
            "005924 ",
            "005 924",
            "00592a",
            "+05924",
            "٠٠٥٩٢٤",
            "５９２４００",
            "5924",
        ] {
            assert_eq!(verify(RFC_SECRET, bad, t, None), None, "{bad:?}");
        }
    }

    #[test]
    fn secret_and_uri() {
        let s = new_secret().unwrap();
        assert_eq!(s.expose().len(), 20);
        assert_ne!(s.expose(), new_secret().unwrap().expose());
        let b32 = secret_base32(s.expose());
        assert_eq!(b32.expose().len(), 32);
        assert!(!b32.expose().contains('='));
        assert_eq!(
            secret_base32(b"12345678901234567890").expose(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );

        let uri = otpauth_uri("Holdfast HQ", "a.smith@example.org", "GEZDGNBV");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Holdfast%20HQ:a.smith%40example.org?secret=GEZDGNBV\
             &issuer=Holdfast%20HQ&algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri("A&B:C", "x?y=z#é", "S");
        assert_eq!(
            odd.expose(),
            "otpauth://totp/A%26B%3AC:x%3Fy%3Dz%23%C3%A9?secret=S&issuer=A%26B%3AC\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{uri:?}"), "[redacted]");
    }

    #[test]
    fn qr_is_plain_svg() {
        let uri = otpauth_uri("Holdfast", "alice", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let svg = qr_svg(uri.expose()).unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        let lower = svg.to_lowercase();
        for banned in ["script", "href", "<image", "<foreignobject", "url(", "on"] {
            if banned == "on" {
                // No event-handler attributes such as onload=.
                assert!(!lower.contains(" on"), "event attribute in svg");
            } else {
                assert!(!lower.contains(banned), "{banned} in svg");
            }
        }
        assert!(svg.contains("fill=\"#000\"") && svg.contains("fill=\"#fff\""));
        let width: u32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap();
        assert!(width >= 240, "{width}");
        assert!(qr_svg(&"x".repeat(10_000)).is_err());
    }

    #[test]
    fn recovery_codes() {
        let codes = new_recovery_codes(10).unwrap();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            let c = c.expose();
            assert_eq!(c.len(), 14);
            let parts: Vec<&str> = c.split('-').collect();
            assert_eq!(parts.len(), 3);
            assert!(parts.iter().all(|p| p.len() == 4));
            assert!(
                c.bytes()
                    .all(|b| b == b'-' || RECOVERY_ALPHABET.contains(&b))
            );
            assert_eq!(normalise_recovery_code(c).expose(), &c.replace('-', ""));
        }
        let mut all: Vec<&str> = codes.iter().map(|c| c.expose().as_str()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10);
        assert!(new_recovery_codes(0).unwrap().is_empty());
        // 32 symbols, 12 of them: 60 bits.
        assert_eq!(RECOVERY_ALPHABET.len(), 32);
        assert!(!RECOVERY_ALPHABET.iter().any(|b| b"ilou".contains(b)));
    }

    #[test]
    fn normalise_folds_typing_variants() {
        assert_eq!(
            normalise_recovery_code(" K7QD - 3M9X-p2vf\t").expose(),
            "k7qd3m9xp2vf"
        );
        assert_eq!(normalise_recovery_code("oO-iIlL").expose(), "001111");
    }
}
