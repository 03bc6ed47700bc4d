//! The message catalogue (issue 13, languages): both languages have every message with the same
//! arguments, every key the pages and handlers ask for exists in both, Polish plurals take their
//! three forms, and a person's language choice changes the pages they see.

use holdfast::i18n::{Catalogue, Locale, Tr};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// Message id → the `$variables` its text uses, per language, read from the compiled-in sources.
fn messages(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (l, _, text) in holdfast::i18n::sources() {
        if l != locale {
            continue;
        }
        let mut current: Option<String> = None;
        for line in text.lines() {
            let starts_message =
                line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && line.contains('=');
            if starts_message {
                let id = line.split('=').next().unwrap().trim().to_string();
                out.entry(id.clone()).or_default();
                current = Some(id);
            } else if line.starts_with('#') || line.trim().is_empty() {
                if !line.starts_with(' ') {
                    current = None;
                }
                continue;
            }
            if let Some(id) = &current {
                let vars = out.get_mut(id).unwrap();
                let mut rest = line;
                while let Some(i) = rest.find('$') {
                    rest = &rest[i + 1..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .collect();
                    vars.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn the_catalogue_parses_without_a_problem() {
    let c = Catalogue::embedded();
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
}

#[test]
fn both_languages_have_the_same_messages_with_the_same_arguments() {
    let en = messages(Locale::En);
    let pl = messages(Locale::Pl);
    assert!(
        en.len() > 300,
        "the English catalogue has {} messages",
        en.len()
    );
    let only_en: Vec<_> = en.keys().filter(|k| !pl.contains_key(*k)).collect();
    let only_pl: Vec<_> = pl.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(only_en.is_empty(), "missing in Polish: {only_en:?}");
    assert!(only_pl.is_empty(), "missing in English: {only_pl:?}");
    for (id, vars) in &en {
        assert_eq!(
            vars, &pl[id],
            "{id}: the two languages use different arguments"
        );
    }
}

/// The string literal right after each `needle` in `text` (`c.t("key"` → `key`).
fn keys_after(text: &str, needle: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(i) = rest.find(needle) {
        rest = &rest[i + needle.len()..];
        let after = rest.trim_start();
        if let Some(quoted) = after.strip_prefix('"')
            && let Some(end) = quoted.find('"')
        {
            out.insert(quoted[..end].to_string());
        }
    }
}

fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Every key a template or a handler names literally, plus the ones built from the schema, the
/// card outcomes and the statuses.
fn used_keys() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut keys = BTreeSet::new();
    let mut templates = Vec::new();
    files(&root.join("assets/templates"), "html", &mut templates);
    for f in &templates {
        let text = std::fs::read_to_string(f).unwrap();
        for needle in ["c.t(", "c.t1(", "c.t2(", "c.count(", "doc.t(", "doc.t1("] {
            keys_after(&text, needle, &mut keys);
        }
    }
    let mut sources = Vec::new();
    files(&root.join("src/web"), "rs", &mut sources);
    files(&root.join("src/hub"), "rs", &mut sources);
    for dir in ["src/auth", "src/watch", "src/mail", "src/backup"] {
        files(&root.join(dir), "rs", &mut sources);
    }
    for f in &sources {
        // Comments mention `c.t("key")` as an example, not as a use.
        let text: String = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            ".t(",
            ".t1(",
            ".t2(",
            ".count(",
            ".with(",
            "Said::key(",
            "Said::Key(",
            "Message::new(",
            "Sentence::new(",
        ] {
            keys_after(&text, needle, &mut keys);
        }
    }
    keys.extend(holdfast::web::labels::every_key());
    keys
}

#[test]
fn every_key_the_code_uses_is_in_both_languages() {
    let c = Catalogue::embedded();
    let keys = used_keys();
    assert!(
        keys.len() > 300,
        "only {} keys found: the scan is broken",
        keys.len()
    );
    let mut missing = Vec::new();
    for k in &keys {
        for l in Locale::ALL {
            if !c.has(l, k) {
                missing.push(format!("{}: {k}", l.code()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from the catalogue:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_missing_key_is_caught_by_the_scan() {
    // The scan above is what fails when a page names a key the catalogue lacks: it must see one.
    let mut keys = BTreeSet::new();
    keys_after(r#"{{ c.t("no-such-key") }}"#, "c.t(", &mut keys);
    let c = Catalogue::embedded();
    assert!(keys.contains("no-such-key"));
    assert!(!c.has(Locale::En, "no-such-key") && !c.has(Locale::Pl, "no-such-key"));
}

#[test]
fn polish_plurals_take_their_three_forms() {
    let tr = Tr::new(Arc::new(Catalogue::embedded()), Locale::Pl);
    assert_eq!(tr.count("import-done", 1), "Zaimportowano jeden wiersz.");
    assert_eq!(tr.count("import-done", 3), "Zaimportowano 3 wiersze.");
    assert_eq!(tr.count("import-done", 5), "Zaimportowano 5 wierszy.");
    assert_eq!(tr.count("import-done", 22), "Zaimportowano 22 wiersze.");
    assert_eq!(tr.count("import-done", 12), "Zaimportowano 12 wierszy.");
    let en = Tr::new(Arc::new(Catalogue::embedded()), Locale::En);
    assert_eq!(en.count("import-done", 1), "Imported 1 row.");
    assert_eq!(en.count("import-done", 2), "Imported 2 rows.");
    // A key the catalogue lacks shows as itself rather than failing the page.
    assert_eq!(en.t("no-such-key"), "no-such-key");
}
