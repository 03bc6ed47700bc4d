//! Owns the instance's password and session policy, its validation, ASVS advice and new-password checks.
//!
//! Passwords are compared exactly as typed: no trimming, no case folding for storage and no
//! Unicode normalisation (NFKC would need another crate). Lengths are counted in Unicode
//! scalar values, so "é" typed as one precomposed character counts 1 and as "e" plus a
//! combining accent counts 2; clients that normalise differently may see different counts.

use std::collections::HashSet;
use std::fmt;

/// The longest password accepted, in Unicode scalar values. ASVS asks that at least 64 be
/// permitted; the ceiling only bounds the work a request can cause.
pub const MAX_PASSWORD_CHARS: u32 = 256;

/// Which second factor users must present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecondFactorMode {
    /// Password only.
    Off,
    /// Users may enrol a second factor.
    #[default]
    Optional,
    /// Every user needs a second factor: an e-mailed code or TOTP.
    Required,
    /// Every user needs TOTP; e-mailed codes are not accepted.
    RequiredTotp,
}

impl SecondFactorMode {
    /// Every mode, in the order they are listed to admins.
    pub const ALL: [SecondFactorMode; 4] = [
        SecondFactorMode::Off,
        SecondFactorMode::Optional,
        SecondFactorMode::Required,
        SecondFactorMode::RequiredTotp,
    ];

    /// The stored and displayed form.
    pub const fn as_str(self) -> &'static str {
        match self {
            SecondFactorMode::Off => "off",
            SecondFactorMode::Optional => "optional",
            SecondFactorMode::Required => "required",
            SecondFactorMode::RequiredTotp => "required_totp",
        }
    }

    /// Parses the stored form; exact, lower-case match only.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for SecondFactorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a policy value was refused. Values are echoed back escaped and shortened, since they
/// may come from a form or a damaged database row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The key is not a policy setting.
    UnknownKey { key: String },
    /// The value is not a plain whole number.
    NotANumber {
        key: &'static str,
        value: String,
        min: u32,
        max: u32,
    },
    /// The number is outside the setting's range.
    OutOfRange {
        key: &'static str,
        value: String,
        min: u32,
        max: u32,
    },
    /// The value is not one of the setting's choices.
    NotAChoice {
        key: &'static str,
        value: String,
        choices: &'static [&'static str],
    },
    /// Stored settings name the same key twice.
    Duplicate { key: &'static str },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::UnknownKey { key } => write!(
                f,
                "unknown policy key `{}`; known keys: {}",
                shown(key),
                KEYS.join(", ")
            ),
            PolicyError::NotANumber {
                key,
                value,
                min,
                max,
            } => write!(
                f,
                "{key}: `{}` is not a whole number; the allowed range is {min}–{max}",
                shown(value)
            ),
            PolicyError::OutOfRange {
                key,
                value,
                min,
                max,
            } => write!(
                f,
                "{key}: {} is outside the allowed range {min}–{max}",
                shown(value)
            ),
            PolicyError::NotAChoice {
                key,
                value,
                choices,
            } => write!(
                f,
                "{key}: `{}` is not one of {}",
                shown(value),
                choices.join(", ")
            ),
            PolicyError::Duplicate { key } => {
                write!(f, "{key}: the setting is stored more than once")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

impl PolicyError {
    /// Every catalogue key a policy error can have, for the catalogue test.
    pub const KEYS: &'static [&'static str] = &[
        "policy-error-unknown",
        "policy-error-not-number",
        "policy-error-range",
        "policy-error-choice",
        "policy-error-duplicate",
    ];

    /// The refusal for pages, with the setting named by its label in the reader's language.
    pub fn message(&self) -> crate::i18n::Message {
        use crate::i18n::{Arg, Message};
        let setting = |k: &str| Arg::Key(format!("policy-{k}"));
        match self {
            PolicyError::UnknownKey { key } => {
                Message::new("policy-error-unknown").arg("key", shown(key))
            }
            PolicyError::NotANumber {
                key,
                value,
                min,
                max,
            }
            | PolicyError::OutOfRange {
                key,
                value,
                min,
                max,
            } => Message::new(if matches!(self, PolicyError::NotANumber { .. }) {
                "policy-error-not-number"
            } else {
                "policy-error-range"
            })
            .arg("setting", setting(key))
            .arg("value", shown(value))
            .arg("min", *min)
            .arg("max", *max),
            PolicyError::NotAChoice { key, value, .. } => Message::new("policy-error-choice")
                .arg("setting", setting(key))
                .arg("value", shown(value)),
            PolicyError::Duplicate { key } => {
                Message::new("policy-error-duplicate").arg("setting", setting(key))
            }
        }
    }
}

/// Escapes control characters and shortens, so an echoed value cannot forge log lines.
fn shown(s: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Setting names, in storage and display order.
pub const KEYS: &[&str] = &[
    "password_min_length",
    "password_require_classes",
    "password_history",
    "password_max_age_days",
    "lockout_threshold",
    "second_factor",
    "session_idle_minutes",
    "session_absolute_hours",
    "temporary_password_hours",
    "token_max_days",
    "inactive_disable_days",
];

const SECOND_FACTOR_CHOICES: &[&str] = &["off", "optional", "required", "required_totp"];

/// Numeric settings with their allowed ranges, so `set` and the error messages share one table.
const RANGES: &[(&str, u32, u32)] = &[
    ("password_min_length", 8, 128),
    ("password_require_classes", 0, 4),
    ("password_history", 0, 24),
    ("password_max_age_days", 0, 3650),
    ("lockout_threshold", 1, 100),
    ("session_idle_minutes", 5, 1440),
    ("session_absolute_hours", 1, 168),
    ("temporary_password_hours", 1, 720),
    ("token_max_days", 1, 3650),
    ("inactive_disable_days", 0, 3650),
];

/// The instance policy. Fields are private so every value in a `Policy` is within its range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    password_min_length: u32,
    password_require_classes: u32,
    password_history: u32,
    password_max_age_days: u32,
    lockout_threshold: u32,
    second_factor: SecondFactorMode,
    session_idle_minutes: u32,
    session_absolute_hours: u32,
    temporary_password_hours: u32,
    token_max_days: u32,
    inactive_disable_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            password_min_length: 12,
            password_require_classes: 0,
            password_history: 5,
            password_max_age_days: 0,
            lockout_threshold: 5,
            second_factor: SecondFactorMode::Optional,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            temporary_password_hours: 72,
            token_max_days: 365,
            inactive_disable_days: 0,
        }
    }
}

impl Policy {
    /// Minimum password length in characters (8–128).
    pub const fn password_min_length(&self) -> u32 {
        self.password_min_length
    }
    /// How many of the four character classes a new password needs (0–4).
    pub const fn password_require_classes(&self) -> u32 {
        self.password_require_classes
    }
    /// How many previous passwords may not be reused (0–24).
    pub const fn password_history(&self) -> u32 {
        self.password_history
    }
    /// Days after which a password must be changed; 0 means never (0–3650).
    pub const fn password_max_age_days(&self) -> u32 {
        self.password_max_age_days
    }
    /// Failed sign-ins before an account is locked (1–100).
    pub const fn lockout_threshold(&self) -> u32 {
        self.lockout_threshold
    }
    /// Which second factor is demanded.
    pub const fn second_factor(&self) -> SecondFactorMode {
        self.second_factor
    }
    /// Minutes of inactivity that end a session (5–1440).
    pub const fn session_idle_minutes(&self) -> u32 {
        self.session_idle_minutes
    }
    /// Hours after sign-in that end a session regardless of activity (1–168).
    pub const fn session_absolute_hours(&self) -> u32 {
        self.session_absolute_hours
    }

    /// Hours a temporary password (console, reset, new user) stays usable (1–720).
    pub const fn temporary_password_hours(&self) -> u32 {
        self.temporary_password_hours
    }
    /// The longest lifetime an API token may be given, in days (1–3650).
    pub const fn token_max_days(&self) -> u32 {
        self.token_max_days
    }
    /// Days without a sign-in after which an account is disabled; 0 means never (0–3650).
    pub const fn inactive_disable_days(&self) -> u32 {
        self.inactive_disable_days
    }

    /// The value of a setting in its stored form, or `None` for an unknown key.
    pub fn get(&self, key: &str) -> Option<String> {
        let v = match key {
            "password_min_length" => self.password_min_length,
            "password_require_classes" => self.password_require_classes,
            "password_history" => self.password_history,
            "password_max_age_days" => self.password_max_age_days,
            "lockout_threshold" => self.lockout_threshold,
            "second_factor" => return Some(self.second_factor.as_str().to_owned()),
            "session_idle_minutes" => self.session_idle_minutes,
            "session_absolute_hours" => self.session_absolute_hours,
            "temporary_password_hours" => self.temporary_password_hours,
            "token_max_days" => self.token_max_days,
            "inactive_disable_days" => self.inactive_disable_days,
            _ => return None,
        };
        Some(v.to_string())
    }

    /// Changes one setting; the policy is unchanged when an error is returned.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), PolicyError> {
        let Some(known) = KEYS.iter().copied().find(|k| *k == key) else {
            return Err(PolicyError::UnknownKey {
                key: key.to_owned(),
            });
        };
        if known == "second_factor" {
            self.second_factor =
                SecondFactorMode::parse(value).ok_or_else(|| PolicyError::NotAChoice {
                    key: known,
                    value: value.to_owned(),
                    choices: SECOND_FACTOR_CHOICES,
                })?;
            return Ok(());
        }
        let n = parse_in_range(known, value)?;
        let slot = match known {
            "password_min_length" => &mut self.password_min_length,
            "password_require_classes" => &mut self.password_require_classes,
            "password_history" => &mut self.password_history,
            "password_max_age_days" => &mut self.password_max_age_days,
            "lockout_threshold" => &mut self.lockout_threshold,
            "session_idle_minutes" => &mut self.session_idle_minutes,
            "session_absolute_hours" => &mut self.session_absolute_hours,
            "temporary_password_hours" => &mut self.temporary_password_hours,
            "token_max_days" => &mut self.token_max_days,
            "inactive_disable_days" => &mut self.inactive_disable_days,
            // KEYS and this match are kept in step by the `keys_roundtrip` test.
            _ => {
                return Err(PolicyError::UnknownKey {
                    key: key.to_owned(),
                });
            }
        };
        *slot = n;
        Ok(())
    }

    /// Every setting in `KEYS` order, in stored form.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        KEYS.iter()
            .filter_map(|k| self.get(k).map(|v| (*k, v)))
            .collect()
    }

    /// Rebuilds a policy from stored pairs. Missing keys keep their defaults; an unknown or
    /// repeated key is an error rather than silently ignored, since it means the store was
    /// written by something else or damaged.
    pub fn from_pairs<I>(pairs: I) -> Result<Policy, PolicyError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut policy = Policy::default();
        let mut seen: HashSet<&'static str> = HashSet::new();
        for (key, value) in pairs {
            let Some(known) = KEYS.iter().copied().find(|k| *k == key) else {
                return Err(PolicyError::UnknownKey { key });
            };
            if !seen.insert(known) {
                return Err(PolicyError::Duplicate { key: known });
            }
            policy.set(known, &value)?;
        }
        Ok(policy)
    }

    /// One plain sentence per setting that OWASP ASVS 5.0 advises against. Empty when the
    /// policy raises no concern.
    pub fn asvs_warnings(&self) -> Vec<&'static str> {
        self.departures().into_iter().map(Departure::text).collect()
    }

    /// How the policy departs from ASVS level 2, one entry per departure.
    pub fn departures(&self) -> Vec<Departure> {
        let mut w = Vec::new();
        if self.password_min_length < 15 {
            w.push(Departure::ShortPasswords);
        }
        if self.password_require_classes > 0 {
            w.push(Departure::CompositionRules);
        }
        if self.password_max_age_days > 0 {
            w.push(Departure::PeriodicChanges);
        }
        match self.second_factor {
            SecondFactorMode::Off => w.push(Departure::FactorOff),
            SecondFactorMode::Optional => w.push(Departure::FactorOptional),
            SecondFactorMode::Required => w.push(Departure::EmailFactor),
            SecondFactorMode::RequiredTotp => {}
        }
        w
    }
}

/// One way a policy falls short of OWASP ASVS 5.0 level 2: the console prints `text`, pages show
/// the catalogue's `key` in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    ShortPasswords,
    CompositionRules,
    PeriodicChanges,
    FactorOff,
    FactorOptional,
    EmailFactor,
}

impl Departure {
    pub const ALL: [Departure; 6] = [
        Departure::ShortPasswords,
        Departure::CompositionRules,
        Departure::PeriodicChanges,
        Departure::FactorOff,
        Departure::FactorOptional,
        Departure::EmailFactor,
    ];

    pub fn text(self) -> &'static str {
        match self {
            Departure::ShortPasswords => {
                "OWASP ASVS 5.0 (V6.2) requires passwords of at least 8 characters and strongly \
                 recommends a minimum of 15."
            }
            Departure::CompositionRules => {
                "Composition rules (required character classes) are discouraged by OWASP ASVS \
                 5.0 (V6.2): they push users toward predictable passwords."
            }
            Departure::PeriodicChanges => {
                "Forced periodic password changes are advised against by OWASP ASVS 5.0 (V6.2, \
                 level 2): a password should stay valid until it is known to be compromised or \
                 the user changes it."
            }
            Departure::FactorOff => {
                "The second factor is off: OWASP ASVS 5.0 (V6.3) requires multi-factor \
                 authentication from level 2 upward, so this setting meets level 1 only."
            }
            Departure::FactorOptional => {
                "The second factor is optional: OWASP ASVS 5.0 (V6.3) requires multi-factor \
                 authentication for every user from level 2 upward; users who do not enrol \
                 are at level 1 only."
            }
            Departure::EmailFactor => {
                "With `required`, an e-mailed code counts as a second factor, but OWASP ASVS \
                 5.0 does not accept e-mail as an authentication mechanism (V6.6 calls it \
                 unsafe; level 3 forbids it); `required_totp` avoids this."
            }
        }
    }

    /// The catalogue key of the same warning.
    pub fn key(self) -> &'static str {
        match self {
            Departure::ShortPasswords => "asvs-short-passwords",
            Departure::CompositionRules => "asvs-composition",
            Departure::PeriodicChanges => "asvs-periodic",
            Departure::FactorOff => "asvs-factor-off",
            Departure::FactorOptional => "asvs-factor-optional",
            Departure::EmailFactor => "asvs-email-factor",
        }
    }
}

fn parse_in_range(key: &'static str, value: &str) -> Result<u32, PolicyError> {
    let Some(&(_, min, max)) = RANGES.iter().find(|(k, _, _)| *k == key) else {
        return Err(PolicyError::UnknownKey {
            key: key.to_owned(),
        });
    };
    // Only plain digits: no sign, no spaces, no "0x"; what is stored is what was meant.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PolicyError::NotANumber {
            key,
            value: value.to_owned(),
            min,
            max,
        });
    }
    let out_of_range = || PolicyError::OutOfRange {
        key,
        value: value.to_owned(),
        min,
        max,
    };
    let n: u32 = value.parse().map_err(|_| out_of_range())?;
    if n < min || n > max {
        return Err(out_of_range());
    }
    Ok(n)
}

/// The embedded list of the 10,000 most common passwords, lower-case.
///
/// Build it once at start-up and keep it in application state; building it costs a few
/// hundred microseconds and about half a megabyte.
#[derive(Debug, Clone)]
pub struct CommonPasswords {
    set: HashSet<&'static str>,
}

impl CommonPasswords {
    pub fn load() -> Self {
        let set = include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        Self { set }
    }

    /// Case-insensitive membership test.
    pub fn contains(&self, password: &str) -> bool {
        self.set.contains(password.to_lowercase().as_str())
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// One reason a new password is refused; `Display` is the English sentence (API, console), and
/// pages word it in the reader's language from the catalogue (`key`, `args`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort {
        min: u32,
    },
    TooLong {
        max: u32,
    },
    MissingClasses {
        required: u32,
        found: u32,
    },
    Common,
    ContainsUserName,
    ContainsEmail,
    /// One of the last `count` passwords of the account (`password_history`).
    Reused {
        count: u32,
    },
}

impl PasswordProblem {
    /// Every catalogue key a refusal can have, for the catalogue test.
    pub const KEYS: &'static [&'static str] = &[
        "password-too-short",
        "password-too-long",
        "password-missing-classes",
        "password-common",
        "password-contains-username",
        "password-contains-email",
        "password-reused",
    ];

    pub fn key(&self) -> &'static str {
        match self {
            PasswordProblem::TooShort { .. } => "password-too-short",
            PasswordProblem::TooLong { .. } => "password-too-long",
            PasswordProblem::MissingClasses { .. } => "password-missing-classes",
            PasswordProblem::Common => "password-common",
            PasswordProblem::ContainsUserName => "password-contains-username",
            PasswordProblem::ContainsEmail => "password-contains-email",
            PasswordProblem::Reused { .. } => "password-reused",
        }
    }

    /// The message's arguments (numbers, which also pick plural forms).
    pub fn args(&self) -> Vec<(&'static str, i64)> {
        match self {
            PasswordProblem::TooShort { min } => vec![("min", i64::from(*min))],
            PasswordProblem::TooLong { max } => vec![("max", i64::from(*max))],
            PasswordProblem::MissingClasses { required, found } => vec![
                ("required", i64::from(*required)),
                ("found", i64::from(*found)),
            ],
            PasswordProblem::Reused { count } => vec![("count", i64::from(*count))],
            PasswordProblem::Common
            | PasswordProblem::ContainsUserName
            | PasswordProblem::ContainsEmail => vec![],
        }
    }
}

impl fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordProblem::TooShort { min } => {
                write!(f, "Use at least {min} characters.")
            }
            PasswordProblem::TooLong { max } => {
                write!(f, "Use at most {max} characters.")
            }
            PasswordProblem::MissingClasses { required, found } => write!(
                f,
                "Use at least {required} of these kinds of character: lower-case letters, \
                 upper-case letters, digits, and symbols or other characters (this password \
                 has {found})."
            ),
            PasswordProblem::Common => f.write_str(
                "This is one of the most commonly used passwords and is easy to guess; choose \
                 another.",
            ),
            PasswordProblem::ContainsUserName => {
                f.write_str("The password must not contain your user name.")
            }
            PasswordProblem::ContainsEmail => {
                f.write_str("The password must not contain the name part of your e-mail address.")
            }
            PasswordProblem::Reused { count } => write!(
                f,
                "It was used recently; the policy forbids reusing the last {count} passwords."
            ),
        }
    }
}

/// Counts the character classes present: lower-case, upper-case, digit, anything else.
fn classes(password: &str) -> u32 {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for c in password.chars() {
        if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper = true;
        } else if c.is_numeric() {
            digit = true;
        } else {
            other = true;
        }
    }
    u32::from(lower) + u32::from(upper) + u32::from(digit) + u32::from(other)
}

/// Names shorter than this are not looked for inside passwords: "al" would refuse half of
/// all passphrases and protects nothing.
const MIN_NAME_CHARS: usize = 3;

fn contains_name(password_lower: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    name.chars().count() >= MIN_NAME_CHARS && password_lower.contains(&name)
}

/// Checks a password being set against the policy. Returns every problem found, so the user
/// can fix them in one go. Reuse of earlier passwords (`password_history`) needs the stored
/// hashes and is checked by the caller.
pub fn check_new_password(
    policy: &Policy,
    common: &CommonPasswords,
    password: &str,
    username: &str,
    email: &str,
) -> Result<(), Vec<PasswordProblem>> {
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len < policy.password_min_length as usize {
        problems.push(PasswordProblem::TooShort {
            min: policy.password_min_length,
        });
    }
    if len > MAX_PASSWORD_CHARS as usize {
        problems.push(PasswordProblem::TooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    let found = classes(password);
    if found < policy.password_require_classes {
        problems.push(PasswordProblem::MissingClasses {
            required: policy.password_require_classes,
            found,
        });
    }
    if common.contains(password) {
        problems.push(PasswordProblem::Common);
    }
    let lower = password.to_lowercase();
    if contains_name(&lower, username) {
        problems.push(PasswordProblem::ContainsUserName);
    }
    let local_part = email.rsplit_once('@').map_or(email, |(local, _)| local);
    if contains_name(&lower, local_part) {
        problems.push(PasswordProblem::ContainsEmail);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &Policy, pw: &str) -> Result<(), Vec<PasswordProblem>> {
        check_new_password(
            policy,
            &CommonPasswords::load(),
            pw,
            "alice",
            "a.smith@example.org",
        )
    }

    #[test]
    fn defaults() {
        let p = Policy::default();
        assert_eq!(p.password_min_length(), 12);
        assert_eq!(p.password_require_classes(), 0);
        assert_eq!(p.password_history(), 5);
        assert_eq!(p.password_max_age_days(), 0);
        assert_eq!(p.lockout_threshold(), 5);
        assert_eq!(p.second_factor(), SecondFactorMode::Optional);
        assert_eq!(p.session_idle_minutes(), 30);
        assert_eq!(p.session_absolute_hours(), 12);
    }

    #[test]
    fn keys_roundtrip() {
        let p = Policy::default();
        let pairs = p.to_pairs();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, KEYS);
        // Setting every key to its own value must succeed, so KEYS, get and set agree.
        let mut q = Policy::default();
        for (k, v) in &pairs {
            q.set(k, v).unwrap();
        }
        assert_eq!(p, q);
        let stored = pairs.into_iter().map(|(k, v)| (k.to_owned(), v));
        assert_eq!(Policy::from_pairs(stored).unwrap(), p);
    }

    #[test]
    fn from_pairs_defaults_unknown_and_duplicates() {
        let p = Policy::from_pairs(vec![("password_min_length".into(), "20".into())]).unwrap();
        assert_eq!(p.password_min_length(), 20);
        assert_eq!(p.lockout_threshold(), 5);

        let e = Policy::from_pairs(vec![("colour".into(), "blue".into())]).unwrap_err();
        assert!(matches!(e, PolicyError::UnknownKey { .. }));

        let e = Policy::from_pairs(vec![
            ("password_history".into(), "3".into()),
            ("password_history".into(), "4".into()),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "password_history: the setting is stored more than once"
        );

        let e = Policy::from_pairs(vec![("lockout_threshold".into(), "0".into())]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lockout_threshold: 0 is outside the allowed range 1–100"
        );
    }

    #[test]
    fn set_and_get() {
        let mut p = Policy::default();
        p.set("password_min_length", "15").unwrap();
        assert_eq!(p.get("password_min_length").as_deref(), Some("15"));
        p.set("second_factor", "required_totp").unwrap();
        assert_eq!(p.second_factor(), SecondFactorMode::RequiredTotp);
        assert_eq!(p.get("second_factor").as_deref(), Some("required_totp"));
        assert_eq!(p.get("nope"), None);
        for m in SecondFactorMode::ALL {
            p.set("second_factor", m.as_str()).unwrap();
            assert_eq!(p.second_factor(), m);
        }
    }

    #[test]
    fn every_range_error() {
        let cases = [
            ("password_min_length", "7", "8–128"),
            ("password_min_length", "129", "8–128"),
            ("password_require_classes", "5", "0–4"),
            ("password_history", "25", "0–24"),
            ("password_max_age_days", "3651", "0–3650"),
            ("lockout_threshold", "0", "1–100"),
            ("lockout_threshold", "101", "1–100"),
            ("session_idle_minutes", "4", "5–1440"),
            ("session_idle_minutes", "1441", "5–1440"),
            ("session_absolute_hours", "0", "1–168"),
            ("session_absolute_hours", "169", "1–168"),
            ("session_absolute_hours", "99999999999999", "1–168"),
        ];
        for (key, value, range) in cases {
            let mut p = Policy::default();
            let e = p.set(key, value).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{key}: {value} is outside the allowed range {range}")
            );
            assert_eq!(p, Policy::default(), "failed set must not change {key}");
        }
        // Bounds themselves are accepted.
        for (key, min, max) in RANGES {
            let mut p = Policy::default();
            p.set(key, &min.to_string()).unwrap();
            p.set(key, &max.to_string()).unwrap();
        }
    }

    #[test]
    fn malformed_values_and_keys() {
        let mut p = Policy::default();
        for bad in ["", "-1", "+12", " 12", "12 ", "1.5", "ten", "0x10"] {
            let e = p.set("password_min_length", bad).unwrap_err();
            assert!(matches!(e, PolicyError::NotANumber { .. }), "{bad:?}");
            assert!(e.to_string().contains("allowed range is 8–128"), "{e}");
        }
        let e = p.set("second_factor", "sometimes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "second_factor: `sometimes` is not one of off, optional, required, required_totp"
        );
        let e = p.set("second_factor", "Required").unwrap_err();
        assert!(matches!(e, PolicyError::NotAChoice { .. }));
        let e = p.set("x", "1").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("unknown policy key `x`; known keys: {}", KEYS.join(", "))
        );
        // Control characters are escaped, long values cut.
        let e = p.set("evil\nkey", "1").unwrap_err();
        assert!(!e.to_string().contains('\n'));
        let e = p.set(&"k".repeat(500), "1").unwrap_err();
        assert!(e.to_string().len() < 400);
    }

    #[test]
    fn asvs_warnings_each() {
        let mut p = Policy::default();
        p.set("password_min_length", "15").unwrap();
        p.set("second_factor", "required_totp").unwrap();
        assert!(p.asvs_warnings().is_empty(), "{:?}", p.asvs_warnings());

        let one = |key: &str, value: &str, needle: &str| {
            let mut q = p.clone();
            q.set(key, value).unwrap();
            let w = q.asvs_warnings();
            assert_eq!(w.len(), 1, "{key}={value}: {w:?}");
            assert!(w[0].contains(needle), "{key}={value}: {}", w[0]);
        };
        one("password_min_length", "14", "minimum of 15");
        one("password_require_classes", "1", "Composition rules");
        one("password_max_age_days", "90", "periodic");
        one("second_factor", "off", "meets level 1 only");
        one("second_factor", "optional", "every user");
        one("second_factor", "required", "e-mail");

        let composition = Policy::from_pairs(vec![
            ("password_require_classes".into(), "3".into()),
            ("password_min_length".into(), "15".into()),
            ("second_factor".into(), "required_totp".into()),
        ])
        .unwrap();
        assert_eq!(
            composition.asvs_warnings(),
            vec![
                "Composition rules (required character classes) are discouraged by OWASP ASVS \
                 5.0 (V6.2): they push users toward predictable passwords."
            ]
        );
        // The defaults are not ASVS level 2: they warn about length and the optional factor.
        assert_eq!(Policy::default().asvs_warnings().len(), 2);
    }

    #[test]
    fn common_list_is_complete() {
        let c = CommonPasswords::load();
        assert!(c.len() >= 9_900, "{}", c.len());
        assert!(!c.is_empty());
        for pw in ["password", "123456", "qwerty", "PassWord", "QWERTY"] {
            assert!(c.contains(pw), "{pw}");
        }
        assert!(!c.contains("correct horse battery staple"));
        let text = include_str!("common-passwords.txt");
        assert!(text.lines().all(|l| !l.is_empty() && l == l.to_lowercase()));
        assert_eq!(text.lines().count(), c.len(), "entries are distinct");
    }

    #[test]
    fn length_limits_count_characters() {
        let p = Policy::default();
        assert!(check(&p, "xk4#vq9-mtr2").is_ok());
        assert_eq!(
            check(&p, "xk4#vq9-mtr").unwrap_err(),
            vec![PasswordProblem::TooShort { min: 12 }]
        );
        // Twelve two-byte characters: long enough by characters though 24 bytes.
        assert!(check(&p, "éééééééééééé").is_ok());
        assert!(check(&p, "ééééééééééé").is_err());
        assert!(check(&p, &"q".repeat(128)).is_ok());
        assert!(check(&p, &"q".repeat(256)).is_ok());
        assert!(check(&p, &"é".repeat(256)).is_ok());
        assert_eq!(
            check(&p, &"q".repeat(257)).unwrap_err(),
            vec![PasswordProblem::TooLong { max: 256 }]
        );
        assert_eq!(
            check(&p, "").unwrap_err(),
            vec![PasswordProblem::TooShort { min: 12 }]
        );
    }

    #[test]
    fn spaces_are_kept_and_count() {
        let p = Policy::default();
        assert!(check(&p, "river  stone").is_ok());
        // Eleven characters plus spaces around them are twelve+; nothing is trimmed.
        assert!(check(&p, " riverstone ").is_ok());
    }

    #[test]
    fn classes_rule() {
        let mut p = Policy::default();
        p.set("password_require_classes", "3").unwrap();
        assert_eq!(
            check(&p, "onlylowercaseletters").unwrap_err(),
            vec![PasswordProblem::MissingClasses {
                required: 3,
                found: 1
            }]
        );
        assert!(check(&p, "lowerUPPER1234").is_ok());
        assert!(check(&p, "lower and spaces 9").is_ok());
        p.set("password_require_classes", "4").unwrap();
        assert!(check(&p, "lowerUPPER1234").is_err());
        assert!(check(&p, "lowerUPPER12 4").is_ok());
        assert!(check(&p, "lowerUPPER12€4").is_ok());
    }

    #[test]
    fn common_passwords_refused_case_insensitively() {
        let mut p = Policy::default();
        p.set("password_min_length", "8").unwrap();
        assert_eq!(
            check(&p, "PASSWORD").unwrap_err(),
            vec![PasswordProblem::Common]
        );
        assert_eq!(
            check(&p, "qwertyuiop").unwrap_err(),
            vec![PasswordProblem::Common]
        );
    }

    #[test]
    fn names_refused() {
        let p = Policy::default();
        assert_eq!(
            check(&p, "my-ALICE-secret").unwrap_err(),
            vec![PasswordProblem::ContainsUserName]
        );
        assert_eq!(
            check(&p, "xx a.smith xx 77").unwrap_err(),
            vec![PasswordProblem::ContainsEmail]
        );
        // Names under three characters are not searched for.
        let common = CommonPasswords::load();
        assert!(check_new_password(&p, &common, "al is my fav pal", "al", "al@x.org").is_ok());
        // An address without '@' is taken whole.
        assert_eq!(
            check_new_password(&p, &common, "zzbobzzzzzzz", "someone", "bob").unwrap_err(),
            vec![PasswordProblem::ContainsEmail]
        );
    }

    #[test]
    fn several_problems_at_once_and_sentences() {
        let mut p = Policy::default();
        p.set("password_require_classes", "2").unwrap();
        let problems = check(&p, "alice").unwrap_err();
        assert_eq!(
            problems,
            vec![
                PasswordProblem::TooShort { min: 12 },
                PasswordProblem::MissingClasses {
                    required: 2,
                    found: 1
                },
                PasswordProblem::Common,
                PasswordProblem::ContainsUserName,
            ]
        );
        for pr in problems {
            let s = pr.to_string();
            assert!(s.ends_with('.'), "{s}");
            assert!(!s.contains("alice"));
        }
        assert_eq!(
            PasswordProblem::TooLong { max: 256 }.to_string(),
            "Use at most 256 characters."
        );
    }
}
