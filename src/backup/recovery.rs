//! The printable recovery code for the backup key: what `holdfast backup export-key` shows once.
//!
//! Form: `HF1-` then Crockford base32 of key ‖ checksum, in groups of four (the last group has three):
//! 32 key bytes + 2 checksum bytes = 272 bits = 55 symbols, the last carrying three zero bits. The
//! checksum is the first two bytes of SHA-256(key), which catches a mistyped code with probability
//! 65535/65536 before it is tried against an archive.
//!
//! Reading is forgiving the way people copy codes from paper: any case, spaces and dashes anywhere or
//! nowhere, the `HF1-` prefix optional, and O read as 0, I and L read as 1.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{Key256, Secret};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PREFIX: &str = "HF1";
const KEY_LEN: usize = 32;
const CHECK_LEN: usize = 2;
const PAYLOAD_LEN: usize = KEY_LEN + CHECK_LEN;
/// Symbols needed for the payload: ceil(34 * 8 / 5).
pub const CODE_SYMBOLS: usize = (PAYLOAD_LEN * 8).div_ceil(5);
const GROUP: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error("no recovery code was given")]
    Empty,
    /// `position` counts characters as typed, from 1. The character itself is not part of any
    /// code, so showing it reveals nothing.
    #[error(
        "the recovery code contains {character:?} at position {position}, which never appears in a \
         recovery code (only digits and the letters A-Z without U are used)"
    )]
    InvalidCharacter { character: char, position: usize },
    #[error(
        "a recovery code has {expected} letters and digits after \"HF1-\", but this one has {found}; \
         check for a missing or repeated group"
    )]
    WrongLength { found: usize, expected: usize },
    #[error("this recovery code has a typo (checksum does not match)")]
    Checksum,
}

fn checksum(key: &[u8; KEY_LEN]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(key);
    [digest[0], digest[1]]
}

/// The recovery code for `key`, e.g. `HF1-7K3M-…-Q2F`.
pub fn encode(key: &Key256) -> Secret<String> {
    let mut payload = Zeroizing::new([0u8; PAYLOAD_LEN]);
    payload[..KEY_LEN].copy_from_slice(key.expose());
    payload[KEY_LEN..].copy_from_slice(&checksum(key.expose()));

    let mut symbols = Zeroizing::new(Vec::with_capacity(CODE_SYMBOLS));
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &byte in payload.iter() {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            symbols.push(ALPHABET[((acc >> bits) & 31) as usize]);
        }
    }
    if bits > 0 {
        symbols.push(ALPHABET[((acc << (5 - bits)) & 31) as usize]);
    }
    acc.zeroize();

    let mut code = String::with_capacity(PREFIX.len() + CODE_SYMBOLS + CODE_SYMBOLS / GROUP + 1);
    code.push_str(PREFIX);
    for group in symbols.chunks(GROUP) {
        code.push('-');
        code.extend(group.iter().map(|&b| char::from(b)));
    }
    Secret::new(code)
}

fn symbol_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
}

/// Parses a recovery code back into the backup key, or says precisely what is wrong with it.
pub fn decode(code: &str) -> Result<Key256, RecoveryError> {
    // (normalized symbol, position as typed) for every character that is not a separator.
    let mut symbols: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(CODE_SYMBOLS + 3));
    let mut positions = Vec::with_capacity(CODE_SYMBOLS + 3);
    for (index, c) in code.chars().enumerate() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let normalized = match c.to_ascii_uppercase() {
            'O' => b'0',
            'I' | 'L' => b'1',
            other if other.is_ascii() => other as u8,
            other => {
                return Err(RecoveryError::InvalidCharacter {
                    character: other,
                    position: index + 1,
                });
            }
        };
        symbols.push(normalized);
        positions.push(index + 1);
    }
    if symbols.is_empty() {
        return Err(RecoveryError::Empty);
    }
    for (&c, &position) in symbols.iter().zip(&positions) {
        if symbol_value(c).is_none() {
            return Err(RecoveryError::InvalidCharacter {
                character: char::from(c),
                position,
            });
        }
    }
    let prefixed = symbols.starts_with(PREFIX.as_bytes());
    if prefixed && symbols.len() == CODE_SYMBOLS {
        // A bare code can start with H, F, 1 by chance (1 in 32768), and a prefixed code missing
        // one group has the same length; the checksum tells which it is.
        return decode_symbols(&symbols).map_err(|_| RecoveryError::WrongLength {
            found: CODE_SYMBOLS - PREFIX.len(),
            expected: CODE_SYMBOLS,
        });
    }
    let body = if prefixed {
        &symbols[PREFIX.len()..]
    } else {
        &symbols[..]
    };
    if body.len() != CODE_SYMBOLS {
        return Err(RecoveryError::WrongLength {
            found: body.len(),
            expected: CODE_SYMBOLS,
        });
    }
    decode_symbols(body)
}

/// `body` holds exactly [`CODE_SYMBOLS`] valid symbols.
fn decode_symbols(body: &[u8]) -> Result<Key256, RecoveryError> {
    let mut payload = Zeroizing::new([0u8; PAYLOAD_LEN]);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut filled = 0;
    for &c in body {
        acc = (acc << 5) | symbol_value(c).unwrap_or(0);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            if filled < PAYLOAD_LEN {
                payload[filled] = (acc >> bits) as u8;
            }
            filled += 1;
        }
    }
    // The padding bits of the last symbol are zero in every real code; anything else is a typo there.
    let padding_clean = acc & ((1 << bits) - 1) == 0;
    acc.zeroize();

    let mut key_bytes = Zeroizing::new([0u8; KEY_LEN]);
    key_bytes.copy_from_slice(&payload[..KEY_LEN]);
    if filled != PAYLOAD_LEN || !padding_clean || checksum(&key_bytes) != payload[KEY_LEN..] {
        return Err(RecoveryError::Checksum);
    }
    Ok(Key256::from_bytes(*key_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_key() -> Key256 {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        Key256::from_bytes(bytes)
    }

    #[test]
    fn round_trips_and_has_the_documented_shape() {
        for key in [
            sample_key(),
            Key256::from_bytes([0; 32]),
            Key256::from_bytes([0xff; 32]),
        ] {
            let code = encode(&key);
            let text = code.expose();
            assert!(text.starts_with("HF1-"), "{text}");
            let groups: Vec<&str> = text.split('-').skip(1).collect();
            assert_eq!(groups.len(), 14);
            assert!(groups[..13].iter().all(|g| g.len() == 4));
            assert_eq!(groups[13].len(), 3);
            assert_eq!(decode(text).unwrap().expose(), key.expose());
        }
        for _ in 0..50 {
            let key = Key256::generate().unwrap();
            assert_eq!(decode(encode(&key).expose()).unwrap().id(), key.id());
        }
    }

    #[test]
    fn known_vector_is_stable() {
        // Pins the encoding, so a refactor cannot silently invalidate codes already on paper.
        let code = encode(&Key256::from_bytes([0; 32]));
        let digest = Sha256::digest([0u8; 32]);
        assert_eq!(&digest[..2], &[0x66, 0x68]);
        assert_eq!(
            code.expose(),
            "HF1-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0006-CT0"
        );
    }

    #[test]
    fn parsing_forgives_case_spacing_prefix_and_look_alikes() {
        let key = sample_key();
        let code = encode(&key).expose().clone();
        let bare: String = code[4..].chars().filter(|c| *c != '-').collect();
        let variants = [
            code.to_lowercase(),
            code.replace('-', " "),
            code.replace('-', ""),
            bare.clone(),
            format!("  {}\n", code.replace('-', "  ")),
            code.replace('0', "O").replace('1', "l"),
            code.replace('1', "I").to_lowercase().replace('0', "o"),
            format!("hf1 {bare}"),
        ];
        for variant in variants {
            assert_eq!(
                decode(&variant).unwrap().expose(),
                key.expose(),
                "{variant}"
            );
        }
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        let code = encode(&sample_key()).expose().clone();
        let symbols: Vec<char> = code.chars().collect();
        let mut checked = 0;
        for (i, &c) in symbols.iter().enumerate().skip(4) {
            if c == '-' {
                continue;
            }
            let replacement = if c == 'X' { 'Y' } else { 'X' };
            let mut typo = symbols.clone();
            typo[i] = replacement;
            let typo: String = typo.into_iter().collect();
            assert_eq!(decode(&typo).err(), Some(RecoveryError::Checksum), "{i}");
            checked += 1;
        }
        assert_eq!(checked, CODE_SYMBOLS);
        assert_eq!(
            RecoveryError::Checksum.to_string(),
            "this recovery code has a typo (checksum does not match)"
        );
    }

    #[test]
    fn wrong_length_and_bad_characters_are_precise() {
        let code = encode(&sample_key()).expose().clone();
        let missing_group = code[..code.len() - 4].to_owned();
        assert_eq!(
            decode(&missing_group).err(),
            Some(RecoveryError::WrongLength {
                found: 52,
                expected: 55
            })
        );
        let extra = format!("{code}-ABCD");
        assert_eq!(
            decode(&extra).err(),
            Some(RecoveryError::WrongLength {
                found: 59,
                expected: 55
            })
        );
        let err = decode(&missing_group).unwrap_err().to_string();
        assert!(err.contains("55") && err.contains("52"), "{err}");

        let mut with_u: Vec<char> = code.chars().collect();
        with_u[6] = 'U';
        let with_u: String = with_u.into_iter().collect();
        assert_eq!(
            decode(&with_u).err(),
            Some(RecoveryError::InvalidCharacter {
                character: 'U',
                position: 7
            })
        );
        assert!(matches!(
            decode("HF1-ÄBCD"),
            Err(RecoveryError::InvalidCharacter {
                character: 'Ä', ..
            })
        ));
        assert_eq!(decode("  - - ").err(), Some(RecoveryError::Empty));
    }

    #[test]
    fn a_bare_code_that_happens_to_start_with_hf1_still_works() {
        // H = 17, F = 15, 1 = 1: the first 15 bits 10001 01111 00001.
        let mut bytes = [0x5a; 32];
        bytes[0] = 0b1000_1011;
        bytes[1] = 0b1100_0010;
        let key = Key256::from_bytes(bytes);
        assert!(encode(&key).expose().starts_with("HF1-HF1"));
        let code = encode(&key).expose().clone();
        assert_eq!(decode(&code).unwrap().expose(), key.expose());
        assert_eq!(decode(&code[4..]).unwrap().expose(), key.expose());
    }

    #[test]
    fn nothing_secret_in_errors_or_debug() {
        let code = encode(&sample_key());
        assert_eq!(format!("{code:?} {code}"), "[redacted] [redacted]");
        let mut typo = code.expose().clone();
        typo.replace_range(5..6, if typo[5..6] == *"X" { "Y" } else { "X" });
        let err = decode(&typo).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&code.expose()[5..12]), "{shown}");
    }
}
