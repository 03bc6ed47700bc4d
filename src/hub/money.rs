//! Amounts of money as people type and read them, per locale: "1,234.50" (English) or
//! "1 234,50" (Polish) to and from integer minor units (cents). Storage and the JSON API keep the
//! integers; only pages go through here. Every currency holdfast offers has two decimals.

use std::fmt;

/// The language amounts are written in: the catalogue's (`i18n`), so that a page's words and its
/// numbers always agree.
pub use crate::i18n::Locale;

const fn decimal(l: Locale) -> char {
    match l {
        Locale::En => '.',
        Locale::Pl => ',',
    }
}

/// What separates groups of three digits when holdfast writes a number. Polish uses a no-break
/// space so that an amount never wraps between its groups.
const fn group(l: Locale) -> char {
    match l {
        Locale::En => ',',
        Locale::Pl => '\u{a0}',
    }
}

/// Whether `c` may separate digit groups in what a person types.
fn is_group(l: Locale, c: char) -> bool {
    match l {
        Locale::En => matches!(c, ',' | ' ' | '\u{a0}' | '\u{202f}'),
        // A dot is never a group separator in Polish input: "95.50" means 95,50 (people paste
        // amounts from English documents), never 9550.
        Locale::Pl => matches!(c, ' ' | '\u{a0}' | '\u{202f}'),
    }
}

/// Whether `c` may separate the decimals in what a person types.
fn is_decimal(l: Locale, c: char) -> bool {
    match l {
        Locale::En => c == '.',
        Locale::Pl => matches!(c, ',' | '.'),
    }
}

/// Why a typed amount was refused; the message says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    Empty,
    Negative,
    /// A letter or another character that has no place in an amount.
    NotANumber(Locale),
    /// More than two decimals: holdfast does not round what people type.
    TooManyDecimals,
    /// Group separators in the wrong places ("1,23,4").
    BadGrouping(Locale),
    TooLarge {
        max: i64,
        locale: Locale,
    },
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Empty => f.write_str("write an amount"),
            MoneyError::Negative => f.write_str("must be 0 or more"),
            MoneyError::NotANumber(l) => write!(
                f,
                "write an amount with digits only, like {}",
                format_plain(9550, *l)
            ),
            MoneyError::TooManyDecimals => f.write_str("write at most 2 decimals"),
            MoneyError::BadGrouping(l) => write!(
                f,
                "the digit groups are not in threes; write it like {} or {}",
                format(123_450, *l),
                format_plain(123_450, *l)
            ),
            MoneyError::TooLarge { max, locale } => {
                write!(f, "must be at most {}", format(*max, *locale))
            }
        }
    }
}

/// Minor units as the locale writes them, digits grouped: 123450 → "1,234.50" / "1 234,50".
pub fn format(minor: i64, locale: Locale) -> String {
    write(minor, locale, true)
}

/// Minor units without digit groups, for a form field: 123450 → "1234.50" / "1234,50".
pub fn format_plain(minor: i64, locale: Locale) -> String {
    write(minor, locale, false)
}

/// An amount with its currency: "1,234.50 EUR" / "1 234,50 PLN".
pub fn format_in(minor: i64, currency: &str, locale: Locale) -> String {
    if currency.is_empty() {
        return format(minor, locale);
    }
    format!("{}\u{a0}{currency}", format(minor, locale))
}

fn write(minor: i64, locale: Locale, grouped: bool) -> String {
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut out = String::new();
    if minor < 0 {
        out.push('-');
    }
    for (i, ch) in units.chars().enumerate() {
        if grouped && i > 0 && (units.len() - i).is_multiple_of(3) {
            out.push(group(locale));
        }
        out.push(ch);
    }
    out.push(decimal(locale));
    out.push_str(&format!("{:02}", abs % 100));
    out
}

/// A rate in hundredths of a percent as the locale writes it, without needless zeros:
/// 2300 → "23 %", 850 → "8.5 %" / "8,5 %".
pub fn format_percent(bp: i64, locale: Locale) -> String {
    let whole = bp / 100;
    let frac = (bp % 100).unsigned_abs();
    let number = match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}{}{}", decimal(locale), f / 10),
        f => format!("{whole}{}{f:02}", decimal(locale)),
    };
    format!("{number}\u{a0}%")
}

/// A quantity in thousandths as the locale writes it, without needless zeros: 2500 → "2.5".
pub fn format_quantity(milli: i64, locale: Locale) -> String {
    let whole = milli / 1000;
    let frac = format!("{:03}", (milli % 1000).unsigned_abs());
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}{}{frac}", decimal(locale))
    }
}

/// What a person typed as minor units: "95.50", "95,50" (Polish), "1 234,50", "1,234.50"
/// (English), "95". At most two decimals, never negative, at most `max`.
pub fn parse(text: &str, locale: Locale, max: i64) -> Result<i64, MoneyError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(MoneyError::Empty);
    }
    if t.starts_with('-') || t.starts_with('\u{2212}') {
        return Err(MoneyError::Negative);
    }
    let (whole, frac) = match t.char_indices().find(|(_, c)| is_decimal(locale, *c)) {
        Some((i, c)) => (&t[..i], &t[i + c.len_utf8()..]),
        None => (t, ""),
    };
    // ".5" is half a unit; "." alone is nothing.
    let whole = if whole.is_empty() && !frac.is_empty() {
        "0"
    } else {
        whole
    };
    if whole.is_empty() {
        return Err(MoneyError::NotANumber(locale));
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            if frac
                .chars()
                .any(|c| is_decimal(locale, c) || is_group(locale, c))
            {
                MoneyError::BadGrouping(locale)
            } else {
                MoneyError::NotANumber(locale)
            },
        );
    }
    if frac.len() > 2 {
        return Err(MoneyError::TooManyDecimals);
    }
    if whole
        .chars()
        .any(|c| !c.is_ascii_digit() && !is_group(locale, c))
    {
        return Err(MoneyError::NotANumber(locale));
    }
    let groups: Vec<&str> = whole.split(|c| is_group(locale, c)).collect();
    // "95" is one group; "1 234" and "12,345,678" have 1–3 digits first and threes after.
    let grouped_well =
        groups.len() == 1 || (groups[0].len() <= 3 && groups.iter().skip(1).all(|g| g.len() == 3));
    if !grouped_well || groups.iter().any(|g| g.is_empty()) {
        return Err(MoneyError::BadGrouping(locale));
    }
    let digits: String = groups.concat();
    let too_large = MoneyError::TooLarge { max, locale };
    // More than 18 digits cannot be a valid amount whatever `max` is; refuse before parsing.
    if digits.trim_start_matches('0').len() > 18 {
        return Err(too_large);
    }
    let units: i64 = digits.parse().map_err(|_| too_large.clone())?;
    let cents: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    let value = units
        .checked_mul(100)
        .and_then(|v| v.checked_add(cents))
        .ok_or_else(|| too_large.clone())?;
    if value > max {
        return Err(too_large);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Locale::{En, Pl};

    const MAX: i64 = 1_000_000_000_000;

    #[test]
    fn english_amounts_read_and_write_with_dot_and_commas() {
        assert_eq!(parse("95.50", En, MAX), Ok(9550));
        assert_eq!(parse(" 95.5 ", En, MAX), Ok(9550));
        assert_eq!(parse("95", En, MAX), Ok(9500));
        assert_eq!(parse("1,234.50", En, MAX), Ok(123_450));
        assert_eq!(parse("1 234.50", En, MAX), Ok(123_450));
        assert_eq!(parse("12,345,678", En, MAX), Ok(1_234_567_800));
        assert_eq!(parse("0", En, MAX), Ok(0));
        assert_eq!(parse("0.01", En, MAX), Ok(1));
        assert_eq!(parse(".5", En, MAX), Ok(50));
        assert_eq!(parse(".", En, MAX), Err(MoneyError::NotANumber(En)));
        assert_eq!(format(123_450, En), "1,234.50");
        assert_eq!(format(9550, En), "95.50");
        assert_eq!(format(0, En), "0.00");
        assert_eq!(format(5, En), "0.05");
        assert_eq!(format(-123_450, En), "-1,234.50");
        assert_eq!(format_plain(123_450, En), "1234.50");
        assert_eq!(format_in(9550, "EUR", En), "95.50\u{a0}EUR");
        assert_eq!(format_percent(2300, En), "23\u{a0}%");
        assert_eq!(format_percent(850, Pl), "8,5\u{a0}%");
        assert_eq!(format_percent(5, En), "0.05\u{a0}%");
        assert_eq!(format_quantity(2500, Pl), "2,5");
        assert_eq!(format_quantity(1000, En), "1");
        assert_eq!(format_quantity(1, En), "0.001");
    }

    #[test]
    fn polish_amounts_read_and_write_with_comma_and_spaces() {
        assert_eq!(parse("95,50", Pl, MAX), Ok(9550));
        assert_eq!(parse("95.50", Pl, MAX), Ok(9550), "a pasted English amount");
        assert_eq!(parse("1 234,50", Pl, MAX), Ok(123_450));
        assert_eq!(parse("1\u{a0}234,50", Pl, MAX), Ok(123_450));
        assert_eq!(parse("1\u{202f}234,5", Pl, MAX), Ok(123_450));
        assert_eq!(format(123_450, Pl), "1\u{a0}234,50");
        assert_eq!(format(-5, Pl), "-0,05");
        assert_eq!(format_plain(123_450, Pl), "1234,50");
        // Whatever holdfast writes, it reads back.
        for v in [0, 1, 99, 100, 9550, 123_450, 100_000_000, MAX] {
            for l in Locale::ALL {
                assert_eq!(parse(&format(v, l), l, MAX), Ok(v), "{v} in {l:?}");
                assert_eq!(parse(&format_plain(v, l), l, MAX), Ok(v), "{v} in {l:?}");
            }
        }
    }

    #[test]
    fn refuses_rounding_letters_negatives_and_too_much() {
        for l in Locale::ALL {
            assert_eq!(parse("1.234", l, MAX), Err(MoneyError::TooManyDecimals));
            assert_eq!(parse("", l, MAX), Err(MoneyError::Empty));
            assert_eq!(parse("   ", l, MAX), Err(MoneyError::Empty));
            assert_eq!(parse("-1", l, MAX), Err(MoneyError::Negative));
            assert_eq!(parse("\u{2212}1", l, MAX), Err(MoneyError::Negative));
            assert_eq!(parse("12abc", l, MAX), Err(MoneyError::NotANumber(l)));
            assert_eq!(parse("EUR 5", l, MAX), Err(MoneyError::NotANumber(l)));
            assert_eq!(parse("1e5", l, MAX), Err(MoneyError::NotANumber(l)));
            assert_eq!(parse("+5", l, MAX), Err(MoneyError::NotANumber(l)));
        }
        assert_eq!(parse("95.505", En, MAX), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse("95,505", Pl, MAX), Err(MoneyError::TooManyDecimals));
        // In English a comma groups digits, so "95,50" is a badly grouped number, not 95.50.
        assert_eq!(parse("95,50", En, MAX), Err(MoneyError::BadGrouping(En)));
        assert_eq!(parse("1,23,456", En, MAX), Err(MoneyError::BadGrouping(En)));
        assert_eq!(
            parse("1 2345,00", Pl, MAX),
            Err(MoneyError::BadGrouping(Pl))
        );
        assert_eq!(parse("1,5.0", Pl, MAX), Err(MoneyError::BadGrouping(Pl)));
        // The largest amount is accepted, one cent more is not; nothing overflows.
        assert_eq!(parse("10,000,000,000.00", En, MAX), Ok(MAX));
        let over = MoneyError::TooLarge {
            max: MAX,
            locale: En,
        };
        assert_eq!(parse("10,000,000,000.01", En, MAX), Err(over.clone()));
        assert_eq!(parse("92233720368547758.07", En, MAX), Err(over.clone()));
        assert_eq!(parse(&"9".repeat(40), En, MAX), Err(over));
        assert_eq!(format(i64::MAX, En), "92,233,720,368,547,758.07");
        assert_eq!(format(i64::MIN, En), "-92,233,720,368,547,758.08");
        assert_eq!(
            MoneyError::TooLarge {
                max: MAX,
                locale: Pl
            }
            .to_string(),
            "must be at most 10\u{a0}000\u{a0}000\u{a0}000,00"
        );
        assert_eq!(
            MoneyError::NotANumber(Pl).to_string(),
            "write an amount with digits only, like 95,50"
        );
    }
}
