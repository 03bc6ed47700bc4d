//! Full-text search over the business modules: what a person typed as FTS5 queries, each record's
//! entry in its module's search table, and the ranked search across modules.

use super::StorageError;
use super::{Connection, Transaction};
use crate::schema::ModuleDef;
use rusqlite::params;
use std::collections::BTreeMap;

/// The full-text table of a module: one per module, the record id as its rowid.
pub(super) fn search_table(def: &ModuleDef) -> String {
    format!("search_{}", def.table)
}

/// Candidates a search with cut words may turn down before it asks the uncut query instead: bounds
/// the extra reading when a cut word's first letters are common but the word is not.
pub(super) const REJECTS_BEFORE_EXACT: usize = 200;

/// The prefix lengths FTS5 keeps an index of (migration 0016). A prefix of another length is
/// answered from the longest shorter one and checked whole; one shorter than all of them is checked
/// on the rows the query's other words find. Each length is written for every word of every record,
/// so each costs every write (docs/PERFORMANCE.md, "Writes: fewer prefix indexes").
const PREFIX_INDEXES: [usize; 3] = [3, 5, 8];

/// What a person typed, as FTS5 queries: every word must occur, as a word or the start of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    /// The query to read with. Every prefix in it has a prefix index, so matches stream newest
    /// first: a word of another length is cut to the longest indexed length below it, and a word
    /// shorter than every indexed length is left out (when other words remain). Cut and left-out
    /// words make it match rows too many, which `admits` turns down.
    pub fts: String,
    /// The query with every word whole: exact, but FTS5 first merges the doclists of every term a
    /// cut or left-out word starts (~4 ms for a word in 166k time entries, far more for one letter).
    pub exact: String,
    /// The cut and left-out words, whole and folded: a row `fts` finds must have a word starting
    /// with each.
    pub long_words: Vec<String>,
}

impl TextQuery {
    /// Whether a row that `fts` found (its full-text title and body) really has every cut word.
    pub fn admits(&self, title: &str, body: &str) -> bool {
        let text = fold(&format!("{title} {body}"));
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        self.long_words
            .iter()
            .all(|long| words.iter().any(|w| w.starts_with(long.as_str())))
    }
}

/// Lower case without diacritics, as FTS5's `unicode61 remove_diacritics 2` compares words:
/// canonical decomposition, combining marks dropped.
fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The byte range of the last run of letters and digits in a typed word: FTS5 splits a word like
/// `anna@example.com` into a phrase and matches only its last part as a prefix.
fn last_run(w: &str) -> Option<(usize, usize)> {
    w.char_indices()
        .filter(|(_, c)| c.is_alphanumeric())
        .fold(None, |run, (i, c)| match run {
            Some((start, end)) if end == i => Some((start, i + c.len_utf8())),
            _ => Some((i, i + c.len_utf8())),
        })
}

/// How one typed word is read.
enum Term {
    /// As typed: its prefix has an index (or it has no letters at all).
    Whole,
    /// Cut to the first `n` bytes, then checked whole.
    Cut(usize),
    /// Shorter than every prefix index: checked on the rows the other words find; what stays in the
    /// query is the phrase before it (the first `n` bytes, maybe none).
    Short(usize),
}

fn term(w: &str) -> (Term, Option<String>) {
    let Some((start, end)) = last_run(w) else {
        return (Term::Whole, None);
    };
    let run = &w[start..end];
    let chars = run.chars().count();
    if PREFIX_INDEXES.contains(&chars) {
        return (Term::Whole, None);
    }
    let Some(&keep) = PREFIX_INDEXES.iter().rev().find(|&&n| n < chars) else {
        return (Term::Short(start), Some(fold(run)));
    };
    let cut = run.char_indices().nth(keep).map_or(end, |(i, _)| start + i);
    (Term::Cut(cut), Some(fold(run)))
}

/// Turns what a person typed into a `TextQuery` (at most 8 words); `None` when it has no word.
/// A query of nothing but one- and two-letter words matches them as whole words.
pub fn fts_query(text: &str) -> Option<TextQuery> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '-')
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    if words.is_empty() {
        return None;
    }
    let quote = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
    let terms: Vec<(Term, Option<String>)> = words.iter().map(|w| term(w)).collect();
    let has_letters = |w: &str| w.chars().any(char::is_alphanumeric);
    let anchored = words.iter().zip(&terms).any(|(w, (t, _))| match t {
        Term::Whole | Term::Cut(_) => has_letters(w),
        Term::Short(before) => has_letters(&w[..*before]),
    });
    if !anchored {
        // Nothing to narrow the rows down with: a one-letter prefix would merge the doclist of
        // every word that starts with it.
        let whole = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        return Some(TextQuery {
            fts: whole.clone(),
            exact: whole,
            long_words: Vec::new(),
        });
    }
    let (mut fts, mut exact, mut long_words) = (Vec::new(), Vec::new(), Vec::new());
    for (w, (t, folded)) in words.iter().zip(terms) {
        exact.push(format!("{}*", quote(w)));
        match t {
            Term::Whole => fts.push(format!("{}*", quote(w))),
            Term::Cut(n) => fts.push(format!("{}*", quote(&w[..n]))),
            Term::Short(before) => {
                // The phrase before the short part, as whole words.
                if has_letters(&w[..before]) {
                    fts.push(quote(&w[..before]));
                }
            }
        }
        long_words.extend(folded);
    }
    Some(TextQuery {
        fts: fts.join(" "),
        exact: exact.join(" "),
        long_words,
    })
}

/// A change to a record's full-text entry, kept by its transaction and written just before it
/// commits (`write_text`), after every write of the batch.
///
/// FTS5 writes what it holds in memory to a new segment whenever a savepoint opens in a
/// transaction that has written to it, and the writer opens one savepoint per write (group
/// commit). Written at once, each write made its own segment, and FTS5 spent the batch merging them
/// again (docs/PERFORMANCE.md, "Writes: one full-text segment per batch"). Kept until the end, a
/// batch makes one segment per table. No write reads the full-text tables in its transaction, so
/// nothing sees the difference; a write that fails or rehearses drops its changes with its
/// savepoint (`Transaction::forget_text_after`).
#[derive(Debug)]
pub(super) enum TextChange {
    /// Writes (or replaces) the entry of record `id`.
    Put {
        table: String,
        id: i64,
        title: String,
        body: String,
    },
    /// Removes the entry of record `id`, if it has one.
    Remove { table: String, id: i64 },
}

/// Writes (or replaces) a record's full-text entry; its rowid is the record id. Written when the
/// transaction commits (`TextChange`).
pub fn index(
    tx: &Transaction,
    def: &ModuleDef,
    id: i64,
    title: &str,
    body: &str,
) -> Result<(), StorageError> {
    tx.defer_text(TextChange::Put {
        table: search_table(def),
        id,
        title: title.to_owned(),
        body: body.to_owned(),
    });
    Ok(())
}

/// Removes a record's full-text entry when the transaction commits (`TextChange`).
pub fn unindex(tx: &Transaction, def: &ModuleDef, id: i64) -> Result<(), StorageError> {
    tx.defer_text(TextChange::Remove {
        table: search_table(def),
        id,
    });
    Ok(())
}

/// Writes the full-text changes `tx` kept: for each record, its last one. Called once the
/// transaction's writes are done, outside any savepoint, right before COMMIT: a failure fails the
/// transaction.
///
/// Records go table by table in ascending id order, each entry removed before it is written again:
/// FTS5 also writes its segment early when a change's rowid is below the one before it, or when an
/// entry is written twice in a row (`sqlite3Fts5IndexBeginWrite`), so a batch of updates in the
/// order they came would still make a segment for nearly every write.
pub(super) fn write_text(tx: &Transaction) -> Result<(), StorageError> {
    let mut last: BTreeMap<(String, i64), Option<(String, String)>> = BTreeMap::new();
    for change in tx.take_text() {
        match change {
            TextChange::Put {
                table,
                id,
                title,
                body,
            } => last.insert((table, id), Some((title, body))),
            TextChange::Remove { table, id } => last.insert((table, id), None),
        };
    }
    for ((table, id), entry) in last {
        tx.prepare_cached(&format!("DELETE FROM \"{table}\" WHERE rowid = ?1"))?
            .execute([id])?;
        if let Some((title, body)) = entry {
            tx.prepare_cached(&format!(
                "INSERT INTO \"{table}\" (rowid, title, body) VALUES (?1, ?2, ?3)"
            ))?
            .execute(params![id, title, body])?;
        }
    }
    Ok(())
}

/// How many of each module's newest matches the cross-module search ranks. Each costs a read of its
/// stored title, usually a page of its own (decrypted by SQLCipher); the search page links every
/// module's own paged search for the rest. 20 keeps a name that occurs all over the instance within
/// the latency target with 16 searches at once on 2 cores (50 did not: docs/PERFORMANCE.md).
const SEARCH_NEWEST_PER_MODULE: usize = 20;

/// Lower-case alphanumeric words of a text (for ranking; matching is FTS5's).
fn plain_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Best matches in the given modules (those the person may see) for what the person typed:
/// (module slug, id, title). Each module contributes its newest matches (at most
/// `SEARCH_NEWEST_PER_MODULE`, read in rowid order so that a common word stops early). They are
/// ranked by how well the title matches — query words that are whole title words, then query words
/// that start a title word — then newest first. (FTS5's bm25 is not used: each module's table has
/// its own statistics, so its scores do not compare across modules, and it reads every match's
/// length.)
pub fn search_all(
    conn: &Connection,
    text: &str,
    modules: &[&ModuleDef],
    limit: usize,
) -> Result<Vec<(&'static str, i64, String)>, StorageError> {
    let Some(query) = fts_query(text) else {
        return Ok(Vec::new());
    };
    let wanted = plain_words(text);
    // (whole title words matched, title words started, id), module, title
    type Hit = ((usize, usize, i64), &'static str, String);
    let mut hits: Vec<Hit> = Vec::new();
    for def in modules {
        for (id, title) in newest_matches(conn, def, &query, SEARCH_NEWEST_PER_MODULE)? {
            let words = plain_words(&title);
            let whole = wanted.iter().filter(|w| words.contains(w)).count();
            let starts = wanted
                .iter()
                .filter(|w| words.iter().any(|t| t.starts_with(w.as_str())))
                .count();
            hits.push(((whole, starts, id), def.slug, title));
        }
    }
    // More whole words, more prefixes, newer.
    hits.sort_by(|(a, ..), (b, ..)| b.cmp(a));
    hits.truncate(limit);
    Ok(hits
        .into_iter()
        .map(|((.., id), slug, title)| (slug, id, title))
        .collect())
}

/// A module's newest full-text matches, (id, title), at most `n`; cut words are checked as in
/// `list`.
fn newest_matches(
    conn: &Connection,
    def: &ModuleDef,
    query: &TextQuery,
    n: usize,
) -> Result<Vec<(i64, String)>, StorageError> {
    let st = search_table(def);
    let sql = format!(
        "SELECT rowid, title, body FROM \"{st}\" WHERE \"{st}\" MATCH ?1 ORDER BY rowid DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    if query.long_words.is_empty() {
        let rows = stmt.query_map(params![query.fts, n as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        return Ok(rows.collect::<Result<Vec<_>, _>>()?);
    }
    let mut rows = stmt.query(params![query.fts, (n + REJECTS_BEFORE_EXACT) as i64])?;
    let (mut out, mut read) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        read += 1;
        let title: String = r.get(1)?;
        let body: Option<String> = r.get(2)?;
        if query.admits(&title, body.as_deref().unwrap_or("")) {
            out.push((r.get(0)?, title));
            if out.len() == n {
                return Ok(out);
            }
        }
    }
    if read < n + REJECTS_BEFORE_EXACT {
        return Ok(out);
    }
    drop(rows);
    let rows = stmt.query_map(params![query.exact, n as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_cut_to_the_longest_prefix_index_below_them_and_checked_whole() {
        let q = fts_query("Documentation review").unwrap();
        assert_eq!(q.fts, "\"Document\"* \"revie\"*");
        assert_eq!(q.exact, "\"Documentation\"* \"review\"*");
        assert_eq!(q.long_words, vec!["documentation", "review"]);
        // Only the last part of a typed phrase is a prefix; diacritics and case are folded.
        let q = fts_query("team-Überweisungsauftrag anna@example.com").unwrap();
        assert_eq!(q.fts, "\"team-Überweis\"* \"anna@example.com\"*");
        assert_eq!(q.long_words, vec!["uberweisungsauftrag"]);
        let q = fts_query("documentation-team").unwrap();
        assert_eq!(q.fts, "\"documentation-tea\"*");
        assert_eq!(q.long_words, vec!["team"]);
        // Words of an indexed length are answered whole from their index.
        for w in ["abc", "abcde", "abcdefgh"] {
            let q = fts_query(w).unwrap();
            assert!(q.long_words.is_empty(), "{q:?}");
            assert_eq!(q.fts, q.exact);
        }
        for (w, cut) in [
            ("abcd", "abc"),
            ("abcdefg", "abcde"),
            ("abcdefghijk", "abcdefgh"),
        ] {
            let q = fts_query(w).unwrap();
            assert_eq!(q.fts, format!("\"{cut}\"*"));
            assert_eq!(q.long_words, vec![w]);
        }
    }

    #[test]
    fn one_and_two_letter_words_are_checked_on_what_the_other_words_find() {
        let q = fts_query("ab design").unwrap();
        assert_eq!(q.fts, "\"desig\"*");
        assert_eq!(q.exact, "\"ab\"* \"design\"*");
        assert_eq!(q.long_words, vec!["ab", "design"]);
        assert!(q.admits("Abacus design", ""));
        assert!(!q.admits("Design", "no such start"));
        // The phrase before a short last part stays in the query, as whole words.
        let q = fts_query("anna@example.c").unwrap();
        assert_eq!(q.fts, "\"anna@example.\"");
        assert_eq!(q.long_words, vec!["c"]);
        assert!(q.admits("", "anna@example.com"));
        // Only short words: nothing narrows the rows, so they match as whole words.
        let q = fts_query("a Bc").unwrap();
        assert_eq!(q.fts, "\"a\" \"Bc\"");
        assert_eq!(q.exact, q.fts);
        assert!(q.long_words.is_empty());
    }

    #[test]
    fn a_typed_word_is_checked_whole_with_diacritics_and_case_folded() {
        let q = fts_query("dokumentáciách").unwrap();
        assert!(q.admits("Ročná správa", "príloha k Dokumentaciach 2026"));
        assert!(
            q.admits("DOKUMENTÁCIÁCHOVÝ", ""),
            "a longer word that starts with it"
        );
        assert!(
            !q.admits("Dokumentácia", ""),
            "shares only the first letters"
        );
        assert!(!q.admits("xdokumentaciach", ""), "must start a word");
        assert!(fts_query("   ,;").is_none());
    }
}
