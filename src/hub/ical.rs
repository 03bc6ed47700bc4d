//! iCalendar (RFC 5545) text for the calendar feeds: all-day events, TEXT escaping, content lines
//! folded at 75 octets and ended with CRLF. Pure: no I/O, no clock.

use chrono::{DateTime, NaiveDate, Utc};

/// A content line is at most 75 octets before its CRLF (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// One all-day event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Globally unique and stable for the record (`task-42@host`), so that clients update the
    /// event they have instead of adding a new one.
    pub uid: String,
    pub date: NaiveDate,
    pub summary: String,
    pub description: String,
    pub categories: Vec<String>,
    pub url: Option<String>,
    /// The record's change counter: clients take a higher SEQUENCE as the newer event.
    pub sequence: i64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A whole calendar (`VCALENDAR`) with its events.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    pub events: Vec<Event>,
}

impl Calendar {
    /// The calendar as iCalendar text; `stamp` is DTSTAMP, the time the feed was made.
    pub fn render(&self, stamp: DateTime<Utc>) -> String {
        let mut out = String::new();
        let stamp = utc(stamp);
        line(&mut out, "BEGIN:VCALENDAR");
        line(&mut out, "VERSION:2.0");
        line(&mut out, "PRODID:-//holdfast//calendar feed//EN");
        line(&mut out, "CALSCALE:GREGORIAN");
        line(&mut out, "METHOD:PUBLISH");
        line(&mut out, &format!("NAME:{}", text(&self.name)));
        line(&mut out, &format!("X-WR-CALNAME:{}", text(&self.name)));
        // RFC 7986: how often a client should fetch again; an hour matches the audit's rate.
        line(&mut out, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
        line(&mut out, "X-PUBLISHED-TTL:PT1H");
        for e in &self.events {
            line(&mut out, "BEGIN:VEVENT");
            line(&mut out, &format!("UID:{}", text(&e.uid)));
            line(&mut out, &format!("DTSTAMP:{stamp}"));
            line(&mut out, &format!("DTSTART;VALUE=DATE:{}", day(e.date)));
            // DTEND is exclusive: an all-day event on one date ends the next day.
            let end = e.date.succ_opt().unwrap_or(e.date);
            line(&mut out, &format!("DTEND;VALUE=DATE:{}", day(end)));
            line(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
            if !e.description.is_empty() {
                line(&mut out, &format!("DESCRIPTION:{}", text(&e.description)));
            }
            if !e.categories.is_empty() {
                let list: Vec<String> = e.categories.iter().map(|c| text(c)).collect();
                line(&mut out, &format!("CATEGORIES:{}", list.join(",")));
            }
            if let Some(url) = &e.url {
                line(&mut out, &format!("URL:{url}"));
            }
            line(&mut out, &format!("SEQUENCE:{}", e.sequence.max(0)));
            if let Some(m) = e.last_modified {
                line(&mut out, &format!("LAST-MODIFIED:{}", utc(m)));
            }
            // An all-day reminder of a date does not block time in the person's calendar.
            line(&mut out, "TRANSP:TRANSPARENT");
            line(&mut out, "END:VEVENT");
        }
        line(&mut out, "END:VCALENDAR");
        out
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks as `\n`,
/// other control characters left out (the grammar does not allow them).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded: a line longer than 75 octets goes on in lines that start
/// with one space, never splitting a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut room = LINE_OCTETS;
    let mut used = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if used + n > room {
            out.push_str("\r\n ");
            // The leading space counts towards the continuation line's 75 octets.
            room = LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str) -> Event {
        Event {
            uid: "task-1@example.test".into(),
            date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            summary: summary.into(),
            description: String::new(),
            categories: vec![],
            url: None,
            sequence: 0,
            last_modified: None,
        }
    }

    fn render(e: Event) -> String {
        Calendar {
            name: "n".into(),
            events: vec![e],
        }
        .render(
            DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
                .unwrap()
                .into(),
        )
    }

    #[test]
    fn text_escapes_the_characters_rfc_5545_reserves() {
        assert_eq!(text("a,b;c\\d\ne\r\nf\rg"), "a\\,b\\;c\\\\d\\ne\\nf\\ng");
        assert_eq!(text("bell\u{7}gone"), "bellgone");
    }

    #[test]
    fn every_line_ends_with_crlf_and_is_at_most_75_octets() {
        let long = "Zażółć gęślą jaźń, 測試 — ".repeat(20);
        let ics = render(event(&long));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        // Unfolding gives back the escaped summary whole.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}\r\n", text(&long))));
    }

    #[test]
    fn an_all_day_event_ends_the_next_day() {
        let ics = render(event("x"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20261231\r\n"));
        assert!(ics.contains("DTEND;VALUE=DATE:20270101\r\n"));
        assert!(ics.contains("DTSTAMP:20261207T100000Z\r\n"));
    }
}
