//! CSV writing shared by every export: RFC 4180 quoting, and neutralising of cells that a spreadsheet
//! would run as a formula (leading `=`, `+`, `-`, `@`, tab, CR).

/// One cell, quoted when needed and prefixed with `'` when it could start a formula.
pub fn cell(value: &str) -> String {
    // A value that already looks neutralised gets one more `'`, so import gives it back unchanged.
    let looks_neutralised = unneutralise(value).len() != value.len();
    let neutral = if value.starts_with(FORMULA_START) || looks_neutralised {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Reverses [`cell`]'s formula guard on import, so that export → import gives back the same values.
///
/// A value is guarded when one or more `'` precede a formula character; exactly one is removed.
/// Counted in one pass rather than by recursion: an imported cell of a million quotes must not
/// exhaust the stack of the worker thread that parses it.
pub fn unneutralise(value: &str) -> &str {
    let after_quotes = value.trim_start_matches('\'');
    if after_quotes.len() < value.len() && after_quotes.starts_with(FORMULA_START) {
        &value[1..]
    } else {
        value
    }
}

/// First characters that make a spreadsheet evaluate a cell.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formula_neutralising() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd|'/C calc'!A0"), "'=cmd|'/C calc'!A0");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(row(&["a", "b"]), "a,b\r\n");
        for v in [
            "=1+1",
            "+48 123",
            "-5",
            "@x",
            "plain",
            "'quoted",
            "'=literal",
            "''=x",
        ] {
            assert_eq!(unneutralise(&cell(v).replace('"', "")), v.replace('"', ""));
        }
    }

    #[test]
    fn a_cell_of_a_million_quotes_does_not_exhaust_a_small_stack() {
        // The recursive version went one frame deeper per quote and overflowed here.
        let guarded = format!("{}=1", "'".repeat(1_000_000));
        let plain = format!("{}x", "'".repeat(1_000_000));
        let ok = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                unneutralise(&guarded).len() == guarded.len() - 1
                    && unneutralise(&plain).len() == plain.len()
                    && cell(&guarded).len() == guarded.len() + 1
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(ok);
    }
}
