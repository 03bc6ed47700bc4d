//! The message catalogue: every word a page or a mail shows a person, in English and Polish
//! (Project Fluent files under `assets/locales/`, compiled into the binary), with each language's
//! plural rules; and `Locale`, the language a person reads and types numbers, dates and money in.

use crate::storage::{Connection, StorageError, settings};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::Arc;

/// The languages holdfast speaks. The instance has a default (`hub::settings`); each person may
/// pick their own (`users.language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum Locale {
    #[default]
    En,
    Pl,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Pl];

    pub const fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Pl => "pl",
        }
    }

    /// The language's name in itself (what a chooser shows, whatever the page's language).
    pub const fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Pl => "polski",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// The catalogue files, one per area of the product; each language has the same set.
pub const FILES: &[&str] = &[
    "chrome",
    "signin",
    "account",
    "hub",
    "admin",
    "webhooks",
    "feeds",
    "einvoice",
    "mail",
    "domain",
    "integrations",
];

/// The catalogue sources as compiled in: (locale, file name, text).
pub fn sources() -> Vec<(Locale, &'static str, &'static str)> {
    macro_rules! both {
        ($($file:literal),*) => {
            vec![
                $(
                    (Locale::En, $file, include_str!(concat!("../../assets/locales/en/", $file, ".ftl"))),
                    (Locale::Pl, $file, include_str!(concat!("../../assets/locales/pl/", $file, ".ftl"))),
                )*
            ]
        };
    }
    both!(
        "chrome",
        "signin",
        "account",
        "hub",
        "admin",
        "webhooks",
        "feeds",
        "einvoice",
        "mail",
        "domain",
        "integrations"
    )
}

/// Every language's messages, parsed once at start-up and shared by every request.
pub struct Catalogue {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
    /// Problems found while loading (a syntax error, a message defined twice); the unit tests
    /// require none, and the server logs them at start-up.
    pub problems: Vec<String>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("languages", &self.bundles.len())
            .finish()
    }
}

impl Catalogue {
    /// The catalogue compiled into the binary. A broken file still loads what parses (a page with
    /// one message missing beats a server that does not start); `problems` says what broke.
    pub fn embedded() -> Self {
        let mut problems = Vec::new();
        let mut bundles = Vec::new();
        for locale in Locale::ALL {
            let id: unic_langid::LanguageIdentifier = match locale.code().parse() {
                Ok(id) => id,
                Err(e) => {
                    problems.push(format!("{}: {e}", locale.code()));
                    continue;
                }
            };
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages are left-to-right in both languages; isolation marks around every argument
            // would only get in the way of copy and paste.
            bundle.set_use_isolating(false);
            for (l, file, text) in sources() {
                if l != locale {
                    continue;
                }
                let resource = match FluentResource::try_new(text.to_string()) {
                    Ok(r) => r,
                    Err((r, errors)) => {
                        for e in errors {
                            problems.push(format!("{}/{file}.ftl: {e:?}", l.code()));
                        }
                        r
                    }
                };
                if let Err(errors) = bundle.add_resource(resource) {
                    for e in errors {
                        problems.push(format!("{}/{file}.ftl: {e}", l.code()));
                    }
                }
            }
            bundles.push((locale, bundle));
        }
        Self { bundles, problems }
    }

    fn bundle(&self, locale: Locale) -> Option<&FluentBundle<FluentResource>> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == locale)
            .map(|(_, b)| b)
    }

    pub fn has(&self, locale: Locale, key: &str) -> bool {
        self.bundle(locale).is_some_and(|b| b.has_message(key))
    }

    /// The message `key` in `locale` with `args`. A key the catalogue lacks shows as itself (the
    /// unit tests fail on any key the code uses that is missing in either language).
    pub fn format(&self, locale: Locale, key: &str, args: &[(&str, Arg)]) -> String {
        let Some(bundle) = self.bundle(locale) else {
            return key.to_string();
        };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(
                key,
                locale = locale.code(),
                "message missing from the catalogue"
            );
            return key.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let v: FluentValue = match value {
                Arg::Text(s) => FluentValue::from(s.as_str()),
                Arg::Number(n) => FluentValue::from(*n),
                // A key the catalogue lacks in this language shows as itself, as below.
                Arg::Key(k) => FluentValue::from(self.format(locale, k, &[])),
            };
            fluent_args.set(*name, v);
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                key,
                locale = locale.code(),
                ?errors,
                "message formatted with errors"
            );
        }
        text.into_owned()
    }
}

/// A value put into a message: text, a number (which also picks the plural form), or another
/// catalogue message worded in the same language (an event's name, a setting's label).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Arg {
    #[serde(rename = "n")]
    Number(i64),
    #[serde(rename = "t")]
    Text(String),
    #[serde(rename = "k")]
    Key(String),
}

/// A sentence kept as its catalogue key and arguments rather than as text, so each reader gets it
/// in their own language however long after it was said (an alert on the admin page, in a mail,
/// a refusal worded by the page that shows it). Stored as JSON where it must outlive the request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub key: String,
    #[serde(default)]
    pub args: Vec<(String, Arg)>,
}

impl Message {
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_string(),
            args: Vec::new(),
        }
    }

    /// The message with one more argument.
    pub fn arg(mut self, name: &str, value: impl Into<Arg>) -> Self {
        self.args.push((name.to_string(), value.into()));
        self
    }

    /// The sentence in `tr`'s language.
    pub fn render(&self, tr: &Tr) -> String {
        let args: Vec<(&str, Arg)> = self
            .args
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        tr.with(&self.key, &args)
    }

    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored message; `None` for text that is not one (rows written before messages were kept).
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// A refusal the domain words twice: in English for the API and the console (`Display`), and as a
/// [`Message`] that pages word in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub english: String,
    pub words: Message,
}

impl Sentence {
    pub fn new(key: &str, english: impl Into<String>) -> Self {
        Self {
            english: english.into(),
            words: Message::new(key),
        }
    }

    /// The refusal with one more argument for its catalogue message.
    pub fn arg(mut self, name: &str, value: impl Into<Arg>) -> Self {
        self.words = self.words.arg(name, value);
        self
    }

    /// The refusal in `tr`'s language.
    pub fn render(&self, tr: &Tr) -> String {
        self.words.render(tr)
    }
}

impl std::fmt::Display for Sentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl From<u32> for Arg {
    fn from(n: u32) -> Self {
        Arg::Number(i64::from(n))
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// One reader's language over the shared catalogue: what pages and mails translate with.
#[derive(Debug, Clone)]
pub struct Tr {
    catalogue: Arc<Catalogue>,
    pub locale: Locale,
}

impl Tr {
    pub fn new(catalogue: Arc<Catalogue>, locale: Locale) -> Self {
        Self { catalogue, locale }
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.catalogue.format(self.locale, key, &[])
    }

    /// Whether the catalogue has `key` in this language (for labels that fall back to a name).
    pub fn has(&self, key: &str) -> bool {
        self.catalogue.has(self.locale, key)
    }

    /// The message `key` with one text argument (for a count, use [`Tr::count`]).
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.catalogue
            .format(self.locale, key, &[(name, Arg::Text(value.to_string()))])
    }

    /// The message `key` with several arguments.
    pub fn with(&self, key: &str, args: &[(&str, Arg)]) -> String {
        self.catalogue.format(self.locale, key, args)
    }

    /// The message `key` with `$count` = `n`, which picks the plural form.
    pub fn count(&self, key: &str, n: usize) -> String {
        self.catalogue
            .format(self.locale, key, &[("count", n.into())])
    }
}

/// `at` in `tz`, written for people: "6 Dec 2026, 05:34" (English) or "6.12.2026, 05:34"
/// (Polish, day.month.year, without month names that would need declension). Pages and mails
/// both write times with it.
pub fn local_text(at: DateTime<Utc>, tz: Tz, locale: Locale) -> String {
    let local = at.with_timezone(&tz);
    match locale {
        Locale::En => local.format("%-d %b %Y, %H:%M").to_string(),
        Locale::Pl => local.format("%-d.%m.%Y, %H:%M").to_string(),
    }
}

/// The language of a reader whose own choice is `language` (`users.language`): that language,
/// else the instance's default, else English. For what is read away from a page: mails, feeds.
pub fn reader_locale(conn: &Connection, language: Option<&str>) -> Result<Locale, StorageError> {
    Ok(match language.and_then(Locale::parse) {
        Some(l) => l,
        None => settings::get(conn, settings::DEFAULT_LOCALE)?
            .and_then(|c| Locale::parse(&c))
            .unwrap_or_default(),
    })
}

/// What mails are written with: the catalogue and the instance's time zone. Each mail picks its
/// reader's language with [`MailWords::for_reader`], inside the transaction that queues it.
#[derive(Debug, Clone)]
pub struct MailWords {
    pub catalogue: Arc<Catalogue>,
    pub tz: Tz,
}

impl MailWords {
    pub fn new(catalogue: Arc<Catalogue>, tz: Tz) -> Self {
        Self { catalogue, tz }
    }

    /// The words for a reader whose own choice is `language` (`users.language`): that language,
    /// else the instance's default, else English.
    pub fn for_reader(
        &self,
        conn: &Connection,
        language: Option<&str>,
    ) -> Result<Words, StorageError> {
        Ok(self.in_locale(reader_locale(conn, language)?))
    }

    /// The words of `locale` (for a reader whose language is already known).
    pub fn in_locale(&self, locale: Locale) -> Words {
        Words {
            tr: Tr::new(self.catalogue.clone(), locale),
            tz: self.tz,
        }
    }
}

/// One mail reader's words, and their way of writing the instance's times.
#[derive(Debug, Clone)]
pub struct Words {
    pub tr: Tr,
    pub tz: Tz,
}

impl Words {
    /// `at` in the instance's zone, as this reader writes times, with the zone's name (a mail
    /// has no page around it that says which zone its times are in).
    pub fn when(&self, at: DateTime<Utc>) -> String {
        self.tr.with(
            "mail-when",
            &[
                ("at", local_text(at, self.tz, self.tr.locale).into()),
                ("zone", self.tz.name().into()),
            ],
        )
    }

    /// A stored time (RFC 3339) as [`Words::when`] writes it; text that is not a time stays as it is.
    pub fn when_stored(&self, stamp: &str) -> String {
        match DateTime::parse_from_rfc3339(stamp) {
            Ok(at) => self.when(at.with_timezone(&Utc)),
            Err(_) => stamp.to_string(),
        }
    }
}

impl std::ops::Deref for Words {
    type Target = Tr;
    fn deref(&self) -> &Tr {
        &self.tr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_read_back_from_their_codes() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.code()), Some(l));
        }
        assert_eq!(Locale::parse("de"), None);
    }

    #[test]
    fn arguments_fill_their_places_without_isolation_marks() {
        let tr = Tr::new(Arc::new(Catalogue::embedded()), Locale::En);
        assert_eq!(tr.t1("form-new", "what", "client"), "New client");
        let pl = Tr::new(Arc::new(Catalogue::embedded()), Locale::Pl);
        assert_eq!(pl.count("saved-settings", 2), "Zapisano 2 ustawienia.");
        assert_eq!(pl.count("saved-settings", 5), "Zapisano 5 ustawień.");
    }

    #[test]
    fn a_stored_message_reads_back_and_words_in_each_language() {
        let m = Message::new("saved-settings").arg("count", 5usize);
        let back = Message::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        let pl = Tr::new(Arc::new(Catalogue::embedded()), Locale::Pl);
        assert_eq!(back.render(&pl), "Zapisano 5 ustawień.");
        assert_eq!(Message::from_json("plain text"), None);
        let text = Message::new("x").arg("who", "7").to_json();
        assert_eq!(
            Message::from_json(&text).unwrap().args[0].1,
            Arg::Text("7".into()),
            "text that looks like a number stays text"
        );
        let en = Tr::new(Arc::new(Catalogue::embedded()), Locale::En);
        let named = Message::new("form-new").arg("what", Arg::Key("event-login_failed".into()));
        let back = Message::from_json(&named.to_json()).unwrap();
        assert_eq!(back.render(&en), "New Sign-in failed");
        assert_eq!(
            back.render(&pl),
            format!(
                "{} {}",
                pl.t1("form-new", "what", "").trim_end(),
                pl.t("event-login_failed")
            ),
        );
    }
}
