//! Times as people read them: the one function that turns a stored UTC instant into the instance's
//! time zone and the reader's locale, keeping the exact instant in the markup.

use super::html::esc;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The one locale type: the same one money is written in.
pub use crate::hub::money::Locale;

/// How a page writes times: the instance's zone and the reader's locale.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    pub tz: Tz,
    pub locale: Locale,
}

impl Default for Shown {
    fn default() -> Self {
        Self {
            tz: chrono_tz::UTC,
            locale: Locale::En,
        }
    }
}

impl Shown {
    /// A stored time as markup; see [`time_html`].
    pub fn at(&self, stamp: &str) -> String {
        time_html(stamp, self.tz, self.locale)
    }

    /// A stored time as plain text in the zone and locale (for sentences, where markup cannot go);
    /// text that is not a time is returned as it is.
    pub fn text(&self, stamp: &str) -> String {
        match DateTime::parse_from_rfc3339(stamp) {
            Ok(at) => local_text(at.with_timezone(&Utc), self.tz, self.locale),
            Err(_) => stamp.to_string(),
        }
    }
}

pub use crate::i18n::local_text;

/// A week's first day as a chart label: "6 Dec" (English) or "6.12" (Polish, which would need
/// month names in the genitive).
pub fn day_month(day: chrono::NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::En => day.format("%-d %b").to_string(),
        Locale::Pl => day.format("%-d.%m").to_string(),
    }
}

/// A stored time (RFC 3339, as `clock::stamp` writes it) as a `<time>` element: the local text,
/// with the exact UTC instant in `datetime` and in the title people see on hover. Text that is
/// not a time is shown as it is, escaped.
pub fn time_html(stamp: &str, tz: Tz, locale: Locale) -> String {
    let Ok(at) = DateTime::parse_from_rfc3339(stamp) else {
        return esc(stamp);
    };
    let at = at.with_timezone(&Utc);
    let exact = crate::clock::stamp(at);
    format!(
        "<time datetime=\"{}\" title=\"{} UTC\">{}</time>",
        esc(&exact),
        esc(&at.format("%Y-%m-%d %H:%M:%S").to_string()),
        esc(&local_text(at, tz, locale))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_follow_the_zone_across_a_daylight_saving_change() {
        let warsaw: Tz = "Europe/Warsaw".parse().unwrap();
        // Summer time (UTC+2) until 01:00 UTC on 25 Oct 2026, winter time (UTC+1) after.
        assert_eq!(
            local_text(utc("2026-10-25T00:30:00Z"), warsaw, Locale::En),
            "25 Oct 2026, 02:30"
        );
        assert_eq!(
            local_text(utc("2026-10-25T01:30:00Z"), warsaw, Locale::En),
            "25 Oct 2026, 02:30"
        );
        assert_eq!(
            local_text(utc("2026-12-06T04:34:08.011Z"), warsaw, Locale::En),
            "6 Dec 2026, 05:34"
        );
        // And forward in spring: 01:00 UTC on 29 Mar 2026 is 03:00 local, never 02:xx.
        assert_eq!(
            local_text(utc("2026-03-29T00:59:00Z"), warsaw, Locale::En),
            "29 Mar 2026, 01:59"
        );
        assert_eq!(
            local_text(utc("2026-03-29T01:00:00Z"), warsaw, Locale::En),
            "29 Mar 2026, 03:00"
        );
        assert_eq!(
            local_text(utc("2026-12-06T04:34:08.011Z"), warsaw, Locale::Pl),
            "6.12.2026, 05:34"
        );
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            local_text(utc("2026-12-06T04:34:08Z"), new_york, Locale::En),
            "5 Dec 2026, 23:34"
        );
    }

    #[test]
    fn the_markup_keeps_the_exact_instant() {
        let warsaw: Tz = "Europe/Warsaw".parse().unwrap();
        assert_eq!(
            time_html("2026-12-06T04:34:08.011Z", warsaw, Locale::En),
            "<time datetime=\"2026-12-06T04:34:08.011Z\" title=\"2026-12-06 04:34:08 UTC\">6 Dec 2026, 05:34</time>"
        );
        // A stamp with an offset is the same instant.
        assert!(
            time_html("2026-12-06T05:34:08.011+01:00", warsaw, Locale::En)
                .contains("datetime=\"2026-12-06T04:34:08.011Z\"")
        );
        assert_eq!(
            time_html("<b>not a time</b>", warsaw, Locale::En),
            "&lt;b&gt;not a time&lt;/b&gt;"
        );
    }
}
